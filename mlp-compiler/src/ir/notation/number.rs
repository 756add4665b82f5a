//! Numbers as a person writes them: a short decimal as it is (`0.5`, `0.01`, the constants a
//! user writes), a recognizable fraction or irrational exactly (`2/3`, `1/√2`, `2/√π`,
//! `1/√(2π)`), anything else to six significant digits.

use super::Style;
use std::f64::consts::{PI, SQRT_2};

/// `p/(q·base)` or `p/q`: a constant recognized exactly.
struct Exact {
    p: u32,
    q: u32,
    base: Option<Base>,
}

/// An irrational that appears in activations' definitions and derivatives.
#[derive(Clone, Copy)]
enum Base {
    Sqrt2,
    SqrtPi,
    Sqrt2Pi,
}

impl Base {
    const ALL: [Base; 3] = [Base::Sqrt2, Base::SqrtPi, Base::Sqrt2Pi];

    fn value(self) -> f64 {
        match self {
            Base::Sqrt2 => SQRT_2,
            Base::SqrtPi => PI.sqrt(),
            Base::Sqrt2Pi => (2.0 * PI).sqrt(),
        }
    }

    fn text(self, style: Style) -> &'static str {
        match (self, style) {
            (Base::Sqrt2, Style::Text) => "√2",
            (Base::SqrtPi, Style::Text) => "√π",
            (Base::Sqrt2Pi, Style::Text) => "√(2π)",
            (Base::Sqrt2, Style::Latex) => "\\sqrt{2}",
            (Base::SqrtPi, Style::Latex) => "\\sqrt{\\pi}",
            (Base::Sqrt2Pi, Style::Latex) => "\\sqrt{2\\pi}",
        }
    }
}

/// The exact form of a positive `v` that is not a short decimal, if it has one with small
/// integers (at most 12): `p/q`, or `p/(q·b)` for `b` one of √2, √π, √(2π).
fn exact(v: f64) -> Option<Exact> {
    if !(v.is_finite() && v > 0.0) || format!("{v}").len() <= 8 {
        return None;
    }
    let close = |x: f64| (x - v).abs() <= 1e-12 * v;
    let bases = std::iter::once(None).chain(Base::ALL.map(Some));
    for base in bases {
        for q in 1..=12u32 {
            let scale = f64::from(q) * base.map_or(1.0, Base::value);
            let p = (v * scale).round();
            if (1.0..=12.0).contains(&p) && close(p / scale) {
                return Some(Exact {
                    p: p as u32,
                    q,
                    base,
                });
            }
        }
    }
    None
}

/// `(p, q)` if `v` prints as the fraction `p/q` of small integers, `q > 1`.
pub(super) fn rational(v: f64) -> Option<(u32, u32)> {
    match exact(v)? {
        Exact { p, q, base: None } if q > 1 => Some((p, q)),
        _ => None,
    }
}

/// Whether `v` prints as a fraction (`2/3`, `1/√2`), which binds like a product in text.
pub(super) fn is_fraction(v: f64) -> bool {
    exact(v.abs()).is_some()
}

/// A number as a person reads it: exact when short, else to 6 significant digits.
fn short(v: f64) -> String {
    let exact = format!("{v}");
    if exact.len() <= 8 {
        return exact;
    }
    let digits = (5 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let rounded = format!("{v:.digits$}");
    let rounded = if rounded.contains('.') {
        rounded.trim_end_matches('0').trim_end_matches('.')
    } else {
        &rounded
    };
    if rounded.len() <= 12 {
        rounded.to_owned()
    } else {
        format!("{v:.5e}")
    }
}

/// `v` in `style`: exact where recognizable, a text minus sign `−`.
pub(super) fn number(v: f64, style: Style) -> String {
    let minus = match style {
        Style::Text => "−",
        Style::Latex => "-",
    };
    let sign = if v < 0.0 { minus } else { "" };
    let Some(Exact { p, q, base }) = exact(v.abs()) else {
        return format!("{sign}{}", short(v.abs()));
    };
    let den = match (q, base) {
        (q, None) => q.to_string(),
        (1, Some(b)) => b.text(style).to_owned(),
        (q, Some(b)) => match style {
            Style::Text => format!("({q}{})", b.text(style)),
            Style::Latex => format!("{q}{}", b.text(style)),
        },
    };
    match style {
        Style::Text => format!("{sign}{p}/{den}"),
        Style::Latex => format!("{sign}\\frac{{{p}}}{{{den}}}"),
    }
}
