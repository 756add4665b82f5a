//! Where each tensor lives in generated code: the workspace fields, parameter and gradient
//! ranges, and the tokens for shapes and constants that every kind of statement shares.

use crate::autodiff::forward::{Program, Role, T};
use crate::ir::{Dim, Equation, Expr, Ix, Var};
use crate::lower::Lowering;
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};
use std::cell::Cell;

/// A constant as the generated code's `f32`: a literal, or, past `f32`'s range (`1e50`, or a
/// product of constants folded past it), the infinity or NaN that f32 arithmetic would give,
/// which no literal can spell.
pub(super) fn f32_constant(v: f64) -> TokenStream {
    let v = v as f32;
    if v.is_finite() {
        let lit = Literal::f32_suffixed(v);
        quote!(#lit)
    } else if v.is_nan() {
        quote!(f32::NAN)
    } else if v > 0.0 {
        quote!(f32::INFINITY)
    } else {
        quote!(f32::NEG_INFINITY)
    }
}

/// Where each tensor lives in generated code.
pub struct Layout<'p> {
    /// The program.
    pub program: &'p Program,
    /// Its equations lowered: the kernel each one becomes.
    pub lowering: &'p Lowering,
    /// Offsets of the parameters in the flat parameter vector, in state_dict order.
    pub offsets: Vec<(Var, usize)>,
    /// The tensors whose per-row `lse` the loss keeps for the backward pass (softmax and NLL
    /// fused: each row's normalizer is computed once per step), and whether the code being
    /// emitted stores them (the loss) or reads them (the backward pass).
    pub lse_rows: (Vec<Var>, Option<Cache>),
    /// Whether the code is a backward pass: it reads the parameters through the runtime's
    /// `Params`, which may update each tensor as soon as its gradient is finished.
    pub backward: bool,
    /// The multiply-adds the pass may still unroll ([`crate::limits::UNROLL_BUDGET`] at first).
    pub unroll: Cell<usize>,
}

/// What emitted code does with the kept row normalizers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    /// Computes and keeps them.
    Store,
    /// Reads them.
    Load,
}

/// The workspace field that keeps the row normalizers of `var`.
pub fn lse_buffer(var: Var) -> Ident {
    format_ident!("lse_{}", buffer(var, false))
}

/// The tensors the loss equation `loss` takes a contiguous row `lse` of.
pub fn lse_rows(loss: &Equation) -> Vec<Var> {
    let mut out = Vec::new();
    loss.rhs.visit(&mut |e| {
        if let Expr::Lse(i, body) = e
            && let Expr::Ref(r) = body.as_ref()
            && !r.adjoint
            && r.ix.last() == Some(&Ix::Var(*i))
            && !out.contains(&r.var)
        {
            out.push(r.var);
        }
    });
    out
}

impl<'p> Layout<'p> {
    /// The layout of `program`'s parameters, its equations lowered in `lowering`.
    pub fn new(program: &'p Program, lowering: &'p Lowering) -> Self {
        let mut offsets = Vec::new();
        let mut at = 0;
        for p in program.params() {
            offsets.push((p.var, at));
            at += p
                .shape
                .iter()
                .map(|d| if let Dim::Fixed(n) = d { *n } else { 0 })
                .product::<usize>();
        }
        Layout {
            program,
            lowering,
            offsets,
            lse_rows: (Vec::new(), None),
            backward: false,
            unroll: Cell::new(crate::limits::UNROLL_BUDGET),
        }
    }

    /// The offset of a parameter in the flat parameter vector.
    pub fn offset(&self, var: Var) -> Option<usize> {
        self.offsets
            .iter()
            .find(|(v, _)| *v == var)
            .map(|(_, o)| *o)
    }

    pub(super) fn shape(&self, var: Var) -> &[Dim] {
        &self
            .program
            .tensor(var)
            .unwrap_or_else(|| panic!("no tensor {var:?}"))
            .shape
    }

    /// A parameter's range in the flat parameter vector, as tokens `(offset, length)`.
    pub(super) fn range(&self, var: Var) -> (Literal, TokenStream) {
        let off = self.offset(var).expect("a parameter has an offset");
        (Literal::usize_unsuffixed(off), self.len(var))
    }

    /// Whether `eq` computes a parameter's gradient in a backward pass, which then updates the
    /// parameter when the optimizer descends.
    pub(super) fn updates(&self, eq: &Equation) -> bool {
        self.backward && eq.lhs.adjoint && self.is_param(eq.lhs.var)
    }

    pub(super) fn is_param(&self, var: Var) -> bool {
        self.program
            .tensor(var)
            .is_some_and(|t| t.role == Role::Param)
    }

    /// Tokens for the size of an axis.
    pub(super) fn dim(&self, d: Dim) -> TokenStream {
        match d {
            Dim::Batch => quote!(batch),
            Dim::Fixed(n) => {
                let n = Literal::usize_unsuffixed(n);
                quote!(#n)
            }
        }
    }

    /// Tokens for the element count of a tensor.
    pub fn len(&self, var: Var) -> TokenStream {
        let shape = self.shape(var);
        if shape.iter().all(|d| matches!(d, Dim::Fixed(_))) {
            let n: usize = shape
                .iter()
                .map(|d| if let Dim::Fixed(n) = d { *n } else { 1 })
                .product();
            let n = Literal::usize_unsuffixed(n);
            return quote!(#n);
        }
        // Unparenthesized: a length is a call's argument or a range's end, where parentheses
        // would draw `unused_parens` from rustc in the expanded code.
        let mut dims = shape.iter().map(|d| self.dim(*d));
        let first = dims.next().unwrap_or_else(|| quote!(1usize));
        dims.fold(first, |acc, d| quote!(#acc * #d))
    }
}

/// `a * b * c`, or `empty` for no factors.
pub(super) fn product(factors: Vec<TokenStream>, empty: TokenStream) -> TokenStream {
    let mut it = factors.into_iter();
    match it.next() {
        None => empty,
        Some(first) => {
            let rest = it.fold(first, |acc, f| quote!(#acc * #f));
            quote!((#rest))
        }
    }
}

/// The workspace field that holds a value or an adjoint.
pub fn buffer(var: Var, adjoint: bool) -> Ident {
    let name = var.ascii().to_ascii_lowercase();
    if adjoint {
        format_ident!("{}_bar", name)
    } else {
        format_ident!("{}", name)
    }
}

/// A slice expression for a whole tensor: workspace field, parameter range, gradient range,
/// input or targets.
pub(super) fn slice(layout: &Layout<'_>, var: Var, adjoint: bool, mutable: bool) -> TokenStream {
    if var == crate::autodiff::forward::X {
        return quote!(xs);
    }
    if var == T {
        return quote!(targets);
    }
    if layout.is_param(var) {
        let off = Literal::usize_unsuffixed(layout.offset(var).expect("a parameter has an offset"));
        let len = layout.len(var);
        return match (adjoint, mutable) {
            (true, _) => quote!(grad[#off..#off + #len]),
            (false, _) if layout.backward => quote!(params.get()[#off..#off + #len]),
            (false, _) => quote!(params[#off..#off + #len]),
        };
    }
    let field = buffer(var, adjoint);
    quote!(ws.#field[..])
}
