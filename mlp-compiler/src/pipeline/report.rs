//! Errors past validation: a derivation or generated code that reached one of the
//! [`crate::limits`], reported as a diagnostic under the layer whose formula made it so.

use crate::autodiff::forward::L;
use crate::autodiff::reverse::{Exceeded, TooLarge};
use crate::diag::{Diagnostic, Span};
#[cfg(doc)]
use crate::limits::MAX_EMITTED_TOKENS;
use crate::limits::{MAX_DERIVATION_SIZE, MAX_DERIVED_SIZE, MAX_FORMULA_SIZE, MAX_LAYERS};
use crate::model::network::{Activation, Network};
use std::fmt;

/// A validated network that could not be compiled within the limits.
#[derive(Clone, Debug, PartialEq)]
pub struct LimitError {
    /// The layer (counted from 0) the error is about, if it is about one.
    pub layer: Option<usize>,
    /// What is wrong: one sentence, lower case.
    pub message: String,
    /// Why, and what to do instead.
    pub notes: Vec<String>,
}

impl LimitError {
    /// A network of more than [`MAX_LAYERS`] layers (which validation never returns).
    pub fn too_deep(layers: usize) -> Self {
        LimitError {
            layer: Some(MAX_LAYERS),
            message: format!(
                "too many layers: a network has at most {MAX_LAYERS}, and this one has {layers}"
            ),
            notes: Vec::new(),
        }
    }

    /// A custom activation of layer `k` (counted from 0) whose formula holds `size`
    /// operations, more than [`MAX_FORMULA_SIZE`] (which validation never returns).
    pub fn formula(k: usize, size: usize) -> Self {
        LimitError {
            layer: Some(k),
            message: format!("formula too large: {size} operations, at most {MAX_FORMULA_SIZE}"),
            notes: Vec::new(),
        }
    }

    /// The activation of layer `k` (from 0) keeps calls that take `cost` operations per
    /// element or nest `depth` deep, past [`crate::limits::MAX_EVALUATION_COST`] or
    /// [`crate::limits::MAX_FUNCTION_DEPTH`] (which validation never returns).
    pub fn kept_calls(k: usize, cost: usize, depth: usize) -> Self {
        use crate::limits::{MAX_EVALUATION_COST, MAX_FUNCTION_DEPTH};
        LimitError {
            layer: Some(k),
            message: format!(
                "activation too costly: {cost} operations per element (at most {MAX_EVALUATION_COST}), kept calls {depth} deep (at most {})",
                MAX_FUNCTION_DEPTH - 1
            ),
            notes: Vec::new(),
        }
    }

    /// A derivation of `net` that stopped at a limit.
    pub fn derivation(net: &Network, stop: &TooLarge) -> Self {
        // The layer whose equation made the expression; the loss counts as the last layer's.
        let layer = if stop.equation == L {
            net.layers.len().checked_sub(1)
        } else {
            stop.equation
                .layer
                .and_then(|l| usize::from(l).checked_sub(1))
        };
        let what = match (layer.and_then(|k| net.layers.get(k)), stop.equation == L) {
            (_, true) => format!("the loss `{}`", net.loss),
            (Some(l), false) if l.activation != Activation::Identity => {
                format!(
                    "layer {} (`{}`)",
                    layer.unwrap_or(0) + 1,
                    l.activation.name()
                )
            }
            _ => format!("layer {}", layer.unwrap_or(0) + 1),
        };
        let of = if stop.adjoint {
            "the derivative of"
        } else {
            "the formula of"
        };
        let (exceeded, function) = match &stop.exceeded {
            Exceeded::InFunction(name, inner) => (inner.as_ref(), Some(name)),
            other => (other, None),
        };
        let (message, note) = match exceeded {
            Exceeded::Size(size) => (
                format!(
                    "{of} {what} is too large: {size} operations before simplification, at most {MAX_DERIVED_SIZE}"
                ),
                "differentiating a product gives a term per factor, and a chain of nested calls a product of their derivatives; a formula with fewer repeated factors or shallower nesting stays within the limit, which keeps `mlp!` and `mlp explain` within seconds",
            ),
            Exceeded::Total(total) => (
                format!(
                    "the derivation of this network is too large: {total} operations by {of} {what}, at most {MAX_DERIVATION_SIZE} in all"
                ),
                "every layer's derivative adds to the total, and the derivation's trace repeats it for each parameter below it; fewer layers or a simpler activation stay within the limit",
            ),
            Exceeded::Runaway(r) => (
                format!("simplifying {of} {what} did not finish within {}", r.limit),
                "the simplifier stops rather than run without bound; a simpler formula stays within its limit",
            ),
            // Never nested: a function's limit is said to be in the innermost function.
            Exceeded::InFunction(..) => (
                format!("{of} {what} is too large"),
                "a function's derivative is bounded like a layer's",
            ),
        };
        let message = match function {
            Some(name) => format!("{message} (in the function `{name}` it calls)"),
            None => message,
        };
        LimitError {
            layer,
            message,
            notes: vec![note.to_owned()],
        }
    }

    /// Generated code of `tokens` tokens, more than `max` (normally [`MAX_EMITTED_TOKENS`]).
    pub fn emitted(tokens: usize, max: usize) -> Self {
        LimitError {
            layer: None,
            message: format!("the generated code is too large: {tokens} tokens, at most {max}"),
            notes: vec![
                "the limit keeps rustc's time on the generated code bounded; fewer or smaller layers stay within it"
                    .to_owned(),
            ],
        }
    }

    /// The error as a diagnostic: under its layer's text (`layer_spans`, from
    /// [`crate::syntax::validate::layer_span`]), else under `whole`.
    pub fn diagnostic(&self, layer_spans: &[Span], whole: Span) -> Diagnostic {
        let span = self
            .layer
            .and_then(|k| layer_spans.get(k))
            .copied()
            .unwrap_or(whole);
        self.notes
            .iter()
            .fold(Diagnostic::new(span, self.message.clone()), |d, n| {
                d.note(n.clone())
            })
    }
}

impl fmt::Display for LimitError {
    /// The message and its notes, as [`Diagnostic`] shows them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diagnostic(&[], Span::default()))
    }
}

impl std::error::Error for LimitError {}
