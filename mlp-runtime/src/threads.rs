//! How many threads the kernels use: `MLP_THREADS` from the environment, else every core,
//! unless [`set_num_threads`] says otherwise.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets the number of threads (at least 1) for every kernel from now on.
pub fn set_num_threads(n: usize) {
    assert!(
        n >= 1,
        "the number of threads must be at least 1, found {n}"
    );
    THREADS.store(n, Ordering::Relaxed);
}

/// The number of threads kernels use.
pub fn get() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("MLP_THREADS")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| *n >= 1)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// The worker pool the kernels run on, sized to [`get`]; rebuilt when the size changes.
pub(crate) fn pool() -> Arc<rayon::ThreadPool> {
    static POOL: Mutex<Option<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let n = get();
    let mut slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    match &*slot {
        Some((size, pool)) if *size == n => Arc::clone(pool),
        _ => {
            let pool = Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|k| format!("mlp-kernel-{k}"))
                    .build()
                    .expect("the kernel threads start"),
            );
            *slot = Some((n, Arc::clone(&pool)));
            pool
        }
    }
}
