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

fn negated(e: &Expr) -> Expr {
    match e {
        Expr::Mul(fs) if fs.first().is_some_and(|f| f.is_num(-1.0)) => product(fs[1..].to_vec()),
        other => Expr::negate(other.clone()),
    }
}

pub(super) fn logistic(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        // 1/(1 + exp(−u)) = σ(u). Only for a written negation: `1/(1 + exp(u))` may be the
        // denominator of `exp(u)/(1 + exp(u))`, which the arm below must see whole.
        Expr::Pow(b, p) if p.is_num(-1.0) => {
            let u = one_plus_exp(b)?;
            let is_negation =
                matches!(u, Expr::Mul(fs) if fs.first().is_some_and(|f| f.is_num(-1.0)));
            is_negation.then(|| Expr::call(Prim::Sigmoid, negated(u)))
        }
        // exp(u)·(1 + exp(u))⁻¹ = σ(u)
        Expr::Mul(fs) => {
            for (k, f) in fs.iter().enumerate() {
                let Expr::Pow(b, p) = f else { continue };
                let Some(u) = one_plus_exp(b).filter(|_| p.is_num(-1.0)) else {
                    continue;
                };
                if let Some(m) = fs.iter().position(|g| is_exp(g) == Some(u)) {
                    let mut out: Vec<Expr> = fs
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != k && *j != m)
                        .map(|(_, g)| g.clone())
                        .collect();
                    out.push(Expr::call(Prim::Sigmoid, u.clone()));
                    return Some(product(out));
                }
            }
            None
        }
        _ => None,
    }
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
