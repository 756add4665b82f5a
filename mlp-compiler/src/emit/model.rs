//! The generated implementation of `mlp_runtime::train::Model`: how the training loop drives
//! a network, in terms of its own API.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// `impl Model for #name`, for a network with `outputs` outputs trained on labels (`nll`) or
/// on target values.
pub fn implementation(name: &Ident, inputs: usize, outputs: usize, labels: bool) -> TokenStream {
    // `call` runs with the batch's targets as the network's own API takes them, `t`.
    let with_targets = |call: TokenStream| {
        if labels {
            quote! {
                match targets {
                    ::mlp_runtime::train::TargetsRef::Labels(t) => #call,
                    ::mlp_runtime::train::TargetsRef::Values(_) => panic!("{} trains on class labels, not target values", Self::SPEC),
                }
            }
        } else {
            quote! {
                let values = match targets {
                    ::mlp_runtime::train::TargetsRef::Values(v) => v,
                    ::mlp_runtime::train::TargetsRef::Labels(_) => panic!("{} trains on target values, not class labels", Self::SPEC),
                };
                let (t, rest) = values.as_chunks::<#outputs>();
                assert!(rest.is_empty(), "{} target values are not whole rows of {}", values.len(), #outputs);
                #call
            }
        }
    };
    let step = with_targets(quote! { self.train_step(xs, t, opt) });
    let loss = with_targets(quote! { self.loss(xs, t) });
    let gradient = with_targets(quote! { self.gradient(xs, t, grad) });
    let evaluate = labels.then(evaluate);
    quote! {
        impl ::mlp_runtime::train::Model for #name {
            const INPUTS: usize = #inputs;
            const OUTPUTS: usize = #outputs;
            const LABELS: bool = #labels;
            fn step(&mut self, xs: &[f32], targets: ::mlp_runtime::train::TargetsRef<'_>, opt: &mut impl ::mlp_runtime::Optimizer) -> f32 {
                #step
            }
            fn batch_loss(&self, xs: &[f32], targets: ::mlp_runtime::train::TargetsRef<'_>) -> f32 {
                #loss
            }
            fn gradient(&self, xs: &[f32], targets: ::mlp_runtime::train::TargetsRef<'_>, grad: &mut [f32]) -> f32 {
                #gradient
            }
            fn outputs(&self, xs: &[f32], out: &mut [f32]) {
                self.predict(xs, out)
            }
            #evaluate
            fn parameters(&self) -> &[f32] {
                &self.params
            }
            fn parameters_mut(&mut self) -> &mut [f32] {
                &mut self.params
            }
            fn checkpoint(&self, path: &::std::path::Path, training: &::mlp_runtime::checkpoint::Training, preprocessing: &::mlp_runtime::dataset::Preprocessing) -> ::std::result::Result<(), ::mlp_runtime::checkpoint::CheckpointError> {
                self.save_with(path, preprocessing, ::std::option::Option::Some(training))
            }
            fn spec() -> &'static str {
                Self::SPEC
            }
            fn create(seed: u64, init: ::mlp_runtime::Init) -> Self {
                Self::with_init(seed, init)
            }
            fn open(path: &::std::path::Path) -> ::std::result::Result<(Self, ::mlp_runtime::dataset::Preprocessing), ::mlp_runtime::checkpoint::CheckpointError> {
                Self::load_with_preprocessing(path)
            }
            fn reopen(path: &::std::path::Path, opt: &mut impl ::mlp_runtime::Optimizer) -> ::std::result::Result<(Self, ::mlp_runtime::checkpoint::Training, ::mlp_runtime::dataset::Preprocessing), ::mlp_runtime::checkpoint::CheckpointError> {
                Self::resume_training(path, opt)
            }
        }
    }
}

/// The same for the stand-in of a network with errors.
pub fn stand_in(name: &Ident, message: &str) -> TokenStream {
    quote! {
        #[allow(unused_variables)]
        impl ::mlp_runtime::train::Model for #name {
            const INPUTS: usize = 0;
            const OUTPUTS: usize = 0;
            const LABELS: bool = true;
            fn step(&mut self, xs: &[f32], targets: ::mlp_runtime::train::TargetsRef<'_>, opt: &mut impl ::mlp_runtime::Optimizer) -> f32 { unreachable!(#message) }
            fn batch_loss(&self, xs: &[f32], targets: ::mlp_runtime::train::TargetsRef<'_>) -> f32 { unreachable!(#message) }
            fn gradient(&self, xs: &[f32], targets: ::mlp_runtime::train::TargetsRef<'_>, grad: &mut [f32]) -> f32 { unreachable!(#message) }
            fn outputs(&self, xs: &[f32], out: &mut [f32]) { unreachable!(#message) }
            fn parameters(&self) -> &[f32] { unreachable!(#message) }
            fn parameters_mut(&mut self) -> &mut [f32] { unreachable!(#message) }
            fn checkpoint(&self, path: &::std::path::Path, training: &::mlp_runtime::checkpoint::Training, preprocessing: &::mlp_runtime::dataset::Preprocessing) -> ::std::result::Result<(), ::mlp_runtime::checkpoint::CheckpointError> { unreachable!(#message) }
            fn spec() -> &'static str { "" }
            fn create(seed: u64, init: ::mlp_runtime::Init) -> Self { unreachable!(#message) }
            fn open(path: &::std::path::Path) -> ::std::result::Result<(Self, ::mlp_runtime::dataset::Preprocessing), ::mlp_runtime::checkpoint::CheckpointError> { unreachable!(#message) }
            fn reopen(path: &::std::path::Path, opt: &mut impl ::mlp_runtime::Optimizer) -> ::std::result::Result<(Self, ::mlp_runtime::checkpoint::Training, ::mlp_runtime::dataset::Preprocessing), ::mlp_runtime::checkpoint::CheckpointError> { unreachable!(#message) }
        }
    }
}

/// A classifier's `loss_and_outputs`: an evaluation's loss and outputs from one forward pass.
fn evaluate() -> TokenStream {
    quote! {
        fn loss_and_outputs(&self, xs: &[f32], targets: ::mlp_runtime::train::TargetsRef<'_>, out: &mut [f32]) -> f32 {
            match targets {
                ::mlp_runtime::train::TargetsRef::Labels(t) => self.loss_and_outputs(xs, t, out),
                ::mlp_runtime::train::TargetsRef::Values(_) => panic!("{} trains on class labels, not target values", Self::SPEC),
            }
        }
    }
}
