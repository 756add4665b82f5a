//! Each simplification rule, one line each: `check(rule, input, output)` simplifies `input`
//! through every phase (the stable forms read first), expects `output`, and expects `rule` to have fired on the way.

use mlp_compiler::ir::read::parse;
use mlp_compiler::ir::{Equation, Expr};
use mlp_compiler::simplify::rules::{RULES, rule};
use mlp_compiler::simplify::{Context, RuleLog, read_stable, simplify};

fn run(input: &str, stored: &[Equation]) -> (String, RuleLog) {
    let e = parse(input).unwrap_or_else(|err| panic!("{input}: {err}"));
    let mut log = RuleLog::default();
    // As the derivation does: the stable forms read first, then every phase.
    let e = read_stable(&e, &mut log).expect("terminates");
    let out = simplify(&e, Context { stored }, &mut log).expect("terminates");
    (out.to_string(), log)
}

#[track_caller]
fn check(name: &str, input: &str, expected: &str) {
    check_with(&[], name, input, expected);
}

#[track_caller]
fn check_with(stored: &[&str], name: &str, input: &str, expected: &str) {
    assert!(rule(name).is_some(), "no rule `{name}`");
    let stored: Vec<Equation> = stored
        .iter()
        .map(|s| {
            let (lhs, rhs) = s.split_once('=').expect("an equation");
            let Expr::Ref(lhs) = parse(lhs).expect("left side") else {
                panic!("not a tensor: {lhs}")
            };
            Equation {
                lhs,
                rhs: parse(rhs).expect("right side"),
            }
        })
        .collect();
    let (out, log) = run(input, &stored);
    assert_eq!(out, expected, "{input}");
    assert!(
        log.fired.contains(&name),
        "{input}: `{name}` did not fire; fired {:?}",
        log.summary()
    );
}

#[test]
fn flatten() {
    check("flatten", "aᵢ·(bᵢ·cᵢ)", "aᵢ·bᵢ·cᵢ");
}
// Parsed text never holds a one-term sum or one-factor product; derivation makes them.
#[test]
fn unit() {
    let a = parse("aᵢ").unwrap();
    let mut log = RuleLog::default();
    let out = simplify(
        &Expr::Mul(vec![Expr::Add(vec![a])]),
        Context::default(),
        &mut log,
    )
    .unwrap();
    assert_eq!(out.to_string(), "aᵢ");
    assert!(log.fired.contains(&"unit"));
}
#[test]
fn zero_factor() {
    check("zero-factor", "0·aᵢ + bᵢ", "bᵢ");
}
#[test]
fn drop_zero() {
    check("drop-zero", "aᵢ + 0 + bᵢ", "aᵢ + bᵢ");
}
#[test]
fn drop_one() {
    check("drop-one", "1·aᵢ", "aᵢ");
}
#[test]
fn fold_constants() {
    check("fold-constants", "2·aᵢ·3", "6·aᵢ");
}
#[test]
fn fold_constant_calls() {
    check("fold-constants", "exp(0)·aᵢ", "aᵢ");
}
#[test]
fn power() {
    check("power", "(aᵢ²)³", "aᵢ⁶");
}
#[test]
fn delta_same() {
    check("delta-same", "δᵢᵢ·aᵢ", "aᵢ");
}
#[test]
fn sum_linear() {
    check("sum-linear", "Σᵢ (δᵢₖ·aᵢ + δᵢₖ·bᵢ)", "aₖ + bₖ");
}
// Pulled in during expansion, pulled back out when tidying: the phases keep them apart.
#[test]
fn sum_outward() {
    check("sum-outward", "cₖ·Σᵢ aᵢ", "cₖ·Σᵢ aᵢ");
}
#[test]
fn distribute_delta() {
    check("distribute-delta", "Σᵢ aᵢ·(δᵢₖ + δᵢₘ)", "aₖ + aₘ");
}
#[test]
fn delta_eliminate() {
    check("delta-eliminate", "Σᵢ δᵢₖ·aᵢ", "aₖ");
}
#[test]
fn delta_eliminate_nested() {
    check("delta-eliminate", "Σₘ Σᵢ δₘₙ·aₘᵢ·bᵢ", "Σᵢ aₙᵢ·bᵢ");
}
// Seed 003: the rank-3 Jacobian ∂zᵢ/∂Wⱼₖ = δᵢⱼ·xₖ contracted with z̄ collapses to an outer product.
#[test]
fn rank3_collapse() {
    check("delta-eliminate", "Σᵢ z̄ᵢ·δᵢⱼ·xₖ", "z̄ⱼ·xₖ");
}
#[test]
fn softplus() {
    check("softplus", "log(1 + exp(aᵢ))", "softplus(aᵢ)");
}
#[test]
fn logistic() {
    check("logistic", "1/(1 + exp(−aᵢ))", "σ(aᵢ)");
}
#[test]
fn logistic_ratio() {
    check("logistic", "exp(aᵢ)/(1 + exp(aᵢ))", "σ(aᵢ)");
}
#[test]
fn logistic_of_a_negation() {
    check("logistic", "1/(1 + exp(aᵢ))", "σ(−aᵢ)");
}
#[test]
fn tanh() {
    check(
        "tanh",
        "(exp(aᵢ) − exp(−aᵢ))/(exp(−aᵢ) + exp(aᵢ))",
        "tanh(aᵢ)",
    );
}
#[test]
fn log_add_exp() {
    check("log-add-exp", "log(exp(aᵢ) + exp(bᵢ))", "logaddexp(aᵢ, bᵢ)");
}
#[test]
fn log_sum_exp() {
    check("log-sum-exp", "log(Σⱼ exp(zₙⱼ))", "lse(zₙ)");
}
#[test]
fn softmax() {
    check("softmax", "exp(zₙₖ)/(Σⱼ exp(zₙⱼ))", "softmax(zₙ)ₖ");
}
// The softmax Jacobian, derived: Sᵢ(δᵢₘ − Sₘ).
#[test]
fn softmax_jacobian() {
    check(
        "softmax",
        "exp(zᵢ)·δᵢₘ/(Σⱼ exp(zⱼ)) − exp(zᵢ)·exp(zₘ)/(Σⱼ exp(zⱼ))²",
        "softmax(z)ᵢ·(δᵢₘ − softmax(z)ₘ)",
    );
}
#[test]
fn reuse_forward() {
    check_with(
        &["aₙᵢ = σ(zₙᵢ)"],
        "reuse-forward",
        "σ(zₙₖ)·(1 − σ(zₙₖ))",
        "aₙₖ·(1 − aₙₖ)",
    );
}
#[test]
fn reuse_forward_tanh() {
    check_with(
        &["aₙᵢ = tanh(zₙᵢ)"],
        "reuse-forward",
        "1 − tanh(zₙᵢ)²",
        "1 − aₙᵢ²",
    );
}
#[test]
fn sum_factor_out() {
    check("sum-factor-out", "Σᵢ cₖ·aᵢ", "cₖ·Σᵢ aᵢ");
}
#[test]
fn collect_powers() {
    check("collect-powers", "aᵢ·aᵢ", "aᵢ²");
}
#[test]
fn collect_terms() {
    check("collect-terms", "2·aᵢ + 3·aᵢ", "5·aᵢ");
}
#[test]
fn factor() {
    check("factor", "aᵢ·bᵢ + aᵢ·cᵢ", "aᵢ·(bᵢ + cᵢ)");
}
#[test]
fn order_factors() {
    check("order-factors", "xᵢ·2·δᵢₖ·z̄ᵢ", "2·z̄ᵢ·δᵢₖ·xᵢ");
}

#[test]
fn every_rule_is_tested_here() {
    let source = include_str!("rules.rs");
    for r in RULES {
        assert!(
            source.contains(&format!("\"{}\"", r.name)),
            "rule `{}` has no test",
            r.name
        );
        assert!(
            !r.identity.is_empty(),
            "rule `{}` states no identity",
            r.name
        );
    }
}

#[test]
fn runaway_is_stopped() {
    // A well-formed but large expression terminates well inside the limit.
    let big = (0..40)
        .map(|k| format!("{k}·aᵢ"))
        .collect::<Vec<_>>()
        .join(" + ");
    assert_eq!(run(&big, &[]).0, "780·aᵢ");
}
