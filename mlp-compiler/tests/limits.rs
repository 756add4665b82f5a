//! The compiler's limits (`mlp_compiler::limits`): each is an error under the offending text,
//! reached in bounded time, and what stays within the limits compiles. The inputs are those of
//! the hostile-user review: deep networks, nested custom activations, deep brackets, long
//! formulas, derivatives that explode.

use mlp_compiler::ir::{Expr, Var};
use mlp_compiler::limits::{MAX_EMITTED_TOKENS, MAX_LAYERS, UNROLL_BUDGET, VISIT_LIMIT};
use mlp_compiler::simplify::{Context, RuleLog, simplify};
use mlp_compiler::{Activation, CustomActivation, Layer, Loss, Network};
use mlp_compiler::{Diagnostics, compile, compile_items, compile_network, compile_spec};
use std::sync::Arc;

/// `4 -> relu 4 -> … -> 2 : nll` with `layers` layers in all.
fn deep(layers: usize, activation: &str) -> String {
    let mut spec = "4".to_owned();
    for _ in 1..layers {
        spec += &format!(" -> {activation} 4");
    }
    spec + " -> 2 : nll"
}

/// Asserts one error, covering exactly `at` (found at or after byte `from`), saying `says`.
#[track_caller]
fn one_error(text: &str, result: Result<(), Diagnostics>, from: usize, at: &str, says: &str) {
    let errors = result.expect_err(text);
    assert_eq!(errors.errors().len(), 1, "{errors}");
    let d = &errors.errors()[0];
    let start = from
        + text[from..]
            .find(at)
            .expect("the offending text is in the spec");
    assert_eq!(
        (d.span.start, &text[d.span.start..d.span.end]),
        (start, at),
        "span of `{d}`"
    );
    assert!(d.to_string().contains(says), "`{d}` does not say `{says}`");
}

/// Where the text of layer `n` (counted from 1) of a [`deep`] spec starts.
fn layer_start(text: &str, n: usize) -> usize {
    text.match_indices(" -> ")
        .nth(n - 1)
        .expect("the layer exists")
        .0
        + 4
}

#[test]
fn too_many_layers_is_an_error_under_the_first_layer_too_many() {
    let says = format!("too many layers: a network has at most {MAX_LAYERS}, and this is layer 65");
    for layers in [65, 256, 257, 300] {
        let spec = deep(layers, "relu");
        // The 65th layer is the last one (`2`) of 65, a hidden one (`relu 4`) of more.
        let at = if layers == 65 { "2" } else { "relu 4" };
        let from = layer_start(&spec, MAX_LAYERS + 1);
        one_error(&spec, compile_spec(&spec).map(drop), from, at, &says);
        one_error(&spec, compile(&spec).map(drop), from, at, &says);
        let items = format!("struct Net = {spec};");
        let from = from + "struct Net = ".len();
        let result = compile_items(&items).map(drop).map_err(|(_, d)| d);
        one_error(&items, result, from, at, &says);
    }
}

#[test]
fn every_layer_up_to_the_limit_has_a_name_of_its_own() {
    let spec = deep(MAX_LAYERS, "tanh");
    let c = compile(&spec).expect("the deepest network allowed derives");
    let params: Vec<Var> = c.derived.program.params().map(|p| p.var).collect();
    assert_eq!(params.len(), 2 * MAX_LAYERS);
    assert_eq!(params.last(), Some(&Var::layered('b', 64)));
    let mut distinct = params.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), params.len(), "two layers share a name");
    // The first layer's chain runs from the loss through every layer, and ends.
    let w1 = c.derivation.param("W1").expect("W¹ is traced");
    assert_eq!(w1.chain.len(), 2 * MAX_LAYERS + 1);
}

#[test]
fn brackets_nested_too_deep_are_an_error_before_parsing() {
    let nested = |n: usize| {
        format!(
            "act f(x) = {}x{}; 1 -> f 1 : mse",
            "(".repeat(n),
            ")".repeat(n)
        )
    };
    assert!(compile_spec(&nested(64)).is_ok());
    for n in [65, 20_000] {
        let spec = nested(n);
        let from = "act f(x) = ".len() + 64;
        one_error(
            &spec,
            compile_spec(&spec).map(drop),
            from,
            "(",
            "brackets nested more than 64 deep",
        );
    }
    // Brackets in strings and comments are text, not nesting.
    let deep_text = "(".repeat(100);
    let items = format!("#[doc = \"{deep_text}\"] struct A = 2 -> 1 : mse;");
    assert!(compile_items(&items).is_ok());
    assert!(compile_spec(&format!("// {deep_text}\n2 -> 1 : mse")).is_ok());
}

#[test]
fn formulas_too_large_are_an_error_before_they_are_built() {
    let sum = |n: usize| vec!["x"; n].join(" + ");
    // n terms and n − 1 additions.
    assert!(compile_spec(&format!("act f(x) = {}; 1 -> f 1 : mse", sum(128))).is_ok());
    let spec = format!("act f(x) = {}; 1 -> f 1 : mse", sum(129));
    let formula = sum(129);
    one_error(
        &spec,
        compile_spec(&spec).map(drop),
        0,
        &formula,
        "formula too large: 257 operations, at most 256",
    );
    // A hundred thousand minus signs: refused, not a stack overflow.
    let spec = format!("act f(x) = {}x; 1 -> f 1 : mse", "-".repeat(100_000));
    assert!(
        compile_spec(&spec)
            .unwrap_err()
            .to_string()
            .contains("formula too large")
    );
}

/// `act b1(x) = x*x + x; act b2(x) = b1(b1(x)); …` up to `bk`: written out, `bk` is `b1`
/// composed 2ᵏ⁻¹ times, 3^(2ᵏ⁻¹) copies of `x` if each call were inlined.
fn doubling(k: usize) -> String {
    let mut defs = "act b1(x) = x*x + x;".to_owned();
    for j in 2..=k {
        defs += &format!(" act b{j}(x) = b{}(b{}(x));", j - 1, j - 1);
    }
    format!("{defs} 3 -> b{k} 4 -> 2 : mse")
}

#[test]
fn nested_custom_activations_are_shared_not_copied() {
    // Each definition adds one function and its derivative: two lines of the trace, and a
    // bounded amount of generated code.
    let size = |k: usize| {
        let c = compile(&doubling(k)).unwrap_or_else(|e| panic!("b{k}: {e}"));
        let name = quote::format_ident!("B{k}");
        let item = mlp_compiler::emit::network_item(&c, quote::quote!(), quote::quote!(), &name);
        let tokens = mlp_compiler::emit::token_count(&item.expect("within the limit"));
        (
            c.derivation.text(None).lines().count(),
            c.derivation.functions.len(),
            tokens,
        )
    };
    let sizes: Vec<_> = (3..=8).map(size).collect();
    for (k, pair) in (3..).zip(sizes.windows(2)) {
        let ((lines, functions, tokens), (more_lines, more_functions, more_tokens)) =
            (pair[0], pair[1]);
        assert_eq!(more_functions, functions + 1, "b{k} → b{}", k + 1);
        assert_eq!(more_lines, lines + 2, "b{k} → b{}", k + 1);
        assert!(
            more_tokens - tokens < 200,
            "b{k} → b{}: {tokens} → {more_tokens} tokens",
            k + 1
        );
    }
    // b8(x) = b1¹²⁸(x), in f64 through the functions, as composing b1 128 times gives.
    let c = compile(&doubling(8)).unwrap();
    let b7 = c.derivation.functions.last().expect("b7 is a function");
    assert_eq!(b7.name, "b7");
    let b1 = |x: f64| x * x + x;
    for x in [-0.5, -0.1, 0.003] {
        let composed = (0..128).fold(x, |v, _| b1(v));
        let via = b7.value(b7.value(x));
        assert!(
            (via - composed).abs() <= 1e-12 * composed.abs().max(1e-300),
            "{x}: {via} vs {composed}"
        );
    }
}

#[test]
fn kept_calls_are_bounded_in_cost_and_depth() {
    // b16 composes b1 2¹⁵ times: its call of b15 is refused, and nothing evaluates it (a call
    // on a constant included), so this takes no time.
    let spec = doubling(16);
    let says = "this call of `b15` takes 180223 operations to evaluate, at most 100000 per element";
    one_error(
        &spec,
        compile(&spec).map(drop),
        spec.find("act b16").unwrap(),
        "b15(b15(x))",
        says,
    );
    let on_a_number = format!(
        "{} act c(x) = x + b15(2); 3 -> c 4 -> 2 : mse",
        doubling(15).split(" 3 ->").next().unwrap()
    );
    assert!(compile(&on_a_number).is_ok(), "{on_a_number}");
    // A chain of definitions each calling the one before on more than x: 65 levels at most.
    let mut defs = "act a1(x) = x*x;".to_owned();
    for j in 2..=70 {
        defs += &format!(" act a{j}(x) = a{}(x + 1);", j - 1);
    }
    let spec = format!("{defs} 3 -> a70 4 -> 2 : mse");
    let says = "this call of `a65` nests 65 kept calls, at most 64";
    one_error(
        &spec,
        compile_spec(&spec).map(drop),
        spec.find("act a66").unwrap(),
        "a65(x + 1)",
        says,
    );
}

#[test]
fn a_custom_activation_inlined_past_the_limit_is_refused() {
    // `big` uses `x` once, so it is inlined; with this argument it holds 281 operations.
    let big = format!("act big(x) = x{};", " + 1".repeat(100));
    let arg = format!("x{}", " + 2".repeat(40));
    let spec = format!("{big} act f(x) = big({arg}); 3 -> f 4 -> 2 : mse");
    let says = "formula too large: 281 operations once `big` is inlined here, at most 256";
    let from = spec.find("act f").unwrap();
    let at = format!("big({arg})");
    one_error(&spec, compile_spec(&spec).map(drop), from, &at, says);
    one_error(&spec, compile(&spec).map(drop), from, &at, says);
}

#[test]
fn derivatives_too_large_are_an_error_under_their_activation() {
    let product = |n: usize| vec!["x"; n].join(" * ");
    // A product is read flat, so its derivative is n terms of n factors.
    assert!(compile(&format!("act c(x) = {}; 3 -> c 4 -> 2 : mse", product(30))).is_ok());
    let spec = format!("act c(x) = {}; 3 -> tanh 4 -> c 4 -> 2 : mse", product(31));
    assert!(compile_spec(&spec).is_ok(), "within the formula limit");
    let from = spec.find("-> c").unwrap();
    let says = "the derivative of layer 2 (`c`) is too large: 1055 operations before simplification, at most 1000";
    one_error(&spec, compile(&spec).map(drop), from, "c", says);
}

#[test]
fn a_derivative_too_large_in_a_function_names_it() {
    // `big` uses x 31 times, so `f` keeps it as a function: its derivative is the one too large.
    let factors: Vec<String> = (1..32).map(|k| format!("(x + {k})")).collect();
    let spec = format!(
        "act big(x) = {}; act f(x) = big(x * x + 1); 3 -> f 4 -> 2 : mse",
        factors.join(" * ")
    );
    let from = spec.find("-> f").unwrap();
    let says = "the derivative of layer 1 (`f`) is too large: 2915 operations before simplification, at most 1000 (in the function `big` it calls)";
    one_error(&spec, compile(&spec).map(drop), from, "f", says);
}

#[test]
fn a_derivation_too_large_in_all_is_an_error_under_the_layer_where_it_ran_out() {
    let chain = (0..30).fold("x".to_owned(), |f, _| format!("tanh({f})"));
    let spec = format!("act c(x) = {chain}; {}", deep(MAX_LAYERS, "c"));
    let errors = compile(&spec).map(drop).expect_err("too large in all");
    let d = &errors.errors()[0];
    assert_eq!(&spec[d.span.start..d.span.end], "c");
    assert!(
        d.message
            .starts_with("the derivation of this network is too large: "),
        "{d}"
    );
    assert!(d.message.ends_with("at most 40000 in all"), "{d}");
}

#[test]
fn the_largest_built_in_networks_fit_every_limit() {
    // gelu has the largest derivative of the built-in activations.
    let c = compile(&deep(MAX_LAYERS, "gelu")).expect("64 layers of gelu derive");
    let name = proc_macro2::Ident::new("Net", proc_macro2::Span::call_site());
    let tokens = mlp_compiler::emit::network_item(&c, quote::quote!(), quote::quote!(pub), &name)
        .expect("and emit");
    let count = mlp_compiler::emit::token_count(&tokens);
    assert!(count < MAX_EMITTED_TOKENS / 2, "{count} tokens");
}

#[test]
fn generated_code_past_its_limit_is_an_error() {
    let c = compile("2 -> tanh 8 -> 1 : mse").unwrap();
    let name = proc_macro2::Ident::new("Net", proc_macro2::Span::call_site());
    let tokens =
        mlp_compiler::emit::network_item(&c, quote::quote!(), quote::quote!(pub), &name).unwrap();
    let count = mlp_compiler::emit::token_count(&tokens);
    assert!(mlp_compiler::emit::within(tokens.clone(), count).is_ok());
    let error = mlp_compiler::emit::within(tokens, count - 1).unwrap_err();
    assert_eq!(
        error.message,
        format!(
            "the generated code is too large: {count} tokens, at most {}",
            count - 1
        )
    );
}

#[test]
fn unrolled_code_stays_within_its_budget() {
    // Each 16-wide layer unrolls 256 multiply-adds forward; four fill the forward budget,
    // and the next layers' products call the GEMM instead.
    assert_eq!(UNROLL_BUDGET, 4 * 256);
    let forward = |layers: usize| {
        let spec = deep(layers, "tanh")
            .replace(" 4", " 16")
            .replacen("4", "16", 1);
        let c = compile(&spec).unwrap();
        let name = proc_macro2::Ident::new("Net", proc_macro2::Span::call_site());
        let code = mlp_compiler::emit::network_item(&c, quote::quote!(), quote::quote!(pub), &name)
            .unwrap()
            .to_string();
        let start = code.find("fn run_forward").unwrap();
        let end = code.find("fn run_loss").unwrap();
        code[start..end].to_owned()
    };
    let gemm = |code: &str| code.matches(":: gemm :: gemm").count();
    assert_eq!(gemm(&forward(4)), 0, "four layers unroll");
    assert_eq!(gemm(&forward(8)), 4, "the last four of eight call the GEMM");
}

#[test]
fn networks_built_without_validation_are_held_to_its_limits() {
    let net = |layers: usize, formula: &str| {
        let f = mlp_compiler::syntax::validate::formula(formula).unwrap();
        let act = Activation::Custom(Arc::new(CustomActivation {
            name: "c".to_owned(),
            formula: f,
        }));
        let layer = Layer {
            inputs: 2,
            units: 2,
            activation: act,
            bias: true,
        };
        Network {
            inputs: 2,
            layers: vec![layer; layers],
            loss: Loss::Mse,
        }
    };
    // 300 layers: refused, where numbering them would wrap a byte.
    let deep = compile_network(net(300, "x")).unwrap_err();
    assert_eq!(deep.layer, Some(MAX_LAYERS));
    assert!(deep.message.contains("this one has 300"), "{deep}");
    // A formula too large to derive, built by substitution as validation never would.
    let x = mlp_compiler::syntax::validate::formula("x * x + x").unwrap();
    let mut f = x.clone();
    for _ in 0..3 {
        f = f.substitute(&f);
    }
    let mut big = net(1, "x");
    if let Activation::Custom(c) = &mut big.layers[0].activation {
        Arc::get_mut(c).unwrap().formula = f;
    }
    let error = compile_network(big).unwrap_err();
    assert_eq!(
        error.message,
        "formula too large: 13121 operations, at most 256"
    );
}

#[test]
fn simplification_stops_after_its_visit_limit() {
    // A sum of more terms than the simplifier may visit.
    let big = Expr::Add(vec![Expr::BatchSize; VISIT_LIMIT]);
    let stopped = simplify(&big, Context::default(), &mut RuleLog::default()).unwrap_err();
    assert_eq!(stopped.limit, format!("{VISIT_LIMIT} steps"));
    assert!(stopped.expr.chars().count() <= 201, "the expression is cut");
}
