//! Printing the IR as mathematics: plain text with Unicode sub- and superscripts
//! (`z̄¹ₙᵢ = ā¹ₙᵢ·step(z¹ₙᵢ)`), or LaTeX (`\bar{z}^{1}_{ni} = …`); element by element, or in
//! matrix form (`Δ¹ = Ā¹ ⊙ step(Z¹)`). One printer serves all four: precedence, signs,
//! fractions and function names are decided once.

mod matrix;
mod number;
mod product;

use super::{Equation, Expr, Idx, Ix, Prim, Ref, Var};
pub use matrix::matrix_name;
pub use number::with_written;
use number::{is_fraction, number};
use product::{product, split_sign};
use std::fmt;

/// Which notation to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unicode text.
    Text,
    /// LaTeX math.
    Latex,
}

/// Whether tensors are written element by element or as whole matrices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// `z¹ₙᵢ`, `Σₙ`, `δ(k, tₙ)`.
    Element,
    /// `Z¹`, `⊙`, `rowsum`, `onehot(t)`: an element-wise or row-wise right side as matrices.
    Matrix,
}

/// What the printer needs to know: the notation and the form.
#[derive(Clone, Copy, Debug)]
struct Pen {
    style: Style,
    form: Form,
}

/// An expression ready to print in a style, element by element.
pub struct Show<'a, T: ?Sized>(pub &'a T, pub Style);

/// An element-wise or row-wise expression printed in matrix form: tensors as matrices (`Z¹`,
/// `Ā¹`, `Δ²`), products of matrices as `⊙`, a row-wise sum as `rowsum`, the label δ as
/// `onehot(t)`.
pub struct AsMatrix<'a, T: ?Sized>(pub &'a T, pub Style);

impl fmt::Display for Show<'_, Expr> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pen = Pen {
            style: self.1,
            form: Form::Element,
        };
        f.write_str(&expr(self.0, pen, 0))
    }
}

impl fmt::Display for AsMatrix<'_, Expr> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pen = Pen {
            style: self.1,
            form: Form::Matrix,
        };
        f.write_str(&expr(self.0, pen, 0))
    }
}

impl fmt::Display for Show<'_, Var> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0.letter, layer_mark(self.0.layer, self.1))
    }
}

impl fmt::Display for Show<'_, Ref> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&reference(self.0, self.1))
    }
}

impl fmt::Display for Show<'_, Equation> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} = {}",
            Show(&self.0.lhs, self.1),
            Show(&self.0.rhs, self.1)
        )
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Show(self, Style::Text).fmt(f)
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Show(self, Style::Text).fmt(f)
    }
}

impl fmt::Display for Equation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Show(self, Style::Text).fmt(f)
    }
}

fn subscript(c: char) -> Option<char> {
    Some(match c {
        'a' => 'ₐ',
        'e' => 'ₑ',
        'h' => 'ₕ',
        'i' => 'ᵢ',
        'j' => 'ⱼ',
        'k' => 'ₖ',
        'l' => 'ₗ',
        'm' => 'ₘ',
        'n' => 'ₙ',
        'o' => 'ₒ',
        'p' => 'ₚ',
        'r' => 'ᵣ',
        's' => 'ₛ',
        't' => 'ₜ',
        'u' => 'ᵤ',
        'v' => 'ᵥ',
        'x' => 'ₓ',
        '0'..='9' => char::from_u32('₀' as u32 + c.to_digit(10)?)?,
        _ => return None,
    })
}

/// A layer number as a superscript: `²` in text, `^{2}` in LaTeX; nothing for no layer.
pub fn layer_mark(layer: Option<u8>, style: Style) -> String {
    match (layer, style) {
        (None, _) => String::new(),
        (Some(l), Style::Latex) => format!("^{{{l}}}"),
        (Some(l), Style::Text) => superscript(&l.to_string()).expect("digits have superscripts"),
    }
}

fn superscript(text: &str) -> Option<String> {
    text.chars()
        .map(|c| match c {
            '0' => Some('⁰'),
            '1' => Some('¹'),
            '2' => Some('²'),
            '3' => Some('³'),
            '4'..='9' => char::from_u32('⁴' as u32 + c.to_digit(10)? - 4),
            '-' => Some('⁻'),
            _ => None,
        })
        .collect()
}

/// An index as text (`i′`) or LaTeX (`i'`).
pub fn index(i: Idx, style: Style) -> String {
    let primes = match style {
        Style::Text => "′".repeat(i.primes as usize),
        Style::Latex => "'".repeat(i.primes as usize),
    };
    format!("{}{primes}", i.letter)
}

fn position(x: Ix, style: Style) -> String {
    match x {
        Ix::Var(i) => index(i, style),
        Ix::Label(i) => match style {
            Style::Text => format!("t{}", sub_text(&index(i, style))),
            Style::Latex => format!("t_{{{}}}", index(i, style)),
        },
    }
}

/// Subscripted text if every character has a subscript form, else `None`.
fn try_sub(text: &str) -> Option<String> {
    text.chars()
        .map(|c| {
            if c == '′' {
                Some('′')
            } else {
                subscript(c)
            }
        })
        .collect()
}

fn sub_text(text: &str) -> String {
    try_sub(text).unwrap_or_else(|| format!("_{text}"))
}

/// A list of positions as a subscript: `ₙᵢ`, or `[n, tₙ]` where subscripts cannot show it.
fn subscripts(ix: &[Ix], style: Style) -> String {
    if ix.is_empty() {
        return String::new();
    }
    match style {
        Style::Latex => {
            let parts: Vec<String> = ix.iter().map(|x| position(*x, style)).collect();
            let sep = if ix.iter().any(|x| matches!(x, Ix::Label(_))) {
                ","
            } else {
                ""
            };
            format!("_{{{}}}", parts.join(sep))
        }
        Style::Text => {
            let simple: Option<String> = ix
                .iter()
                .map(|x| match x {
                    Ix::Var(i) => try_sub(&index(*i, style)),
                    Ix::Label(_) => None,
                })
                .collect();
            simple.unwrap_or_else(|| {
                let parts: Vec<String> = ix.iter().map(|x| position(*x, style)).collect();
                format!("[{}]", parts.join(", "))
            })
        }
    }
}

/// A tensor element: `W̄²ᵢⱼ`, `\bar{W}^{2}_{ij}`.
pub fn reference(r: &Ref, style: Style) -> String {
    let layer = layer_mark(r.var.layer, style);
    match style {
        Style::Text => {
            let mut s = r.var.letter.to_string();
            if r.adjoint {
                s.push('\u{0304}');
            }
            s + &layer + &subscripts(&r.ix, style)
        }
        Style::Latex => {
            let base = if r.adjoint {
                format!("\\bar{{{}}}", r.var.letter)
            } else {
                r.var.letter.to_string()
            };
            format!("{base}{layer}{}", subscripts(&r.ix, style))
        }
    }
}

const ADD: u8 = 1;
const MUL: u8 = 2;
const POW: u8 = 3;

fn paren(text: String, style: Style) -> String {
    match style {
        Style::Text => format!("({text})"),
        Style::Latex => format!("\\left({text}\\right)"),
    }
}

fn prec(e: &Expr, pen: Pen) -> u8 {
    match e {
        Expr::Add(_) => ADD,
        // In matrix form a sum is `rowsum(…)`, a closed term.
        Expr::Sum(..) if pen.form == Form::Matrix => POW + 1,
        Expr::Mul(_) | Expr::Sum(..) => MUL,
        Expr::Num(v) if *v < 0.0 => ADD,
        // `2/3`, `1/√2`: a quotient in text; `\frac` groups itself in LaTeX.
        Expr::Num(v) if pen.style == Style::Text && is_fraction(*v) => MUL,
        Expr::Pow(..) => POW,
        _ => POW + 1,
    }
}

/// Prints `e`, in parentheses when it binds less tightly than `min`.
fn expr(e: &Expr, pen: Pen, min: u8) -> String {
    let text = bare(e, pen);
    if prec(e, pen) < min {
        paren(text, pen.style)
    } else {
        text
    }
}

fn bare(e: &Expr, pen: Pen) -> String {
    let style = pen.style;
    let latex = style == Style::Latex;
    if pen.form == Form::Matrix
        && let Some(text) = matrix::term(e, pen)
    {
        return text;
    }
    match e {
        Expr::Num(v) => number(*v, style),
        Expr::BatchSize => "N".to_owned(),
        Expr::Ref(r) => reference(r, style),
        // A label reads best second: δ(k, tₙ).
        Expr::Delta(a @ Ix::Label(_), b @ Ix::Var(_)) => bare(&Expr::Delta(*b, *a), pen),
        Expr::Delta(a, b) => match (style, a, b) {
            (Style::Text, Ix::Var(_), Ix::Var(_)) => format!("δ{}", subscripts(&[*a, *b], style)),
            (Style::Text, _, _) => format!("δ({}, {})", position(*a, style), position(*b, style)),
            (Style::Latex, _, _) => format!(
                "\\delta_{{{} {}}}",
                position(*a, style),
                position(*b, style)
            ),
        },
        Expr::Sum(i, body) => {
            let body = expr(body, pen, MUL);
            match style {
                Style::Text => format!("Σ{} {body}", sub_text(&index(*i, style))),
                Style::Latex => format!("\\sum_{{{}}} {body}", index(*i, style)),
            }
        }
        Expr::Add(terms) => {
            let mut s = String::new();
            for (k, t) in terms.iter().enumerate() {
                let (negative, magnitude) = split_sign(t);
                if k == 0 {
                    if negative {
                        s.push_str(if latex { "-" } else { "−" });
                    }
                } else {
                    s.push_str(match (negative, latex) {
                        (true, false) => " − ",
                        (true, true) => " - ",
                        (false, _) => " + ",
                    });
                }
                s.push_str(&expr(&magnitude, pen, ADD + 1));
            }
            s
        }
        Expr::Mul(factors) => product(factors, pen),
        Expr::Pow(base, exp) => power(base, exp, pen),
        Expr::Call(f, args) => call(f, args, pen),
        Expr::Lse(i, body) => vector_fn("lse", *i, body, None, pen),
        Expr::Softmax { at, over, body } => vector_fn("softmax", *over, body, Some(*at), pen),
    }
}

/// `base^exp`; a base that carries a layer mark is bracketed (`(z¹ₙᵢ)²`, `(Z¹)²`), so the mark
/// cannot be read as a power.
fn power(base: &Expr, exp: &Expr, pen: Pen) -> String {
    let style = pen.style;
    let marked = matches!(base, Expr::Ref(r) if r.var.layer.is_some());
    let b = if marked {
        paren(bare(base, pen), style)
    } else {
        expr(base, pen, POW + 1)
    };
    match (style, exp) {
        (Style::Text, Expr::Num(p)) if superscript(&p.to_string()).is_some() => {
            b + &superscript(&p.to_string()).expect("checked")
        }
        (Style::Text, _) => format!("{b}^{}", expr(exp, pen, POW + 1)),
        (Style::Latex, _) => format!("{{{b}}}^{{{}}}", expr(exp, pen, 0)),
    }
}

fn call(f: &Prim, args: &[Expr], pen: Pen) -> String {
    let list: Vec<String> = args.iter().map(|a| expr(a, pen, 0)).collect();
    let list = list.join(", ");
    let style = pen.style;
    match (style, f) {
        (Style::Text, Prim::Abs) => format!("|{list}|"),
        (Style::Text, Prim::Sqrt) => format!("√{}", paren(list, style)),
        (Style::Text, _) => format!("{}({list})", f.name()),
        (Style::Latex, Prim::Abs) => format!("\\left|{list}\\right|"),
        (Style::Latex, Prim::Sqrt) => format!("\\sqrt{{{list}}}"),
        (Style::Latex, Prim::Sigmoid) => format!("\\sigma\\left({list}\\right)"),
        (Style::Latex, Prim::Exp | Prim::Log | Prim::Tanh | Prim::Max | Prim::Min) => {
            format!("\\{}\\left({list}\\right)", f.name())
        }
        (Style::Latex, Prim::Apply(g)) => operator(&latex_name(&g.name), &list),
        (Style::Latex, Prim::Derivative(g)) => {
            format!(
                "{}'\\left({list}\\right)",
                operator_name(&latex_name(&g.name))
            )
        }
        (Style::Latex, _) => operator(f.name(), &list),
    }
}

/// `name(arg)` with the name upright in LaTeX: `\operatorname{softmax}\left(…\right)`.
fn operator(name: &str, arg: &str) -> String {
    format!("{}\\left({arg}\\right)", operator_name(name))
}

/// `name` upright in LaTeX: `\operatorname{softmax}`.
fn operator_name(name: &str) -> String {
    format!("\\operatorname{{{name}}}")
}

/// A user's name in LaTeX: its underscores escaped (`leaky\_tanh`).
fn latex_name(name: &str) -> String {
    name.replace('_', "\\_")
}

/// `lse(z³ₙ)` or `softmax(z³ₙ)ₖ` when the body is a tensor indexed last by the bound index,
/// else the general `lseⱼ(e)`, `softmaxⱼ(e)ₖ`.
fn vector_fn(name: &str, over: Idx, body: &Expr, at: Option<Ix>, pen: Pen) -> String {
    let style = pen.style;
    let row = match body {
        Expr::Ref(r)
            if r.ix.last() == Some(&Ix::Var(over))
                && !r.ix[..r.ix.len() - 1].iter().any(|x| x.idx() == over) =>
        {
            let mut row = r.clone();
            row.ix.pop();
            Some(reference(&row, style))
        }
        _ => None,
    };
    let at = at.map(|a| subscripts(&[a], style)).unwrap_or_default();
    match (row, style) {
        (Some(row), Style::Text) => format!("{name}({row}){at}"),
        (Some(row), Style::Latex) => format!("{}{at}", operator(name, &row)),
        (None, Style::Text) => {
            format!(
                "{name}{}({}){at}",
                sub_text(&index(over, style)),
                expr(body, pen, 0)
            )
        }
        (None, Style::Latex) => format!(
            "\\operatorname{{{name}}}_{{{}}}\\left({}\\right){at}",
            index(over, style),
            expr(body, pen, 0)
        ),
    }
}
