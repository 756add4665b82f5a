//! Equations → Rust statements. A matrix product becomes a call of the runtime's GEMM with
//! the transposes [`crate::lower`] found (see [`super::product`]); a column sum over the batch
//! a loop over rows; every other equation is compiled from its index expression into loops
//! ([`super::loops`]).

use super::layout::{Layout, slice};
use super::loops::loops;
use super::product::{Product, fusable, gemm};
use super::update::finish;
use crate::ir::{Equation, Ref};
use crate::lower::Kernel;
use proc_macro2::TokenStream;
use quote::quote;

/// The statements that compute `eqs`, in order. A matrix product followed by an elementwise
/// equation that reads it (an activation, an activation's derivative mask) become one product
/// whose epilogue computes the second equation on each finished stretch of the first.
pub fn equations<'e>(
    layout: &Layout<'_>,
    eqs: impl IntoIterator<Item = &'e Equation>,
) -> Vec<TokenStream> {
    statements(layout, eqs)
        .into_iter()
        .map(|(eq, then)| statement(layout, eq, then))
        .collect()
}

/// The statements of a pass over `eqs`, in order: each equation, with the elementwise
/// equation that follows it in its product's epilogue, if one does ([`fusable`]).
pub fn statements<'e>(
    layout: &Layout<'_>,
    eqs: impl IntoIterator<Item = &'e Equation>,
) -> Vec<(&'e Equation, Option<&'e Equation>)> {
    let eqs: Vec<&Equation> = eqs.into_iter().collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < eqs.len() {
        let next = eqs
            .get(at + 1)
            .copied()
            .filter(|n| fusable(layout, eqs[at], n));
        out.push((eqs[at], next));
        at += if next.is_some() { 2 } else { 1 };
    }
    out
}

/// The statements that compute `eq`.
pub fn equation(layout: &Layout<'_>, eq: &Equation) -> TokenStream {
    statement(layout, eq, None)
}

/// The statements that compute `eq`, and `then` in its epilogue (a checked `fusable` pair).
fn statement(layout: &Layout<'_>, eq: &Equation, then: Option<&Equation>) -> TokenStream {
    let lowered = layout.lowering.of(eq);
    let comment = format!(" {eq}   [{}]", lowered.matrix);
    let body = match &lowered.kernel {
        Kernel::Gemm {
            a,
            b,
            contracted,
            bias,
        } => {
            let product = Product {
                eq,
                a,
                b,
                k: *contracted,
                bias: bias.as_ref(),
            };
            match (gemm(layout, &product, then), then) {
                (Ok(code), Some(then)) => {
                    let second = format!(
                        " then, in the product's epilogue: {then}   [{}]",
                        layout.lowering.of(then).matrix
                    );
                    return quote! {
                        #[doc = #comment]
                        #[doc = #second]
                        { #code }
                    };
                }
                // A weight gradient's product updates the weights itself (`gemm_descend`).
                (Ok(code), None) => {
                    let finish = bias.as_ref().and_then(|_| finish(layout, eq));
                    return quote! {
                        #[doc = #comment]
                        { #code #finish }
                    };
                }
                // Unrolled: no epilogue, so `then` follows as its own statement.
                (Err(code), then) => {
                    let rest = then.map(|t| statement(layout, t, None));
                    let finish = finish(layout, eq);
                    return quote! {
                        #[doc = #comment]
                        { #code #finish }
                        #rest
                    };
                }
            }
        }
        Kernel::BatchSum { input } => batch_sum(layout, eq, input),
        _ => loops(layout, eq),
    };
    let finish = finish(layout, eq);
    quote! {
        #[doc = #comment]
        { #body #finish }
    }
}

fn batch_sum(layout: &Layout<'_>, eq: &Equation, input: &Ref) -> TokenStream {
    let out = slice(layout, eq.lhs.var, eq.lhs.adjoint, true);
    let src = slice(layout, input.var, input.adjoint, false);
    let cols = layout.dim(layout.shape(eq.lhs.var)[0]);
    // The batch's rows alone: a workspace buffer keeps the length of the largest batch it
    // held, so a smaller batch after it (an epoch's last) would add stale rows.
    let len = layout.len(input.var);
    quote! {
        let out = &mut #out;
        out.fill(0.0);
        for row in #src[..#len].chunks_exact(#cols) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += *v;
            }
        }
    }
}
