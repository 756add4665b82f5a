//! The training loop: epochs over a [`Dataset`](dataset::Dataset) in seeded order, evaluation with loss,
//! accuracy and confusion matrix, learning-rate schedules, early stopping, a progress bar
//! (samples/s and ETA; hidden when standard error is not a terminal), a CSV log of each
//! epoch, a training checkpoint after each epoch, and, when asked, Ctrl-C handling that saves
//! one before returning. For a given seed and thread count a run is deterministic, and a run
//! resumed from a checkpoint equals an uninterrupted one.
//!
//! A run that diverges stops: every step's loss is checked, and the parameters after each
//! epoch's last step (one pass over them per epoch, not per step), so a non-finite value ends
//! the run with [`TrainError::Diverged`] before any checkpoint could hold it.

mod config;
mod epochs;
mod evaluate;
mod interrupt;
mod model;
mod output;
mod parallel;
mod schedule;

pub mod checkpoint;
pub mod data;
pub mod dataset;
#[cfg(feature = "mpi")]
pub mod distributed;
#[cfg(feature = "driver")]
pub mod driver;
pub mod metrics;
pub mod options;
pub mod replicas;

pub use config::{Config, EpochReport, Evaluation, Start, Stop, TrainError};
pub use epochs::{fit, fit_with};
pub use evaluate::evaluate;
pub use interrupt::interrupt;
pub use model::{Model, TargetsRef};
pub use schedule::Schedule;
