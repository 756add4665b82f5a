//! Data-parallel training across processes and machines on MPI (the `mpi` feature): the
//! processes `mpirun` (or Slurm's `srun`) started, as [`Replicas`] for
//! [`fit_with`](crate::train::fit_with). MPI moves the gradients (one `MPI_Allreduce` per
//! step, through the `mpi` crate); nothing here opens a socket or sums a buffer itself.
//!
//! ```no_run
//! # mlp_runtime::mlp! { struct Net = 4 -> tanh 8 -> 3 : nll; }
//! use mlp_runtime::distributed::World;
//! use mlp_runtime::train::{Config, fit_with};
//! # let (train, validation): (mlp_runtime::dataset::Dataset, Option<mlp_runtime::dataset::Dataset>) = todo!();
//! let world = World::init()?; // once per process, before any other MPI call
//! let mut net = Net::new(7); // every rank: rank 0's parameters are broadcast
//! let mut opt = mlp_runtime::Sgd::new(0.1);
//! let config = Config { batch: 256, ..Config::default() }; // the global batch
//! let (reports, _) = fit_with(&world, &mut net, &mut opt, &train, validation.as_ref(), &config, 0, |_| {})?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Faults end the whole job rather than hang it: a panic on any thread of any rank prints its
//! message with the rank and calls `MPI_Abort`, which makes `mpirun` stop every rank; a
//! watchdog thread ends the job when a step has not finished within a bound (default 10
//! minutes, [`World::set_watchdog`]): another rank died, or a machine stopped answering.

use crate::optim::Optimizer;
use crate::train::Model;
use crate::train::checkpoint::{CheckpointError, Training};
use crate::train::dataset::Preprocessing;
use crate::train::replicas::Replicas;
use mpi::Threading;
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Whether an MPI launcher started this process: OpenMPI's `mpirun`, MPICH's Hydra, or a
/// PMI/PMIx launcher such as Slurm's `srun` (by the variables each sets).
pub fn launched() -> bool {
    [
        "OMPI_COMM_WORLD_SIZE",
        "PMI_SIZE",
        "PMIX_RANK",
        "MV2_COMM_WORLD_SIZE",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some())
}

/// The processes of the job (`MPI_COMM_WORLD`). Made once per process; dropping it finalizes
/// MPI.
pub struct World {
    comm: SimpleCommunicator,
    rank: usize,
    size: usize,
    watch: Arc<Watch>,
    // Dropped last: finalizes MPI.
    _universe: Universe,
}

/// What the watchdog thread watches.
struct Watch {
    /// The step running (0 between steps).
    step: AtomicU64,
    /// When it started, in milliseconds since `origin`.
    since: AtomicU64,
    /// How long a step may take, in milliseconds.
    bound: AtomicU64,
    origin: Instant,
    /// Set when the world is dropped: the thread ends.
    done: AtomicBool,
    rank: usize,
    size: usize,
    /// Whether MPI was given to every thread (`MPI_THREAD_MULTIPLE`): only then may a thread
    /// other than the main one call `MPI_Abort`.
    any_thread: bool,
}

impl World {
    /// Initializes MPI (asking for `MPI_THREAD_MULTIPLE`, so that the watchdog and a panicking
    /// kernel thread may end the job), installs the panic hook that aborts the job, and starts
    /// the watchdog. A process not started by `mpirun` is a world of one.
    pub fn init() -> Result<World, String> {
        let (universe, threading) = mpi::initialize_with_threading(Threading::Multiple)
            .ok_or("MPI is already initialized in this process: make one World")?;
        let comm = universe.world();
        let (rank, size) = (comm.rank() as usize, comm.size() as usize);
        let watch = Arc::new(Watch {
            step: AtomicU64::new(0),
            since: AtomicU64::new(0),
            bound: AtomicU64::new(600_000),
            origin: Instant::now(),
            done: AtomicBool::new(false),
            rank,
            size,
            any_thread: threading == Threading::Multiple,
        });
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            hook(info);
            if mpi::is_initialized() && !mpi::is_finalized() {
                eprintln!("rank {rank} of {size} panicked: ending every rank (MPI_Abort)");
                SimpleCommunicator::world().abort(101);
            }
        }));
        let watching = Arc::clone(&watch);
        std::thread::Builder::new()
            .name("mlp-watchdog".into())
            .spawn(move || watching.run())
            .map_err(|e| format!("cannot start the watchdog thread: {e}"))?;
        Ok(World {
            comm,
            rank,
            size,
            watch,
            _universe: universe,
        })
    }

    /// Ends the job when a step has run longer than `bound` (at least a second).
    pub fn set_watchdog(&self, bound: Duration) {
        let ms = bound.as_millis().clamp(1000, u64::MAX as u128) as u64;
        self.watch.bound.store(ms, Ordering::SeqCst);
    }

    /// Prints `message` with this rank and ends every rank of the job (`MPI_Abort`).
    pub fn abort(&self, message: &str) -> ! {
        eprintln!(
            "rank {} of {}: {message}; ending every rank",
            self.rank, self.size
        );
        self.comm.abort(1)
    }

    /// A network and optimizer state from rank 0's training checkpoint at `path`, the same on
    /// every rank (rank 0 reads the file and sends its bytes, so the other ranks need no
    /// shared filesystem): where the run was and its preprocessing, as [`Model::reopen`]
    /// gives them, or on every rank the error rank 0 met.
    pub fn reopen<M: Model>(
        &self,
        path: &Path,
        opt: &mut impl Optimizer,
    ) -> Result<(M, Training, Preprocessing), CheckpointError> {
        // A first byte of 1 and the file, or 0 and why it could not be read.
        let mut bytes = match (self.rank, std::fs::read(path)) {
            (0, Ok(file)) => [vec![1], file].concat(),
            (0, Err(e)) => [vec![0], e.to_string().into_bytes()].concat(),
            _ => Vec::new(),
        };
        self.broadcast_bytes(&mut bytes);
        let problem = |what: String| CheckpointError {
            path: path.to_path_buf(),
            problems: vec![what],
        };
        match bytes.split_first() {
            Some((1, _)) if self.rank == 0 => M::reopen(path, opt),
            Some((1, file)) => {
                // The checkpoint reader reads files: rank 0's bytes go through a private copy.
                let copy = std::env::temp_dir().join(format!(
                    "mlp-rank{}-{}.safetensors",
                    self.rank,
                    std::process::id()
                ));
                std::fs::write(&copy, file).map_err(|e| {
                    problem(format!(
                        "rank {}: cannot write {}: {e}",
                        self.rank,
                        copy.display()
                    ))
                })?;
                let opened = M::reopen(&copy, opt);
                let _ = std::fs::remove_file(&copy);
                opened.map_err(|e| CheckpointError {
                    path: path.to_path_buf(),
                    ..e
                })
            }
            _ => Err(problem(format!(
                "rank 0 could not read it: {}",
                String::from_utf8_lossy(bytes.get(1..).unwrap_or_default())
            ))),
        }
    }
}

impl Replicas for World {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn sum(&self, send: &[f32], recv: &mut [f32]) {
        self.comm
            .all_reduce_into(send, recv, SystemOperation::sum());
    }

    fn broadcast(&self, values: &mut [f32]) {
        self.comm.process_at_rank(0).broadcast_into(values);
    }

    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) {
        let root = self.comm.process_at_rank(0);
        let mut len = bytes.len() as u64;
        root.broadcast_into(&mut len);
        bytes.resize(len as usize, 0);
        root.broadcast_into(&mut bytes[..]);
    }

    fn min_max(&self, value: u64) -> (u64, u64) {
        let (mut lo, mut hi) = (0u64, 0u64);
        self.comm
            .all_reduce_into(&value, &mut lo, SystemOperation::min());
        self.comm
            .all_reduce_into(&value, &mut hi, SystemOperation::max());
        (lo, hi)
    }

    fn beat(&self, step: Option<u64>) {
        let now = self.watch.origin.elapsed().as_millis() as u64;
        self.watch.since.store(now, Ordering::SeqCst);
        self.watch.step.store(step.unwrap_or(0), Ordering::SeqCst);
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.watch.done.store(true, Ordering::SeqCst);
    }
}

impl Watch {
    /// The watchdog thread: every 100 ms, ends the job if the running step is overdue.
    fn run(&self) {
        while !self.done.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
            let step = self.step.load(Ordering::SeqCst);
            let since = self.since.load(Ordering::SeqCst);
            let bound = self.bound.load(Ordering::SeqCst);
            let now = self.origin.elapsed().as_millis() as u64;
            if step == 0 || now.saturating_sub(since) <= bound || self.done.load(Ordering::SeqCst) {
                continue;
            }
            eprintln!(
                "rank {} of {}: step {step} has not finished after {:.0} s (has another rank \
                 died or stopped answering?); ending every rank (MPI_Abort)",
                self.rank,
                self.size,
                bound as f64 / 1000.0
            );
            if self.any_thread {
                SimpleCommunicator::world().abort(124);
            }
            // Without MPI_THREAD_MULTIPLE only the main thread may call MPI: a process that
            // ends without finalizing makes mpirun end the others.
            std::process::exit(124);
        }
    }
}
