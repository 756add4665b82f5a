//! An equation compiled from its index expression into loops, with reductions that do not
//! depend on the inner index (a row's `lse`, a row sum) computed once per row, and the rows
//! read along the innermost index sliced ahead of the innermost loop (or, for a short row of
//! costly elements, copied into rows padded to whole vectors: [`super::rows`]).

use super::layout::{Cache, Layout, f32_constant, lse_buffer, product, slice};
use super::rows::{Rows, loop_var, position, row_offset};
use crate::autodiff::forward::T;
use crate::ir::{Equation, Expr, Function, Idx, Ix, Prim, Ref, Var};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

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
        in_pass: true,
        sample: Sample::default(),
        depth: 0,
    };
    if idx.is_empty() {
        let value = cx.expr(&rhs);
        let top = cx.take_hoistable(&[]);
        return quote! { #(#top)* #out[0] = #value; };
    }
    // Innermost: the element. The rows it reads along the innermost index (and the row it
    // writes) are sliced once ahead of the innermost loop, which then indexes them without
    // bounds arithmetic and vectorizes; short rows of costly elements are padded.
    let inner = *idx.last().expect("not empty");
    let mut rows = Rows::new(inner, *shape.last().expect("not empty"));
    let target = rows
        .add(layout, &eq.lhs, &idx, true, format_ident!("out"))
        .unwrap_or_else(|| {
            let flat = flat_index(layout, &eq.lhs);
            quote!(#out[#flat])
        });
    rhs.visit(&mut |e| {
        if let Expr::Ref(r) = e
            && r.var != T
            && !(r.var == eq.lhs.var && r.adjoint == eq.lhs.adjoint)
            && !cx.substitute.iter().any(|(s, _)| s == r)
        {
            let name = format_ident!("s{}", cx.substitute.len());
            if let Some(code) = rows.add(layout, r, &idx, false, name) {
                cx.substitute.push((r.clone(), code));
            }
        }
    });
    rows.pad_if_costly(&rhs);
    rows.stage_short(&rhs);
    let mut body = {
        let value = cx.expr(&rhs);
        quote! { #target = #value; }
    };
    // Wrap loops from the inside out; ahead of each, what it does not change.
    for level in (0..idx.len()).rev() {
        let bound: Vec<Idx> = idx[..level].to_vec();
        let mut hoist = cx.take_hoistable(&bound);
        let var = loop_var(idx[level]);
        let mut after = Vec::new();
        let range = if level + 1 == idx.len() {
            hoist.append(&mut rows.ahead(layout));
            after = rows.after(layout);
            rows.range(layout)
        } else {
            layout.dim(shape[level])
        };
        // What depends only on the outer indices is computed once, ahead of this loop.
        body = quote! {
            #(#hoist)*
            for #var in 0..#range {
                #body
            }
            #(#after)*
        };
    }
    let top = cx.take_hoistable(&[]);
    quote! { #(#top)* #body }
}

/// `softmaxⱼ(e)ₖ = exp(e[j:=k] − lseⱼ(e))`: the normalizer becomes a reduction that is the
/// same for the whole row, so it can be computed once per row.
pub(super) fn expand_softmax(e: &Expr) -> Expr {
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
    /// In a pass's closure, which receives how it is compiled as `compiled`
    /// (`mlp_runtime::scalar::Compiled`): the runtime's polynomials are called through it,
    /// fused where the path has FMA. Elsewhere (an epilogue, a user's function) they are
    /// called plain.
    pub(super) in_pass: bool,
    /// In a fused step (`fused.rs`): the current sample's rows held in local arrays,
    /// and the sums over the batch accumulated in locals.
    pub(super) sample: Sample,
    /// How many reductions this code is the body of: names its hoisted reductions apart from
    /// those of the code around it (`r0`, then `r1_0` inside a sum, …).
    pub(super) depth: usize,
}

/// What a fused step (`fused.rs`) holds in locals for the sample it computes.
#[derive(Clone, Default)]
pub(super) struct Sample {
    /// Each tensor whose rows are the samples (and adjoint, by flag) with the local array
    /// that holds the current sample's row.
    pub(super) rows: Vec<(Var, bool, Ident)>,
    /// Sums over the batch, each with the local that accumulates it.
    pub(super) sums: Vec<(Expr, Ident)>,
}

impl Sample {
    /// Whether the code is a fused step's (which holds at least the sample's input row):
    /// then the kept row normalizers are locals, named as their workspace fields.
    pub(super) fn fused(&self) -> bool {
        !self.rows.is_empty()
    }

    /// The local holding the row `r` reads, when `r` reads the current sample's row.
    pub(super) fn row(&self, r: &Ref) -> Option<&Ident> {
        if r.ix.len() != 2 || r.ix[0] != Ix::Var(Idx::BATCH) {
            return None;
        }
        let found = self
            .rows
            .iter()
            .find(|(v, a, _)| *v == r.var && *a == r.adjoint);
        found.map(|(.., local)| local)
    }
}

impl Code<'_, '_> {
    /// The hoisted reductions whose free indices are all among `bound` and that are not yet
    /// emitted; marks them emitted.
    pub(super) fn take_hoistable(&mut self, bound: &[Idx]) -> Vec<TokenStream> {
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
        let var = match self.depth {
            0 => format_ident!("r{}", self.hoisted.len()),
            d => format_ident!("r{d}_{}", self.hoisted.len()),
        };
        self.hoisted.push((e.clone(), var.clone(), code, false));
        quote!(#var)
    }

    /// The body of a reduction over `i`, and the statements to run ahead of its loop: what
    /// the body reduces without reading `i` (a row's `lse` inside a sum over the row's
    /// classes) is computed there, once, and anything else in place.
    fn nested(&mut self, i: Idx, body: &Expr) -> (Vec<TokenStream>, TokenStream) {
        let outer: Vec<Idx> = body.free().into_iter().filter(|x| *x != i).collect();
        let mut inner = Code {
            layout: self.layout,
            hoisted: Vec::new(),
            outer: outer.clone(),
            inline: false,
            substitute: self.substitute.clone(),
            in_pass: self.in_pass,
            sample: self.sample.clone(),
            depth: self.depth + 1,
        };
        let code = inner.expr(body);
        (inner.take_hoistable(&outer), code)
    }

    /// Where a kept row normalizer over `body` lives (a row of a matrix whose `lse` the loss
    /// keeps, indexed by the sample): its workspace field at the sample's row, or, in a fused
    /// step, the local named as that field.
    fn kept_row(&self, body: &Expr) -> Option<TokenStream> {
        let Expr::Ref(r) = body else { return None };
        if r.adjoint || r.ix.len() != 2 || !self.layout.lse_rows.0.contains(&r.var) {
            return None;
        }
        let Ix::Var(n) = r.ix[0] else { return None };
        let field = lse_buffer(r.var);
        let at = position(r.ix[0]);
        (n == Idx::BATCH).then(|| {
            if self.sample.fused() {
                quote!(#field)
            } else {
                quote!(ws.#field[#at])
            }
        })
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
        if let Some(local) = self.sample.row(r) {
            return Some(quote!(&#local[..]));
        }
        let data = slice(self.layout, r.var, r.adjoint, false);
        let start = row_offset(self.layout, r);
        Some(quote!(&#data[#start..][..#range]))
    }

    pub(super) fn expr(&mut self, e: &Expr) -> TokenStream {
        if let Some((_, sum)) = self.sample.sums.iter().find(|(s, _)| s == e) {
            return quote!(#sum);
        }
        match e {
            Expr::Num(v) => f32_constant(*v),
            Expr::BatchSize => quote!((batch as f32)),
            Expr::Ref(r) => {
                if let Some((_, code)) = self.substitute.iter().find(|(s, _)| s == r) {
                    return code.clone();
                }
                if let Some(local) = self.sample.row(r) {
                    let at = position(r.ix[1]);
                    return quote!(#local[#at]);
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
                call(f, &a, self.in_pass)
            }
            Expr::Sum(i, body) => {
                let range = self.range(*i, body);
                let var = loop_var(*i);
                let (ahead, inner) = self.nested(*i, body);
                let code = quote!({
                    #(#ahead)*
                    let mut acc = 0.0f32;
                    for #var in 0..#range {
                        acc += #inner;
                    }
                    acc
                });
                self.reduction(e, code)
            }
            Expr::Lse(i, body) => self.lse(e, *i, body),
            Expr::Softmax { .. } => self.expr(&expand_softmax(e)),
        }
    }

    /// `lseᵢ(body)`: over a contiguous row, the runtime's row kernel, whose result the loss
    /// keeps for the backward pass when it asks; otherwise a loop.
    fn lse(&mut self, e: &Expr, i: Idx, body: &Expr) -> TokenStream {
        let range = self.range(i, body);
        if let Some(row) = self.contiguous_row(i, body, &range) {
            let computed = if self.in_pass {
                quote!(compiled.log_sum_exp_row(#row))
            } else {
                quote!(::mlp_runtime::scalar::log_sum_exp_row(#row))
            };
            let code = match (self.kept_row(body), self.layout.lse_rows.1) {
                (Some(place), Some(Cache::Store)) => quote!({
                    let v = #computed;
                    #place = v;
                    v
                }),
                (Some(place), Some(Cache::Load)) => place,
                _ => computed,
            };
            return self.reduction(e, code);
        }
        let var = loop_var(i);
        let (ahead, inner) = self.nested(i, body);
        let code = quote!({
            #(#ahead)*
            ::mlp_runtime::scalar::log_sum_exp((0..#range).map(|#var| #inner))
        });
        self.reduction(e, code)
    }
}

/// A scalar primitive applied to its arguments' code `a`; the runtime's polynomials through
/// `compiled` when `in_pass` ([`Code::in_pass`]).
fn call(f: &Prim, a: &[TokenStream], in_pass: bool) -> TokenStream {
    let x = &a[0];
    let polynomial = |name: &str| {
        let name = format_ident!("{name}");
        if in_pass {
            quote!(compiled.#name(#x))
        } else {
            quote!(::mlp_runtime::scalar::#name(#x))
        }
    };
    match f {
        Prim::Exp => polynomial("exp"),
        Prim::Log => quote!(#x.ln()),
        Prim::Sqrt => quote!(#x.sqrt()),
        Prim::Abs => quote!(#x.abs()),
        Prim::Tanh => polynomial("tanh"),
        Prim::Sigmoid => polynomial("sigmoid"),
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
        Prim::LogAddExp => {
            let y = &a[1];
            quote!(::mlp_runtime::scalar::logaddexp(#x, #y))
        }
        Prim::Apply(g) => {
            let f = function_ident(g, false);
            quote!(Self::#f(#x))
        }
        Prim::Derivative(g) => {
            let f = function_ident(g, true);
            quote!(Self::#f(#x))
        }
    }
}

/// The generated name of a user's function (`act_b2`) or of its derivative (`dact_b2`).
fn function_ident(f: &Function, derivative: bool) -> Ident {
    let prefix = if derivative { "dact" } else { "act" };
    format_ident!("{prefix}_{}", f.name)
}

/// A user's function and its derivative as two associated functions of `f32`.
pub(super) fn function(layout: &Layout<'_>, f: &Function) -> TokenStream {
    let mut cx = Code {
        layout,
        hoisted: Vec::new(),
        outer: Vec::new(),
        inline: true,
        substitute: vec![(Function::argument(), quote!(x))],
        in_pass: false,
        sample: Sample::default(),
        depth: 0,
    };
    let (value, slope) = (cx.expr(&f.body), cx.expr(&f.derivative));
    let (name, prime) = (function_ident(f, false), function_ident(f, true));
    let (doc, doc_prime) = (
        format!(" `{}(x) = {}`", f.name, f.body),
        format!(" `{}(x) = {}`", f.prime, f.derivative),
    );
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[inline]
        fn #name(x: f32) -> f32 {
            #value
        }

        #[doc = #doc_prime]
        #[doc(hidden)]
        #[inline]
        fn #prime(x: f32) -> f32 {
            #slope
        }
    }
}
