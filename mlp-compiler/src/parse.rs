//! Parsing: text → syntax tree, through the one grammar (`grammar/mlp.pest`).
//!
//! The parser never panics on any input: a syntax error becomes a [`Diagnostic`] at the
//! position where the text stopped making sense, saying what was expected and what was found.

use crate::ast::{ActDef, ActivationAst, BinOp, Expr, Item, LayerAst, Name, NetDef, NetworkAst};
use crate::ast::{Number, SpecAst, Units};
use crate::diag::{Diagnostic, Diagnostics, Span};
use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use std::sync::LazyLock;

/// The parser pest derives from the grammar; its `Rule` enum names every grammar rule.
mod grammar {
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "../../grammar/mlp.pest"]
    pub struct MlpParser;
}
use grammar::{MlpParser, Rule};

/// Parses what the CLI reads: custom activations followed by one network.
pub fn parse_spec(text: &str) -> Result<SpecAst, Diagnostics> {
    let top = parse_rule(Rule::spec, text)?;
    let mut acts = Vec::new();
    let mut network = None;
    for pair in top {
        match pair.as_rule() {
            Rule::act_def => acts.push(act_def(pair)),
            Rule::network => network = Some(network_ast(pair)),
            _ => {}
        }
    }
    let network = network.expect("the grammar's `spec` rule requires a network");
    Ok(SpecAst { acts, network })
}

/// Parses the body of the `mlp!` macro: `act` definitions and network items.
pub fn parse_items(text: &str) -> Result<Vec<Item>, Diagnostics> {
    let top = parse_rule(Rule::items, text)?;
    Ok(top
        .filter_map(|pair| match pair.as_rule() {
            Rule::act_def => Some(Item::Act(act_def(pair))),
            Rule::net_def => Some(Item::Net(net_def(pair))),
            _ => None,
        })
        .collect())
}

/// Parses a formula alone, such as `max(x, 0)`.
pub fn parse_formula(text: &str) -> Result<Expr, Diagnostics> {
    let mut top = parse_rule(Rule::formula_text, text)?;
    Ok(formula(
        top.next()
            .expect("the grammar's `formula_text` holds a formula"),
    ))
}

/// Runs the grammar from `rule` and returns the children of its one pair.
fn parse_rule(rule: Rule, text: &str) -> Result<Pairs<'_, Rule>, Diagnostics> {
    match MlpParser::parse(rule, text) {
        Ok(mut pairs) => Ok(pairs
            .next()
            .expect("an entry rule yields one pair")
            .into_inner()),
        Err(error) => {
            let mut diags = Diagnostics::new();
            diags.push(syntax_error(&error, text));
            Err(diags)
        }
    }
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

fn name(pair: Pair<'_, Rule>) -> Name {
    Name {
        text: pair.as_str().to_owned(),
        span: span_of(&pair),
    }
}

fn net_def(pair: Pair<'_, Rule>) -> NetDef {
    let mut attrs = Vec::new();
    let mut vis = None;
    let mut struct_name = None;
    let mut network = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::attribute => attrs.push(span_of(&p)),
            Rule::visibility => vis = Some(span_of(&p)),
            Rule::name => struct_name = Some(name(p)),
            Rule::network => network = Some(network_ast(p)),
            _ => {}
        }
    }
    NetDef {
        attrs,
        vis,
        name: struct_name.expect("the grammar's `net_def` has a name"),
        network: network.expect("the grammar's `net_def` has a network"),
    }
}

fn act_def(pair: Pair<'_, Rule>) -> ActDef {
    let span = span_of(&pair);
    let mut names = Vec::new();
    let mut body = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::name => names.push(name(p)),
            Rule::formula => body = Some(formula(p)),
            _ => {}
        }
    }
    let mut names = names.into_iter();
    ActDef {
        name: names
            .next()
            .expect("the grammar's `act_def` names the activation"),
        param: names
            .next()
            .expect("the grammar's `act_def` names the variable"),
        body: body.expect("the grammar's `act_def` has a formula"),
        span,
    }
}

fn network_ast(pair: Pair<'_, Rule>) -> NetworkAst {
    let span = span_of(&pair);
    let mut inputs = None;
    let mut layers = Vec::new();
    let mut loss = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::units => inputs = Some(units(p)),
            Rule::layer => layers.push(layer(p)),
            Rule::loss => loss = p.into_inner().next().map(name),
            _ => {}
        }
    }
    NetworkAst {
        inputs: inputs.expect("the grammar's `network` starts with units"),
        layers,
        loss: loss.expect("the grammar's `network` ends with a loss"),
        span,
    }
}

fn units(pair: Pair<'_, Rule>) -> Units {
    let digits: String = pair.as_str().chars().filter(|c| *c != '_').collect();
    // Only digits remain, so the one failure is overflow: saturate and let validation report
    // the absurd size with the same message as any other.
    let value = digits.parse().unwrap_or(u64::MAX);
    Units {
        value,
        span: span_of(&pair),
    }
}

fn layer(pair: Pair<'_, Rule>) -> LayerAst {
    let span = span_of(&pair);
    let mut activation = None;
    let mut count = None;
    let mut no_bias = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::activation => activation = Some(activation_ast(p)),
            Rule::units => count = Some(units(p)),
            Rule::no_bias => no_bias = Some(span_of(&p)),
            _ => {}
        }
    }
    LayerAst {
        activation,
        units: count.expect("the grammar's `layer` has units"),
        no_bias,
        span,
    }
}

fn activation_ast(pair: Pair<'_, Rule>) -> ActivationAst {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let act_name = name(
        inner
            .next()
            .expect("the grammar's `activation` starts with a name"),
    );
    let args = inner.next().map(|args| {
        args.into_inner()
            .filter(|p| p.as_rule() == Rule::signed)
            .map(signed)
            .collect()
    });
    ActivationAst {
        name: act_name,
        args,
        span,
    }
}

fn signed(pair: Pair<'_, Rule>) -> Number {
    let span = span_of(&pair);
    let mut negative = false;
    let mut value = 0.0;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::neg => negative = true,
            Rule::number => value = number(&p).value,
            _ => {}
        }
    }
    Number {
        value: if negative { -value } else { value },
        span,
    }
}

fn number(pair: &Pair<'_, Rule>) -> Number {
    let text: String = pair.as_str().chars().filter(|c| *c != '_').collect();
    // The grammar admits only decimal literals, which f64 parses (overflowing to infinity,
    // which validation rejects).
    let value = text.parse().unwrap_or(f64::INFINITY);
    Number {
        value,
        span: span_of(pair),
    }
}

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
        .op(Op::prefix(Rule::neg))
        .op(Op::infix(Rule::pow, Assoc::Right))
});

/// Is this pair an operand or operator (rather than punctuation, which carries no meaning here)?
fn meaningful(pair: &Pair<'_, Rule>) -> bool {
    !matches!(pair.as_rule(), Rule::lparen | Rule::rparen | Rule::comma)
}

fn formula(pair: Pair<'_, Rule>) -> Expr {
    PRATT
        .map_primary(|p| match p.as_rule() {
            Rule::number => Expr::Num(number(&p)),
            Rule::name => Expr::Var(name(p)),
            Rule::formula => formula(p),
            Rule::call => {
                let span = span_of(&p);
                let mut inner = p.into_inner().filter(meaningful);
                let callee = name(
                    inner
                        .next()
                        .expect("the grammar's `call` starts with a name"),
                );
                Expr::Call(callee, inner.map(formula).collect(), span)
            }
            rule => unreachable!("the grammar has no primary {rule:?}"),
        })
        .map_prefix(|op, rhs| {
            let span = span_of(&op).to(rhs.span());
            Expr::Neg(Box::new(rhs), span)
        })
        .map_infix(|lhs, op, rhs| {
            let op = match op.as_rule() {
                Rule::add => BinOp::Add,
                Rule::sub => BinOp::Sub,
                Rule::mul => BinOp::Mul,
                Rule::div => BinOp::Div,
                Rule::pow => BinOp::Pow,
                rule => unreachable!("the grammar has no operator {rule:?}"),
            };
            let span = lhs.span().to(rhs.span());
            Expr::Bin(op, Box::new(lhs), Box::new(rhs), span)
        })
        .parse(pair.into_inner().filter(meaningful))
}

/// Turns pest's error into a diagnostic: "expected `;`, found `struct`".
fn syntax_error(error: &pest::error::Error<Rule>, text: &str) -> Diagnostic {
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
        Some(word) if after_units && crate::validate::is_activation_name(word) => Some(format!(
            "an activation comes before the layer's units: write `{word} N`, not `N {word}`"
        )),
        Some(word) if after_units && crate::validate::is_loss_name(word) => {
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
