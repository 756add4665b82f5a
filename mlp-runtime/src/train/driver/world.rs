//! The processes a trainer runs on: with the `mpi` feature and started by an MPI launcher
//! (`mpirun`, `srun`), its ranks; otherwise this process alone, without initializing MPI (so
//! that a trainer built with MPI runs as before when started directly, and `driver::run` can
//! be called more than once in a process).

use super::Error;
use crate::optim::Optimizer;
use crate::train::Model;
use crate::train::checkpoint::{CheckpointError, Training};
use crate::train::dataset::Preprocessing;
use crate::train::replicas::{Alone, Replicas};
use std::path::Path;

/// The processes of the run.
pub(super) enum World {
    /// This process alone.
    Alone(Alone),
    /// The ranks an MPI launcher started.
    #[cfg(feature = "mpi")]
    Mpi(crate::distributed::World),
}

/// Joins the run's processes, with the watchdog's bound for a step.
pub(super) fn join(watchdog: std::time::Duration) -> Result<World, Error> {
    #[cfg(feature = "mpi")]
    if crate::distributed::launched() {
        let world = crate::distributed::World::init()?;
        world.set_watchdog(watchdog);
        return Ok(World::Mpi(world));
    }
    let _ = watchdog;
    Ok(World::Alone(Alone))
}

impl World {
    /// The processes as the training loop sees them.
    fn replicas(&self) -> &dyn Replicas {
        match self {
            World::Alone(alone) => alone,
            #[cfg(feature = "mpi")]
            World::Mpi(world) => world,
        }
    }
}

impl Replicas for World {
    fn rank(&self) -> usize {
        self.replicas().rank()
    }
    fn size(&self) -> usize {
        self.replicas().size()
    }
    fn sum(&self, send: &[f32], recv: &mut [f32]) {
        self.replicas().sum(send, recv)
    }
    fn broadcast(&self, values: &mut [f32]) {
        self.replicas().broadcast(values)
    }
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) {
        self.replicas().broadcast_bytes(bytes)
    }
    fn min_max(&self, value: u64) -> (u64, u64) {
        self.replicas().min_max(value)
    }
    fn beat(&self, step: Option<u64>) {
        self.replicas().beat(step)
    }
}

/// A training checkpoint, the same on every rank: rank 0's file, sent to the others.
pub(super) fn reopen<M: Model>(
    world: &World,
    path: &Path,
    opt: &mut impl Optimizer,
) -> Result<(M, Training, Preprocessing), CheckpointError> {
    match world {
        World::Alone(_) => M::reopen(path, opt),
        #[cfg(feature = "mpi")]
        World::Mpi(world) => world.reopen::<M>(path, opt),
    }
}

/// `result`, except that an error on one of several ranks ends every rank with its message:
/// returning would leave the others waiting for this one forever.
pub(super) fn settle(world: &World, result: Result<(), Error>) -> Result<(), Error> {
    #[cfg(feature = "mpi")]
    if let (Err(e), World::Mpi(world)) = (&result, world)
        && world.size() > 1
    {
        world.abort(&format!("error: {e}"));
    }
    #[cfg(not(feature = "mpi"))]
    let _ = world;
    result
}
