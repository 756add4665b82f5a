//! Specialized trainers for `mlp train | eval | predict`: for a spec, a small crate whose
//! `main` is `mlp_runtime::driver::main::<Net>()` over `mlp! { pub struct Net = SPEC; }`,
//! built in release once and cached by a hash of the canonical spec and the tool's version.
//!
//! The cache is `$MLP_CACHE`, else `$XDG_CACHE_HOME/mlp`, else `~/.cache/mlp`: one folder per
//! trainer under `trainers/`, and one shared `target/` so that the runtime and its
//! dependencies compile once for all trainers. The crate depends on this repository's
//! `mlp-runtime` by path and starts from its `Cargo.lock`, so trainers build with the versions
//! the tests ran with.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The runtime crate the trainers depend on.
const RUNTIME: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../mlp-runtime");
/// The workspace's lock file.
const LOCK: &str = include_str!("../../Cargo.lock");

/// FNV-1a, 64 bits: a stable name for a spec's trainer.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
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
/// the cache does not hold it. Build output goes to standard error.
pub fn executable(canonical: &str) -> Result<PathBuf, String> {
    let runtime = Path::new(RUNTIME);
    if !runtime.join("Cargo.toml").exists() {
        return Err(format!(
            "the runtime crate is not at {RUNTIME}; `mlp train` runs from a build of the mlp repository"
        ));
    }
    let key = fnv(format!("{canonical}\n{}\n{RUNTIME}", env!("CARGO_PKG_VERSION")).as_bytes());
    let root = cache()?;
    let dir = root.join("trainers").join(format!("{key:016x}"));
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
         [dependencies]\nmlp-runtime = {{ path = {:?}, features = [\"driver\"] }}\n\n\
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
        std::fs::write(dir.join("Cargo.lock"), LOCK).map_err(io)?;
    }
    eprintln!(
        "building the trainer for `{canonical}` in {} (once)",
        dir.display()
    );
    let target = root.join("target");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--quiet", "--manifest-path"])
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

    #[test]
    fn names_are_stable() {
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
