//! Equations → Rust statements. A matrix product becomes a call of the runtime's GEMM with
//! the transposes [`crate::lower`] found; every other equation is compiled from its index
//! expression into loops, with reductions that do not depend on the inner index (a row's
//! `lse`, a row sum) computed once per row.

use super::product::{Product, fusable, gemm};
use super::update::finish;
use crate::autodiff::forward::{Program, Role, T};
use crate::ir::{Dim, Equation, Expr, Idx, Ix, Prim, Ref, Var};
use crate::lower::{Kernel, lower};
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
    /// The layout of `program`'s parameters.
    pub fn new(program: &'p Program) -> Self {
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

    fn is_param(&self, var: Var) -> bool {
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
        let dims: Vec<TokenStream> = shape.iter().map(|d| self.dim(*d)).collect();
        product(dims, quote!(1usize))
    }
}

/// `a * b * c`, or `empty` for no factors.
fn product(factors: Vec<TokenStream>, empty: TokenStream) -> TokenStream {
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
    let layer = var.layer.map(|l| l.to_string()).unwrap_or_default();
    let letter = var.letter.to_ascii_lowercase();
    if adjoint {
        format_ident!("{}{}_bar", letter, layer)
    } else {
        format_ident!("{}{}", letter, layer)
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

/// The statements that compute `eqs`, in order. A matrix product followed by an elementwise
/// equation that reads it (an activation, an activation's derivative mask) become one product
/// whose epilogue computes the second equation on each finished stretch of the first.
pub fn equations<'e>(
    layout: &Layout<'_>,
    eqs: impl IntoIterator<Item = &'e Equation>,
) -> Vec<TokenStream> {
    let eqs: Vec<&Equation> = eqs.into_iter().collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < eqs.len() {
        let next = eqs
            .get(at + 1)
            .copied()
            .filter(|n| fusable(layout, eqs[at], n));
        out.push(statement(layout, eqs[at], next));
        at += if next.is_some() { 2 } else { 1 };
    }
    out
}

/// The statements that compute `eq`.
pub fn equation(layout: &Layout<'_>, eq: &Equation) -> TokenStream {
    statement(layout, eq, None)
}

/// The statements that compute `eq`, and `then` in its epilogue (a checked `fusable` pair).
fn statement(layout: &Layout<'_>, eq: &Equation, then: Option<&Equation>) -> TokenStream {
    let lowered = lower(eq, layout.program);
    let comment = format!(" {eq}   [{}]", lowered.matrix);
    let body = match &lowered.kernel {
        Kernel::Gemm {
            a,
            b,
            contracted,
            bias,
        } => {
            let product = Product {
                eq,
                a,
                b,
                k: *contracted,
                bias: bias.as_ref(),
            };
            match (gemm(layout, &product, then), then) {
                (Ok(code), Some(then)) => {
                    let second = format!(
                        " then, in the product's epilogue: {then}   [{}]",
                        lower(then, layout.program).matrix
                    );
                    return quote! {
                        #[doc = #comment]
                        #[doc = #second]
                        { #code }
                    };
                }
                // A weight gradient's product updates the weights itself (`gemm_descend`).
                (Ok(code), None) => {
                    let finish = bias.as_ref().and_then(|_| finish(layout, eq));
                    return quote! {
                        #[doc = #comment]
                        { #code #finish }
                    };
                }
                // Unrolled: no epilogue, so `then` follows as its own statement.
                (Err(code), then) => {
                    let rest = then.map(|t| statement(layout, t, None));
                    let finish = finish(layout, eq);
                    return quote! {
                        #[doc = #comment]
                        { #code #finish }
                        #rest
                    };
                }
            }
        }
        Kernel::BatchSum { input } => batch_sum(layout, eq, input),
        _ => loops(layout, eq),
    };
    let finish = finish(layout, eq);
    quote! {
        #[doc = #comment]
        { #body #finish }
    }
}

fn batch_sum(layout: &Layout<'_>, eq: &Equation, input: &Ref) -> TokenStream {
    let out = slice(layout, eq.lhs.var, eq.lhs.adjoint, true);
    let src = slice(layout, input.var, input.adjoint, false);
    let cols = layout.dim(layout.shape(eq.lhs.var)[0]);
    quote! {
        let out = &mut #out;
        out.fill(0.0);
        for row in #src.chunks_exact(#cols) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += *v;
            }
        }
    }
}

/// Loops over the left side's indices, outermost first, computing the right side.
pub(super) fn loops(layout: &Layout<'_>, eq: &Equation) -> TokenStream {
    let rhs = expand_softmax(&eq.rhs);
    let out = slice(layout, eq.lhs.var, eq.lhs.adjoint, true);
    let shape = layout.shape(eq.lhs.var).to_vec();
    let idx: Vec<Idx> = eq.lhs.ix.iter().map(|x| x.idx()).collect();
    let outer: Vec<Idx> = idx
        .iter()
        .take(idx.len().saturating_sub(1))
        .copied()
        .collect();
    let mut cx = Code {
        layout,
        hoisted: Vec::new(),
        outer,
        inline: false,
        substitute: Vec::new(),
    };
    if idx.is_empty() {
        let value = cx.expr(&rhs);
        let top = cx.take_hoistable(&[]);
        return quote! { #(#top)* #out[0] = #value; };
    }
    // Innermost: the element. The rows it reads along the innermost index (and the row it
    // writes) are sliced once ahead of the innermost loop, which then indexes them without
    // bounds arithmetic and vectorizes.
    let inner = *idx.last().expect("not empty");
    let range = layout.dim(*shape.last().expect("not empty"));
    let mut rows = Vec::new();
    let mut row_of = |r: &Ref, mutable: bool, name: Ident| {
        let start = row_start(layout, r, inner, &idx)?;
        let data = slice(layout, r.var, r.adjoint, mutable);
        let inner_var = loop_var(inner);
        rows.push(if mutable {
            quote!(let #name = &mut #data[#start..][..#range];)
        } else {
            quote!(let #name = &#data[#start..][..#range];)
        });
        Some(quote!(#name[#inner_var]))
    };
    let target = row_of(&eq.lhs, true, format_ident!("out")).unwrap_or_else(|| {
        let flat = flat_index(layout, &eq.lhs);
        quote!(#out[#flat])
    });
    rhs.visit(&mut |e| {
        if let Expr::Ref(r) = e
            && r.var != T
            && !(r.var == eq.lhs.var && r.adjoint == eq.lhs.adjoint)
            && !cx.substitute.iter().any(|(s, _)| s == r)
            && let Some(code) = row_of(r, false, format_ident!("s{}", cx.substitute.len()))
        {
            cx.substitute.push((r.clone(), code));
        }
    });
    let mut body = {
        let value = cx.expr(&rhs);
        quote! { #target = #value; }
    };
    // Wrap loops from the inside out; ahead of each, what it does not change.
    for level in (0..idx.len()).rev() {
        let bound: Vec<Idx> = idx[..level].to_vec();
        let mut hoist = cx.take_hoistable(&bound);
        if level + 1 == idx.len() {
            hoist.append(&mut rows);
        }
        let var = loop_var(idx[level]);
        let range = layout.dim(shape[level]);
        // What depends only on the outer indices is computed once, ahead of this loop.
        body = quote! {
            #(#hoist)*
            for #var in 0..#range {
                #body
            }
        };
    }
    let top = cx.take_hoistable(&[]);
    quote! { #(#top)* #body }
}

/// Where the row of `r` along `inner` starts, when `r` is indexed by `inner` last and by
/// loop indices of `idx` (not `inner`) before: `((i₀·d₁ + i₁)·d₂ + …)·d_last`.
fn row_start(layout: &Layout<'_>, r: &Ref, inner: Idx, idx: &[Idx]) -> Option<TokenStream> {
    let (last, outer) = r.ix.split_last()?;
    let loop_index = |x: &Ix| matches!(x, Ix::Var(o) if *o != inner && idx.contains(o));
    if *last != Ix::Var(inner) || !outer.iter().all(loop_index) {
        return None;
    }
    Some(row_offset(layout, r))
}

/// Where the row of `r` along its last axis starts, row-major: `((i₀·d₁ + i₁)·d₂ + …)·d_last`
/// over its other positions.
fn row_offset(layout: &Layout<'_>, r: &Ref) -> TokenStream {
    let shape = layout.shape(r.var);
    let outer = &r.ix[..r.ix.len().saturating_sub(1)];
    let mut start: Option<TokenStream> = None;
    for (x, next) in outer.iter().zip(&shape[1..]) {
        let (p, size) = (position(*x), layout.dim(*next));
        start = Some(match start {
            None => quote!(#p * #size),
            Some(s) => quote!((#s + #p) * #size),
        });
    }
    start.unwrap_or_else(|| quote!(0usize))
}

/// `softmaxⱼ(e)ₖ = exp(e[j:=k] − lseⱼ(e))`: the normalizer becomes a reduction that is the
/// same for the whole row, so it can be computed once per row.
fn expand_softmax(e: &Expr) -> Expr {
    match e {
        Expr::Softmax { at, over, body } => {
            let body = expand_softmax(body);
            let at_k = body.replace_index(*over, *at);
            Expr::call(
                Prim::Exp,
                Expr::plus(at_k, Expr::negate(Expr::Lse(*over, Box::new(body)))),
            )
        }
        other => {
            crate::simplify::map_children(other, &mut |c| Some(expand_softmax(c))).expect("total")
        }
    }
}

pub(super) fn loop_var(i: Idx) -> Ident {
    format_ident!("i_{}{}", i.letter, i.primes)
}

fn position(x: Ix) -> TokenStream {
    match x {
        Ix::Var(i) => {
            let v = loop_var(i);
            quote!(#v)
        }
        Ix::Label(i) => {
            let v = loop_var(i);
            quote!((targets[#v] as usize))
        }
    }
}

/// The row-major flat index of a tensor element.
fn flat_index(layout: &Layout<'_>, r: &Ref) -> TokenStream {
    let shape = layout.shape(r.var);
    let mut flat: Option<TokenStream> = None;
    for (x, d) in r.ix.iter().zip(shape) {
        let size = layout.dim(*d);
        let p = position(*x);
        flat = Some(match flat {
            None => p,
            Some(f) => quote!((#f) * #size + #p),
        });
    }
    flat.unwrap_or_else(|| quote!(0usize))
}

pub(super) struct Code<'a, 'p> {
    pub(super) layout: &'a Layout<'p>,
    /// Reductions computed ahead of a loop: the expression, its variable, its code, and
    /// whether it has been emitted.
    pub(super) hoisted: Vec<(Expr, Ident, TokenStream, bool)>,
    /// The loop indices a reduction may depend on and still be hoisted: all but the innermost.
    pub(super) outer: Vec<Idx>,
    /// Inside a sum: reductions are computed in place.
    pub(super) inline: bool,
    /// Reads replaced by other code (in an epilogue: the product's value, a row's stretch).
    pub(super) substitute: Vec<(Ref, TokenStream)>,
}

impl Code<'_, '_> {
    /// The hoisted reductions whose free indices are all among `bound` and that are not yet
    /// emitted; marks them emitted.
    fn take_hoistable(&mut self, bound: &[Idx]) -> Vec<TokenStream> {
        let mut out = Vec::new();
        for (e, var, code, emitted) in &mut self.hoisted {
            if !*emitted && e.free().iter().all(|i| bound.contains(i)) {
                *emitted = true;
                out.push(quote! { let #var = #code; });
            }
        }
        out
    }

    fn range(&self, i: Idx, body: &Expr) -> TokenStream {
        let mut found = None;
        body.visit(&mut |e| {
            if let (None, Expr::Ref(r)) = (found, e)
                && let Some(p) = r.ix.iter().position(|x| *x == Ix::Var(i))
            {
                found = Some(self.layout.shape(r.var)[p]);
            }
        });
        self.layout
            .dim(found.unwrap_or_else(|| panic!("the index {i:?} of {body} has no range")))
    }

    /// A reduction: hoisted ahead of the loops when it does not depend on the innermost
    /// index (its variable is returned), else computed in place.
    fn reduction(&mut self, e: &Expr, code: TokenStream) -> TokenStream {
        if self.inline || !e.free().iter().all(|i| self.outer.contains(i)) {
            return code;
        }
        if let Some((_, var, _, _)) = self.hoisted.iter().find(|(x, ..)| x == e) {
            return quote!(#var);
        }
        let var = format_ident!("r{}", self.hoisted.len());
        self.hoisted.push((e.clone(), var.clone(), code, false));
        quote!(#var)
    }

    /// The body of a reduction: anything reduced inside it is computed in place.
    fn nested(&mut self, body: &Expr) -> TokenStream {
        let mut inner = Code {
            layout: self.layout,
            hoisted: Vec::new(),
            outer: Vec::new(),
            inline: true,
            substitute: self.substitute.clone(),
        };
        inner.expr(body)
    }

    /// The workspace field and row index of a kept row normalizer over `body` (a row of a
    /// matrix whose `lse` the loss keeps, indexed by the sample).
    fn kept_row(&self, body: &Expr) -> Option<(Ident, TokenStream)> {
        let Expr::Ref(r) = body else { return None };
        if r.adjoint || r.ix.len() != 2 || !self.layout.lse_rows.0.contains(&r.var) {
            return None;
        }
        let Ix::Var(n) = r.ix[0] else { return None };
        (n == Idx::BATCH).then(|| (lse_buffer(r.var), position(r.ix[0])))
    }

    /// When `body` reads a tensor along its last axis `i` and nothing else (a row of logits),
    /// that row as a slice.
    fn contiguous_row(&self, i: Idx, body: &Expr, range: &TokenStream) -> Option<TokenStream> {
        let Expr::Ref(r) = body else {
            return None;
        };
        let (last, outer) = r.ix.split_last()?;
        if *last != Ix::Var(i)
            || outer.contains(&Ix::Var(i))
            || self.substitute.iter().any(|(s, _)| s == r)
        {
            return None;
        }
        let data = slice(self.layout, r.var, r.adjoint, false);
        let start = row_offset(self.layout, r);
        Some(quote!(&#data[#start..][..#range]))
    }

    pub(super) fn expr(&mut self, e: &Expr) -> TokenStream {
        match e {
            Expr::Num(v) => f32_constant(*v),
            Expr::BatchSize => quote!((batch as f32)),
            Expr::Ref(r) => {
                if let Some((_, code)) = self.substitute.iter().find(|(s, _)| s == r) {
                    return code.clone();
                }
                let data = slice(self.layout, r.var, r.adjoint, false);
                let flat = flat_index(self.layout, r);
                if r.var == T {
                    quote!(targets[#flat])
                } else {
                    quote!(#data[#flat])
                }
            }
            Expr::Delta(a, b) => {
                let (a, b) = (position(*a), position(*b));
                quote!((if #a == #b { 1.0f32 } else { 0.0f32 }))
            }
            Expr::Add(ts) => {
                let ts: Vec<TokenStream> = ts.iter().map(|t| self.expr(t)).collect();
                quote!((#(#ts)+*))
            }
            Expr::Mul(fs) => {
                let fs: Vec<TokenStream> = fs.iter().map(|f| self.expr(f)).collect();
                product(fs, quote!(1.0f32))
            }
            Expr::Pow(b, p) => {
                let base = self.expr(b);
                match p.as_ref() {
                    Expr::Num(v) if v.fract() == 0.0 && v.abs() < 64.0 => {
                        let n = Literal::i32_unsuffixed(*v as i32);
                        quote!(#base.powi(#n))
                    }
                    other => {
                        let p = self.expr(other);
                        quote!(#base.powf(#p))
                    }
                }
            }
            Expr::Call(f, args) => {
                let a: Vec<TokenStream> = args.iter().map(|x| self.expr(x)).collect();
                let x = &a[0];
                match f {
                    Prim::Exp => quote!(::mlp_runtime::scalar::exp(#x)),
                    Prim::Log => quote!(#x.ln()),
                    Prim::Sqrt => quote!(#x.sqrt()),
                    Prim::Abs => quote!(#x.abs()),
                    Prim::Tanh => quote!(::mlp_runtime::scalar::tanh(#x)),
                    Prim::Sigmoid => quote!(::mlp_runtime::scalar::sigmoid(#x)),
                    Prim::Erf => quote!(::mlp_runtime::scalar::erf(#x)),
                    Prim::Max => {
                        let y = &a[1];
                        quote!(#x.max(#y))
                    }
                    Prim::Min => {
                        let y = &a[1];
                        quote!(#x.min(#y))
                    }
                    Prim::Step => quote!(::mlp_runtime::scalar::step(#x)),
                    Prim::Sign => quote!(::mlp_runtime::scalar::sign(#x)),
                    Prim::Softplus => quote!(::mlp_runtime::scalar::softplus(#x)),
                }
            }
            Expr::Sum(i, body) => {
                let range = self.range(*i, body);
                let var = loop_var(*i);
                let inner = self.nested(body);
                let code = quote!({
                    let mut acc = 0.0f32;
                    for #var in 0..#range {
                        acc += #inner;
                    }
                    acc
                });
                self.reduction(e, code)
            }
            Expr::Lse(i, body) => {
                let range = self.range(*i, body);
                if let Some(row) = self.contiguous_row(*i, body, &range) {
                    let computed = quote!(::mlp_runtime::scalar::log_sum_exp_row(#row));
                    let code = match (self.kept_row(body), self.layout.lse_rows.1) {
                        (Some((field, n)), Some(Cache::Store)) => quote!({
                            let v = #computed;
                            ws.#field[#n] = v;
                            v
                        }),
                        (Some((field, n)), Some(Cache::Load)) => quote!(ws.#field[#n]),
                        _ => computed,
                    };
                    return self.reduction(e, code);
                }
                let var = loop_var(*i);
                let inner = self.nested(body);
                let code =
                    quote!(::mlp_runtime::scalar::log_sum_exp((0..#range).map(|#var| #inner)));
                self.reduction(e, code)
            }
            Expr::Softmax { .. } => self.expr(&expand_softmax(e)),
        }
    }
}
