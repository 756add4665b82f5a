//! The trainer's command line, as clap reads it.

use crate::train::dataset::Header;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The trainer runs as `mlp train | eval | predict`, which passes on the options after the spec:
/// its usage lines and errors say so.
#[derive(Parser)]
#[command(
    name = "mlp",
    bin_name = "mlp",
    about = "A trainer compiled by mlp for one network"
)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub(super) enum Command {
    /// Train on a dataset; write a checkpoint after each epoch.
    #[command(override_usage = "mlp train SPEC --data DIR|FILE.csv [OPTIONS]")]
    Train(Box<TrainArgs>),
    /// Loss, accuracy, per-class precision, recall and F1, and confusion matrix of a
    /// checkpoint on a dataset (preprocessed as the checkpoint records).
    #[command(override_usage = "mlp eval [SPEC] --checkpoint FILE --data DIR|FILE.csv [OPTIONS]")]
    Eval {
        /// The checkpoint (safetensors).
        #[arg(long)]
        checkpoint: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Not needed: the standardization recorded in the checkpoint is applied.
        #[arg(long, hide = true)]
        standardize: bool,
    },
    /// The network's outputs for the rows of a CSV file of inputs, one line per row
    /// (preprocessed as the checkpoint records).
    #[command(override_usage = "mlp predict [SPEC] --checkpoint FILE --input FILE.csv [OPTIONS]")]
    Predict {
        /// The checkpoint (safetensors).
        #[arg(long)]
        checkpoint: PathBuf,
        /// A CSV file of inputs (no targets).
        #[arg(long)]
        input: PathBuf,
        #[command(flatten)]
        header: HeaderArgs,
        /// Not needed: the standardization recorded in the checkpoint is applied.
        #[arg(long, hide = true)]
        standardize: bool,
    },
}

/// Whether a CSV file's first row is a header.
#[derive(Args, Clone)]
pub(super) struct HeaderArgs {
    /// The CSV file's first row names the columns (by default: when none of its fields is a
    /// number).
    #[arg(long, conflicts_with = "no_header")]
    header: bool,
    /// Every row of the CSV file is data.
    #[arg(long)]
    no_header: bool,
}

impl HeaderArgs {
    pub fn header(&self) -> Header {
        match (self.header, self.no_header) {
            (true, _) => Header::Present,
            (_, true) => Header::Absent,
            _ => Header::Auto,
        }
    }
}

/// Where the data is.
#[derive(Args, Clone)]
pub(super) struct DataArgs {
    /// A folder with MNIST's four IDX files (train and test), or a CSV file.
    #[arg(long)]
    pub data: PathBuf,
    /// In a CSV file: the label column (first or last), for a network trained on labels.
    #[arg(long, default_value = "last")]
    pub label: String,
    /// In a CSV file whose labels are class names: their class indices in sorted order
    /// (`sorted`) or in the order the file first writes them (`first-seen`); the checkpoint
    /// records them, and eval, predict and a resumed run use its mapping.
    #[arg(long, default_value = "sorted", value_name = "ORDER")]
    pub label_order: String,
    /// In a CSV file for a network trained on values: the number of target columns (last).
    #[arg(long)]
    pub targets: Option<usize>,
    #[command(flatten)]
    pub header: HeaderArgs,
}

#[derive(Args)]
pub(super) struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Fraction of a CSV file held out for validation, in [0, 1) (default: 10%, but at least
    /// 30 samples while they are at most a fifth of the file).
    #[arg(long)]
    pub validation: Option<f32>,
    /// Passes over the training set (in all, when resuming).
    #[arg(long, default_value_t = 3)]
    pub epochs: u64,
    /// Learning rate (positive).
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub lr: f32,
    /// Samples per step.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Seed of the initialization, the split and the shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// sgd, momentum, nesterov, adam, adamw or rmsprop.
    #[arg(long, default_value = "sgd")]
    pub optimizer: String,
    /// default, xavier-uniform, xavier-normal, kaiming-uniform or kaiming-normal.
    #[arg(long, default_value = "default")]
    pub init: String,
    /// constant, step (×0.1 every 10 epochs) or cosine.
    #[arg(long, default_value = "constant")]
    pub schedule: String,
    /// Stop when the validation loss has not improved for this many epochs.
    #[arg(long)]
    pub patience: Option<u64>,
    /// Standardize each input feature by the training set's mean and deviation (recorded in
    /// the checkpoint, and applied by eval and predict).
    #[arg(long)]
    pub standardize: bool,
    /// Where to write the checkpoint (an existing file only with --force, or when it is the
    /// one --resume continues).
    #[arg(long, default_value = "model.safetensors")]
    pub checkpoint: PathBuf,
    /// Overwrite an existing checkpoint file.
    #[arg(long)]
    pub force: bool,
    /// Write no checkpoint.
    #[arg(long, conflicts_with_all = ["checkpoint", "force", "checkpoint_every"])]
    pub no_checkpoint: bool,
    /// Write the checkpoint every N epochs (and after the last, and on Ctrl-C); each write is
    /// made durable (fsync), which costs time on small data.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub checkpoint_every: u64,
    /// Continue from a training checkpoint (with the preprocessing it records).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Append a CSV line per epoch here.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Threads for the kernels (at most the machine's CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// On MPI (`mlp train --ranks N`): end the whole job when a step has not finished after
    /// this many seconds (a rank died or stopped answering).
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub watchdog: u64,
    /// A held-out test set (read with the same CSV options as --data, preprocessed as the
    /// training set): its loss and accuracy after training.
    #[arg(long, value_name = "DIR|FILE.csv")]
    pub test: Option<PathBuf>,
    /// Evaluate the --test set after every epoch too (columns test_loss, test_accuracy).
    #[arg(long, requires = "test")]
    pub test_each_epoch: bool,
}
