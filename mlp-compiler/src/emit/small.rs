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

impl Stored {
    /// The operand's rows, one per sample, as arrays (`as_chunks`): stored matrices hold the
    /// samples in their rows, since only their row count may be the batch.
    fn sample_rows(&self) -> TokenStream {
        let (data, cols) = (&self.data, lit(self.cols));
        quote!(#data.as_chunks::<#cols>().0)
    }
}

/// The index, in its storage, of element (r, c) of an operand stored with `cols` columns and
/// read transposed or not.
fn stored_at((cols, transposed): (usize, bool), r: usize, c: usize) -> usize {
    let (row, col) = if transposed { (c, r) } else { (r, c) };
    row * cols + col
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

/// `C[m×n] = A·B (+ bias)`, with `A` of `m×k`, unrolled, if the shape and the pass's `budget`
/// of unrolled multiply-adds allow ([`unrolls`]): `None` otherwise. The samples' rows of each
/// operand are taken as arrays, one check per row, so that no value's index is checked.
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
        (Dim::Batch, Dim::Fixed(n), Dim::Fixed(k)) => {
            Some(rows_times_weights(n, k, a, b, out, bias))
        }
        (Dim::Fixed(m), Dim::Fixed(n), Dim::Batch) => Some(sum_over_samples(m, n, a, b, out)),
        _ => None,
    }
}

/// A forward product or an input gradient, `C = A·B (+ bias)` with A's rows the samples: a
/// loop over the samples, each output row unrolled, the weights and the bias bound once. Each
/// row is built in a local array and stored whole, so that the elementwise loop that reads it
/// next as vectors is forwarded from one store (a load that spans several smaller stores waits
/// until they reach the cache).
fn rows_times_weights(
    n: usize,
    k: usize,
    a: &Stored,
    b: &Stored,
    out: &TokenStream,
    bias: Option<&TokenStream>,
) -> TokenStream {
    // A stored matrix's columns are fixed (`unrolled` in product.rs), so the batch is A's
    // rows as stored: it is not read transposed.
    debug_assert!(!a.transposed, "A's rows are the samples");
    let cells = row_cells(n, k, (b.cols, b.transposed), bias.is_some());
    let (weights, xs, nn) = (&b.data, a.sample_rows(), lit(n));
    let bias = bias.map(|data| quote!(let bias = &#data;));
    quote! {
        let weights = &#weights;
        #bias
        let xs_rows = #xs;
        let (out_rows, _) = #out.as_chunks_mut::<#nn>();
        for (out, x) in out_rows[..batch].iter_mut().zip(&xs_rows[..batch]) {
            let mut row = [0.0f32; #nn];
            #(#cells)*
            *out = row;
        }
    }
}

/// One sample's row of `C = A·B (+ bias)`, unrolled: `row[q] = Σₚ x[p]·weights[…] + bias[q]`
/// for each of its `n` columns, with `x` the sample's row of A (`k` long) and `weights` B.
/// B is given as stored: `(columns, transposed)`.
pub(super) fn row_cells(n: usize, k: usize, stored: (usize, bool), bias: bool) -> Vec<TokenStream> {
    (0..n)
        .map(|q| {
            let terms: Vec<TokenStream> = (0..k)
                .map(|p| {
                    let (p, w) = (lit(p), lit(stored_at(stored, p, q)));
                    quote!(x[#p] * weights[#w])
                })
                .collect();
            let sum = pairwise(&terms);
            let q = lit(q);
            let bias = bias.then(|| quote!(+ bias[#q]));
            quote!(row[#q] = #sum #bias;)
        })
        .collect()
}

/// The sum of `terms` added pairwise, `(t₀ + t₁) + (t₂ + t₃)`: a chain of ⌈log₂ k⌉ additions
/// rather than k − 1, which is the latency of a tiny network's step.
fn pairwise(terms: &[TokenStream]) -> TokenStream {
    match terms {
        [] => quote!(0.0f32),
        [one] => one.clone(),
        _ => {
            // A half of one term needs no parentheses.
            let half = |part: &[TokenStream]| {
                let sum = pairwise(part);
                if part.len() > 1 { quote!((#sum)) } else { sum }
            };
            let (left, right) = terms.split_at(terms.len().div_ceil(2));
            let (left, right) = (half(left), half(right));
            quote!(#left + #right)
        }
    }
}

/// One sample's terms of a weight gradient `C = Aᵀ·B` (`m×n`), unrolled:
/// `acc[r·n + q] += x[r]·y[q]`, with `x` and `y` the sample's rows of A and B.
pub(super) fn sample_updates(m: usize, n: usize) -> Vec<TokenStream> {
    (0..m)
        .flat_map(|r| (0..n).map(move |q| (r, q)))
        .map(|(r, q)| {
            let (cell, r, q) = (lit(r * n + q), lit(r), lit(q));
            quote!(acc[#cell] += x[#r] * y[#q];)
        })
        .collect()
}

/// A weight gradient `C = Aᵀ·B` summed over the samples (A read transposed, both with the
/// samples in their rows): unrolled accumulators, written to `out` at the end.
fn sum_over_samples(m: usize, n: usize, a: &Stored, b: &Stored, out: &TokenStream) -> TokenStream {
    // As in `rows_times_weights`: the batch is each operand's rows as stored.
    debug_assert!(
        a.transposed && !b.transposed,
        "both operands' rows are the samples"
    );
    let updates = sample_updates(m, n);
    let (cells, a_rows, b_rows) = (lit(m * n), a.sample_rows(), b.sample_rows());
    quote! {
        let mut acc = [0.0f32; #cells];
        let a_rows = #a_rows;
        let b_rows = #b_rows;
        for (x, y) in a_rows[..batch].iter().zip(&b_rows[..batch]) {
            #(#updates)*
        }
        #out[..#cells].copy_from_slice(&acc);
    }
}
