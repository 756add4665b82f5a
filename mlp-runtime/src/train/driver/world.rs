//! The processes a trainer runs on: with the `mpi` feature, the ranks `mpirun` started (a
//! process started without it is a world of one); without it, this process alone.

use super::Error;
use crate::optim::Optimizer;
use crate::train::Model;
use crate::train::checkpoint::{CheckpointError, Training};
use crate::train::dataset::Preprocessing;
use std::path::Path;

/// The ranks of the run.
#[cfg(feature = "mpi")]
pub(super) type World = crate::distributed::World;
/// This process alone.
#[cfg(not(feature = "mpi"))]
pub(super) type World = crate::train::replicas::Alone;

/// Joins the run's processes, with the watchdog's bound for a step.
pub(super) fn join(watchdog: std::time::Duration) -> Result<World, Error> {
    #[cfg(feature = "mpi")]
    {
        let world = World::init()?;
        world.set_watchdog(watchdog);
        Ok(world)
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = watchdog;
        Ok(World::default())
    }
}

/// A training checkpoint, the same on every rank: rank 0's file, sent to the others.
pub(super) fn reopen<M: Model>(
    world: &World,
    path: &Path,
    opt: &mut impl Optimizer,
) -> Result<(M, Training, Preprocessing), CheckpointError> {
    #[cfg(feature = "mpi")]
    return world.reopen::<M>(path, opt);
    #[cfg(not(feature = "mpi"))]
    {
        let _ = world;
        M::reopen(path, opt)
    }
}

/// `result`, except that an error on one of several ranks ends every rank with its message:
/// returning would leave the others waiting for this one forever.
pub(super) fn settle(world: &World, result: Result<(), Error>) -> Result<(), Error> {
    #[cfg(feature = "mpi")]
    if let Err(e) = &result {
        use crate::train::replicas::Replicas;
        if world.size() > 1 {
            world.abort(&format!("error: {e}"));
        }
    }
    #[cfg(not(feature = "mpi"))]
    let _ = world;
    result
}
