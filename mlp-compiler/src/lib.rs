//! The mlp compiler: one line of network DSL in, a validated network (and, in later stages,
//! its derived backward pass and specialized Rust) out.
//!
//! The pipeline reads top to bottom, one module per stage:
//! [`parse`] (text → [`ast`]) → [`validate`] ([`ast`] → [`Network`]) → [`emit`] (Rust tokens).
//! Every stage reports [`Diagnostics`] that carry the byte span of the offending text, so a
//! caller (the `mlp!` macro, the CLI) can point at it.
//!
//! ```
//! let net = mlp_compiler::compile_spec("784 -> relu 512 -> relu 512 -> 10 : nll").unwrap();
//! assert_eq!(net.params(), 669_706);
//! assert_eq!(net.spec(), "784 -> relu 512 -> relu 512 -> 10 : nll");
//!
//! let err = mlp_compiler::compile_spec("784 -> relux 512 -> 10 : nll").unwrap_err();
//! assert!(err.to_string().contains("did you mean `relu`?"));
//! ```
#![warn(missing_docs)]

pub mod ast;
pub mod derive;
pub mod diag;
pub mod emit;
pub mod formula;
pub mod forward;
pub mod interp;
pub mod ir;
pub mod ir_parse;
pub mod lower;
pub mod network;
pub mod notation;
pub mod parse;
pub mod rules;
pub mod scalar;
pub mod simplify;
pub mod summary;
pub mod trace;
pub mod validate;

pub use diag::{Diagnostic, Diagnostics, Span};
pub use formula::{Formula, Func};
pub use network::{Activation, CustomActivation, Layer, Loss, Network};
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

/// Parses, validates and differentiates a spec.
pub fn derive_spec(text: &str) -> Result<Compiled, Diagnostics> {
    let network = compile_spec(text)?;
    derive_network(network).map_err(|runaway| {
        let mut d = Diagnostics::new();
        d.error(
            Span::new(0, text.len()),
            format!(
                "simplification did not finish within its limit: {}",
                runaway.expr
            ),
        );
        d
    })
}

/// Differentiates a validated network.
pub fn derive_network(network: Network) -> Result<Compiled, simplify::Runaway> {
    let program = forward::program(&network);
    let derived = derive::derive(&program)?;
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
