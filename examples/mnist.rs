//! The main job: train `784 -> relu 512 -> relu 512 -> 10 : nll` on MNIST with the trainer
//! `mlp!` derives, the protocol of ../shared/peers/train_mnist.py (pixels / 255, batch 64,
//! plain SGD, reshuffled each epoch from a fixed seed), and print per epoch the mean train
//! loss, test loss, test accuracy and wall time.
//!
//! `cargo run --release --example mnist -- --help` lists the flags.

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use mlp_runtime::data::{Labeled, read_mnist};
use mlp_runtime::{Rng, Sgd};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

mlp_runtime::mlp! {
    /// The network from PyTorch's quickstart tutorial.
    pub struct Mnist = 784 -> relu 512 -> relu 512 -> 10 : nll;
}

/// Train the seed network on MNIST (or FashionMNIST: same file names).
#[derive(Parser)]
struct Args {
    /// Passes over the training set.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// SGD learning rate.
    #[arg(long, default_value_t = 0.1)]
    lr: f32,
    /// Samples per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Seed of the initialization and the shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads for the kernels (default: MLP_THREADS, else every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Folder with the four IDX files (gzip or raw).
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.batch == 0 || args.epochs == 0 {
        eprintln!("error: --batch and --epochs must be at least 1");
        return ExitCode::FAILURE;
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        eprintln!("error: --lr must be a positive number, found {}", args.lr);
        return ExitCode::FAILURE;
    }
    if let Some(n) = args.threads {
        if n == 0 {
            eprintln!("error: --threads must be at least 1");
            return ExitCode::FAILURE;
        }
        mlp_runtime::set_num_threads(n);
    }
    let (train, test) = match read_mnist(&args.data) {
        Ok(sets) => sets,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if train.width != Mnist::INPUTS || test.width != Mnist::INPUTS {
        eprintln!(
            "error: the images have {} values each; the network takes {}",
            train.width,
            Mnist::INPUTS
        );
        return ExitCode::FAILURE;
    }
    println!(
        "{}: {} parameters; {} training and {} test images; batch {}, lr {}, {} threads, kernels {:?}",
        Mnist::SPEC,
        Mnist::PARAMS,
        train.len(),
        test.len(),
        args.batch,
        args.lr,
        mlp_runtime::threads::get(),
        mlp_runtime::simd::isa()
    );
    let mut net = Mnist::new(args.seed);
    let mut sgd = Sgd::new(args.lr);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut xs = vec![0.0f32; args.batch * Mnist::INPUTS];
    let mut labels = vec![0u32; args.batch];
    let mut training = 0.0;
    println!("epoch  train loss  test loss  test accuracy  epoch time");
    for epoch in 1..=args.epochs {
        Rng::new(args.seed.wrapping_add(epoch as u64)).shuffle(&mut order);
        let bar = ProgressBar::new(train.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {msg} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_message(epoch.to_string());
        let start = Instant::now();
        let mut total = 0.0f64;
        for chunk in order.chunks(args.batch) {
            let n = chunk.len();
            for (row, &k) in chunk.iter().enumerate() {
                xs[row * Mnist::INPUTS..(row + 1) * Mnist::INPUTS].copy_from_slice(train.image(k));
                labels[row] = train.labels[k];
            }
            let loss = net.train_step(&xs[..n * Mnist::INPUTS], &labels[..n], &mut sgd);
            total += loss as f64 * n as f64;
            bar.inc(n as u64);
        }
        let seconds = start.elapsed().as_secs_f64();
        training += seconds;
        bar.finish_and_clear();
        let (test_loss, accuracy) = evaluate(&net, &test);
        println!(
            "{epoch:>5}  {:>10.4}  {:>9.4}  {:>12.2}%  {:>9.2} s",
            total / train.len() as f64,
            test_loss,
            100.0 * accuracy,
            seconds
        );
    }
    println!("training time {training:.2} s");
    ExitCode::SUCCESS
}

/// Mean loss and accuracy over `set`, in batches of 1000.
fn evaluate(net: &Mnist, set: &Labeled) -> (f64, f64) {
    let mut loss = 0.0f64;
    let mut correct = 0usize;
    let mut out = vec![0.0f32; 1000 * Mnist::OUTPUTS];
    for start in (0..set.len()).step_by(1000) {
        let end = (start + 1000).min(set.len());
        let xs = &set.images[start * Mnist::INPUTS..end * Mnist::INPUTS];
        let labels = &set.labels[start..end];
        loss += net.loss(xs, labels) as f64 * labels.len() as f64;
        let out = &mut out[..labels.len() * Mnist::OUTPUTS];
        net.predict(xs, out);
        for (row, label) in out.chunks(Mnist::OUTPUTS).zip(labels) {
            let best = (0..Mnist::OUTPUTS)
                .max_by(|a, b| row[*a].total_cmp(&row[*b]))
                .unwrap_or(0);
            correct += usize::from(best as u32 == *label);
        }
    }
    (loss / set.len() as f64, correct as f64 / set.len() as f64)
}
