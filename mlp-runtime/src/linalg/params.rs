//! The parameters as a generated backward pass sees them: read while it computes a gradient,
//! or, in a training step, also updated as each tensor's gradient is finished: by plain
//! descent folded into the weight gradient's product
//! ([`Optimizer::descend`](crate::Optimizer::descend)), or by the optimizer's own rule in one
//! pass over the tensor right after it ([`Optimizer::begin`](crate::Optimizer::begin)). The
//! backward pass computes every product that reads a tensor before that tensor's gradient, so
//! every way gives the same numbers.

use crate::Optimizer;
use std::ops::Range;

/// The parameters of a backward pass.
pub enum Params<'a> {
    /// Read only: the pass writes the gradient.
    Read(&'a [f32]),
    /// Updated with `θ ← θ − lr·g` as each gradient is finished.
    Descend {
        /// The parameters.
        values: &'a mut [f32],
        /// The learning rate.
        lr: f32,
    },
    /// Updated by `opt`'s step, begun ([`Optimizer::begin`]), as each gradient is finished.
    Update {
        /// The parameters.
        values: &'a mut [f32],
        /// The optimizer.
        opt: &'a mut dyn Optimizer,
    },
}

impl std::fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, len) = match self {
            Params::Read(values) => ("Read", values.len()),
            Params::Descend { values, .. } => ("Descend", values.len()),
            Params::Update { values, .. } => ("Update", values.len()),
        };
        write!(f, "Params::{kind}({len} values)")
    }
}

impl Params<'_> {
    /// All the parameters.
    #[inline]
    pub fn get(&self) -> &[f32] {
        match self {
            Params::Read(values) => values,
            Params::Descend { values, .. } | Params::Update { values, .. } => values,
        }
    }

    /// The parameters in `range` with the learning rate, for `gemm_descend` to
    /// update as their gradient's product finishes; `None` when only reading.
    #[inline]
    pub fn descend(&mut self, range: Range<usize>) -> Option<(&mut [f32], f32)> {
        match self {
            Params::Descend { values, lr } => Some((&mut values[range], *lr)),
            Params::Read(_) | Params::Update { .. } => None,
        }
    }

    /// Updates the parameters in `range`, whose gradient `grad` is finished (a bias's, or a
    /// small product's): `θ ← θ − lr·g`, or the optimizer's step on them; nothing when only
    /// reading.
    #[inline]
    pub fn finish(&mut self, range: Range<usize>, grad: &[f32]) {
        match self {
            Params::Read(_) => {}
            Params::Descend { values, lr } => descend(&mut values[range], grad, *lr),
            Params::Update { values, opt } => opt.update(range.clone(), &mut values[range], grad),
        }
    }

    /// After a weight gradient's product (`gemm_descend`, given [`Params::descend`]): the
    /// optimizer's step on the parameters in `range`, unless the product applied plain
    /// descent itself.
    #[inline]
    pub fn finish_product(&mut self, range: Range<usize>, grad: &[f32]) {
        if let Params::Update { .. } = self {
            self.finish(range, grad);
        }
    }
}

/// `θ ← θ − lr·g`: a plain loop (the vectors it gets are short, or a product's fallback); no
/// multiply-add is fused on any path, so this is bit for bit `Sgd::step`'s update.
#[inline]
pub(crate) fn descend(values: &mut [f32], grad: &[f32], lr: f32) {
    assert_eq!(values.len(), grad.len(), "a gradient for every parameter");
    for (v, g) in values.iter_mut().zip(grad) {
        *v -= lr * g;
    }
}
