//! The runtime of mlp: what generated trainers and their users call. Depend on this crate
//! alone; it re-exports the [`mlp!`] macro.
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
#![warn(missing_docs)]
// Every `unsafe` block names the invariant it relies on.
#![warn(clippy::undocumented_unsafe_blocks)]

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

// The paths generated code and users call, kept short.
pub use linalg::{gemm, params, profile};
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
pub fn scratch(buffer: &mut Aligned, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len);
    }
    &mut buffer[..len]
}
