//! What a training run prints: a line per epoch and a closing summary.

use crate::train::EpochReport;

/// A duration with the precision it deserves: `1.23 s`, `12.3 s`, `4.56 ms`, `78 µs`.
pub(super) fn duration(seconds: f64) -> String {
    match seconds {
        s if s >= 10.0 => format!("{s:.1} s"),
        s if s >= 1.0 => format!("{s:.2} s"),
        s if s >= 1e-3 => format!("{:.2} ms", s * 1e3),
        s => format!("{:.0} µs", s * 1e6),
    }
}

/// An epoch's line.
pub(super) fn show(r: &EpochReport) {
    let mut line = format!("epoch {:>3}  train loss {:.4}", r.epoch, r.train_loss);
    if let Some(v) = &r.validation {
        line += &format!("  validation loss {:.4}", v.loss);
        if let Some(a) = v.accuracy {
            line += &format!("  accuracy {:.2}%", 100.0 * a);
        }
    }
    println!("{line}  {}", duration(r.seconds));
}

/// The run in a few lines: how long it took, and its best epoch by validation loss.
pub(super) fn summary(reports: &[EpochReport]) {
    let Some(last) = reports.last() else {
        return;
    };
    let training: f64 = reports.iter().map(|r| r.seconds).sum();
    let evaluating: f64 = reports.iter().map(|r| r.evaluation_seconds).sum();
    println!(
        "{} epochs ({}–{}) in {} of training and evaluation ({} an epoch, {} of it evaluating)",
        reports.len(),
        reports[0].epoch,
        last.epoch,
        duration(training + evaluating),
        duration((training + evaluating) / reports.len() as f64),
        duration(evaluating / reports.len() as f64),
    );
    let best = reports
        .iter()
        .filter_map(|r| r.validation.as_ref().map(|v| (r.epoch, v)))
        .min_by(|a, b| a.1.loss.total_cmp(&b.1.loss));
    if let Some((epoch, v)) = best {
        let accuracy = v
            .accuracy
            .map(|a| format!(", accuracy {:.2}%", 100.0 * a))
            .unwrap_or_default();
        println!(
            "best epoch {epoch}: validation loss {:.4}{accuracy}",
            v.loss
        );
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_keep_three_figures() {
        assert_eq!(duration(12.345), "12.3 s");
        assert_eq!(duration(1.2345), "1.23 s");
        assert_eq!(duration(0.004_567), "4.57 ms");
        assert_eq!(duration(0.000_078_4), "78 µs");
        assert_eq!(duration(0.0), "0 µs");
    }
}
