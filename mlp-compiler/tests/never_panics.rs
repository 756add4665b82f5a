//! The compiler never panics and never runs without bound: random text and mutations of
//! valid specs always give `Ok` or `Err` with spans inside the text, and an accepted network's
//! canonical text reads back to the same network (parse and validate, 100,000 cases in three
//! strategies); generated and mutated specs, deep networks and nested custom activations among
//! them, are derived, traced, drawn and emitted, or refused with errors under their text. Each case is bounded by the compiler's limits, not by a timer. `cargo fuzz`
//! runs the same checks for longer (see `fuzz/`).

use mlp_compiler::{Diagnostics, compile_items, compile_spec};
use proptest::prelude::*;

const VALID_SPECS: &[&str] = &[
    "784 -> relu 512 -> relu 512 -> 10 : nll",
    "2 -> tanh 8 -> sigmoid 1 : mse",
    "act swish(x) = x * sigmoid(x); 4 -> swish 8 -> 1 : mse",
    "10 -> leaky_relu(0.2) 16 -> elu(-0.5) 3 no_bias : ce",
    "act f(t) = -t^2 / (1 + abs(t)) - max(t, 1e-3); 3 -> f 4 -> softmax 2 : l2",
    "// comment\n20 -> softplus 16 -> silu 8 -> gelu 1 : bce",
];

const VALID_ITEMS: &[&str] = &[
    "# [doc = \" The network \"] pub struct Mnist = 784 -> relu 512 -> relu 512 -> 10 : nll ;",
    "act swish (x) = x * sigmoid (x) ; pub (crate) struct A = 4 -> swish 8 -> 1 : mse ; struct B = 1 -> 1 : l2 ;",
];

/// Fragments a mutation may insert: tokens of the language, near-misses, and awkward text.
const FRAGMENTS: &[&str] = &[
    "->",
    "-",
    ">",
    ":",
    ";",
    "(",
    ")",
    ",",
    "=",
    "^",
    "*",
    "/",
    "+",
    "#",
    "[",
    "]",
    "\"",
    "relu",
    "softmax",
    "no_bias",
    "act",
    "struct",
    "pub",
    "x",
    "0",
    "1",
    "99999999999999999999999",
    "1e999",
    "0.5",
    "_",
    "é",
    "💥",
    "\n",
    "//",
    " ",
    "nll",
    "bce",
    "(x)",
    "1_0",
    ".",
];

fn assert_sound(text: &str, result: Result<(), Diagnostics>) {
    if let Err(diags) = result {
        assert!(
            !diags.is_empty(),
            "an error result with no errors for {text:?}"
        );
        for d in diags.errors() {
            assert!(
                d.span.start <= d.span.end && d.span.end <= text.len(),
                "span {:?} outside {text:?} for `{d}`",
                d.span
            );
            assert!(text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end));
            assert!(!d.message.is_empty());
        }
        // Rendering for a person must not panic either.
        let _ = diags.render("<fuzz>", text);
    }
}

fn check_text(text: &str) {
    let spec = compile_spec(text).map(|net| {
        let again = compile_spec(&net.spec());
        assert_eq!(
            again.as_ref(),
            Ok(&net),
            "canonical text of {text:?} reads back differently"
        );
    });
    assert_sound(text, spec);
    assert_sound(text, compile_items(text).map(|_| ()).map_err(|(_, d)| d));
}

/// One edit: delete a range, insert a fragment, or duplicate a range.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, usize),
    Duplicate(usize, usize),
}

fn apply(base: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for edit in edits {
        let n = chars.len().max(1);
        match *edit {
            Edit::Delete(at, len) => {
                let at = at % n;
                let end = (at + len % 6).min(chars.len());
                chars.drain(at.min(chars.len())..end);
            }
            Edit::Insert(at, frag) => {
                let at = (at % (chars.len() + 1)).min(chars.len());
                let f = FRAGMENTS[frag % FRAGMENTS.len()];
                chars.splice(at..at, f.chars());
            }
            Edit::Duplicate(at, len) => {
                let at = (at % n).min(chars.len());
                let end = (at + len % 8).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, copy);
            }
        }
    }
    chars.into_iter().collect()
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Delete(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Insert(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Duplicate(a, b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 50_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_valid_text(base in 0..VALID_SPECS.len() + VALID_ITEMS.len(), edits in prop::collection::vec(edit(), 1..5)) {
        let all: Vec<&str> = VALID_SPECS.iter().chain(VALID_ITEMS).copied().collect();
        check_text(&apply(all[base], &edits));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 30_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn text_from_the_language_alphabet(text in "[0-9a-z_ >:;()\\-+*/^,.=#\\[\\]\"\n]{0,60}") {
        check_text(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_unicode_text(text in "\\PC{0,40}") {
        check_text(&text);
    }
}

/// Inputs the fuzzers (`fuzz/`) found, each a crash once: they stay tests.
const FUZZ_FINDINGS: &[&str] = &[
    // A constant past f32's range (1.1·10⁵⁰, folded with the others into the derivative's
    // coefficient) panicked in emission: no f32 literal spells infinity.
    "act c(x) = x * x *111111111111111111111111111111111111111111111111111* x * x * x * x * x * x * x; 4 -> c 4 -> 2 : mse",
];

#[test]
fn fuzz_findings_compile() {
    for text in FUZZ_FINDINGS {
        check_pipeline(text);
    }
    // The constant is f32's infinity in the generated code, as f32 arithmetic would make it.
    let c = mlp_compiler::compile(FUZZ_FINDINGS[0]).unwrap();
    let name = proc_macro2::Ident::new("Net", proc_macro2::Span::call_site());
    let code = mlp_compiler::emit::network_item(&c, quote::quote!(), quote::quote!(pub), &name)
        .unwrap()
        .to_string();
    assert!(code.contains("f32 :: INFINITY"), "{code}");
}

#[test]
fn the_valid_corpus_is_valid() {
    for spec in VALID_SPECS {
        compile_spec(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
    }
    for items in VALID_ITEMS {
        compile_items(items).unwrap_or_else(|(_, e)| panic!("{items}: {e}"));
    }
}

/// Runs every stage after validation on `text`, read as the CLI reads it and as the macro does:
/// each gives a value or errors under the text, and emitted code parses.
fn check_pipeline(text: &str) {
    let name = proc_macro2::Ident::new("Net", proc_macro2::Span::call_site());
    match mlp_compiler::compile(text) {
        Ok(c) => {
            let _ = c.derivation.text(None);
            let _ = c.derivation.latex(None);
            let _ = mlp_compiler::emit::graph::graph(&c);
            match mlp_compiler::emit::network_item(&c, quote::quote!(), quote::quote!(pub), &name) {
                Ok(tokens) => assert!(
                    syn::parse2::<syn::File>(tokens).is_ok(),
                    "generated code for {text:?} does not parse"
                ),
                Err(limit) => assert!(!limit.message.is_empty()),
            }
        }
        Err(diags) => assert_sound(text, Err(diags)),
    }
    let items = match text.rsplit_once(';') {
        Some((acts, network)) => format!("{acts}; struct Net = {network};"),
        None => format!("struct Net = {text};"),
    };
    let Ok(nets) = compile_items(&items) else {
        return;
    };
    for item in nets {
        let Some(net) = item.network else { continue };
        let derived = mlp_compiler::compile_network(net).and_then(|c| {
            mlp_compiler::emit::network_item(&c, quote::quote!(), quote::quote!(pub), &name)
        });
        if let Err(limit) = derived {
            let d = limit.diagnostic(&item.layer_spans, item.name.span);
            let mut diags = Diagnostics::new();
            diags.push(d);
            assert_sound(&items, Err(diags));
        }
    }
}

/// `4 -> relu 4 -> … -> 2 : nll` with `layers` layers in all.
fn deep(layers: usize) -> String {
    (1..layers).fold("4".to_owned(), |s, _| s + " -> relu 4") + " -> 2 : nll"
}

/// A random formula in `x`: constants, operators, functions, nested up to `depth`.
fn formula(depth: u32) -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("x".to_owned()),
        (0u32..30).prop_map(|k| format!("{}", k as f64 / 10.0)),
    ];
    leaf.prop_recursive(depth, 64, 2, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*", "/", "^"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a}) {op} ({b})")),
            (
                prop::sample::select(vec!["exp", "log", "sqrt", "abs", "tanh", "sigmoid", "erf"]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            (
                prop::sample::select(vec!["max", "min"]),
                inner.clone(),
                inner
            )
                .prop_map(|(f, a, b)| format!("{f}({a}, {b})")),
        ]
    })
}

/// `act c1(x) = BASE; act c2(x) = …c1…; …`: custom activations each built on the one before,
/// so that sizes multiply, and the name of the last.
fn nested_acts() -> impl Strategy<Value = (String, String)> {
    let step = prop::sample::select(vec![
        "p(p(x))",
        "p(x) * p(x) + x",
        "tanh(p(x))",
        "p(x) / (1 + abs(p(x)))",
        "p(p(p(x)))",
    ]);
    (formula(3), prop::collection::vec(step, 0..7)).prop_map(|(base, steps)| {
        let mut text = format!("act c1(x) = {base}; ");
        for (k, step) in steps.iter().enumerate() {
            let body = step.replace('p', &format!("c{}", k + 1));
            text += &format!("act c{}(x) = {body}; ", k + 2);
        }
        (text, format!("c{}", steps.len() + 1))
    })
}

/// A spec: nested custom activations, then a network of a few layers, or of more than the
/// limit allows (the deepest allowed networks take seconds each: `tests/limits.rs` has them).
fn generated_spec() -> impl Strategy<Value = String> {
    let activation = prop::sample::select(vec![
        "", "relu", "tanh", "gelu", "softmax", "elu(0.5)", "custom",
    ]);
    let layer = (activation, 1usize..12, any::<bool>());
    let depth = prop_oneof![8 => 1usize..7, 1 => 60usize..300];
    let loss = prop::sample::select(vec!["nll", "ce", "mse", "bce", "l2"]);
    (
        nested_acts(),
        1usize..12,
        depth,
        prop::collection::vec(layer, 1..8),
        loss,
    )
        .prop_map(|((acts, custom), inputs, depth, layers, loss)| {
            let mut text = format!("{acts}{inputs}");
            for k in 0..depth {
                let (act, units, bias) = layers[k % layers.len()];
                let act = if act == "custom" {
                    custom.as_str()
                } else {
                    act
                };
                let no_bias = if bias { "" } else { " no_bias" };
                text += &format!(" -> {act} {units}{no_bias}");
            }
            text + &format!(" : {loss}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_specs_derive_and_emit_or_fail_with_spans(text in generated_spec()) {
        check_pipeline(&text);
    }

    #[test]
    fn mutated_specs_derive_and_emit_or_fail_with_spans(base in 0..VALID_SPECS.len() + 3, edits in prop::collection::vec(edit(), 1..4)) {
        let nested = "act b1(x) = x*x + x; act b2(x) = b1(b1(x)); act b3(x) = b2(b2(x)); 3 -> b3 4 -> 2 : mse";
        let seeds = [deep(16), deep(65), nested.to_owned()];
        let base = VALID_SPECS.get(base).map_or_else(|| seeds[base - VALID_SPECS.len()].clone(), |s| (*s).to_owned());
        check_pipeline(&apply(&base, &edits));
    }
}
