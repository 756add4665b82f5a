//! Reuse of stored values: an occurrence of the right side of a forward equation whose value
//! the forward pass stored becomes a read of its left side.

use crate::ir::{Expr, Idx, Ix};
use crate::simplify::Context;
use std::collections::HashMap;

/// Matches `pattern` against `target`, binding the pattern's indices consistently.
fn unify(pattern: &Expr, target: &Expr, map: &mut HashMap<Idx, Ix>) -> bool {
    let bind = |p: Ix, t: Ix, map: &mut HashMap<Idx, Ix>| match p {
        Ix::Var(i) => *map.entry(i).or_insert(t) == t,
        Ix::Label(i) => {
            matches!(t, Ix::Label(j) if *map.entry(i).or_insert(Ix::Var(j)) == Ix::Var(j))
        }
    };
    match (pattern, target) {
        (Expr::Ref(a), Expr::Ref(b)) => {
            a.var == b.var
                && a.adjoint == b.adjoint
                && a.ix.len() == b.ix.len()
                && a.ix.iter().zip(&b.ix).all(|(p, t)| bind(*p, *t, map))
        }
        (Expr::Delta(a, b), Expr::Delta(c, d)) => bind(*a, *c, map) && bind(*b, *d, map),
        (Expr::Sum(i, a), Expr::Sum(j, b)) | (Expr::Lse(i, a), Expr::Lse(j, b)) => {
            bind(Ix::Var(*i), Ix::Var(*j), map) && unify(a, b, map)
        }
        (
            Expr::Softmax {
                at: a,
                over: i,
                body: x,
            },
            Expr::Softmax {
                at: b,
                over: j,
                body: y,
            },
        ) => bind(*a, *b, map) && bind(Ix::Var(*i), Ix::Var(*j), map) && unify(x, y, map),
        (Expr::Add(xs), Expr::Add(ys)) | (Expr::Mul(xs), Expr::Mul(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| unify(x, y, map))
        }
        (Expr::Call(f, xs), Expr::Call(g, ys)) => {
            f == g && xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| unify(x, y, map))
        }
        (Expr::Pow(a, b), Expr::Pow(c, d)) => unify(a, c, map) && unify(b, d, map),
        (a, b) => a == b,
    }
}

pub(super) fn reuse_forward(e: &Expr, cx: &Context<'_>) -> Option<Expr> {
    if matches!(
        e,
        Expr::Ref(_) | Expr::Num(_) | Expr::Delta(..) | Expr::BatchSize
    ) {
        return None;
    }
    for eq in cx.stored {
        let mut map = HashMap::new();
        if unify(&eq.rhs, e, &mut map) {
            let mut lhs = eq.lhs.clone();
            for x in &mut lhs.ix {
                *x = *map.get(&x.idx())?;
            }
            return Some(Expr::Ref(lhs));
        }
    }
    None
}
