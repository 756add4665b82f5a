//! The parameters as a generated backward pass sees them: read while it computes a gradient,
//! or, in a training step whose optimizer updates by plain descent, also updated as each
//! tensor's gradient is finished ([`Optimizer::descend`](crate::Optimizer::descend)). The
//! backward pass computes every product that reads a tensor before that tensor's gradient, so
//! both ways give the same numbers.

use std::ops::Range;

/// The parameters of a backward pass.
#[derive(Debug)]
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
}

impl Params<'_> {
    /// All the parameters.
    pub fn get(&self) -> &[f32] {
        match self {
            Params::Read(values) => values,
            Params::Descend { values, .. } => values,
        }
    }

    /// The parameters in `range` with the learning rate, for `gemm_descend` to
    /// update as their gradient's product finishes; `None` when only reading.
    pub fn descend(&mut self, range: Range<usize>) -> Option<(&mut [f32], f32)> {
        match self {
            Params::Read(_) => None,
            Params::Descend { values, lr } => Some((&mut values[range], *lr)),
        }
    }

    /// Applies `θ ← θ − lr·g` to the parameters in `range`, whose gradient `grad` is finished
    /// (a bias's, or a small product's); nothing when only reading.
    pub fn finish(&mut self, range: Range<usize>, grad: &[f32]) {
        if let Some((values, lr)) = self.descend(range) {
            descend(values, grad, lr);
        }
    }
}

/// `θ ← θ − lr·g`: a plain loop (the vectors it gets are short, or a product's fallback); no
/// multiply-add is fused on any path, so this is bit for bit `Sgd::step`'s update.
pub(crate) fn descend(values: &mut [f32], grad: &[f32], lr: f32) {
    assert_eq!(values.len(), grad.len(), "a gradient for every parameter");
    for (v, g) in values.iter_mut().zip(grad) {
        *v -= lr * g;
    }
}
