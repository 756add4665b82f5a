//! Parsing: text → syntax tree, through the one grammar (`grammar/mlp.pest`).
//!
//! The parser never panics on any input: a syntax error becomes a [`Diagnostic`](crate::Diagnostic) at the
//! position where the text stopped making sense, saying what was expected and what was found.
//! Its recursion is bounded: brackets nested deeper than [`MAX_NESTING`] are refused before the
//! grammar runs, and a formula of more than [`MAX_FORMULA_SIZE`] operations before it is turned
//! into a tree.

use crate::diag::{Diagnostics, Span};
use crate::limits::MAX_FORMULA_SIZE;
#[cfg(doc)]
use crate::limits::MAX_NESTING;
use crate::syntax::ast::{
    ActDef, ActivationAst, BinOp, Expr, Item, LayerAst, Name, NetDef, NetworkAst,
};
use crate::syntax::ast::{Number, SpecAst, Units};
use pest::Parser;
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

mod nesting;
mod syntax_error;

use nesting::nesting;
use syntax_error::syntax_error;

/// Parses what the CLI reads: custom activations followed by one network.
pub fn parse_spec(text: &str) -> Result<SpecAst, Diagnostics> {
    let top = parse_rule(Rule::spec, text)?;
    let mut diags = Diagnostics::new();
    let mut acts = Vec::new();
    let mut network = None;
    for pair in top {
        match pair.as_rule() {
            Rule::act_def => acts.extend(act_def(pair, &mut diags)),
            Rule::network => network = Some(network_ast(pair)),
            _ => {}
        }
    }
    let network = network.expect("the grammar's `spec` rule requires a network");
    diags.finish(SpecAst { acts, network })
}

/// Parses the body of the `mlp!` macro: `act` definitions and network items.
pub fn parse_items(text: &str) -> Result<Vec<Item>, Diagnostics> {
    let top = parse_rule(Rule::items, text)?;
    let mut diags = Diagnostics::new();
    let items = top
        .filter_map(|pair| match pair.as_rule() {
            Rule::act_def => act_def(pair, &mut diags).map(Item::Act),
            Rule::net_def => Some(Item::Net(net_def(pair))),
            _ => None,
        })
        .collect();
    diags.finish(items)
}

/// Parses a formula alone, such as `max(x, 0)`.
pub fn parse_formula(text: &str) -> Result<Expr, Diagnostics> {
    let mut top = parse_rule(Rule::formula_text, text)?;
    let pair = top
        .next()
        .expect("the grammar's `formula_text` holds a formula");
    let mut diags = Diagnostics::new();
    let formula = bounded_formula(pair, &mut diags);
    match formula {
        Some(f) => Ok(f),
        None => Err(diags),
    }
}

/// Runs the grammar from `rule` and returns the children of its one pair.
fn parse_rule(rule: Rule, text: &str) -> Result<Pairs<'_, Rule>, Diagnostics> {
    if let Some(too_deep) = nesting(text) {
        let mut diags = Diagnostics::new();
        diags.push(too_deep);
        return Err(diags);
    }
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

/// An `act` definition, or `None` after reporting a formula too large to read.
fn act_def(pair: Pair<'_, Rule>, diags: &mut Diagnostics) -> Option<ActDef> {
    let span = span_of(&pair);
    let mut names = Vec::new();
    let mut body = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::name => names.push(name(p)),
            Rule::formula => body = Some(bounded_formula(p, diags)?),
            _ => {}
        }
    }
    let mut names = names.into_iter();
    Some(ActDef {
        name: names
            .next()
            .expect("the grammar's `act_def` names the activation"),
        param: names
            .next()
            .expect("the grammar's `act_def` names the variable"),
        body: body.expect("the grammar's `act_def` has a formula"),
        span,
    })
}

/// A formula as a tree, or `None` after reporting that it holds more than
/// [`MAX_FORMULA_SIZE`] operations (counted on the parser's flat list of tokens, so that a
/// formula too large is never built, nor recursed into).
fn bounded_formula(pair: Pair<'_, Rule>, diags: &mut Diagnostics) -> Option<Expr> {
    let size = pair
        .clone()
        .into_inner()
        .flatten()
        .filter(|p| {
            matches!(
                p.as_rule(),
                Rule::number
                    | Rule::name
                    | Rule::add
                    | Rule::sub
                    | Rule::mul
                    | Rule::div
                    | Rule::pow
                    | Rule::neg
            )
        })
        .count();
    if size > MAX_FORMULA_SIZE {
        diags.push(crate::syntax::diagnostics::formula_too_large(
            span_of(&pair),
            size,
            None,
        ));
        return None;
    }
    Some(formula(pair))
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
    // the absurd size, as written, with the same message as any other.
    let value = digits.parse().unwrap_or(u64::MAX);
    Units {
        value,
        text: pair.as_str().to_owned(),
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
