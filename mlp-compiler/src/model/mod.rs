//! The validated model: what the front end produces and every later stage reads. A
//! [`Network`] of typed layers with known widths, its [`Loss`], and the scalar [`Formula`]s
//! that define elementwise activations.

pub mod formula;
pub mod network;
pub mod summary;

pub use formula::{Formula, Func};
pub use network::{Activation, CustomActivation, Layer, Loss, Network};
