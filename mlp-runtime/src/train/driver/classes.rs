//! `eval`'s report: the loss, and for a classifier its accuracy, per-class precision, recall,
//! F1 and support with their macro and weighted averages, and the confusion matrix, as
//! aligned tables ([`crate::train::metrics`] computes them).
//!
//! What a network's outputs mean depends on its loss: `nll` and `ce` pick the largest output
//! (for `ce`, the true class is the target's largest value); `bce` with one output is a binary
//! classifier (positive when the logit is above 0, the target at least 0.5); `bce` with
//! several outputs is one binary decision per output (a table, no matrix); any other loss
//! reports the loss alone.

use super::Error;
use crate::train::dataset::{Dataset, Targets};
use crate::train::metrics::{ClassReport, argmax, confusion};
use crate::train::{self, Model};
use std::fmt::Write;

/// What a network's outputs are, for the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// One class among the outputs (`nll`, `ce`).
    Classes,
    /// One output, a binary decision (`bce`).
    Binary,
    /// Several independent binary decisions (`bce`).
    Outputs,
    /// Values (`mse`, `l2`, …): no classes.
    Values,
}

fn kind<M: Model>() -> Kind {
    let loss = M::spec().rsplit_once(':').map_or("", |(_, l)| l.trim());
    match (M::LABELS, loss, M::OUTPUTS) {
        (true, _, _) | (_, "ce", _) => Kind::Classes,
        (_, "bce", 1) => Kind::Binary,
        (_, "bce", _) => Kind::Outputs,
        _ => Kind::Values,
    }
}

/// The names `eval` gives the classes (or outputs) of network `M` when it knows no others:
/// "0", "1", … (two for a binary `bce` network, none for a regressor).
pub(super) fn default_names<M: Model>() -> Vec<String> {
    let n = match kind::<M>() {
        Kind::Classes | Kind::Outputs => M::OUTPUTS,
        Kind::Binary => 2,
        Kind::Values => 0,
    };
    (0..n).map(|k| k.to_string()).collect()
}

/// The whole of `eval`'s report of `net` on `set` (preprocessed), its classes (or outputs)
/// named by `names` (a missing name is the class's number).
pub(super) fn report<M: Model>(net: &M, set: &Dataset, names: &[String]) -> Result<String, Error> {
    let e = train::evaluate(net, set, 256)?;
    let mut text = format!("{} samples: loss {:.4}\n", set.len(), e.loss);
    let kind = kind::<M>();
    if kind == Kind::Values {
        return Ok(text);
    }
    let outputs = outputs(net, set);
    let name = |k: usize| names.get(k).cloned().unwrap_or_else(|| k.to_string());
    if kind == Kind::Outputs {
        let counts = (0..M::OUTPUTS).map(|k| {
            let (mut tp, mut fp, mut fn_) = (0, 0, 0);
            for (row, truth) in outputs.chunks_exact(M::OUTPUTS).zip(rows(set)) {
                let (p, t) = (row[k] > 0.0, truth[k] >= 0.5);
                tp += (p && t) as u64;
                fp += (p && !t) as u64;
                fn_ += (!p && t) as u64;
            }
            (tp, fp, fn_)
        });
        let report = ClassReport::from_counts(counts);
        let names: Vec<String> = (0..M::OUTPUTS).map(name).collect();
        text += "per output (positive: logit above 0, target at least 0.5):\n";
        text += &table(&report, &names, "output");
        return Ok(text);
    }
    let classes = if kind == Kind::Binary { 2 } else { M::OUTPUTS };
    let predicted = outputs.chunks_exact(M::OUTPUTS).map(|row| match kind {
        Kind::Binary => (row[0] > 0.0) as usize,
        _ => argmax(row),
    });
    let truth = (0..set.len()).map(|i| match &set.targets {
        Targets::Labels(l) => l[i] as usize,
        Targets::Values { values, width } => {
            let row = &values[i * width..(i + 1) * width];
            match kind {
                Kind::Binary => (row[0] >= 0.5) as usize,
                _ => argmax(row),
            }
        }
    });
    let matrix = confusion(truth.zip(predicted), classes);
    let correct: u64 = (0..classes).map(|k| matrix[k][k]).sum();
    let _ = writeln!(
        text,
        "accuracy {:.2}%",
        100.0 * correct as f64 / set.len().max(1) as f64
    );
    let names: Vec<String> = (0..classes).map(name).collect();
    text += &table(&ClassReport::from_confusion(&matrix), &names, "class");
    text += "confusion matrix (rows: true class, columns: predicted):\n";
    text += &grid(&matrix, &names);
    Ok(text)
}

/// The outputs of `net` for every sample of `set`, in batches of 256.
fn outputs<M: Model>(net: &M, set: &Dataset) -> Vec<f32> {
    let mut out = vec![0.0; set.len() * M::OUTPUTS];
    let rows = set.inputs.chunks(256 * set.width.max(1));
    for (xs, ys) in rows.zip(out.chunks_mut(256 * M::OUTPUTS)) {
        net.outputs(xs, ys);
    }
    out
}

/// The target rows of a set of values (none for labels).
fn rows(set: &Dataset) -> std::slice::ChunksExact<'_, f32> {
    match &set.targets {
        Targets::Values { values, width } => values.chunks_exact((*width).max(1)),
        Targets::Labels(_) => [].chunks_exact(1),
    }
}

/// The per-class table (precision, recall, F1, support; then the macro and weighted
/// averages), right-aligned, four decimals; then a note naming the classes whose precision
/// or recall is 0 / 0 and counted as 0 (`what`: "class" or "output").
pub(super) fn table(report: &ClassReport, names: &[String], what: &str) -> String {
    const AVERAGES: [&str; 2] = ["macro avg", "weighted avg"];
    let w = names
        .iter()
        .map(|n| n.chars().count())
        .chain(AVERAGES.map(str::len))
        .max()
        .unwrap_or(0);
    let mut text = format!("{:>w$}  precision     recall   f1-score    support\n", "");
    let rows = names.iter().map(String::as_str).zip(&report.classes);
    let averages = AVERAGES
        .into_iter()
        .zip([&report.macro_avg, &report.weighted_avg]);
    for (name, m) in rows.chain(averages) {
        let _ = writeln!(
            text,
            "{name:>w$}  {:>9.4}  {:>9.4}  {:>9.4}  {:>9}",
            m.precision, m.recall, m.f1, m.support
        );
    }
    let list = |ks: &[usize]| {
        let named: Vec<&str> = ks
            .iter()
            .filter_map(|&k| names.get(k))
            .map(String::as_str)
            .collect();
        named.join(", ")
    };
    if !report.never_predicted.is_empty() {
        let _ = writeln!(
            text,
            "warning: {what} {} never predicted: precision 0 / 0, counted as 0",
            list(&report.never_predicted)
        );
    }
    if !report.never_true.is_empty() {
        let _ = writeln!(
            text,
            "warning: {what} {} absent from the data: recall 0 / 0, counted as 0",
            list(&report.never_true)
        );
    }
    text
}

/// The confusion matrix with the classes' names along both sides, right-aligned.
pub(super) fn grid(matrix: &[Vec<u64>], names: &[String]) -> String {
    let label = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let cell = matrix
        .iter()
        .flatten()
        .map(|c| c.to_string().len())
        .chain(names.iter().map(|n| n.chars().count()))
        .max()
        .unwrap_or(1);
    let mut text = format!("{:>label$}", "");
    for name in names {
        let _ = write!(text, "  {name:>cell$}");
    }
    text += "\n";
    for (name, row) in names.iter().zip(matrix) {
        let _ = write!(text, "{name:>label$}");
        for c in row {
            let _ = write!(text, "  {c:>cell$}");
        }
        text += "\n";
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{grid, table};
    use crate::train::metrics::{ClassReport, confusion};

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_table_is_aligned_and_flags_classes_never_predicted() {
        let m = confusion([(0, 0), (1, 0), (2, 0), (2, 2)], 3);
        let text = table(
            &ClassReport::from_confusion(&m),
            &names(&["0", "1", "2"]),
            "class",
        );
        let want = "              precision     recall   f1-score    support
           0     0.3333     1.0000     0.5000          1
           1     0.0000     0.0000     0.0000          1
           2     1.0000     0.5000     0.6667          2
   macro avg     0.4444     0.5000     0.3889          4
weighted avg     0.5833     0.5000     0.4583          4
warning: class 1 never predicted: precision 0 / 0, counted as 0
";
        assert_eq!(text, want);
    }

    #[test]
    fn the_matrix_is_aligned_under_long_names() {
        let m = vec![vec![12, 0], vec![3, 1000]];
        let text = grid(&m, &names(&["setosa", "x"]));
        let want = "        setosa       x
setosa      12       0
     x       3    1000
";
        assert_eq!(text, want);
    }
}
