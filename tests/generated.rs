//! Generated trainers against the f64 reference, on the instruction set this CPU offers.

#[macro_use]
mod common;

#[test]
fn generated_code_matches_the_reference() {
    let compared = common::run_all();
    // 31 networks × 4 batch sizes; a few may sit on a kink.
    assert!(
        compared >= 100,
        "only {compared} of 124 cases were away from kinks"
    );
    let expected = if mlp_runtime::simd::Avx2Token::detect().is_some() {
        mlp_runtime::simd::Isa::Avx2Fma
    } else {
        mlp_runtime::simd::Isa::Portable
    };
    assert!(
        mlp_runtime::simd::kernels_run().contains(&expected),
        "the {expected:?} kernels did not run: {:?}",
        mlp_runtime::simd::kernels_run()
    );
}
