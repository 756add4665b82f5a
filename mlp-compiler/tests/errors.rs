//! Every kind of mistake, one line each: `check(spec, [(offending text, message fragment)])`.
//! The offending text is what the error's span must cover, so each test also pins where the
//! error points.

use mlp_compiler::{compile_items, compile_spec};

/// Asserts that `spec` fails with exactly the listed errors, in order: each pointing at the
/// first whole-word occurrence of `at` at or after the previous error (`""` is the end of the
/// text), and containing `says`. Where `at` alone is ambiguous, context may surround the
/// pointed text, which then stands in brackets: `"act ⟨f⟩(x) = 2"`.
fn check(spec: &str, expected: &[(&str, &str)]) {
    let errors = compile_spec(spec).expect_err(spec);
    assert_eq_errors(spec, errors, expected);
}

fn check_items(text: &str, expected: &[(&str, &str)]) {
    let (_, errors) = compile_items(text).expect_err(text);
    assert_eq_errors(text, errors, expected);
}

fn assert_eq_errors(text: &str, errors: mlp_compiler::Diagnostics, expected: &[(&str, &str)]) {
    let got: Vec<_> = errors.errors().to_vec();
    assert_eq!(got.len(), expected.len(), "{text}: got {errors}");
    let mut from = 0;
    for (d, (at, says)) in got.iter().zip(expected) {
        let (before, target) = match at.split_once('⟨') {
            Some((before, rest)) => (before, rest.split_once('⟩').expect("⟨ is closed").0),
            None => ("", *at),
        };
        let context = at.replace(['⟨', '⟩'], "");
        let start = find_word(text, from, &context)
            .unwrap_or_else(|| panic!("`{at}` not in {text}"))
            + before.len();
        let pointed = &text[d.span.start..d.span.end];
        assert_eq!(
            (d.span.start, pointed),
            (start, target),
            "{text}: span of `{d}`"
        );
        assert!(
            d.to_string().contains(says),
            "{text}: `{d}` does not say `{says}`"
        );
        from = start;
    }
}

/// The first occurrence of `word` at or after `from` that is not part of a longer word.
fn find_word(text: &str, from: usize, word: &str) -> Option<usize> {
    if word.is_empty() {
        return Some(text.len());
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    (from..=text.len() - word.len()).find(|&i| {
        text.get(i..i + word.len()) == Some(word)
            && !(word.starts_with(is_word) && text[..i].ends_with(is_word))
            && !(word.ends_with(is_word) && text[i + word.len()..].starts_with(is_word))
    })
}

#[test]
fn unknown_names_suggest_the_closest() {
    check(
        "784 -> relux 512 -> 10 : nll",
        &[(
            "relux",
            "unknown activation `relux`; expected one of relu, leaky_relu, elu, sigmoid, tanh, softplus, silu, gelu, softmax (did you mean `relu`?)",
        )],
    );
    check(
        "4 -> Tanh 3 -> 2 : nll",
        &[("Tanh", "(did you mean `tanh`?)")],
    );
    check(
        "4 -> 3 : nlll",
        &[(
            "nlll",
            "unknown loss `nlll`; expected one of nll, ce, mse, bce, l2 (did you mean `nll`?)",
        )],
    );
    check(
        "4 -> 3 : hinge",
        &[("hinge", "expected one of nll, ce, mse, bce, l2")],
    );
    check("4 -> 3 : relu", &[("relu", "`relu` is an activation")]);
    check("4 -> mse 3 : nll", &[("mse", "`mse` is a loss")]);
}

#[test]
fn sizes() {
    check(
        "0 -> 3 : mse",
        &[("0", "the input needs at least one unit, found 0")],
    );
    check(
        "4 -> relu 0 -> 3 : mse",
        &[("0", "layer 1 needs at least one unit, found 0")],
    );
    check(
        "4 -> 2000000 : mse",
        &[(
            "2000000",
            "layer 1 of 2000000 units is too wide: at most 1048576 (2^20)",
        )],
    );
    // Past `u64`, the count is quoted as written, not clamped.
    check(
        "4 -> 99999999999999999999999 : mse",
        &[(
            "99999999999999999999999",
            "layer 1 of 99999999999999999999999 units is too wide",
        )],
    );
    check(
        "99_999_999_999_999_999_999 -> 10 : mse",
        &[(
            "99_999_999_999_999_999_999",
            "the input of 99_999_999_999_999_999_999 units is too wide",
        )],
    );
    check(
        "3 -> softmax 1 -> 2 : mse",
        &[(
            "softmax",
            "softmax over one unit is the constant 1 (layer 1)",
        )],
    );
    check(
        "1000000 -> 1000 : mse",
        &[(
            "1000",
            "layer 1 would hold 1000000 × 1000 = 1000000000 weights, more than 268435456 (2^28)",
        )],
    );
}

#[test]
fn final_activation_the_loss_applies() {
    check(
        "4 -> softmax 3 : nll",
        &[(
            "softmax",
            "`softmax` before `nll`: the loss already applies log-softmax",
        )],
    );
    check(
        "4 -> sigmoid 3 : ce",
        &[("sigmoid", "`sigmoid` before `ce`")],
    );
    check(
        "4 -> sigmoid 1 : bce",
        &[("sigmoid", "the loss already applies the sigmoid")],
    );
    check(
        "4 -> softmax 3 : bce",
        &[("softmax", "nn.BCEWithLogitsLoss")],
    );
    // Valid before other losses, and in hidden layers.
    assert!(compile_spec("4 -> softmax 3 : mse").is_ok());
    assert!(compile_spec("4 -> sigmoid 3 -> softmax 3 -> 2 : nll").is_ok());
}

#[test]
fn classification_needs_two_classes() {
    check(
        "4 -> 1 : nll",
        &[(
            "1",
            "`nll` needs at least 2 outputs (one per class), found 1",
        )],
    );
    check("4 -> 1 : ce", &[("1", "`ce` needs at least 2 outputs")]);
    assert!(compile_spec("4 -> 1 : bce").is_ok());
}

#[test]
fn activation_arguments() {
    check(
        "4 -> relu(0.5) 3 : mse",
        &[(
            "relu(0.5)",
            "the activation `relu` takes no arguments, found 1",
        )],
    );
    check(
        "4 -> leaky_relu(0.1, 2) 3 : mse",
        &[("leaky_relu(0.1, 2)", "takes at most one argument, found 2")],
    );
    check(
        "act f(x) = x; 4 -> f(2) 3 : mse",
        &[("f(2)", "the custom activation `f` takes no arguments")],
    );
    check("4 -> elu(1e999) 3 : mse", &[("1e999", "number too large")]);
}

#[test]
fn custom_activations() {
    check(
        "act f(x) = x * y; 4 -> f 3 : mse",
        &[(
            "y",
            "unknown variable `y`; the formula's only variable is `x`",
        )],
    );
    check(
        "act f(t) = x; 4 -> f 3 : mse",
        &[("x", "the formula's only variable is `t`")],
    );
    check(
        "act f(x) = sigmod(x); 4 -> f 3 : mse",
        &[(
            "sigmod",
            "unknown function `sigmod`; expected one of exp, log, sqrt, abs, tanh, sigmoid, erf, max, min (did you mean `sigmoid`?)",
        )],
    );
    check(
        "act f(x) = relu(x); 4 -> f 3 : mse",
        &[("relu", "built-in activations are not functions of formulas")],
    );
    check(
        "act f(x) = exp; 4 -> f 3 : mse",
        &[("exp", "`exp` is a function; call it as `exp(...)`")],
    );
    check(
        "act f(x) = max(x); 4 -> f 3 : mse",
        &[("max(x)", "`max` takes 2 arguments, found 1")],
    );
    check(
        "act f(x) = exp(x, 1); 4 -> f 3 : mse",
        &[("exp(x, 1)", "`exp` takes 1 argument, found 2")],
    );
    check(
        "act relu(x) = x; 4 -> 3 : mse",
        &[(
            "relu",
            "`relu` is a built-in activation; a custom activation needs a name of its own",
        )],
    );
    check(
        "act exp(x) = x; 4 -> 3 : mse",
        &[("exp", "`exp` is a built-in function of formulas")],
    );
    check(
        "act f(x) = x; act f(x) = 2 * x; 4 -> 3 : mse",
        &[("act ⟨f⟩(x) = 2", "the activation `f` is defined twice")],
    );
    // Both sides of an operator are checked, so both mistakes are reported.
    check(
        "act f(x) = a + b; 4 -> 3 : mse",
        &[("a", "unknown variable `a`"), ("b", "unknown variable `b`")],
    );
    // A formula calls only what is defined before it.
    check(
        "act f(x) = f(x); 4 -> f 3 : mse",
        &[("act f(x) = ⟨f⟩(x)", "the activation `f` calls itself")],
    );
    check(
        "act f(x) = g(x); act g(x) = x; 4 -> f 3 : mse",
        &[(
            "g",
            "the activation `g` is defined after `f`, which calls it",
        )],
    );
    check_items(
        "act f(x) = 2 * g(x); act g(x) = x; struct N = 4 -> g 3 : mse;",
        &[(
            "g",
            "the activation `g` is defined after `f`, which calls it",
        )],
    );
    // Degenerate constants: a divisor that is zero, a part that is NaN or infinite.
    check(
        "act f(x) = x / 0; 4 -> f 3 : mse",
        &[("0", "division by zero: this divisor is 0")],
    );
    check(
        "act f(x) = x / (2 - 2); 4 -> f 3 : mse",
        &[("(⟨2 - 2⟩)", "division by zero")],
    );
    check(
        "act f(x) = x * log(-1); 4 -> f 3 : mse",
        &[("log(-1)", "`log(-1)` is not a number (NaN)")],
    );
    check(
        "act f(x) = x + exp(1000); 4 -> f 3 : mse",
        &[("exp(1000)", "`exp(1000)` is infinite")],
    );
    check(
        "act g(x) = sqrt(x); act f(x) = g(-4) * x; 4 -> f 3 : mse",
        &[("g(-4)", "is not a number (NaN)")],
    );
    // A broken definition is reported once, not again at each use.
    check(
        "act f(x) = y; 4 -> f 3 -> f 2 : mse",
        &[("y", "unknown variable")],
    );
}

#[test]
fn syntax_errors_say_what_was_expected() {
    check(
        "784 -> relu 512 -> 10 nll",
        &[("nll", "expected `no_bias`, `->` or `:`, found `nll`")],
    );
    check(
        "784 -> 512 relu -> 10 : nll",
        &[("relu", "an activation comes before the layer's units")],
    );
    check(
        "784 -> relu -> 10 : nll",
        &[("relu ⟨->⟩", "expected a number of units or `(`, found `->`")],
    );
    check("784 -> relu 512 ->", &[("", "found the end of the input")]);
    check("784 : nll", &[(":", "expected `->`, found `:`")]);
    check("", &[("", "expected a network")]);
    check(
        "act f(x) = x 4 -> f 3 : mse",
        &[("4", "expected an operator, `;` or `(`, found `4`")],
    );
    check("act f(x) = x * ; 4 -> f 3 : mse", &[(";", "expected")]);
    check("4 -> 3 : mse ;", &[(";", "expected the end of the input")]);
}

#[test]
fn comments_are_allowed() {
    let net = compile_spec("// the seed network\n784 -> relu 512 // hidden\n -> 10 : nll").unwrap();
    assert_eq!(net.spec(), "784 -> relu 512 -> 10 : nll");
}

#[test]
fn macro_items() {
    check_items(
        "pub struct A = 2 -> 1 : mse",
        &[(
            "",
            "expected `;`, found the end of the input\n  = note: every item ends with `;`",
        )],
    );
    check_items(
        "struct A = 2 -> 1 : mse; struct A = 3 -> 1 : mse;",
        &[("⟨A⟩ = 3", "the name `A` is defined twice")],
    );
    check_items(
        "struct type = 2 -> 1 : mse;",
        &[("type", "`type` is a Rust keyword")],
    );
    check_items(
        "struct A = 2 -> swish 1 : mse; act swish(x) = x * sigmoid(x);",
        &[("swish", "`swish` is declared later")],
    );
    // Every error of every item, together.
    check_items(
        "struct A = 2 -> relux 1 : mse; struct B = 0 -> 1 : mse;",
        &[("relux", "unknown activation"), ("0", "at least one unit")],
    );
}
