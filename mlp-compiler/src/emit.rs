//! Emission: a validated network → the Rust items the `mlp!` macro expands to.
//!
//! The caller supplies the struct's attributes, visibility and name as tokens, so that the
//! macro can pass the user's own tokens (and their spans) through untouched.

use crate::network::Network;
use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// The items for one network: the struct and its constants.
pub fn network_item(
    net: &Network,
    attrs: TokenStream,
    vis: TokenStream,
    name: &Ident,
) -> TokenStream {
    let inputs = net.inputs;
    let outputs = net.outputs();
    let params = net.params();
    let spec = net.spec();
    quote! {
        #attrs
        #vis struct #name;

        impl #name {
            /// Width of one input sample.
            pub const INPUTS: usize = #inputs;
            /// Width of the network's output.
            pub const OUTPUTS: usize = #outputs;
            /// Number of trainable parameters.
            pub const PARAMS: usize = #params;
            /// The network in canonical DSL text.
            pub const SPEC: &'static str = #spec;
        }
    }
}

/// A harmless stand-in for a network that failed to validate: the same struct and constants,
/// so that code using them compiles and the user sees only the error that matters.
pub fn stub_item(attrs: TokenStream, vis: TokenStream, name: &Ident) -> TokenStream {
    quote! {
        #attrs
        #vis struct #name;

        impl #name {
            /// Stand-in: the network had errors.
            pub const INPUTS: usize = 0;
            /// Stand-in: the network had errors.
            pub const OUTPUTS: usize = 0;
            /// Stand-in: the network had errors.
            pub const PARAMS: usize = 0;
            /// Stand-in: the network had errors.
            pub const SPEC: &'static str = "";
        }
    }
}
