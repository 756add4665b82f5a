//! Products: a leading sign, factors joined by `·` (matrices by `⊙`), negative powers as a
//! fraction, and a mean as `(1/N)·Σₙ …`.

use super::number::rational;
use super::{Form, MUL, Pen, Style, bare, expr, paren, prec};
use crate::ir::Expr;

/// The factors of a product as they are read: nested products flattened, factors of 1 left
/// out (`1·((1/N)·Σₙ …)` reads `(1/N)·Σₙ …`).
fn factors_of(factors: &[Expr]) -> Vec<Expr> {
    let mut out = Vec::new();
    for f in factors {
        match f {
            Expr::Mul(inner) => out.extend(factors_of(inner)),
            Expr::Num(v) if *v == 1.0 => {}
            other => out.push(other.clone()),
        }
    }
    out
}

/// A rational coefficient over a denominator joins it: `(2/3)·a/N` reads `2·a/(3·N)`.
fn merge_rational(num: &mut Vec<Expr>, den: &mut Vec<Expr>) {
    if den.is_empty() {
        return;
    }
    if let Some(Expr::Num(c)) = num.first()
        && let Some((p, q)) = rational(*c)
    {
        if p == 1 && num.len() > 1 {
            num.remove(0);
        } else {
            num[0] = Expr::Num(f64::from(p));
        }
        den.insert(0, Expr::Num(f64::from(q)));
    }
}

/// A product, with a leading `−` for a negative coefficient and negative powers as a fraction.
pub(super) fn product(factors: &[Expr], pen: Pen) -> String {
    let style = pen.style;
    let factors = match factors_of(factors) {
        fs if fs.is_empty() => vec![Expr::Num(1.0)],
        fs => fs,
    };
    // One factor left reads as itself, but for a reciprocal, which reads `1/…`.
    if let [one] = factors.as_slice()
        && !matches!(one, Expr::Pow(_, p) if matches!(p.as_ref(), Expr::Num(v) if *v < 0.0))
    {
        return bare(one, pen);
    }
    let (negative, magnitude) = split_sign(&Expr::Mul(factors));
    let factors = match magnitude {
        Expr::Mul(fs) => fs,
        other => vec![other],
    };
    let (mut num, mut den) = fraction(&factors);
    merge_rational(&mut num, &mut den);
    let sign = match (negative, style) {
        (false, _) => "",
        (true, Style::Text) => "−",
        (true, Style::Latex) => "-",
    };
    // A mean reads `(1/N)·Σₙ …` rather than `(Σₙ …)/N`.
    if let Some(text) = mean(&mut num, &den, sign, pen) {
        return text;
    }
    let single = |fs: &[Expr]| -> String {
        match fs {
            [one] => bare(one, pen),
            many => join(many, pen),
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
                expr(&num[0], pen, MUL + 1)
            } else {
                top
            }
        );
    }
    match style {
        Style::Latex => format!("{sign}\\frac{{{top}}}{{{}}}", single(&den)),
        Style::Text => {
            // A side of `/` is bracketed unless it is one closed factor.
            let wrap = |fs: &[Expr], text: String| {
                if fs.len() > 1 || fs.first().is_some_and(|f| prec(f, pen) <= MUL) {
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

/// Whether a factor is a number (`2`, `N`, `1/N`) rather than a tensor.
fn scalar(e: &Expr) -> bool {
    match e {
        Expr::Num(_) | Expr::BatchSize => true,
        Expr::Pow(b, p) => scalar(b) && scalar(p),
        _ => false,
    }
}

/// Factors joined by `·`, or in matrix form two matrices by `⊙`; in element form a sum is in
/// brackets unless it is the last factor.
fn join(fs: &[Expr], pen: Pen) -> String {
    let latex = pen.style == Style::Latex;
    let (dot, odot) = if latex {
        (" \\cdot ", " \\odot ")
    } else {
        ("·", " ⊙ ")
    };
    let n = fs.len();
    let mut out = String::new();
    for (k, f) in fs.iter().enumerate() {
        if k > 0 {
            let hadamard = pen.form == Form::Matrix && !scalar(f) && !scalar(&fs[k - 1]);
            out.push_str(if hadamard { odot } else { dot });
        }
        let sum = pen.form == Form::Element && matches!(f, Expr::Sum(..));
        out.push_str(&match (sum, k + 1 < n) {
            // A sum that is not the last factor would swallow the factors after it.
            (true, true) => paren(bare(f, pen), pen.style),
            (true, false) => bare(f, pen),
            // `⊙` binds like `·`, so a power needs no brackets on either side of it.
            (false, _) => expr(f, pen, MUL + 1),
        });
    }
    out
}

/// `(c/N)·Σₙ …` for a product of at most a constant and a sum over a denominator `den`;
/// otherwise `None`, with `num` as it was.
fn mean(num: &mut Vec<Expr>, den: &[Expr], sign: &str, pen: Pen) -> Option<String> {
    let c = match num.as_slice() {
        _ if den.is_empty() => return None,
        [Expr::Sum(..)] => 1.0,
        [Expr::Num(c), Expr::Sum(..)] => *c,
        _ => return None,
    };
    let sum = num.pop().expect("checked");
    let mut lead = vec![Expr::Num(c)];
    lead.extend(den.iter().map(|d| Expr::recip(d.clone())));
    let lead = product(&lead, pen).trim_start_matches(sign).to_owned();
    // `\frac` groups itself; in text the quotient is bracketed: `(1/N)·Σₙ …`.
    let lead = match pen.style {
        Style::Text => paren(lead, pen.style),
        Style::Latex => lead,
    };
    let dot = if pen.style == Style::Latex {
        " \\cdot "
    } else {
        "·"
    };
    Some(format!("{sign}{lead}{dot}{}", expr(&sum, pen, MUL)))
}
