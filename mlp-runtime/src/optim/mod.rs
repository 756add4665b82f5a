//! Optimizers: what a training step does with a gradient. Each follows the update PyTorch
//! documents for its namesake in `torch.optim` (single-tensor form, `maximize=False`), step by
//! step, so a run here and a run there agree to f32 rounding. Updates are elementwise loops
//! compiled for the process's instruction set ([`crate::simd::vectorized`]); every path runs
//! the same body, and no multiply-add is fused on any, so results are bit-identical. A step
//! can also be applied tensor by tensor as a training step's gradients are finished
//! ([`Optimizer::begin`], [`Optimizer::update`]), with the same bits.
//!
//! Every update loop reads all of an index's values before it writes any. The buffers
//! (parameters, gradient, state) are large allocations that start at the same offset in a
//! page, so a read after a write to another buffer at the same index waits on that write
//! (4K aliasing): written the other way, Adam's update of 669,706 parameters took 588 µs
//! instead of 259–297.

mod adam;
mod rmsprop;
mod sgd;

pub use adam::Adam;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use std::ops::Range;

/// Runs `update` on the whole of `0..len`, or on parts of it spread over the kernel threads
/// when there are enough parameters to be worth it. Updates are elementwise, so the split
/// never changes a result.
fn in_parts(len: usize, update: &(dyn Fn(Range<usize>) + Sync)) {
    const MIN_PART: usize = 1 << 15;
    let parts = crate::threads::usable().min(len / MIN_PART).max(1);
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
    ///
    /// # Panics
    /// The optimizers of this crate panic on a rate that is not positive and finite (see
    /// [`check_rate`]); the trainer's `Schedule` never produces one.
    fn set_lr(&mut self, lr: f32);

    /// For a training step that folds the update into the gradient's computation: when this
    /// step's update is plain descent, `θ ← θ − lr·g` for every parameter (as SGD without
    /// momentum or weight decay), counts the step as [`Optimizer::step`] would and returns
    /// `lr`, and the caller applies the update itself as each gradient is finished
    /// ([`crate::linalg::gemm::gemm_descend`]); otherwise `None`, and the caller computes the whole
    /// gradient and calls [`Optimizer::step`]. The default is `None`.
    fn descend(&mut self) -> Option<f32> {
        None
    }

    /// For a training step that updates each parameter tensor as soon as its gradient is
    /// final, in one pass while it is still in cache: begins a step of `len` parameters,
    /// counting it as [`Optimizer::step`] would, and returns true; the caller then calls
    /// [`Optimizer::update`] once for each of disjoint ranges that together cover `0..len`,
    /// which gives bit for bit what `step` gives. The default is false: the caller computes the
    /// whole gradient and calls `step`.
    fn begin(&mut self, len: usize) -> bool {
        let _ = len;
        false
    }

    /// Part of the step [`Optimizer::begin`] began: parameters `range` (given as `params`) by
    /// their gradient `grad`.
    ///
    /// # Panics
    /// When no step was begun (the default always panics: an optimizer whose `begin` returns
    /// false is never asked), or when the lengths disagree.
    fn update(&mut self, range: Range<usize>, params: &mut [f32], grad: &[f32]) {
        let _ = (params, grad);
        panic!("update of parameters {range:?} without a step begun");
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
    /// empties the slots; it must be from before the first step when the optimizer keeps
    /// buffers (else it was written by another optimizer, and resuming from it would restart
    /// the buffers mid-run). Returns the step count. The lengths are checked against the
    /// parameters by `train::checkpoint::load`.
    fn restore(mut self, names: &[&str], slots: &mut [&mut Vec<f32>]) -> Result<u64, String> {
        if self.buffers.is_empty() {
            if let Some(name) = names.first().filter(|_| self.step > 0) {
                return Err(format!(
                    "optimizer state: {} steps taken but the buffer `{name}` is missing (written by another optimizer?)",
                    self.step
                ));
            }
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

/// `lr` if it is a learning rate every optimizer accepts (positive and finite), else a message
/// saying why not: what a command line's `--lr` goes through before an optimizer sees it.
pub fn check_rate(lr: f32) -> Result<f32, String> {
    if lr.is_finite() && lr > 0.0 {
        Ok(lr)
    } else {
        Err(format!(
            "the learning rate must be a positive number, found {lr}"
        ))
    }
}

fn check_lr(lr: f32) {
    if let Err(message) = check_rate(lr) {
        panic!("{message}");
    }
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

/// An optimizer whose step is a rule of constants fixed when it begins and an elementwise
/// update of any range: [`Optimizer::step`], [`Optimizer::begin`] and [`Optimizer::update`]
/// follow from it ([`step`], [`begin`], [`update`]), so the three give the same bits.
trait Stepwise {
    /// The constants of one step.
    type Rule: Copy;
    /// The name in messages.
    fn name(&self) -> &'static str;
    /// Begins a step of `len` parameters: sizes the buffers, counts the step, fixes its
    /// constants.
    fn prepare(&mut self, len: usize) -> Self::Rule;
    /// The step's update of parameters `at..at + params.len()`.
    fn apply(&mut self, rule: Self::Rule, at: usize, params: &mut [f32], grad: &[f32]);
    /// The step [`begin`] began and its parameter count.
    fn begun(&mut self) -> &mut Option<(Self::Rule, usize)>;
}

fn step<O: Stepwise>(o: &mut O, params: &mut [f32], grad: &[f32]) {
    check_lengths(o.name(), params, grad);
    let rule = o.prepare(params.len());
    o.apply(rule, 0, params, grad);
}

fn begin<O: Stepwise>(o: &mut O, len: usize) -> bool {
    let rule = o.prepare(len);
    *o.begun() = Some((rule, len));
    true
}

fn update<O: Stepwise>(o: &mut O, range: Range<usize>, params: &mut [f32], grad: &[f32]) {
    let name = o.name();
    check_lengths(name, params, grad);
    let Some((rule, len)) = *o.begun() else {
        panic!("{name}: update of parameters {range:?} without a step begun");
    };
    assert!(
        range.len() == params.len() && range.end <= len,
        "{name}: parameters {range:?} given as {} values, in a step of {len}",
        params.len()
    );
    o.apply(rule, range.start, params, grad);
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
    /// with learning rate `lr` and PyTorch's other defaults; an unknown name or a rate that is
    /// not positive and finite is an error.
    pub fn parse(name: &str, lr: f32) -> Result<Choice, String> {
        let lr = check_rate(lr)?;
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
    fn begin(&mut self, len: usize) -> bool {
        self.inner().begin(len)
    }
    fn update(&mut self, range: Range<usize>, params: &mut [f32], grad: &[f32]) {
        self.inner().update(range, params, grad)
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
