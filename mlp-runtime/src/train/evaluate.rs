//! Evaluation, and the checks that a dataset fits a network.

use super::config::{Evaluation, TrainError};
use super::metrics::argmax;
use super::model::{Model, TargetsRef};
use crate::train::dataset::{Batch, Dataset, Targets};

/// Checks that `data` fits network `M`: its width, and labels or values as `M` trains on.
pub(super) fn check<M: Model>(data: &Dataset, what: &str) -> Result<(), TrainError> {
    if data.width != M::INPUTS {
        return Err(TrainError::Data(format!(
            "the {what} samples have {} values, the network takes {}",
            data.width,
            M::INPUTS
        )));
    }
    match (&data.targets, M::LABELS) {
        (Targets::Labels(l), true) => match l.iter().position(|t| *t as usize >= M::OUTPUTS) {
            Some(k) => Err(TrainError::Data(format!(
                "{what} sample {k} has label {}, the network has {} classes",
                l[k],
                M::OUTPUTS
            ))),
            None => Ok(()),
        },
        (Targets::Values { width, .. }, false) if *width == M::OUTPUTS => Ok(()),
        (Targets::Values { width, .. }, false) => Err(TrainError::Data(format!(
            "the {what} targets have {width} values, the network has {} outputs",
            M::OUTPUTS
        ))),
        (Targets::Labels(_), false) => Err(TrainError::Data(format!(
            "the {what} set has class labels; this network trains on target values"
        ))),
        (Targets::Values { .. }, true) => Err(TrainError::Data(format!(
            "the {what} set has target values; this network trains on class labels (nll)"
        ))),
    }
}

/// The targets of `batch` as a network's passes read them.
pub(super) fn targets(batch: &Batch, labels: bool) -> TargetsRef<'_> {
    if labels {
        TargetsRef::Labels(&batch.labels)
    } else {
        TargetsRef::Values(&batch.values)
    }
}

/// Loss, accuracy and confusion matrix of `model` on `data`, in batches of `batch`.
pub fn evaluate<M: Model>(
    model: &M,
    data: &Dataset,
    batch: usize,
) -> Result<Evaluation, TrainError> {
    check::<M>(data, "evaluation")?;
    let order: Vec<usize> = (0..data.len()).collect();
    let mut b = Batch::default();
    let mut out = Vec::new();
    let (mut loss, mut correct) = (0.0f64, 0u64);
    let mut confusion = vec![vec![0u64; M::OUTPUTS]; if M::LABELS { M::OUTPUTS } else { 0 }];
    for idx in order.chunks(batch.max(1)) {
        b.fill(data, idx);
        if !M::LABELS {
            loss += model.batch_loss(&b.inputs, targets(&b, false)) as f64 * idx.len() as f64;
        } else {
            out.resize(idx.len() * M::OUTPUTS, 0.0);
            let mean = model.loss_and_outputs(&b.inputs, targets(&b, true), &mut out);
            loss += mean as f64 * idx.len() as f64;
            for (row, label) in out.chunks_exact(M::OUTPUTS).zip(&b.labels) {
                let predicted = argmax(row);
                correct += (predicted == *label as usize) as u64;
                confusion[*label as usize][predicted] += 1;
            }
        }
    }
    let n = data.len().max(1);
    Ok(Evaluation {
        loss: (loss / n as f64) as f32,
        accuracy: M::LABELS.then(|| correct as f32 / n as f32),
        confusion: M::LABELS.then_some(confusion),
    })
}
