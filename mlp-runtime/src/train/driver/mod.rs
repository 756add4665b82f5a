//! The command line of a compiled trainer: what `mlp train` builds for a spec and runs
//! (`train`, `eval`, `predict`). A trainer's `main` is `mlp_runtime::driver::main::<Net>()`.
//! Needs the `driver` feature.
//!
//! Every option is checked before any work starts ([`crate::train::options`]); a checkpoint carries
//! the preprocessing of training, which `eval`, `predict` and a resumed `train` apply; Ctrl-C
//! stops a run after its current step with a checkpoint; a run that diverges stops with the
//! last good checkpoint kept.

mod args;
mod classes;
mod labels;
mod report;
mod testset;
mod world;

use crate::Init;
use crate::optim::{Choice, Optimizer};
use crate::train::checkpoint::Training;
use crate::train::data::{DataError, read_mnist};
use crate::train::dataset::{
    ClassNames, CsvOptions, CsvTargets, Dataset, LabelColumn, Preprocessing, read_csv_classes,
    read_csv_with,
};
use crate::train::options;
use crate::train::replicas::{Replicas, agree, fingerprint};
use crate::train::{self, Config, EpochReport, Model, Schedule, Start, Stop};
use args::{Cli, Command, DataArgs, TrainArgs};
use clap::Parser;
use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;
use world::World;

/// Runs the trainer's command line (from the process's arguments) for network `M`.
pub fn main<M: Model>() -> ExitCode {
    match execute::<M>(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the trainer's command line for network `M` with `args` (the program's name first),
/// as [`main`] does, but returns what went wrong instead of printing it; `--help` is an
/// error holding the help text.
pub fn run<M: Model>(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<(), Error> {
    execute::<M>(Cli::try_parse_from(args)?)
}

/// What went wrong, as a message for the user.
pub type Error = Box<dyn std::error::Error>;

fn execute<M: Model>(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Train(args) => train::<M>(*args),
        Command::Eval {
            checkpoint,
            data,
            standardize,
        } => eval::<M>(&checkpoint, &data, standardize),
        Command::Predict {
            checkpoint,
            input,
            header,
            standardize,
        } => {
            let options = CsvOptions {
                header: header.header(),
                ..CsvOptions::new(CsvTargets::None)
            };
            predict::<M>(&checkpoint, &input, &options, standardize)
        }
    }
}

/// The options of `train`, checked: everything but the data.
struct Plan<M> {
    net: M,
    start: Start,
    opt: Choice,
    config: Config,
    /// The preprocessing a resumed checkpoint records.
    recorded: Option<Preprocessing>,
}

fn plan<M: Model>(args: &TrainArgs, world: &World) -> Result<Plan<M>, Error> {
    if let Some(n) = args.threads {
        let (n, warning) = options::threads(n)?;
        if let Some(warning) = warning {
            eprintln!("warning: {warning}");
        }
        crate::set_num_threads(n);
    }
    let lr = options::learning_rate(args.lr)?;
    options::at_least_one("--epochs", args.epochs)?;
    options::at_least_one("--batch", args.batch)?;
    if let Some(p) = args.patience {
        options::at_least_one("--patience", p)?;
    }
    if let Some(v) = args.validation {
        options::fraction("--validation", v)?;
    }
    let schedule = Schedule::parse(&args.schedule)?;
    let mut opt = Choice::parse(&args.optimizer, lr)?;
    let init = Init::parse(&args.init)?;
    let (net, start, recorded) = match &args.resume {
        Some(path) => {
            let (net, training, recorded) = world::reopen::<M>(world, path, &mut opt)?;
            options::epochs_left(training.epoch, args.epochs)?;
            if training.ranks != world.size() as u64 && world.rank() == 0 {
                println!(
                    "note: the checkpoint was written by {} process(es), this run has {}: the same \
                     batches, their sums in another order",
                    training.ranks,
                    world.size()
                );
            }
            (net, Start::from(&training), Some(recorded))
        }
        None => (M::create(args.seed, init), Start::default(), None),
    };
    options::at_least_one("--checkpoint-every", args.checkpoint_every)?;
    writable(args)?;
    let config = Config {
        epochs: args.epochs,
        batch: args.batch,
        seed: args.seed,
        schedule,
        patience: args.patience,
        checkpoint: (!args.no_checkpoint).then(|| args.checkpoint.clone()),
        checkpoint_every: args.checkpoint_every,
        preprocessing: Preprocessing::default(),
        log: args.log.clone(),
        test: None,
        progress: true,
        ctrl_c: true,
    };
    Ok(Plan {
        net,
        start,
        opt,
        config,
        recorded,
    })
}

/// Refuses to overwrite an existing checkpoint file unless asked (`--force`) or it is the one
/// `--resume` continues.
fn writable(args: &TrainArgs) -> Result<(), Error> {
    let path = &args.checkpoint;
    if args.no_checkpoint || args.force || !path.exists() {
        return Ok(());
    }
    let same = |other: &Path| match (other.canonicalize(), path.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => other == path,
    };
    if args.resume.as_deref().is_some_and(same) {
        return Ok(());
    }
    Err(format!(
        "{} exists: --force overwrites it, --checkpoint FILE writes elsewhere, --resume {} continues it",
        path.display(),
        path.display()
    )
    .into())
}

/// The preprocessing of a run: a resumed checkpoint's, else the training set's statistics
/// with `--standardize`, else none.
fn preprocessing(
    standardize: bool,
    recorded: Option<Preprocessing>,
    train: &Dataset,
    root: bool,
) -> Result<Preprocessing, Error> {
    match recorded {
        Some(p) if standardize && p.is_none() => Err(
            "--standardize: the checkpoint was trained without it; resume without --standardize"
                .into(),
        ),
        Some(p) => {
            if !p.is_none() && !standardize && root {
                println!("standardizing the inputs as the checkpoint records");
            }
            Ok(p)
        }
        None if standardize => Ok(Preprocessing::standardize(train.statistics())),
        None => Ok(Preprocessing::default()),
    }
}

fn train<M: Model>(args: TrainArgs) -> Result<(), Error> {
    let world = world::join(std::time::Duration::from_secs(args.watchdog))?;
    let result = train_on::<M>(&world, args);
    world::settle(&world, result)
}

/// `train` on the run's processes; rank 0 alone prints and writes.
fn train_on<M: Model>(world: &World, args: TrainArgs) -> Result<(), Error> {
    let root = world.rank() == 0;
    let Plan {
        mut net,
        start,
        mut opt,
        mut config,
        recorded,
    } = plan::<M>(&args, world)?;
    let names = labels::names(&args.data, recorded.as_ref())?;
    let (mut train, mut held, classes) =
        sets::<M>(&args.data, names, args.validation, args.seed, root)?;
    let what = match args.validation {
        _ if args.data.data.is_dir() => "the data holds".to_string(),
        Some(v) => format!("--validation {v} leaves"),
        None => "holding out a validation set leaves".to_string(),
    };
    options::one_batch(&what, train.len(), args.batch)?;
    config.preprocessing = preprocessing(args.standardize, recorded, &train, root)?;
    if classes.is_some() {
        config.preprocessing.classes = classes;
    }
    config.preprocessing.apply(&mut train)?;
    config.preprocessing.apply(&mut held)?;
    let test = testset::read::<M>(&args, &config.preprocessing)?;
    config.test = test.clone().filter(|_| args.test_each_epoch);
    if root {
        announce::<M>(&args, world.size(), (train.len(), held.len()), start);
    }
    let validation = (!held.is_empty()).then_some(&held);
    let shown = |r: &EpochReport| {
        if root {
            report::show(r)
        }
    };
    let (reports, stop) = train::fit_with(
        world, &mut net, &mut opt, &train, validation, &config, start, shown,
    )?;
    if world.size() > 1 {
        let print = fingerprint(net.parameters());
        if !agree(world, print) {
            return Err("the ranks' parameters differ after training".into());
        }
        if root {
            println!(
                "parameters identical on all {} ranks (fingerprint {print:016x})",
                world.size()
            );
        }
    }
    if !root {
        return Ok(());
    }
    match stop {
        Stop::EarlyStopped { best_epoch } => {
            // The best parameters were restored; write them.
            let training = Training {
                epoch: best_epoch,
                position: 0,
                ranks: world.size() as u64,
                optimizer: opt.state(),
            };
            if let Some(path) = &config.checkpoint {
                net.checkpoint(path, &training, &config.preprocessing)?;
            }
            println!("stopped early; kept epoch {best_epoch}");
        }
        Stop::Interrupted => println!("interrupted; --resume the checkpoint to go on"),
        Stop::Finished => {}
    }
    report::summary(&reports);
    if let Some(test) = test.filter(|_| stop != Stop::Interrupted) {
        testset::show(&net, &test, &args)?;
    }
    if let Some(path) = &config.checkpoint {
        println!("checkpoint: {}", path.display());
    }
    Ok(())
}

/// Prints what the run trains on, and where it resumes.
fn announce<M: Model>(args: &TrainArgs, ranks: usize, (train, held): (usize, usize), start: Start) {
    let over = match ranks {
        1 => String::new(),
        n => format!(" over {n} ranks"),
    };
    println!(
        "{}: {train} training and {held} validation samples; {} lr {}, batch {}{over}",
        M::spec(),
        args.optimizer,
        args.lr,
        args.batch,
    );
    if start != Start::default() {
        println!("resuming {start}");
    }
}

/// The training and held-out sets: MNIST's own split for a folder, a seeded split of a CSV
/// (after its class names are mapped, so both sets map them alike); and the class names.
fn sets<M: Model>(
    data: &DataArgs,
    names: ClassNames<'_>,
    validation: Option<f32>,
    seed: u64,
    root: bool,
) -> Result<(Dataset, Dataset, Option<Vec<String>>), Error> {
    if data.data.is_dir() {
        let (train, test) = read_mnist(&data.data)?;
        return Ok((train.into(), test.into(), None));
    }
    let (all, classes) = read_one::<M>(data, names)?;
    let fraction = match validation {
        Some(v) => {
            let held = (all.len() as f64 * v as f64).round();
            if (1.0..MIN_HELD as f64).contains(&held) && root {
                eprintln!(
                    "warning: --validation {v} holds out {held} samples: its accuracy moves in steps of {:.1}%",
                    100.0 / held
                );
            }
            v
        }
        None => default_fraction(all.len()),
    };
    let (train, held) = all.split(fraction, seed);
    Ok((train, held, classes))
}

/// Samples a validation set needs for its accuracy to mean something (a step of 3.3%).
const MIN_HELD: usize = 30;

/// The default validation fraction of `n` samples: 10%, but at least [`MIN_HELD`] samples as
/// long as they are at most a fifth of the data.
fn default_fraction(n: usize) -> f32 {
    let held = (n / 10).max(MIN_HELD.min(n / 5));
    held as f32 / n.max(1) as f32
}

/// The one dataset of `eval`: MNIST's test set for a folder, else the CSV file, its class
/// names mapped as `names` says; and the class names.
fn read_one<M: Model>(
    data: &DataArgs,
    names: ClassNames<'_>,
) -> Result<(Dataset, Option<Vec<String>>), Error> {
    if data.data.is_dir() {
        let (_, test) = read_mnist(&data.data)?;
        return Ok((test.into(), None));
    }
    let targets = if M::LABELS {
        match data.label.as_str() {
            "first" => CsvTargets::Label(LabelColumn::First),
            "last" => CsvTargets::Label(LabelColumn::Last),
            other => return Err(format!("--label must be first or last, found `{other}`").into()),
        }
    } else {
        CsvTargets::LastValues(data.targets.unwrap_or(M::OUTPUTS))
    };
    let options = CsvOptions {
        targets,
        header: data.header.header(),
        classes: M::LABELS.then(|| M::OUTPUTS.try_into().unwrap_or(u32::MAX)),
    };
    Ok(read_csv_classes(&data.data, &options, names)?)
}

/// The network in `checkpoint` and its preprocessing; `--standardize` (not needed) is an
/// error only when the checkpoint records no standardization.
fn open<M: Model>(checkpoint: &Path, standardize: bool) -> Result<(M, Preprocessing), Error> {
    let (net, preprocessing) = M::open(checkpoint)?;
    if standardize && preprocessing.is_none() {
        return Err(format!(
            "--standardize: {} records no standardization (it was trained without --standardize)",
            checkpoint.display()
        )
        .into());
    }
    Ok((net, preprocessing))
}

/// Checks that `set`, read from `path`, has rows as wide as the network's input.
fn fits<M: Model>(set: &Dataset, path: &Path) -> Result<(), Error> {
    if set.width == M::INPUTS {
        return Ok(());
    }
    Err(Box::new(DataError {
        path: path.to_owned(),
        offset: None,
        message: format!(
            "rows have {} input values, the network takes {}",
            set.width,
            M::INPUTS
        ),
    }))
}

fn eval<M: Model>(checkpoint: &Path, data: &DataArgs, standardize: bool) -> Result<(), Error> {
    let (net, preprocessing) = open::<M>(checkpoint, standardize)?;
    let names = labels::names(data, Some(&preprocessing))?;
    let (mut set, _) = read_one::<M>(data, names)?;
    fits::<M>(&set, &data.data)?;
    preprocessing.apply(&mut set)?;
    let names = match &preprocessing.classes {
        Some(names) => names.clone(),
        None => classes::default_names::<M>(),
    };
    print!("{}", eval_report(&net, &set, &names)?);
    Ok(())
}

/// What `eval` prints of `net` on `set` (preprocessed): the loss; for a classifier its
/// accuracy, each class's precision, recall, F1 and support with their macro and weighted
/// averages, and the confusion matrix (rows: true class); for a `bce` network of several
/// outputs, those metrics per output. `names` name the classes or outputs in order (a missing
/// one is its number).
pub fn eval_report<M: Model>(net: &M, set: &Dataset, names: &[String]) -> Result<String, Error> {
    classes::report(net, set, names)
}

fn predict<M: Model>(
    checkpoint: &Path,
    input: &Path,
    options: &CsvOptions,
    standardize: bool,
) -> Result<(), Error> {
    let (net, preprocessing) = open::<M>(checkpoint, standardize)?;
    let mut set = read_csv_with(input, options)?;
    fits::<M>(&set, input)?;
    preprocessing.apply(&mut set)?;
    let mut out = vec![0.0; set.len() * M::OUTPUTS];
    net.outputs(&set.inputs, &mut out);
    let classes = preprocessing.classes.as_deref();
    report::predictions(M::spec(), M::LABELS, M::OUTPUTS, &out, classes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::default_fraction;

    #[test]
    fn the_default_validation_set_is_ten_percent_but_at_least_thirty_samples() {
        let held = |n: usize| (n as f64 * default_fraction(n) as f64).round() as usize;
        assert_eq!(held(1000), 100);
        assert_eq!(held(300), 30);
        assert_eq!(held(150), 30, "iris: 30, not 15");
        assert_eq!(held(100), 20, "at most a fifth");
        assert_eq!(held(4), 0);
    }
}
