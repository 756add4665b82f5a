//! The terms that differ in matrix form: a tensor as its matrix (`Z¹`, `Δ²`, `∂L/∂W²`), a
//! row-wise sum as `rowsum`, the label δ as `onehot(t)`, `lse` and `softmax` of a matrix.

use super::{Pen, Style, expr, layer_mark, operator};
use crate::ir::{Expr, Ref};

/// The matrix a tensor is written as: `Z¹`, `A¹`, `X`, `W²`, `Δ²` for `z̄²`, `Ā¹` for `ā¹`,
/// `∂L/∂W²` for `W̄²`.
pub fn matrix_name(r: &Ref, style: Style) -> String {
    let layer = layer_mark(r.var.layer, style);
    let letter = r.var.letter;
    let upper = letter.to_uppercase().to_string();
    match (letter, r.adjoint, style) {
        ('W' | 'b', true, Style::Text) => format!("∂L/∂{letter}{layer}"),
        ('W' | 'b', true, Style::Latex) => {
            format!("\\frac{{\\partial L}}{{\\partial {letter}{layer}}}")
        }
        ('W' | 'b', false, _) => format!("{letter}{layer}"),
        ('z', true, Style::Text) => format!("Δ{layer}"),
        ('z', true, Style::Latex) => format!("\\Delta{layer}"),
        (_, true, Style::Text) => format!("{upper}\u{0304}{layer}"),
        (_, true, Style::Latex) => format!("\\bar{{{upper}}}{layer}"),
        (_, false, _) => format!("{upper}{layer}"),
    }
}

/// `e` in matrix form if it is one of the terms written differently there, else `None`.
pub(super) fn term(e: &Expr, pen: Pen) -> Option<String> {
    let latex = pen.style == Style::Latex;
    let named = |name: &str, arg: String| {
        if latex {
            operator(name, &arg)
        } else {
            format!("{name}({arg})")
        }
    };
    Some(match e {
        Expr::Ref(r) => matrix_name(r, pen.style),
        Expr::Delta(..) => named("onehot", "t".to_owned()),
        Expr::Sum(_, body) => named("rowsum", expr(body, pen, 0)),
        Expr::Lse(_, body) => named("lse", expr(body, pen, 0)),
        Expr::Softmax { body, .. } => named("softmax", expr(body, pen, 0)),
        _ => return None,
    })
}
