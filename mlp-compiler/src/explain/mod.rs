//! What the compiler derived, readable: the derivation trace ([`trace`]) and the data-flow
//! graph ([`graph`]).

pub mod graph;
mod page;
mod render;
pub mod trace;
