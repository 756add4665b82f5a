//! Every valid network derives, traces and emits code that parses: the macro never panics on
//! a network the validator accepted. Random specs: depth 1–5, every activation and loss,
//! bias or not, widths from 1 to 300 (tiny layers unrolled, large ones on the GEMM), custom
//! formulas including constants (whose layers cut the gradient).

use proptest::prelude::*;

mod support;
use support::{ACTIVATIONS, LOSSES, spec_text};

const FORMULAS: &[&str] = &[
    "x",
    "2",
    "x * tanh(x) - 1",
    "max(x, 0.5) / (1 + x^2)",
    "erf(x) ^ 2",
    "abs(x - 1) + min(x, -x)",
    "sqrt(1 + x^2) * sigmoid(-x)",
];

fn spec() -> impl Strategy<Value = String> {
    let layer = (
        0..ACTIVATIONS.len(),
        prop_oneof![1usize..17, 17usize..300],
        any::<bool>(),
    );
    (
        1usize..300,
        prop::collection::vec(layer, 1..6),
        0..LOSSES.len(),
        0..FORMULAS.len(),
    )
        .prop_map(|(inputs, layers, loss, f)| spec_text(FORMULAS[f], inputs, &layers, loss))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn valid_networks_emit_parsable_code(spec in spec()) {
        let compiled = mlp_compiler::compile(&spec).map_err(|e| TestCaseError::fail(format!("{spec}: {e}")))?;
        let _ = compiled.derivation.text(None);
        let _ = compiled.derivation.latex(None);
        let name = proc_macro2::Ident::new("Net", proc_macro2::Span::call_site());
        let tokens = mlp_compiler::emit::network_item(&compiled, quote::quote!(), quote::quote!(pub), &name)
            .map_err(|e| TestCaseError::fail(format!("{spec}: {e}")))?;
        prop_assert!(syn::parse2::<syn::File>(tokens).is_ok(), "{}: generated code does not parse", spec);
    }
}
