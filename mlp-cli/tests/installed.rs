//! An installed `mlp` trains without the source tree it was built from: it carries the
//! sources of the runtime, the macro and the compiler, writes them once into its cache, and
//! builds trainers against that copy. The binary is run from a folder of its own, as
//! `cargo install` leaves it, with `MLP_SOURCE` unset.

use std::path::{Path, PathBuf};
use std::process::Command;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The trainer crates in `cache` built for `spec`.
fn trainers_for(cache: &Path, spec: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(cache.join("trainers")) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|dir| {
            std::fs::read_to_string(dir.join("src/main.rs"))
                .is_ok_and(|main| main.contains(&format!("built for: {spec}\n")))
        })
        .collect()
}

#[test]
fn an_installed_mlp_builds_trainers_from_the_sources_it_carries() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let home = tmp.join(format!("installed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(home.join("bin")).unwrap();
    let mlp = home
        .join("bin")
        .join(format!("mlp{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(env!("CARGO_BIN_EXE_mlp"), &mlp).unwrap();
    let mut csv = String::from("a,b,label\n");
    for k in 0..200u32 {
        let (a, b) = ((k % 13) as f32 / 6.0 - 1.0, (k % 7) as f32 / 3.0 - 1.0);
        csv += &format!("{a},{b},{}\n", u32::from(a > b));
    }
    std::fs::write(home.join("data.csv"), csv).unwrap();
    // The shared cache of the CLI tests: its runtime build is reused, the spec is this test's.
    let cache = tmp.join("mlp-cache");
    let spec = "2 -> tanh 6 -> 2 : nll";
    let out = Command::new(&mlp)
        .args(["train", spec, "--data", "data.csv", "--epochs", "2"])
        .current_dir(&home)
        .env("MLP_CACHE", &cache)
        .env_remove("MLP_SOURCE")
        .output()
        .expect("the copied binary runs");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(home.join("model.safetensors").exists());

    // Every trainer for the spec depends on a runtime inside the cache's `source/`, never on
    // the tree the binary was built from.
    let trainers = trainers_for(&cache, spec);
    assert!(!trainers.is_empty(), "no trainer crate for {spec}");
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .canonicalize()
        .unwrap();
    let source = cache.join("source").canonicalize().unwrap();
    for trainer in trainers {
        let manifest = std::fs::read_to_string(trainer.join("Cargo.toml")).unwrap();
        let runtime = manifest
            .lines()
            .find_map(|l| l.strip_prefix("mlp-runtime = { path = \""))
            .and_then(|l| l.split('"').next())
            .unwrap_or_else(|| panic!("no runtime path in {manifest}"));
        let runtime = Path::new(runtime);
        assert!(runtime.starts_with(&source), "{}", runtime.display());
        // (The test's cache lies in the repository's target folder, so compare with the
        // repository's own runtime crate, not the repository as a whole.)
        assert!(
            !runtime.starts_with(repository.join("mlp-runtime")),
            "{}",
            runtime.display()
        );
        assert!(runtime.join("src/lib.rs").exists());
        assert!(runtime.parent().unwrap().join("Cargo.lock").exists());
    }
    std::fs::remove_dir_all(&home).unwrap();
}
