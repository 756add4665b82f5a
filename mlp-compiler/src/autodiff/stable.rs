//! A user's formula for a function that has a stable primitive is read as that primitive
//! before it is differentiated: `1/(1 + exp(-s))` and `exp(s)/(1 + exp(s))` are `σ(s)`,
//! `log(1 + exp(s))` is `softplus(s)`, `(exp(s) - exp(-s))/(exp(s) + exp(-s))` is `tanh(s)`,
//! `log(exp(a) + exp(b))` is `max(a, b) + softplus(−|a − b|)`. Written out, their
//! derivatives hold `exp(−s)·(1 + exp(−s))⁻²`, which is `∞·0 = NaN` in `f32` once `s` is
//! below −88; the primitives' derivatives (`σ·(1 − σ)`, …) are finite wherever the true
//! values are.

use crate::ir::{Expr, Prim};
use crate::model::formula::{Formula, Func};

/// `f` as a stable primitive applied to `apply`'d arguments, if it is one written out.
pub(super) fn recognize(f: &Formula, apply: &dyn Fn(&Formula) -> Expr) -> Option<Expr> {
    let sigmoid = |s: Expr| Expr::call(Prim::Sigmoid, s);
    match f {
        // 1/(1 + exp(u)) = σ(−u)
        Formula::Div(n, d) if is_one(n) => Some(sigmoid(negated(exp_of(one_plus(d)?)?, apply))),
        Formula::Pow(d, p) if minus_one(p) => Some(sigmoid(negated(exp_of(one_plus(d)?)?, apply))),
        Formula::Div(n, d) => logistic(n, d, apply).or_else(|| tanh(n, d, apply)),
        Formula::Call(Func::Log, args) => {
            let [arg] = args.as_slice() else { return None };
            // log(1 + exp(u)) = softplus(u)
            if let Some(t) = one_plus(arg) {
                return Some(Expr::call(Prim::Softplus, apply(exp_of(t)?)));
            }
            // log(exp(a) + exp(b)) = max(a, b) + softplus(−|a − b|)
            let Formula::Add(a, b) = arg else { return None };
            let (a, b) = (apply(exp_of(a)?), apply(exp_of(b)?));
            let gap = Expr::call(Prim::Abs, Expr::plus(a.clone(), Expr::negate(b.clone())));
            Some(Expr::plus(
                Expr::Call(Prim::Max, vec![a, b]),
                Expr::call(Prim::Softplus, Expr::negate(gap)),
            ))
        }
        _ => None,
    }
}

/// `-1`, written as a constant or as `-(1)`.
fn minus_one(f: &Formula) -> bool {
    match f {
        Formula::Const(v) => *v == -1.0,
        Formula::Neg(a) => is_one(a),
        _ => false,
    }
}

/// `exp(u)/(1 + exp(u)) = σ(u)`.
fn logistic(n: &Formula, d: &Formula, apply: &dyn Fn(&Formula) -> Expr) -> Option<Expr> {
    let u = exp_of(n)?;
    (exp_of(one_plus(d)?)? == u).then(|| Expr::call(Prim::Sigmoid, apply(u)))
}

/// `(exp(u) − exp(−u))/(exp(u) + exp(−u)) = tanh(u)`.
fn tanh(n: &Formula, d: &Formula, apply: &dyn Fn(&Formula) -> Expr) -> Option<Expr> {
    let (Formula::Sub(p, m), Formula::Add(a, b)) = (n, d) else {
        return None;
    };
    let u = exp_of(p)?;
    let opposite = matches!(exp_of(m)?, Formula::Neg(v) if **v == *u);
    let same = (a == p && b == m) || (a == m && b == p);
    (opposite && same).then(|| Expr::call(Prim::Tanh, apply(u)))
}

fn is_one(f: &Formula) -> bool {
    matches!(f, Formula::Const(v) if *v == 1.0)
}

/// `t` of `1 + t` or `t + 1`.
fn one_plus(f: &Formula) -> Option<&Formula> {
    match f {
        Formula::Add(a, b) if is_one(a) => Some(b),
        Formula::Add(a, b) if is_one(b) => Some(a),
        _ => None,
    }
}

/// `u` of `exp(u)`.
fn exp_of(f: &Formula) -> Option<&Formula> {
    match f {
        Formula::Call(Func::Exp, args) => args.first(),
        _ => None,
    }
}

/// `−u`, as `s` when `u` is written `-s`.
fn negated(u: &Formula, apply: &dyn Fn(&Formula) -> Expr) -> Expr {
    match u {
        Formula::Neg(s) => apply(s),
        other => Expr::negate(apply(other)),
    }
}
