//! Compile-error tests of `mlp!`: one mistake per file, each error under the offending token.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui` and review.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
