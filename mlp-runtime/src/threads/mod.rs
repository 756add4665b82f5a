//! How many threads the kernels use (`MLP_THREADS` from the environment, else every core,
//! unless [`set_num_threads`] says otherwise), and the team that runs a product's parts (and
//! gathers a large batch's rows).
//!
//! The team is the calling thread plus `threads − 1` helpers that live as long as the thread
//! count stays the same. Handing out work costs no allocation and, while helpers are awake, no
//! system call: the caller publishes the job and opens it; a helper spins for a while after
//! each job (the next product of a training step follows within microseconds) before it
//! parks. Every thread, the caller included, claims parts one at a time until none is left,
//! so a thread that is first done takes the next unclaimed part rather than waiting for a
//! helper that has not woken yet. The caller claims from the front, helpers from the back: with
//! one helper on an idle machine, each thread runs mostly the same parts of a product step
//! after step, and the weights they read stay in its core's L2 (the threads are not pinned;
//! the scheduler mostly keeps them where they ran). One product uses the team at a time; a
//! second caller meanwhile runs its parts alone, with the same results (parts never change the
//! order of a sum).
//!
//! The guarantees are rayon's (`rayon_core::scope`):
//! - a helper touches a job only after *joining* it, which it can do only while the job is
//!   open; the caller closes the job once every part is claimed and returns (or unwinds) only
//!   after every helper that joined has left, so no thread reads the job, or writes what its
//!   parts borrow, after the caller's frame is gone;
//! - a panic in a part, on the caller or on a helper, is caught; the other parts still run,
//!   and once every helper has left the job the first panic is raised again in the caller;
//! - a panic leaves the team as it was (no helper dies, nothing is poisoned), so the next
//!   product runs on as many threads as the last.
//!
//! A helper whose core is shared with another busy process can lose it for a scheduler time
//! slice (milliseconds) while it holds a part, and the caller then waits for that part. The
//! caller times its jobs: when, over 16 jobs, computing and waiting took it longer than its
//! own parts' time says it would have taken alone, it runs every part itself for 50 ms
//! (doubling while that stays true, up to a second) and then tries the helpers again. On an
//! idle machine helpers pay for themselves and nothing changes.

use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

mod claims;
mod judge;

use claims::Claims;
use judge::{ALONE_UNTIL, Judge, alone, since_start};

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// How long a helper spins for the next job before it parks.
const SPIN: Duration = Duration::from_micros(300);

/// Sets the number of threads (at least 1) for every kernel from now on, and has the kernels
/// use them all again if they were running alone (see the module's documentation).
///
/// # Panics
/// If `n` is 0.
pub fn set_num_threads(n: usize) {
    assert!(
        n >= 1,
        "the number of threads must be at least 1, found {n}"
    );
    THREADS.store(n, Ordering::Relaxed);
    // Asked for explicitly: the helpers are used again, whatever they did before.
    let slot = TEAM.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, team)) = &*slot {
        *team.judge.lock().unwrap_or_else(|e| e.into_inner()) = Judge::default();
    }
    ALONE_UNTIL.store(0, Ordering::Relaxed);
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

/// The team's state word: the job's generation in the high bits, whether it is open, and how
/// many helpers are inside it (joined and not yet left).
#[derive(Clone, Copy, PartialEq, Eq)]
struct State(u64);

impl State {
    const USERS: u64 = (1 << 20) - 1;
    const OPEN: u64 = 1 << 20;
    const GENERATION: u32 = 21;

    fn generation(self) -> u64 {
        self.0 >> Self::GENERATION
    }
    fn open(self) -> bool {
        self.0 & Self::OPEN != 0
    }
    fn users(self) -> u64 {
        self.0 & Self::USERS
    }
    /// The next job's state: a new generation, open, nobody inside yet.
    fn next(self) -> State {
        State(((self.generation() + 1) << Self::GENERATION) | Self::OPEN)
    }
}

/// A job: the parts `0..parts` of one product, each a call of `call(data, part)`.
#[derive(Clone, Copy)]
struct Job {
    /// The caller's closure, type-erased.
    data: *const (),
    /// Calls the closure at `data` (monomorphized for its type by [`Job::new`]).
    call: unsafe fn(*const (), usize),
    parts: usize,
}

impl Job {
    fn new<F: Fn(usize) + Sync>(run: &F, parts: usize) -> Job {
        /// # Safety
        /// `data` must point to a live `F`.
        unsafe fn call<F: Fn(usize) + Sync>(data: *const (), part: usize) {
            // SAFETY: `Job::new` erased a `&F` to `data`; the caller keeps it alive.
            let run = unsafe { &*data.cast::<F>() };
            run(part)
        }
        Job {
            data: (run as *const F).cast(),
            call: call::<F>,
            parts,
        }
    }

    /// No job: what the slot holds before the first.
    const NONE: Job = {
        /// # Safety
        /// Always safe: it does nothing.
        unsafe fn nothing(_: *const (), _: usize) {}
        Job {
            data: std::ptr::null(),
            call: nothing,
            parts: 0,
        }
    };
}

/// The caller and its helpers.
struct Team {
    state: AtomicU64,
    /// The current job. Written only by the caller holding `busy`, while the previous job is
    /// closed and no helper is inside it; read only by helpers inside the current job.
    job: UnsafeCell<Job>,
    /// The parts of the current job claimed so far.
    claims: Claims,
    /// The first panic of the current job's parts on a helper.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Per helper: parked, or about to park.
    sleeping: Vec<AtomicBool>,
    /// The helpers, once started.
    threads: OnceLock<Vec<Thread>>,
    /// The team is being replaced: helpers exit.
    retired: AtomicBool,
    /// Held by the caller that is using the team.
    busy: AtomicBool,
    /// What the caller measured of its recent jobs.
    judge: Mutex<Judge>,
}

// SAFETY: `job` is the only field that is not `Sync` by itself. It is written by one caller at a
// time (the holder of `busy`) while the state is closed with no users, published by the
// `SeqCst` store that opens the next generation, and read by a helper only after its `Acquire`
// compare-exchange joined that generation. The caller does not write it again before every
// joined helper has left (`Release` decrement, read by the caller's `Acquire` load).
unsafe impl Sync for Team {}
// SAFETY: the raw pointer in `job` is dereferenced only under the protocol above; everything
// else is `Send`.
unsafe impl Send for Team {}

impl Team {
    fn start(helpers: usize) -> Arc<Team> {
        let helpers = helpers.min(State::USERS as usize);
        let team = Arc::new(Team {
            state: AtomicU64::new(0),
            job: UnsafeCell::new(Job::NONE),
            claims: Claims::default(),
            panic: Mutex::new(None),
            sleeping: (0..helpers).map(|_| AtomicBool::new(false)).collect(),
            threads: OnceLock::new(),
            retired: AtomicBool::new(false),
            busy: AtomicBool::new(false),
            judge: Mutex::new(Judge::default()),
        });
        let mut threads = Vec::with_capacity(helpers);
        for k in 0..helpers {
            let t = Arc::clone(&team);
            match std::thread::Builder::new()
                .name(format!("mlp-kernel-{}", k + 1))
                .spawn(move || t.serve(k))
            {
                Ok(handle) => threads.push(handle.thread().clone()),
                // The system refused another thread: the team works with those it has.
                Err(_) => break,
            }
        }
        let _ = team.threads.set(threads);
        team
    }

    /// A helper's loop: wait for a new job, join it while it is open, run parts, leave.
    fn serve(&self, k: usize) {
        let mut seen = 0;
        while let Some(state) = self.wait(k, seen) {
            seen = state.generation();
            if self.join(state) {
                // SAFETY: joined, so the job of this generation is published and its closure
                // outlives our stay (see `unsafe impl Sync for Team`).
                let job = unsafe { *self.job.get() };
                if let (Some(payload), _) = self.claim(job, true) {
                    let mut first = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                    first.get_or_insert(payload);
                }
                // Leaving: from here on this thread does not touch the job.
                self.state.fetch_sub(1, Ordering::Release);
            }
        }
    }

    /// Waits for a job of a generation after `seen`; `None` once the team is retired.
    fn wait(&self, k: usize, seen: u64) -> Option<State> {
        let started = Instant::now();
        let mut spins = 0u32;
        loop {
            if self.retired.load(Ordering::Acquire) {
                return None;
            }
            let state = State(self.state.load(Ordering::Acquire));
            if state.generation() != seen {
                return Some(state);
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) || started.elapsed() < SPIN {
                std::hint::spin_loop();
                continue;
            }
            // Park, unless a job or the retirement arrived meanwhile; a caller that opens a
            // job after this store sees `sleeping` and unparks us (both sides `SeqCst`).
            self.sleeping[k].store(true, Ordering::SeqCst);
            if State(self.state.load(Ordering::SeqCst)).generation() == seen
                && !self.retired.load(Ordering::SeqCst)
            {
                std::thread::park();
            }
            self.sleeping[k].store(false, Ordering::SeqCst);
        }
    }

    /// Joins the job of `state`'s generation if it is still open; true if joined.
    fn join(&self, state: State) -> bool {
        let mut current = state;
        while current.open() && current.generation() == state.generation() {
            match self.state.compare_exchange_weak(
                current.0,
                current.0 + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => current = State(now),
            }
        }
        false
    }

    /// Runs the parts of `job` nobody has claimed yet, one at a time: a thread that finishes
    /// early takes more, so a slow core holds up the others by one part at most. The caller
    /// takes them from the front, helpers from the back, so that with one helper on an idle
    /// machine each thread runs mostly the same parts job after job (a product's parts are its
    /// blocks of C, or of a weight matrix, which then stay in that core's L2). A part that
    /// panics does not stop the others; the first panic is returned.
    fn claim(&self, job: Job, from_back: bool) -> (Option<Box<dyn Any + Send>>, usize) {
        let mut first = None;
        let mut ran = 0;
        while let Some(part) = self.claims.take(job.parts, from_back) {
            ran += 1;
            let ran = catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: the caller of `run` keeps the closure alive until every helper
                // inside the job has left, and this thread is inside it (or is the caller).
                unsafe { (job.call)(job.data, part) }
            }));
            if let Err(payload) = ran {
                first.get_or_insert(payload);
            }
        }
        (first, ran)
    }

    /// Runs parts `0..parts` of `run` on this thread and the helpers; returns when all are
    /// done, raising the first panic of any part once every helper has left the job. The
    /// caller holds `busy`.
    fn run<F: Fn(usize) + Sync>(&self, parts: usize, run: &F) {
        // Each end's count is 32 bits wide.
        assert!(
            u32::try_from(parts).is_ok(),
            "split: {parts} parts, more than a job counts"
        );
        let job = Job::new(run, parts);
        // SAFETY: this caller holds `busy`, and the previous job is closed with no helper
        // inside (its caller waited for that before returning), so nobody reads `job` now.
        unsafe { *self.job.get() = job };
        self.claims.reset();
        let state = State(self.state.load(Ordering::Relaxed));
        debug_assert!(!state.open() && state.users() == 0);
        // Publishes the job and `claims` to helpers that join (their `Acquire` exchange).
        self.state.store(state.next().0, Ordering::SeqCst);
        self.wake();
        let started = Instant::now();
        let (mine, ran) = self.claim(job, false);
        // Every part is claimed: close the job, so helpers that did not join never will, and
        // wait for those inside to leave.
        self.state.fetch_and(!State::OPEN, Ordering::SeqCst);
        let claimed = Instant::now();
        let mut spins = 0u32;
        while State(self.state.load(Ordering::Acquire)).users() != 0 {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(1024) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        self.record(parts, ran, claimed - started, claimed.elapsed());
        let theirs = self.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(payload) = mine.or(theirs) {
            resume_unwind(payload);
        }
    }

    /// Records a job for [`Judge::record`], and publishes until when the caller runs alone.
    fn record(&self, parts: usize, ran: usize, computed: Duration, waited: Duration) {
        let mut judge = self.judge.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = judge.record(parts, ran, computed, waited) {
            ALONE_UNTIL.store(until.map_or(0, since_start), Ordering::Relaxed);
        }
    }

    /// Unparks the helpers that are parked or about to park.
    fn wake(&self) {
        let Some(threads) = self.threads.get() else {
            return;
        };
        for (asleep, thread) in self.sleeping.iter().zip(threads) {
            if asleep.swap(false, Ordering::SeqCst) {
                thread.unpark();
            }
        }
    }

    /// Tells the helpers to exit. A caller still using the team finishes its job: helpers
    /// inside it leave first, and the caller runs whatever parts remain.
    fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
        for t in self.threads.get().into_iter().flatten() {
            t.unpark();
        }
    }

    /// Takes the team for one job, if no other caller has it.
    fn acquire(&self) -> Option<Busy<'_>> {
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| Busy(&self.busy))
    }

    fn helpers(&self) -> usize {
        self.threads.get().map_or(0, Vec::len)
    }
}

/// The team held by one caller; released on drop, also while a panic unwinds.
struct Busy<'a>(&'a AtomicBool);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The team, with the thread count it was built for.
static TEAM: Mutex<Option<(usize, Arc<Team>)>> = Mutex::new(None);

/// The team for the current thread count, rebuilt when it changes.
fn team() -> Arc<Team> {
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

/// The threads a kernel should cut its work for now: [`get`], or 1 while the caller runs
/// alone because its helpers held it up (see the module's documentation), so that the work is
/// not cut into parts one thread then runs one after the other.
pub(crate) fn usable() -> usize {
    let n = get();
    if n > 1 && alone() { 1 } else { n }
}

/// Runs `run(0)`, …, `run(parts − 1)`, spread over the team (at most [`get`] at a time), and
/// returns when all are done. Without the team (one thread, or another caller using it) the
/// parts run here, one after the other. A panic in any part is raised here once every other
/// part has finished.
pub(crate) fn split<F: Fn(usize) + Sync>(parts: usize, run: &F) {
    if parts <= 1 {
        return (0..parts).for_each(run);
    }
    let team = team();
    if team.helpers() == 0 || team.retired.load(Ordering::Acquire) {
        return (0..parts).for_each(run);
    }
    match team.acquire() {
        Some(_busy) if !alone() => team.run(parts, run),
        _ => (0..parts).for_each(run),
    }
}

#[cfg(test)]
mod tests {
    use super::judge::WINDOW;
    use super::*;

    /// The tests of this module change the thread count, which the team is built for.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    /// However many parts and threads, every part runs exactly once before `split` returns.
    #[test]
    fn every_part_runs_once() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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

    /// A helper that holds its part far longer than the caller takes for all of its own (as
    /// one whose core a neighbour shares) makes the caller run alone within a window of jobs.
    /// (That helpers as fast as the caller do not is a matter of timing, shown by the bench's
    /// figures rather than asserted here.)
    #[test]
    fn a_caller_held_up_by_its_helpers_runs_alone() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let on_helper =
            || (std::thread::current().name()).is_some_and(|n| n.starts_with("mlp-kernel"));
        set_num_threads(1);
        set_num_threads(2);
        assert_eq!(usable(), 2);
        for _ in 0..WINDOW {
            split(8, &|_| {
                let hold = if on_helper() { 10_000 } else { 50 };
                let start = Instant::now();
                while start.elapsed() < Duration::from_micros(hold) {
                    std::hint::spin_loop();
                }
            });
        }
        assert_eq!(usable(), 1, "the caller still waits for its helpers");
    }
}
