//! A lowered equation in matrix form: a product as `(Δ²)ᵀ·A¹`, a batch sum as `1ᵀ·Δ²`, anything
//! else as its right side printed by the notation's matrix form.

use super::{Kernel, Operand};
use crate::ir::Equation;
use crate::ir::notation::{AsMatrix, Style, matrix_name};

/// A product's operand, transposed if it is read so: `(Δ²)ᵀ`, `Xᵀ`.
pub(super) fn operand(o: &Operand, style: Style) -> String {
    let name = matrix_name(&o.tensor, style);
    match (o.transposed, style) {
        (false, _) => name,
        (true, Style::Text) if name.chars().count() > 1 => format!("({name})ᵀ"),
        (true, Style::Text) => format!("{name}ᵀ"),
        (true, Style::Latex) => format!("\\left({name}\\right)^\\top"),
    }
}

/// `eq` in matrix form (`∂L/∂W² = (Δ²)ᵀ·A¹`), as text or LaTeX.
pub(super) fn form(eq: &Equation, kernel: &Kernel, style: Style) -> String {
    let out = matrix_name(&eq.lhs, style);
    let rhs = match (kernel, style) {
        (Kernel::Gemm { a, b, bias, .. }, _) => {
            let dot = if style == Style::Latex {
                " \\cdot "
            } else {
                "·"
            };
            let mut s = format!("{}{dot}{}", operand(a, style), operand(b, style));
            if let Some(bias) = bias {
                s += &format!(" + {}", matrix_name(bias, style));
            }
            s
        }
        (Kernel::BatchSum { input }, Style::Latex) => {
            format!("\\mathbf{{1}}^\\top {}", matrix_name(input, style))
        }
        (Kernel::BatchSum { input }, Style::Text) => {
            format!("1ᵀ·{}", matrix_name(input, style))
        }
        _ => AsMatrix(&eq.rhs, style).to_string(),
    };
    format!("{out} = {rhs}")
}
