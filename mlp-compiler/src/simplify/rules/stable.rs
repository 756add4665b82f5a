//! Numerically stable forms: `softplus`, `σ`, `lse` and `softmax` recognized in their
//! definitions, so that evaluation never overflows where the math does not.

use super::{num, product};
use crate::ir::{Expr, Idx, Ix, Prim};
use crate::simplify::Context;

fn is_exp(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Call(Prim::Exp, a) => Some(&a[0]),
        _ => None,
    }
}

/// `1 + exp(u)` → `u`.
fn one_plus_exp(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Add(ts) if ts.len() == 2 => match (&ts[0], &ts[1]) {
            (Expr::Num(c), x) | (x, Expr::Num(c)) if *c == 1.0 => is_exp(x),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn softplus(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Call(Prim::Log, a) => Some(Expr::call(Prim::Softplus, one_plus_exp(&a[0])?.clone())),
        _ => None,
    }
}

/// `−e`, without a double negation: `−(−1·u)` is `u`.
fn negated(e: &Expr) -> Expr {
    match e {
        Expr::Mul(fs) if fs.first().is_some_and(|f| f.is_num(-1.0)) => product(fs[1..].to_vec()),
        other => Expr::negate(other.clone()),
    }
}

/// `e` as a sign and the factors of a product, nested products flattened and `−1`s counted:
/// `−(x·x)`, `(−1)·x·x` and `x·(−x)` are all `(true, [x, x])`.
fn signed_factors(e: &Expr) -> (bool, Vec<&Expr>) {
    let mut negative = false;
    let mut factors = Vec::new();
    let mut stack = vec![e];
    while let Some(f) = stack.pop() {
        match f {
            Expr::Mul(fs) => stack.extend(fs.iter().rev()),
            f if f.is_num(-1.0) => negative = !negative,
            f => factors.push(f),
        }
    }
    (negative, factors)
}

/// Whether `a = −b`, however the negation is written.
fn opposite(a: &Expr, b: &Expr) -> bool {
    let ((sa, fa), (sb, fb)) = (signed_factors(a), signed_factors(b));
    sa != sb && fa == fb
}

/// The product of `fs` with factors `k` and `m` replaced by `by`, which they equal.
fn merged(fs: &[Expr], k: usize, m: usize, by: Expr) -> Expr {
    let mut out: Vec<Expr> = fs
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != k && *j != m)
        .map(|(_, g)| g.clone())
        .collect();
    out.push(by);
    product(out)
}

fn sigmoid(u: Expr) -> Expr {
    Expr::call(Prim::Sigmoid, u)
}

pub(super) fn logistic(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        // 1/(1 + exp(u)) = σ(−u)
        Expr::Pow(b, p) if p.is_num(-1.0) => Some(sigmoid(negated(one_plus_exp(b)?))),
        // exp(u)·σ(−u) = exp(u)/(1 + exp(u)) = σ(u): the arm above has already read the
        // denominator, bottom-up.
        Expr::Mul(fs) => {
            for (k, f) in fs.iter().enumerate() {
                let Expr::Call(Prim::Sigmoid, v) = f else {
                    continue;
                };
                let found = fs
                    .iter()
                    .position(|g| is_exp(g).is_some_and(|u| opposite(u, &v[0])));
                if let Some(m) = found {
                    let u = is_exp(&fs[m]).expect("an exp").clone();
                    return Some(merged(fs, k, m, sigmoid(u)));
                }
            }
            None
        }
        _ => None,
    }
}

/// `exp(p) − exp(q)` → `(p, q)`.
fn exp_difference(f: &Expr) -> Option<(&Expr, &Expr)> {
    let Expr::Add(ts) = f else { return None };
    let [s, t] = ts.as_slice() else { return None };
    [(s, t), (t, s)].into_iter().find_map(|(a, b)| {
        let Expr::Mul(m) = b else { return None };
        let [minus, q] = m.as_slice() else {
            return None;
        };
        minus.is_num(-1.0).then_some(())?;
        Some((is_exp(a)?, is_exp(q)?))
    })
}

/// `(exp(p) + exp(q))⁻¹` → `(p, q)`.
fn inverse_exp_sum(f: &Expr) -> Option<(&Expr, &Expr)> {
    let Expr::Pow(b, p) = f else { return None };
    let Expr::Add(ts) = b.as_ref() else {
        return None;
    };
    let [s, t] = ts.as_slice() else { return None };
    p.is_num(-1.0).then_some(())?;
    Some((is_exp(s)?, is_exp(t)?))
}

/// `(exp(u) − exp(−u))·(exp(u) + exp(−u))⁻¹ = tanh(u)`, the terms of either sum in any order.
pub(super) fn tanh(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Mul(fs) = e else { return None };
    for (k, f) in fs.iter().enumerate() {
        let Some((p, q)) = exp_difference(f).filter(|(p, q)| opposite(p, q)) else {
            continue;
        };
        let same = |(a, b): (&Expr, &Expr)| (a == p && b == q) || (a == q && b == p);
        let Some(m) = fs.iter().position(|g| inverse_exp_sum(g).is_some_and(same)) else {
            continue;
        };
        return Some(merged(fs, k, m, Expr::call(Prim::Tanh, p.clone())));
    }
    None
}

/// `log(exp(a) + exp(b)) = logaddexp(a, b)`.
pub(super) fn log_add_exp(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Call(Prim::Log, arg) = e else {
        return None;
    };
    let Expr::Add(ts) = &arg[0] else { return None };
    let [a, b] = ts.as_slice() else { return None };
    let (a, b) = (is_exp(a)?.clone(), is_exp(b)?.clone());
    Some(Expr::Call(Prim::LogAddExp, vec![a, b]))
}

pub(super) fn log_sum_exp(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Call(Prim::Log, a) = e else {
        return None;
    };
    let Expr::Sum(i, body) = &a[0] else {
        return None;
    };
    Some(Expr::Lse(*i, Box::new(is_exp(body)?.clone())))
}

/// The position `k` with `pattern[i:=k] == target`, if there is one.
fn instance(pattern: &Expr, i: Idx, target: &Expr) -> Option<Ix> {
    let mut candidates: Vec<Ix> = target.free().into_iter().map(Ix::Var).collect();
    candidates.extend(candidates.clone().into_iter().map(|x| Ix::Label(x.idx())));
    candidates
        .into_iter()
        .find(|k| pattern.replace_index(i, *k) == *target)
}

pub(super) fn softmax(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Mul(fs) = e else { return None };
    for (k, f) in fs.iter().enumerate() {
        let Expr::Pow(base, p) = f else { continue };
        let (Expr::Sum(i, body), Some(p)) = (base.as_ref(), num(p)) else {
            continue;
        };
        let Some(scores) = is_exp(body).filter(|_| p <= -1.0) else {
            continue;
        };
        for (m, g) in fs.iter().enumerate() {
            let Some(at) = is_exp(g).and_then(|u| instance(scores, *i, u)) else {
                continue;
            };
            let mut out = fs.clone();
            out[m] = Expr::Softmax {
                at,
                over: *i,
                body: Box::new(scores.clone()),
            };
            out[k] = Expr::pow((**base).clone(), p + 1.0);
            return Some(product(out));
        }
    }
    None
}
