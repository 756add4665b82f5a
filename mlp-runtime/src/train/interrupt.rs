//! Interrupts: [`interrupt`], and Ctrl-C while a run watches for it.
//!
//! A run that sets [`crate::train::Config::ctrl_c`] holds a [`CtrlC`] guard while it trains:
//! the first guard replaces the process's SIGINT action with one that only counts the
//! interrupt, and the last guard dropped puts back the action that was there before (by
//! default, ending the process). A host program's own handler is thus replaced during the run
//! and restored after it. The signal is handled with `sigaction` through the `nix` crate:
//! `ctrlc` and `signal-hook` install a handler for good (signal-hook's `unregister` leaves
//! SIGINT ignored, as its documentation warns), so neither can give Ctrl-C its meaning back.
//! On other systems than Unix, Ctrl-C is not watched.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Interrupts so far (Ctrl-C or [`interrupt`]); a run stops when the count moves.
pub(super) static INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Asks every running [`crate::train::fit`] to stop after its current step, as Ctrl-C does.
pub fn interrupt() {
    INTERRUPTS.fetch_add(1, Ordering::SeqCst);
}

/// While one is alive, Ctrl-C (SIGINT) counts as an [`interrupt`].
pub(super) struct CtrlC(());

/// The guards alive, and the action to put back when the last one is dropped.
static WATCHERS: Mutex<(usize, Option<os::Saved>)> = Mutex::new((0, None));

impl CtrlC {
    /// Starts watching Ctrl-C (or joins the runs that already do).
    pub(super) fn watch() -> Result<CtrlC, String> {
        let mut watchers = WATCHERS.lock().unwrap_or_else(|e| e.into_inner());
        if watchers.0 == 0 {
            watchers.1 = Some(os::install()?);
        }
        watchers.0 += 1;
        Ok(CtrlC(()))
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        let mut watchers = WATCHERS.lock().unwrap_or_else(|e| e.into_inner());
        watchers.0 -= 1;
        if watchers.0 == 0
            && let Some(previous) = watchers.1.take()
        {
            os::restore(&previous);
        }
    }
}

#[cfg(unix)]
mod os {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    use std::sync::atomic::Ordering;

    /// The SIGINT action that was in place before ours.
    pub type Saved = SigAction;

    extern "C" fn on_sigint(_: nix::libc::c_int) {
        // An atomic add is async-signal-safe; nothing else happens here.
        super::INTERRUPTS.fetch_add(1, Ordering::SeqCst);
    }

    pub fn install() -> Result<Saved, String> {
        let ours = SigAction::new(
            SigHandler::Handler(on_sigint),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        // SAFETY: the handler only increments an atomic counter (async-signal-safe).
        unsafe { sigaction(Signal::SIGINT, &ours) }.map_err(|e| format!("cannot watch Ctrl-C: {e}"))
    }

    pub fn restore(previous: &Saved) {
        // SAFETY: puts back the action that was installed before ours. It cannot fail for
        // SIGINT with an action that sigaction returned.
        let _ = unsafe { sigaction(Signal::SIGINT, previous) };
    }
}

#[cfg(not(unix))]
mod os {
    /// Nothing is replaced.
    pub type Saved = ();

    pub fn install() -> Result<Saved, String> {
        Ok(())
    }

    pub fn restore(_: &Saved) {}
}
