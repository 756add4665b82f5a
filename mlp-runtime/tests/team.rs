//! A panic in a product's epilogue, on the calling thread or on a kernel thread, reaches the
//! caller only after every other block has finished writing C; the team survives it, and the
//! next product runs on two threads with the right result. Each product runs on a thread of
//! its own under a timeout, so a hang fails the test instead of stalling it.

use mlp_runtime::gemm::{Mat, gemm_then};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// The tests share the process's one kernel team: one at a time.
static TEAM: Mutex<()> = Mutex::new(());

const M: usize = 64;
const N: usize = 256;
const K: usize = 64;

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 2001) as f32 / 1000.0)
        .collect()
}

fn on_kernel_thread() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|n| n.starts_with("mlp-kernel-"))
}

/// What an epilogue saw: stretches finished, and whether a kernel thread ran one.
#[derive(Default)]
struct Seen {
    stretches: AtomicUsize,
    on_helper: AtomicUsize,
}

/// Runs `C = A·B` (B read transposed, so the dot-product tiles, or read by rows, so the
/// packed kernel) with an epilogue that calls `during` first and counts what finished; returns
/// the panic message, if any, and the finished count when `gemm_then` returned or unwound.
fn product(
    packed: bool,
    during: impl Fn(usize) + Sync + Send + 'static,
) -> (Option<String>, usize, Vec<f32>, bool) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (a, b) = (values(M * K, 1), values(K * N, 2));
        let bm = if packed {
            Mat::rows(&b, N)
        } else {
            Mat::transposed(&b, K)
        };
        let mut c = vec![0.0; M * N];
        let seen = Seen::default();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            gemm_then(
                M,
                N,
                K,
                Mat::rows(&a, K),
                bm,
                &mut c,
                N,
                &mut [],
                |row, _, _, _| {
                    during(row);
                    if on_kernel_thread() {
                        seen.on_helper.fetch_add(1, Ordering::SeqCst);
                    }
                    seen.stretches.fetch_add(1, Ordering::SeqCst);
                },
            )
        }));
        // Whatever the helpers still did after this point would write into a freed C.
        let finished = seen.stretches.load(Ordering::SeqCst);
        let message = run.err().map(|p| match p.downcast::<&str>() {
            Ok(s) => s.to_string(),
            Err(p) => p.downcast::<String>().map(|s| *s).unwrap_or_default(),
        });
        let helped = seen.on_helper.load(Ordering::SeqCst) > 0;
        let _ = tx.send((message, finished, c, helped));
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the product returned within a minute (a hang otherwise)")
}

/// The product's expected value, in f64.
fn reference(packed: bool) -> Vec<f64> {
    let (a, b) = (values(M * K, 1), values(K * N, 2));
    let mut c = vec![0.0; M * N];
    for i in 0..M {
        for j in 0..N {
            c[i * N + j] = (0..K)
                .map(|p| {
                    let bv = if packed { b[p * N + j] } else { b[j * K + p] };
                    a[i * K + p] as f64 * bv as f64
                })
                .sum();
        }
    }
    c
}

/// A correct product on two threads; returns the number of stretches the epilogue saw. The
/// calling thread's stretches take a while, so that the helper joins (if it exists).
fn team_works(packed: bool) -> usize {
    let (message, finished, c, helped) = product(packed, |_| {
        if !on_kernel_thread() {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    assert_eq!(message, None);
    assert!(
        helped,
        "a kernel thread ran a block: the team has its helper"
    );
    for (got, want) in c.iter().zip(reference(packed)) {
        assert!((*got as f64 - want).abs() < 1e-3, "{got} vs {want}");
    }
    finished
}

/// The epilogue panics once, at its first stretch on the calling thread (`helper` false) or
/// on a kernel thread (`helper` true); the other thread's stretches take a while, so that in
/// the old team they were still being written after the caller unwound.
fn panics_on(packed: bool, helper: bool) {
    let _one = TEAM.lock().unwrap_or_else(|e| e.into_inner());
    mlp_runtime::set_num_threads(2);
    // Also warms the team up. The product is column blocks of equal shape (several per thread).
    let total = team_works(packed);
    let panicked = std::sync::atomic::AtomicBool::new(false);
    let (message, finished, _, _) = product(packed, move |_| {
        if on_kernel_thread() == helper {
            if !panicked.swap(true, Ordering::SeqCst) {
                if !helper {
                    // Let the helper join and take the other block first.
                    std::thread::sleep(Duration::from_millis(20));
                }
                panic!("epilogue failed on purpose");
            }
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    assert_eq!(message.as_deref(), Some("epilogue failed on purpose"));
    // The block that panicked stopped at its first stretch; every other one finished all of
    // its stretches before the panic reached the caller: exactly one block's are missing.
    let missing = total - finished;
    assert!(
        missing > 0 && missing <= total / 2 && total.is_multiple_of(missing),
        "every other block finished first: {finished} of {total} stretches"
    );
    assert_eq!(
        team_works(packed),
        total,
        "the next product runs whole, on two threads"
    );
}

#[test]
fn panic_on_the_calling_thread_waits_for_the_helpers() {
    panics_on(false, false);
    panics_on(true, false);
}

#[test]
fn panic_on_a_kernel_thread_reaches_the_caller() {
    panics_on(false, true);
    panics_on(true, true);
}

/// Four callers share the team, one of them changing the thread count as it goes, and one
/// product in five panics in its epilogue: every product that does not panic is right, every
/// one that does raises its own panic, and nothing hangs.
#[test]
fn concurrent_callers_with_panics() {
    let _one = TEAM.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = mpsc::channel();
    for caller in 0..4usize {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let (a, b) = (values(M * K, 1), values(K * N, 2));
            let want = reference(false);
            for round in 0..40usize {
                if caller == 0 {
                    mlp_runtime::set_num_threads(1 + round % 3);
                }
                let fail = (round + caller) % 5 == 0;
                let mut c = vec![0.0; M * N];
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let (am, bm) = (Mat::rows(&a, K), Mat::transposed(&b, K));
                    gemm_then(M, N, K, am, bm, &mut c, N, &mut [], |row, col, _, _| {
                        if fail && row == 0 && col == 0 {
                            panic!("caller {caller}, round {round}");
                        }
                    })
                }));
                match run {
                    Ok(()) => {
                        assert!(!fail, "caller {caller}, round {round}: no panic raised");
                        for (got, want) in c.iter().zip(&want) {
                            assert!((*got as f64 - want).abs() < 1e-3, "{got} vs {want}");
                        }
                    }
                    Err(payload) => {
                        let message = payload.downcast::<String>().map(|s| *s);
                        assert_eq!(
                            message.ok(),
                            Some(format!("caller {caller}, round {round}"))
                        );
                    }
                }
            }
            let _ = tx.send(caller);
        });
    }
    drop(tx);
    for _ in 0..4 {
        rx.recv_timeout(Duration::from_secs(120))
            .expect("every caller finished within two minutes (a hang or a failure otherwise)");
    }
}
