//! The scalar primitives of the IR and their meaning in `f64`.

use super::Function;
use std::sync::Arc;

/// A scalar primitive function.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Prim {
    /// `exp a`
    Exp,
    /// `log a`
    Log,
    /// `√a`
    Sqrt,
    /// `|a|`
    Abs,
    /// `tanh a`
    Tanh,
    /// `σ(a) = 1/(1 + exp(−a))`, evaluated without overflow.
    Sigmoid,
    /// `erf a`
    Erf,
    /// `max(a, b)`
    Max,
    /// `min(a, b)`
    Min,
    /// `step(a)`: 1 for `a > 0`, else 0 (so `relu′(0) = 0`, PyTorch's choice).
    Step,
    /// `sign(a)`: −1, 0 or 1.
    Sign,
    /// `softplus(a) = log(1 + exp a)`, evaluated without overflow.
    Softplus,
    /// `logaddexp(a, b) = log(exp a + exp b)`, evaluated without overflow; smooth, with
    /// partials `σ(a − b)` and `σ(b − a)` (NumPy's name).
    LogAddExp,
    /// A user's activation kept as a function rather than inlined.
    Apply(Arc<Function>),
    /// The derivative of a user's function.
    Derivative(Arc<Function>),
}

impl Prim {
    /// The name it is printed with.
    pub fn name(&self) -> &str {
        match self {
            Prim::Exp => "exp",
            Prim::Log => "log",
            Prim::Sqrt => "sqrt",
            Prim::Abs => "abs",
            Prim::Tanh => "tanh",
            Prim::Sigmoid => "σ",
            Prim::Erf => "erf",
            Prim::Max => "max",
            Prim::Min => "min",
            Prim::Step => "step",
            Prim::Sign => "sign",
            Prim::Softplus => "softplus",
            Prim::LogAddExp => "logaddexp",
            Prim::Apply(f) => &f.name,
            Prim::Derivative(f) => &f.prime,
        }
    }

    /// Its value in `f64` at `a` (two arguments for `max`, `min` and `logaddexp`, one for the
    /// others),
    /// evaluated without overflow where the math allows it: the meaning every rule that folds
    /// a constant and the reference interpreter share.
    pub fn eval(&self, a: &[f64]) -> f64 {
        let x = a[0];
        match self {
            Prim::Exp => x.exp(),
            Prim::Log => x.ln(),
            Prim::Sqrt => x.sqrt(),
            Prim::Abs => x.abs(),
            Prim::Tanh => x.tanh(),
            Prim::Sigmoid if x >= 0.0 => 1.0 / (1.0 + (-x).exp()),
            Prim::Sigmoid => x.exp() / (1.0 + x.exp()),
            Prim::Erf => libm::erf(x),
            Prim::Max => x.max(a[1]),
            Prim::Min => x.min(a[1]),
            Prim::Step => f64::from(x > 0.0),
            Prim::Sign => x.signum() * f64::from(x != 0.0),
            Prim::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            Prim::LogAddExp => x.max(a[1]) + (-(x - a[1]).abs()).exp().ln_1p(),
            Prim::Apply(f) => f.value(x),
            Prim::Derivative(f) => f.slope(x),
        }
    }
}
