//! What the compiler derived, readable: the derivation trace ([`trace`], each step's
//! simplification in [`stages`]) and the data-flow graph ([`graph`]).

mod breaks;
pub mod graph;
pub(crate) mod html;
mod page;
mod render;
mod rows;
pub mod stages;
pub mod svg;
pub mod trace;
