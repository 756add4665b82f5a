//! Kronecker deltas: `δᵢᵢ = 1`, distributing a product over a sum that holds a `δ`, and
//! eliminating a summed index against a `δ` (where a rank-3 Jacobian collapses).

use super::{factors, product};
use crate::ir::{Expr, Idx, Ix};
use crate::simplify::Context;

pub(super) fn delta_same(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Delta(a, b) if a == b => Some(Expr::Num(1.0)),
        _ => None,
    }
}

fn has_delta(e: &Expr) -> bool {
    e.any(&|x| matches!(x, Expr::Delta(..)))
}

pub(super) fn distribute_delta(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Mul(fs) = e else { return None };
    let k = fs
        .iter()
        .position(|f| matches!(f, Expr::Add(_)) && has_delta(f))?;
    let Expr::Add(ts) = &fs[k] else {
        unreachable!()
    };
    Some(Expr::Add(
        ts.iter()
            .map(|t| {
                let mut p = fs.clone();
                p[k] = t.clone();
                Expr::Mul(p)
            })
            .collect(),
    ))
}

pub(super) fn delta_eliminate(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Sum(i, body) = e else { return None };
    // Look through nested sums: Σᵢ Σⱼ δᵢₖ·e = Σⱼ e[i:=k] as well.
    let mut inner: Vec<Idx> = Vec::new();
    let mut body = body.as_ref();
    while let Expr::Sum(j, b) = body {
        inner.push(*j);
        body = b;
    }
    let fs = factors(body);
    let (k, other) = fs.iter().enumerate().find_map(|(k, f)| match f {
        Expr::Delta(a, b) if *a == Ix::Var(*i) && b.idx() != *i => Some((k, *b)),
        Expr::Delta(a, b) if *b == Ix::Var(*i) && a.idx() != *i => Some((k, *a)),
        _ => None,
    })?;
    let rest: Vec<Expr> = fs
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != k)
        .map(|(_, f)| f.replace_index(*i, other))
        .collect();
    Some(
        inner
            .iter()
            .rev()
            .fold(product(rest), |acc, j| Expr::sum(*j, acc)),
    )
}
