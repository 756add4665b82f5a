//! Stochastic gradient descent.

use super::{Optimizer, Shared, State, check_decay, check_lr, check_unit, ensure, in_parts};
use crate::simd::vectorized;
use std::ops::Range;

/// Stochastic gradient descent, PyTorch's `optim.SGD`: with weight decay λ, momentum μ,
/// dampening τ and Nesterov, `g ← g + λθ`; `b ← g` at the first step, else
/// `b ← μb + (1−τ)g`; `g ← g + μb` (Nesterov) or `g ← b`; `θ ← θ − lr·g`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd {
    /// The learning rate.
    pub lr: f32,
    /// Momentum factor μ (0: none).
    pub momentum: f32,
    /// Dampening τ of the momentum.
    pub dampening: f32,
    /// L2 penalty λ added to the gradient.
    pub weight_decay: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
    step: u64,
    buf: Vec<f32>,
    /// The step begun by [`Optimizer::begin`], applied part by part.
    begun: Option<(Rule, usize)>,
}

/// One step's constants, fixed when it begins.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Rule {
    lr: f32,
    mu: f32,
    tau: f32,
    wd: f32,
    nesterov: bool,
    /// The momentum buffer starts at this step.
    first: bool,
}

impl Sgd {
    /// Plain SGD with learning rate `lr`: `θ ← θ − lr·g`.
    ///
    /// # Panics
    /// If `lr` is not positive and finite: check a rate a user typed with
    /// [`super::check_rate`] (or build through [`super::Choice::parse`]) first.
    pub fn new(lr: f32) -> Self {
        check_lr(lr);
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            step: 0,
            buf: Vec::new(),
            begun: None,
        }
    }

    /// With momentum μ.
    pub fn momentum(mut self, momentum: f32) -> Self {
        check_unit("momentum", momentum);
        self.momentum = momentum;
        self
    }

    /// With dampening τ of the momentum.
    pub fn dampening(mut self, dampening: f32) -> Self {
        check_unit("dampening", dampening);
        self.dampening = dampening;
        self
    }

    /// With L2 weight decay λ.
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        check_decay(weight_decay);
        self.weight_decay = weight_decay;
        self
    }

    /// With Nesterov momentum (needs momentum and no dampening, as in PyTorch).
    pub fn nesterov(mut self, on: bool) -> Self {
        assert!(
            !on || (self.momentum > 0.0 && self.dampening == 0.0),
            "Nesterov momentum needs a momentum and zero dampening"
        );
        self.nesterov = on;
        self
    }
}

impl super::Stepwise for Sgd {
    type Rule = Rule;

    fn name(&self) -> &'static str {
        "SGD"
    }

    fn begun(&mut self) -> &mut Option<(Rule, usize)> {
        &mut self.begun
    }

    fn prepare(&mut self, len: usize) -> Rule {
        self.step += 1;
        let mu = self.momentum;
        Rule {
            lr: self.lr,
            mu,
            tau: self.dampening,
            wd: self.weight_decay,
            nesterov: self.nesterov,
            first: mu != 0.0 && ensure(&mut self.buf, len),
        }
    }

    fn apply(&mut self, rule: Rule, at: usize, params: &mut [f32], grad: &[f32]) {
        let Rule {
            lr,
            mu,
            tau,
            wd,
            nesterov,
            first,
        } = rule;
        let buf = if mu == 0.0 {
            &mut [][..]
        } else {
            &mut self.buf[at..at + params.len()]
        };
        let (all, bufs) = (Shared::new(params), Shared::new(buf));
        in_parts(grad.len(), &|r| {
            // SAFETY: `in_parts` gives each call its own range.
            let (params, buf) = unsafe { (all.range(r.clone()), bufs.range(r.clone())) };
            let grad = &grad[r];
            if mu == 0.0 {
                vectorized(
                    #[inline(always)]
                    |_| {
                        for (p, g) in params.iter_mut().zip(grad) {
                            let g = if wd != 0.0 { g + wd * *p } else { *g };
                            *p -= lr * g;
                        }
                    },
                );
                return;
            }
            vectorized(
                #[inline(always)]
                |_| {
                    for ((p_out, g), b_out) in params.iter_mut().zip(grad).zip(buf.iter_mut()) {
                        // Both read before either is written (4K aliasing: the module's
                        // documentation).
                        let (p, b) = (*p_out, *b_out);
                        let g = if wd != 0.0 { g + wd * p } else { *g };
                        let b = if first { g } else { mu * b + (1.0 - tau) * g };
                        let g = if nesterov { g + mu * b } else { b };
                        (*p_out, *b_out) = (p - lr * g, b);
                    }
                },
            );
        });
    }
}

impl Optimizer for Sgd {
    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        check_lr(lr);
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        super::step(self, params, grad)
    }

    fn begin(&mut self, len: usize) -> bool {
        super::begin(self, len)
    }

    fn update(&mut self, range: Range<usize>, params: &mut [f32], grad: &[f32]) {
        super::update(self, range, params, grad)
    }

    fn descend(&mut self) -> Option<f32> {
        if self.momentum != 0.0 || self.weight_decay != 0.0 {
            return None;
        }
        self.step += 1;
        Some(self.lr)
    }

    fn state(&self) -> State {
        let buffers = if self.buf.is_empty() {
            Vec::new()
        } else {
            vec![("momentum_buffer".into(), self.buf.clone())]
        };
        State {
            step: self.step,
            buffers,
        }
    }

    fn load_state(&mut self, state: State) -> Result<(), String> {
        let names: &[&str] = if self.momentum == 0.0 {
            &[]
        } else {
            &["momentum_buffer"]
        };
        self.step = state.restore(names, &mut [&mut self.buf])?;
        Ok(())
    }
}
