//! Simplification: the rewriting engine ([`engine`]) and the named rules it applies
//! ([`rules`]).

pub mod engine;
pub mod rules;

pub use engine::{
    Context, Firing, Phase, RuleLog, Runaway, map_children, read_stable, run_phase, run_rules,
    simplify, tidy_names,
};
