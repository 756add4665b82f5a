//! The pipeline past validation: [`compile_network`] takes a network to a [`Plan`], a network with its
//! backward pass derived, every equation lowered once, and the derivation explained: all that
//! `emit`, the trace, the graph and the CLI read. [`crate::compile`] runs it from text.

pub mod report;

use crate::autodiff::forward;
use crate::autodiff::reverse::{self, TooLarge};
use crate::diag::Diagnostics;
use crate::explain::trace;
use crate::ir::notation::with_written;
use crate::limits;
use crate::lower::Lowering;
use crate::model::{Activation, Network};
use crate::syntax::validate::NetItem;
use crate::syntax::{parse, validate};
use report::LimitError;

/// A network compiled: validated, its gradients derived, each equation lowered, and the
/// derivation recorded.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The validated network.
    pub network: Network,
    /// Forward equations, derived adjoints, and the stable forms evaluated.
    pub derived: reverse::Derived,
    /// Each equation of `derived` lowered: its kernel and matrix form.
    pub lowering: Lowering,
    /// The derivation, readable as text or LaTeX.
    pub derivation: trace::Derivation,
}

impl Plan {
    /// The same data flow drawn as SVG, for the HTML page (`mlp explain --html`).
    pub fn svg(&self) -> String {
        crate::explain::svg::svg(&self.derived)
    }
}

/// Compiles a validated network, within the [`limits`]. A network built without validation
/// is held to the limits validation checks as well (its layers, its formulas), so that no
/// network makes this run without bound.
pub fn compile_network(network: Network) -> Result<Plan, LimitError> {
    within_validation_limits(&network)?;
    let stop = |stop: TooLarge| LimitError::derivation(&network, &stop);
    let program = forward::program(&network).map_err(stop)?;
    // Reverse accumulation; each adjoint is simplified as it is derived.
    let derived = reverse::derive(&program).map_err(stop)?;
    // Constants print as the user wrote them, and the others exactly where they can.
    let written = network.written_constants();
    let (lowering, derivation) = with_written(&written, || {
        let lowering = Lowering::new(&derived);
        let derivation = trace::trace(&network.spec(), &derived, &lowering, written.clone());
        (lowering, derivation)
    });
    Ok(Plan {
        network,
        derived,
        lowering,
        derivation,
    })
}

/// The limits validation holds a network to: its layers, its custom formulas' size, and the
/// cost and depth of the calls they keep.
fn within_validation_limits(network: &Network) -> Result<(), LimitError> {
    if network.layers.len() > limits::MAX_LAYERS {
        return Err(LimitError::too_deep(network.layers.len()));
    }
    let memo = Default::default();
    for (k, layer) in network.layers.iter().enumerate() {
        let Activation::Custom(c) = &layer.activation else {
            continue;
        };
        if c.formula.size() > limits::MAX_FORMULA_SIZE {
            return Err(LimitError::formula(k, c.formula.size()));
        }
        let (cost, depth) = crate::model::formula::measure(c, &memo);
        if cost > limits::MAX_EVALUATION_COST || depth >= limits::MAX_FUNCTION_DEPTH {
            return Err(LimitError::kept_calls(k, cost, depth));
        }
    }
    Ok(())
}

/// Parses and validates a spec, without deriving: the front end alone (`mlp check` before
/// it derives, tools that only need the network).
pub fn compile_spec(text: &str) -> Result<Network, Diagnostics> {
    let ast = parse::parse_spec(text)?;
    validate::validate_spec(&ast)
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
