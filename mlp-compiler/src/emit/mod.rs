//! Emission: a compiled network → the Rust items the `mlp!` macro expands to (the API that
//! README.md documents). Every statement of the forward and backward passes comes from an
//! equation of the derivation ([`code::equation`]); [`network`](self) only assembles them.
//!
//! [`graph::graph`] draws the same passes as Graphviz DOT, each edge labelled with the kernel
//! that computes it here.
//!
//! The caller supplies the struct's attributes, visibility and name as tokens, so that the
//! macro can pass the user's own tokens (and their spans) through untouched.

pub mod code;
mod fused;
pub mod graph;
pub mod io;
pub mod layout;
pub mod loops;
pub mod model;
mod network;
mod order;
pub mod product;
mod rows;
pub mod small;
pub mod update;

use crate::limits::MAX_EMITTED_TOKENS;
use crate::pipeline::Plan;
use crate::pipeline::report::LimitError;
use proc_macro2::{Ident, TokenStream, TokenTree};
use quote::quote;

/// The items for one network: the struct, its workspace and its API; an error if they would
/// hold more than [`MAX_EMITTED_TOKENS`] tokens (see [`token_count`]).
pub fn network_item(
    c: &Plan,
    attrs: TokenStream,
    vis: TokenStream,
    name: &Ident,
) -> Result<TokenStream, LimitError> {
    // The comments name each equation as the derivation prints it, constants included.
    let written = &c.derivation.written;
    let items = crate::ir::notation::with_written(written, || network::items(c, attrs, vis, name));
    within(items, MAX_EMITTED_TOKENS)
}

/// `tokens`, if they hold at most `max` tokens (see [`token_count`]).
pub fn within(tokens: TokenStream, max: usize) -> Result<TokenStream, LimitError> {
    let count = token_count(&tokens);
    if count > max {
        return Err(LimitError::emitted(count, max));
    }
    Ok(tokens)
}

/// The size of generated code: its tokens, with a string literal counted as one token per 16
/// bytes (the derivation's trace is two of them).
pub fn token_count(tokens: &TokenStream) -> usize {
    tokens
        .clone()
        .into_iter()
        .map(|t| match t {
            TokenTree::Group(g) => 1 + token_count(&g.stream()),
            TokenTree::Literal(l) => 1 + l.to_string().len() / 16,
            TokenTree::Ident(_) | TokenTree::Punct(_) => 1,
        })
        .sum()
}

/// A harmless stand-in for a network that failed to validate: the same struct and constants,
/// so that code using them compiles and the user sees only the error that matters.
pub fn stub_item(attrs: TokenStream, vis: TokenStream, name: &Ident) -> TokenStream {
    let stand_in = "stand-in for a network with errors; the compile error above says why";
    let checkpoints = io::stand_in(stand_in);
    let model_impl = model::stand_in(name, stand_in);
    quote! {
        #model_impl

        #attrs
        #vis struct #name;

        #[allow(unused_variables, clippy::all)]
        impl #name {
            /// Stand-in: the network had errors.
            pub const INPUTS: usize = 0;
            /// Stand-in: the network had errors.
            pub const OUTPUTS: usize = 0;
            /// Stand-in: the network had errors.
            pub const PARAMS: usize = 0;
            /// Stand-in: the network had errors.
            pub const SPEC: &'static str = "";
            /// Stand-in: the network had errors.
            pub const DERIVATION: &'static str = "";
            /// Stand-in: the network had errors.
            pub fn derivation_latex() -> &'static str { "" }
            /// Stand-in: the network had errors.
            pub fn new(seed: u64) -> Self { unreachable!(#stand_in) }
            /// Stand-in: the network had errors.
            pub fn with_init(seed: u64, init: ::mlp_runtime::Init) -> Self { unreachable!(#stand_in) }
            /// Stand-in: the network had errors.
            pub fn params(&self) -> &[f32] { unreachable!(#stand_in) }
            /// Stand-in: the network had errors.
            pub fn params_mut(&mut self) -> &mut [f32] { unreachable!(#stand_in) }
            /// Stand-in: the network had errors.
            pub fn forward<X>(&self, x: &X) -> ::std::vec::Vec<f32> { unreachable!(#stand_in) }
            /// Stand-in: the network had errors.
            pub fn predict(&self, xs: &[f32], out: &mut [f32]) { unreachable!(#stand_in) }
            /// Stand-in: the network had errors.
            pub fn loss<T>(&self, xs: &[f32], targets: &[T]) -> f32 { unreachable!(#stand_in) }
            /// Stand-in: the network had errors.
            pub fn loss_and_outputs<T>(&self, xs: &[f32], targets: &[T], out: &mut [f32]) -> f32 { unreachable!(#stand_in) }
            /// Stand-in: the network had errors.
            pub fn gradient<T>(&self, xs: &[f32], targets: &[T], grad: &mut [f32]) -> f32 { unreachable!(#stand_in) }
            /// Stand-in: the network had errors.
            pub fn train_step<T, O: ::mlp_runtime::Optimizer>(&mut self, xs: &[f32], targets: &[T], opt: &mut O) -> f32 { unreachable!(#stand_in) }
            #checkpoints
        }
    }
}
