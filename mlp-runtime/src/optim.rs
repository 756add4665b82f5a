//! Optimizers: what a training step does with a gradient. Each follows the update PyTorch
//! documents for its namesake in `torch.optim` (single-tensor form, `maximize=False`), step by
//! step, so a run here and a run there agree to f32 rounding. Updates are elementwise loops
//! compiled for AVX2 where the CPU has it ([`crate::simd::vectorized`]); the portable path runs
//! the same body, and no multiply-add is fused on either, so results are bit-identical.

use crate::simd::vectorized;
use std::ops::Range;

/// Runs `update` on the whole of `0..len`, or on parts of it spread over the kernel threads
/// when there are enough parameters to be worth it. Updates are elementwise, so the split
/// never changes a result.
fn in_parts(len: usize, update: &(dyn Fn(Range<usize>) + Sync)) {
    const MIN_PART: usize = 1 << 15;
    let parts = crate::threads::get().min(len / MIN_PART).max(1);
    if parts == 1 {
        return update(0..len);
    }
    let chunk = len.div_ceil(parts).div_ceil(16) * 16;
    crate::threads::split(parts, &|k| {
        update((k * chunk).min(len)..((k + 1) * chunk).min(len))
    });
}

/// A mutable slice whose disjoint ranges [`in_parts`] hands to different threads.
struct Shared {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: only used to hand disjoint ranges of one borrowed slice to the kernel threads.
unsafe impl Sync for Shared {}

impl Shared {
    fn new(slice: &mut [f32]) -> Self {
        Shared {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
        }
    }

    /// The values in `r` (none for an empty slice, an unused buffer).
    ///
    /// # Safety
    /// No two live results may overlap, and the slice given to [`Shared::new`] must outlive
    /// them.
    #[allow(clippy::mut_from_ref)]
    unsafe fn range(&self, r: Range<usize>) -> &mut [f32] {
        if self.len == 0 {
            return &mut [];
        }
        assert!(r.end <= self.len);
        // SAFETY: within the slice (asserted); disjointness is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r.start), r.len()) }
    }
}

/// Updates parameters from the gradient of the loss.
pub trait Optimizer {
    /// One update of `params` by `grad` (same layout, same length).
    fn step(&mut self, params: &mut [f32], grad: &[f32]);

    /// The learning rate.
    fn lr(&self) -> f32;

    /// Sets the learning rate (a schedule's job).
    fn set_lr(&mut self, lr: f32);

    /// For a training step that folds the update into the gradient's computation: when this
    /// step's update is plain descent, `θ ← θ − lr·g` for every parameter (as SGD without
    /// momentum or weight decay), counts the step as [`Optimizer::step`] would and returns
    /// `lr`, and the caller applies the update itself as each gradient is finished
    /// ([`crate::gemm::gemm_descend`]); otherwise `None`, and the caller computes the whole
    /// gradient and calls [`Optimizer::step`]. The default is `None`.
    fn descend(&mut self) -> Option<f32> {
        None
    }

    /// The state to save for resuming: the step count and named buffers, each as long as the
    /// parameters (none before the first step, nor for stateless optimizers).
    fn state(&self) -> State {
        State::default()
    }

    /// Restores what [`Optimizer::state`] returned; an error names the buffer that is missing,
    /// unexpected or of the wrong length.
    fn load_state(&mut self, state: State) -> Result<(), String> {
        state.restore(&[], &mut []).map(|_| ())
    }
}

/// An optimizer's resumable state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    /// Steps taken.
    pub step: u64,
    /// Named buffers, one value per parameter.
    pub buffers: Vec<(String, Vec<f32>)>,
}

impl State {
    /// Moves the buffers named `names` into `slots`, checking that each is present with as many
    /// values as the first, and that no other buffer is present. A state without buffers
    /// (before the first step) empties the slots. Returns the step count.
    fn restore(mut self, names: &[&str], slots: &mut [&mut Vec<f32>]) -> Result<u64, String> {
        if self.buffers.is_empty() {
            for s in slots.iter_mut() {
                s.clear();
            }
            return Ok(self.step);
        }
        let len = self.buffers[0].1.len();
        for (name, slot) in names.iter().zip(slots.iter_mut()) {
            let at = self
                .buffers
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| format!("optimizer state: the buffer `{name}` is missing"))?;
            let (_, values) = self.buffers.swap_remove(at);
            if values.len() != len {
                return Err(format!(
                    "optimizer state: `{name}` has {} values, expected {len}",
                    values.len()
                ));
            }
            **slot = values;
        }
        match self.buffers.first() {
            Some((name, _)) => Err(format!("optimizer state: unexpected buffer `{name}`")),
            None => Ok(self.step),
        }
    }
}

fn check_lr(lr: f32) {
    assert!(
        lr.is_finite() && lr > 0.0,
        "the learning rate must be positive and finite, found {lr}"
    );
}

fn check_unit(what: &str, v: f32) {
    assert!(
        (0.0..1.0).contains(&v),
        "{what} must be in [0, 1), found {v}"
    );
}

fn check_decay(v: f32) {
    assert!(v >= 0.0, "weight decay must be ≥ 0, found {v}");
}

fn check_lengths(name: &str, params: &[f32], grad: &[f32]) {
    assert_eq!(
        params.len(),
        grad.len(),
        "{name}: {} parameters but {} gradient values",
        params.len(),
        grad.len()
    );
}

/// Zeroes `buffer` to `len` values unless it already has them; true if it did.
fn ensure(buffer: &mut Vec<f32>, len: usize) -> bool {
    if buffer.len() == len {
        return false;
    }
    buffer.clear();
    buffer.resize(len, 0.0);
    true
}

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
}

impl Sgd {
    /// Plain SGD with learning rate `lr`: `θ ← θ − lr·g`.
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

impl Optimizer for Sgd {
    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        check_lr(lr);
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        check_lengths("SGD", params, grad);
        let (lr, mu, tau, wd, nesterov) = (
            self.lr,
            self.momentum,
            self.dampening,
            self.weight_decay,
            self.nesterov,
        );
        self.step += 1;
        let first = mu != 0.0 && ensure(&mut self.buf, params.len());
        let (all, bufs) = (Shared::new(params), Shared::new(&mut self.buf));
        in_parts(grad.len(), &|r| {
            // SAFETY: `in_parts` gives each call its own range.
            let (params, buf) = unsafe { (all.range(r.clone()), bufs.range(r.clone())) };
            let grad = &grad[r];
            if mu == 0.0 {
                vectorized(
                    #[inline(always)]
                    || {
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
                || {
                    for ((p, g), b) in params.iter_mut().zip(grad).zip(buf.iter_mut()) {
                        let g = if wd != 0.0 { g + wd * *p } else { *g };
                        *b = if first { g } else { mu * *b + (1.0 - tau) * g };
                        let g = if nesterov { g + mu * *b } else { *b };
                        *p -= lr * g;
                    }
                },
            );
        });
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
}

impl RmsProp {
    /// RMSprop with PyTorch's defaults: alpha 0.99, eps 1e-8, no decay, momentum or centering.
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

impl Optimizer for RmsProp {
    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        check_lr(lr);
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        check_lengths("RMSprop", params, grad);
        let n = params.len();
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
        let (lr, alpha, eps) = (self.lr, self.alpha, self.eps);
        let (wd, mu) = (self.weight_decay, self.momentum);
        let (all, sqs) = (Shared::new(params), Shared::new(&mut self.square_avg));
        let (gas, bufs) = (Shared::new(&mut self.grad_avg), Shared::new(&mut self.buf));
        in_parts(n, &|r| {
            let n = r.len();
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
            vectorized(
                #[inline(always)]
                || {
                    for i in 0..n {
                        let g = if wd != 0.0 {
                            grad[i] + wd * params[i]
                        } else {
                            grad[i]
                        };
                        sq[i] = alpha * sq[i] + (1.0 - alpha) * g * g;
                        let var = if centered {
                            ga[i] = alpha * ga[i] + (1.0 - alpha) * g;
                            sq[i] - ga[i] * ga[i]
                        } else {
                            sq[i]
                        };
                        let scaled = g / (var.sqrt() + eps);
                        if with_momentum {
                            buf[i] = mu * buf[i] + scaled;
                            params[i] -= lr * buf[i];
                        } else {
                            params[i] -= lr * scaled;
                        }
                    }
                },
            );
        });
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

/// An optimizer chosen at run time by name (a command line's `--optimizer`).
#[derive(Clone, Debug, PartialEq)]
pub enum Choice {
    /// [`Sgd`].
    Sgd(Sgd),
    /// [`Adam`] or AdamW.
    Adam(Adam),
    /// [`RmsProp`].
    RmsProp(RmsProp),
}

impl Choice {
    /// `sgd`, `momentum` (SGD with momentum 0.9), `nesterov`, `adam`, `adamw` or `rmsprop`,
    /// with learning rate `lr` and PyTorch's other defaults.
    pub fn parse(name: &str, lr: f32) -> Result<Choice, String> {
        Ok(match name {
            "sgd" => Choice::Sgd(Sgd::new(lr)),
            "momentum" => Choice::Sgd(Sgd::new(lr).momentum(0.9)),
            "nesterov" => Choice::Sgd(Sgd::new(lr).momentum(0.9).nesterov(true)),
            "adam" => Choice::Adam(Adam::new(lr)),
            "adamw" => Choice::Adam(Adam::adamw(lr)),
            "rmsprop" => Choice::RmsProp(RmsProp::new(lr)),
            other => {
                return Err(format!(
                    "unknown optimizer `{other}`; expected sgd, momentum, nesterov, adam, adamw or rmsprop"
                ));
            }
        })
    }

    fn inner(&mut self) -> &mut dyn Optimizer {
        match self {
            Choice::Sgd(o) => o,
            Choice::Adam(o) => o,
            Choice::RmsProp(o) => o,
        }
    }

    fn inner_ref(&self) -> &dyn Optimizer {
        match self {
            Choice::Sgd(o) => o,
            Choice::Adam(o) => o,
            Choice::RmsProp(o) => o,
        }
    }
}

impl Optimizer for Choice {
    fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        self.inner().step(params, grad)
    }
    fn descend(&mut self) -> Option<f32> {
        self.inner().descend()
    }
    fn lr(&self) -> f32 {
        self.inner_ref().lr()
    }
    fn set_lr(&mut self, lr: f32) {
        self.inner().set_lr(lr)
    }
    fn state(&self) -> State {
        self.inner_ref().state()
    }
    fn load_state(&mut self, state: State) -> Result<(), String> {
        self.inner().load_state(state)
    }
}
