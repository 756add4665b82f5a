//! What a run shows and writes as it goes: the progress bar and the CSV log.

use super::config::{Config, EpochReport, Evaluation};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;
use std::path::Path;

/// A bar over the epoch's samples, showing samples/s and the ETA.
pub(super) fn progress(config: &Config, samples: u64, epoch: u64, epochs: u64) -> ProgressBar {
    if !config.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(samples), ProgressDrawTarget::stderr());
    let template = format!(
        "epoch {epoch}/{epochs} {{bar:30}} {{pos}}/{{len}} samples, {{per_sec}}, ETA {{eta}}"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// Appends the epoch's line to the CSV log at `path`, with a header first if it is new; a
/// report with a test evaluation has two more columns, `test_loss,test_accuracy`.
pub(super) fn log(path: &Path, r: &EpochReport) -> std::io::Result<()> {
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    if new {
        let test = if r.test.is_some() {
            ",test_loss,test_accuracy"
        } else {
            ""
        };
        writeln!(
            f,
            "epoch,lr,train_loss,validation_loss,validation_accuracy,seconds{test}"
        )?;
    }
    let (vl, va) = cells(r.validation.as_ref());
    let test = match &r.test {
        Some(t) => {
            let (tl, ta) = cells(Some(t));
            format!(",{tl},{ta}")
        }
        None => String::new(),
    };
    writeln!(
        f,
        "{},{},{},{vl},{va},{:.3}{test}",
        r.epoch, r.lr, r.train_loss, r.seconds
    )?;
    f.flush()
}

/// An evaluation's loss and accuracy as CSV cells (empty when absent).
fn cells(e: Option<&Evaluation>) -> (String, String) {
    match e {
        Some(e) => (
            e.loss.to_string(),
            e.accuracy.map(|a| a.to_string()).unwrap_or_default(),
        ),
        None => (String::new(), String::new()),
    }
}
