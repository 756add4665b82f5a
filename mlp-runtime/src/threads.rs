//! How many threads the kernels use (`MLP_THREADS` from the environment, else every core,
//! unless [`set_num_threads`] says otherwise), and the team that runs a product's parts.
//!
//! The team is the calling thread plus `threads − 1` helpers that live as long as the thread
//! count stays the same. Handing out work costs no allocation and, while helpers are awake, no
//! system call: the caller publishes the job and bumps a generation counter; a helper spins on
//! that counter for a while after each job (the next product of a training step follows within
//! microseconds) before it parks. Every thread, the caller included, claims parts one at a time
//! until none is left (a thread that is first done takes the next unclaimed part, rather than
//! waiting for a helper that has not woken yet), and the caller spins until the helpers are
//! done. One product uses the team at a time; a second caller meanwhile runs its parts alone,
//! with the same results (parts never change the order of a sum).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// How long a helper spins for the next job before it parks.
const SPIN: Duration = Duration::from_micros(300);

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

/// A job: the parts `0..parts` of one product, each a call of `run`.
#[derive(Clone, Copy)]
struct Job {
    run: *const (dyn Fn(usize) + Sync),
    parts: usize,
}

/// The caller and its helpers.
struct Team {
    /// Bumped once per job; a helper runs a job when it sees a new value.
    generation: AtomicU64,
    /// The current job, written by the caller before it bumps `generation`.
    job: UnsafeCell<Job>,
    /// The next part of the current job nobody has claimed.
    next: AtomicUsize,
    /// Helpers still running the current job.
    pending: AtomicUsize,
    /// Per helper: parked, or about to park.
    sleeping: Vec<AtomicBool>,
    threads: Mutex<Vec<Thread>>,
    /// The team is being replaced: helpers exit.
    retired: AtomicBool,
    /// Held by the caller that is using the team.
    busy: Mutex<()>,
}

// SAFETY: the raw job pointer is only dereferenced under the protocol below.
unsafe impl Send for Team {}
// SAFETY: `job` is written only by the caller holding `busy`, before the Release bump of
// `generation`, and read by helpers after an Acquire load of the new generation; the caller
// does not write it again until every helper has reported through `pending`.
unsafe impl Sync for Team {}

fn noop(_: usize) {}

impl Team {
    fn start(helpers: usize) -> Arc<Team> {
        let team = Arc::new(Team {
            generation: AtomicU64::new(0),
            job: UnsafeCell::new(Job {
                run: &noop as &(dyn Fn(usize) + Sync) as *const _,
                parts: 0,
            }),
            next: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
            sleeping: (0..helpers).map(|_| AtomicBool::new(false)).collect(),
            threads: Mutex::new(Vec::new()),
            retired: AtomicBool::new(false),
            busy: Mutex::new(()),
        });
        let mut threads = Vec::new();
        for k in 0..helpers {
            let t = Arc::clone(&team);
            let handle = std::thread::Builder::new()
                .name(format!("mlp-kernel-{}", k + 1))
                .spawn(move || t.serve(k))
                .expect("the kernel threads start");
            threads.push(handle.thread().clone());
        }
        *team.threads.lock().unwrap_or_else(|e| e.into_inner()) = threads;
        team
    }

    /// A helper's loop: wait for a new generation, run its part, report.
    fn serve(&self, k: usize) {
        let mut seen = 0u64;
        loop {
            let started = Instant::now();
            let mut spins = 0u32;
            let current = loop {
                let g = self.generation.load(Ordering::Acquire);
                if g != seen || self.retired.load(Ordering::Acquire) {
                    break g;
                }
                spins = spins.wrapping_add(1);
                if !spins.is_multiple_of(64) || started.elapsed() < SPIN {
                    std::hint::spin_loop();
                    continue;
                }
                self.sleeping[k].store(true, Ordering::SeqCst);
                if self.generation.load(Ordering::SeqCst) == seen
                    && !self.retired.load(Ordering::SeqCst)
                {
                    std::thread::park();
                }
                self.sleeping[k].store(false, Ordering::SeqCst);
            };
            if current == seen {
                // Retired, with no job pending.
                return;
            }
            seen = current;
            // SAFETY: see `unsafe impl Sync for Team`: the job of this generation is published
            // and its closure outlives the caller's wait for `pending`.
            let job = unsafe { *self.job.get() };
            // SAFETY: as above.
            self.claim(job.parts, unsafe { &*job.run });
            self.pending.fetch_sub(1, Ordering::Release);
        }
    }

    /// Runs the parts of the current job nobody has claimed yet, one at a time, in order: a
    /// thread that finishes early takes more, so a slow core holds up the others by one part
    /// at most.
    fn claim(&self, parts: usize, run: &(dyn Fn(usize) + Sync)) {
        loop {
            let k = self.next.fetch_add(1, Ordering::Relaxed);
            if k >= parts {
                return;
            }
            run(k);
        }
    }

    /// Runs parts `0..parts` of `run` on this thread and the helpers; returns when all are
    /// done.
    fn run(&self, parts: usize, run: &(dyn Fn(usize) + Sync)) {
        let helpers = self.sleeping.len();
        // SAFETY: only this caller (holding `busy`) writes the job, and every helper finished
        // the previous one (`pending` was 0 when the previous caller returned). The lifetime
        // is erased; the closure outlives the wait below.
        unsafe {
            *self.job.get() = Job {
                run: std::mem::transmute::<
                    *const (dyn Fn(usize) + Sync + '_),
                    *const (dyn Fn(usize) + Sync + 'static),
                >(run as *const _),
                parts,
            };
        }
        self.next.store(0, Ordering::Relaxed);
        self.pending.store(helpers, Ordering::Relaxed);
        self.generation.fetch_add(1, Ordering::SeqCst);
        let threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        for (k, asleep) in self.sleeping.iter().enumerate() {
            if asleep.swap(false, Ordering::SeqCst) {
                threads[k].unpark();
            }
        }
        drop(threads);
        self.claim(parts, run);
        while self.pending.load(Ordering::Acquire) != 0 {
            std::hint::spin_loop();
        }
    }

    /// Tells the helpers to exit, once no caller is using the team (a caller holding `busy`
    /// checked `retired` and published its job; its helpers finish it first).
    fn retire(&self) {
        let _idle = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        self.retired.store(true, Ordering::SeqCst);
        for t in self
            .threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            t.unpark();
        }
    }
}

/// The team for the current thread count, rebuilt when it changes.
fn team() -> Arc<Team> {
    static TEAM: Mutex<Option<(usize, Arc<Team>)>> = Mutex::new(None);
    let n = get();
    let mut slot = TEAM.lock().unwrap_or_else(|e| e.into_inner());
    match &*slot {
        Some((size, team)) if *size == n => Arc::clone(team),
        _ => {
            if let Some((_, old)) = slot.take() {
                old.retire();
            }
            let team = Team::start(n - 1);
            *slot = Some((n, Arc::clone(&team)));
            team
        }
    }
}

/// Runs `run(0)`, …, `run(parts − 1)`, spread over the team (at most [`get`] at a time), and
/// returns when all are done. Without the team (one thread, or another caller using it) the
/// parts run here, one after the other.
pub(crate) fn split(parts: usize, run: &(dyn Fn(usize) + Sync)) {
    let team = team();
    let guard = match team.busy.try_lock() {
        Ok(g) if parts > 1 && !team.sleeping.is_empty() && !team.retired.load(Ordering::SeqCst) => {
            g
        }
        _ => {
            (0..parts).for_each(run);
            return;
        }
    };
    team.run(parts, run);
    drop(guard);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// However many parts and threads, every part runs exactly once before `split` returns.
    #[test]
    fn every_part_runs_once() {
        for threads in [1, 2, 3] {
            set_num_threads(threads);
            for parts in [0, 1, 2, 3, 7, 40] {
                let runs: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
                split(parts, &|k| {
                    runs[k].fetch_add(1, Ordering::Relaxed);
                });
                for (k, r) in runs.iter().enumerate() {
                    assert_eq!(
                        r.load(Ordering::Relaxed),
                        1,
                        "{threads} threads, part {k} of {parts}"
                    );
                }
            }
        }
    }
}
