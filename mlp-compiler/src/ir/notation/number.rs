//! Numbers as a person writes them: a recognizable fraction or irrational exactly (`1/2`,
//! `2/3`, `1/√2`, `2/√π`, `1/√(2π)`), the constants a user wrote as written (`0.5`, `0.01`),
//! anything else to six significant digits.
//!
//! A short decimal is a fraction only where the printer knows the user's constants (see
//! [`with_written`]): `½‖y − t‖²`'s `0.5` prints as `1/2`, a user's `0.5 * x` as `0.5`.

use super::Style;
use std::cell::RefCell;
use std::f64::consts::{PI, SQRT_2};

thread_local! {
    /// The constants the user wrote, while [`with_written`] runs.
    static WRITTEN: RefCell<Option<Vec<f64>>> = const { RefCell::new(None) };
}

/// Runs `f` with `written` (the constants a user wrote, as magnitudes) printed as written and
/// every other short decimal that is a small fraction printed as one (`0.5` as `1/2`).
/// Outside it, every short decimal prints as a decimal.
pub fn with_written<R>(written: &[f64], f: impl FnOnce() -> R) -> R {
    let outer = WRITTEN.with(|w| w.replace(Some(written.to_vec())));
    // Restored however `f` ends, unwinding included.
    struct Restore(Option<Vec<f64>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            WRITTEN.with(|w| *w.borrow_mut() = outer);
        }
    }
    let _restore = Restore(outer);
    f()
}

/// Whether `v` prints as a decimal because it is short and a user may have written it.
fn as_written(v: f64) -> bool {
    format!("{v}").len() <= 8
        && WRITTEN.with(|w| w.borrow().as_ref().is_none_or(|set| set.contains(&v)))
}

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
    if !(v.is_finite() && v > 0.0) || v.fract() == 0.0 || as_written(v) {
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
