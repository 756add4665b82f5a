//! Equations → Rust statements. A matrix product becomes a call of the runtime's GEMM with
//! the transposes [`crate::lower`] found; every other equation is compiled from its index
//! expression into loops, with reductions that do not depend on the inner index (a row's
//! `lse`, a row sum) computed once per row.

use crate::forward::{Program, Role, T};
use crate::ir::{Dim, Equation, Expr, Idx, Ix, Prim, Ref, Var};
use crate::lower::{Kernel, lower};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

/// Where each tensor lives in generated code.
pub struct Layout<'p> {
    /// The program.
    pub program: &'p Program,
    /// Offsets of the parameters in the flat parameter vector, in state_dict order.
    pub offsets: Vec<(Var, usize)>,
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
        Layout { program, offsets }
    }

    /// The offset of a parameter in the flat parameter vector.
    pub fn offset(&self, var: Var) -> Option<usize> {
        self.offsets
            .iter()
            .find(|(v, _)| *v == var)
            .map(|(_, o)| *o)
    }

    fn shape(&self, var: Var) -> &[Dim] {
        &self
            .program
            .tensor(var)
            .unwrap_or_else(|| panic!("no tensor {var:?}"))
            .shape
    }

    fn is_param(&self, var: Var) -> bool {
        self.program
            .tensor(var)
            .is_some_and(|t| t.role == Role::Param)
    }

    /// Tokens for the size of an axis.
    fn dim(&self, d: Dim) -> TokenStream {
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
fn slice(layout: &Layout<'_>, var: Var, adjoint: bool, mutable: bool) -> TokenStream {
    if var == crate::forward::X {
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
            (false, _) => quote!(params[#off..#off + #len]),
        };
    }
    let field = buffer(var, adjoint);
    quote!(ws.#field[..])
}

/// The statements that compute `eq`.
pub fn equation(layout: &Layout<'_>, eq: &Equation) -> TokenStream {
    let lowered = lower(eq, layout.program);
    let comment = format!(" {eq}   [{}]", lowered.matrix);
    let body = match &lowered.kernel {
        Kernel::Gemm {
            a,
            b,
            contracted,
            bias,
        } => gemm(layout, eq, a, b, *contracted, bias.as_ref()),
        Kernel::BatchSum { input } => batch_sum(layout, eq, input),
        _ => loops(layout, eq),
    };
    quote! {
        #[doc = #comment]
        { #body }
    }
}

fn gemm(
    layout: &Layout<'_>,
    eq: &Equation,
    a: &crate::lower::Operand,
    b: &crate::lower::Operand,
    k: Idx,
    bias: Option<&Ref>,
) -> TokenStream {
    let out_shape = layout.shape(eq.lhs.var);
    let (m, n) = (layout.dim(out_shape[0]), layout.dim(out_shape[1]));
    let k_dim = a
        .tensor
        .ix
        .iter()
        .position(|x| *x == Ix::Var(k))
        .map(|p| layout.shape(a.tensor.var)[p])
        .expect("the contracted index indexes A");
    let k_tokens = layout.dim(k_dim);
    let mat = |o: &crate::lower::Operand| {
        let data = slice(layout, o.tensor.var, o.tensor.adjoint, false);
        let cols = layout.dim(layout.shape(o.tensor.var)[1]);
        if o.transposed {
            quote!(::mlp_runtime::gemm::Mat::transposed(&#data, #cols))
        } else {
            quote!(::mlp_runtime::gemm::Mat::rows(&#data, #cols))
        }
    };
    let out = slice(layout, eq.lhs.var, eq.lhs.adjoint, true);
    let stored = |o: &crate::lower::Operand| super::small::Stored {
        data: slice(layout, o.tensor.var, o.tensor.adjoint, false),
        cols: match layout.shape(o.tensor.var)[1] {
            Dim::Fixed(c) => c,
            Dim::Batch => unreachable!("a matrix's columns are fixed"),
        },
        transposed: o.transposed,
    };
    let bias_slice = bias.map(|b| slice(layout, b.var, false, false));
    if let Some(code) = super::small::product(
        out_shape[0],
        out_shape[1],
        k_dim,
        &stored(a),
        &stored(b),
        &out,
        bias_slice.as_ref(),
    ) {
        return code;
    }
    let (ma, mb) = (mat(a), mat(b));
    let mut code = quote! {
        ::mlp_runtime::gemm::gemm(#m, #n, #k_tokens, #ma, #mb, &mut #out, #n, false);
    };
    if let Some(bias) = bias {
        let b = slice(layout, bias.var, false, false);
        code.extend(quote! {
            let bias = &#b;
            for row in #out.chunks_exact_mut(#n) {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += *b;
                }
            }
        });
    }
    code
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
fn loops(layout: &Layout<'_>, eq: &Equation) -> TokenStream {
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
    };
    if idx.is_empty() {
        let value = cx.expr(&rhs);
        let top = cx.take_hoistable(&[]);
        return quote! { #(#top)* #out[0] = #value; };
    }
    // Innermost: the element.
    let flat = flat_index(layout, &eq.lhs);
    let mut body = {
        let value = cx.expr(&rhs);
        quote! { #out[#flat] = #value; }
    };
    // Wrap loops from the inside out; ahead of each, what it does not change.
    for level in (0..idx.len()).rev() {
        let bound: Vec<Idx> = idx[..level].to_vec();
        let hoist = cx.take_hoistable(&bound);
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

fn loop_var(i: Idx) -> Ident {
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

struct Code<'a, 'p> {
    layout: &'a Layout<'p>,
    /// Reductions computed ahead of a loop: the expression, its variable, its code, and
    /// whether it has been emitted.
    hoisted: Vec<(Expr, Ident, TokenStream, bool)>,
    /// The loop indices a reduction may depend on and still be hoisted: all but the innermost.
    outer: Vec<Idx>,
    /// Inside a sum: reductions are computed in place.
    inline: bool,
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
        };
        inner.expr(body)
    }

    fn expr(&mut self, e: &Expr) -> TokenStream {
        match e {
            Expr::Num(v) => {
                let lit = Literal::f32_suffixed(*v as f32);
                quote!(#lit)
            }
            Expr::BatchSize => quote!((batch as f32)),
            Expr::Ref(r) => {
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
                    Prim::Exp => quote!(#x.exp()),
                    Prim::Log => quote!(#x.ln()),
                    Prim::Sqrt => quote!(#x.sqrt()),
                    Prim::Abs => quote!(#x.abs()),
                    Prim::Tanh => quote!(#x.tanh()),
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
