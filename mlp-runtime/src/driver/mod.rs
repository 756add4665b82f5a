//! The command line of a compiled trainer: what `mlp train` builds for a spec and runs
//! (`train`, `eval`, `predict`). A trainer's `main` is `mlp_runtime::driver::main::<Net>()`.
//! Needs the `driver` feature.

use crate::Init;
use crate::data::read_mnist;
use crate::dataset::{CsvTargets, Dataset, LabelColumn, read_csv};
use crate::optim::Choice;
use crate::train::{self, Config, Model, Schedule, Stop};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "A trainer compiled by mlp for one network")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on a dataset; write a checkpoint after each epoch.
    Train(TrainArgs),
    /// Loss, accuracy and confusion matrix of a checkpoint on a dataset.
    Eval {
        /// The checkpoint (safetensors).
        #[arg(long)]
        checkpoint: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// The network's outputs for the rows of a CSV file of inputs, one line per row.
    Predict {
        /// The checkpoint (safetensors).
        #[arg(long)]
        checkpoint: PathBuf,
        /// A CSV file of inputs (no targets).
        #[arg(long)]
        input: PathBuf,
    },
}

/// Where the data is.
#[derive(Args)]
struct DataArgs {
    /// A folder with MNIST's four IDX files (train and test), or a CSV file.
    #[arg(long)]
    data: PathBuf,
    /// In a CSV file: the label column (first or last), for a network trained on labels.
    #[arg(long, default_value = "last")]
    label: String,
    /// In a CSV file for a network trained on values: the number of target columns (last).
    #[arg(long)]
    targets: Option<usize>,
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Fraction of a CSV file held out for validation.
    #[arg(long, default_value_t = 0.1)]
    validation: f32,
    /// Passes over the training set (in all, when resuming).
    #[arg(long, default_value_t = 3)]
    epochs: u64,
    /// Learning rate.
    #[arg(long, default_value_t = 0.1)]
    lr: f32,
    /// Samples per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Seed of the initialization, the split and the shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// sgd, momentum, nesterov, adam, adamw or rmsprop.
    #[arg(long, default_value = "sgd")]
    optimizer: String,
    /// default, xavier-uniform, xavier-normal, kaiming-uniform or kaiming-normal.
    #[arg(long, default_value = "default")]
    init: String,
    /// constant, step (×0.1 every 10 epochs) or cosine.
    #[arg(long, default_value = "constant")]
    schedule: String,
    /// Stop when the validation loss has not improved for this many epochs.
    #[arg(long)]
    patience: Option<u64>,
    /// Standardize each input feature by the training set's mean and deviation.
    #[arg(long)]
    standardize: bool,
    /// Where to write the checkpoint.
    #[arg(long, default_value = "model.safetensors")]
    checkpoint: PathBuf,
    /// Continue from a training checkpoint.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Append a CSV line per epoch here.
    #[arg(long)]
    log: Option<PathBuf>,
    /// Threads for the kernels.
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs the trainer's command line for network `M`.
pub fn main<M: Model>() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::<M>(args),
        Command::Eval { checkpoint, data } => eval::<M>(&checkpoint, &data),
        Command::Predict { checkpoint, input } => predict::<M>(&checkpoint, &input),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type Error = Box<dyn std::error::Error>;

/// The training and held-out sets: MNIST's own split for a folder, a seeded split of a CSV.
fn sets<M: Model>(
    data: &DataArgs,
    validation: f32,
    seed: u64,
) -> Result<(Dataset, Dataset), Error> {
    if data.data.is_dir() {
        let (train, test) = read_mnist(&data.data)?;
        return Ok((train.into(), test.into()));
    }
    if !(0.0..1.0).contains(&validation) {
        return Err(format!("--validation must be in [0, 1), found {validation}").into());
    }
    let all = read_one::<M>(data)?;
    Ok(all.split(validation, seed))
}

fn read_one<M: Model>(data: &DataArgs) -> Result<Dataset, Error> {
    if data.data.is_dir() {
        let (_, test) = read_mnist(&data.data)?;
        return Ok(test.into());
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
    Ok(read_csv(&data.data, targets)?)
}

fn train<M: Model>(args: TrainArgs) -> Result<(), Error> {
    if let Some(n) = args.threads {
        if n == 0 {
            return Err("--threads must be at least 1".into());
        }
        crate::set_num_threads(n);
    }
    let schedule = Schedule::parse(&args.schedule)?;
    let mut opt = Choice::parse(&args.optimizer, args.lr)?;
    let init = Init::parse(&args.init)?;
    let (mut train, mut held) = sets::<M>(&args.data, args.validation, args.seed)?;
    if args.standardize {
        let stats = train.statistics();
        train.standardize(&stats);
        held.standardize(&stats);
    }
    let (mut net, start) = match &args.resume {
        Some(path) => M::reopen(path, &mut opt)?,
        None => (M::create(args.seed, init), 0),
    };
    println!(
        "{}: {} training and {} validation samples; {} lr {}, batch {}",
        M::spec(),
        train.len(),
        held.len(),
        args.optimizer,
        args.lr,
        args.batch
    );
    let config = Config {
        epochs: args.epochs,
        batch: args.batch,
        seed: args.seed,
        schedule,
        patience: args.patience,
        checkpoint: Some(args.checkpoint.clone()),
        log: args.log.clone(),
        progress: true,
    };
    let validation = (!held.is_empty()).then_some(&held);
    let (_, stop) = train::fit(
        &mut net,
        &mut opt,
        &train,
        validation,
        &config,
        start,
        |r| {
            let mut line = format!("epoch {:>3}  train loss {:.4}", r.epoch, r.train_loss);
            if let Some(v) = &r.validation {
                line += &format!("  validation loss {:.4}", v.loss);
                if let Some(a) = v.accuracy {
                    line += &format!("  accuracy {:.2}%", 100.0 * a);
                }
            }
            println!("{line}  {:.2} s", r.seconds);
        },
    )?;
    if let Stop::EarlyStopped { best_epoch } = stop {
        // The best parameters were restored; write them.
        net.checkpoint(&args.checkpoint, &opt, best_epoch)?;
        println!("stopped early; kept epoch {best_epoch}");
    }
    println!("checkpoint: {}", args.checkpoint.display());
    Ok(())
}

fn eval<M: Model>(checkpoint: &Path, data: &DataArgs) -> Result<(), Error> {
    let net = M::open(checkpoint)?;
    let set = read_one::<M>(data)?;
    let e = train::evaluate(&net, &set, 256)?;
    println!("{} samples: loss {:.4}", set.len(), e.loss);
    if let (Some(a), Some(confusion)) = (e.accuracy, e.confusion) {
        println!("accuracy {:.2}%", 100.0 * a);
        println!("confusion matrix (rows: label, columns: predicted):");
        for row in confusion {
            let cells: Vec<String> = row.iter().map(|c| format!("{c:>6}")).collect();
            println!("{}", cells.join(""));
        }
    }
    Ok(())
}

fn predict<M: Model>(checkpoint: &Path, input: &Path) -> Result<(), Error> {
    let net = M::open(checkpoint)?;
    let set = read_csv(input, CsvTargets::None)?;
    if set.width != M::INPUTS {
        return Err(format!(
            "{}: rows have {} values, the network takes {}",
            input.display(),
            set.width,
            M::INPUTS
        )
        .into());
    }
    let mut out = vec![0.0; set.len() * M::OUTPUTS];
    net.outputs(&set.inputs, &mut out);
    for row in out.chunks(M::OUTPUTS) {
        let values: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        if M::LABELS {
            let class = (0..row.len())
                .max_by(|a, b| row[*a].total_cmp(&row[*b]))
                .unwrap_or(0);
            println!("{class},{}", values.join(","));
        } else {
            println!("{}", values.join(","));
        }
    }
    Ok(())
}
