//! Checks of the options a training command line takes, shared by the trainer driver
//! (`mlp train`, feature `driver`) and the examples: every value a user can type becomes a
//! clear error naming the option (or, for more threads than the machine has, a warning),
//! never a panic deeper down.

use std::fmt::Display;

/// `n` if it is at least 1, else an error naming `option` (`--batch`, `--epochs`, …).
pub fn at_least_one<T: PartialOrd + From<u8> + Display + Copy>(
    option: &str,
    n: T,
) -> Result<T, String> {
    if n >= T::from(1) {
        Ok(n)
    } else {
        Err(format!("{option} must be at least 1, found {n}"))
    }
}

/// `lr` if it is a learning rate every optimizer accepts: positive and finite (`--lr 0`,
/// `--lr=-1` and `--lr nan` are errors).
pub fn learning_rate(lr: f32) -> Result<f32, String> {
    crate::optim::check_rate(lr).map_err(|_| format!("--lr must be a positive number, found {lr}"))
}

/// `v` if it is in [0, 1), else an error naming `option` (`--validation`).
pub fn fraction(option: &str, v: f32) -> Result<f32, String> {
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{option} must be in [0, 1), found {v}"))
    }
}

/// The number of kernel threads to use for `--threads n`, and a warning to print when `n`
/// had to be lowered: `n` must be at least 1, and above the machine's CPUs
/// (`std::thread::available_parallelism`) it is clamped to them, since threads beyond the
/// CPUs only wait for each other (10,000 threads make an epoch twenty times slower).
pub fn threads(n: usize) -> Result<(usize, Option<String>), String> {
    let n = at_least_one("--threads", n)?;
    match std::thread::available_parallelism() {
        Ok(cpus) if n > cpus.get() => Ok((
            cpus.get(),
            Some(format!(
                "--threads {n} is more than the {cpus} CPUs this machine has; using {cpus}"
            )),
        )),
        _ => Ok((n, None)),
    }
}

/// Checks that a training set of `samples` holds at least one batch of `batch`: `what` says
/// where the samples come from, e.g. "--validation 0.999 leaves".
pub fn one_batch(what: &str, samples: usize, batch: usize) -> Result<(), String> {
    if samples >= batch.max(1) {
        return Ok(());
    }
    Err(format!(
        "{what} {samples} training samples, fewer than one batch of {batch}"
    ))
}

/// Checks that a run resumed after `done` epochs has epochs left to run when `--epochs`
/// (which counts every epoch, the resumed ones too) is `epochs`.
pub fn epochs_left(done: u64, epochs: u64) -> Result<(), String> {
    if epochs > done {
        return Ok(());
    }
    Err(format!(
        "the checkpoint has trained {done} epochs and --epochs {epochs} counts them all: ask for more than {done}"
    ))
}
