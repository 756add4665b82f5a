//! Algebra: the rules that keep an expression in shape (flattening, units, constants, powers)
//! and the ones that move sums and factors (linearity of `Σ`, factoring, collecting terms).

use super::{factors, num, product, sum_of};
use crate::ir::{Expr, Idx, Ix, fresh};
use crate::simplify::Context;
use std::collections::BTreeSet;

pub(super) fn flatten(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Add(ts) if ts.iter().any(|t| matches!(t, Expr::Add(_))) => Some(Expr::Add(
            ts.iter()
                .flat_map(|t| {
                    if let Expr::Add(i) = t {
                        i.clone()
                    } else {
                        vec![t.clone()]
                    }
                })
                .collect(),
        )),
        Expr::Mul(fs) if fs.iter().any(|f| matches!(f, Expr::Mul(_))) => {
            Some(Expr::Mul(fs.iter().flat_map(factors).collect()))
        }
        _ => None,
    }
}

pub(super) fn unit(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Add(ts) if ts.len() < 2 => Some(sum_of(ts.clone())),
        Expr::Mul(fs) if fs.len() < 2 => Some(product(fs.clone())),
        _ => None,
    }
}

pub(super) fn zero_factor(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Mul(fs) if fs.iter().any(|f| f.is_num(0.0)) => Some(Expr::Num(0.0)),
        _ => None,
    }
}

pub(super) fn drop_zero(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Add(ts) if ts.iter().any(|t| t.is_num(0.0)) => Some(sum_of(
            ts.iter().filter(|t| !t.is_num(0.0)).cloned().collect(),
        )),
        Expr::Sum(_, b) if b.is_num(0.0) => Some(Expr::Num(0.0)),
        _ => None,
    }
}

pub(super) fn drop_one(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Mul(fs) if fs.iter().any(|f| f.is_num(1.0)) => Some(product(
            fs.iter().filter(|f| !f.is_num(1.0)).cloned().collect(),
        )),
        _ => None,
    }
}

pub(super) fn fold_constants(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    // Constants gather at the front: `2·a`, `1 − a`.
    let fold = |items: &[Expr], start: f64, op: fn(f64, f64) -> f64, front: bool| {
        let nums: Vec<f64> = items.iter().filter_map(num).collect();
        let place = if front { items.first() } else { items.last() };
        if nums.len() < 2 && (nums.is_empty() || place.and_then(num).is_some()) {
            return None;
        }
        let value = Expr::Num(nums.iter().fold(start, |a, b| op(a, *b)));
        let rest = items.iter().filter(|i| num(i).is_none()).cloned();
        Some(if front {
            std::iter::once(value).chain(rest).collect()
        } else {
            rest.chain(std::iter::once(value)).collect()
        })
    };
    match e {
        Expr::Mul(fs) => fold(fs, 1.0, |a, b| a * b, true).map(product),
        Expr::Add(ts) => fold(ts, 0.0, |a, b| a + b, true).map(sum_of),
        Expr::Call(f, args) if args.iter().all(|a| num(a).is_some()) => {
            let v: Vec<f64> = args.iter().filter_map(num).collect();
            let value = f.eval(&v);
            value.is_finite().then_some(Expr::Num(value))
        }
        _ => None,
    }
}

pub(super) fn power(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Pow(base, exp) = e else { return None };
    let p = num(exp)?;
    match (base.as_ref(), p) {
        (_, 1.0) => Some((**base).clone()),
        (_, 0.0) => Some(Expr::Num(1.0)),
        (Expr::Num(b), _) if b.powf(p).is_finite() => Some(Expr::Num(b.powf(p))),
        (Expr::Pow(inner, q), _) if p.fract() == 0.0 => {
            Some(Expr::Pow(inner.clone(), Box::new(Expr::Num(num(q)? * p))))
        }
        _ => None,
    }
}

pub(super) fn sum_linear(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Sum(i, b) => match b.as_ref() {
            Expr::Add(ts) => Some(Expr::Add(
                ts.iter().map(|t| Expr::sum(*i, t.clone())).collect(),
            )),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn sum_outward(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Mul(fs) = e else { return None };
    let k = fs.iter().position(|f| matches!(f, Expr::Sum(..)))?;
    let Expr::Sum(i, body) = &fs[k] else {
        unreachable!()
    };
    let others: Vec<Expr> = fs
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != k)
        .map(|(_, f)| f.clone())
        .collect();
    let mut taken: BTreeSet<Idx> = others.iter().flat_map(Expr::indices).collect();
    taken.extend(body.indices());
    let (i, body) = if taken.contains(i) && others.iter().any(|o| o.mentions(*i)) {
        let j = fresh(*i, &taken);
        (j, body.replace_index(*i, Ix::Var(j)))
    } else {
        (*i, (**body).clone())
    };
    let mut inner = others;
    inner.push(body);
    Some(Expr::sum(i, Expr::Mul(inner)))
}

pub(super) fn sum_factor_out(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Sum(i, body) = e else { return None };
    let fs = factors(body);
    let (outside, inside): (Vec<Expr>, Vec<Expr>) =
        fs.into_iter().partition(|f| !f.free().contains(i));
    if outside.is_empty() || inside.is_empty() {
        return None;
    }
    let mut out = outside;
    out.push(Expr::sum(*i, product(inside)));
    Some(Expr::Mul(out))
}

/// A factor as base and numeric exponent.
fn base_exp(f: &Expr) -> (Expr, f64) {
    match f {
        Expr::Pow(b, p) if num(p).is_some() => ((**b).clone(), num(p).expect("checked")),
        other => (other.clone(), 1.0),
    }
}

pub(super) fn collect_powers(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Mul(fs) = e else { return None };
    let mut groups: Vec<(Expr, f64)> = Vec::new();
    for f in fs {
        let (b, p) = base_exp(f);
        match groups
            .iter_mut()
            .find(|(g, _)| *g == b && !matches!(b, Expr::Num(_)))
        {
            Some((_, q)) => *q += p,
            None => groups.push((b, p)),
        }
    }
    (groups.len() < fs.len()).then(|| {
        product(
            groups
                .into_iter()
                .map(|(b, p)| if p == 1.0 { b } else { Expr::pow(b, p) })
                .collect(),
        )
    })
}

/// A term as its numeric coefficient and the rest.
fn coefficient(t: &Expr) -> (f64, Expr) {
    let fs = factors(t);
    let c: f64 = fs.iter().filter_map(num).product();
    (
        c,
        product(fs.into_iter().filter(|f| num(f).is_none()).collect()),
    )
}

pub(super) fn collect_terms(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Add(ts) = e else { return None };
    let mut groups: Vec<(f64, Expr)> = Vec::new();
    for t in ts {
        let (c, rest) = coefficient(t);
        match groups.iter_mut().find(|(_, r)| *r == rest) {
            Some((d, _)) => *d += c,
            None => groups.push((c, rest)),
        }
    }
    (groups.len() < ts.len()).then(|| {
        sum_of(
            groups
                .into_iter()
                .map(|(c, r)| Expr::times(Expr::Num(c), r))
                .collect(),
        )
    })
}

pub(super) fn factor(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Add(ts) = e else { return None };
    let first = factors(&ts[0]);
    let common = first
        .iter()
        .find(|f| num(f).is_none() && ts[1..].iter().all(|t| factors(t).contains(f)))?;
    let rest: Vec<Expr> = ts
        .iter()
        .map(|t| {
            let mut fs = factors(t);
            let k = fs.iter().position(|f| f == common).expect("common to all");
            fs.remove(k);
            product(fs)
        })
        .collect();
    Some(Expr::times(common.clone(), Expr::Add(rest)))
}

/// Constants, then adjoints, then δs, then stored values, then everything else.
fn rank(f: &Expr) -> u8 {
    match f {
        Expr::Num(_) => 0,
        Expr::BatchSize => 1,
        Expr::Pow(b, _) if matches!(b.as_ref(), Expr::BatchSize) => 1,
        Expr::Ref(r) if r.adjoint => 2,
        Expr::Delta(..) => 3,
        Expr::Ref(_) => 4,
        _ => 5,
    }
}

pub(super) fn order_factors(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Mul(fs) = e else { return None };
    let mut sorted = fs.clone();
    sorted.sort_by_key(rank);
    (sorted != *fs).then_some(Expr::Mul(sorted))
}
