//! Specialized trainers for `mlp train | eval | predict`: for a spec, a small crate whose
//! `main` is `mlp_runtime::driver::main::<Net>()` over `mlp! { pub struct Net = SPEC; }`,
//! built in release once and cached by a hash of the canonical spec, the tool's version and
//! every source file the trainer is built from.
//!
//! The cache is `$MLP_CACHE`, else `$XDG_CACHE_HOME/mlp`, else `~/.cache/mlp`: one folder per
//! trainer under `trainers/`, and one shared `target/` so that the runtime and its
//! dependencies compile once for all trainers. The crate depends by path on the `mlp-runtime`
//! of an mlp source tree and starts from the tree's `Cargo.lock`, so trainers build with the
//! versions the tests ran with. That tree is `$MLP_SOURCE` when set; otherwise it is the copy
//! this binary carries (see `build.rs`: the runtime, the macro, the compiler, the grammar and
//! the lock file as they were when `mlp` was built), written once under `source/` in the
//! cache, so that an installed `mlp` needs no checkout. The key hashes the tree's manifests,
//! lock file, grammar and the sources of the runtime, the macro and the compiler as they are
//! when `mlp` runs, so a trainer built before any of them changed is built again, never
//! reused.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The sources a trainer is built from, carried in the binary (`FILES`, by path in the tree).
mod carried {
    include!(concat!(env!("OUT_DIR"), "/sources.rs"));
}

/// The crates a trainer is built from, besides its own: their manifests, build scripts and
/// sources go into the cache key.
const CRATES: [&str; 3] = ["mlp-runtime", "mlp-macros", "mlp-compiler"];

/// FNV-1a, 64 bits: a stable name for a spec's trainer.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The mlp source tree trainers are built from: `$MLP_SOURCE`, else the carried copy,
/// written under `cache` the first time.
fn source_tree(cache: &Path) -> Result<PathBuf, String> {
    match std::env::var_os("MLP_SOURCE") {
        Some(tree) => Ok(PathBuf::from(tree)),
        None => unpack(carried::FILES, &cache.join("source")),
    }
}

/// Writes `files` (paths within a tree, contents) into `parent/<hash of the files>` unless
/// that folder exists, and returns it. The files are written into a temporary folder first
/// and renamed at once, so that a folder under its final name is always complete (even when
/// two `mlp` processes unpack at the same time: the second rename fails and its copy goes).
fn unpack(files: &[(&str, &[u8])], parent: &Path) -> Result<PathBuf, String> {
    let mut bytes = Vec::new();
    for (name, content) in files {
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(&(content.len() as u64).to_le_bytes());
        bytes.extend_from_slice(content);
    }
    let tree = parent.join(format!("{:016x}", fnv(&bytes)));
    if tree.is_dir() {
        return Ok(tree);
    }
    let partial = parent.join(format!(
        "{:016x}.partial-{}",
        fnv(&bytes),
        std::process::id()
    ));
    let io =
        |e: std::io::Error| format!("cannot write the mlp sources in {}: {e}", parent.display());
    let _ = std::fs::remove_dir_all(&partial);
    for (name, content) in files {
        let path = partial.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&partial)).map_err(io)?;
        std::fs::write(&path, content).map_err(io)?;
    }
    if let Err(e) = std::fs::rename(&partial, &tree) {
        let _ = std::fs::remove_dir_all(&partial);
        if !tree.is_dir() {
            return Err(io(e));
        }
    }
    Ok(tree)
}

/// The files of `root` a trainer is built from, in a fixed order: the workspace manifest (the
/// crates inherit from it) and lock file, the grammar, and each crate's manifest, build script
/// and sources.
fn inputs(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = vec![root.join("Cargo.toml"), root.join("Cargo.lock")];
    let grammar = files_under(&root.join("grammar"))?;
    files.extend(
        grammar
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "pest")),
    );
    for krate in CRATES {
        let dir = root.join(krate);
        files.push(dir.join("Cargo.toml"));
        if dir.join("build.rs").exists() {
            files.push(dir.join("build.rs"));
        }
        files.extend(files_under(&dir.join("src"))?);
    }
    Ok(files)
}

/// Every file under `dir`, at any depth, sorted by path.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            out.extend(files_under(&path)?);
        } else {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// A hash of the trainer's inputs in `root` (a few hundred KB): each file's path within the
/// tree, its length and its bytes.
fn source_hash(root: &Path) -> Result<u64, String> {
    let mut bytes = Vec::new();
    for file in inputs(root)? {
        let content =
            std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let name = file.strip_prefix(root).unwrap_or(&file);
        bytes.extend_from_slice(name.to_string_lossy().as_bytes());
        bytes.extend_from_slice(&(content.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&content);
    }
    Ok(fnv(&bytes))
}

fn cache() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("MLP_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("mlp"));
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/mlp"))
        .ok_or_else(|| "no cache folder: set MLP_CACHE".to_string())
}

/// The macro body for a canonical spec: its `act` definitions, then the network as `Net`.
fn macro_body(canonical: &str) -> String {
    match canonical.rsplit_once("; ") {
        Some((acts, network)) => format!("{acts};\n    pub struct Net = {network};"),
        None => format!("pub struct Net = {canonical};"),
    }
}

/// The trainer executable for `canonical` (a validated spec in canonical form), built now if
/// the cache does not hold it; with `mpi`, built with the runtime's `mpi` feature, to run
/// under `mpirun`. Build output goes to standard error.
pub fn executable(canonical: &str, mpi: bool) -> Result<PathBuf, String> {
    let cache = cache()?;
    let root = source_tree(&cache)?;
    let runtime = root.join("mlp-runtime");
    if !runtime.join("Cargo.toml").exists() {
        return Err(format!(
            "the runtime crate is not at {}: MLP_SOURCE must name an mlp source tree",
            runtime.display()
        ));
    }
    let sources = source_hash(&root)?;
    let features = if mpi {
        r#""driver", "mpi""#
    } else {
        r#""driver""#
    };
    let key = fnv(format!(
        "{canonical}\n{}\n{}\n{sources:016x}{}",
        env!("CARGO_PKG_VERSION"),
        runtime.display(),
        if mpi { "\nmpi" } else { "" }
    )
    .as_bytes());
    let lock = std::fs::read(root.join("Cargo.lock"))
        .map_err(|e| format!("cannot read {}: {e}", root.join("Cargo.lock").display()))?;
    let dir = cache.join("trainers").join(format!("{key:016x}"));
    let exe = dir.join(format!("trainer{}", std::env::consts::EXE_SUFFIX));
    if exe.exists() {
        return Ok(exe);
    }
    let io =
        |e: std::io::Error| format!("cannot write the trainer crate in {}: {e}", dir.display());
    std::fs::create_dir_all(dir.join("src")).map_err(io)?;
    let name = format!("mlp-trainer-{key:016x}");
    let runtime = runtime.canonicalize().map_err(io)?;
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nmlp-runtime = {{ path = {:?}, features = [{features}] }}\n\n\
         [profile.release]\ncodegen-units = 4\n\n[workspace]\n",
        runtime.display().to_string()
    );
    let main = format!(
        "//! The trainer `mlp train` built for: {canonical}\n\n\
         mlp_runtime::mlp! {{\n    {}\n}}\n\n\
         fn main() -> std::process::ExitCode {{\n    mlp_runtime::driver::main::<Net>()\n}}\n",
        macro_body(canonical)
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).map_err(io)?;
    std::fs::write(dir.join("src/main.rs"), main).map_err(io)?;
    if !dir.join("Cargo.lock").exists() {
        std::fs::write(dir.join("Cargo.lock"), lock).map_err(io)?;
    }
    eprintln!(
        "building the trainer for `{canonical}` in {} (once)",
        dir.display()
    );
    let target = cache.join("target");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        // cargo's own progress on standard error: the first build takes minutes.
        .args(["build", "--release", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the trainer in {} failed", dir.display()));
    }
    let built = target
        .join("release")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    // Copied last: its presence marks a complete build.
    let partial = dir.join("trainer.partial");
    std::fs::copy(&built, &partial).map_err(io)?;
    std::fs::rename(&partial, &exe).map_err(io)?;
    Ok(exe)
}

/// `mlp`'s exit code for a trainer that ended with `status`: the trainer's own code; or, when
/// a signal ended it, 128 plus the signal's number, as a shell reports it, after saying which
/// signal it was.
pub fn exit_code(status: std::process::ExitStatus) -> std::process::ExitCode {
    if let Some(code) = status.code() {
        return std::process::ExitCode::from(code.clamp(0, 255) as u8);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = signal_name(signal).map_or(String::new(), |n| format!(" ({n})"));
            let core = if status.core_dumped() {
                ", core dumped"
            } else {
                ""
            };
            eprintln!("error: the trainer was killed by signal {signal}{name}{core}");
            return std::process::ExitCode::from((128 + signal).clamp(0, 255) as u8);
        }
    }
    std::process::ExitCode::FAILURE
}

/// The names of the signals whose numbers POSIX systems share.
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_bodies_keep_activations() {
        assert_eq!(macro_body("2 -> 1 : mse"), "pub struct Net = 2 -> 1 : mse;");
        assert_eq!(
            macro_body("act sq(x) = x * x; 2 -> sq 3 -> 1 : mse"),
            "act sq(x) = x * x;\n    pub struct Net = 2 -> sq 3 -> 1 : mse;"
        );
    }

    /// The tree this crate lies in (tests only: `mlp` itself never reads it).
    fn repository() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_key_covers_every_source_the_trainer_is_built_from() {
        let root = repository();
        let files = inputs(&root).unwrap();
        let has = |rel: &str| files.contains(&root.join(rel));
        for rel in [
            "Cargo.toml",
            "Cargo.lock",
            "grammar/mlp.pest",
            "mlp-runtime/Cargo.toml",
            "mlp-runtime/src/lib.rs",
            "mlp-runtime/src/optim/sgd.rs",
            "mlp-macros/src/lib.rs",
            "mlp-compiler/Cargo.toml",
            "mlp-compiler/src/emit/mod.rs",
        ] {
            assert!(has(rel), "{rel} is not hashed");
        }
        // Tests and documentation do not change what a trainer is.
        assert!(
            !files
                .iter()
                .any(|f| f.components().any(|c| c.as_os_str() == "tests"))
        );
        let bytes: u64 = files
            .iter()
            .map(|f| std::fs::metadata(f).unwrap().len())
            .sum();
        assert!(bytes < 2_000_000, "{bytes} bytes to hash");
        assert_eq!(source_hash(&root), source_hash(&root), "deterministic");
    }

    #[test]
    fn the_binary_carries_what_the_key_hashes() {
        let root = repository();
        let mut hashed: Vec<String> = inputs(&root)
            .unwrap()
            .iter()
            .map(|f| {
                let parts: Vec<_> = f.strip_prefix(&root).unwrap().iter().collect();
                parts.join(std::ffi::OsStr::new("/")).into_string().unwrap()
            })
            .collect();
        let mut carried: Vec<String> = carried::FILES.iter().map(|(n, _)| n.to_string()).collect();
        hashed.sort();
        carried.sort();
        assert_eq!(carried, hashed);
        // The sources are the tree's own bytes; the manifest is narrowed to the three crates.
        for (name, content) in carried::FILES {
            if *name != "Cargo.toml" {
                assert_eq!(*content, std::fs::read(root.join(name)).unwrap(), "{name}");
            }
        }
        let manifest = carried::FILES
            .iter()
            .find(|(n, _)| *n == "Cargo.toml")
            .unwrap()
            .1;
        let manifest = std::str::from_utf8(manifest).unwrap();
        assert!(manifest.contains(r#"members = ["mlp-runtime", "mlp-macros", "mlp-compiler"]"#));
        assert!(manifest.contains("[workspace.dependencies]"));
        assert!(!manifest.contains("[package]") && !manifest.contains("mlp-cli"));
    }

    #[test]
    fn sources_are_unpacked_once_and_whole() {
        let parent = std::env::temp_dir().join(format!("unpack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&parent);
        let files: &[(&str, &[u8])] = &[("a/b.rs", b"fn b() {}"), ("c.toml", b"[c]")];
        let tree = unpack(files, &parent).unwrap();
        assert_eq!(std::fs::read(tree.join("a/b.rs")).unwrap(), b"fn b() {}");
        assert_eq!(std::fs::read(tree.join("c.toml")).unwrap(), b"[c]");
        // Unpacked already: not written again (a file changed inside stays changed).
        std::fs::write(tree.join("c.toml"), b"changed").unwrap();
        assert_eq!(unpack(files, &parent).unwrap(), tree);
        assert_eq!(std::fs::read(tree.join("c.toml")).unwrap(), b"changed");
        // Other contents, another folder; no partial folder is left behind.
        let other = unpack(&[("c.toml", b"[d]")], &parent).unwrap();
        assert_ne!(other, tree);
        let names: Vec<_> = std::fs::read_dir(&parent)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        std::fs::remove_dir_all(&parent).unwrap();
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
