//! The mlp compiler: one line of network DSL in; a validated network, its backward pass
//! derived symbolically, the derivation as text and LaTeX, and (in later stages) specialized
//! Rust out.
//!
//! The pipeline reads top to bottom, one folder per stage:
//! [`syntax`] (text → syntax tree → validated [`Network`]) → [`autodiff`] (forward equations
//! in the index notation of [`ir`], then adjoints by reverse accumulation) → [`simplify`] (the
//! named rules, applied by an engine with explicit limits) → [`lower`] (kernels and matrix
//! forms) → [`explain`] (the derivation and the data flow, readable) → [`emit`] (Rust
//! tokens); [`pipeline`] runs the stages in order. Every stage before `emit` is free of `syn`
//! and `quote`. Errors are [`Diagnostics`] carrying the byte span of the offending text, so a
//! caller (the `mlp!` macro, the CLI) can point at it. Every stage is bounded in time and size
//! by the [`limits`], whatever the input; past one, the error ([`LimitError`] after
//! validation) points at the text that caused it.
//!
//! The test oracles are behind the feature `oracle`: `interp` evaluates equations in `f64` or
//! dual numbers, the reference the derivation and the generated code are held to, and
//! `ir::read` reads the IR's Unicode form back.
//!
//! ```
//! let net = mlp_compiler::compile_spec("784 -> relu 512 -> relu 512 -> 10 : nll").unwrap();
//! assert_eq!(net.params(), 669_706);
//! assert_eq!(net.spec(), "784 -> relu 512 -> relu 512 -> 10 : nll");
//!
//! let err = mlp_compiler::compile_spec("784 -> relux 512 -> 10 : nll").unwrap_err();
//! assert!(err.to_string().contains("did you mean `relu`?"));
//! ```
//!
//! Compiling, without the macro: every adjoint equation, its kernel, and the trace.
//!
//! ```
//! use mlp_compiler::ir::Var;
//!
//! let c = mlp_compiler::compile("784 -> relu 512 -> relu 512 -> 10 : nll").unwrap();
//! // ∂L/∂W² collapses from a rank-3 Jacobian to a matrix product over the batch.
//! let w2 = c.derived.adjoint(Var::layered('W', 2)).unwrap();
//! assert_eq!(w2.equation.to_string(), "W\u{304}²ᵢⱼ = Σₙ z\u{304}²ₙᵢ·a¹ₙⱼ");
//! // ReLU's derivative is a mask; NLL after a linear layer is softmax − onehot.
//! let z1 = c.derived.adjoint(Var::layered('z', 1)).unwrap();
//! assert_eq!(z1.equation.to_string(), "z\u{304}¹ₙᵢ = a\u{304}¹ₙᵢ·step(z¹ₙᵢ)");
//! let z3 = c.derived.adjoint(Var::layered('z', 3)).unwrap();
//! assert_eq!(z3.equation.to_string(), "z\u{304}³ₙᵢ = (softmax(z³ₙ)ᵢ − δ(i, tₙ))/N");
//!
//! // The kernel each result becomes, and the derivation as a person reads it.
//! let lowered = c.lowering.of(&w2.equation);
//! assert_eq!(lowered.matrix, "∂L/∂W² = (Δ²)ᵀ·A¹");
//! let text = c.derivation.text(c.derivation.param("W2"));
//! assert!(text.contains("rank-3 tensor, 512×512×512 per sample"));
//! assert!(c.derivation.latex(None).contains("\\frac{\\partial L}{\\partial W^{2}}"));
//! ```
#![warn(missing_docs)]

pub mod autodiff;
pub mod diag;
pub mod emit;
pub mod explain;
#[cfg(feature = "oracle")]
pub mod interp;
pub mod ir;
pub mod limits;
pub mod lower;
pub mod model;
pub mod pipeline;
pub mod simplify;
pub mod syntax;

pub use diag::{Diagnostic, Diagnostics, Span};
pub use model::{Activation, CustomActivation, Formula, Func, Layer, Loss, Network};
pub use pipeline::report::LimitError;
pub use pipeline::{Plan, compile_items, compile_network, compile_spec};
pub use syntax::validate::NetItem;

/// Compiles a spec (`act` definitions followed by one network): parse → validate → forward
/// equations → reverse accumulation, simplified → lowering → trace. An error of the
/// derivation (one of the [`limits`]) points at the layer that caused it.
pub fn compile(text: &str) -> Result<Plan, Diagnostics> {
    let ast = syntax::parse::parse_spec(text)?;
    let network = syntax::validate::validate_spec(&ast)?;
    compile_network(network).map_err(|e| {
        let spans: Vec<Span> = ast
            .network
            .layers
            .iter()
            .map(syntax::validate::layer_span)
            .collect();
        let mut d = Diagnostics::new();
        d.push(e.diagnostic(&spans, ast.network.span));
        d
    })
}
