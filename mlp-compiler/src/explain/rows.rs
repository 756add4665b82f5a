//! What a page of the derivation is made of: running text ([`Seg`]) and rows of display
//! mathematics ([`Row`]), which `explain::page` lays out as text or LaTeX and `explain::html`
//! as HTML.

use crate::ir::notation::{Show, Style};
use crate::simplify::Firing;
use crate::simplify::rules;

/// Piece of running text: words, or mathematics already printed in the page's style.
pub(super) enum Seg {
    Words(String),
    Math(String),
}

/// One row of a step: an equation `lhs = rhs` (or `= rhs`, continuing the row above it), a
/// note on it, or both; under a label in text.
pub(super) struct Row {
    pub label: &'static str,
    pub equation: Option<(String, String)>,
    /// Whether the equation continues the previous one (`&= …` in LaTeX).
    pub continues: bool,
    /// Whether the row is a rewrite, `before → after` under its rule's name.
    pub rewrite: bool,
    pub note: Option<String>,
}

impl Row {
    pub(super) fn equation(label: &'static str, lhs: String, rhs: String) -> Row {
        Row {
            label,
            equation: Some((lhs, rhs)),
            continues: false,
            rewrite: false,
            note: None,
        }
    }

    /// One rule's rewrite of one node: `before → after`, under the rule's name (and, in
    /// text, its identity).
    pub(super) fn rewrite(f: &Firing, style: Style) -> Row {
        let identity = rules::rule(f.rule).map(|r| r.identity);
        Row {
            label: f.rule,
            equation: Some((
                Show(&f.before, style).to_string(),
                Show(&f.after, style).to_string(),
            )),
            continues: false,
            rewrite: true,
            note: identity.filter(|_| style == Style::Text).map(str::to_owned),
        }
    }
}
