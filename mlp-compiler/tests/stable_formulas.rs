//! Random custom formulas that write out stable functions (σ as `1/(1 + exp(-g))` or
//! `exp(g)/(1 + exp(g))`, softplus as `log(1 + exp(g))`, tanh from exponentials, a two-term
//! log-sum-exp) inside other operations, evaluated from −1e4 to 1e4: wherever the true loss
//! and gradient are finite, the derived ones are finite and agree.
//!
//! The truth comes from the generator's own tree, evaluated here in f64 with forward-mode dual
//! numbers and each stable function computed stably: nothing of the engine's is used.

use mlp_compiler::autodiff::forward;
use mlp_compiler::autodiff::reverse::derive;
use mlp_compiler::{compile_spec, interp};
use proptest::prelude::*;

const INPUTS: [f64; 12] = [
    -1e4, -1e3, -100.0, -40.0, -1.0, 0.0, 0.5, 1.0, 40.0, 100.0, 1e3, 1e4,
];

/// A formula as generated: what it means, and how it is written.
#[derive(Clone, Debug)]
enum F {
    X,
    Const(f64),
    Add(Box<F>, Box<F>),
    Sub(Box<F>, Box<F>),
    Mul(Box<F>, Box<F>),
    Neg(Box<F>),
    Abs(Box<F>),
    Max(Box<F>, Box<F>),
    /// `1/(1 + exp(-g))`
    Logistic(Box<F>),
    /// `exp(g)/(1 + exp(g))`
    Odds(Box<F>),
    /// `log(1 + exp(g))`
    Softplus(Box<F>),
    /// `(exp(g) - exp(-g))/(exp(g) + exp(-g))`
    Tanh(Box<F>),
    /// `log(exp(g) + exp(h))`
    LogAddExp(Box<F>, Box<F>),
}

impl F {
    fn text(&self) -> String {
        match self {
            F::X => "x".to_owned(),
            F::Const(c) => format!("{c}"),
            F::Add(a, b) => format!("({} + {})", a.text(), b.text()),
            F::Sub(a, b) => format!("({} - {})", a.text(), b.text()),
            F::Mul(a, b) => format!("({} * {})", a.text(), b.text()),
            F::Neg(a) => format!("(-{})", a.text()),
            F::Abs(a) => format!("abs({})", a.text()),
            F::Max(a, b) => format!("max({}, {})", a.text(), b.text()),
            F::Logistic(g) => format!("1 / (1 + exp(-{}))", g.text()),
            F::Odds(g) => format!("exp({0}) / (1 + exp({0}))", g.text()),
            F::Softplus(g) => format!("log(1 + exp({}))", g.text()),
            F::Tanh(g) => format!("(exp({0}) - exp(-{0})) / (exp({0}) + exp(-{0}))", g.text()),
            F::LogAddExp(g, h) => format!("log(exp({}) + exp({}))", g.text(), h.text()),
        }
    }

    /// The value and derivative at `x`, computed stably.
    fn eval(&self, x: f64) -> Dual {
        let go = |f: &F| f.eval(x);
        match self {
            F::X => Dual { v: x, d: 1.0 },
            F::Const(c) => Dual { v: *c, d: 0.0 },
            F::Add(a, b) => go(a) + go(b),
            F::Sub(a, b) => go(a) + -go(b),
            F::Mul(a, b) => go(a) * go(b),
            F::Neg(a) => -go(a),
            F::Abs(a) => {
                let a = go(a);
                // |a|′ = sign(a), 0 at 0 as the engine's sign.
                let s = if a.v > 0.0 {
                    1.0
                } else if a.v < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                Dual {
                    v: a.v.abs(),
                    d: s * a.d,
                }
            }
            F::Max(a, b) => {
                let (a, b) = (go(a), go(b));
                // At a tie, max follows its second argument.
                if a.v > b.v { a } else { b }
            }
            F::Logistic(g) | F::Odds(g) => {
                let g = go(g);
                let s = sigmoid(g.v);
                Dual {
                    v: s,
                    d: s * (1.0 - s) * g.d,
                }
            }
            F::Softplus(g) => {
                let g = go(g);
                Dual {
                    v: softplus(g.v),
                    d: sigmoid(g.v) * g.d,
                }
            }
            F::Tanh(g) => {
                let g = go(g);
                let t = g.v.tanh();
                Dual {
                    v: t,
                    d: (1.0 - t * t) * g.d,
                }
            }
            F::LogAddExp(g, h) => {
                let (g, h) = (go(g), go(h));
                let p = sigmoid(g.v - h.v);
                Dual {
                    v: g.v.max(h.v) + softplus(-(g.v - h.v).abs()),
                    d: p * g.d + (1.0 - p) * h.d,
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Dual {
    v: f64,
    d: f64,
}

impl std::ops::Add for Dual {
    type Output = Dual;
    fn add(self, o: Dual) -> Dual {
        Dual {
            v: self.v + o.v,
            d: self.d + o.d,
        }
    }
}

impl std::ops::Mul for Dual {
    type Output = Dual;
    fn mul(self, o: Dual) -> Dual {
        Dual {
            v: self.v * o.v,
            d: self.d * o.v + self.v * o.d,
        }
    }
}

impl std::ops::Neg for Dual {
    type Output = Dual;
    fn neg(self) -> Dual {
        Dual {
            v: -self.v,
            d: -self.d,
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn formula() -> impl Strategy<Value = F> {
    let leaf = prop_oneof![
        3 => Just(F::X),
        1 => (1u32..30).prop_map(|c| F::Const(f64::from(c) / 10.0)),
    ];
    leaf.prop_recursive(3, 16, 2, |inner| {
        let one = |f: fn(Box<F>) -> F| inner.clone().prop_map(move |a| f(Box::new(a)));
        let two = |f: fn(Box<F>, Box<F>) -> F| {
            (inner.clone(), inner.clone()).prop_map(move |(a, b)| f(Box::new(a), Box::new(b)))
        };
        prop_oneof![
            two(F::Add),
            two(F::Sub),
            two(F::Mul),
            one(F::Neg),
            one(F::Abs),
            two(F::Max),
            one(F::Logistic),
            one(F::Odds),
            one(F::Softplus),
            one(F::Tanh),
            two(F::LogAddExp),
        ]
    })
}

/// Whether `got` is `want` up to rounding: relative 1e-9, or 1e-12 absolute near zero.
fn agree(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(got.abs()) || (got - want).abs() <= 1e-12
}

/// Whether the gradient `got` of g at input `x` (g·g′·x) is `want` up to rounding: as
/// [`agree`], or, where g′ cancels to about zero, within the rounding its terms carry there.
/// The argument of each exponential in a partial is rounded at the magnitude of `x` (an
/// absolute ε·|x|), so a g′ that is a difference of such terms is exact to a few ε·|x|, and
/// the gradient to that times |g·x|.
fn agree_gradient(got: f64, want: f64, g: f64, x: f64) -> bool {
    agree(got, want) || (got - want).abs() <= 8.0 * f64::EPSILON * x.abs() * (g * x).abs()
}

fn check(f: &F) -> Result<(), TestCaseError> {
    let text = f.text();
    let spec = format!("act g(x) = {text}; 1 -> g 1 no_bias : l2");
    let net = match compile_spec(&spec) {
        Ok(net) => net,
        // Past the formula size limit: a clear error, which tests/limits.rs covers.
        Err(_) => return Ok(()),
    };
    let Ok(d) = forward::program(&net).and_then(|p| derive(&p)) else {
        return Ok(());
    };
    for x in INPUTS {
        // L = ½·g(W·x)² at W = 1; ∂L/∂W = g(x)·g′(x)·x.
        let g = f.eval(x);
        let (want_loss, want_grad) = (0.5 * g.v * g.v, g.v * g.d * x);
        if !(want_loss.is_finite() && want_grad.is_finite()) {
            continue;
        }
        let (loss, grad, _) = interp::loss_and_gradient(&d, &[1.0], &[x], &[0.0], 1);
        prop_assert!(
            agree(loss, want_loss),
            "{text} at {x}: loss {loss}, expected {want_loss}"
        );
        prop_assert!(
            agree_gradient(grad[0], want_grad, g.v, x),
            "{text} at {x}: gradient {}, expected {want_grad}",
            grad[0]
        );
    }
    Ok(())
}

/// A case proptest found: g(x) = (0.1 + x) − logaddexp(x, x − 0.1) is a constant, and at
/// x = −10⁴ its derived g′ came out as 7.6e-14 (each partial's exponent rounded at 10⁴), a
/// gradient of −4.9e-10 where the dual numbers give 0.
#[test]
fn a_cancelling_derivative_is_exact_to_its_rounding() {
    use F::*;
    let f = Sub(
        Box::new(Add(Box::new(Const(0.1)), Box::new(X))),
        Box::new(LogAddExp(
            Box::new(X),
            Box::new(Sub(Box::new(X), Box::new(Const(0.1)))),
        )),
    );
    if let Err(e) = check(&f) {
        panic!("{e}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn written_out_stable_functions_stay_finite_and_exact(f in formula()) {
        check(&f)?;
    }
}
