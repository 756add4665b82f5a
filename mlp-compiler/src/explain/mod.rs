//! What the compiler derived, readable: the derivation trace ([`trace`], each step's
//! simplification in [`stages`]) and its data flow drawn for the HTML page ([`svg`]). The
//! Graphviz graph, which labels each edge with the kernel the generated code runs, is
//! `emit::graph`.

mod breaks;
pub(crate) mod html;
mod page;
mod render;
mod rows;
pub mod stages;
pub mod svg;
pub mod trace;
