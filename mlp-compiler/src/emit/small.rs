//! Tiny matrix products emitted fully unrolled: when the fixed dimensions of a product hold at
//! most [`UNROLL_LIMIT`] multiply-adds per sample, every multiply-add is its own statement with
//! constant indices, and only the batch is a loop. A call of the packed GEMM would cost more
//! than the arithmetic. A pass unrolls at most [`crate::limits::UNROLL_BUDGET`] multiply-adds
//! in all, which bounds rustc's time on it; the products past the budget call the GEMM.

use crate::ir::Dim;
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use std::cell::Cell;

/// The most multiply-adds per sample (or, for a weight gradient, accumulators) unrolled.
pub const UNROLL_LIMIT: usize = 256;

/// One operand as stored: its slice, its stored column count, and whether the product reads
/// it transposed.
pub struct Stored {
    /// The slice expression.
    pub data: TokenStream,
    /// Columns of the stored (row-major) matrix.
    pub cols: usize,
    /// Read transposed.
    pub transposed: bool,
}

/// A row or column position: a constant, or the sample loop's variable.
#[derive(Clone, Copy)]
enum Pos {
    At(usize),
    Sample,
}

impl Stored {
    /// Element (r, c) of the operand as the product reads it; a constant index where both
    /// positions are constants.
    fn at(&self, r: Pos, c: Pos) -> TokenStream {
        let data = &self.data;
        let (row, col) = if self.transposed { (c, r) } else { (r, c) };
        let index = match (row, col) {
            (Pos::At(i), Pos::At(j)) => lit(i * self.cols + j),
            (Pos::Sample, Pos::At(j)) => {
                let (cols, j) = (lit(self.cols), lit(j));
                quote!(sample * #cols + #j)
            }
            (Pos::At(i), Pos::Sample) => {
                let (cols, i) = (lit(self.cols), lit(i));
                quote!(#i * #cols + sample)
            }
            (Pos::Sample, Pos::Sample) => {
                unreachable!("a product reads each operand at one sample index")
            }
        };
        quote!(#data[#index])
    }
}

fn lit(n: usize) -> TokenStream {
    let l = Literal::usize_unsuffixed(n);
    quote!(#l)
}

/// Whether `count` multiply-adds may be unrolled, taking them from the pass's `budget` if so.
fn take(count: usize, budget: &Cell<usize>) -> bool {
    let ok = count <= UNROLL_LIMIT && count <= budget.get();
    if ok {
        budget.set(budget.get() - count);
    }
    ok
}

/// Whether a product of shape `(m, n, k)` (`C[m×n]`, `A` of `m×k`), with a bias or not, is
/// unrolled: its shape has a loop form below and the pass's `budget` still holds its
/// multiply-adds, which are then taken from it. [`product`] decides by this alone, and so does
/// the data-flow graph, which walks the passes in the same order.
pub fn unrolls((m, n, k): (Dim, Dim, Dim), bias: bool, budget: &Cell<usize>) -> bool {
    match (m, n, k) {
        (Dim::Batch, Dim::Fixed(n), Dim::Fixed(k)) => take(n * k, budget),
        (Dim::Fixed(m), Dim::Fixed(n), Dim::Batch) if !bias => take(m * n, budget),
        _ => false,
    }
}

/// `C[m×n] = A·B (+ bias)`, with `A` of `m×k`, unrolled, if the shape and the pass's `budget` of unrolled
/// multiply-adds allow ([`unrolls`]): `None` otherwise.
pub fn product(
    (m, n, k): (Dim, Dim, Dim),
    a: &Stored,
    b: &Stored,
    out: &TokenStream,
    bias: Option<&TokenStream>,
    budget: &Cell<usize>,
) -> Option<TokenStream> {
    if !unrolls((m, n, k), bias.is_some(), budget) {
        return None;
    }
    match (m, n, k) {
        // Forward, or an input gradient: a loop over the samples, each row unrolled.
        (Dim::Batch, Dim::Fixed(n), Dim::Fixed(k)) => {
            let cells: Vec<TokenStream> = (0..n)
                .map(|q| {
                    let terms: Vec<TokenStream> = (0..k)
                        .map(|p| {
                            let (x, y) =
                                (a.at(Pos::Sample, Pos::At(p)), b.at(Pos::At(p), Pos::At(q)));
                            quote!(#x * #y)
                        })
                        .collect();
                    let bias = bias.map(|bias| {
                        let q = lit(q);
                        quote!(+ #bias[#q])
                    });
                    let (q, nn) = (lit(q), lit(n));
                    quote!(#out[sample * #nn + #q] = #(#terms)+* #bias;)
                })
                .collect();
            Some(quote! {
                for sample in 0..batch {
                    #(#cells)*
                }
            })
        }
        // A weight gradient: the sum over the samples in unrolled accumulators.
        (Dim::Fixed(m), Dim::Fixed(n), Dim::Batch) => {
            let updates: Vec<TokenStream> = (0..m)
                .flat_map(|r| (0..n).map(move |q| (r, q)))
                .map(|(r, q)| {
                    let (x, y) = (a.at(Pos::At(r), Pos::Sample), b.at(Pos::Sample, Pos::At(q)));
                    let cell = lit(r * n + q);
                    quote!(acc[#cell] += #x * #y;)
                })
                .collect();
            let cells = lit(m * n);
            Some(quote! {
                let mut acc = [0.0f32; #cells];
                for sample in 0..batch {
                    #(#updates)*
                }
                #out[..#cells].copy_from_slice(&acc);
            })
        }
        _ => None,
    }
}
