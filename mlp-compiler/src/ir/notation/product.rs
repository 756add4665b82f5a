//! Products as text: a leading sign, factors joined by `·`, negative powers as a fraction,
//! and a mean as `(1/N)·Σₙ …`.

use super::{MUL, Style, bare, expr, paren};
use crate::ir::Expr;

/// A product, with a leading `−` for a negative coefficient and negative powers as a fraction.
pub(super) fn product(factors: &[Expr], style: Style) -> String {
    let (negative, magnitude) = split_sign(&Expr::Mul(factors.to_vec()));
    let factors = match magnitude {
        Expr::Mul(fs) => fs,
        other => vec![other],
    };
    let (mut num, den) = fraction(&factors);
    let sign = match (negative, style) {
        (false, _) => "",
        (true, Style::Text) => "−",
        (true, Style::Latex) => "-",
    };
    // A mean reads `(1/N)·Σₙ …` rather than `(Σₙ …)/N`.
    if let Some(text) = mean(&mut num, &den, sign, style) {
        return text;
    }
    let single = |fs: &[Expr]| -> String {
        match fs {
            [one] => bare(one, style),
            many => join(many, style),
        }
    };
    let top = if num.is_empty() {
        "1".to_owned()
    } else {
        single(&num)
    };
    if den.is_empty() {
        return format!(
            "{sign}{}",
            if num.len() == 1 {
                expr(&num[0], style, MUL + 1)
            } else {
                top
            }
        );
    }
    match style {
        Style::Latex => format!("{sign}\\frac{{{top}}}{{{}}}", single(&den)),
        Style::Text => {
            let wrap = |fs: &[Expr], text: String| {
                if fs.len() > 1
                    || matches!(
                        fs.first(),
                        Some(Expr::Sum(..) | Expr::Add(_) | Expr::Mul(_))
                    )
                {
                    paren(text, style)
                } else {
                    text
                }
            };
            let top = if num.is_empty() { top } else { wrap(&num, top) };
            format!("{sign}{top}/{}", wrap(&den, single(&den)))
        }
    }
}

/// Splits a leading negative coefficient off: `−2·a` → `(true, 2·a)`.
pub(super) fn split_sign(e: &Expr) -> (bool, Expr) {
    match e {
        Expr::Num(v) if *v < 0.0 => (true, Expr::Num(-v)),
        Expr::Mul(fs) => match fs.first() {
            Some(Expr::Num(v)) if *v < 0.0 => {
                let mut rest: Vec<Expr> = fs[1..].to_vec();
                if *v != -1.0 {
                    rest.insert(0, Expr::Num(-v));
                }
                (
                    true,
                    if rest.len() == 1 {
                        rest.pop().expect("one")
                    } else {
                        Expr::Mul(rest)
                    },
                )
            }
            _ => (false, e.clone()),
        },
        _ => (false, e.clone()),
    }
}

/// The factors of a product split into numerator and denominator (negative powers).
fn fraction(factors: &[Expr]) -> (Vec<Expr>, Vec<Expr>) {
    let mut num: Vec<Expr> = Vec::new();
    let mut den: Vec<Expr> = Vec::new();
    for f in factors {
        match f {
            Expr::Pow(b, p) if matches!(p.as_ref(), Expr::Num(v) if *v < 0.0) => {
                let Expr::Num(v) = p.as_ref() else {
                    unreachable!()
                };
                den.push(if *v == -1.0 {
                    (**b).clone()
                } else {
                    Expr::pow((**b).clone(), -v)
                });
            }
            _ => num.push(f.clone()),
        }
    }
    (num, den)
}

/// Factors joined by `·`; a sum in brackets unless it is the last factor.
fn join(fs: &[Expr], style: Style) -> String {
    let dot = if style == Style::Latex {
        " \\cdot "
    } else {
        "·"
    };
    let n = fs.len();
    fs.iter()
        .enumerate()
        .map(|(k, f)| {
            // A sum that is not the last factor would swallow the factors after it.
            if matches!(f, Expr::Sum(..)) && k + 1 < n {
                paren(bare(f, style), style)
            } else if matches!(f, Expr::Sum(..)) {
                bare(f, style)
            } else {
                expr(f, style, MUL + 1)
            }
        })
        .collect::<Vec<_>>()
        .join(dot)
}

/// `(c/N)·Σₙ …` for a product of at most a constant and a sum over a denominator `den`;
/// otherwise `None`, with `num` as it was.
fn mean(num: &mut Vec<Expr>, den: &[Expr], sign: &str, style: Style) -> Option<String> {
    if den.is_empty() || !matches!(num.last(), Some(Expr::Sum(..))) || num.len() > 2 {
        return None;
    }
    let sum = num.pop().expect("checked");
    let mut lead: Vec<Expr> = match num.as_slice() {
        [Expr::Num(c)] => vec![Expr::Num(*c)],
        _ => vec![Expr::Num(1.0)],
    };
    lead.extend(den.iter().map(|d| Expr::recip(d.clone())));
    let lead = paren(
        product(&lead, style).trim_start_matches(sign).to_owned(),
        style,
    );
    let dot = if style == Style::Latex {
        " \\cdot "
    } else {
        "·"
    };
    Some(format!("{sign}{lead}{dot}{}", expr(&sum, style, MUL)))
}
