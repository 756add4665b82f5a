//! The front end: DSL text → syntax tree ([`ast`], every node with its span) → a validated
//! [`Network`](crate::model::Network), every error a [`Diagnostic`](crate::Diagnostic) under
//! the offending text.

pub mod ast;
pub mod diagnostics;
pub mod names;
pub mod parse;
pub mod validate;
