//! The derivation trace: every adjoint derived once, from the loss down (each Jacobian in
//! index form with its shape and kind, the contraction it enters, the rules that simplified
//! it, the result in index and matrix form, and the kernel it lowers to), and for each
//! parameter the chain from the loss to it. `explain::render`
//! writes it as plain text or LaTeX, to read like the hand derivations it automates.

use crate::autodiff::forward::{L, Program};
use crate::autodiff::reverse::{Adjoint, Contribution, Derived};
use crate::explain::stages::{self, Stage};
use crate::ir::{Dim, Equation, Expr, Function, Idx, Ix, Ref, Var, called};
use crate::lower::{Lowered, Lowering};
use crate::simplify::{self, Context, RuleLog, tidy_names};
use std::sync::Arc;

/// One Jacobian `∂u/∂v` of the chain, per sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Jacobian {
    /// `u`.
    pub of: Ref,
    /// `v`.
    pub by: Ref,
    /// Its entries in index form, simplified (`δᵢⱼ·a¹ₖ`).
    pub entries: Expr,
    /// The sizes of its axes: `u`'s then `v`'s, the batch axis left out.
    pub shape: Vec<usize>,
    /// What it is: "row vector", "diagonal matrix", "rank-3 tensor", …
    pub kind: String,
}

/// One adjoint `v̄`, derived through the tensor `u` that consumes `v`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// `v`.
    pub var: Var,
    /// `u`.
    pub consumer: Var,
    /// The Jacobian of the consumer by this tensor.
    pub jacobian: Jacobian,
    /// `v̄[V] = Σ_U ū[U]·(∂u[U]/∂v[V])` before simplification.
    pub contraction: Equation,
    /// Rules applied to reach the result, with how often each fired.
    pub rules: Vec<(&'static str, usize)>,
    /// The contraction simplified phase by phase, each phase with its rewrites: from the
    /// chain rule's sum (for the loss, the derivative as first written) to the result.
    pub stages: Vec<Stage>,
    /// The simplified result.
    pub result: Equation,
    /// Its kernel and matrix form.
    pub lowered: Lowered,
}

/// The derivation of one parameter's gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamTrace {
    /// The parameter.
    pub param: Var,
    /// From the loss to the parameter: `L, z³, a², z², W²`. Each tensor after `L` has its
    /// step in [`Derivation::steps`], unless the chain does not start at `L` (the loss does
    /// not depend on the parameter).
    pub chain: Vec<Var>,
}

/// Everything derived for a network, readable.
#[derive(Clone, Debug, PartialEq)]
pub struct Derivation {
    /// The network's canonical text.
    pub spec: String,
    /// The forward equations as written from the definitions.
    pub forward: Vec<Equation>,
    /// The forward equations in the stable form that is evaluated.
    pub stable: Vec<Equation>,
    /// The user's functions the equations call (activations kept as calls), each after those
    /// it calls, with their derivatives.
    pub functions: Vec<Arc<Function>>,
    /// Every adjoint derived, once: from the loss down, then the parameters'.
    pub steps: Vec<Step>,
    /// Each parameter, in state_dict order.
    pub params: Vec<ParamTrace>,
    /// The constants the user wrote (magnitudes), printed as written; other short decimals
    /// print as fractions where they are (`1/2`), see [`crate::ir::notation::with_written`].
    pub written: Vec<f64>,
}

/// Builds the trace of `derived`, its results in the matrix forms of `lowering`; `written` are
/// the user's constants (see [`Derivation::written`]).
pub fn trace(spec: &str, derived: &Derived, lowering: &Lowering, written: Vec<f64>) -> Derivation {
    let program = &derived.program;
    let stored = derived.stored();
    let cx = Context { stored: &stored };
    let params: Vec<ParamTrace> = program
        .params()
        .map(|p| ParamTrace {
            param: p.var,
            chain: chain(program, p.var),
        })
        .collect();
    // The first parameter's chain is the longest, so adjoints come from the loss down.
    let mut steps: Vec<Step> = Vec::new();
    for p in params.iter().filter(|p| p.chain[0] == L) {
        for (v, u) in p.chain[1..].iter().zip(&p.chain) {
            if !steps.iter().any(|s| s.var == *v) {
                let adjoint = derived.adjoint(*v).expect("derived");
                steps.push(step(program, adjoint, lowering, *u, cx));
            }
        }
    }
    Derivation {
        spec: spec.to_owned(),
        forward: program.forward.clone(),
        stable: derived.forward.clone(),
        functions: called(
            (derived.forward.iter())
                .chain(derived.adjoints.iter().map(|a| &a.equation))
                .map(|e| &e.rhs),
        ),
        steps,
        params,
        written,
    }
}

/// The consumers from the loss down to `v`: in a chain network each tensor has at most one.
/// When the chain breaks before the loss (an activation that ignores its input), it starts at
/// the last tensor reached, and the gradient along it is zero.
fn chain(program: &Program, v: Var) -> Vec<Var> {
    let mut out = vec![v];
    let mut at = v;
    while at != L {
        let Some(consumer) = program
            .forward
            .iter()
            .find(|e| e.rhs.any(&|x| matches!(x, Expr::Ref(r) if r.var == at)))
        else {
            break;
        };
        at = consumer.lhs.var;
        out.push(at);
    }
    out.reverse();
    out
}

fn step(
    program: &Program,
    adjoint: &Adjoint,
    lowering: &Lowering,
    consumer: Var,
    cx: Context<'_>,
) -> Step {
    let c = adjoint
        .contributions
        .iter()
        .find(|c| c.consumer == consumer)
        .expect("the chain's consumer contributes");
    let v = &adjoint.equation.lhs;
    let own: Vec<Idx> = v.ix.iter().map(|x| x.idx()).collect();
    let body = if consumer == L {
        // The loss's derivative as first written: its simplification is the step to see.
        stages::cleaned(&c.raw, &own)
    } else {
        let mut factors = vec![Expr::Ref(Ref {
            adjoint: true,
            ..c.at.clone()
        })];
        match &c.simplified {
            Expr::Mul(fs) => factors.extend(fs.iter().cloned()),
            other => factors.push(other.clone()),
        }
        Expr::Mul(factors)
    };
    let summed =
        c.at.ix
            .iter()
            .rev()
            .fold(body, |b, x| Expr::sum(x.idx(), b));
    let contraction = Equation {
        lhs: v.clone(),
        rhs: tidy_names(&summed, &own),
    };
    // The Jacobian writes the consumer's indices as the contraction sums over them, so that
    // each letter names one axis throughout the step.
    let names = binders(&contraction.rhs, c.at.ix.len());
    let mut jacobian = jacobian(program, c, v, &names);
    if consumer == L {
        jacobian.entries = contraction.rhs.clone();
    }
    Step {
        var: v.var,
        consumer,
        jacobian,
        stages: stages::stages(&contraction.rhs, &own, cx),
        contraction,
        rules: adjoint.rules.summary(),
        result: adjoint.equation.clone(),
        lowered: lowering.of(&adjoint.equation).clone(),
    }
}

/// The indices of the first `k` sums `e` opens with, outermost first.
fn binders(e: &Expr, k: usize) -> Vec<Idx> {
    match e {
        Expr::Sum(i, body) if k > 0 => std::iter::once(*i).chain(binders(body, k - 1)).collect(),
        _ => Vec::new(),
    }
}

/// The per-sample Jacobian of a contribution: `v` with its own indices, the consumer's
/// written `names` (as the contraction writes them), its batch index `v`'s (one sample).
fn jacobian(program: &Program, c: &Contribution, v: &Ref, names: &[Idx]) -> Jacobian {
    let by = Ref {
        adjoint: false,
        ..v.clone()
    };
    let own: Vec<Idx> = by.ix.iter().map(|x| x.idx()).collect();
    let sample = own.iter().copied().find(|i| *i == Idx::BATCH);
    let to: Vec<(Idx, Idx)> =
        c.at.ix
            .iter()
            .zip(names)
            .map(|(x, name)| {
                let one_sample = x.idx().letter == Idx::BATCH.letter;
                (x.idx(), sample.filter(|_| one_sample).unwrap_or(*name))
            })
            .collect();
    let rename = |i: Idx| {
        to.iter()
            .find(|(from, _)| *from == i)
            .map(|(_, n)| Ix::Var(*n))
    };
    // Bound indices renamed apart first, so that none captures a new name.
    let mut taken: std::collections::BTreeSet<Idx> = own.iter().copied().collect();
    taken.extend(to.iter().flat_map(|(a, b)| [*a, *b]));
    let entries = c.simplified.rename_bound(&mut taken).substitute(&rename);
    let of = c.at.substitute(&rename);
    let mut log = RuleLog::default();
    let entries = simplify::simplify(&entries, Context::default(), &mut log).unwrap_or(entries);
    let free: Vec<Idx> = of.ix.iter().chain(&by.ix).map(|x| x.idx()).collect();
    let entries = tidy_names(&entries, &free);
    let (u_dims, v_dims) = (fixed_dims(program, &of), fixed_dims(program, &by));
    let kind = kind(&u_dims, &v_dims, &entries);
    let shape = u_dims.into_iter().chain(v_dims).collect();
    Jacobian {
        of,
        by,
        entries,
        shape,
        kind,
    }
}

/// The fixed sizes of `r`'s axes (the batch left out).
fn fixed_dims(program: &Program, r: &Ref) -> Vec<usize> {
    program
        .tensor(r.var)
        .map(|t| {
            t.shape
                .iter()
                .filter_map(|d| {
                    if let Dim::Fixed(n) = d {
                        Some(*n)
                    } else {
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn kind(u: &[usize], v: &[usize], entries: &Expr) -> String {
    let mut deltas = 0;
    entries.visit(&mut |e| deltas += usize::from(matches!(e, Expr::Delta(..))));
    // Diagonal: one δ, as a factor of the whole entry.
    let diagonal = deltas == 1
        && matches!(entries, Expr::Mul(fs) if fs.iter().any(|f| matches!(f, Expr::Delta(..))));
    match (u.len(), v.len()) {
        _ if *entries == Expr::Num(0.0) => "zero: the consumer does not depend on it".to_owned(),
        (0, 1) => "row vector (a gradient)".to_owned(),
        (0, _) => "matrix (a gradient)".to_owned(),
        (1, 1) if matches!(entries, Expr::Delta(..)) => "identity matrix".to_owned(),
        (1, 1) if diagonal => "diagonal matrix: the map is elementwise".to_owned(),
        (1, 1) => "matrix".to_owned(),
        (a, b) => format!("rank-{} tensor", a + b),
    }
}
