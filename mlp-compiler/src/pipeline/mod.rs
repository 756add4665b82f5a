//! The pipeline in one place: from text to a network with its backward pass derived and
//! explained, ready for [`crate::emit`].

pub mod report;

use crate::autodiff::{forward, reverse};
use crate::diag::{Diagnostics, Span};
use crate::explain::trace;
use crate::limits;
use crate::model::{Activation, Network};
use crate::syntax::validate::NetItem;
use crate::syntax::{parse, validate};
use report::LimitError;

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
    pub derived: reverse::Derived,
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
        reverse::derive(&program).map_err(|stop| LimitError::derivation(&network, &stop))?;
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
