//! Syntax errors: pest's error as a diagnostic that says what was expected and what was
//! found, with hints for common slips.

use super::grammar::Rule;
use crate::diag::{Diagnostic, Span};
use pest::error::{ErrorVariant, InputLocation};

/// Turns pest's error into a diagnostic: "expected `;`, found `struct`".
pub(super) fn syntax_error(error: &pest::error::Error<Rule>, text: &str) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let found = token_at(text, pos);
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = Vec::new();
            for rule in positives {
                let d = describe_rule(*rule);
                if !names.contains(&d) {
                    names.push(d);
                }
            }
            names
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let found_text = match found {
        Some(t) => format!("`{}`", &text[t.start..t.end]),
        None => "the end of the input".to_owned(),
    };
    let message = if expected.is_empty() {
        format!("unexpected {found_text}")
    } else {
        format!("expected {}, found {found_text}", join_or(&expected))
    };
    let span = found.unwrap_or(Span::new(text.len(), text.len()));
    let mut diag = Diagnostic::new(span, message);
    if let Some(hint) = hint(&expected, found.map(|t| &text[t.start..t.end])) {
        diag = diag.note(hint);
    }
    diag
}

/// Extra help for common slips.
fn hint(expected: &[&str], found: Option<&str>) -> Option<String> {
    let after_units = expected.contains(&describe_rule(Rule::arrow));
    match found {
        Some(word) if after_units && crate::syntax::names::is_activation_name(word) => {
            Some(format!(
                "an activation comes before the layer's units: write `{word} N`, not `N {word}`"
            ))
        }
        Some(word) if after_units && crate::syntax::names::is_loss_name(word) => {
            Some(format!("the loss follows a colon: `: {word}`"))
        }
        None if expected.contains(&describe_rule(Rule::semi)) => {
            Some("every item ends with `;`".to_owned())
        }
        _ => None,
    }
}

/// The token that starts at `pos`, for "found `...`": a word, a number, `->`, or one character.
fn token_at(text: &str, pos: usize) -> Option<Span> {
    let rest = text.get(pos..)?;
    let first = rest.chars().next()?;
    let len = if first.is_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len())
    } else if rest.starts_with("->") {
        2
    } else {
        first.len_utf8()
    };
    Some(Span::new(pos, pos + len))
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What a rule is called in an error message.
fn describe_rule(rule: Rule) -> &'static str {
    match rule {
        Rule::arrow => "`->`",
        Rule::colon => "`:`",
        Rule::semi => "`;`",
        Rule::eq => "`=`",
        Rule::lparen | Rule::act_args => "`(`",
        Rule::rparen => "`)`",
        Rule::comma => "`,`",
        Rule::units => "a number of units",
        Rule::layer => "a layer such as `relu 512` or `10`",
        Rule::activation => "an activation",
        Rule::no_bias => "`no_bias`",
        Rule::loss => "a loss (nll, ce, mse, bce, l2)",
        Rule::network => "a network such as `784 -> relu 512 -> 10 : nll`",
        Rule::name => "a name",
        Rule::signed | Rule::number => "a number",
        Rule::formula | Rule::call => "a formula",
        Rule::add | Rule::sub | Rule::mul | Rule::div | Rule::pow => "an operator",
        Rule::neg => "`-`",
        Rule::kw_struct => "`struct`",
        Rule::kw_act => "`act`",
        Rule::act_def => "`act`",
        Rule::net_def => "`struct NAME = NETWORK;`",
        Rule::visibility => "`pub`",
        Rule::attribute | Rule::bracketed => "an attribute",
        Rule::string => "a string",
        Rule::EOI => "the end of the input",
        Rule::spec => "a network such as `784 -> relu 512 -> 10 : nll`",
        Rule::items => "`act` or `struct`",
        Rule::formula_text => "a formula",
        // Silent rules never appear in errors; named here so the match stays exhaustive.
        Rule::WHITESPACE | Rule::COMMENT | Rule::ident_char => "a character",
        Rule::infix => "an operator",
        Rule::prefix => "`-`",
        Rule::primary => "a formula",
    }
}
