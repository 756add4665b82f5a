//! The index notation printer and its reader agree: what is printed reads back as the same
//! expression, for the forms that need brackets or are rewritten for reading (a mean, a
//! fraction, a power of a tensor with a layer mark).

use mlp_compiler::ir::Expr;
use mlp_compiler::ir::read::parse;

#[track_caller]
fn round_trip(text: &str) -> String {
    let e: Expr = parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
    let printed = e.to_string();
    let again = parse(&printed).unwrap_or_else(|err| panic!("{printed}: {err}"));
    assert_eq!(again, e, "`{text}` printed as `{printed}`");
    printed
}

#[test]
fn printed_expressions_read_back() {
    for text in [
        "(a¹ₙᵢ)²",
        "1 − (a¹ₙᵢ)²",
        "(2·z¹ₙᵢ)²",
        "(aₙ + bₙ)/(2·cₙ)",
        "Σₙ aₙ·bₙ",
        "(Σₙ aₙ)·bₖ",
        "exp(−(0.5·zₙᵢ)²)",
    ] {
        round_trip(text);
    }
}

/// A mean is printed `(c/N)·Σₙ …`, and only when that is all the product holds: a tensor
/// factor beside the sum stays in the printed text.
#[test]
fn a_mean_keeps_every_factor() {
    let e = Expr::Mul(vec![
        parse("bₖ").unwrap(),
        parse("Σₙ aₙ").unwrap(),
        Expr::recip(Expr::BatchSize),
    ]);
    let printed = e.to_string();
    assert!(printed.contains('b'), "{printed}");
    let mean = Expr::Mul(vec![
        Expr::Num(2.0),
        parse("Σₙ aₙ").unwrap(),
        Expr::recip(Expr::BatchSize),
    ]);
    assert_eq!(mean.to_string(), "(2/N)·Σₙ aₙ");
}
