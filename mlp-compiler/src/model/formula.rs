//! Scalar formulas in one variable `x`: how every elementwise activation is defined, the
//! built-in ones and the ones a user declares with `act`.

use crate::ir::Prim;
use std::fmt;
use std::sync::Arc;

/// A function of the formula language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    /// `exp(a)`
    Exp,
    /// `log(a)`, the natural logarithm.
    Log,
    /// `sqrt(a)`
    Sqrt,
    /// `abs(a)`
    Abs,
    /// `tanh(a)`
    Tanh,
    /// `sigmoid(a) = 1 / (1 + exp(-a))`
    Sigmoid,
    /// `erf(a)`, the error function.
    Erf,
    /// `max(a, b)`
    Max,
    /// `min(a, b)`
    Min,
}

impl Func {
    /// Every function, for lookup and suggestions.
    pub const ALL: [Func; 9] = [
        Func::Exp,
        Func::Log,
        Func::Sqrt,
        Func::Abs,
        Func::Tanh,
        Func::Sigmoid,
        Func::Erf,
        Func::Max,
        Func::Min,
    ];

    /// The name it is written with.
    pub fn name(self) -> &'static str {
        match self {
            Func::Exp => "exp",
            Func::Log => "log",
            Func::Sqrt => "sqrt",
            Func::Abs => "abs",
            Func::Tanh => "tanh",
            Func::Sigmoid => "sigmoid",
            Func::Erf => "erf",
            Func::Max => "max",
            Func::Min => "min",
        }
    }

    /// The IR primitive it stands for, which gives its meaning.
    pub fn prim(self) -> Prim {
        match self {
            Func::Exp => Prim::Exp,
            Func::Log => Prim::Log,
            Func::Sqrt => Prim::Sqrt,
            Func::Abs => Prim::Abs,
            Func::Tanh => Prim::Tanh,
            Func::Sigmoid => Prim::Sigmoid,
            Func::Erf => Prim::Erf,
            Func::Max => Prim::Max,
            Func::Min => Prim::Min,
        }
    }

    /// How many arguments it takes.
    pub fn arity(self) -> usize {
        match self {
            Func::Max | Func::Min => 2,
            _ => 1,
        }
    }

    /// The function written `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A user-declared elementwise activation: `act swish(x) = x * sigmoid(x);`.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomActivation {
    /// Its name.
    pub name: String,
    /// Its formula in `x`, with any custom activation it calls inlined, unless inlining would
    /// copy the argument: then the call stays ([`Formula::Apply`]).
    pub formula: Formula,
}

/// The evaluation cost of `c` in operations (kept calls counted as their callees' costs) and
/// how deep its kept calls nest, each activation measured once and remembered in `memo`.
pub fn measure(
    c: &CustomActivation,
    memo: &std::cell::RefCell<std::collections::HashMap<String, (usize, usize)>>,
) -> (usize, usize) {
    if let Some(m) = memo.borrow().get(&c.name) {
        return *m;
    }
    let callees = c.formula.applied();
    let depth = callees
        .iter()
        .map(|k| measure(k, memo).1 + 1)
        .max()
        .unwrap_or(0);
    let cost = c.formula.evaluation_cost(&|k| measure(k, memo).0);
    memo.borrow_mut().insert(c.name.clone(), (cost, depth));
    (cost, depth)
}

/// A scalar formula in the variable `x`.
#[derive(Clone, Debug, PartialEq)]
pub enum Formula {
    /// A constant.
    Const(f64),
    /// The variable.
    X,
    /// `-a`
    Neg(Box<Formula>),
    /// `a + b`
    Add(Box<Formula>, Box<Formula>),
    /// `a - b`
    Sub(Box<Formula>, Box<Formula>),
    /// `a * b`
    Mul(Box<Formula>, Box<Formula>),
    /// `a / b`
    Div(Box<Formula>, Box<Formula>),
    /// `a ^ b`
    Pow(Box<Formula>, Box<Formula>),
    /// A function applied to its arguments.
    Call(Func, Vec<Formula>),
    /// A user's activation applied to its argument, kept as a call because inlining it would
    /// copy the argument (its formula uses `x` more than once) or because it keeps calls
    /// itself: shared, not copied.
    Apply(Callee, Box<Formula>),
}

/// A kept call's activation. Names are unique within a network, so callees are equal and
/// printed for debugging by name: comparing or printing their formulas would walk a chain of
/// doubling definitions once per call, exponentially.
#[derive(Clone)]
pub struct Callee(pub Arc<CustomActivation>);

impl std::ops::Deref for Callee {
    type Target = CustomActivation;
    fn deref(&self) -> &CustomActivation {
        &self.0
    }
}

impl PartialEq for Callee {
    fn eq(&self, other: &Callee) -> bool {
        self.0.name == other.0.name
    }
}

impl fmt::Debug for Callee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Callee({})", self.0.name)
    }
}

impl Formula {
    /// Replaces the variable by `arg` (how a custom activation used inside another is inlined).
    pub fn substitute(&self, arg: &Formula) -> Formula {
        let sub = |f: &Formula| Box::new(f.substitute(arg));
        match self {
            Formula::Const(c) => Formula::Const(*c),
            Formula::X => arg.clone(),
            Formula::Neg(a) => Formula::Neg(sub(a)),
            Formula::Add(a, b) => Formula::Add(sub(a), sub(b)),
            Formula::Sub(a, b) => Formula::Sub(sub(a), sub(b)),
            Formula::Mul(a, b) => Formula::Mul(sub(a), sub(b)),
            Formula::Div(a, b) => Formula::Div(sub(a), sub(b)),
            Formula::Pow(a, b) => Formula::Pow(sub(a), sub(b)),
            Formula::Call(f, args) => {
                Formula::Call(*f, args.iter().map(|a| a.substitute(arg)).collect())
            }
            Formula::Apply(c, a) => Formula::Apply(c.clone(), sub(a)),
        }
    }

    /// Its value if it does not depend on `x` (`log(-1)` is NaN), else `None`.
    pub fn constant(&self) -> Option<f64> {
        // Kept calls are not followed: one may stand for exponentially many compositions.
        self.value(None, false)
    }

    /// Its value at `x` as written, kept calls evaluated through their callees' formulas (what
    /// the derived functions are checked against; a chain of definitions that each call the one
    /// before twice takes 2ᵏ evaluations).
    pub fn at(&self, x: f64) -> f64 {
        self.value(Some(x), true)
            .expect("every part has a value at x")
    }

    /// Its value at `x`, or for `None`, if it does not depend on `x`; a kept call counts as
    /// depending on `x` unless `through_calls`.
    fn value(&self, x: Option<f64>, through_calls: bool) -> Option<f64> {
        let c = |f: &Formula| f.value(x, through_calls);
        Some(match self {
            Formula::Const(v) => *v,
            Formula::X => return x,
            Formula::Neg(a) => -c(a)?,
            Formula::Add(a, b) => c(a)? + c(b)?,
            Formula::Sub(a, b) => c(a)? - c(b)?,
            Formula::Mul(a, b) => c(a)? * c(b)?,
            Formula::Div(a, b) => c(a)? / c(b)?,
            Formula::Pow(a, b) => c(a)?.powf(c(b)?),
            Formula::Call(f, args) => {
                let values: Vec<f64> = args.iter().map(c).collect::<Option<_>>()?;
                f.prim().eval(&values)
            }
            Formula::Apply(f, a) if through_calls => f.formula.value(Some(c(a)?), true)?,
            Formula::Apply(..) => return None,
        })
    }

    /// The number of operations: constants, `x`, operators and calls, each one.
    pub fn size(&self) -> usize {
        1 + self.children().iter().map(|c| c.size()).sum::<usize>()
    }

    /// How many times `x` occurs, which is how many copies of an argument inlining makes.
    pub fn uses_of_x(&self) -> usize {
        match self {
            Formula::X => 1,
            other => other.children().iter().map(|c| c.uses_of_x()).sum(),
        }
    }

    /// The size of the formula with its variable replaced by a formula of `arg_size`
    /// operations, without building it (saturating, for formulas far past any limit).
    pub fn size_with_argument(&self, arg_size: usize) -> usize {
        let uses = self.uses_of_x();
        (self.size() - uses).saturating_add(uses.saturating_mul(arg_size))
    }

    /// The constants it holds, as written (an activation it calls keeps its own).
    pub fn constants(&self) -> Vec<f64> {
        let mut out = Vec::new();
        if let Formula::Const(c) = self {
            out.push(*c);
        }
        for child in self.children() {
            out.extend(child.constants());
        }
        out
    }

    /// Operations one evaluation takes, every kept call counted as the cost of its callee
    /// (`cost` gives a callee's, computed once per activation): what a chain of definitions
    /// that each call the one before twice costs at run time, saturating.
    pub fn evaluation_cost(&self, cost: &dyn Fn(&CustomActivation) -> usize) -> usize {
        let own = match self {
            Formula::Apply(c, _) => cost(c),
            _ => 1,
        };
        (self.children().iter()).fold(own, |n, child| {
            n.saturating_add(child.evaluation_cost(cost))
        })
    }

    /// The activations it calls, kept as calls ([`Formula::Apply`]), as often as it calls them.
    pub fn applied(&self) -> Vec<&CustomActivation> {
        let mut out = Vec::new();
        if let Formula::Apply(c, _) = self {
            out.push(c.0.as_ref());
        }
        for child in self.children() {
            out.extend(child.applied());
        }
        out
    }

    fn children(&self) -> Vec<&Formula> {
        match self {
            Formula::Const(_) | Formula::X => Vec::new(),
            Formula::Neg(a) => vec![a],
            Formula::Add(a, b)
            | Formula::Sub(a, b)
            | Formula::Mul(a, b)
            | Formula::Div(a, b)
            | Formula::Pow(a, b) => vec![a, b],
            Formula::Call(_, args) => args.iter().collect(),
            Formula::Apply(_, a) => vec![a],
        }
    }

    /// Binding strength when printed: higher binds tighter.
    fn precedence(&self) -> u8 {
        match self {
            Formula::Add(..) | Formula::Sub(..) => 1,
            Formula::Mul(..) | Formula::Div(..) => 2,
            Formula::Neg(..) => 3,
            Formula::Pow(..) => 4,
            Formula::Const(c) if *c < 0.0 => 3,
            Formula::Const(_) | Formula::X | Formula::Call(..) | Formula::Apply(..) => 5,
        }
    }
}

/// Writes `f`, in parentheses when it binds less tightly than `min`.
fn operand(out: &mut fmt::Formatter<'_>, f: &Formula, min: u8) -> fmt::Result {
    if f.precedence() < min {
        write!(out, "({f})")
    } else {
        write!(out, "{f}")
    }
}

impl fmt::Display for Formula {
    /// Formats in the DSL's own syntax, with no more parentheses than needed; the output parses
    /// back to an equal formula.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let binary = |f: &mut fmt::Formatter<'_>, a, op, b, p: u8, right_assoc: bool| {
            let (pa, pb) = if right_assoc { (p + 1, p) } else { (p, p + 1) };
            operand(f, a, pa)?;
            write!(f, " {op} ")?;
            operand(f, b, pb)
        };
        match self {
            Formula::Const(c) => write!(f, "{c}"),
            Formula::X => f.write_str("x"),
            Formula::Neg(a) => {
                f.write_str("-")?;
                operand(f, a, 3)
            }
            Formula::Add(a, b) => binary(f, a, "+", b, 1, false),
            Formula::Sub(a, b) => binary(f, a, "-", b, 1, false),
            Formula::Mul(a, b) => binary(f, a, "*", b, 2, false),
            Formula::Div(a, b) => binary(f, a, "/", b, 2, false),
            Formula::Pow(a, b) => binary(f, a, "^", b, 4, true),
            Formula::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Formula::Apply(c, a) => write!(f, "{}({a})", c.name),
        }
    }
}
