//! The training loop: epochs over a [`Dataset`] in seeded order, evaluation with loss,
//! accuracy and confusion matrix, learning-rate schedules, early stopping, a progress bar
//! (samples/s and ETA; hidden when standard error is not a terminal), a CSV log of each
//! epoch, a training checkpoint after each epoch, and Ctrl-C handling that saves one before
//! returning. For a given seed and thread count a run is deterministic, and a run resumed from
//! a checkpoint equals an uninterrupted one.

use crate::checkpoint::CheckpointError;
use crate::dataset::{Batch, Dataset, Targets};
use crate::optim::Optimizer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

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
    /// The mean loss of a batch.
    fn batch_loss(&self, xs: &[f32], targets: TargetsRef<'_>) -> f32;
    /// The outputs of a batch.
    fn outputs(&self, xs: &[f32], out: &mut [f32]);
    /// The parameters.
    fn parameters(&self) -> &[f32];
    /// The parameters, mutable.
    fn parameters_mut(&mut self) -> &mut [f32];
    /// Writes a training checkpoint.
    fn checkpoint(
        &self,
        path: &Path,
        opt: &impl Optimizer,
        epoch: u64,
    ) -> Result<(), CheckpointError>;
    /// The network in DSL text.
    fn spec() -> &'static str;
    /// A network initialized by `init` from `seed`.
    fn create(seed: u64, init: crate::Init) -> Self
    where
        Self: Sized;
    /// A network with the parameters of a checkpoint.
    fn open(path: &Path) -> Result<Self, CheckpointError>
    where
        Self: Sized;
    /// A network and optimizer state from a training checkpoint, and its epoch count.
    fn reopen(path: &Path, opt: &mut impl Optimizer) -> Result<(Self, u64), CheckpointError>
    where
        Self: Sized;
}

/// How the learning rate changes from epoch to epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// The optimizer's rate throughout.
    Constant,
    /// Multiplied by `gamma` every `every` epochs (PyTorch's `StepLR`).
    Step {
        /// Epochs between decays.
        every: u64,
        /// The factor.
        gamma: f32,
    },
    /// Cosine annealing from the initial rate to `min_lr` over the run (PyTorch's
    /// `CosineAnnealingLR` with `T_max` = epochs).
    Cosine {
        /// The final rate.
        min_lr: f32,
    },
}

impl Schedule {
    /// `constant`, `step` (×0.1 every 10 epochs) or `cosine` (to 0): a command line's
    /// `--schedule`.
    pub fn parse(name: &str) -> Result<Schedule, String> {
        match name {
            "constant" => Ok(Schedule::Constant),
            "step" => Ok(Schedule::Step {
                every: 10,
                gamma: 0.1,
            }),
            "cosine" => Ok(Schedule::Cosine { min_lr: 0.0 }),
            other => Err(format!(
                "unknown schedule `{other}`; expected constant, step or cosine"
            )),
        }
    }

    /// The rate of `epoch` (0-based) out of `epochs`, starting from `base`.
    pub fn rate(&self, base: f32, epoch: u64, epochs: u64) -> f32 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => base * gamma.powi((epoch / every.max(1)) as i32),
            Schedule::Cosine { min_lr } => {
                let t = epoch as f64 / epochs.max(1) as f64;
                (min_lr as f64
                    + (base - min_lr) as f64 * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0)
                    as f32
            }
        }
    }
}

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
    /// best parameters.
    pub patience: Option<u64>,
    /// Write a training checkpoint here after each epoch and on Ctrl-C.
    pub checkpoint: Option<PathBuf>,
    /// Append a CSV line per epoch here (a header first when the file is new).
    pub log: Option<PathBuf>,
    /// Show a progress bar (on standard error, and only if it is a terminal).
    pub progress: bool,
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
            log: None,
            progress: true,
        }
    }
}

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

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// The epoch, from 1.
    pub epoch: u64,
    /// Its learning rate.
    pub lr: f32,
    /// Mean training loss over its steps (each step's loss before its update).
    pub train_loss: f32,
    /// The evaluation on the validation set, if one was given.
    pub validation: Option<Evaluation>,
    /// Wall time of the epoch's training, in seconds.
    pub seconds: f64,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// All epochs ran.
    Finished,
    /// Early stopping: no improvement for `patience` epochs; the parameters are those after
    /// `best_epoch`.
    EarlyStopped {
        /// The epoch with the lowest validation loss.
        best_epoch: u64,
    },
    /// Ctrl-C: stopped after a step, with a checkpoint of the epochs completed if configured.
    Interrupted,
}

/// What went wrong in a run.
#[derive(Debug)]
pub enum TrainError {
    /// The data does not fit the network.
    Data(String),
    /// A checkpoint could not be written.
    Checkpoint(CheckpointError),
    /// The log could not be written.
    Log(PathBuf, std::io::Error),
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::Data(m) => write!(f, "{m}"),
            TrainError::Checkpoint(e) => write!(f, "{e}"),
            TrainError::Log(p, e) => write!(f, "log {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for TrainError {}

/// Interrupts so far (Ctrl-C or [`interrupt`]); a run stops when the count moves.
static INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Installs (once per process) the Ctrl-C handler that asks running [`fit`]s to stop.
fn watch_ctrl_c() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Another handler may exist (the host program's); then Ctrl-C keeps its meaning.
        let _ = ctrlc::set_handler(|| {
            INTERRUPTS.fetch_add(1, Ordering::SeqCst);
        });
    });
}

/// Asks every running [`fit`] to stop after its current step, as Ctrl-C does.
pub fn interrupt() {
    INTERRUPTS.fetch_add(1, Ordering::SeqCst);
}

fn check<M: Model>(data: &Dataset, what: &str) -> Result<(), TrainError> {
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

fn targets(batch: &Batch, labels: bool) -> TargetsRef<'_> {
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
        loss += model.batch_loss(&b.inputs, targets(&b, M::LABELS)) as f64 * idx.len() as f64;
        if M::LABELS {
            out.resize(idx.len() * M::OUTPUTS, 0.0);
            model.outputs(&b.inputs, &mut out);
            for (row, label) in out.chunks_exact(M::OUTPUTS).zip(&b.labels) {
                let predicted = row
                    .iter()
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |best, (k, v)| {
                        if *v > best.1 { (k, *v) } else { best }
                    })
                    .0;
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

/// Trains `model` with `opt` on `train` for epochs `start + 1 ..= config.epochs` (start is 0,
/// or the epoch count of a resumed checkpoint), evaluating on `validation` after each epoch;
/// `on_epoch` sees each report as it is made (after the epoch's checkpoint is written).
/// Returns the reports and how the run ended; the optimizer's learning rate is back at its
/// initial value. A checkpoint written on Ctrl-C holds the parameters at the interrupt and the
/// epochs completed, so resuming repeats the interrupted epoch; checkpoints written at the end
/// of an epoch resume exactly.
pub fn fit<M: Model, O: Optimizer>(
    model: &mut M,
    opt: &mut O,
    train: &Dataset,
    validation: Option<&Dataset>,
    config: &Config,
    start: u64,
    mut on_epoch: impl FnMut(&EpochReport),
) -> Result<(Vec<EpochReport>, Stop), TrainError> {
    check::<M>(train, "training")?;
    if let Some(v) = validation {
        check::<M>(v, "validation")?;
    }
    if config.batch == 0 {
        return Err(TrainError::Data("the batch size must be at least 1".into()));
    }
    watch_ctrl_c();
    let interrupts = INTERRUPTS.load(Ordering::SeqCst);
    let base_lr = opt.lr();
    let mut reports = Vec::new();
    let mut best: Option<(f32, u64, Vec<f32>)> = None;
    let mut batch = Batch::default();
    for epoch in start..config.epochs {
        let lr = config.schedule.rate(base_lr, epoch, config.epochs);
        opt.set_lr(lr);
        let bar = progress(config, train.len() as u64, epoch + 1, config.epochs);
        let started = Instant::now();
        let order = train.order(config.seed, epoch);
        let mut total = 0.0f64;
        for idx in order.chunks(config.batch) {
            batch.fill(train, idx);
            total += model.step(&batch.inputs, targets(&batch, M::LABELS), opt) as f64
                * idx.len() as f64;
            bar.inc(idx.len() as u64);
            if INTERRUPTS.load(Ordering::SeqCst) != interrupts {
                bar.abandon_with_message("interrupted");
                opt.set_lr(base_lr);
                if let Some(path) = &config.checkpoint {
                    // The epoch is incomplete: resuming repeats it from its start.
                    model
                        .checkpoint(path, opt, epoch)
                        .map_err(TrainError::Checkpoint)?;
                }
                return Ok((reports, Stop::Interrupted));
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let validation = validation
            .map(|v| evaluate(model, v, config.batch.max(256)))
            .transpose()?;
        let report = EpochReport {
            epoch: epoch + 1,
            lr,
            train_loss: (total / train.len().max(1) as f64) as f32,
            validation,
            seconds,
        };
        if let Some(path) = &config.log {
            log(path, &report).map_err(|e| TrainError::Log(path.clone(), e))?;
        }
        if let Some(path) = &config.checkpoint {
            model
                .checkpoint(path, opt, epoch + 1)
                .map_err(TrainError::Checkpoint)?;
        }
        on_epoch(&report);
        let val_loss = report.validation.as_ref().map(|v| v.loss);
        reports.push(report);
        if let (Some(patience), Some(loss)) = (config.patience, val_loss) {
            match &best {
                Some((b, _, _)) if loss >= *b => {}
                _ => best = Some((loss, epoch + 1, model.parameters().to_vec())),
            }
            let (_, best_epoch, params) = best.as_ref().expect("set above");
            if epoch + 1 - best_epoch >= patience {
                model.parameters_mut().copy_from_slice(params);
                return Ok((
                    reports,
                    Stop::EarlyStopped {
                        best_epoch: *best_epoch,
                    },
                ));
            }
        }
    }
    opt.set_lr(base_lr);
    Ok((reports, Stop::Finished))
}

/// A bar over the epoch's samples, showing samples/s and the ETA.
fn progress(config: &Config, samples: u64, epoch: u64, epochs: u64) -> ProgressBar {
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

fn log(path: &Path, r: &EpochReport) -> std::io::Result<()> {
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    if new {
        writeln!(
            f,
            "epoch,lr,train_loss,validation_loss,validation_accuracy,seconds"
        )?;
    }
    let (vl, va) = match &r.validation {
        Some(v) => (
            v.loss.to_string(),
            v.accuracy.map(|a| a.to_string()).unwrap_or_default(),
        ),
        None => (String::new(), String::new()),
    };
    writeln!(
        f,
        "{},{},{},{vl},{va},{:.3}",
        r.epoch, r.lr, r.train_loss, r.seconds
    )?;
    f.flush()
}
