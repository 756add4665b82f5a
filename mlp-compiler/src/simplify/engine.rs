//! The rewriting engine: applies the named rules of [`crate::simplify::rules`] bottom-up, phase by
//! phase, to a fixed point, with an explicit limit on the number of rewrites.
//!
//! Phases run in order, each to its own fixed point, so that rules that undo each other
//! (pulling a factor into a sum to eliminate a δ; pulling it back out to factor) never meet:
//! 0. [`Phase::Read`], which [`simplify`] does not run: a formula as written read in its
//!    stable form (`1/(1 + exp(−u))` as `σ(u)`, …) before it is differentiated, see
//!    [`read_stable`];
//! 1. [`Phase::Expand`]: linearity and δ-elimination (the rank-3 Jacobian collapses here);
//! 2. [`Phase::Recognize`]: numerically stable forms (`softplus`, `σ`, `lse`, `softmax`) and
//!    reuse of values the forward pass stored;
//! 3. [`Phase::Tidy`]: factors out of sums, like terms and powers collected, common factors
//!    pulled out: the form a person reads and the kernels compute.

use crate::ir::{Equation, Expr, Idx, Scope};
use crate::limits::{REWRITE_LIMIT, VISIT_LIMIT};
use crate::simplify::rules::{RULES, Rule};
use std::collections::BTreeSet;

/// A stage of simplification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// A written formula read as the stable functions it spells out (`σ`, `softplus`, `tanh`,
    /// a two-term log-sum-exp), so that it is differentiated in that form: their derivatives
    /// are finite wherever the true values are, the written-out ones are not
    /// (`exp(−u)·(1 + exp(−u))⁻²` is `∞·0` once `u < −88`).
    Read,
    /// Linearity and δ-elimination.
    Expand,
    /// Stable forms and reuse of forward values.
    Recognize,
    /// Factoring and collecting.
    Tidy,
}

/// What the rules may consult: the forward equations whose values are stored.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    /// Equations whose left side may replace an occurrence of their right side.
    pub stored: &'a [Equation],
}

/// A simplification stopped by [`REWRITE_LIMIT`] or [`VISIT_LIMIT`]: a rule set that does not
/// terminate, or an expression too large to simplify.
#[derive(Debug, Clone, PartialEq)]
pub struct Runaway {
    /// The expression being simplified, cut after its first 200 characters.
    pub expr: String,
    /// The limit reached, as a phrase: "20000 rewrites" or "300000 steps".
    pub limit: String,
}

/// What a phase may still do.
struct Budget {
    rewrites: usize,
    visits: usize,
}

/// Every rule application, in order: the record the derivation trace shows.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RuleLog {
    /// Rule names in the order they fired.
    pub fired: Vec<&'static str>,
    /// Each firing's node before and after, when [`RuleLog::recording`] asked for them (the
    /// tests that check every rule by its meaning read them).
    pub firings: Option<Vec<Firing>>,
}

/// One rule's rewrite of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// The rule's name.
    pub rule: &'static str,
    /// The node it matched.
    pub before: Expr,
    /// What it rewrote the node to.
    pub after: Expr,
}

impl RuleLog {
    /// A log that also keeps each firing's node before and after.
    pub fn recording() -> RuleLog {
        RuleLog {
            fired: Vec::new(),
            firings: Some(Vec::new()),
        }
    }

    /// Each rule that fired once, in order of first firing, with how often it fired.
    pub fn summary(&self) -> Vec<(&'static str, usize)> {
        let mut out: Vec<(&'static str, usize)> = Vec::new();
        for name in &self.fired {
            match out.iter_mut().find(|(n, _)| n == name) {
                Some((_, count)) => *count += 1,
                None => out.push((name, 1)),
            }
        }
        out
    }
}

/// Simplifies through all phases.
pub fn simplify(e: &Expr, cx: Context<'_>, log: &mut RuleLog) -> Result<Expr, Runaway> {
    let mut e = e.clone();
    for phase in [Phase::Expand, Phase::Recognize, Phase::Tidy] {
        e = run_phase(&e, phase, cx, log)?;
    }
    Ok(e)
}

/// `e` with the stable functions it writes out read as such ([`Phase::Read`]).
pub fn read_stable(e: &Expr, log: &mut RuleLog) -> Result<Expr, Runaway> {
    run_phase(e, Phase::Read, Context::default(), log)
}

/// Simplifies with the rules of one phase (and the algebra every phase shares).
pub fn run_phase(
    e: &Expr,
    phase: Phase,
    cx: Context<'_>,
    log: &mut RuleLog,
) -> Result<Expr, Runaway> {
    let rules: Vec<&Rule> = RULES.iter().filter(|r| r.phases.contains(&phase)).collect();
    run_rules(e, &rules, cx, log)
}

/// Simplifies with `rules`, in order, to a fixed point, within [`REWRITE_LIMIT`] rewrites and
/// [`VISIT_LIMIT`] visits.
pub fn run_rules(
    e: &Expr,
    rules: &[&Rule],
    cx: Context<'_>,
    log: &mut RuleLog,
) -> Result<Expr, Runaway> {
    let mut budget = Budget {
        rewrites: REWRITE_LIMIT,
        visits: VISIT_LIMIT,
    };
    rewrite(e, rules, cx, log, &mut budget).ok_or_else(|| {
        let text = e.to_string();
        let mut expr: String = text.chars().take(200).collect();
        if expr.len() < text.len() {
            expr.push('…');
        }
        let limit = if budget.rewrites == 0 {
            format!("{REWRITE_LIMIT} rewrites")
        } else {
            format!("{VISIT_LIMIT} steps")
        };
        Runaway { expr, limit }
    })
}

/// Rewrites bottom-up: children first, then the rules at this node until none applies.
fn rewrite(
    e: &Expr,
    rules: &[&Rule],
    cx: Context<'_>,
    log: &mut RuleLog,
    budget: &mut Budget,
) -> Option<Expr> {
    budget.visits = budget.visits.checked_sub(1)?;
    let mut node = map_children(e, &mut |c| rewrite(c, rules, cx, log, budget))?;
    'again: loop {
        for rule in rules {
            if let Some(next) = (rule.apply)(&node, &cx) {
                if next == node {
                    continue;
                }
                budget.rewrites = budget.rewrites.checked_sub(1)?;
                log.fired.push(rule.name);
                if let Some(firings) = &mut log.firings {
                    firings.push(Firing {
                        rule: rule.name,
                        before: node.clone(),
                        after: next.clone(),
                    });
                }
                node = map_children(&next, &mut |c| rewrite(c, rules, cx, log, budget))?;
                continue 'again;
            }
        }
        return Some(node);
    }
}

/// Rebuilds `e` with `f` applied to each direct child.
pub fn map_children(e: &Expr, f: &mut impl FnMut(&Expr) -> Option<Expr>) -> Option<Expr> {
    Some(match e {
        Expr::Sum(i, b) => Expr::Sum(*i, Box::new(f(b)?)),
        Expr::Lse(i, b) => Expr::Lse(*i, Box::new(f(b)?)),
        Expr::Softmax { at, over, body } => Expr::Softmax {
            at: *at,
            over: *over,
            body: Box::new(f(body)?),
        },
        Expr::Add(es) => Expr::Add(es.iter().map(&mut *f).collect::<Option<_>>()?),
        Expr::Mul(es) => Expr::Mul(es.iter().map(&mut *f).collect::<Option<_>>()?),
        Expr::Call(p, es) => Expr::Call(p.clone(), es.iter().map(&mut *f).collect::<Option<_>>()?),
        Expr::Pow(a, b) => Expr::Pow(Box::new(f(a)?), Box::new(f(b)?)),
        Expr::Num(_) | Expr::BatchSize | Expr::Ref(_) | Expr::Delta(..) => e.clone(),
    })
}

/// The letters bound indices are renamed to, in order of preference.
const LETTERS: [char; 9] = ['i', 'j', 'k', 'l', 'm', 'p', 's', 'r', 'u'];

/// Renames every bound index to the first unused plain letter, so that `Σᵢ′ z̄²ₙᵢ′·W²ᵢ′ᵢ`
/// reads `Σⱼ z̄²ₙⱼ·W²ⱼᵢ`; `free` are the expression's free indices, which keep their names.
/// A sample stays a sample: a bound batch index is `n`, or `n′` where `n` is free.
pub fn tidy_names(e: &Expr, free: &[Idx]) -> Expr {
    let mut in_use: BTreeSet<Idx> = free.iter().copied().collect();
    // The index's own letter first, primed for the batch index, then the usual letters.
    e.rebind(&mut in_use, Scope::Binder, &mut |old, body, in_use| {
        let mentioned = body.indices();
        let primes: &[u8] = if old.letter == Idx::BATCH.letter {
            &[0, 1, 2, 3]
        } else {
            &[0]
        };
        let own = primes.iter().map(|&primes| Idx {
            letter: old.letter,
            primes,
        });
        own.chain(LETTERS.iter().map(|c| Idx::new(*c)))
            .find(|c| *c == old || (!in_use.contains(c) && !mentioned.contains(c)))
            .unwrap_or(old)
    })
}
