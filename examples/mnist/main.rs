//! The main job: train `784 -> relu 512 -> relu 512 -> 10 : nll` on MNIST with the trainer
//! `mlp!` derives, the protocol of ../shared/peers/train_mnist.py by default (pixels / 255,
//! batch 64, plain SGD with lr 0.1, reshuffled each epoch from a fixed seed, 3 epochs), and
//! print per epoch the mean train loss, test loss, test accuracy and wall time. Writes the
//! loss and accuracy curves as SVG; optionally a CSV log and a training checkpoint per epoch,
//! from which `--resume` continues.
//!
//! `cargo run --release --example mnist -- --help` lists the flags.
//!
//! Built with `--features mpi`, it trains data-parallel on the ranks `mpirun` starts
//! (`mpirun -np 2 --bind-to none target/release/examples/mnist --threads 1`): `--batch` is the
//! global batch, rank 0 prints and writes, and the run ends by checking that every rank holds
//! the same parameters.

use clap::Parser;
use mlp_runtime::dataset::Dataset;
use mlp_runtime::optim::Choice;
use mlp_runtime::train::replicas::{Replicas, agree, fingerprint};
use mlp_runtime::train::{self, Config, Schedule, Start, Stop};
use mlp_runtime::{Init, data::read_mnist, options};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod curves;

mlp_runtime::mlp! {
    /// The network from PyTorch's quickstart tutorial.
    pub struct Mnist = 784 -> relu 512 -> relu 512 -> 10 : nll;
}

/// Train the seed network on MNIST (or FashionMNIST: same file names).
#[derive(Parser)]
struct Args {
    /// Passes over the training set (in all, when resuming).
    #[arg(long, default_value_t = 3)]
    epochs: u64,
    /// Learning rate (positive).
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    lr: f32,
    /// Samples per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Seed of the initialization and the shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads for the kernels (default: MLP_THREADS, else every core; at most the CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Folder with the four IDX files (gzip or raw).
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// sgd, momentum, nesterov, adam, adamw or rmsprop.
    #[arg(long, default_value = "sgd")]
    optimizer: String,
    /// default (PyTorch's nn.Linear), xavier-uniform, xavier-normal, kaiming-uniform or
    /// kaiming-normal.
    #[arg(long, default_value = "default")]
    init: String,
    /// constant, step (×0.1 every 10 epochs) or cosine (to 0).
    #[arg(long, default_value = "constant")]
    schedule: String,
    /// Stop when the test loss has not improved for this many epochs.
    #[arg(long)]
    patience: Option<u64>,
    /// Write a training checkpoint (safetensors) here after each epoch and on Ctrl-C.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Continue from a training checkpoint.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Append a CSV line per epoch here.
    #[arg(long)]
    log: Option<PathBuf>,
    /// Write the loss and accuracy curves here (SVG).
    #[arg(long, default_value = "target/mnist-curves.svg")]
    plot: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = world().map_err(Into::into).and_then(|world| {
        let result = run(&world, args);
        // An error on one of several ranks ends them all: the others would wait for it.
        #[cfg(feature = "mpi")]
        if let Err(e) = &result
            && world.size() > 1
        {
            world.abort(&format!("error: {e}"));
        }
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The processes of the run: the ranks `mpirun` started, or this one.
#[cfg(feature = "mpi")]
type World = mlp_runtime::distributed::World;
#[cfg(not(feature = "mpi"))]
type World = mlp_runtime::train::replicas::Alone;

#[cfg(feature = "mpi")]
fn world() -> Result<World, String> {
    World::init()
}
#[cfg(not(feature = "mpi"))]
fn world() -> Result<World, String> {
    Ok(World::default())
}

/// The network and optimizer state of a training checkpoint, and where its run was: on MPI,
/// rank 0's file, sent to every rank.
fn resume(
    world: &World,
    path: &Path,
    opt: &mut Choice,
) -> Result<(Mnist, Start), Box<dyn std::error::Error>> {
    #[cfg(feature = "mpi")]
    let (net, training, _) = world.reopen::<Mnist>(path, opt)?;
    #[cfg(not(feature = "mpi"))]
    let (net, training, _) = {
        let _ = world;
        Mnist::resume_training(path, opt)?
    };
    Ok((net, Start::from(&training)))
}

fn run(world: &World, args: Args) -> Result<(), Box<dyn std::error::Error>> {
    // Rank 0 alone speaks.
    let root = world.rank() == 0;
    macro_rules! say {
        ($($t:tt)*) => { if root { println!($($t)*) } };
    }
    options::at_least_one("--epochs", args.epochs)?;
    options::at_least_one("--batch", args.batch)?;
    let lr = options::learning_rate(args.lr)?;
    if let Some(p) = args.patience {
        options::at_least_one("--patience", p)?;
    }
    if let Some(n) = args.threads {
        let (n, warning) = options::threads(n)?;
        if let Some(warning) = warning {
            eprintln!("warning: {warning}");
        }
        mlp_runtime::set_num_threads(n);
    }
    let schedule = Schedule::parse(&args.schedule)?;
    let mut opt = Choice::parse(&args.optimizer, lr)?;
    let init = Init::parse(&args.init)?;
    let (train, test) = read_mnist(&args.data)?;
    let (train, test) = (Dataset::from(train), Dataset::from(test));
    let (mut net, start) = match &args.resume {
        Some(path) => resume(world, path, &mut opt)?,
        None => (Mnist::with_init(args.seed, init), Start::default()),
    };
    options::epochs_left(start.epoch, args.epochs)?;
    options::one_batch("the data holds", train.len(), args.batch)?;
    say!(
        "{}: {} parameters; {} training and {} test images; batch {}, {} lr {}, {} threads{}, kernels {}",
        Mnist::SPEC,
        Mnist::PARAMS,
        train.len(),
        test.len(),
        args.batch,
        args.optimizer,
        args.lr,
        mlp_runtime::threads::get(),
        match world.size() {
            1 => String::new(),
            n => format!(" × {n} ranks"),
        },
        mlp_runtime::simd::isa()
    );
    if start != Start::default() {
        say!("resuming {start}");
    }
    let config = Config {
        epochs: args.epochs,
        batch: args.batch,
        seed: args.seed,
        schedule,
        patience: args.patience,
        checkpoint: args.checkpoint.clone(),
        log: args.log.clone(),
        progress: true,
        ctrl_c: true,
        ..Config::default()
    };
    say!("epoch  train loss  test loss  test accuracy  epoch time");
    let (reports, stop) = train::fit_with(
        world,
        &mut net,
        &mut opt,
        &train,
        Some(&test),
        &config,
        start,
        |r| {
            let v = r.validation.as_ref().expect("evaluated on the test set");
            say!(
                "{:>5}  {:>10.4}  {:>9.4}  {:>12.2}%  {:>9.2} s",
                r.epoch,
                r.train_loss,
                v.loss,
                100.0 * v.accuracy.unwrap_or(0.0),
                r.seconds
            );
        },
    )?;
    let training: f64 = reports.iter().map(|r| r.seconds).sum();
    let stepping: f64 = reports.iter().map(|r| r.step_seconds).sum();
    let evaluating: f64 = reports.iter().map(|r| r.evaluation_seconds).sum();
    say!("training time {training:.2} s");
    // Where the time went: the steps, and everything around them (batches gathered, shuffling,
    // progress, and the evaluation after each epoch).
    let total = training + evaluating;
    if total > 0.0 {
        say!(
            "in train_step {stepping:.2} s of {total:.2} s ({:.1}%); outside it {:.2} s: batches, shuffling and progress {:.2} s, evaluation {evaluating:.2} s",
            100.0 * stepping / total,
            total - stepping,
            training - stepping,
        );
    }
    match stop {
        Stop::Finished => {}
        Stop::EarlyStopped { best_epoch } => {
            say!("stopped early; parameters of epoch {best_epoch}")
        }
        Stop::Interrupted => {
            say!("interrupted");
            if let Some(path) = &args.checkpoint {
                say!("checkpoint: {} (--resume it)", path.display());
            }
        }
    }
    if world.size() > 1 {
        let print = fingerprint(net.params());
        if !agree(world, print) {
            return Err("the ranks' parameters differ after training".into());
        }
        say!(
            "parameters identical on all {} ranks (fingerprint {print:016x})",
            world.size()
        );
    }
    if root && !reports.is_empty() {
        let run = curves::Run {
            spec: Mnist::SPEC,
            optimizer: &args.optimizer,
            lr: args.lr,
            batch: args.batch,
        };
        curves::plot(&args.plot, &run, &curves::Curves::of(&reports))?;
        say!("curves: {}", args.plot.display());
    }
    Ok(())
}
