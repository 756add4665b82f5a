//! A training step as one loop over the samples, for a network whose passes work on one
//! sample at a time: every product is unrolled ([`super::small`]), every other equation maps
//! a sample's rows to a row of its own, and every sum over the batch is a parameter's
//! gradient or the loss. A sample's values then stay in local arrays, registers for a tiny
//! network, from its input to its terms of the gradient, where the three passes store each
//! row to the workspace and load it back in the next statement: those hops are the latency
//! of a tiny network's step. The statements are the passes' own, in their order, and each
//! sum adds the samples in the same order, so both give the same bits.
//!
//! Otherwise (a product too large to unroll, a sum over the batch anywhere else, an equation
//! that is not per sample, such as a gradient that simplifies to the constant 0, or one that
//! reads a parameter outside a product) the step runs the three passes.

use super::layout::{Layout, buffer, lse_buffer};
use super::loops::{Code, Sample, expand_softmax};
use super::order::PassOrder;
use super::product::{Product, dims};
use super::rows::loop_var;
use super::small::{row_cells, sample_updates, unrolls};
use super::update::finish;
use crate::autodiff::forward::{T, X};
use crate::ir::{Dim, Equation, Expr, Idx, Ix, Ref, Var};
use crate::lower::{Kernel, Operand};
use crate::pipeline::Plan;
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

/// The generated training step and how it was built.
pub(super) struct Step {
    /// `run_step`: the loss of a batch and its gradient, each parameter finished as the
    /// optimizer's `Params` asks.
    pub(super) item: TokenStream,
    /// Whether it is one loop over the samples; if not, it runs the three passes in turn, and
    /// the backward pass is emitted for it.
    pub(super) fused: bool,
}

/// `run_step`, fused into one loop over the samples where the passes allow it, else the
/// forward pass, the loss and the backward pass in turn.
pub(super) fn run_step(c: &Plan, workspace: &Ident, target_elem: &TokenStream) -> Step {
    let order = PassOrder::of(c);
    let fused = fused(&order);
    let is_fused = fused.is_some();
    let (params, body) = match fused {
        // The parameters are finished after the loop.
        Some(fused) => (
            quote!(mut params),
            quote! {
                ::mlp_runtime::simd::vectorized(#[inline(always)] |compiled| { #fused })
            },
        ),
        None => (
            quote!(params),
            quote! {
                Self::run_forward(params.get(), ws, xs, batch);
                let loss = Self::run_loss(params.get(), ws, targets, batch);
                Self::run_backward(params, ws, xs, targets, batch, grad);
                loss
            },
        ),
    };
    // A kept row normalizer's local starts at zero for the compiler's sake: the loss of `ce`
    // stores it inside its loop over the classes, which the compiler cannot prove runs.
    let item = quote! {
        #[doc(hidden)]
        #[allow(unused_assignments)]
        fn run_step(#params: ::mlp_runtime::params::Params<'_>, ws: &mut #workspace, xs: &[f32], targets: &[#target_elem], batch: usize, grad: &mut [f32]) -> f32 {
            #body
        }
    };
    Step {
        item,
        fused: is_fused,
    }
}

/// The fused step's code, whose value is the loss; `None` when some statement does not
/// work on one sample at a time.
fn fused(order: &PassOrder<'_>) -> Option<TokenStream> {
    let mut f = Fused::default();
    let inputs = match order.forward.0.shape(X) {
        [Dim::Batch, Dim::Fixed(n)] => *n,
        _ => return None,
    };
    f.sample.rows.push((X, false, format_ident!("x")));
    for eq in &order.forward.1 {
        f.statement(&order.forward.0, eq)?;
    }
    let loss = f.loss(&order.loss.0, order.loss.1?)?;
    for eq in &order.backward.1 {
        f.statement(&order.backward.0, eq)?;
    }
    let Fused {
        ahead,
        bound,
        body,
        after,
        ..
    } = f;
    let kept = order.kept.iter().map(|v| lse_buffer(*v));
    let inputs = Literal::usize_unsuffixed(inputs);
    let n = loop_var(Idx::BATCH);
    Some(quote! {
        #(#ahead)*
        {
            let values = params.get();
            #(#bound)*
            let xs_rows = xs.as_chunks::<#inputs>().0;
            for #n in 0..batch {
                let x = &xs_rows[#n];
                #(let mut #kept = 0.0f32;)*
                #(#body)*
            }
        }
        #(#after)*
        #loss
    })
}

/// The fused step as it is built, statement by statement.
#[derive(Default)]
struct Fused {
    /// The sample's rows computed so far, and the loss's sums.
    sample: Sample,
    /// Ahead of the loop: the accumulators.
    ahead: Vec<TokenStream>,
    /// Inside the borrow of the parameters, ahead of the loop: their slices.
    bound: Vec<TokenStream>,
    /// The parameters bound.
    params: Vec<Var>,
    /// One sample's statements.
    body: Vec<TokenStream>,
    /// After the loop: the gradients written and finished, in the backward pass's order.
    after: Vec<TokenStream>,
}

impl Fused {
    /// Adds one equation of a pass; `None` if it does not work on one sample at a time.
    fn statement(&mut self, layout: &Layout<'_>, eq: &Equation) -> Option<()> {
        let at = self.body.len();
        self.kernel(layout, eq)?;
        // Each statement named by its equation, as in the passes.
        let comment = format!(" {eq}   [{}]", layout.lowering.of(eq).matrix);
        let first = &mut self.body[at];
        *first = quote!(#[doc = #comment] #first);
        Some(())
    }

    /// Adds the code of one equation of a pass, as [`Fused::statement`].
    fn kernel(&mut self, layout: &Layout<'_>, eq: &Equation) -> Option<()> {
        match &layout.lowering.of(eq).kernel {
            Kernel::Gemm {
                a,
                b,
                contracted,
                bias,
            } => {
                let p = Product {
                    eq,
                    a,
                    b,
                    k: *contracted,
                    bias: bias.as_ref(),
                };
                let shape = dims(layout, &p);
                // The same budget, taken in the same order, as the passes' emission.
                if !unrolls(shape, p.bias.is_some(), &layout.unroll) {
                    return None;
                }
                match shape {
                    (Dim::Batch, Dim::Fixed(n), Dim::Fixed(k)) => self.row(layout, &p, n, k),
                    (Dim::Fixed(m), Dim::Fixed(n), Dim::Batch) => self.outer(layout, &p, m, n),
                    _ => None,
                }
            }
            Kernel::BatchSum { input } => self.column_sum(layout, eq, input),
            _ => self.map(layout, eq),
        }
    }

    /// The slice of parameter `var`, bound once ahead of the loop.
    fn param(&mut self, layout: &Layout<'_>, var: Var) -> Ident {
        let name = buffer(var, false);
        if !self.params.contains(&var) {
            self.params.push(var);
            let (off, len) = layout.range(var);
            self.bound
                .push(quote!(let #name = &values[#off..#off + #len];));
        }
        name
    }

    /// The local holding the sample's row of an operand read as stored.
    fn operand(&self, o: &Operand) -> Option<Ident> {
        if o.transposed {
            return None;
        }
        self.sample.row(&o.tensor).cloned()
    }

    /// A new row of the sample, `width` long, named after the tensor `r` it holds; `None` if
    /// `r` has one already (a tensor written twice).
    fn new_row(&mut self, layout: &Layout<'_>, r: &Ref) -> Option<(Ident, usize)> {
        let [Dim::Batch, Dim::Fixed(width)] = layout.shape(r.var) else {
            return None;
        };
        if self
            .sample
            .rows
            .iter()
            .any(|(v, a, _)| *v == r.var && *a == r.adjoint)
        {
            return None;
        }
        let name = buffer(r.var, r.adjoint);
        self.sample.rows.push((r.var, r.adjoint, name.clone()));
        Some((name, *width))
    }

    /// `C = A·B (+ bias)` with A's rows the samples and B the weights: the sample's row,
    /// unrolled.
    fn row(&mut self, layout: &Layout<'_>, p: &Product<'_>, n: usize, k: usize) -> Option<()> {
        let x = self.operand(p.a)?;
        let weights = &p.b.tensor;
        if weights.adjoint || !layout.is_param(weights.var) {
            return None;
        }
        let &[_, Dim::Fixed(cols)] = layout.shape(weights.var) else {
            return None;
        };
        let w = self.param(layout, weights.var);
        let bias = p.bias.map(|b| {
            let b = self.param(layout, b.var);
            quote!(let bias = #b;)
        });
        let cells = row_cells(n, k, (cols, p.b.transposed), bias.is_some());
        let (name, _) = self.new_row(layout, &p.eq.lhs)?;
        let n = Literal::usize_unsuffixed(n);
        self.body.push(quote! {
            let #name = {
                let x = &#x;
                let weights = #w;
                #bias
                let mut row = [0.0f32; #n];
                #(#cells)*
                row
            };
        });
        Some(())
    }

    /// A weight gradient `Aᵀ·B` summed over the samples: the sample's outer product added to
    /// an accumulator, written to the gradient after the loop.
    fn outer(&mut self, layout: &Layout<'_>, p: &Product<'_>, m: usize, n: usize) -> Option<()> {
        // Aᵀ's columns are A's rows as stored, the samples.
        if !p.a.transposed {
            return None;
        }
        let x = self.sample.row(&p.a.tensor)?.clone();
        let y = self.operand(p.b)?;
        let acc = self.gradient(layout, p.eq)?;
        let updates = sample_updates(m, n);
        self.body.push(quote! {
            {
                let acc = &mut #acc;
                let (x, y) = (&#x, &#y);
                #(#updates)*
            }
        });
        Some(())
    }

    /// A bias's gradient, a column sum over the batch: the sample's row added to an
    /// accumulator.
    fn column_sum(&mut self, layout: &Layout<'_>, eq: &Equation, input: &Ref) -> Option<()> {
        let row = self.sample.row(input)?.clone();
        let acc = self.gradient(layout, eq)?;
        self.body.push(quote! {
            for (o, v) in #acc.iter_mut().zip(&#row) {
                *o += *v;
            }
        });
        Some(())
    }

    /// The accumulator of a parameter's gradient (the whole tensor), and, after the loop, its
    /// gradient written and finished.
    fn gradient(&mut self, layout: &Layout<'_>, eq: &Equation) -> Option<Ident> {
        if !(eq.lhs.adjoint && layout.is_param(eq.lhs.var)) {
            return None;
        }
        let acc = format_ident!("g_{}", buffer(eq.lhs.var, false));
        let (off, cells) = layout.range(eq.lhs.var);
        self.ahead.push(quote!(let mut #acc = [0.0f32; #cells];));
        let finish = finish(layout, eq);
        self.after.push(quote! {
            grad[#off..#off + #cells].copy_from_slice(&#acc);
            #finish
        });
        Some(acc)
    }

    /// An elementwise or row-wise equation: the sample's row, each row reduction it reads
    /// computed once ahead of the row's loop.
    fn map(&mut self, layout: &Layout<'_>, eq: &Equation) -> Option<()> {
        let [Ix::Var(n), Ix::Var(i)] = eq.lhs.ix[..] else {
            return None;
        };
        if n != Idx::BATCH || !self.per_sample(&eq.rhs) {
            return None;
        }
        let rhs = expand_softmax(&eq.rhs);
        let mut cx = self.code(layout, false);
        let value = cx.expr(&rhs);
        let reductions = cx.take_hoistable(&[Idx::BATCH]);
        let (name, width) = self.new_row(layout, &eq.lhs)?;
        let (var, width) = (loop_var(i), Literal::usize_unsuffixed(width));
        self.body.push(quote! {
            let mut #name = [0.0f32; #width];
            {
                #(#reductions)*
                for #var in 0..#width {
                    #name[#var] = #value;
                }
            }
        });
        Some(())
    }

    /// The loss, a function of sums over the batch: each sum's term added for the sample, and
    /// after the loop the loss from the sums. Its code, whose value is the loss.
    fn loss(&mut self, layout: &Layout<'_>, eq: &Equation) -> Option<TokenStream> {
        let mut sums = Vec::new();
        let rest = without_sums(&eq.rhs, &mut sums);
        let mut reads = false;
        rest.visit(&mut |e| reads |= matches!(e, Expr::Ref(_)));
        if reads || sums.is_empty() || !eq.lhs.ix.is_empty() {
            return None;
        }
        for (k, sum) in sums.iter().enumerate() {
            let Expr::Sum(_, term) = sum else {
                unreachable!("sums over the batch")
            };
            // A sum over the batch inside another sum would leave its term an index that
            // no loop of the step binds.
            if !self.per_sample(term) || term.free().iter().any(|i| *i != Idx::BATCH) {
                return None;
            }
            let acc = format_ident!("loss_sum{k}");
            let term = self.code(layout, true).expr(&expand_softmax(term));
            self.ahead.push(quote!(let mut #acc = 0.0f32;));
            let comment = format!(" the sample's term of sum {} of {eq}", k + 1);
            self.body.push(quote!(#[doc = #comment] { #acc += #term; }));
            self.sample.sums.push((sum.clone(), acc));
        }
        Some(self.code(layout, true).expr(&eq.rhs))
    }

    /// Whether `e` reads only the sample's rows computed so far and its targets, and sums
    /// nothing over the batch.
    fn per_sample(&self, e: &Expr) -> bool {
        let sample_label = |x: &Ix| !matches!(x, Ix::Label(n) if *n != Idx::BATCH);
        let mut ok = true;
        e.visit(&mut |e| match e {
            Expr::Ref(r) => {
                let target = r.var == T && r.ix.first() == Some(&Ix::Var(Idx::BATCH));
                ok &= (target || self.sample.row(r).is_some()) && r.ix.iter().all(sample_label);
            }
            Expr::Sum(i, _) | Expr::Lse(i, _) | Expr::Softmax { over: i, .. } => {
                ok &= *i != Idx::BATCH
            }
            Expr::Delta(p, q) => ok &= sample_label(p) && sample_label(q),
            _ => {}
        });
        ok
    }

    /// Code that reads the sample's rows from their locals: in place (`inline`), or with
    /// each row reduction hoisted for [`Code::take_hoistable`].
    fn code<'a, 'p>(&self, layout: &'a Layout<'p>, inline: bool) -> Code<'a, 'p> {
        Code {
            layout,
            hoisted: Vec::new(),
            outer: vec![Idx::BATCH],
            inline,
            substitute: Vec::new(),
            in_pass: true,
            sample: self.sample.clone(),
            depth: 0,
        }
    }
}

/// `e` with each sum over the batch replaced by zero, the sums collected in `sums`.
fn without_sums(e: &Expr, sums: &mut Vec<Expr>) -> Expr {
    if let Expr::Sum(i, _) = e
        && *i == Idx::BATCH
    {
        if !sums.contains(e) {
            sums.push(e.clone());
        }
        return Expr::Num(0.0);
    }
    crate::simplify::map_children(e, &mut |c| Some(without_sums(c, sums))).expect("total")
}
