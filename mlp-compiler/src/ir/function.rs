//! A user's activation kept as a named scalar function, with its derivative.
//!
//! A custom activation that calls another one is usually inlined. When inlining would copy
//! its argument (`act b2(x) = b1(b1(x))` with `b1(x) = x·x + x` uses `x` three times), the
//! callee stays a function instead: `b2(x) = b1(b1(x))`, `b2′(x) = b1′(b1(x))·b1′(x)`. The
//! chain `b1 … b8` is then eight small functions, not one formula of 3¹²⁸ operations.

use super::{Expr, Prim, Ref, Var};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The argument of a function's body: the scalar `x`, with no indices.
pub const ARG: Var = Var::plain('x');

/// A named scalar function of one argument and its derivative, both in [`ARG`].
///
/// Two functions of one network have different names, so they are equal, ordered and hashed
/// by name alone.
pub struct Function {
    /// Its name, as the user wrote it.
    pub name: String,
    /// The name of its derivative: the name and a prime (`b2′`).
    pub prime: String,
    /// `f(x)`, read in stable form; it may call earlier functions.
    pub body: Expr,
    /// `f′(x)`, derived from the body and simplified; it may call earlier functions and their
    /// derivatives.
    pub derivative: Expr,
}

impl Function {
    /// The argument `x` as its bodies write it: [`ARG`] with no indices.
    pub fn argument() -> Ref {
        Ref {
            var: ARG,
            adjoint: false,
            ix: Vec::new(),
        }
    }

    /// `f(x)` in `f64`.
    pub fn value(&self, x: f64) -> f64 {
        eval(&self.body, x)
    }

    /// `f′(x)` in `f64`.
    pub fn slope(&self, x: f64) -> f64 {
        eval(&self.derivative, x)
    }
}

/// Every function the expressions call, directly or through the bodies and derivatives of
/// others, each once, every function after those it calls.
pub fn called<'a>(exprs: impl IntoIterator<Item = &'a Expr>) -> Vec<Arc<Function>> {
    let mut out = Vec::new();
    for e in exprs {
        collect(e, &mut out);
    }
    out
}

fn collect(e: &Expr, out: &mut Vec<Arc<Function>>) {
    let mut direct = Vec::new();
    e.visit(&mut |s| {
        if let Expr::Call(Prim::Apply(f) | Prim::Derivative(f), _) = s {
            direct.push(f.clone());
        }
    });
    for f in direct {
        if !out.contains(&f) {
            collect(&f.body, out);
            collect(&f.derivative, out);
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
}

/// A scalar body at `x`. Bodies are built from formulas: numbers, the argument, sums,
/// products, powers and calls. Anything else has no scalar value and gives NaN.
fn eval(e: &Expr, x: f64) -> f64 {
    match e {
        Expr::Num(v) => *v,
        Expr::Ref(_) => x,
        Expr::Add(ts) => ts.iter().map(|t| eval(t, x)).sum(),
        Expr::Mul(fs) => fs.iter().map(|f| eval(f, x)).product(),
        Expr::Pow(a, p) => eval(a, x).powf(eval(p, x)),
        Expr::Call(f, args) => {
            let v: Vec<f64> = args.iter().map(|a| eval(a, x)).collect();
            f.eval(&v)
        }
        Expr::BatchSize
        | Expr::Delta(..)
        | Expr::Sum(..)
        | Expr::Lse(..)
        | Expr::Softmax { .. } => f64::NAN,
    }
}

impl PartialEq for Function {
    fn eq(&self, other: &Function) -> bool {
        self.name == other.name
    }
}

impl Eq for Function {}

impl PartialOrd for Function {
    fn partial_cmp(&self, other: &Function) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Function {
    fn cmp(&self, other: &Function) -> Ordering {
        self.name.cmp(&other.name)
    }
}

impl Hash for Function {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl fmt::Debug for Function {
    /// The name only: a body calls other functions, whose bodies would repeat.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Function({})", self.name)
    }
}
