//! The kernels' linear algebra: matrix products and what surrounds them.
//!
//! [`gemm`] is the entry point: it checks the operands, chooses a path and splits the product
//! over the kernel team ([`crate::threads`]). Forward products (activations times a weight
//! matrix as stored) run on the dot-product tiles of `dot`, which read both operands in place
//! (rows of A that do not start a cache line copied first); every other product is blocked
//! around the `kernel` microkernel, which reads contiguous rows or columns of A and rows of B
//! in place, and `pack` packs the rest (into buffers `packs` keeps); a product of a few rows
//! runs unpacked (`small`). Finished blocks go through the caller's
//! epilogue (`epilogue`) while they are in cache. `mat` holds the views all of them share;
//! [`params`] is how a backward pass folds plain descent into its weight-gradient products;
//! [`profile`] adds up where a step's products spend their time.

mod dot;
mod epilogue;
pub mod gemm;
mod kernel;
mod mat;
mod pack;
mod packs;
pub mod params;
pub mod profile;
mod small;
