//! Matrix notation: tensors as matrices (`Z¹`, `Δ²`, `∂L/∂W²`) and right sides with `⊙`,
//! `rowsum` and `onehot`, as text or LaTeX.

use super::{Kernel, Operand};
use crate::ir::notation::{Style, layer_mark, short};
use crate::ir::{Equation, Expr, Prim, Ref};

/// The matrix a tensor is written as: `Z¹`, `A¹`, `X`, `W²`, `Δ²` for `z̄²`, `Ā¹` for `ā¹`,
/// `∂L/∂W²` for `W̄²`.
pub fn matrix_name(r: &Ref, latex: bool) -> String {
    let style = if latex { Style::Latex } else { Style::Text };
    let layer = layer_mark(r.var.layer, style);
    let upper = r.var.letter.to_uppercase().to_string();
    match (r.var.letter, r.adjoint, latex) {
        ('W' | 'b', true, false) => format!("∂L/∂{}{}", r.var.letter, layer),
        ('W' | 'b', true, true) => format!(
            "\\frac{{\\partial L}}{{\\partial {}{}}}",
            r.var.letter, layer
        ),
        ('W' | 'b', false, _) => format!("{}{}", r.var.letter, layer),
        ('z', true, false) => format!("Δ{}", layer),
        ('z', true, true) => format!("\\Delta{}", layer),
        (_, true, false) => format!("{upper}\u{0304}{}", layer),
        (_, true, true) => format!("\\bar{{{upper}}}{}", layer),
        (_, false, _) => format!("{upper}{}", layer),
    }
}

pub(super) fn operand(o: &Operand, latex: bool) -> String {
    let name = matrix_name(&o.tensor, latex);
    match (o.transposed, latex) {
        (false, _) => name,
        (true, false) if name.chars().count() > 1 => format!("({name})ᵀ"),
        (true, false) => format!("{name}ᵀ"),
        (true, true) => format!("\\left({name}\\right)^\\top"),
    }
}

/// An elementwise or row-wise right side in matrix notation: `⊙` between matrices, functions
/// applied elementwise, a row-wise sum as `rowsum`, the label δ as `onehot(t)`.
pub fn matrix_expr(e: &Expr, latex: bool) -> String {
    let go = |x: &Expr| matrix_expr(x, latex);
    let wrap = |x: &Expr| wrapped(x, latex);
    match e {
        Expr::Num(v) => short(*v),
        Expr::BatchSize => "N".to_owned(),
        Expr::Ref(r) => matrix_name(r, latex),
        Expr::Delta(..) => {
            if latex {
                "\\operatorname{onehot}(t)".to_owned()
            } else {
                "onehot(t)".to_owned()
            }
        }
        Expr::Sum(_, body) => {
            if latex {
                format!("\\operatorname{{rowsum}}\\left({}\\right)", go(body))
            } else {
                format!("rowsum({})", go(body))
            }
        }
        Expr::Add(ts) => terms(ts, latex),
        Expr::Mul(fs) => product(fs, latex),
        Expr::Pow(b, p) if latex => format!("{{{}}}^{{{}}}", wrap(b), go(p)),
        Expr::Pow(b, p) => format!("{}^{}", wrap(b), go(p)),
        Expr::Call(f, args) => {
            let args: Vec<String> = args.iter().map(go).collect();
            let name = if *f == Prim::Sigmoid && latex {
                "\\sigma".to_owned()
            } else {
                f.name().to_owned()
            };
            format!("{name}({})", args.join(", "))
        }
        Expr::Lse(_, body) => format!("lse({})", row_of(body, latex)),
        Expr::Softmax { body, .. } => format!("softmax({})", row_of(body, latex)),
    }
}

fn row_of(body: &Expr, latex: bool) -> String {
    match body {
        Expr::Ref(r) => matrix_name(r, latex),
        other => matrix_expr(other, latex),
    }
}

/// `x` in matrix notation, in brackets when it is a sum.
fn wrapped(x: &Expr, latex: bool) -> String {
    let s = matrix_expr(x, latex);
    if matches!(x, Expr::Add(_)) {
        if latex {
            format!("\\left({s}\\right)")
        } else {
            format!("({s})")
        }
    } else {
        s
    }
}

/// A sum of terms, a negative term written with `−`.
fn terms(ts: &[Expr], latex: bool) -> String {
    let go = |x: &Expr| matrix_expr(x, latex);
    let mut s = String::new();
    for (k, t) in ts.iter().enumerate() {
        let text = go(t);
        match (k, text.strip_prefix('−').or_else(|| text.strip_prefix('-'))) {
            (0, _) => s.push_str(&text),
            (_, Some(rest)) => {
                s.push_str(&format!(" − {rest}").replace('−', if latex { "-" } else { "−" }))
            }
            (_, None) => s.push_str(&format!(" + {text}")),
        }
    }
    s
}

/// A product: scalars with `·`, matrices elementwise with `⊙`, reciprocals as a fraction.
fn product(fs: &[Expr], latex: bool) -> String {
    let go = |x: &Expr| matrix_expr(x, latex);
    let wrap = |x: &Expr| wrapped(x, latex);
    let mut num: Vec<String> = Vec::new();
    let mut den: Vec<String> = Vec::new();
    let mut scalar: Vec<String> = Vec::new();
    let mut sign = "";
    for f in fs {
        match f {
            Expr::Num(v) if *v == -1.0 => sign = if latex { "-" } else { "−" },
            Expr::Num(_) | Expr::BatchSize => scalar.push(go(f)),
            Expr::Pow(b, p) if p.is_num(-1.0) => den.push(wrap(b)),
            other => num.push(wrap(other)),
        }
    }
    // Scalars multiply with `·`, matrices elementwise with `⊙`.
    let odot = if latex { " \\odot " } else { " ⊙ " };
    let dot = if latex { " \\cdot " } else { "·" };
    let mut top = num.join(odot);
    if !scalar.is_empty() {
        top = if top.is_empty() {
            scalar.join(dot)
        } else {
            format!("{}{dot}{top}", scalar.join(dot))
        };
    }
    let num_len = num.len() + scalar.len();
    let top = if top.is_empty() { "1".to_owned() } else { top };
    match (den.is_empty(), latex) {
        (true, _) => format!("{sign}{top}"),
        (false, true) => format!("{sign}\\frac{{{top}}}{{{}}}", den.join(" ")),
        (false, false) => format!(
            "{sign}{}/{}",
            if num_len > 1 { format!("({top})") } else { top },
            den.join("·")
        ),
    }
}

/// `eq` in matrix form (`∂L/∂W² = (Δ²)ᵀ·A¹`), as text or LaTeX.
pub(super) fn form(eq: &Equation, kernel: &Kernel, latex: bool) -> String {
    let out = matrix_name(&eq.lhs, latex);
    let rhs = match kernel {
        Kernel::Gemm { a, b, bias, .. } => {
            let dot = if latex { " \\cdot " } else { "·" };
            let mut s = format!("{}{dot}{}", operand(a, latex), operand(b, latex));
            if let Some(bias) = bias {
                s += &format!(" + {}", matrix_name(bias, latex));
            }
            s
        }
        Kernel::BatchSum { input } if latex => {
            format!("\\mathbf{{1}}^\\top {}", matrix_name(input, true))
        }
        Kernel::BatchSum { input } => format!("1ᵀ·{}", matrix_name(input, false)),
        _ => matrix_expr(&eq.rhs, latex),
    };
    format!("{out} = {rhs}")
}
