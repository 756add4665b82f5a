//! What the training loop needs of a network.

use crate::optim::Optimizer;
use crate::train::checkpoint::{CheckpointError, Training};
use crate::train::dataset::Preprocessing;
use std::path::Path;

/// The targets of a batch, as a network's passes read them.
#[derive(Clone, Copy, Debug)]
pub enum TargetsRef<'a> {
    /// Class labels.
    Labels(&'a [u32]),
    /// `OUTPUTS` values per sample, flat.
    Values(&'a [f32]),
}

/// What the training loop needs of a network; `mlp!` implements it for every network.
pub trait Model {
    /// Values per input sample.
    const INPUTS: usize;
    /// Values per output.
    const OUTPUTS: usize;
    /// Whether the network trains on class labels (`nll`) rather than target values.
    const LABELS: bool;

    /// One training step on a batch; returns the loss before the update.
    fn step(&mut self, xs: &[f32], targets: TargetsRef<'_>, opt: &mut impl Optimizer) -> f32;
    /// The gradient of a batch's mean loss with respect to the parameters, written to `grad`
    /// (as long as the parameters); returns the mean loss. The parameters are not changed.
    fn gradient(&self, xs: &[f32], targets: TargetsRef<'_>, grad: &mut [f32]) -> f32;
    /// The mean loss of a batch.
    fn batch_loss(&self, xs: &[f32], targets: TargetsRef<'_>) -> f32;
    /// The outputs of a batch.
    fn outputs(&self, xs: &[f32], out: &mut [f32]);
    /// The mean loss of a batch and its outputs, from one forward pass (the default makes two).
    fn loss_and_outputs(&self, xs: &[f32], targets: TargetsRef<'_>, out: &mut [f32]) -> f32 {
        self.outputs(xs, out);
        self.batch_loss(xs, targets)
    }
    /// The parameters.
    fn parameters(&self) -> &[f32];
    /// The parameters, mutable.
    fn parameters_mut(&mut self) -> &mut [f32];
    /// Writes a training checkpoint: the parameters, `training` (where the run is, and the
    /// optimizer's state) and `preprocessing`.
    fn checkpoint(
        &self,
        path: &Path,
        training: &Training,
        preprocessing: &Preprocessing,
    ) -> Result<(), CheckpointError>;
    /// The network in DSL text.
    fn spec() -> &'static str;
    /// A network initialized by `init` from `seed`.
    fn create(seed: u64, init: crate::Init) -> Self
    where
        Self: Sized;
    /// A network with the parameters of a checkpoint, and the preprocessing it records.
    fn open(path: &Path) -> Result<(Self, Preprocessing), CheckpointError>
    where
        Self: Sized;
    /// A network and optimizer state (restored into `opt`) from a training checkpoint, where
    /// the run was (its optimizer state left empty) and the preprocessing it records.
    fn reopen(
        path: &Path,
        opt: &mut impl Optimizer,
    ) -> Result<(Self, Training, Preprocessing), CheckpointError>
    where
        Self: Sized;
}
