//! What configures a run of [`super::fit`], what it reports after each epoch, and how it
//! ends.

use super::checkpoint::CheckpointError;
use super::dataset::Dataset;
use super::dataset::Preprocessing;
use super::schedule::Schedule;
use std::path::PathBuf;
use std::sync::Arc;

/// How to train.
#[derive(Clone, Debug)]
pub struct Config {
    /// Epochs in all (a resumed run continues up to this count).
    pub epochs: u64,
    /// Samples per step; the last batch of an epoch may be smaller.
    pub batch: usize,
    /// Seed of the epoch orders.
    pub seed: u64,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// Stop when the validation loss has not improved for this many epochs, and restore the
    /// best parameters. A loss that is not finite is no improvement.
    pub patience: Option<u64>,
    /// Write a training checkpoint here after every `checkpoint_every` epochs, after the last
    /// and on an interrupt.
    pub checkpoint: Option<PathBuf>,
    /// Epochs between checkpoints (at least 1).
    pub checkpoint_every: u64,
    /// How the inputs were preprocessed before they reached [`fit`](super::fit); each checkpoint records
    /// it, so that whoever loads the checkpoint can do the same (`load_with_preprocessing`).
    pub preprocessing: Preprocessing,
    /// Append a CSV line per epoch here (a header first when the file is new).
    pub log: Option<PathBuf>,
    /// A held-out test set (preprocessed as the training set is), evaluated after every
    /// epoch into [`EpochReport::test`] and the log's `test_loss,test_accuracy` columns; it
    /// steers nothing (early stopping reads the validation set). In a data-parallel run rank 0
    /// alone evaluates it.
    pub test: Option<Arc<Dataset>>,
    /// Show a progress bar (on standard error, and only if it is a terminal).
    pub progress: bool,
    /// While the run trains, Ctrl-C (SIGINT) asks it to stop after its current step, write a
    /// checkpoint and return [`Stop::Interrupted`]; when [`fit`](super::fit) returns, Ctrl-C does again
    /// what it did before (by default, end the process). Off by default: a library should
    /// not take a signal from its host unasked. Unix only; elsewhere it has no effect.
    pub ctrl_c: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            epochs: 3,
            batch: 64,
            seed: 0,
            schedule: Schedule::Constant,
            patience: None,
            checkpoint: None,
            checkpoint_every: 1,
            preprocessing: Preprocessing::default(),
            log: None,
            test: None,
            progress: true,
            ctrl_c: false,
        }
    }
}

/// Where a run starts: epochs completed, and steps of the next epoch already taken (from a
/// checkpoint written on an interrupt). An epoch count converts into one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Start {
    /// Epochs completed.
    pub epoch: u64,
    /// Steps of the next epoch already taken.
    pub position: u64,
}

impl std::fmt::Display for Start {
    /// Where a resumed run goes on: "after epoch 2", "at step 6 of epoch 3" (nothing for a
    /// run from the start).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Start {
                epoch: 0,
                position: 0,
            } => Ok(()),
            Start { epoch, position: 0 } => write!(f, "after epoch {epoch}"),
            Start { epoch, position } => {
                write!(f, "at step {} of epoch {}", position + 1, epoch + 1)
            }
        }
    }
}

impl From<u64> for Start {
    fn from(epoch: u64) -> Self {
        Start { epoch, position: 0 }
    }
}

impl From<&super::checkpoint::Training> for Start {
    fn from(t: &super::checkpoint::Training) -> Self {
        Start {
            epoch: t.epoch,
            position: t.position,
        }
    }
}

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct EpochReport {
    /// The epoch, from 1.
    pub epoch: u64,
    /// Its learning rate.
    pub lr: f32,
    /// Mean training loss over its steps (each step's loss before its update).
    pub train_loss: f32,
    /// The evaluation on the validation set, if one was given.
    pub validation: Option<Evaluation>,
    /// The evaluation on the test set, if [`Config::test`] holds one (on rank 0 alone in a
    /// data-parallel run).
    pub test: Option<Evaluation>,
    /// Wall time of the epoch's training, in seconds: its steps, and gathering their batches,
    /// shuffling and the progress bar around them.
    pub seconds: f64,
    /// Of [`EpochReport::seconds`], the time inside the training steps (`Model::step`).
    pub step_seconds: f64,
    /// Wall time of the evaluation on the validation and test sets, in seconds (next to
    /// nothing without them).
    pub evaluation_seconds: f64,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// All epochs ran.
    Finished,
    /// Early stopping: no improvement for `patience` epochs; the parameters are those after
    /// `best_epoch` (the epoch the run started from, when no validation loss improved on it).
    EarlyStopped {
        /// The epoch with the lowest validation loss.
        best_epoch: u64,
    },
    /// Interrupted: stopped after a step, with a checkpoint of the epochs completed if
    /// configured.
    Interrupted,
}

/// What went wrong in a run.
#[derive(Debug)]
pub enum TrainError {
    /// The data does not fit the network.
    Data(String),
    /// The configuration cannot run (a batch of 0, a schedule with impossible numbers).
    Config(String),
    /// The loss or the parameters stopped being finite; no checkpoint holds them.
    Diverged {
        /// The epoch, from 1.
        epoch: u64,
        /// The step within the epoch, from 1.
        step: u64,
        /// What was found (the loss's value, or a parameter's).
        found: String,
        /// The learning rate of the epoch.
        lr: f32,
    },
    /// A checkpoint could not be written.
    Checkpoint(CheckpointError),
    /// The log could not be written.
    Log(PathBuf, std::io::Error),
    /// The ranks of a data-parallel run disagree: their parameters or their data differ.
    Replicas(String),
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::Data(m) | TrainError::Config(m) | TrainError::Replicas(m) => {
                write!(f, "{m}")
            }
            TrainError::Diverged {
                epoch,
                step,
                found,
                lr,
            } => write!(
                f,
                "training diverged at epoch {epoch}, step {step}: {found} (learning rate {lr}); \
                 try a smaller learning rate. No checkpoint was written from these parameters"
            ),
            TrainError::Checkpoint(e) => write!(f, "{e}"),
            TrainError::Log(p, e) => write!(f, "log {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for TrainError {}

/// Loss, and for a classifier accuracy and confusion matrix, of a network on a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean loss.
    pub loss: f32,
    /// The fraction of samples whose largest output is their label (classifiers).
    pub accuracy: Option<f32>,
    /// `confusion[label][predicted]` counts (classifiers).
    pub confusion: Option<Vec<Vec<u64>>>,
}
