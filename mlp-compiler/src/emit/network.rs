//! The items generated for one network: the struct, its workspace, and its API (constants,
//! constructors, checkpoints, evaluation, and the three passes, each statement of which comes
//! from an equation of the derivation).

use super::code::{equation, equations};
use super::layout::{Layout, buffer, lse_buffer};
use super::order::PassOrder;
use super::{io, model};
use crate::autodiff::forward::{L, Role};
use crate::ir::Var;
use crate::model::network::Loss;
use crate::pipeline::Plan;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

/// The items of [`network_item`](super::network_item), unchecked: the struct, its workspace, and its API.
pub(super) fn items(c: &Plan, attrs: TokenStream, vis: TokenStream, name: &Ident) -> TokenStream {
    let net = &c.network;
    let nll = net.loss == Loss::Nll;
    let outputs = net.outputs();
    let api = Api {
        name,
        workspace: format_ident!("__{}Workspace", name),
        inputs: net.inputs,
        outputs,
        params: net.params(),
        target: if nll {
            quote!(u32)
        } else {
            quote!([f32; #outputs])
        },
        // Targets as the generated passes read them: labels, or rows flattened.
        target_elem: if nll { quote!(u32) } else { quote!(f32) },
        flatten_targets: if nll {
            quote!(targets)
        } else {
            quote!(targets.as_flattened())
        },
        nll,
    };
    let step = super::fused::run_step(c, &api.workspace, &api.target_elem);
    let passes = passes(c, step.fused);
    let Passes { fields, sizes, .. } = &passes;
    let workspace = &api.workspace;
    let model_impl = model::implementation(name, api.inputs, outputs, nll);
    let consts = constants(c, &api);
    let constructors = constructors(c, &api);
    let checkpoints = io::methods(net);
    let evaluation = evaluation(c, &api);
    let private = private(&api, &passes, &step);
    let functions = functions(c);
    quote! {
        #model_impl

        #attrs
        #vis struct #name {
            #[doc(hidden)] params: ::mlp_runtime::Aligned,
            #[doc(hidden)] grad: ::mlp_runtime::Aligned,
            #[doc(hidden)] workspace: ::std::sync::Mutex<#workspace>,
        }

        #[doc(hidden)]
        #[derive(Default)]
        #[allow(non_camel_case_types)]
        pub struct #workspace {
            #(#fields: ::mlp_runtime::Aligned,)*
        }

        impl #workspace {
            fn resize(&mut self, batch: usize) {
                #(::mlp_runtime::scratch(&mut self.#fields, #sizes);)*
            }
        }

        impl ::std::clone::Clone for #name {
            fn clone(&self) -> Self {
                #name { params: self.params.clone(), grad: self.grad.clone(), workspace: ::std::default::Default::default() }
            }
        }

        impl ::std::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!(#name)).field("spec", &Self::SPEC).field("params", &Self::PARAMS).finish()
            }
        }
        #[allow(clippy::all, unused_parens, unused_variables, unused_doc_comments, non_snake_case)]
        impl #name {
            #consts
            #constructors
            #checkpoints
            #evaluation
            #private
            #functions
        }
    }
}

/// The user's functions the passes call (activations kept as functions, not inlined), each
/// with its derivative.
fn functions(c: &Plan) -> TokenStream {
    let layout = Layout::new(&c.derived.program, &c.lowering);
    let d = &c.derived;
    let exprs = d.forward.iter().chain(d.live_adjoints()).map(|e| &e.rhs);
    let fns = crate::ir::called(exprs).into_iter();
    let items = fns.map(|f| super::loops::function(&layout, &f));
    quote!(#(#items)*)
}

/// What the API's methods are written with.
struct Api<'a> {
    name: &'a Ident,
    workspace: Ident,
    inputs: usize,
    outputs: usize,
    params: usize,
    /// The type of one target: a label, or a row of outputs.
    target: TokenStream,
    /// The element type of the targets as the passes read them.
    target_elem: TokenStream,
    /// The targets as the passes read them.
    flatten_targets: TokenStream,
    nll: bool,
}

/// The generated passes and the workspace fields they use.
struct Passes {
    fields: Vec<Ident>,
    sizes: Vec<TokenStream>,
    forward: Vec<TokenStream>,
    loss: Option<TokenStream>,
    backward: Vec<TokenStream>,
}

/// The forward pass, the loss and the backward pass, each statement from an equation of the
/// derivation, and the workspace buffers they use (no adjoints where the training step is
/// `fused`: it keeps them in locals, and the backward pass is not emitted).
fn passes(c: &Plan, fused: bool) -> Passes {
    let program = &c.derived.program;
    let layout = Layout::new(program, &c.lowering);
    // Buffers: every value the forward pass stores, every adjoint of one, and the loss.
    let buffers: Vec<(Var, bool)> = program
        .tensors
        .iter()
        .filter(|t| matches!(t.role, Role::Value | Role::Loss))
        .flat_map(|t| [(t.var, false), (t.var, true)])
        .filter(|(v, adjoint)| !(*adjoint && (*v == L || fused)))
        .collect();
    let mut fields: Vec<Ident> = buffers.iter().map(|(v, a)| buffer(*v, *a)).collect();
    let mut sizes: Vec<TokenStream> = buffers.iter().map(|(v, _)| layout.len(*v)).collect();

    let order = PassOrder::of(c);
    let kept = order.kept.clone();
    // One kept normalizer per sample and kept tensor.
    fields.extend(kept.iter().map(|v| lse_buffer(*v)));
    sizes.extend(kept.iter().map(|_| quote!(batch)));
    let forward = equations(&order.forward.0, order.forward.1);
    let loss = order.loss.1.map(|e| equation(&order.loss.0, e));
    let backward = equations(&order.backward.0, order.backward.1);
    Passes {
        fields,
        sizes,
        forward,
        loss,
        backward,
    }
}

/// Each layer's initialization, in state_dict order.
fn init(c: &Plan) -> Vec<TokenStream> {
    let layout = Layout::new(&c.derived.program, &c.lowering);
    c.network
        .layers
        .iter()
        .enumerate()
        .map(|(k, layer)| {
            let l = crate::autodiff::forward::layer_number(k);
            let w = layout
                .offset(Var::layered('W', l))
                .expect("every layer has weights");
            let w_len = layer.inputs * layer.units;
            let fan_in = layer.inputs;
            // A layer's bias follows its weights in the state_dict order.
            let units = layer.units;
            let bias = if layer.bias {
                quote!(Some(&mut bias[..#units]))
            } else {
                quote!(None)
            };
            quote! {
                let (weights, bias) = params[#w..].split_at_mut(#w_len);
                init.layer(&mut rng, weights, #bias, #fan_in, #units);
            }
        })
        .collect()
}

/// The constants: sizes, the canonical spec, and the derivation.
fn constants(c: &Plan, api: &Api<'_>) -> TokenStream {
    let Api {
        inputs,
        outputs,
        params,
        ..
    } = api;
    let spec = c.network.spec();
    let derivation = c.derivation.text(None);
    let latex = c.derivation.latex(None);
    let summary = derivation_summary(c, &spec, &derivation);
    quote! {
        /// Width of one input sample.
        pub const INPUTS: usize = #inputs;
        /// Width of the network's output.
        pub const OUTPUTS: usize = #outputs;
        /// Number of trainable parameters.
        pub const PARAMS: usize = #params;
        /// The network in canonical DSL text.
        pub const SPEC: &'static str = #spec;
        #[doc = #summary]
        // Read through a call, so that rustdoc shows the summary above rather than the text.
        pub const DERIVATION: &'static str = ::std::convert::identity(Self::DERIVATION_TEXT);
        #[doc(hidden)]
        const DERIVATION_TEXT: &'static str = #derivation;

        /// How the backward pass was derived, as LaTeX.
        pub fn derivation_latex() -> &'static str {
            #latex
        }
    }
}

/// The doc line of `DERIVATION`: what the text holds, in place of the text itself.
fn derivation_summary(c: &Plan, spec: &str, text: &str) -> String {
    let d = &c.derivation;
    let is_param = |v| d.params.iter().any(|p| p.param == v);
    let adjoints = d.steps.iter().filter(|s| !is_param(s.var)).count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        " How the backward pass of `{spec}` was derived: the forward pass, {} from the loss \
         down, then {}; {} lines of plain text. Print it to read it; \
         [`Self::derivation_latex`] is the same as LaTeX.",
        plural(adjoints, "adjoint", "adjoints"),
        plural(
            d.params.len(),
            "parameter's gradient",
            "parameters' gradients"
        ),
        text.lines().count(),
    )
}

/// The constructors and the parameters' accessors.
fn constructors(c: &Plan, api: &Api<'_>) -> TokenStream {
    let Api { name, params, .. } = api;
    let init = init(c);
    quote! {
        /// A network initialized like PyTorch's `nn.Linear` layers, deterministically from `seed`.
        pub fn new(seed: u64) -> Self {
            Self::with_init(seed, ::mlp_runtime::Init::Default)
        }

        /// A network whose weights are drawn by `init` (biases zero except for
        /// `Init::Default`), deterministically from `seed`.
        pub fn with_init(seed: u64, init: ::mlp_runtime::Init) -> Self {
            let mut params = ::mlp_runtime::Aligned::zeros(#params);
            let mut rng = ::mlp_runtime::Rng::new(seed);
            #(#init)*
            #name { params, grad: ::mlp_runtime::Aligned::zeros(#params), workspace: ::std::default::Default::default() }
        }

        /// The parameters, layer by layer: W (row-major `[out][in]`) then b; the order of a
        /// PyTorch state_dict.
        pub fn params(&self) -> &[f32] {
            &self.params
        }

        /// The parameters, mutable; same layout as [`Self::params`].
        pub fn params_mut(&mut self) -> &mut [f32] {
            &mut self.params
        }
    }
}

/// The methods that evaluate the network: outputs, loss, gradient, a training step.
/// `loss_and_outputs`: an evaluation's loss and outputs from one forward pass.
fn loss_and_outputs(c: &Plan, api: &Api<'_>) -> TokenStream {
    let Api {
        outputs,
        target,
        flatten_targets,
        ..
    } = api;
    let output = buffer(c.derived.program.output, false);
    quote! {
        /// The mean loss over the `xs.len() / INPUTS` samples and their outputs (`OUTPUTS` per
        /// sample, written to `out`), from one forward pass: what an evaluation needs.
        pub fn loss_and_outputs(&self, xs: &[f32], targets: &[#target], out: &mut [f32]) -> f32 {
            let batch = Self::check(xs, targets);
            assert_eq!(out.len(), batch * #outputs, "{} samples need {} outputs, found room for {}", batch, batch * #outputs, out.len());
            let mut ws = self.workspace.lock().unwrap_or_else(|e| e.into_inner());
            Self::run_forward(&self.params, &mut ws, xs, batch);
            out.copy_from_slice(&ws.#output[..batch * #outputs]);
            Self::run_loss(&self.params, &mut ws, #flatten_targets, batch)
        }
    }
}

fn evaluation(c: &Plan, api: &Api<'_>) -> TokenStream {
    let Api {
        inputs,
        outputs,
        params,
        target,
        flatten_targets,
        ..
    } = api;
    let output = buffer(c.derived.program.output, false);
    let loss_and_outputs = loss_and_outputs(c, api);
    quote! {
        /// The network's output for one sample (logits for `nll` and `ce`).
        pub fn forward(&self, x: &[f32; #inputs]) -> [f32; #outputs] {
            let mut ws = self.workspace.lock().unwrap_or_else(|e| e.into_inner());
            Self::run_forward(&self.params, &mut ws, x, 1);
            let mut out = [0.0f32; #outputs];
            out.copy_from_slice(&ws.#output[..#outputs]);
            out
        }

        /// The outputs of a batch: `OUTPUTS` values per sample of `xs` written to `out`.
        pub fn predict(&self, xs: &[f32], out: &mut [f32]) {
            assert!(!xs.is_empty() && xs.len() % #inputs == 0, "the input needs a whole number of samples of {} values each, found {} values", #inputs, xs.len());
            let batch = xs.len() / #inputs;
            assert_eq!(out.len(), batch * #outputs, "{} samples need {} outputs, found room for {}", batch, batch * #outputs, out.len());
            let mut ws = self.workspace.lock().unwrap_or_else(|e| e.into_inner());
            Self::run_forward(&self.params, &mut ws, xs, batch);
            out.copy_from_slice(&ws.#output[..batch * #outputs]);
        }

        /// The mean loss over the `xs.len() / INPUTS` samples.
        pub fn loss(&self, xs: &[f32], targets: &[#target]) -> f32 {
            let batch = Self::check(xs, targets);
            let mut ws = self.workspace.lock().unwrap_or_else(|e| e.into_inner());
            Self::run_forward(&self.params, &mut ws, xs, batch);
            Self::run_loss(&self.params, &mut ws, #flatten_targets, batch)
        }

        #loss_and_outputs

        /// The mean loss, and its gradient written to `grad` (`PARAMS` long, the layout of
        /// [`Self::params`]).
        pub fn gradient(&self, xs: &[f32], targets: &[#target], grad: &mut [f32]) -> f32 {
            assert_eq!(grad.len(), #params, "the gradient needs {} values (PARAMS), found {}", #params, grad.len());
            let batch = Self::check(xs, targets);
            let mut ws = self.workspace.lock().unwrap_or_else(|e| e.into_inner());
            Self::run_step(::mlp_runtime::params::Params::Read(&self.params), &mut ws, xs, #flatten_targets, batch, grad)
        }

        /// One training step: the gradient of the mean loss, then `opt`'s update. Returns the
        /// loss before the update. The update is folded into the backward pass: plain descent
        /// (`θ ← θ − lr·g`) into each weight gradient's product, without storing it; any other
        /// optimizer's step runs on each tensor right after its gradient is finished.
        pub fn train_step(&mut self, xs: &[f32], targets: &[#target], opt: &mut impl ::mlp_runtime::Optimizer) -> f32 {
            let batch = Self::check(xs, targets);
            let ws = self.workspace.get_mut().unwrap_or_else(|e| e.into_inner());
            let targets = #flatten_targets;
            if let Some(lr) = opt.descend() {
                let params = ::mlp_runtime::params::Params::Descend { values: &mut self.params, lr };
                Self::run_step(params, ws, xs, targets, batch, &mut self.grad)
            } else if opt.begin(Self::PARAMS) {
                let params = ::mlp_runtime::params::Params::Update { values: &mut self.params, opt };
                Self::run_step(params, ws, xs, targets, batch, &mut self.grad)
            } else {
                let params = ::mlp_runtime::params::Params::Read(&self.params);
                let loss = Self::run_step(params, ws, xs, targets, batch, &mut self.grad);
                opt.step(&mut self.params, &self.grad);
                loss
            }
        }
    }
}

/// The checks of a batch, the passes and the training step (the backward pass only for a
/// step that runs it).
fn private(api: &Api<'_>, passes: &Passes, step: &super::fused::Step) -> TokenStream {
    let Api {
        inputs,
        outputs,
        target,
        target_elem,
        workspace,
        nll,
        ..
    } = api;
    let Passes {
        forward,
        loss: loss_eq,
        backward,
        ..
    } = passes;
    let backward = (!step.fused).then(|| {
        quote! {
            #[doc(hidden)]
            fn run_backward(mut params: ::mlp_runtime::params::Params<'_>, ws: &mut #workspace, xs: &[f32], targets: &[#target_elem], batch: usize, grad: &mut [f32]) {
                ::mlp_runtime::simd::vectorized(#[inline(always)] |compiled| {
                    #(#backward)*
                })
            }
        }
    });
    let step = &step.item;
    let label_check = if *nll {
        quote! {
            for (k, t) in targets.iter().enumerate() {
                assert!((*t as usize) < #outputs, "label {} of sample {} is out of range: the network has {} classes (0..{})", t, k, #outputs, #outputs);
            }
        }
    } else {
        quote!()
    };
    quote! {
        /// The batch size, after checking every length and label.
        #[doc(hidden)]
        fn check(xs: &[f32], targets: &[#target]) -> usize {
            assert!(!xs.is_empty() && xs.len() % #inputs == 0, "the input needs a whole number of samples of {} values each, found {} values", #inputs, xs.len());
            let batch = xs.len() / #inputs;
            assert_eq!(targets.len(), batch, "{} samples need {} targets, found {}", batch, batch, targets.len());
            #label_check
            batch
        }

        // Each pass is compiled for AVX2 as well and runs so where the CPU has it, so that
        // its elementwise loops vectorize eight lanes wide.
        #[doc(hidden)]
        fn run_forward(params: &[f32], ws: &mut #workspace, xs: &[f32], batch: usize) {
            ws.resize(batch);
            ::mlp_runtime::simd::vectorized(#[inline(always)] |compiled| {
                #(#forward)*
            })
        }

        #[doc(hidden)]
        fn run_loss(params: &[f32], ws: &mut #workspace, targets: &[#target_elem], batch: usize) -> f32 {
            ::mlp_runtime::simd::vectorized(#[inline(always)] |compiled| {
                #loss_eq
            });
            ws.l[0]
        }

        #backward

        #step
    }
}
