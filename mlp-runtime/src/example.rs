//! What [`mlp!`](crate::mlp) generates, shown on a real network: [`Mnist`], with every item a
//! network gets. This module exists only in the documentation (`#[cfg(doc)]`).
//!
//! [`Mnist`] is the struct that
//!
//! ```text
//! mlp_runtime::mlp! {
//!     /// The network from PyTorch's quickstart tutorial, as `mlp!` generates it.
//!     pub struct Mnist = 784 -> relu 512 -> relu 512 -> 10 : nll;
//! }
//! ```
//!
//! expands to, so every method below is the one a network of yours gets, with the same
//! documentation. Only the dimensions and the target type differ from network to network:
//! the constants ([`Mnist::INPUTS`], [`Mnist::OUTPUTS`], [`Mnist::PARAMS`]) are the network's
//! own, and a network trained on class labels (`nll`) takes a `u32` per sample as its targets,
//! any other loss (`mse`, `bce`, `ce`, `l2`) an `[f32; OUTPUTS]` row per sample.
//!
//! The struct keeps its parameters, its gradient and a workspace that grows once to the
//! largest batch it has seen; none of them is public. It is `Clone` (a clone starts with an
//! empty workspace), `Debug` (its spec and parameter count), `Send` and `Sync` (the workspace
//! sits behind a lock, so `&self` methods may run from several threads, one at a time; a
//! clone per thread evaluates in parallel), and
//! implements [`Model`](crate::train::Model), the trait [`train::fit`](crate::train::fit)
//! drives.

crate::mlp! {
    /// The network from PyTorch's quickstart tutorial, as `mlp!` generates it:
    /// `784 -> relu 512 -> relu 512 -> 10 : nll`.
    ///
    /// The doc comments of the struct are the user's own; those of its items are generated.
    pub struct Mnist = 784 -> relu 512 -> relu 512 -> 10 : nll;
}
