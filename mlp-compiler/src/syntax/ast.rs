//! The syntax tree: what the text says, with the span of every part, before any checking.

use crate::diag::Span;

/// A name with where it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    /// The identifier.
    pub text: String,
    /// Where it stands.
    pub span: Span,
}

/// What the CLI reads: custom activations followed by one network.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecAst {
    /// `act` definitions, in order.
    pub acts: Vec<ActDef>,
    /// The network.
    pub network: NetworkAst,
}

/// One item of the macro body.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `act NAME(x) = FORMULA;`
    Act(ActDef),
    /// `[attributes] [pub] struct NAME = NETWORK;`
    Net(NetDef),
}

/// `act NAME(PARAM) = FORMULA;`
#[derive(Clone, Debug, PartialEq)]
pub struct ActDef {
    /// The activation's name.
    pub name: Name,
    /// The formula's variable.
    pub param: Name,
    /// The formula.
    pub body: Expr,
    /// The whole definition.
    pub span: Span,
}

/// `[attributes] [pub] struct NAME = NETWORK;`
#[derive(Clone, Debug, PartialEq)]
pub struct NetDef {
    /// Each outer attribute (doc comments included), as a source range.
    pub attrs: Vec<Span>,
    /// The visibility (`pub`, `pub(crate)`), as a source range.
    pub vis: Option<Span>,
    /// The struct's name.
    pub name: Name,
    /// The network.
    pub network: NetworkAst,
}

/// `IN -> LAYER -> ... : LOSS`
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkAst {
    /// The input width.
    pub inputs: Units,
    /// The layers, first to last.
    pub layers: Vec<LayerAst>,
    /// The loss.
    pub loss: Name,
    /// The whole network.
    pub span: Span,
}

/// A unit count as written. Values beyond `u64` saturate; validation rejects them, quoting
/// the text.
#[derive(Clone, Debug, PartialEq)]
pub struct Units {
    /// The count (`u64::MAX` for any count beyond it).
    pub value: u64,
    /// The digits as written, `_` separators included.
    pub text: String,
    /// Where it stands.
    pub span: Span,
}

/// `[ACTIVATION] UNITS [no_bias]`
#[derive(Clone, Debug, PartialEq)]
pub struct LayerAst {
    /// The activation, if any (none is linear).
    pub activation: Option<ActivationAst>,
    /// The output width.
    pub units: Units,
    /// The `no_bias` keyword, if present.
    pub no_bias: Option<Span>,
    /// The whole layer.
    pub span: Span,
}

/// `NAME` or `NAME(ARG, ...)`
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationAst {
    /// The activation's name.
    pub name: Name,
    /// The parenthesized arguments, if any were written.
    pub args: Option<Vec<Number>>,
    /// The whole activation, arguments included.
    pub span: Span,
}

/// A number literal with its sign.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Number {
    /// The value.
    pub value: f64,
    /// Where it stands.
    pub span: Span,
}

/// A binary operator of the formula language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^`
    Pow,
}

/// A formula as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number.
    Num(Number),
    /// A variable reference.
    Var(Name),
    /// Unary minus.
    Neg(Box<Expr>, Span),
    /// A binary operation.
    Bin(BinOp, Box<Expr>, Box<Expr>, Span),
    /// A function call.
    Call(Name, Vec<Expr>, Span),
}

impl Expr {
    /// Where the expression stands.
    pub fn span(&self) -> Span {
        match self {
            Expr::Num(n) => n.span,
            Expr::Var(v) => v.span,
            Expr::Neg(_, s) | Expr::Bin(_, _, _, s) | Expr::Call(_, _, s) => *s,
        }
    }
}
