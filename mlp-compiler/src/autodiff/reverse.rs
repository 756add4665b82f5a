//! Reverse-mode differentiation of the forward equations by general rules.
//!
//! For each tensor `v`, last to first, its adjoint is
//! `v̄[V] = Σ_consumers u  Σ_{u's indices U} ū[U] · ∂u[U]/∂v[V]`,
//! and every Jacobian `∂u[U]/∂v[V]` comes from [`jacobian`]: sum, product and chain rules,
//! `∂W[i,j]/∂W[k,l] = δᵢₖ·δⱼₗ`, and the scalar derivative table of [`crate::autodiff::scalar`].
//! Nothing here knows what a layer, an activation or a loss is.

use crate::autodiff::forward::{L, Program};
pub use crate::autodiff::jacobian::jacobian;
pub use crate::autodiff::stop::{Exceeded, TooLarge};
use crate::ir::{Equation, Expr, Idx, Ix, Ref, Var};
use crate::limits::{MAX_DERIVATION_SIZE, MAX_DERIVED_SIZE};
use crate::simplify::{self, Context, RuleLog};
use std::collections::BTreeSet;

fn mentions_var(e: &Expr, v: Var) -> bool {
    e.any(&|x| matches!(x, Expr::Ref(r) if r.var == v))
}

/// One consumer's share of an adjoint: `Σ_U ū[U]·∂u[U]/∂v[V]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    /// The consumer `u`.
    pub consumer: Var,
    /// `u[U]`, with indices chosen apart from `v`'s.
    pub at: Ref,
    /// `∂u[U]/∂v[V]` as the rules first give it.
    pub raw: Expr,
    /// The same, simplified (δs eliminated, forward values reused).
    pub simplified: Expr,
    /// The rules that simplified it.
    pub rules: RuleLog,
}

/// The adjoint equation of one tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Adjoint {
    /// `v̄[V] = …`, simplified.
    pub equation: Equation,
    /// Each consumer's contribution.
    pub contributions: Vec<Contribution>,
    /// The right side before simplification.
    pub raw: Expr,
    /// The rules that simplified it, in order.
    pub rules: RuleLog,
}

/// The forward equations, derived adjoints, and the forms used to evaluate them.
#[derive(Clone, Debug, PartialEq)]
pub struct Derived {
    /// The program differentiated.
    pub program: Program,
    /// The forward equations in stable form (`softplus`, `lse`, `softmax` recognized): what
    /// generated code and the reference interpreter evaluate.
    pub forward: Vec<Equation>,
    /// The adjoint equations, in order of computation (from the loss back to the inputs of
    /// the first layer), one per stored value and parameter.
    pub adjoints: Vec<Adjoint>,
}

impl Derived {
    /// The adjoint equation of `v`.
    pub fn adjoint(&self, v: Var) -> Option<&Adjoint> {
        self.adjoints.iter().find(|a| a.equation.lhs.var == v)
    }

    /// The forward values the backward pass may read instead of recomputing them: every
    /// equation in stable form but the loss's.
    pub fn stored(&self) -> Vec<Equation> {
        stored(&self.forward)
    }

    /// Whether `∂L/∂v` is identically zero: the loss does not depend on `v`.
    pub fn is_zero(&self, v: Var) -> bool {
        self.adjoint(v)
            .is_none_or(|a| a.equation.rhs == Expr::Num(0.0))
    }

    /// The adjoint equations the gradient needs, in order of computation: every parameter's,
    /// and each adjoint they read, directly or not. One that no parameter's gradient reads
    /// (`ā¹` when `z̄¹ = 0`) is left out, and so are its products.
    pub fn live_adjoints(&self) -> Vec<&Equation> {
        let mut needed: Vec<Var> = self.program.params().map(|p| p.var).collect();
        // Each adjoint reads only adjoints computed before it.
        for a in self.adjoints.iter().rev() {
            if needed.contains(&a.equation.lhs.var) {
                a.equation.rhs.visit(&mut |e| {
                    if let Expr::Ref(r) = e
                        && r.adjoint
                        && !needed.contains(&r.var)
                    {
                        needed.push(r.var);
                    }
                });
            }
        }
        self.adjoints
            .iter()
            .map(|a| &a.equation)
            .filter(|e| needed.contains(&e.lhs.var))
            .collect()
    }
}

/// Differentiates every parameter of `program` and simplifies the result. The forward
/// equations are first read in stable form (`1/(1 + exp(−u))` as `σ(u)`, see
/// [`simplify::read_stable`]), and differentiated in that form.
pub fn derive(program: &Program) -> Result<Derived, TooLarge> {
    let program = &read_stable(program)?;
    let forward = stable_forward(program)?;
    // Values the backward pass may reuse instead of recomputing: every stored value.
    let stored = stored(&forward);
    let cx = Context { stored: &stored };
    let mut total = 0;
    let mut adjoints = Vec::new();
    // Adjoints found identically zero: what reads them reads 0 (`W̄¹ = 0` once `z̄¹ = 0`).
    let mut zeros: Vec<Var> = Vec::new();
    let zero_if = |adj: &Adjoint, zeros: &mut Vec<Var>| {
        if adj.equation.rhs == Expr::Num(0.0) {
            zeros.push(adj.equation.lhs.var);
        }
    };
    for eq in program.forward.iter().rev().filter(|e| e.lhs.var != L) {
        let adj = counted(adjoint(program, eq.lhs.var, cx, &zeros)?, &mut total)?;
        zero_if(&adj, &mut zeros);
        adjoints.push(adj);
    }
    for p in program.params().collect::<Vec<_>>().into_iter().rev() {
        let at = adjoints.iter().position(|a: &Adjoint| {
            // A parameter's adjoint goes right after that of the value it feeds.
            program
                .forward
                .iter()
                .any(|e| e.lhs.var == a.equation.lhs.var && mentions_var(&e.rhs, p.var))
        });
        let adj = counted(adjoint(program, p.var, cx, &zeros)?, &mut total)?;
        zero_if(&adj, &mut zeros);
        match at {
            Some(k) => adjoints.insert(k + 1, adj),
            None => adjoints.push(adj),
        }
    }
    Ok(Derived {
        program: program.clone(),
        forward,
        adjoints,
    })
}

fn stored(forward: &[Equation]) -> Vec<Equation> {
    forward.iter().filter(|e| e.lhs.var != L).cloned().collect()
}

/// `adj`, after adding its operations (every Jacobian and the adjoint, as first given and
/// simplified) to the network's `total`, which may not pass [`MAX_DERIVATION_SIZE`].
fn counted(adj: Adjoint, total: &mut usize) -> Result<Adjoint, TooLarge> {
    *total += adj.raw.size() + adj.equation.rhs.size();
    for c in &adj.contributions {
        *total += c.raw.size() + c.simplified.size();
    }
    if *total <= MAX_DERIVATION_SIZE {
        return Ok(adj);
    }
    Err(TooLarge {
        var: adj.equation.lhs.var,
        adjoint: true,
        equation: largest(&adj.contributions).unwrap_or(adj.equation.lhs.var),
        exceeded: Exceeded::Total(*total),
    })
}

/// The consumer whose Jacobian is the largest, which an adjoint too large is blamed on.
fn largest(contributions: &[Contribution]) -> Option<Var> {
    contributions
        .iter()
        .max_by_key(|c| c.raw.size())
        .map(|c| c.consumer)
}

/// `program` with the stable functions its equations write out read as such.
fn read_stable(program: &Program) -> Result<Program, TooLarge> {
    let forward = program
        .forward
        .iter()
        .map(|eq| {
            let rhs =
                simplify::read_stable(&eq.rhs, &mut RuleLog::default()).map_err(|r| TooLarge {
                    var: eq.lhs.var,
                    adjoint: false,
                    equation: eq.lhs.var,
                    exceeded: Exceeded::Runaway(r),
                })?;
            Ok(Equation {
                lhs: eq.lhs.clone(),
                rhs,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Program {
        forward,
        ..program.clone()
    })
}

/// The forward equations with the stable forms recognized, for evaluation.
pub fn stable_forward(program: &Program) -> Result<Vec<Equation>, TooLarge> {
    program
        .forward
        .iter()
        .map(|eq| {
            let mut log = RuleLog::default();
            let rhs = simplify::simplify(&eq.rhs, Context::default(), &mut log).map_err(|r| {
                TooLarge {
                    var: eq.lhs.var,
                    adjoint: false,
                    equation: eq.lhs.var,
                    exceeded: Exceeded::Runaway(r),
                }
            })?;
            let free: Vec<Idx> = eq.lhs.ix.iter().map(|x| x.idx()).collect();
            Ok(Equation {
                lhs: eq.lhs.clone(),
                rhs: simplify::tidy_names(&rhs, &free),
            })
        })
        .collect()
}

fn adjoint(program: &Program, v: Var, cx: Context<'_>, zeros: &[Var]) -> Result<Adjoint, TooLarge> {
    let stop = |equation: Var, exceeded: Exceeded| TooLarge {
        var: v,
        adjoint: true,
        equation,
        exceeded,
    };
    let tensor = program
        .tensor(v)
        .expect("every differentiated tensor is declared");
    let own: Vec<Idx> = tensor.index.clone();
    let mut contributions = Vec::new();
    for eq in program.forward.iter().filter(|e| mentions_var(&e.rhs, v)) {
        contributions.push(contribution(eq, v, &own, cx).map_err(|e| stop(eq.lhs.var, e))?);
    }
    let terms: Vec<Expr> = contributions
        .iter()
        .map(|c| {
            let seed = if c.consumer == L {
                Expr::Num(1.0)
            } else if zeros.contains(&c.consumer) {
                Expr::Num(0.0)
            } else {
                Expr::Ref(Ref {
                    adjoint: true,
                    ..c.at.clone()
                })
            };
            c.at.ix
                .iter()
                .rev()
                .fold(Expr::times(seed, c.raw.clone()), |body, x| {
                    Expr::sum(x.idx(), body)
                })
        })
        .collect();
    let raw = Expr::Add(terms);
    // Blamed on the consumer whose Jacobian is the largest part of the sum.
    let largest = largest(&contributions).unwrap_or(v);
    let raw_size = raw.size();
    if raw_size > MAX_DERIVED_SIZE {
        return Err(stop(largest, Exceeded::Size(raw_size)));
    }
    let mut rules = RuleLog::default();
    let rhs = simplify::simplify(&raw, cx, &mut rules)
        .map_err(|r| stop(largest, Exceeded::Runaway(r)))?;
    let lhs = Ref {
        var: v,
        adjoint: true,
        ix: own.iter().map(|i| Ix::Var(*i)).collect(),
    };
    let rhs = simplify::tidy_names(&rhs, &own);
    Ok(Adjoint {
        equation: Equation { lhs, rhs },
        contributions,
        raw,
        rules,
    })
}

/// What `eq`, which reads `v` (indexed by `own`), contributes to `v`'s adjoint: its Jacobian,
/// as given and simplified.
fn contribution(
    eq: &Equation,
    v: Var,
    own: &[Idx],
    cx: Context<'_>,
) -> Result<Contribution, Exceeded> {
    // Give the consumer's indices names apart from v's, so they can be summed over.
    let mut taken: BTreeSet<Idx> = own.iter().copied().collect();
    let mut at = eq.lhs.clone();
    let mut rhs = eq.rhs.clone();
    for x in &mut at.ix {
        let old = x.idx();
        let new = crate::ir::fresh(old, &taken);
        taken.insert(new);
        rhs = rhs.replace_index(old, Ix::Var(new));
        *x = Ix::Var(new);
    }
    let rhs = rhs.rename_bound(&mut taken);
    let raw = jacobian(&rhs, v, own);
    let raw_size = raw.size();
    if raw_size > MAX_DERIVED_SIZE {
        return Err(Exceeded::Size(raw_size));
    }
    let mut rules = RuleLog::default();
    let simplified = simplify::simplify(&raw, cx, &mut rules).map_err(Exceeded::Runaway)?;
    Ok(Contribution {
        consumer: eq.lhs.var,
        at,
        raw,
        simplified,
        rules,
    })
}
