//! Whether a caller's helpers pay for themselves: a helper whose core is shared with a busy
//! process can lose it for a scheduler time slice while it holds a part, and the caller then
//! waits for that part. The caller times its jobs and, when the helpers held it up more than
//! they helped, runs alone for a while before it tries them again.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Jobs over which the caller judges whether its helpers help (see [`Judge::record`]).
pub(super) const WINDOW: u32 = 16;
/// How long the caller runs alone once helpers did not pay for their waits; doubled after
/// every window that confirms it, up to [`MAX_ALONE`].
const ALONE: Duration = Duration::from_millis(50);
/// The longest the caller runs alone before it tries its helpers again.
const MAX_ALONE: Duration = Duration::from_secs(1);

/// The caller's record of its recent jobs with helpers.
#[derive(Default)]
pub(super) struct Judge {
    /// Jobs recorded in this window.
    jobs: u32,
    /// Time the jobs took the caller: its parts, then waiting for the helpers.
    with_helpers: Duration,
    /// What the caller alone would have taken: its parts' time, scaled to every part.
    alone: Duration,
    /// How long the caller last ran alone (zero: it did not).
    span: Duration,
}

impl Judge {
    /// Records a job of `parts` parts of which the caller ran `ran` in `computed`, then
    /// waited `waited` for the helpers; every [`WINDOW`] jobs, judges them: when the caller
    /// alone would have been faster (a helper whose core is shared loses it for a scheduler
    /// time slice while it holds a part, and the caller waits), it runs alone for a while.
    ///
    /// At the end of a window, returns until when the caller runs alone (`Some(None)`: not).
    pub(super) fn record(
        &mut self,
        parts: usize,
        ran: usize,
        computed: Duration,
        waited: Duration,
    ) -> Option<Option<Instant>> {
        if ran == 0 {
            // The helpers took every part: nothing to scale from.
            return None;
        }
        self.jobs += 1;
        self.with_helpers += computed + waited;
        self.alone += computed.mul_f64(parts as f64 / ran as f64);
        if self.jobs < WINDOW {
            return None;
        }
        let span = if self.with_helpers > self.alone {
            (self.span * 2).clamp(ALONE, MAX_ALONE)
        } else {
            Duration::ZERO
        };
        *self = Judge {
            span,
            ..Judge::default()
        };
        Some((!span.is_zero()).then(|| Instant::now() + span))
    }
}

/// Until when (nanoseconds after [`since_start`]'s origin) callers run their parts alone; 0
/// for not at all. An atomic, so that asking costs a product no lock.
pub(super) static ALONE_UNTIL: AtomicU64 = AtomicU64::new(0);

/// Whether callers run their parts alone for now.
pub(super) fn alone() -> bool {
    let until = ALONE_UNTIL.load(Ordering::Relaxed);
    until != 0 && since_start(Instant::now()) < until
}

/// `t` in nanoseconds after the first time this was asked (at least 1).
pub(super) fn since_start(t: Instant) -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(t.saturating_duration_since(start).as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}
