//! Where a step's time goes, product by product: while [`enable`]d, every product's shape, the
//! path it took and its wall time (on the calling thread, so a product split over the team
//! counts once, helpers included) are added up per shape. Off, it costs one relaxed load per
//! product. The bench prints the table ([`take`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static ON: AtomicBool = AtomicBool::new(false);
static LOG: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// How a product ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Dot-product tiles, both operands read in place.
    Dot,
    /// Packed panels around the microkernel.
    Packed,
    /// Packed, with a plain descent step folded in (the gradient not stored).
    PackedStep,
    /// A few rows, unpacked.
    Small,
    /// Nothing to multiply (a dimension is zero).
    Empty,
}

/// The products of one shape and path, added up.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Rows of C.
    pub m: usize,
    /// Columns of C.
    pub n: usize,
    /// Depth.
    pub k: usize,
    /// The path.
    pub kind: Kind,
    /// How many products.
    pub calls: u64,
    /// Their wall time, seconds.
    pub seconds: f64,
}

/// Starts (or stops) recording products, from every thread.
pub fn enable(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// What was recorded since the last call, in the order each shape first ran; clears it.
pub fn take() -> Vec<Entry> {
    std::mem::take(&mut *LOG.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Runs `f`, a product of `m×n×k`, timing it while recording is on; `f` returns its path.
#[inline(always)]
pub(crate) fn timed(m: usize, n: usize, k: usize, f: impl FnOnce() -> Kind) {
    if !ON.load(Ordering::Relaxed) {
        f();
        return;
    }
    let start = Instant::now();
    let kind = f();
    let seconds = start.elapsed().as_secs_f64();
    let mut log = LOG.lock().unwrap_or_else(|e| e.into_inner());
    match log
        .iter_mut()
        .find(|e| (e.m, e.n, e.k, e.kind) == (m, n, k, kind))
    {
        Some(e) => {
            e.calls += 1;
            e.seconds += seconds;
        }
        None => log.push(Entry {
            m,
            n,
            k,
            kind,
            calls: 1,
            seconds,
        }),
    }
}
