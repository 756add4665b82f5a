//! A formula printed in the DSL parses back to the same tree: random trees over every
//! operator and function, which pins precedence and associativity of the printer and parser.

use mlp_compiler::{Activation, Formula, Func, compile_spec};
use proptest::prelude::*;

fn formula() -> impl Strategy<Value = Formula> {
    let leaf = prop_oneof![
        Just(Formula::X),
        // Literals are never negative: `-3` reads as `Neg(3)`.
        (0u32..1000, 0u32..4).prop_map(|(m, e)| Formula::Const(m as f64 / 10f64.powi(e as i32))),
    ];
    leaf.prop_recursive(5, 40, 2, |inner| {
        let b = |f: fn(Box<Formula>, Box<Formula>) -> Formula| {
            (inner.clone(), inner.clone()).prop_map(move |(a, b)| f(Box::new(a), Box::new(b)))
        };
        prop_oneof![
            inner.clone().prop_map(|a| Formula::Neg(Box::new(a))),
            b(Formula::Add),
            b(Formula::Sub),
            b(Formula::Mul),
            b(Formula::Div),
            b(Formula::Pow),
            (0..Func::ALL.len(), inner.clone(), inner.clone()).prop_map(|(i, a, b)| {
                let f = Func::ALL[i];
                Formula::Call(f, if f.arity() == 1 { vec![a] } else { vec![a, b] })
            }),
        ]
    })
}

/// Whether `f` holds a part the validator refuses: a constant that is NaN or infinite, or a
/// divisor that is a constant zero (`tests/errors.rs` checks those errors).
fn degenerate(f: &Formula) -> bool {
    let parts: Vec<&Formula> = match f {
        Formula::Const(_) | Formula::X => vec![],
        Formula::Neg(a) => vec![a],
        Formula::Add(a, b) | Formula::Sub(a, b) | Formula::Mul(a, b) | Formula::Pow(a, b) => {
            vec![a, b]
        }
        Formula::Div(a, b) => {
            if b.constant() == Some(0.0) {
                return true;
            }
            vec![a, b]
        }
        Formula::Call(_, args) => args.iter().collect(),
        Formula::Apply(_, a) => vec![a],
    };
    f.constant().is_some_and(|v| !v.is_finite()) || parts.into_iter().any(degenerate)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 5_000,
        max_global_rejects: 5_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn printed_formulas_parse_back(f in formula()) {
        prop_assume!(!degenerate(&f));
        let spec = format!("act f(x) = {f}; 1 -> f 1 : mse");
        let net = compile_spec(&spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let Activation::Custom(c) = &net.layers[0].activation else { panic!("not custom") };
        prop_assert_eq!(&c.formula, &f, "{}", spec);
    }
}

#[test]
fn precedence_examples() {
    for (text, printed) in [
        ("-x^2", "-x ^ 2"),
        ("(x^2)^3", "(x ^ 2) ^ 3"),
        ("x^2^3", "x ^ 2 ^ 3"),
        ("x - (1 - x)", "x - (1 - x)"),
        ("(x - 1) - x", "x - 1 - x"),
        ("x / (2 * x)", "x / (2 * x)"),
        ("(-x)^2", "(-x) ^ 2"),
        ("x^-1", "x ^ (-1)"),
    ] {
        let net = compile_spec(&format!("act f(x) = {text}; 1 -> f 1 : mse")).unwrap();
        let Activation::Custom(c) = &net.layers[0].activation else {
            panic!("not custom")
        };
        assert_eq!(c.formula.to_string(), printed, "{text}");
    }
}
