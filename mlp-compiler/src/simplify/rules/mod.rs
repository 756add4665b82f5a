//! The simplification rules: data, each named, with the identity it implements, the phases it
//! runs in, and a function that rewrites one node (its children already simplified) or
//! declines. Rules are directional and never make an expression larger without a reason
//! stated in their identity.

use crate::ir::{Expr, Idx, Ix, Prim, fresh};
use crate::simplify::{Context, Phase};
use std::collections::{BTreeSet, HashMap};

/// One rewrite rule.
pub struct Rule {
    /// Its name, as the derivation trace shows it.
    pub name: &'static str,
    /// The identity it implements.
    pub identity: &'static str,
    /// The phases it runs in.
    pub phases: &'static [Phase],
    /// Rewrites a node, or returns `None`.
    pub apply: fn(&Expr, &Context<'_>) -> Option<Expr>,
}

const ALL: &[Phase] = &[Phase::Expand, Phase::Recognize, Phase::Tidy];
const EXPAND: &[Phase] = &[Phase::Expand];
const RECOGNIZE: &[Phase] = &[Phase::Recognize];
const TIDY: &[Phase] = &[Phase::Tidy];

/// Every rule, in the order they are tried at a node.
pub static RULES: &[Rule] = &[
    Rule {
        name: "flatten",
        identity: "a + (b + c) = a + b + c;  a·(b·c) = a·b·c",
        phases: ALL,
        apply: flatten,
    },
    Rule {
        name: "unit",
        identity: "Σ() = 0, Π() = 1, a single term or factor is itself",
        phases: ALL,
        apply: unit,
    },
    Rule {
        name: "zero-factor",
        identity: "0·a = 0",
        phases: ALL,
        apply: zero_factor,
    },
    Rule {
        name: "drop-zero",
        identity: "a + 0 = a;  Σᵢ 0 = 0",
        phases: ALL,
        apply: drop_zero,
    },
    Rule {
        name: "drop-one",
        identity: "1·a = a",
        phases: ALL,
        apply: drop_one,
    },
    Rule {
        name: "fold-constants",
        identity: "2·3 = 6, 2 + 3 = 5, f(c) evaluated for a constant c",
        phases: ALL,
        apply: fold_constants,
    },
    Rule {
        name: "power",
        identity: "a¹ = a, a⁰ = 1, (aᵖ)ᑫ = aᵖᑫ for integer q",
        phases: ALL,
        apply: power,
    },
    Rule {
        name: "delta-same",
        identity: "δᵢᵢ = 1",
        phases: ALL,
        apply: delta_same,
    },
    Rule {
        name: "sum-linear",
        identity: "Σᵢ (a + b) = Σᵢ a + Σᵢ b",
        phases: EXPAND,
        apply: sum_linear,
    },
    Rule {
        name: "sum-outward",
        identity: "a·Σᵢ b = Σᵢ a·b (i not free in a; renamed if it is)",
        phases: EXPAND,
        apply: sum_outward,
    },
    Rule {
        name: "distribute-delta",
        identity: "a·(b + c) = a·b + a·c, where b or c holds a δ",
        phases: EXPAND,
        apply: distribute_delta,
    },
    Rule {
        name: "delta-eliminate",
        identity: "Σᵢ δᵢₖ·e = e[i:=k]",
        phases: EXPAND,
        apply: delta_eliminate,
    },
    Rule {
        name: "softplus",
        identity: "log(1 + exp(u)) = softplus(u), evaluated without overflow",
        phases: ALL,
        apply: softplus,
    },
    Rule {
        name: "logistic",
        identity: "1/(1 + exp(−u)) = σ(u);  exp(u)/(1 + exp(u)) = σ(u)",
        phases: ALL,
        apply: logistic,
    },
    Rule {
        name: "log-sum-exp",
        identity: "log Σᵢ exp(eᵢ) = lseᵢ(e) = m + log Σᵢ exp(eᵢ − m), m = maxᵢ eᵢ",
        phases: RECOGNIZE,
        apply: log_sum_exp,
    },
    Rule {
        name: "softmax",
        identity: "exp(eₖ)/Σᵢ exp(eᵢ) = softmax(e)ₖ",
        phases: RECOGNIZE,
        apply: softmax,
    },
    Rule {
        name: "reuse-forward",
        identity: "f(zₙᵢ) = aₙᵢ where the forward pass stored aₙᵢ = f(zₙᵢ)",
        phases: RECOGNIZE,
        apply: reuse_forward,
    },
    Rule {
        name: "sum-factor-out",
        identity: "Σᵢ a·b = a·Σᵢ b (i not free in a)",
        phases: TIDY,
        apply: sum_factor_out,
    },
    Rule {
        name: "collect-powers",
        identity: "a·a = a², aᵖ·aᑫ = aᵖ⁺ᑫ",
        phases: TIDY,
        apply: collect_powers,
    },
    Rule {
        name: "collect-terms",
        identity: "c·a + d·a = (c + d)·a",
        phases: TIDY,
        apply: collect_terms,
    },
    Rule {
        name: "factor",
        identity: "a·b + a·c = a·(b + c)",
        phases: TIDY,
        apply: factor,
    },
    Rule {
        name: "order-factors",
        identity: "a·b = b·a, used only to put constants, adjoints, δs, values and functions in a fixed order",
        phases: TIDY,
        apply: order_factors,
    },
];

/// The rule named `name`.
pub fn rule(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

fn factors(e: &Expr) -> Vec<Expr> {
    match e {
        Expr::Mul(fs) => fs.clone(),
        other => vec![other.clone()],
    }
}

fn product(mut fs: Vec<Expr>) -> Expr {
    match fs.len() {
        0 => Expr::Num(1.0),
        1 => fs.pop().expect("one"),
        _ => Expr::Mul(fs),
    }
}

fn sum_of(mut ts: Vec<Expr>) -> Expr {
    match ts.len() {
        0 => Expr::Num(0.0),
        1 => ts.pop().expect("one"),
        _ => Expr::Add(ts),
    }
}

fn flatten(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn unit(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Add(ts) if ts.len() < 2 => Some(sum_of(ts.clone())),
        Expr::Mul(fs) if fs.len() < 2 => Some(product(fs.clone())),
        _ => None,
    }
}

fn zero_factor(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Mul(fs) if fs.iter().any(|f| f.is_num(0.0)) => Some(Expr::Num(0.0)),
        _ => None,
    }
}

fn drop_zero(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Add(ts) if ts.iter().any(|t| t.is_num(0.0)) => Some(sum_of(
            ts.iter().filter(|t| !t.is_num(0.0)).cloned().collect(),
        )),
        Expr::Sum(_, b) if b.is_num(0.0) => Some(Expr::Num(0.0)),
        _ => None,
    }
}

fn drop_one(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Mul(fs) if fs.iter().any(|f| f.is_num(1.0)) => Some(product(
            fs.iter().filter(|f| !f.is_num(1.0)).cloned().collect(),
        )),
        _ => None,
    }
}

fn num(e: &Expr) -> Option<f64> {
    if let Expr::Num(v) = e { Some(*v) } else { None }
}

fn fold_constants(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn power(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn delta_same(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    match e {
        Expr::Delta(a, b) if a == b => Some(Expr::Num(1.0)),
        _ => None,
    }
}

fn sum_linear(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn sum_outward(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn has_delta(e: &Expr) -> bool {
    e.any(&|x| matches!(x, Expr::Delta(..)))
}

fn distribute_delta(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn delta_eliminate(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn softplus(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn logistic(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn log_sum_exp(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn softmax(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn reuse_forward(e: &Expr, cx: &Context<'_>) -> Option<Expr> {
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

fn sum_factor_out(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn collect_powers(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn collect_terms(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn factor(e: &Expr, _: &Context<'_>) -> Option<Expr> {
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

fn order_factors(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    let Expr::Mul(fs) = e else { return None };
    let mut sorted = fs.clone();
    sorted.sort_by_key(rank);
    (sorted != *fs).then_some(Expr::Mul(sorted))
}
