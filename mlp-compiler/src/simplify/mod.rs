//! Simplification: the rewriting engine ([`engine`]) and the named rules it applies
//! ([`rules`]).

pub mod engine;
pub mod rules;

pub use engine::{
    Context, Phase, REWRITE_LIMIT, RuleLog, Runaway, VISIT_LIMIT, map_children, run_phase,
    simplify, tidy_names,
};
