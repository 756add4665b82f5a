//! What the compiler derived, readable: the derivation trace ([`trace`], each step's
//! simplification in [`stages`]) and the data-flow graph ([`graph`]).

mod breaks;
pub mod graph;
mod page;
mod render;
pub mod stages;
pub mod trace;
