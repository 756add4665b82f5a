//! The order of the passes as emitted: the forward pass, the loss, and the backward pass
//! with each parameter's gradient after the last read of the parameter. Emission, the fused
//! step and the data-flow graph all walk it.

use super::layout::{Cache, Layout, lse_rows};
use super::update;
use crate::autodiff::forward::L;
use crate::ir::{Equation, Var};
use crate::pipeline::Plan;

/// The three passes as emitted: each with the layout its code is emitted with and its
/// equations in the order of its statements. Emission, the fused step and the data-flow graph
/// read it.
pub(super) struct PassOrder<'p> {
    /// The forward pass, the loss excepted.
    pub(super) forward: (Layout<'p>, Vec<&'p Equation>),
    /// The loss, one statement (never in a product's epilogue).
    pub(super) loss: (Layout<'p>, Option<&'p Equation>),
    /// The backward pass, each parameter's gradient after the last read of the parameter.
    pub(super) backward: (Layout<'p>, Vec<&'p Equation>),
    /// The tensors whose row normalizers the loss keeps for the backward pass.
    pub(super) kept: Vec<Var>,
}

impl<'p> PassOrder<'p> {
    /// The passes of `c`.
    pub(super) fn of(c: &'p Plan) -> PassOrder<'p> {
        let program = &c.derived.program;
        let forward = c.derived.forward.iter().filter(|e| e.lhs.var != L);
        let loss_equation = c.derived.forward.iter().find(|e| e.lhs.var == L);
        let kept = loss_equation.map(lse_rows).unwrap_or_default();
        let with_cache = |cache| Layout {
            lse_rows: (kept.clone(), Some(cache)),
            backward: cache == Cache::Load,
            ..Layout::new(program, &c.lowering)
        };
        let backward_layout = with_cache(Cache::Load);
        let backward = update::updates_last(&backward_layout, c.derived.live_adjoints());
        PassOrder {
            forward: (Layout::new(program, &c.lowering), forward.collect()),
            loss: (with_cache(Cache::Store), loss_equation),
            backward: (backward_layout, backward),
            kept,
        }
    }
}
