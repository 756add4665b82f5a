//! Any UTF-8 text runs the whole compiler, as the CLI reads a spec and as the macro reads its
//! body: parse, validate, derive, trace (text, LaTeX, every rewrite, HTML), graph (DOT and
//! SVG) and emit. Every stage returns a value or errors whose spans lie inside the text; none
//! panics; each is bounded by the compiler's limits (run with `-timeout` and `-rss_limit_mb`,
//! so that a hang or a blow-up is a finding too).
//!
//! A network the compiler accepts but that takes long to derive (more than
//! [`FUZZ_LAYERS`] layers, or activation formulas of more than [`FUZZ_OPERATIONS`]
//! operations in all) is validated only: the deepest and heaviest take a second each, and in
//! the corpus they slowed the target from 1,000 to under 200 executions a second.
//! `mlp-compiler/tests/limits.rs` and `never_panics.rs` derive such networks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlp_compiler::{Activation, Diagnostic, Diagnostics, Network, Plan};
use proc_macro2::{Ident, Span, TokenStream};

/// The most layers a network may have to be derived here.
const FUZZ_LAYERS: usize = 12;
/// The most operations its activations' formulas may hold in all (a built-in counts 12).
const FUZZ_OPERATIONS: usize = 512;

/// Whether `net` is quick enough to derive for every input.
fn light(net: &Network) -> bool {
    let operations: usize = net
        .layers
        .iter()
        .map(|l| match &l.activation {
            Activation::Custom(c) => c.formula.size(),
            _ => 12,
        })
        .sum();
    net.layers.len() <= FUZZ_LAYERS && operations <= FUZZ_OPERATIONS
}

fn assert_inside(text: &str, d: &Diagnostic) {
    assert!(d.span.start <= d.span.end && d.span.end <= text.len(), "{d:?}");
    assert!(!d.message.is_empty());
}

fn assert_errors(text: &str, diags: &Diagnostics) {
    assert!(!diags.is_empty());
    for d in diags.errors() {
        assert_inside(text, d);
    }
    let _ = diags.render("<fuzz>", text);
}

/// Everything after derivation; the generated code, or a limit's error.
fn after_derivation(c: &Plan) -> Result<TokenStream, mlp_compiler::LimitError> {
    let _ = c.derivation.text(None);
    let _ = c.derivation.latex(None);
    let _ = c
        .derivation
        .with_rewrites(None, mlp_compiler::ir::notation::Style::Text);
    let _ = c.derivation.html(None, true);
    let _ = mlp_compiler::emit::graph::graph(c);
    let _ = c.svg();
    let name = Ident::new("Net", Span::call_site());
    mlp_compiler::emit::network_item(c, TokenStream::new(), TokenStream::new(), &name)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // As `mlp explain` and `mlp expand` read a spec.
    match mlp_compiler::compile_spec(text) {
        Ok(net) if light(&net) => match mlp_compiler::compile(text) {
            Ok(c) => {
                if let Err(limit) = after_derivation(&c) {
                    assert!(!limit.message.is_empty());
                }
            }
            Err(diags) => assert_errors(text, &diags),
        },
        Ok(_) => {}
        Err(diags) => assert_errors(text, &diags),
    }
    // As `mlp!` reads its body: each network item derived and emitted, its errors under the text.
    match mlp_compiler::compile_items(text) {
        Ok(items) => {
            for item in items {
                let Some(net) = item.network else {
                    panic!("an item without errors has a network")
                };
                if !light(&net) {
                    continue;
                }
                let done = mlp_compiler::compile_network(net).and_then(|c| after_derivation(&c));
                if let Err(limit) = done {
                    assert_inside(text, &limit.diagnostic(&item.layer_spans, item.name.span));
                }
            }
        }
        Err((_, diags)) => assert_errors(text, &diags),
    }
});
