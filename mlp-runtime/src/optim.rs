//! Optimizers: what a training step does with a gradient.

/// Updates parameters from the gradient of the loss.
pub trait Optimizer {
    /// One update of `params` by `grad` (same layout, same length).
    fn step(&mut self, params: &mut [f32], grad: &[f32]);
}

/// Plain stochastic gradient descent: `θ ← θ − lr·g`, PyTorch's `optim.SGD(lr=lr)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd {
    /// The learning rate.
    pub lr: f32,
}

impl Sgd {
    /// SGD with learning rate `lr`.
    pub fn new(lr: f32) -> Self {
        assert!(
            lr.is_finite() && lr > 0.0,
            "the learning rate must be positive and finite, found {lr}"
        );
        Sgd { lr }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        assert_eq!(
            params.len(),
            grad.len(),
            "SGD: {} parameters but {} gradient values",
            params.len(),
            grad.len()
        );
        let lr = self.lr;
        for (p, g) in params.iter_mut().zip(grad) {
            *p -= lr * g;
        }
    }
}
