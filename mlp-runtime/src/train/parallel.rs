//! A data-parallel run's side of the training loop: the agreement checked before the first
//! step, and the step itself, one sum over the ranks per global batch.

use super::config::TrainError;
use super::dataset::{Batch, Dataset, Targets};
use super::evaluate::targets;
use super::model::Model;
use super::replicas::{FNV_OFFSET, Replicas, agree, broadcast_state, fold_bits, shard};
use crate::optim::Optimizer;

/// Makes every rank start from rank 0's parameters and optimizer state, after checking that
/// every rank holds the same training and validation sets (a rank with other data would run
/// another number of steps, or stop early on another validation loss, and hang the others).
pub(super) fn start<M: Model, O: Optimizer>(
    replicas: &impl Replicas,
    model: &mut M,
    opt: &mut O,
    train: &Dataset,
    validation: Option<&Dataset>,
) -> Result<(), TrainError> {
    for (what, data) in [("training", Some(train)), ("validation", validation)] {
        if !agree(replicas, data.map_or(0, digest)) {
            return Err(TrainError::Data(format!(
                "the {what} set differs between ranks (rank {} of {}: {} samples); every rank \
                 must read the same data",
                replicas.rank(),
                replicas.size(),
                data.map_or(0, Dataset::len)
            )));
        }
    }
    replicas.broadcast(model.parameters_mut());
    let state = broadcast_state(replicas, &opt.state()).map_err(TrainError::Config)?;
    if replicas.rank() != 0 {
        opt.load_state(state).map_err(TrainError::Config)?;
    }
    Ok(())
}

/// A dataset's size, width, inputs and targets in one fingerprint.
fn digest(data: &Dataset) -> u64 {
    let sizes = [data.len(), data.width].map(|v| v as u32);
    let h = fold_bits(FNV_OFFSET, sizes);
    let h = fold_bits(h, data.inputs.iter().map(|v| v.to_bits()));
    match &data.targets {
        Targets::Labels(labels) => fold_bits(h, labels.iter().copied()),
        Targets::Values { values, width } => fold_bits(
            fold_bits(h, [*width as u32]),
            values.iter().map(|v| v.to_bits()),
        ),
    }
}

/// The buffers of a data-parallel step, made once per run: this rank's part of the sums and
/// every rank's total. After the gradient come three numbers: the loss summed over the
/// shard's samples, their count, and whether this rank was interrupted.
pub(super) struct Step {
    send: Vec<f32>,
    recv: Vec<f32>,
}

/// What a data-parallel step gives every rank.
pub(super) struct Stepped {
    /// The global batch's mean loss, before the update.
    pub loss: f32,
    /// Whether any rank was interrupted (every rank then stops after this step).
    pub interrupted: bool,
}

impl Step {
    /// The buffers for `params` parameters.
    pub fn new(params: usize) -> Self {
        Step {
            send: vec![0.0; params + 3],
            recv: vec![0.0; params + 3],
        }
    }

    /// One step on a global batch of `global` samples, of which `batch` holds this rank's
    /// shard ([`shard`]; it may be empty): the shard's gradient, scaled by its share of the
    /// batch, summed over the ranks, and the optimizer's step on that sum, the same on every
    /// rank.
    pub fn run<M: Model, O: Optimizer>(
        &mut self,
        replicas: &impl Replicas,
        model: &mut M,
        opt: &mut O,
        batch: &Batch,
        global: usize,
        interrupted: bool,
    ) -> Stepped {
        let params = self.send.len() - 3;
        let n = batch.len(M::INPUTS);
        let (grad, extra) = self.send.split_at_mut(params);
        let loss = if n == 0 {
            grad.fill(0.0);
            0.0
        } else {
            let mean = model.gradient(&batch.inputs, targets(batch, M::LABELS), grad);
            // The gradient of the shard's summed loss over the global batch size.
            let share = n as f32 / global as f32;
            if share != 1.0 {
                grad.iter_mut().for_each(|g| *g *= share);
            }
            mean * n as f32
        };
        extra.copy_from_slice(&[loss, n as f32, f32::from(u8::from(interrupted))]);
        replicas.sum(&self.send, &mut self.recv);
        let (grad, totals) = self.recv.split_at(params);
        opt.step(model.parameters_mut(), grad);
        Stepped {
            loss: totals[0] / totals[1],
            interrupted: totals[2] > 0.0,
        }
    }
}

/// Which samples of a global batch this rank computes.
pub(super) fn part<'a>(replicas: &impl Replicas, idx: &'a [usize]) -> &'a [usize] {
    &idx[shard(idx.len(), replicas.rank(), replicas.size())]
}
