//! After the first step, a training step allocates nothing: on one thread and on two, for the
//! seed network (packed, threaded GEMM) and a tiny one (unrolled code). Counted by a global
//! allocator that wraps the system's.

use mlp_runtime::Sgd;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires it.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with this layout; the size is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

mlp_runtime::mlp! {
    /// The seed network.
    pub struct Seed = 784 -> relu 512 -> relu 512 -> 10 : nll;
    /// A tiny network.
    pub struct Tiny = 2 -> tanh 8 -> sigmoid 1 : mse;
}

#[test]
fn a_step_allocates_nothing_after_the_first() {
    let xs: Vec<f32> = (0..64 * 784).map(|k| (k % 251) as f32 / 251.0).collect();
    let labels: Vec<u32> = (0..64).map(|k| (k % 10) as u32).collect();
    let (tx, tt) = ([0.3f32, -0.2], [[0.6f32]]);
    for threads in [1, 2] {
        mlp_runtime::set_num_threads(threads);
        let mut seed = Seed::new(0);
        let mut tiny = Tiny::new(0);
        let mut sgd = Sgd::new(0.01);
        // The first steps size the workspace, the packing buffers and the thread pool.
        for _ in 0..2 {
            seed.train_step(&xs, &labels, &mut sgd);
            tiny.train_step(&tx, &tt, &mut sgd);
        }
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..5 {
            seed.train_step(&xs, &labels, &mut sgd);
            tiny.train_step(&tx, &tt, &mut sgd);
        }
        let during = ALLOCATIONS.load(Ordering::Relaxed) - before;
        assert_eq!(
            during, 0,
            "{during} allocations in 10 steps on {threads} threads"
        );
    }
}
