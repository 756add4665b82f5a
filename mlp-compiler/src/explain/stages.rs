//! A step's simplification, stage by stage: the expression after each phase of the engine
//! (expand, recognize, tidy), the rules that did mathematics in it, and every rewrite it made,
//! in order, for `mlp explain --steps`.

use crate::ir::{Expr, Idx};
use crate::simplify::rules::{Kind, RULES, Rule};
use crate::simplify::{Context, Firing, Phase, RuleLog, run_phase, run_rules, tidy_names};

/// One phase of a step's simplification that changed the expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// The phase.
    pub phase: Phase,
    /// The expression after it, its bound indices named tidily.
    pub expr: Expr,
    /// Every rewrite the phase made, in order.
    pub firings: Vec<Firing>,
}

impl Stage {
    /// The phase as the trace labels it.
    pub fn label(&self) -> &'static str {
        match self.phase {
            Phase::Read => "read",
            Phase::Expand => "expand",
            Phase::Recognize => "recognize",
            Phase::Tidy => "tidy",
        }
    }

    /// The rules that did mathematics in this stage (their [`Kind`] is a step), in order of
    /// first firing, with how often each fired.
    pub fn steps(&self) -> Vec<(&'static str, usize)> {
        let log = RuleLog {
            fired: self.firings.iter().map(|f| f.rule).collect(),
            firings: None,
        };
        log.summary()
            .into_iter()
            .filter(|(name, _)| crate::simplify::rules::rule(name).is_some_and(is_step))
            .collect()
    }

    /// The rewrites a reader can see: those whose node prints differently after (flattening
    /// a product into a product prints the same).
    pub fn visible(&self) -> impl Iterator<Item = &Firing> {
        self.firings
            .iter()
            .filter(|f| f.before.to_string() != f.after.to_string())
    }
}

fn is_step(r: &Rule) -> bool {
    r.kind == Kind::Step
}

/// `e` (free indices `own`) with what differentiation leaves that bookkeeping alone removes
/// (`0·a`, `a + 0`, `1·a`, `x¹`, nested products) removed, nothing else rewritten: the
/// derivative as a person first writes it down.
pub fn cleaned(e: &Expr, own: &[Idx]) -> Expr {
    let rules: Vec<&Rule> = RULES
        .iter()
        .filter(|r| !is_step(r) && r.phases.contains(&Phase::Expand))
        .collect();
    let out = run_rules(e, &rules, Context::default(), &mut RuleLog::default());
    tidy_names(&out.unwrap_or_else(|_| e.clone()), own)
}

/// The stages of simplifying `e` (free indices `own`), phase by phase, each with its rewrites;
/// only the phases that changed it. Simplification stopped at a limit ends the stages there.
pub fn stages(e: &Expr, own: &[Idx], cx: Context<'_>) -> Vec<Stage> {
    let mut out = Vec::new();
    let mut at = e.clone();
    for phase in [Phase::Expand, Phase::Recognize, Phase::Tidy] {
        let mut log = RuleLog::recording();
        let Ok(next) = run_phase(&at, phase, cx, &mut log) else {
            break;
        };
        let next = tidy_names(&next, own);
        if next != at {
            out.push(Stage {
                phase,
                expr: next.clone(),
                firings: log.firings.unwrap_or_default(),
            });
        }
        at = next;
    }
    out
}
