//! Generated trainers against the f64 reference, on every instruction set this CPU runs: one
//! child process per path (the path is chosen once per process), forced by `MLP_FORCE_ISA` or
//! `MLP_FORCE_PORTABLE=1`, each proving by `kernels_run` that its path, and only it, ran.

#[macro_use]
mod common;

use mlp_runtime::simd::{self, Isa};
use std::process::Command;

/// The variable a child reads to know which path it must have run.
const EXPECT: &str = "MLP_TEST_EXPECT_ISA";

#[test]
fn generated_code_matches_the_reference_on_every_isa() {
    let runs = [
        ("MLP_FORCE_ISA", "avx512", Isa::Avx512),
        ("MLP_FORCE_ISA", "avx2", Isa::Avx2Fma),
        ("MLP_FORCE_ISA", "portable", Isa::Portable),
        ("MLP_FORCE_PORTABLE", "1", Isa::Portable),
    ];
    for (var, value, isa) in runs {
        if !isa.supported() {
            eprintln!("skipped: {var}={value} (this CPU lacks {isa})");
            continue;
        }
        let out = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--ignored", "--exact", "on_one_isa", "--nocapture"])
            .env_remove("MLP_FORCE_ISA")
            .env_remove("MLP_FORCE_PORTABLE")
            .env(var, value)
            .env(EXPECT, isa.name())
            .output()
            .expect("the child test runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{var}={value}:\n{text}");
        assert!(
            text.contains("1 passed"),
            "{var}={value}: the child ran no test:\n{text}"
        );
        eprintln!(
            "{var}={value}: {}",
            text.lines()
                .find(|l| l.starts_with("compared"))
                .unwrap_or("?")
        );
    }
}

/// One path's run, in a child process started by the test above.
#[test]
#[ignore = "run by generated_code_matches_the_reference_on_every_isa in a child process"]
fn on_one_isa() {
    let want = std::env::var(EXPECT).expect("started by the parent test");
    let compared = common::run_all();
    // 31 networks × 4 batch sizes; a few may sit on a kink.
    assert!(
        compared >= 100,
        "only {compared} of 124 cases were away from kinks"
    );
    println!("compared {compared} of 124 cases on {}", simd::isa());
    assert_eq!(simd::isa().name(), want, "the chosen path");
    assert_eq!(
        simd::kernels_run(),
        vec![simd::isa()],
        "the kernels that ran"
    );
}
