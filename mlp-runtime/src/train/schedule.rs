//! Learning-rate schedules.

/// How the learning rate changes from epoch to epoch.
///
/// A scheduled rate is never below [`Schedule::MIN_RATE`]: a step schedule run long enough
/// multiplies its rate down past what an `f32` holds (0.1 · 0.1⁴⁵ rounds to 0), and cosine
/// annealing may round to 0 near its end, but every optimizer refuses a rate of 0. The floor
/// keeps the run going for the epochs asked for, with a rate so small that no parameter changes
/// any more: what the rate 0 the schedule meant would have done. (Stopping the run instead
/// would end a cosine schedule one epoch early whenever its last rate rounds to 0.)
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// The optimizer's rate throughout.
    Constant,
    /// Multiplied by `gamma` every `every` epochs (PyTorch's `StepLR`).
    Step {
        /// Epochs between decays, at least 1.
        every: u64,
        /// The factor, in (0, 1].
        gamma: f32,
    },
    /// Cosine annealing from the initial rate to `min_lr` over the run (PyTorch's
    /// `CosineAnnealingLR` with `T_max` = epochs).
    Cosine {
        /// The final rate, finite and ≥ 0.
        min_lr: f32,
    },
}

impl Schedule {
    /// The smallest rate a schedule gives: the smallest positive normal `f32`. An update
    /// `lr · g` with it is far below the rounding step of any parameter of ordinary size, so
    /// the rate changes nothing, as 0 would.
    pub const MIN_RATE: f32 = f32::MIN_POSITIVE;

    /// `constant`, `step` (×0.1 every 10 epochs) or `cosine` (to 0): a command line's
    /// `--schedule`.
    pub fn parse(name: &str) -> Result<Schedule, String> {
        match name {
            "constant" => Ok(Schedule::Constant),
            "step" => Ok(Schedule::Step {
                every: 10,
                gamma: 0.1,
            }),
            "cosine" => Ok(Schedule::Cosine { min_lr: 0.0 }),
            other => Err(format!(
                "unknown schedule `{other}`; expected constant, step or cosine"
            )),
        }
    }

    /// Checks the schedule's own numbers: `every` ≥ 1 and `gamma` in (0, 1] for a step
    /// schedule, a finite `min_lr` ≥ 0 for cosine annealing. [`crate::train::fit`] calls it.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step { every: 0, .. } => {
                Err("a step schedule needs `every` ≥ 1, found 0".into())
            }
            Schedule::Step { gamma, .. } if !(gamma > 0.0 && gamma <= 1.0) => Err(format!(
                "a step schedule needs `gamma` in (0, 1], found {gamma}"
            )),
            Schedule::Cosine { min_lr } if !(min_lr.is_finite() && min_lr >= 0.0) => Err(format!(
                "a cosine schedule needs a finite `min_lr` ≥ 0, found {min_lr}"
            )),
            _ => Ok(()),
        }
    }

    /// The rate of `epoch` (0-based) out of `epochs`, starting from `base`; never below
    /// [`Schedule::MIN_RATE`] nor above `f32::MAX`.
    pub fn rate(&self, base: f32, epoch: u64, epochs: u64) -> f32 {
        let rate = match *self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => {
                let decays = (epoch / every.max(1)).min(i32::MAX as u64) as i32;
                base * gamma.powi(decays)
            }
            Schedule::Cosine { min_lr } => {
                let t = epoch as f64 / epochs.max(1) as f64;
                (min_lr as f64
                    + (base - min_lr) as f64 * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0)
                    as f32
            }
        };
        if rate.is_nan() {
            Self::MIN_RATE
        } else {
            rate.clamp(Self::MIN_RATE, f32::MAX)
        }
    }
}
