//! Scalar functions: built-in activations defined by formulas, and the derivative of each
//! scalar primitive (the scalar differentiator's table).

use crate::ir::{Expr, Prim};
use crate::model::formula::Formula;
use crate::model::network::Activation;

/// The formula that defines an elementwise activation, in the DSL's own formula language;
/// `None` for the identity and for `softmax`, which is not elementwise.
///
/// These texts are the only place the built-in activations are defined: their derivatives
/// come from differentiating these formulas, as for a user's `act`.
pub fn definition(act: &Activation) -> Option<String> {
    Some(match act {
        Activation::Identity | Activation::Softmax => return None,
        Activation::Relu => "max(x, 0)".to_owned(),
        Activation::LeakyRelu { slope } => format!("max(x, 0) + ({slope}) * min(x, 0)"),
        Activation::Elu { alpha } => format!("max(x, 0) + ({alpha}) * (exp(min(x, 0)) - 1)"),
        Activation::Sigmoid => "sigmoid(x)".to_owned(),
        Activation::Tanh => "tanh(x)".to_owned(),
        Activation::Softplus => "log(1 + exp(x))".to_owned(),
        Activation::Silu => "x * sigmoid(x)".to_owned(),
        Activation::Gelu => "x * (1 + erf(x / sqrt(2))) / 2".to_owned(),
        Activation::Custom(c) => c.formula.to_string(),
    })
}

/// The formula of an elementwise activation, parsed from [`definition`].
pub fn formula(act: &Activation) -> Option<Formula> {
    match act {
        Activation::Custom(c) => Some(c.formula.clone()),
        other => {
            let text = definition(other)?;
            Some(
                crate::syntax::validate::formula(&text).unwrap_or_else(|e| {
                    panic!("the built-in definition `{text}` does not parse: {e}")
                }),
            )
        }
    }
}

/// `∂f(a, b, …)/∂a`, `∂f/∂b`, …: one partial derivative per argument.
///
/// At a tie, `max` follows its second argument and `min` its first, so that `relu′(0) = 0`
/// and `leaky_relu′(0)` is the slope, as in PyTorch.
///
/// # Panics
///
/// For the derivative of a user's function: derivatives are never differentiated again
/// (only forward equations and function bodies are).
pub fn partials(f: &Prim, args: &[Expr]) -> Vec<Expr> {
    let a = || args[0].clone();
    let step_diff = || {
        Expr::call(
            Prim::Step,
            Expr::plus(args[0].clone(), Expr::negate(args[1].clone())),
        )
    };
    let one_minus = |e: Expr| Expr::plus(Expr::Num(1.0), Expr::negate(e));
    match f {
        // exp′ = exp
        Prim::Exp => vec![Expr::call(Prim::Exp, a())],
        // log′(a) = 1/a
        Prim::Log => vec![Expr::recip(a())],
        // √′(a) = 1/(2√a)
        Prim::Sqrt => vec![Expr::recip(Expr::times(
            Expr::Num(2.0),
            Expr::call(Prim::Sqrt, a()),
        ))],
        // |a|′ = sign(a)
        Prim::Abs => vec![Expr::call(Prim::Sign, a())],
        // tanh′ = 1 − tanh²
        Prim::Tanh => vec![one_minus(Expr::pow(Expr::call(Prim::Tanh, a()), 2.0))],
        // σ′ = σ·(1 − σ)
        Prim::Sigmoid => {
            let s = || Expr::call(Prim::Sigmoid, a());
            vec![Expr::times(s(), one_minus(s()))]
        }
        // erf′(a) = 2/√π · exp(−a²)
        Prim::Erf => vec![Expr::times(
            Expr::Num(std::f64::consts::FRAC_2_SQRT_PI),
            Expr::call(Prim::Exp, Expr::negate(Expr::pow(a(), 2.0))),
        )],
        // max(a, b) = a where a > b, else b.
        Prim::Max => vec![step_diff(), one_minus(step_diff())],
        // min(a, b) = b where a > b, else a.
        Prim::Min => vec![one_minus(step_diff()), step_diff()],
        // Piecewise constant: zero almost everywhere.
        Prim::Step | Prim::Sign => vec![Expr::Num(0.0)],
        // softplus′ = σ
        Prim::Softplus => vec![Expr::call(Prim::Sigmoid, a())],
        // ∂logaddexp(a, b)/∂a = σ(a − b), ∂/∂b = σ(b − a): smooth, ties included.
        Prim::LogAddExp => {
            let gap = |x: &Expr, y: &Expr| Expr::plus(x.clone(), Expr::negate(y.clone()));
            vec![
                Expr::call(Prim::Sigmoid, gap(&args[0], &args[1])),
                Expr::call(Prim::Sigmoid, gap(&args[1], &args[0])),
            ]
        }
        // A user's function: its derivative, derived once with the function.
        Prim::Apply(g) => vec![Expr::call(Prim::Derivative(g.clone()), a())],
        Prim::Derivative(g) => panic!(
            "`{}` is a derivative, and derivatives are never differentiated again",
            g.prime
        ),
    }
}
