//! The mlp compiler: one line of network DSL in; a validated network, its backward pass
//! derived symbolically, the derivation as text and LaTeX, and (in later stages) specialized
//! Rust out.
//!
//! The pipeline reads top to bottom, one module per stage:
//! [`parse`] (text → [`ast`]) → [`validate`] ([`ast`] → [`Network`]) → [`forward`] (index
//! equations, [`ir`]) → [`derive`](mod@derive) (adjoints by general rules, simplified by [`simplify`] with
//! the named [`rules`]) → [`lower`] (kernels and matrix forms) → [`trace`] (the derivation,
//! readable) → [`emit`] (Rust tokens). Every stage before `emit` is free of `syn` and `quote`.
//! Errors are [`Diagnostics`] carrying the byte span of the offending text, so a caller (the
//! `mlp!` macro, the CLI) can point at it. Every stage is bounded in time and size by the
//! [`limits`], whatever the input; past one, the error ([`LimitError`] after validation) points
//! at the text that caused it. [`interp`] evaluates equations in `f64` or dual numbers: the
//! oracle that tests hold the derivation and the generated code to.
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
//! Deriving, without the macro: every adjoint equation, its kernel, and the trace.
//!
//! ```
//! use mlp_compiler::ir::Var;
//!
//! let c = mlp_compiler::derive_spec("784 -> relu 512 -> relu 512 -> 10 : nll").unwrap();
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
//! let lowered = mlp_compiler::lower::lower(&w2.equation, &c.derived.program);
//! assert_eq!(lowered.matrix, "∂L/∂W² = (Δ²)ᵀ·A¹");
//! let text = c.derivation.text(c.derivation.param("W2"));
//! assert!(text.contains("rank-3 tensor, 512×512×512 per sample"));
//! assert!(c.derivation.latex(None).contains("\\frac{\\partial L}{\\partial W^{2}}"));
//! ```
#![warn(missing_docs)]

pub mod ast;
pub mod derive;
pub mod diag;
pub mod emit;
pub mod formula;
pub mod forward;
pub mod graph;
pub mod interp;
pub mod ir;
pub mod ir_parse;
pub mod limits;
pub mod lower;
pub mod network;
pub mod notation;
pub mod parse;
pub mod report;
pub mod rules;
pub mod scalar;
pub mod simplify;
pub mod summary;
pub mod trace;
pub mod validate;

pub use diag::{Diagnostic, Diagnostics, Span};
pub use formula::{Formula, Func};
pub use network::{Activation, CustomActivation, Layer, Loss, Network};
pub use report::LimitError;
pub use validate::NetItem;

/// Parses and validates what the CLI reads: `act` definitions followed by one network.
pub fn compile_spec(text: &str) -> Result<Network, Diagnostics> {
    let ast = parse::parse_spec(text)?;
    validate::validate_spec(&ast)
}

/// A network with its gradients derived and the derivation recorded.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The validated network.
    pub network: Network,
    /// Forward equations, derived adjoints, and the stable forms evaluated.
    pub derived: derive::Derived,
    /// The derivation, readable as text or LaTeX.
    pub derivation: trace::Derivation,
}

/// Parses, validates and differentiates a spec. An error of the derivation (one of the
/// [`limits`]) points at the layer that caused it.
pub fn derive_spec(text: &str) -> Result<Compiled, Diagnostics> {
    let ast = parse::parse_spec(text)?;
    let network = validate::validate_spec(&ast)?;
    let spans: Vec<Span> = ast
        .network
        .layers
        .iter()
        .map(validate::layer_span)
        .collect();
    derive_network(network).map_err(|e| {
        let mut d = Diagnostics::new();
        d.push(e.diagnostic(&spans, ast.network.span));
        d
    })
}

/// Differentiates a validated network, within the [`limits`]. A network built without
/// validation is held to the limits validation checks as well (its layers, its formulas), so
/// that no network makes this run without bound.
pub fn derive_network(network: Network) -> Result<Compiled, LimitError> {
    if network.layers.len() > limits::MAX_LAYERS {
        return Err(LimitError::too_deep(network.layers.len()));
    }
    for (k, layer) in network.layers.iter().enumerate() {
        if let Activation::Custom(c) = &layer.activation
            && c.formula.size() > limits::MAX_FORMULA_SIZE
        {
            return Err(LimitError::formula(k, c.formula.size()));
        }
    }
    let program = forward::program(&network);
    let derived =
        derive::derive(&program).map_err(|stop| LimitError::derivation(&network, &stop))?;
    let derivation = trace::trace(&network.spec(), &derived);
    Ok(Compiled {
        network,
        derived,
        derivation,
    })
}

/// Parses and validates the body of the `mlp!` macro. On errors, also returns the items that
/// could be read, so the caller can emit stand-ins for them and the user sees one error per
/// mistake rather than a cascade.
pub fn compile_items(text: &str) -> Result<Vec<NetItem>, (Vec<NetItem>, Diagnostics)> {
    let items = parse::parse_items(text).map_err(|d| (Vec::new(), d))?;
    let (nets, diags) = validate::validate_items(&items);
    if diags.is_empty() {
        Ok(nets)
    } else {
        Err((nets, diags))
    }
}
