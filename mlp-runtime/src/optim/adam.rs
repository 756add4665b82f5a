//! Adam and AdamW.

use super::{
    Optimizer, Shared, State, check_decay, check_lengths, check_lr, check_unit, ensure, in_parts,
};
use crate::simd::vectorized;

/// Adam and AdamW, PyTorch's `optim.Adam` and `optim.AdamW`: `m ← β₁m + (1−β₁)g`,
/// `v ← β₂v + (1−β₂)g²`, `θ ← θ − (lr/(1−β₁ᵗ))·m/(√v/√(1−β₂ᵗ) + ε)`; Adam's weight decay
/// adds `λθ` to g first, AdamW's multiplies θ by `1 − lr·λ` first.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    /// The learning rate.
    pub lr: f32,
    /// β₁, β₂.
    pub betas: (f32, f32),
    /// ε.
    pub eps: f32,
    /// Weight decay λ.
    pub weight_decay: f32,
    /// Decoupled weight decay (AdamW).
    pub decoupled: bool,
    step: u64,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    /// Adam with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay.
    ///
    /// # Panics
    /// If `lr` is not positive and finite: check a rate a user typed with
    /// [`super::check_rate`] (or build through [`super::Choice::parse`]) first.
    pub fn new(lr: f32) -> Self {
        check_lr(lr);
        Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            step: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// AdamW with PyTorch's defaults: as [`Adam::new`] with decoupled weight decay 0.01.
    pub fn adamw(lr: f32) -> Self {
        Adam {
            weight_decay: 0.01,
            decoupled: true,
            ..Adam::new(lr)
        }
    }

    /// With β₁ and β₂.
    pub fn betas(mut self, beta1: f32, beta2: f32) -> Self {
        check_unit("beta1", beta1);
        check_unit("beta2", beta2);
        self.betas = (beta1, beta2);
        self
    }

    /// With ε.
    pub fn eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }

    /// With weight decay λ (L2 for Adam, decoupled for AdamW).
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        check_decay(weight_decay);
        self.weight_decay = weight_decay;
        self
    }
}

impl Optimizer for Adam {
    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        check_lr(lr);
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        check_lengths(if self.decoupled { "AdamW" } else { "Adam" }, params, grad);
        ensure(&mut self.m, params.len());
        ensure(&mut self.v, params.len());
        self.step += 1;
        let (b1, b2) = self.betas;
        let t = self.step.min(i32::MAX as u64) as i32;
        let step_size = self.lr / (1.0 - b1.powi(t));
        let correction2 = (1.0 - b2.powi(t)).sqrt();
        let eps = self.eps;
        let (wd, decay) = if self.decoupled {
            (0.0, 1.0 - self.lr * self.weight_decay)
        } else {
            (self.weight_decay, 1.0)
        };
        let (all, ms, vs) = (
            Shared::new(params),
            Shared::new(&mut self.m),
            Shared::new(&mut self.v),
        );
        in_parts(grad.len(), &|r| {
            // SAFETY: `in_parts` gives each call its own range.
            let (params, m, v) = unsafe {
                (
                    all.range(r.clone()),
                    ms.range(r.clone()),
                    vs.range(r.clone()),
                )
            };
            let grad = &grad[r];
            vectorized(
                #[inline(always)]
                || {
                    let state = m.iter_mut().zip(v.iter_mut());
                    for ((p, g), (m, v)) in params.iter_mut().zip(grad).zip(state) {
                        *p *= decay;
                        let g = if wd != 0.0 { g + wd * *p } else { *g };
                        *m += (g - *m) * (1.0 - b1);
                        *v = b2 * *v + (1.0 - b2) * g * g;
                        let denom = v.sqrt() / correction2 + eps;
                        *p -= step_size * (*m / denom);
                    }
                },
            );
        });
    }

    fn state(&self) -> State {
        let buffers = if self.m.is_empty() {
            Vec::new()
        } else {
            vec![
                ("exp_avg".into(), self.m.clone()),
                ("exp_avg_sq".into(), self.v.clone()),
            ]
        };
        State {
            step: self.step,
            buffers,
        }
    }

    fn load_state(&mut self, state: State) -> Result<(), String> {
        let slots = &mut [&mut self.m, &mut self.v];
        self.step = state.restore(&["exp_avg", "exp_avg_sq"], slots)?;
        Ok(())
    }
}
