//! RMSprop.

use super::{Optimizer, Shared, State, check_decay, check_lr, check_unit, ensure, in_parts};
use crate::simd::vectorized;
use std::ops::Range;

/// RMSprop, PyTorch's `optim.RMSprop`: `g ← g + λθ`, `v ← αv + (1−α)g²`; centered:
/// `ḡ ← αḡ + (1−α)g`, `ṽ = v − ḡ²`, else `ṽ = v`; with momentum μ `b ← μb + g/(√ṽ + ε)`,
/// `θ ← θ − lr·b`, else `θ ← θ − lr·g/(√ṽ + ε)`.
#[derive(Clone, Debug, PartialEq)]
pub struct RmsProp {
    /// The learning rate.
    pub lr: f32,
    /// Smoothing constant α.
    pub alpha: f32,
    /// ε.
    pub eps: f32,
    /// L2 penalty λ.
    pub weight_decay: f32,
    /// Momentum μ.
    pub momentum: f32,
    /// Normalize by the estimated variance instead of the raw second moment.
    pub centered: bool,
    step: u64,
    square_avg: Vec<f32>,
    grad_avg: Vec<f32>,
    buf: Vec<f32>,
    /// The step begun by [`Optimizer::begin`], applied part by part.
    begun: Option<(Rule, usize)>,
}

/// One step's constants, fixed when it begins.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Rule {
    lr: f32,
    alpha: f32,
    eps: f32,
    wd: f32,
    mu: f32,
    centered: bool,
}

impl RmsProp {
    /// RMSprop with PyTorch's defaults: alpha 0.99, eps 1e-8, no decay, momentum or centering.
    ///
    /// # Panics
    /// If `lr` is not positive and finite: check a rate a user typed with
    /// [`super::check_rate`] (or build through [`super::Choice::parse`]) first.
    pub fn new(lr: f32) -> Self {
        check_lr(lr);
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            step: 0,
            square_avg: Vec::new(),
            grad_avg: Vec::new(),
            buf: Vec::new(),
            begun: None,
        }
    }

    /// With smoothing constant α.
    pub fn alpha(mut self, alpha: f32) -> Self {
        check_unit("alpha", alpha);
        self.alpha = alpha;
        self
    }

    /// With ε.
    pub fn eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }

    /// With L2 weight decay λ.
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        check_decay(weight_decay);
        self.weight_decay = weight_decay;
        self
    }

    /// With momentum μ.
    pub fn momentum(mut self, momentum: f32) -> Self {
        check_unit("momentum", momentum);
        self.momentum = momentum;
        self
    }

    /// Centered.
    pub fn centered(mut self, on: bool) -> Self {
        self.centered = on;
        self
    }

    /// The buffers in use, by PyTorch's names, with their slots.
    fn slots(&mut self) -> (Vec<&'static str>, Vec<&mut Vec<f32>>) {
        let mut names = vec!["square_avg"];
        let mut slots = vec![&mut self.square_avg];
        if self.momentum > 0.0 {
            names.push("momentum_buffer");
            slots.push(&mut self.buf);
        }
        if self.centered {
            names.push("grad_avg");
            slots.push(&mut self.grad_avg);
        }
        (names, slots)
    }
}

impl super::Stepwise for RmsProp {
    type Rule = Rule;

    fn name(&self) -> &'static str {
        "RMSprop"
    }

    fn begun(&mut self) -> &mut Option<(Rule, usize)> {
        &mut self.begun
    }

    fn prepare(&mut self, n: usize) -> Rule {
        let (centered, with_momentum) = (self.centered, self.momentum > 0.0);
        ensure(&mut self.square_avg, n);
        // Buffers not in use stay empty and are never read.
        if centered {
            ensure(&mut self.grad_avg, n);
        }
        if with_momentum {
            ensure(&mut self.buf, n);
        }
        self.step += 1;
        Rule {
            lr: self.lr,
            alpha: self.alpha,
            eps: self.eps,
            wd: self.weight_decay,
            mu: self.momentum,
            centered,
        }
    }

    fn apply(&mut self, rule: Rule, at: usize, params: &mut [f32], grad: &[f32]) {
        let (centered, with_momentum) = (rule.centered, rule.mu > 0.0);
        let n = params.len();
        // A buffer's part for these parameters; a buffer not in use stays empty.
        fn part(v: &mut [f32], at: usize, n: usize) -> &mut [f32] {
            if v.is_empty() { v } else { &mut v[at..at + n] }
        }
        let (all, sqs) = (
            Shared::new(params),
            Shared::new(part(&mut self.square_avg, at, n)),
        );
        let (gas, bufs) = (
            Shared::new(part(&mut self.grad_avg, at, n)),
            Shared::new(part(&mut self.buf, at, n)),
        );
        in_parts(n, &|r| {
            // SAFETY: `in_parts` gives each call its own range.
            let (params, sq, ga, buf) = unsafe {
                (
                    all.range(r.clone()),
                    sqs.range(r.clone()),
                    gas.range(r.clone()),
                    bufs.range(r.clone()),
                )
            };
            let grad = &grad[r];
            // One loop per combination of options, each with only the buffers it uses, so
            // that every one vectorizes.
            vectorized(
                #[inline(always)]
                |_| match (centered, with_momentum) {
                    (false, false) => rms::<false, false>(rule, params, grad, sq, ga, buf),
                    (false, true) => rms::<false, true>(rule, params, grad, sq, ga, buf),
                    (true, false) => rms::<true, false>(rule, params, grad, sq, ga, buf),
                    (true, true) => rms::<true, true>(rule, params, grad, sq, ga, buf),
                },
            );
        });
    }
}

/// RMSprop's update of `params` by `grad`, centered or with momentum as the constants say
/// (`ga` and `buf` are empty when not in use).
#[inline(always)]
fn rms<const CENTERED: bool, const MOMENTUM: bool>(
    rule: Rule,
    params: &mut [f32],
    grad: &[f32],
    sq: &mut [f32],
    ga: &mut [f32],
    buf: &mut [f32],
) {
    let Rule {
        lr,
        alpha,
        eps,
        wd,
        mu,
        ..
    } = rule;
    let n = params.len();
    // Every slice in use exactly n long: the loop's indexing needs no checks.
    let (grad, sq) = (&grad[..n], &mut sq[..n]);
    let ga = if CENTERED { &mut ga[..n] } else { ga };
    let buf = if MOMENTUM { &mut buf[..n] } else { buf };
    for i in 0..n {
        // Every value read before any is written (4K aliasing: the module's documentation).
        let (p, s) = (params[i], sq[i]);
        let g = if wd != 0.0 { grad[i] + wd * p } else { grad[i] };
        let s = alpha * s + (1.0 - alpha) * g * g;
        let a = if CENTERED {
            alpha * ga[i] + (1.0 - alpha) * g
        } else {
            0.0
        };
        let var = if CENTERED { s - a * a } else { s };
        let scaled = g / (var.sqrt() + eps);
        let b = if MOMENTUM { mu * buf[i] + scaled } else { 0.0 };
        sq[i] = s;
        if CENTERED {
            ga[i] = a;
        }
        if MOMENTUM {
            buf[i] = b;
            params[i] = p - lr * b;
        } else {
            params[i] = p - lr * scaled;
        }
    }
}

impl Optimizer for RmsProp {
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
        let mut buffers = Vec::new();
        if !self.square_avg.is_empty() {
            buffers.push(("square_avg".to_string(), self.square_avg.clone()));
            if self.momentum > 0.0 {
                buffers.push(("momentum_buffer".into(), self.buf.clone()));
            }
            if self.centered {
                buffers.push(("grad_avg".into(), self.grad_avg.clone()));
            }
        }
        State {
            step: self.step,
            buffers,
        }
    }

    fn load_state(&mut self, state: State) -> Result<(), String> {
        let (names, mut slots) = self.slots();
        let step = state.restore(&names, &mut slots)?;
        self.step = step;
        Ok(())
    }
}
