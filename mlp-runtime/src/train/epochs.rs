//! The loop over epochs: [`fit`] and what configures and reports it.

use super::checkpoint::Training;
use super::config::{Config, EpochReport, Evaluation, Start, Stop, TrainError};
use super::dataset::{Batch, Dataset};
use super::evaluate::{check, evaluate, targets};
use super::interrupt::{CtrlC, INTERRUPTS};
use super::model::Model;
use super::output;
use super::parallel;
use super::replicas::{Alone, Replicas, agree, fingerprint};
use crate::optim::Optimizer;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Trains `model` with `opt` on `train` for epochs `start + 1 ..= config.epochs` (start is 0,
/// or where a resumed checkpoint left off: an epoch count, or a [`Start`] with the steps of
/// the next epoch already taken), evaluating on `validation` after each epoch; `on_epoch` sees
/// each report as it is made (after the epoch's checkpoint is written). Returns the reports
/// and how the run ended; the optimizer's learning rate is back at its initial value. A
/// checkpoint written on an interrupt holds the parameters after the last step and its place
/// in the epoch; a run resumed from any checkpoint (`Start::from(&training)`) continues
/// exactly as the uninterrupted run would have (the resumed epoch's mean loss covers the steps
/// it ran). A loss or parameter that is not finite stops the run with
/// [`TrainError::Diverged`], and the last checkpoint written stays as it was.
pub fn fit<M: Model, O: Optimizer>(
    model: &mut M,
    opt: &mut O,
    train: &Dataset,
    validation: Option<&Dataset>,
    config: &Config,
    start: impl Into<Start>,
    on_epoch: impl FnMut(&EpochReport),
) -> Result<(Vec<EpochReport>, Stop), TrainError> {
    fit_with(
        &Alone, model, opt, train, validation, config, start, on_epoch,
    )
}

/// [`fit`], data-parallel over the processes `replicas` (see [`super::replicas`]): every rank
/// calls it with the same data, configuration and seed. First every rank takes rank 0's
/// parameters and optimizer state; then each global batch of `config.batch` samples is cut
/// into one contiguous shard per rank, and one sum over the ranks gives every rank the same
/// gradient and the same step. Every epoch has the same number of steps on every rank (a rank
/// whose shard of a short last batch is empty still joins the sum). After each epoch the
/// ranks compare fingerprints of their parameters, and a difference stops the run with
/// [`TrainError::Replicas`]. Rank 0 alone shows progress and writes the log and the
/// checkpoints; `on_epoch` runs on every rank. An interrupt on any rank stops every rank
/// after the same step.
#[allow(clippy::too_many_arguments)]
pub fn fit_with<R: Replicas, M: Model, O: Optimizer>(
    replicas: &R,
    model: &mut M,
    opt: &mut O,
    train: &Dataset,
    validation: Option<&Dataset>,
    config: &Config,
    start: impl Into<Start>,
    on_epoch: impl FnMut(&EpochReport),
) -> Result<(Vec<EpochReport>, Stop), TrainError> {
    let start = start.into();
    if replicas.size() > 1 {
        parallel::start(replicas, model, opt, train, validation)?;
    }
    let root = replicas.rank() == 0;
    let config = &Config {
        progress: config.progress && root,
        log: config.log.clone().filter(|_| root),
        checkpoint: config.checkpoint.clone().filter(|_| root),
        test: config.test.clone().filter(|_| root),
        ..config.clone()
    };
    check::<M>(train, "training")?;
    if let Some(v) = validation {
        check::<M>(v, "validation")?;
    }
    if let Some(t) = &config.test {
        check::<M>(t, "test")?;
    }
    if train.is_empty() {
        return Err(TrainError::Data("the training set is empty".into()));
    }
    if config.batch == 0 {
        return Err(TrainError::Config(
            "the batch size must be at least 1".into(),
        ));
    }
    if config.checkpoint_every == 0 {
        return Err(TrainError::Config(
            "checkpoints must be at least 1 epoch apart".into(),
        ));
    }
    config.schedule.check().map_err(TrainError::Config)?;
    let _ctrl_c = match config.ctrl_c {
        true => Some(CtrlC::watch().map_err(TrainError::Config)?),
        false => None,
    };
    let base_lr = opt.lr();
    let result = run(
        replicas, model, opt, train, validation, config, start, on_epoch,
    );
    replicas.beat(None);
    opt.set_lr(base_lr);
    result
}

/// The epochs of [`fit_with`], its arguments checked.
#[allow(clippy::too_many_arguments)]
fn run<M: Model, O: Optimizer>(
    replicas: &impl Replicas,
    model: &mut M,
    opt: &mut O,
    train: &Dataset,
    validation: Option<&Dataset>,
    config: &Config,
    start: Start,
    mut on_epoch: impl FnMut(&EpochReport),
) -> Result<(Vec<EpochReport>, Stop), TrainError> {
    let interrupts = INTERRUPTS.load(Ordering::SeqCst);
    let base_lr = opt.lr();
    let mut reports = Vec::new();
    let mut patience = config
        .patience
        .map(|p| Patience::new(p, start.epoch, model.parameters()));
    let mut batch = Batch::default();
    let mut parallel = (replicas.size() > 1).then(|| parallel::Step::new(model.parameters().len()));
    let mut step = 0;
    for epoch in start.epoch..config.epochs {
        let lr = config.schedule.rate(base_lr, epoch, config.epochs);
        opt.set_lr(lr);
        let started = Instant::now();
        let steps = Steps {
            replicas,
            train,
            config,
            epoch,
            interrupts,
            before: step,
            skip: if epoch == start.epoch {
                start.position
            } else {
                0
            },
        };
        let ran = steps.run(model, opt, &mut batch, parallel.as_mut())?;
        step += ran.steps;
        same_parameters(replicas, model.parameters(), step, epoch)?;
        let at = |epoch, position| (epoch, position, replicas.size() as u64);
        let Some((train_loss, step_seconds)) = ran.figures else {
            opt.set_lr(base_lr);
            // The epoch is incomplete: resuming takes its next step.
            save(model, opt, config, at(epoch, steps.skip + ran.steps))?;
            return Ok((reports, Stop::Interrupted));
        };
        let seconds = started.elapsed().as_secs_f64();
        let evaluated = Instant::now();
        let (validation, test) = evaluations(model, validation, config)?;
        let report = EpochReport {
            epoch: epoch + 1,
            lr,
            train_loss,
            validation,
            test,
            seconds,
            step_seconds,
            evaluation_seconds: evaluated.elapsed().as_secs_f64(),
        };
        if let Some(path) = &config.log {
            output::log(path, &report).map_err(|e| TrainError::Log(path.clone(), e))?;
        }
        if (epoch + 1) % config.checkpoint_every == 0 || epoch + 1 == config.epochs {
            save(model, opt, config, at(epoch + 1, 0))?;
        }
        on_epoch(&report);
        let val_loss = report.validation.as_ref().map(|v| v.loss);
        reports.push(report);
        if let (Some(p), Some(loss)) = (&mut patience, val_loss)
            && let Some(best_epoch) = p.stop(epoch + 1, loss, model.parameters_mut())
        {
            return Ok((reports, Stop::EarlyStopped { best_epoch }));
        }
    }
    Ok((reports, Stop::Finished))
}

/// The evaluations after an epoch: on `validation`, and on [`Config::test`], when given.
fn evaluations<M: Model>(
    model: &M,
    validation: Option<&Dataset>,
    config: &Config,
) -> Result<(Option<Evaluation>, Option<Evaluation>), TrainError> {
    let on = |set: Option<&Dataset>| {
        set.map(|s| evaluate(model, s, config.batch.max(256)))
            .transpose()
    };
    Ok((on(validation)?, on(config.test.as_deref())?))
}

/// Checks, on several ranks, that every rank holds the same `params` after `step` steps.
fn same_parameters(
    replicas: &impl Replicas,
    params: &[f32],
    step: u64,
    epoch: u64,
) -> Result<(), TrainError> {
    if replicas.size() == 1 || agree(replicas, fingerprint(params)) {
        return Ok(());
    }
    Err(TrainError::Replicas(format!(
        "parameters diverged at step {step} (epoch {}): rank {}'s differ from another rank's",
        epoch + 1,
        replicas.rank()
    )))
}

/// The steps of one epoch.
struct Steps<'a, R> {
    replicas: &'a R,
    train: &'a Dataset,
    config: &'a Config,
    /// The epoch, from 0.
    epoch: u64,
    /// The interrupt count when the run started.
    interrupts: u64,
    /// Steps the run took before this epoch.
    before: u64,
    /// Steps of this epoch taken before the run (resumed from a checkpoint written on an
    /// interrupt): they are not taken again.
    skip: u64,
}

/// What an epoch's steps did.
struct Ran {
    /// How many steps ran.
    steps: u64,
    /// The mean loss and the time spent in the steps, or `None` after an interrupt.
    figures: Option<(f32, f64)>,
}

impl<R: Replicas> Steps<'_, R> {
    /// Runs the epoch's steps, each on one process or shared by the ranks (`parallel`), and
    /// checks the parameters after the last.
    fn run<M: Model, O: Optimizer>(
        &self,
        model: &mut M,
        opt: &mut O,
        batch: &mut Batch,
        mut parallel: Option<&mut parallel::Step>,
    ) -> Result<Ran, TrainError> {
        let (train, config) = (self.train, self.config);
        let bar = output::progress(config, train.len() as u64, self.epoch + 1, config.epochs);
        let order = train.order(config.seed, self.epoch);
        let mut total = 0.0f64;
        let mut steps = 0;
        let mut in_steps = std::time::Duration::ZERO;
        let mut samples = 0;
        for idx in order.chunks(config.batch).skip(self.skip as usize) {
            self.replicas.beat(Some(self.before + steps + 1));
            let asked = INTERRUPTS.load(Ordering::SeqCst) != self.interrupts;
            let stepping;
            let (loss, interrupted) = match parallel.as_deref_mut() {
                None => {
                    batch.fill(train, idx);
                    stepping = Instant::now();
                    let loss = model.step(&batch.inputs, targets(batch, M::LABELS), opt);
                    (loss, INTERRUPTS.load(Ordering::SeqCst) != self.interrupts)
                }
                Some(shared) => {
                    batch.fill(train, parallel::part(self.replicas, idx));
                    stepping = Instant::now();
                    let s = shared.run(self.replicas, model, opt, batch, idx.len(), asked);
                    (s.loss, s.interrupted)
                }
            };
            in_steps += stepping.elapsed();
            steps += 1;
            if !loss.is_finite() {
                bar.abandon_with_message("diverged");
                return Err(self.diverged(steps, format!("the loss is {loss}"), opt.lr()));
            }
            total += loss as f64 * idx.len() as f64;
            samples += idx.len();
            bar.inc(idx.len() as u64);
            if interrupted {
                bar.abandon_with_message("interrupted");
                self.finite(model, steps, opt.lr())?;
                return Ok(Ran {
                    steps,
                    figures: None,
                });
            }
        }
        bar.finish_and_clear();
        self.finite(model, steps, opt.lr())?;
        let mean = (total / samples.max(1) as f64) as f32;
        Ok(Ran {
            steps,
            figures: Some((mean, in_steps.as_secs_f64())),
        })
    }

    /// Checks that the parameters after step `step` are finite.
    fn finite<M: Model>(&self, model: &M, step: u64, lr: f32) -> Result<(), TrainError> {
        match model.parameters().iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(k) => Err(self.diverged(
                step,
                format!(
                    "after its update, parameter {k} is {}",
                    model.parameters()[k]
                ),
                lr,
            )),
        }
    }

    fn diverged(&self, step: u64, found: String, lr: f32) -> TrainError {
        TrainError::Diverged {
            epoch: self.epoch + 1,
            step,
            found,
            lr,
        }
    }
}

/// Writes the configured checkpoint, if any, at `(epochs completed, steps of the next, ranks)`.
fn save<M: Model, O: Optimizer>(
    model: &M,
    opt: &O,
    config: &Config,
    (epoch, position, ranks): (u64, u64, u64),
) -> Result<(), TrainError> {
    let Some(path) = &config.checkpoint else {
        return Ok(());
    };
    let training = Training {
        epoch,
        position,
        ranks,
        optimizer: opt.state(),
    };
    model
        .checkpoint(path, &training, &config.preprocessing)
        .map_err(TrainError::Checkpoint)
}

/// Early stopping: the best validation loss so far, its epoch and its parameters. The run's
/// starting point counts as an epoch with an infinite loss, so that a run whose validation
/// loss never becomes finite stops after `patience` epochs too, back where it started.
struct Patience {
    patience: u64,
    loss: f32,
    epoch: u64,
    params: Vec<f32>,
}

impl Patience {
    fn new(patience: u64, start: u64, params: &[f32]) -> Self {
        Patience {
            patience,
            loss: f32::INFINITY,
            epoch: start,
            params: params.to_vec(),
        }
    }

    /// Records epoch `epoch`'s validation loss; when `patience` epochs have passed without
    /// improvement, restores the best parameters into `params` and returns their epoch. A loss
    /// that is not finite never improves.
    fn stop(&mut self, epoch: u64, loss: f32, params: &mut [f32]) -> Option<u64> {
        if loss.is_finite() && loss < self.loss {
            self.loss = loss;
            self.epoch = epoch;
            self.params.copy_from_slice(params);
        }
        if epoch - self.epoch < self.patience {
            return None;
        }
        params.copy_from_slice(&self.params);
        Some(self.epoch)
    }
}
