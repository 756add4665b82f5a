//! Adam and AdamW.

use super::{Optimizer, Shared, State, check_decay, check_lr, check_unit, ensure, in_parts};
use crate::simd::vectorized;
use std::ops::Range;

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
    /// The step begun by [`Optimizer::begin`], applied part by part.
    begun: Option<(Rule, usize)>,
}

/// One step's constants, fixed when it begins.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Rule {
    step_size: f32,
    correction2: f32,
    eps: f32,
    betas: (f32, f32),
    /// Adam's L2 weight decay, added to the gradient.
    wd: f32,
    /// AdamW's decay factor of the parameters.
    decay: f32,
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
            begun: None,
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

impl super::Stepwise for Adam {
    type Rule = Rule;

    fn begun(&mut self) -> &mut Option<(Rule, usize)> {
        &mut self.begun
    }

    fn name(&self) -> &'static str {
        if self.decoupled { "AdamW" } else { "Adam" }
    }

    fn prepare(&mut self, len: usize) -> Rule {
        ensure(&mut self.m, len);
        ensure(&mut self.v, len);
        self.step += 1;
        let (b1, b2) = self.betas;
        let t = self.step.min(i32::MAX as u64) as i32;
        let (wd, decay) = if self.decoupled {
            (0.0, 1.0 - self.lr * self.weight_decay)
        } else {
            (self.weight_decay, 1.0)
        };
        Rule {
            step_size: self.lr / (1.0 - b1.powi(t)),
            correction2: (1.0 - b2.powi(t)).sqrt(),
            eps: self.eps,
            betas: self.betas,
            wd,
            decay,
        }
    }

    fn apply(&mut self, rule: Rule, at: usize, params: &mut [f32], grad: &[f32]) {
        let n = params.len();
        let (all, ms, vs) = (
            Shared::new(params),
            Shared::new(&mut self.m[at..at + n]),
            Shared::new(&mut self.v[at..at + n]),
        );
        in_parts(n, &|r| {
            // SAFETY: `in_parts` gives each call its own range.
            let (params, m, v) = unsafe {
                (
                    all.range(r.clone()),
                    ms.range(r.clone()),
                    vs.range(r.clone()),
                )
            };
            let grad = &grad[r];
            // One loop per kind of weight decay, each without the other's operations, so that
            // the plain one (the usual case) carries no select; multiplying by a decay of 1 is
            // exact, so skipping it changes no bit.
            vectorized(
                #[inline(always)]
                |_| match (rule.decay != 1.0, rule.wd != 0.0) {
                    (false, false) => adam::<false, false>(rule, params, grad, m, v),
                    (true, false) => adam::<true, false>(rule, params, grad, m, v),
                    (_, true) => adam::<true, true>(rule, params, grad, m, v),
                },
            );
        });
    }
}

/// Adam's update of `params` by `grad`, with AdamW's decay of the parameters when `DECAY` and
/// Adam's L2 decay of the gradient when `L2`.
#[inline(always)]
fn adam<const DECAY: bool, const L2: bool>(
    rule: Rule,
    params: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let Rule {
        step_size,
        correction2,
        eps,
        betas: (b1, b2),
        wd,
        decay,
    } = rule;
    let state = m.iter_mut().zip(v.iter_mut());
    for ((p_out, g), (m_out, v_out)) in params.iter_mut().zip(grad).zip(state) {
        // Every value read before any is written (4K aliasing: the module's documentation).
        let (mut p, mut m, v) = (*p_out, *m_out, *v_out);
        if DECAY {
            p *= decay;
        }
        let g = if L2 { g + wd * p } else { *g };
        m += (g - m) * (1.0 - b1);
        let v = b2 * v + (1.0 - b2) * g * g;
        let denom = v.sqrt() / correction2 + eps;
        p -= step_size * (m / denom);
        (*p_out, *m_out, *v_out) = (p, m, v);
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
        super::step(self, params, grad)
    }

    fn begin(&mut self, len: usize) -> bool {
        super::begin(self, len)
    }

    fn update(&mut self, range: Range<usize>, params: &mut [f32], grad: &[f32]) {
        super::update(self, range, params, grad)
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
