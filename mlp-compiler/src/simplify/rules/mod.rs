//! The simplification rules: data, each named, with the identity it implements, the phases it
//! runs in, and a function that rewrites one node (its children already simplified) or
//! declines. Rules are directional and never make an expression larger without a reason
//! stated in their identity.

mod algebra;
mod delta;
mod reuse;
mod stable;

use crate::ir::Expr;
use crate::simplify::{Context, Phase};

/// One rewrite rule.
pub struct Rule {
    /// Its name, as the derivation trace shows it.
    pub name: &'static str,
    /// The identity it implements.
    pub identity: &'static str,
    /// Whether the derivation trace shows it as a step or as bookkeeping.
    pub kind: Kind,
    /// The phases it runs in.
    pub phases: &'static [Phase],
    /// Rewrites a node, or returns `None`.
    pub apply: fn(&Expr, &Context<'_>) -> Option<Expr>,
}

/// What a rule's firing means to a reader of the derivation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// It only keeps the expression in shape (flattening, units, constants, order); the trace
    /// lists it after the steps, as algebra.
    Bookkeeping,
    /// It carries the mathematics (linearity, δ-elimination, a stable form, a reuse): a step
    /// worth showing.
    Step,
}

const ALL: &[Phase] = &[Phase::Expand, Phase::Recognize, Phase::Tidy];
const EVERY: &[Phase] = &[Phase::Read, Phase::Expand, Phase::Recognize, Phase::Tidy];
const READ: &[Phase] = &[Phase::Read];
const EXPAND: &[Phase] = &[Phase::Expand];
const RECOGNIZE: &[Phase] = &[Phase::Recognize];
const TIDY: &[Phase] = &[Phase::Tidy];

/// Every rule, in the order they are tried at a node.
pub static RULES: &[Rule] = &[
    Rule {
        name: "flatten",
        identity: "a + (b + c) = a + b + c;  a·(b·c) = a·b·c",
        kind: Kind::Bookkeeping,
        phases: EVERY,
        apply: algebra::flatten,
    },
    Rule {
        name: "unit",
        identity: "Σ() = 0, Π() = 1, a single term or factor is itself",
        kind: Kind::Bookkeeping,
        phases: EVERY,
        apply: algebra::unit,
    },
    Rule {
        name: "zero-factor",
        identity: "0·a = 0",
        kind: Kind::Bookkeeping,
        phases: ALL,
        apply: algebra::zero_factor,
    },
    Rule {
        name: "drop-zero",
        identity: "a + 0 = a;  Σᵢ 0 = 0",
        kind: Kind::Bookkeeping,
        phases: ALL,
        apply: algebra::drop_zero,
    },
    Rule {
        name: "drop-one",
        identity: "1·a = a",
        kind: Kind::Bookkeeping,
        phases: EVERY,
        apply: algebra::drop_one,
    },
    Rule {
        name: "fold-constants",
        identity: "2·3 = 6, 2 + 3 = 5, f(c) evaluated for a constant c",
        kind: Kind::Bookkeeping,
        phases: ALL,
        apply: algebra::fold_constants,
    },
    Rule {
        name: "power",
        identity: "a¹ = a, a⁰ = 1, (aᵖ)ᑫ = aᵖᑫ for integer q",
        kind: Kind::Bookkeeping,
        phases: ALL,
        apply: algebra::power,
    },
    Rule {
        name: "delta-same",
        identity: "δᵢᵢ = 1",
        kind: Kind::Step,
        phases: ALL,
        apply: delta::delta_same,
    },
    Rule {
        name: "sum-linear",
        identity: "Σᵢ (a + b) = Σᵢ a + Σᵢ b",
        kind: Kind::Step,
        phases: EXPAND,
        apply: algebra::sum_linear,
    },
    Rule {
        name: "sum-outward",
        identity: "a·Σᵢ b = Σᵢ a·b (i not free in a; renamed if it is)",
        kind: Kind::Step,
        phases: EXPAND,
        apply: algebra::sum_outward,
    },
    Rule {
        name: "distribute-delta",
        identity: "a·(b + c) = a·b + a·c, where b or c holds a δ",
        kind: Kind::Step,
        phases: EXPAND,
        apply: delta::distribute_delta,
    },
    Rule {
        name: "delta-eliminate",
        identity: "Σᵢ δᵢₖ·e = e[i:=k]",
        kind: Kind::Step,
        phases: EXPAND,
        apply: delta::delta_eliminate,
    },
    Rule {
        name: "softplus",
        identity: "log(1 + exp(u)) = softplus(u), evaluated without overflow",
        kind: Kind::Step,
        phases: EVERY,
        apply: stable::softplus,
    },
    Rule {
        name: "logistic",
        identity: "1/(1 + exp(u)) = σ(−u);  exp(u)·σ(−u) = exp(u)/(1 + exp(u)) = σ(u)",
        kind: Kind::Step,
        phases: EVERY,
        apply: stable::logistic,
    },
    Rule {
        name: "tanh",
        identity: "(exp(u) − exp(−u))/(exp(u) + exp(−u)) = tanh(u)",
        kind: Kind::Step,
        phases: READ,
        apply: stable::tanh,
    },
    Rule {
        name: "log-add-exp",
        identity: "log(exp(a) + exp(b)) = logaddexp(a, b), evaluated as max(a, b) + log(1 + exp(−|a − b|))",
        kind: Kind::Step,
        phases: READ,
        apply: stable::log_add_exp,
    },
    Rule {
        name: "log-sum-exp",
        identity: "log Σᵢ exp(eᵢ) = lseᵢ(e) = m + log Σᵢ exp(eᵢ − m), m = maxᵢ eᵢ",
        kind: Kind::Step,
        phases: RECOGNIZE,
        apply: stable::log_sum_exp,
    },
    Rule {
        name: "softmax",
        identity: "exp(eₖ)/Σᵢ exp(eᵢ) = softmax(e)ₖ",
        kind: Kind::Step,
        phases: RECOGNIZE,
        apply: stable::softmax,
    },
    Rule {
        name: "reuse-forward",
        identity: "f(zₙᵢ) = aₙᵢ where the forward pass stored aₙᵢ = f(zₙᵢ)",
        kind: Kind::Step,
        phases: RECOGNIZE,
        apply: reuse::reuse_forward,
    },
    Rule {
        name: "sum-factor-out",
        identity: "Σᵢ a·b = a·Σᵢ b (i not free in a)",
        kind: Kind::Step,
        phases: TIDY,
        apply: algebra::sum_factor_out,
    },
    Rule {
        name: "collect-powers",
        identity: "a·a = a², aᵖ·aᑫ = aᵖ⁺ᑫ",
        kind: Kind::Step,
        phases: TIDY,
        apply: algebra::collect_powers,
    },
    Rule {
        name: "collect-terms",
        identity: "c·a + d·a = (c + d)·a",
        kind: Kind::Step,
        phases: TIDY,
        apply: algebra::collect_terms,
    },
    Rule {
        name: "factor",
        identity: "a·b + a·c = a·(b + c)",
        kind: Kind::Step,
        phases: TIDY,
        apply: algebra::factor,
    },
    Rule {
        name: "order-factors",
        identity: "a·b = b·a, used only to put constants, adjoints, δs, values and functions in a fixed order",
        kind: Kind::Bookkeeping,
        phases: TIDY,
        apply: algebra::order_factors,
    },
];

/// The rule named `name`.
pub fn rule(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

pub(super) fn factors(e: &Expr) -> Vec<Expr> {
    match e {
        Expr::Mul(fs) => fs.clone(),
        other => vec![other.clone()],
    }
}

pub(super) fn product(mut fs: Vec<Expr>) -> Expr {
    match fs.len() {
        0 => Expr::Num(1.0),
        1 => fs.pop().expect("one"),
        _ => Expr::Mul(fs),
    }
}

pub(super) fn sum_of(mut ts: Vec<Expr>) -> Expr {
    match ts.len() {
        0 => Expr::Num(0.0),
        1 => ts.pop().expect("one"),
        _ => Expr::Add(ts),
    }
}

pub(super) fn num(e: &Expr) -> Option<f64> {
    if let Expr::Num(v) = e { Some(*v) } else { None }
}
