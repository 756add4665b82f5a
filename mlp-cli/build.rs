//! Carries the sources a trainer is built from inside the `mlp` binary, so that an installed
//! `mlp` (`cargo install --path mlp-cli`) trains without the source tree it was built from.
//!
//! `$OUT_DIR/sources.rs` lists every file `src/trainer.rs` writes out (once, into its cache)
//! before it builds a trainer: the runtime, the macro and the compiler (manifest, build script,
//! sources), the grammar, the lock file, and a workspace manifest made from the tree's own:
//! its `[workspace…]` tables (which the crates inherit their version, edition and dependency
//! versions from) with the members narrowed to the three crates carried.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The crates a trainer is built from, besides its own.
const CRATES: [&str; 3] = ["mlp-runtime", "mlp-macros", "mlp-compiler"];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().expect("mlp-cli lies in the mlp tree");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());

    let workspace = read(&root.join("Cargo.toml"));
    let narrowed = workspace_manifest(&workspace);
    std::fs::write(out.join("Cargo.toml"), narrowed).expect("OUT_DIR is writable");
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.toml").display()
    );

    let mut files: Vec<(String, PathBuf)> = vec![
        ("Cargo.toml".into(), out.join("Cargo.toml")),
        ("Cargo.lock".into(), root.join("Cargo.lock")),
    ];
    for dir in ["grammar"].into_iter().chain(CRATES) {
        let dir_path = root.join(dir);
        // A directory: cargo runs this script again when anything under it changes.
        println!("cargo:rerun-if-changed={}", dir_path.display());
        for file in files_under(&dir_path) {
            let relative = file.strip_prefix(root).unwrap();
            let carried = relative.starts_with(format!("{dir}/src"))
                || relative
                    .file_name()
                    .is_some_and(|n| n == "Cargo.toml" || n == "build.rs")
                    && relative.parent() == Some(Path::new(dir))
                || dir == "grammar" && file.extension().is_some_and(|e| e == "pest");
            if carried {
                files.push((slashes(relative), file));
            }
        }
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );

    let mut code = String::from(
        "/// The files a trainer is built from, by path within the tree: written by build.rs.\n\
         pub const FILES: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    std::fs::write(out.join("sources.rs"), code).expect("OUT_DIR is writable");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A path within the tree with `/` between its parts, whatever the host's separator.
fn slashes(path: &Path) -> String {
    let parts: Vec<_> = path.iter().map(|p| p.to_string_lossy()).collect();
    parts.join("/")
}

/// Every file under `dir`, at any depth, sorted by path.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a readable directory entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The tree's manifest reduced to its `[workspace…]` tables, with `members` naming the three
/// crates carried and no `exclude`: the root package, its tests and examples stay behind.
fn workspace_manifest(manifest: &str) -> String {
    let mut out = String::from("# The workspace tables of the mlp tree `mlp` was built from.\n");
    let mut keep = false;
    for line in manifest.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            keep = trimmed.starts_with("[workspace]") || trimmed.starts_with("[workspace.");
            if keep {
                out.push('\n');
            }
        }
        if !keep || trimmed.starts_with("exclude") || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with("members") {
            assert!(
                trimmed.ends_with(']'),
                "build.rs reads `members = [...]` on one line of the tree's Cargo.toml"
            );
            let members: Vec<String> = CRATES.iter().map(|c| format!("{c:?}")).collect();
            writeln!(out, "members = [{}]", members.join(", ")).unwrap();
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(
        out.contains("members = ["),
        "the tree's Cargo.toml has no [workspace] members"
    );
    out
}
