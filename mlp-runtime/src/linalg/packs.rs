//! Packing buffers: an A block and a B block, each as large as either path needs (the dot
//! tiles copy misaligned rows of A into the B block). Each thread that runs products keeps one
//! pair for its life, taken from a shared pool the first time it needs one and given back
//! when it ends: about 1.1 MB per thread of the team, made when a product first runs. The
//! caller of a product first makes sure the pool made a pair for every thread of the team, so
//! a helper that joins a product late never allocates in it, and no step allocates after the
//! first. A product reaches its pair through a thread-local, without a lock.

use crate::aligned::Aligned;
use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Values of a packed A block: the most either path packs (`MC × KC` in `gemm`).
pub(super) const A_LEN: usize = 72 * 256;
/// Values of a packed B block (`NC × KC` in `gemm`); the dot-product tiles copy misaligned
/// rows of A here.
pub(super) const B_LEN: usize = 1008 * 256;

/// The pairs no thread holds.
static FREE: Mutex<Vec<Pair>> = Mutex::new(Vec::new());
/// How many pairs were made in all.
static MADE: AtomicUsize = AtomicUsize::new(0);

/// A packed A block and a packed B block.
pub(super) type Pair = (Aligned, Aligned);

thread_local! {
    /// This thread's pair, once it has needed one.
    static OWN: RefCell<Own> = const { RefCell::new(Own(None)) };
}

/// A thread's pair, given back to the pool when the thread ends.
struct Own(Option<Pair>);

impl Drop for Own {
    fn drop(&mut self) {
        if let Some(pair) = self.0.take() {
            FREE.lock().unwrap_or_else(|e| e.into_inner()).push(pair);
        }
    }
}

/// A new pair, [`A_LEN`] and [`B_LEN`] values long, counted.
fn make() -> Pair {
    MADE.fetch_add(1, Ordering::SeqCst);
    (Aligned::zeros(A_LEN), Aligned::zeros(B_LEN))
}

/// A pair from the pool, or a new one when the pool is empty (a product from a caller thread
/// beyond the team).
fn take() -> Pair {
    let taken = FREE.lock().unwrap_or_else(|e| e.into_inner()).pop();
    taken.unwrap_or_else(make)
}

/// Makes pairs until `threads` were made.
pub(super) fn ensure(threads: usize) {
    if MADE.load(Ordering::SeqCst) >= threads {
        return;
    }
    let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
    while MADE.load(Ordering::SeqCst) < threads {
        free.push(make());
    }
}

/// Runs `f` with this thread's pair (taken from the pool the first time). A product that
/// runs inside another on the same thread (from an epilogue) borrows a pool pair meanwhile.
pub(super) fn with<R>(f: impl FnOnce(&mut Pair) -> R) -> R {
    OWN.with(|own| match own.try_borrow_mut() {
        Ok(mut own) => f(own.0.get_or_insert_with(take)),
        Err(_) => {
            let mut pair = take();
            let out = f(&mut pair);
            FREE.lock().unwrap_or_else(|e| e.into_inner()).push(pair);
            out
        }
    })
}
