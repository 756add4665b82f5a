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

/// An epoch's line (with the test set's loss and accuracy under `--test-each-epoch`).
pub(super) fn show(r: &EpochReport) {
    let mut line = format!("epoch {:>3}  train loss {:.4}", r.epoch, r.train_loss);
    if let Some(v) = &r.validation {
        line += &format!("  validation loss {:.4}", v.loss);
        if let Some(a) = v.accuracy {
            line += &format!("  accuracy {:.2}%", 100.0 * a);
        }
    }
    if let Some(t) = &r.test {
        line += &format!("  test loss {:.4}", t.loss);
        if let Some(a) = t.accuracy {
            line += &format!("  test accuracy {:.2}%", 100.0 * a);
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

/// `predict`'s table, a header first: for a classifier the class and its probabilities
/// (softmax; `nll`), for `ce` probabilities (softmax), for `bce` probabilities (sigmoid), else
/// the outputs. Classes are named by `classes` when the checkpoint records names (a column
/// per name, the predicted name in each row), else by their indices (`p0`, `p1`, …).
pub(super) fn predictions(
    spec: &str,
    labels: bool,
    width: usize,
    outputs: &[f32],
    classes: Option<&[String]>,
) {
    for line in table(spec, labels, width, outputs, classes) {
        println!("{line}");
    }
}

/// The lines of [`predictions`]' table.
fn table(
    spec: &str,
    labels: bool,
    width: usize,
    outputs: &[f32],
    classes: Option<&[String]>,
) -> Vec<String> {
    let loss = spec.rsplit_once(':').map_or("", |(_, l)| l.trim());
    let names = |prefix: &str| -> Vec<String> {
        match classes.filter(|c| c.len() == width && prefix == "p") {
            Some(c) => c.iter().map(|n| field(n)).collect(),
            None => (0..width).map(|k| format!("{prefix}{k}")).collect(),
        }
    };
    let header = match (labels, loss) {
        (true, _) => [vec!["class".to_string()], names("p")].concat(),
        (_, "ce" | "bce") => names("p"),
        _ => names("y"),
    };
    let mut lines = vec![header.join(",")];
    for row in outputs.chunks(width) {
        let values: Vec<f32> = match (labels, loss) {
            (true, _) | (_, "ce") => softmax(row),
            (_, "bce") => row.iter().map(|&v| crate::scalar::sigmoid(v)).collect(),
            _ => row.to_vec(),
        };
        let mut cells: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        if labels {
            let class = (0..row.len())
                .max_by(|a, b| row[*a].total_cmp(&row[*b]))
                .unwrap_or(0);
            let name = match classes.and_then(|c| c.get(class)) {
                Some(name) => field(name),
                None => class.to_string(),
            };
            cells.insert(0, name);
        }
        lines.push(cells.join(","));
    }
    lines
}

/// `text` as a CSV field: quoted (its quotes doubled) when it holds a comma, a quote or a line
/// break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A row's softmax, its maximum subtracted first.
fn softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = row.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::{duration, field, softmax, table};

    #[test]
    fn predictions_name_the_classes_the_checkpoint_records() {
        let names: Vec<String> = ["setosa", "a,b"].map(String::from).to_vec();
        let out = [0.0, 1000.0, 1000.0, 0.0];
        let spec = "4 -> 2 : nll";
        assert_eq!(
            table(spec, true, 2, &out, Some(&names)),
            ["class,setosa,\"a,b\"", "\"a,b\",0,1", "setosa,1,0"]
        );
        assert_eq!(
            table(spec, true, 2, &out, None),
            ["class,p0,p1", "1,0,1", "0,1,0"]
        );
        let bce = table("4 -> 2 : bce", false, 2, &[0.0, 0.0], Some(&names));
        assert_eq!(bce, ["setosa,\"a,b\"", "0.5,0.5"]);
        let mse = table("4 -> 2 : mse", false, 2, &[1.5, -2.0], Some(&names));
        assert_eq!(mse, ["y0,y1", "1.5,-2"]);
    }

    #[test]
    fn names_are_quoted_as_csv_fields_when_they_must_be() {
        assert_eq!(field("setosa"), "setosa");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert_eq!(p, [0.5, 0.5, 0.0]);
    }

    #[test]
    fn durations_keep_three_figures() {
        assert_eq!(duration(12.345), "12.3 s");
        assert_eq!(duration(1.2345), "1.23 s");
        assert_eq!(duration(0.004_567), "4.57 ms");
        assert_eq!(duration(0.000_078_4), "78 µs");
        assert_eq!(duration(0.0), "0 µs");
    }
}
