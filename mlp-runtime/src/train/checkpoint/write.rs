//! Atomic writes, and the removal of temporary files that interrupted writes left behind.

use super::{CheckpointError, error};
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `data` to a temporary file beside `path` (`.NAME.tmp-PID`), syncs it, renames it
/// over `path` and syncs the folder. First removes the temporary files of earlier writes of
/// `path` that were killed before their rename: those whose process is no longer running
/// (on Unix; elsewhere they are left). A temporary file of a live process, which may be
/// writing `path` right now, is kept.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<(), CheckpointError> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| error(path, "the path names no file"))?;
    remove_stale(&folder, name);
    let tmp = folder.join(temporary(name, std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the folder is synced (not possible on every platform).
        if let Ok(dir) = std::fs::File::open(&folder) {
            let _ = dir.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        error(path, format!("cannot write: {e}"))
    })
}

/// The name of process `pid`'s temporary file for the file named `name`.
fn temporary(name: &OsStr, pid: u32) -> OsString {
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".tmp-{pid}"));
    tmp
}

/// Removes the temporary files for `name` in `folder` whose process has ended. Best effort:
/// a file that cannot be listed or removed is left.
fn remove_stale(folder: &Path, name: &OsStr) {
    let Some(name) = name.to_str() else {
        return;
    };
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let pid = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && pid != std::process::id()
            && !running(pid)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` may be running: false only when the system says it does not exist.
#[cfg(unix)]
fn running(pid: u32) -> bool {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    match i32::try_from(pid) {
        // Signal 0 checks that the process exists without sending anything; a process of
        // another user answers EPERM, and counts as running.
        Ok(pid) if pid > 0 => kill(Pid::from_raw(pid), None) != Err(Errno::ESRCH),
        _ => true,
    }
}

/// Elsewhere no temporary file is known to be stale.
#[cfg(not(unix))]
fn running(_: u32) -> bool {
    true
}
