//! The runtime of mlp: what generated trainers and their users call. Depend on this crate
//! alone; it re-exports the [`mlp!`] macro, which compiles one line of network DSL into a
//! struct with every dimension a constant and a forward pass, loss and backward pass derived
//! and specialized for that network.
//!
//! ```
//! use mlp_runtime::{Optimizer, Sgd};
//!
//! mlp_runtime::mlp! {
//!     /// The network from PyTorch's quickstart tutorial.
//!     pub struct Mnist = 784 -> relu 512 -> relu 512 -> 10 : nll;
//! }
//! assert_eq!(Mnist::INPUTS, 784);
//! assert_eq!(Mnist::PARAMS, 669_706);
//! assert_eq!(Mnist::SPEC, "784 -> relu 512 -> relu 512 -> 10 : nll");
//!
//! let mut net = Mnist::new(42);
//! let xs = vec![0.5f32; 2 * 784];
//! let labels = [3u32, 7];
//! let mut sgd = Sgd::new(0.1);
//! let before = net.loss(&xs, &labels);
//! for _ in 0..5 {
//!     net.train_step(&xs, &labels, &mut sgd);
//! }
//! assert!(net.loss(&xs, &labels) < before);
//! ```
//!
//! The language (activations, losses, `act` formulas of your own, `no_bias`) is described in
//! the repository's `grammar/README.md`; a mistake is a compile error under the offending
//! token.
//!
//! # What a network gets
//!
//! Every item below is generated into the network's own `impl`, documented; [`example::Mnist`]
//! is the struct of the example above, rendered, with each of them. `Target` is `u32` (a class
//! label) for `nll` and `[f32; OUTPUTS]` for any other loss; `xs` holds `INPUTS` values per
//! sample, row by row, and the batch is `xs.len() / INPUTS` samples.
//!
//! | item | what it is |
//! | --- | --- |
//! | [`INPUTS`], [`OUTPUTS`], [`PARAMS`] | the width of a sample, of an output, and the number of parameters |
//! | [`SPEC`] | the network in canonical DSL text |
//! | [`DERIVATION`], [`derivation_latex()`] | how the backward pass was derived, as text or LaTeX (what `mlp explain` prints) |
//! | [`STATE_DICT`] | the parameters' PyTorch `nn.Sequential` names and shapes |
//! | [`new(seed)`], [`with_init(seed, init)`] | a network initialized like `nn.Linear`, or by an [`Init`], from a seed |
//! | [`params()`], [`params_mut()`] | the parameters, layer by layer, in state_dict order |
//! | [`forward(&x)`] | one sample's output, `[f32; INPUTS]` → `[f32; OUTPUTS]` |
//! | [`predict(xs, out)`] | a batch's outputs (logits for `nll` and `ce`) |
//! | [`loss(xs, targets)`], [`loss_and_outputs(xs, targets, out)`] | a batch's mean loss, and its outputs from the same pass |
//! | [`gradient(xs, targets, grad)`] | the mean loss and its gradient, parameters unchanged |
//! | [`train_step(xs, targets, opt)`] | one step of an [`Optimizer`]; returns the loss before it |
//! | [`save(path)`], [`load(path)`] | safetensors checkpoints PyTorch reads and writes |
//! | [`save_training(path, opt, epoch)`], [`resume(path, opt)`] | the same with the optimizer's state, to continue exactly |
//! | [`save_with`], [`load_with_preprocessing`], [`resume_with_preprocessing`], [`resume_training`] | the general forms: the inputs' preprocessing and the whole training state |
//! | `Clone`, `Debug`, [`train::Model`] | what [`train::fit`] needs |
//!
//! [`INPUTS`]: example::Mnist::INPUTS
//! [`OUTPUTS`]: example::Mnist::OUTPUTS
//! [`PARAMS`]: example::Mnist::PARAMS
//! [`SPEC`]: example::Mnist::SPEC
//! [`DERIVATION`]: example::Mnist::DERIVATION
//! [`derivation_latex()`]: example::Mnist::derivation_latex
//! [`STATE_DICT`]: example::Mnist::STATE_DICT
//! [`new(seed)`]: example::Mnist::new
//! [`with_init(seed, init)`]: example::Mnist::with_init
//! [`params()`]: example::Mnist::params
//! [`params_mut()`]: example::Mnist::params_mut
//! [`forward(&x)`]: example::Mnist::forward
//! [`predict(xs, out)`]: example::Mnist::predict
//! [`loss(xs, targets)`]: example::Mnist::loss
//! [`loss_and_outputs(xs, targets, out)`]: example::Mnist::loss_and_outputs
//! [`gradient(xs, targets, grad)`]: example::Mnist::gradient
//! [`train_step(xs, targets, opt)`]: example::Mnist::train_step
//! [`save(path)`]: example::Mnist::save
//! [`load(path)`]: example::Mnist::load
//! [`save_training(path, opt, epoch)`]: example::Mnist::save_training
//! [`resume(path, opt)`]: example::Mnist::resume
//! [`save_with`]: example::Mnist::save_with
//! [`load_with_preprocessing`]: example::Mnist::load_with_preprocessing
//! [`resume_with_preprocessing`]: example::Mnist::resume_with_preprocessing
//! [`resume_training`]: example::Mnist::resume_training
//!
//! # The training loop
//!
//! [`train_step`](example::Mnist::train_step) is a whole step: a loop of your own over
//! batches, as above, is a training loop. [`train::fit`] is the one written for you: epochs
//! in a seeded order, a validation set's loss and accuracy each epoch, learning-rate
//! [`Schedule`](train::Schedule)s, early stopping, a progress bar, a CSV log, a checkpoint
//! per epoch, and (with `ctrl_c: true`) Ctrl-C ending the run after a step with a checkpoint.
//! A run that diverges stops with [`TrainError::Diverged`](train::TrainError::Diverged). Data
//! comes from [`dataset::read_csv`], [`data`] (IDX, as MNIST ships) or memory:
//!
//! ```
//! use mlp_runtime::dataset::{Dataset, Targets};
//! use mlp_runtime::train::{self, Config, Stop};
//! use mlp_runtime::Adam;
//!
//! mlp_runtime::mlp! {
//!     /// Exclusive or, as a classifier.
//!     pub struct Xor = 2 -> tanh 8 -> 2 : nll;
//! }
//! let data = Dataset {
//!     inputs: vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
//!     width: 2,
//!     targets: Targets::Labels(vec![0, 1, 1, 0]),
//! };
//! let mut net = Xor::new(1);
//! let mut opt = Adam::new(0.05);
//! let config = Config { epochs: 300, batch: 4, progress: false, ..Config::default() };
//! let (reports, stop) = train::fit(&mut net, &mut opt, &data, Some(&data), &config, 0, |_| {})?;
//! assert_eq!(stop, Stop::Finished);
//! let last = reports.last().and_then(|r| r.validation.as_ref()).and_then(|v| v.accuracy);
//! assert_eq!(last, Some(1.0));
//! # Ok::<(), mlp_runtime::train::TrainError>(())
//! ```
//!
//! # Checkpoints
//!
//! A checkpoint is a [safetensors](https://github.com/huggingface/safetensors) file with the
//! names PyTorch's `nn.Sequential` gives the parameters (`0.weight`, `0.bias`, `2.weight`, …),
//! written atomically: `safetensors.torch.load_file` then `load_state_dict` reads it in
//! PyTorch, and `load` reads PyTorch's back (float64, float16 and bfloat16 converted). Its
//! metadata names the network (`mlp.spec`: loading it as another network is an error naming
//! both) and, if given, the inputs' standardization. `save_training` adds the optimizer's
//! state and the epoch, and `resume` continues a run exactly where it stopped:
//!
//! ```
//! use mlp_runtime::{Adam, Optimizer};
//!
//! mlp_runtime::mlp! {
//!     /// A small regression.
//!     pub struct Fit = 3 -> relu 16 -> 1 : mse;
//! }
//! let dir = std::env::temp_dir().join(format!("mlp-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let (xs, ys) = (vec![0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6], [[1.0f32], [0.0]]);
//!
//! let mut net = Fit::new(7);
//! let mut opt = Adam::new(1e-3);
//! net.train_step(&xs, &ys, &mut opt);
//! net.save(dir.join("fit.safetensors"))?;                      // parameters alone
//! net.save_training(dir.join("run.safetensors"), &opt, 1)?;    // and the optimizer's state
//!
//! let loaded = Fit::load(dir.join("fit.safetensors"))?;
//! assert_eq!(loaded.params(), net.params());
//! let mut again = Adam::new(1e-3);
//! let (mut resumed, epoch) = Fit::resume(dir.join("run.safetensors"), &mut again)?;
//! assert_eq!(epoch, 1);
//! // The next step is the one the first run would have taken.
//! assert_eq!(resumed.train_step(&xs, &ys, &mut again), net.train_step(&xs, &ys, &mut opt));
//! assert_eq!(resumed.params(), net.params());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The command line
//!
//! The `mlp` binary (crate `mlp-cli`) does the same without writing Rust:
//!
//! | command | what it does |
//! | --- | --- |
//! | `mlp check SPEC` | validates a spec and derives its gradients (refusing whatever `mlp!` would), then prints its layers, shapes, parameters and FLOPs per sample |
//! | `mlp expand SPEC [--name NAME]` | prints the Rust `mlp!` generates for it |
//! | `mlp explain SPEC [--param W2] [--steps] [--latex] [--html FILE]` | prints the derivation ([`DERIVATION`]): each Jacobian, the chain rule, the rules that simplified it, its matrix form and kernel |
//! | `mlp graph SPEC` | the forward and backward data flow as Graphviz DOT |
//! | `mlp train SPEC --data DIR\|FILE.csv [options]` | compiles a specialized trainer for the spec (built once and cached) and trains it, writing checkpoints; `mlp train SPEC -- --help` lists its options |
//! | `mlp eval [SPEC] --checkpoint FILE --data DIR\|FILE.csv` | a checkpoint's loss and accuracy on a data set (the spec read from the checkpoint) |
//! | `mlp predict [SPEC] --checkpoint FILE --input FILE.csv` | a checkpoint's outputs, for a classifier the class and its probabilities |
//!
//! A trainer of your own gets the same command line as `mlp train`'s from
//! `mlp_runtime::driver::main::<Net>()` (feature `driver`).
#![warn(missing_docs)]
// Every `unsafe` block names the invariant it relies on.
#![warn(clippy::undocumented_unsafe_blocks)]

// What `mlp!` generates, shown in the documentation on a real network; the macro's
// `::mlp_runtime::` paths then name this crate.
#[cfg(doc)]
extern crate self as mlp_runtime;
#[cfg(doc)]
pub mod example;

// The kernels: shared leaves, instruction sets, the thread team, and linear algebra.
mod aligned;
mod linalg;
pub mod scalar;
pub mod simd;
pub mod threads;
// The trainer: initial values, optimizers, and the training loop with its data, checkpoints
// and command line.
pub mod init;
pub mod optim;
pub mod train;

// The paths generated code and users call, kept short; what only generated code calls is
// hidden from the documentation.
#[doc(hidden)]
pub use linalg::params;
pub use linalg::{gemm, profile};
#[cfg(feature = "mpi")]
pub use train::distributed;
#[cfg(feature = "driver")]
pub use train::driver;
pub use train::{checkpoint, data, dataset, options};

pub use aligned::Aligned;
pub use init::{Init, Rng};
pub use mlp_macros::mlp;
pub use optim::{Adam, Optimizer, RmsProp, Sgd};
pub use threads::set_num_threads;

/// The README's Rust snippets, compiled (and run, unless they read files) as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// Grows `buffer` to at least `len` values (never shrinks it) and returns its first `len`:
/// how generated code keeps its workspace without allocating on every step.
#[doc(hidden)]
#[inline]
pub fn scratch(buffer: &mut Aligned, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len);
    }
    &mut buffer[..len]
}
