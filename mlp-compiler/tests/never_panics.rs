//! The parser and validator never panic: random text and mutations of valid specs always give
//! `Ok` or `Err` with spans inside the text, and an accepted network's canonical text reads
//! back to the same network. 100,000 cases in all (three strategies); `cargo fuzz` runs the
//! same check for longer (see `fuzz/`).

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

#[test]
fn the_valid_corpus_is_valid() {
    for spec in VALID_SPECS {
        compile_spec(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
    }
    for items in VALID_ITEMS {
        compile_items(items).unwrap_or_else(|(_, e)| panic!("{items}: {e}"));
    }
}
