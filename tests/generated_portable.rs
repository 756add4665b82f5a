//! Generated trainers against the f64 reference with the portable kernels forced, and a
//! check that the forced path is the only one that ran.

#[macro_use]
mod common;

#[test]
fn portable_path_matches_the_reference() {
    // SAFETY: set before any other thread exists and before the kernels choose a path.
    unsafe { std::env::set_var("MLP_FORCE_PORTABLE", "1") };
    let compared = common::run_all();
    assert!(
        compared >= 100,
        "only {compared} of 120 cases were away from kinks"
    );
    assert_eq!(
        mlp_runtime::simd::kernels_run(),
        vec![mlp_runtime::simd::Isa::Portable]
    );
}
