//! A matrix product as generated code: a call of the runtime's GEMM with the transposes
//! lowering found, or fully unrolled for tiny shapes ([`super::small`]); and the fusion of the
//! elementwise equation that follows a product (an activation, a derivative mask) into the
//! GEMM's epilogue, which runs on each finished block of the product while it is in cache.

use super::layout::{Layout, slice};
use super::loops::Code;
use super::rows::loop_var;
use crate::ir::{Dim, Equation, Expr, Idx, Ix, Ref};
use crate::lower::Kernel;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// Whether `then` can run in the epilogue of the product `eq`: `eq` is a product, `then` is elementwise over the same shape, reads `eq`'s output only at its own element,
/// and does not read what it writes.
pub(super) fn fusable(layout: &Layout<'_>, eq: &Equation, then: &Equation) -> bool {
    let Kernel::Gemm { .. } = layout.lowering.of(eq).kernel else {
        return false;
    };
    if layout.lowering.of(then).kernel != Kernel::Elementwise {
        return false;
    }
    let shape = layout.shape(eq.lhs.var);
    if shape.len() != 2
        || layout.shape(then.lhs.var) != shape
        || then.lhs.ix.iter().any(|x| !matches!(x, Ix::Var(_)))
    {
        return false;
    }
    let mut ok = true;
    then.rhs.visit(&mut |e| {
        if let Expr::Ref(r) = e {
            let produced = r.var == eq.lhs.var && r.adjoint == eq.lhs.adjoint;
            let written = r.var == then.lhs.var && r.adjoint == then.lhs.adjoint;
            ok &= !written && (!produced || r.ix == then.lhs.ix);
        }
    });
    ok
}

/// A matrix product as [`lower`] found it.
pub(super) struct Product<'e> {
    pub(super) eq: &'e Equation,
    pub(super) a: &'e crate::lower::Operand,
    pub(super) b: &'e crate::lower::Operand,
    pub(super) k: Idx,
    pub(super) bias: Option<&'e Ref>,
}

/// The shape `(m, n, k)` of the product `p`: its output's rows and columns, and the size of
/// the contracted index.
pub(super) fn dims(layout: &Layout<'_>, p: &Product<'_>) -> (Dim, Dim, Dim) {
    let out_shape = layout.shape(p.eq.lhs.var);
    let k_dim =
        p.a.tensor
            .ix
            .iter()
            .position(|x| *x == Ix::Var(p.k))
            .map(|q| layout.shape(p.a.tensor.var)[q])
            .expect("the contracted index indexes A");
    (out_shape[0], out_shape[1], k_dim)
}

/// The product `p`, into `out`, unrolled when it is small enough ([`super::small`]).
fn unrolled(
    layout: &Layout<'_>,
    p: &Product<'_>,
    k_dim: Dim,
    out: &TokenStream,
    bias: Option<&TokenStream>,
) -> Option<TokenStream> {
    let out_shape = layout.shape(p.eq.lhs.var);
    let stored = |o: &crate::lower::Operand| super::small::Stored {
        data: slice(layout, o.tensor.var, o.tensor.adjoint, false),
        cols: match layout.shape(o.tensor.var)[1] {
            Dim::Fixed(c) => c,
            Dim::Batch => unreachable!("a matrix's columns are fixed"),
        },
        transposed: o.transposed,
    };
    super::small::product(
        (out_shape[0], out_shape[1], k_dim),
        &stored(p.a),
        &stored(p.b),
        out,
        bias,
        &layout.unroll,
    )
}

/// A product as a GEMM call whose epilogue adds the bias and computes `then` (`Ok`), or fully
/// unrolled (`Err`, without `then`).
pub(super) fn gemm(
    layout: &Layout<'_>,
    p: &Product<'_>,
    then: Option<&Equation>,
) -> Result<TokenStream, TokenStream> {
    let (eq, a, b) = (p.eq, p.a, p.b);
    let out_shape = layout.shape(eq.lhs.var);
    let (m, n) = (layout.dim(out_shape[0]), layout.dim(out_shape[1]));
    let (_, _, k_dim) = dims(layout, p);
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
    let bias_slice = p.bias.map(|b| slice(layout, b.var, false, false));
    if let Some(code) = unrolled(layout, p, k_dim, &out, bias_slice.as_ref()) {
        return Err(code);
    }
    let (ma, mb) = (mat(a), mat(b));
    if bias_slice.is_none() && then.is_none() {
        if layout.updates(eq) {
            // A weight gradient: a descending optimizer's step happens in the product, any
            // other optimizer's right after it.
            let (off, len) = layout.range(eq.lhs.var);
            return Ok(quote! {
                ::mlp_runtime::gemm::gemm_descend(
                    #m, #n, #k_tokens, #ma, #mb, &mut #out, #n, params.descend(#off..#off + #len),
                );
                params.finish_product(#off..#off + #len, &grad[#off..#off + #len]);
            });
        }
        return Ok(quote! {
            ::mlp_runtime::gemm::gemm(#m, #n, #k_tokens, #ma, #mb, &mut #out, #n, false);
        });
    }
    let add_bias = bias_slice.map(|b| {
        quote! {
            let bias = &#b[col..col + len];
            for j in 0..len {
                c[j] += bias[j];
            }
        }
    });
    let (second, d) = match then {
        Some(then) => {
            let (code, d) = epilogue(layout, eq, then);
            (code, d)
        }
        None => (quote!(), quote!(&mut [])),
    };
    let row = then
        .map(|t| loop_var(t.lhs.ix[0].idx()))
        .unwrap_or_else(|| format_ident!("row"));
    Ok(quote! {
        ::mlp_runtime::gemm::gemm_then(
            #m, #n, #k_tokens, #ma, #mb, &mut #out, #n, #d,
            #[inline(always)] |#row: usize, col: usize, c: &mut [f32], d: &mut [f32]| {
                let len = c.len();
                let c = &mut c[..len];
                #add_bias
                #second
            },
        );
    })
}

/// The epilogue's code for `then` (a [`fusable`] follower of `eq`) and its output slice: each
/// read of `eq`'s output becomes `c[j]`, each read of another tensor at the same element a
/// stretch of that tensor's row sliced once, anything else an indexed read.
fn epilogue(layout: &Layout<'_>, eq: &Equation, then: &Equation) -> (TokenStream, TokenStream) {
    let shape = layout.shape(then.lhs.var);
    let cols = layout.dim(shape[1]);
    let (row, inner) = (then.lhs.ix[0].idx(), then.lhs.ix[1].idx());
    let (row_var, inner_var) = (loop_var(row), loop_var(inner));
    let mut rows = Vec::new();
    let produced = Ref {
        ix: then.lhs.ix.clone(),
        ..eq.lhs.clone()
    };
    let mut substitute = vec![(produced, quote!(c[j]))];
    then.rhs.visit(&mut |e| {
        if let Expr::Ref(r) = e
            && r.ix == then.lhs.ix
            && !substitute.iter().any(|(s, _)| s == r)
        {
            let name = format_ident!("s{}", rows.len());
            let data = slice(layout, r.var, r.adjoint, false);
            rows.push(quote! {
                let #name = &#data[#row_var * #cols + col..][..len];
            });
            substitute.push((r.clone(), quote!(#name[j])));
        }
    });
    let mut cx = Code {
        layout,
        hoisted: Vec::new(),
        outer: Vec::new(),
        inline: true,
        substitute,
        in_pass: false,
        sample: Default::default(),
        depth: 0,
    };
    let value = cx.expr(&then.rhs);
    let code = quote! {
        let d = &mut d[..len];
        #(#rows)*
        for j in 0..len {
            let #inner_var = col + j;
            d[j] = #value;
        }
    };
    let out = slice(layout, then.lhs.var, then.lhs.adjoint, true);
    (code, quote!(&mut #out))
}
