//! The runtime of mlp: what generated trainers and their users call. Depend on this crate
//! alone; it re-exports the [`mlp!`] macro.
//!
//! ```
//! mlp_runtime::mlp! {
//!     /// The network from PyTorch's quickstart tutorial.
//!     pub struct Mnist = 784 -> relu 512 -> relu 512 -> 10 : nll;
//! }
//! assert_eq!(Mnist::INPUTS, 784);
//! assert_eq!(Mnist::OUTPUTS, 10);
//! assert_eq!(Mnist::PARAMS, 669_706);
//! assert_eq!(Mnist::SPEC, "784 -> relu 512 -> relu 512 -> 10 : nll");
//! ```
#![warn(missing_docs)]

pub use mlp_macros::mlp;
