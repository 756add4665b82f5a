//! Parameter updates folded into the backward pass: when the optimizer descends
//! (`θ ← θ − lr·g`), each parameter is updated as soon as its gradient is computed, by the
//! weight gradient's product itself (`gemm_descend`) or right after a bias's sum. The backward
//! equations are reordered so that nothing reads a parameter after its update.

use super::layout::Layout;
use super::product::fusable;
use crate::ir::{Equation, Expr, Var};
use proc_macro2::TokenStream;
use quote::quote;

/// The backward equations in an order that lets each parameter be updated as soon as its
/// gradient is computed: a parameter's gradient moves after the last equation that reads the
/// parameter (and after the elementwise equation fused into that one's epilogue), everything
/// else keeps its order.
pub fn updates_last<'e>(layout: &Layout<'_>, eqs: Vec<&'e Equation>) -> Vec<&'e Equation> {
    let reads = |eq: &Equation, var: Var| {
        let mut found = false;
        eq.rhs.visit(&mut |e| {
            if let Expr::Ref(r) = e {
                found |= r.var == var && !r.adjoint;
            }
        });
        found
    };
    let mut keyed: Vec<(usize, bool, usize, &Equation)> = Vec::new();
    for (at, eq) in eqs.iter().enumerate() {
        let mut anchor = at;
        if layout.updates(eq)
            && let Some(last) = eqs.iter().rposition(|e| reads(e, eq.lhs.var))
        {
            let fused = eqs
                .get(last + 1)
                .is_some_and(|next| fusable(layout, eqs[last], next));
            anchor = anchor.max(last + usize::from(fused));
        }
        keyed.push((anchor, anchor != at, at, eq));
    }
    keyed.sort_by_key(|(anchor, moved, at, _)| (*anchor, *moved, *at));
    keyed.into_iter().map(|(.., eq)| eq).collect()
}

/// After a parameter's gradient is computed (not by a product, which updates it itself): the
/// update of the parameter, when the optimizer descends.
pub(super) fn finish(layout: &Layout<'_>, eq: &Equation) -> Option<TokenStream> {
    layout.updates(eq).then(|| {
        let (off, len) = layout.range(eq.lhs.var);
        quote!(params.finish(#off..#off + #len, &grad[#off..#off + #len]);)
    })
}
