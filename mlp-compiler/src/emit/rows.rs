//! The rows an equation's innermost loop reads and writes along its index: sliced once ahead
//! of the loop, which then indexes them without bounds arithmetic and vectorizes; and, for a
//! short row of costly elements, copied into a row padded to whole vectors.

use super::layout::{Layout, slice};
use crate::ir::{Dim, Expr, Idx, Ix, Prim, Ref};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

/// The loop variable of an index: `i_n0` for `n`.
pub(super) fn loop_var(i: Idx) -> Ident {
    format_ident!("i_{}{}", i.letter, i.primes)
}

/// A position in a tensor: a loop variable, or the target label of one (`targets[i_n0]`).
pub(super) fn position(x: Ix) -> TokenStream {
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

/// Where the row of `r` along its last axis starts, row-major: `((i₀·d₁ + i₁)·d₂ + …)·d_last`
/// over its other positions.
pub(super) fn row_offset(layout: &Layout<'_>, r: &Ref) -> TokenStream {
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

/// One row: the reference it is of, its name in the loop, the tensor's data, where the row
/// starts, and whether the loop writes it.
struct Row {
    of: Ref,
    name: Ident,
    data: TokenStream,
    start: TokenStream,
    written: bool,
}

/// The rows of an innermost loop over `inner`, whose range is `width` elements.
pub(super) struct Rows {
    inner: Idx,
    width: Dim,
    list: Vec<Row>,
    /// The width the loop runs over, when the rows are padded to whole vectors.
    padded: Option<usize>,
    /// The written row is built in a local array and stored whole after the loop
    /// ([`Rows::stage_short`]).
    staged: bool,
}

/// The widest written row that [`Rows::stage_short`] builds in a local array.
const STAGE_LIMIT: usize = 64;

impl Rows {
    /// No rows yet, for a loop over `inner` of `width` elements.
    pub(super) fn new(inner: Idx, width: Dim) -> Self {
        Rows {
            inner,
            width,
            list: Vec::new(),
            padded: None,
            staged: false,
        }
    }

    /// When `r` is indexed by `inner` last and by loop indices of `idx` (not `inner`) before,
    /// its row named `name`: the code that reads or writes its element in the loop.
    pub(super) fn add(
        &mut self,
        layout: &Layout<'_>,
        r: &Ref,
        idx: &[Idx],
        written: bool,
        name: Ident,
    ) -> Option<TokenStream> {
        let (last, outer) = r.ix.split_last()?;
        let loop_index = |x: &Ix| matches!(x, Ix::Var(o) if *o != self.inner && idx.contains(o));
        if *last != Ix::Var(self.inner) || !outer.iter().all(loop_index) {
            return None;
        }
        let (start, data) = (
            row_offset(layout, r),
            slice(layout, r.var, r.adjoint, written),
        );
        let v = loop_var(self.inner);
        let code = quote!(#name[#v]);
        self.list.push(Row {
            of: r.clone(),
            name,
            data,
            start,
            written,
        });
        Some(code)
    }

    /// Pads the rows to a whole number of vectors where that pays and is safe:
    /// - the rows' width is fixed, above 4 (fewer run as fast one by one), at most 256, and
    ///   below 16 or not a multiple of 8;
    /// - the body calls a costly function ([`costly`]): LLVM unrolls a loop of fewer than 16
    ///   trips completely and then computes it one lane at a time (10 scalar `exp`s for a
    ///   softmax over 10 logits, 8 scalar `tanh`s for a layer of 8), and leaves the last values
    ///   of a longer row of odd length to a scalar loop; a padded loop runs as whole vectors;
    /// - the loop writes a row, and reads along `inner` only through its rows (no label of it
    ///   either), so that the padding lanes read the zeros of the padded copies, never past a
    ///   tensor. Their results are dropped.
    pub(super) fn pad_if_costly(&mut self, body: &Expr) {
        let Dim::Fixed(width) = self.width else {
            return;
        };
        let written = self.list.iter().any(|r| r.written);
        let odd = width < 16 || !width.is_multiple_of(8);
        if width <= 4 || !odd || width > 256 || !written || !costly(body) {
            return;
        }
        let mut through_rows = true;
        let label = Ix::Label(self.inner);
        body.visit(&mut |e| match e {
            Expr::Ref(r) if r.ix.iter().any(|x| x.idx() == self.inner) => {
                through_rows &= self.list.iter().any(|row| !row.written && row.of == *r);
            }
            // `targets[i]` for the inner index i would read past the targets.
            Expr::Delta(a, b) if *a == label || *b == label => through_rows = false,
            _ => {}
        });
        if through_rows {
            self.padded = Some(width.next_multiple_of(16));
        }
    }

    /// Builds a short written row (a fixed width of at most [`STAGE_LIMIT`]) in a local array,
    /// stored whole after the loop, when `body` does not read the written tensor. Two reasons:
    /// - the local array cannot alias the rows read, so LLVM vectorizes the loop without the
    ///   run-time overlap checks it does not emit for so few trips (a slice of the workspace
    ///   might overlap another; it then computes one lane at a time);
    /// - the row leaves in whole vectors, so that a later vector load of it is forwarded from
    ///   one store; a load that spans several smaller stores waits until they reach the cache.
    pub(super) fn stage_short(&mut self, body: &Expr) {
        let Dim::Fixed(width) = self.width else {
            return;
        };
        let Some(written) = self.list.iter().find(|r| r.written) else {
            return;
        };
        let mut reads_written = false;
        body.visit(&mut |e| {
            if let Expr::Ref(r) = e {
                reads_written |= r.var == written.of.var && r.adjoint == written.of.adjoint;
            }
        });
        self.staged = width <= STAGE_LIMIT && !reads_written;
    }

    /// The loop's range: the rows' width, or the padded width.
    pub(super) fn range(&self, layout: &Layout<'_>) -> TokenStream {
        match self.padded {
            Some(w) => {
                let w = Literal::usize_unsuffixed(w);
                quote!(#w)
            }
            None => layout.dim(self.width),
        }
    }

    /// The statements ahead of the loop: each row sliced, or copied into its padded row.
    pub(super) fn ahead(&self, layout: &Layout<'_>) -> Vec<TokenStream> {
        let range = layout.dim(self.width);
        let padded = self.padded.map(Literal::usize_unsuffixed);
        let ahead = |r: &Row| {
            let (name, data, start) = (&r.name, &r.data, &r.start);
            match (&padded, r.written) {
                (None, true) if self.staged => quote!(let mut #name = [0.0f32; #range];),
                (None, true) => quote!(let #name = &mut #data[#start..][..#range];),
                (None, false) => quote!(let #name = &#data[#start..][..#range];),
                (Some(w), true) => quote!(let mut #name = [0.0f32; #w];),
                (Some(w), false) => quote! {
                    let #name = ::mlp_runtime::scalar::padded::<#w>(&#data[#start..][..#range]);
                },
            }
        };
        self.list.iter().map(ahead).collect()
    }

    /// The statements after the loop: a padded row written back, its padding dropped, or a
    /// staged row written back whole.
    pub(super) fn after(&self, layout: &Layout<'_>) -> Vec<TokenStream> {
        if self.padded.is_none() && !self.staged {
            return Vec::new();
        }
        let range = layout.dim(self.width);
        let back = |r: &Row| {
            let (name, data, start) = (&r.name, &r.data, &r.start);
            quote!(#data[#start..][..#range].copy_from_slice(&#name[..#range]);)
        };
        self.list.iter().filter(|r| r.written).map(back).collect()
    }
}

/// Whether padding pays for `e`: it calls a function that LLVM computes one lane at a time in
/// a short unrolled loop and as whole vectors in a padded one (the runtime's polynomial `exp`,
/// `tanh` and `sigmoid`; a user's function counts by its body), and nothing the vectorizer
/// cannot see into (libm's `log`, `erf`, `log1p` and `powf` stay scalar calls whatever the
/// loop's shape, so padding would only add calls).
fn costly(e: &Expr) -> bool {
    let (mut polynomial, mut opaque) = (false, false);
    scan(e, &mut polynomial, &mut opaque);
    polynomial && !opaque
}

/// Notes in `polynomial` and `opaque` what [`costly`] asks of `e` and of the bodies of the
/// functions it calls.
fn scan(e: &Expr, polynomial: &mut bool, opaque: &mut bool) {
    e.visit(&mut |e| match e {
        Expr::Call(f, _) => match f {
            Prim::Exp | Prim::Tanh | Prim::Sigmoid => *polynomial = true,
            Prim::Log | Prim::Erf | Prim::Softplus | Prim::LogAddExp => *opaque = true,
            Prim::Apply(g) => scan(&g.body, &mut *polynomial, &mut *opaque),
            Prim::Derivative(g) => scan(&g.derivative, &mut *polynomial, &mut *opaque),
            Prim::Sqrt | Prim::Abs | Prim::Max | Prim::Min | Prim::Step | Prim::Sign => {}
        },
        // `powi` for a small whole exponent (multiplies), else `powf`.
        Expr::Pow(_, p) if !matches!(**p, Expr::Num(v) if v.fract() == 0.0 && v.abs() < 64.0) => {
            *opaque = true;
        }
        _ => {}
    });
}
