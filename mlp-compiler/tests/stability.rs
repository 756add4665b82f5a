//! What the engine derives evaluates without overflow or NaN from −1e4 to 1e4, and agrees
//! with references computed here independently in f64 (with `erfc`, `ln_1p` and the largest
//! logit subtracted, where precision needs them).

use mlp_compiler::autodiff::forward;
use mlp_compiler::autodiff::reverse::derive;
use mlp_compiler::{compile_spec, interp};

const INPUTS: [f64; 11] = [
    -1e4, -1e3, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1e3, 1e4,
];

/// Loss and gradient from the derived equations for `spec` (a network without biases).
fn derived(spec: &str, params: &[f64], x: f64, targets: &[f64]) -> (f64, Vec<f64>) {
    let net = compile_spec(spec).unwrap();
    let d = derive(&forward::program(&net).unwrap()).unwrap();
    let (loss, grad, _) = interp::loss_and_gradient(&d, params, &[x], targets, 1);
    (loss, grad)
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

#[track_caller]
fn close(what: &str, x: f64, got: f64, want: f64, tolerance: f64) {
    assert!(got.is_finite(), "{what} at {x}: {got}");
    assert!(
        (got - want).abs() <= tolerance * want.abs().max(1.0),
        "{what} at {x}: {got}, expected {want}"
    );
}

#[test]
fn softplus_and_its_derivative() {
    for x in INPUTS {
        // L = ½·softplus(W·x)² with W = 1; ∂L/∂W = softplus(x)·σ(x)·x.
        let (loss, grad) = derived("1 -> softplus 1 no_bias : l2", &[1.0], x, &[0.0]);
        close("softplus loss", x, loss, 0.5 * softplus(x).powi(2), 1e-12);
        close(
            "softplus gradient",
            x,
            grad[0],
            softplus(x) * sigmoid(x) * x,
            1e-12,
        );
    }
}

#[test]
fn sigmoid_and_its_derivative() {
    for x in INPUTS {
        let (loss, grad) = derived("1 -> sigmoid 1 no_bias : l2", &[1.0], x, &[0.0]);
        let s = sigmoid(x);
        close("sigmoid loss", x, loss, 0.5 * s * s, 1e-12);
        close("sigmoid gradient", x, grad[0], s * s * (1.0 - s) * x, 1e-12);
    }
}

#[test]
fn gelu_and_its_derivative() {
    for x in INPUTS {
        // Φ through erfc, which keeps its precision in the far tails.
        let phi = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
        let density = (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let gelu = x * phi;
        let (loss, grad) = derived("1 -> gelu 1 no_bias : l2", &[1.0], x, &[0.0]);
        // PyTorch's exact GELU computes 1 + erf(x/√2), which cancels to 0 in the far negative
        // tail: compare there in absolute terms.
        close("gelu loss", x, loss, 0.5 * gelu * gelu, 1e-12);
        close(
            "gelu gradient",
            x,
            grad[0],
            gelu * (phi + x * density) * x,
            1e-12,
        );
    }
}

#[test]
fn bce_on_logits() {
    for x in INPUTS {
        for t in [0.0, 0.3, 1.0] {
            // ℓ = −t·log σ(y) − (1 − t)·log(1 − σ(y)) = softplus(y) − t·y; ∂ℓ/∂y = σ(y) − t.
            let (loss, grad) = derived("1 -> 1 no_bias : bce", &[1.0], x, &[t]);
            close("bce loss", x, loss, softplus(x) - t * x, 1e-12);
            close("bce gradient", x, grad[0], (sigmoid(x) - t) * x, 1e-12);
        }
    }
}

/// Logits (x, −x, x/2) from one input through W = (1, −1, ½).
fn logits(x: f64) -> [f64; 3] {
    [x, -x, 0.5 * x]
}

fn softmax(z: [f64; 3]) -> [f64; 3] {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e = z.map(|v| (v - m).exp());
    let s: f64 = e.iter().sum();
    e.map(|v| v / s)
}

fn lse(z: [f64; 3]) -> f64 {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

#[test]
fn nll_on_extreme_logits() {
    for x in INPUTS {
        for label in 0..3 {
            let z = logits(x);
            let (loss, grad) = derived(
                "1 -> 3 no_bias : nll",
                &[1.0, -1.0, 0.5],
                x,
                &[label as f64],
            );
            close("nll loss", x, loss, lse(z) - z[label], 1e-12);
            let p = softmax(z);
            for k in 0..3 {
                let onehot = f64::from(k == label);
                close("nll gradient", x, grad[k], (p[k] - onehot) * x, 1e-12);
            }
        }
    }
}

#[test]
fn ce_on_extreme_logits() {
    let t = [0.2, 0.5, 0.3];
    for x in INPUTS {
        let z = logits(x);
        let (loss, grad) = derived("1 -> 3 no_bias : ce", &[1.0, -1.0, 0.5], x, &t);
        let want: f64 = (0..3).map(|k| t[k] * (lse(z) - z[k])).sum();
        close("ce loss", x, loss, want, 1e-12);
        let p = softmax(z);
        for k in 0..3 {
            close("ce gradient", x, grad[k], (p[k] - t[k]) * x, 1e-12);
        }
    }
}

#[test]
fn softmax_activation_on_extreme_scores() {
    for x in INPUTS {
        let (loss, grad) = derived(
            "1 -> softmax 3 no_bias : l2",
            &[1.0, -1.0, 0.5],
            x,
            &[0.0, 1.0, 0.0],
        );
        let p = softmax(logits(x));
        let e = [p[0], p[1] - 1.0, p[2]];
        close(
            "softmax loss",
            x,
            loss,
            0.5 * e.iter().map(|v| v * v).sum::<f64>(),
            1e-12,
        );
        // ∂L/∂zₘ = pₘ·(eₘ − Σᵢ eᵢ·pᵢ)
        let dot: f64 = (0..3).map(|i| e[i] * p[i]).sum();
        for m in 0..3 {
            close(
                "softmax gradient",
                x,
                grad[m],
                p[m] * (e[m] - dot) * x,
                1e-12,
            );
        }
    }
}

#[test]
fn derivatives_at_kinks_follow_pytorch() {
    // At the kink z = W·x + b = 0 (W = 0, b = 0), differentiated by the bias.
    for (act, expected) in [
        ("relu", 0.0),
        ("leaky_relu(0.2)", 0.2),
        ("elu(0.5)", 0.5),
        ("act_abs", 0.0),
    ] {
        let spec = if act == "act_abs" {
            "act absolute(x) = abs(x); 1 -> absolute 1 : l2".to_owned()
        } else {
            format!("1 -> {act} 1 : l2")
        };
        // Parameters W = 0, b = 0; target −1: L = ½(act(0) + 1)², ∂L/∂b = (act(0) + 1)·act′(0).
        let (_, grad) = derived(&spec, &[0.0, 0.0], 1.0, &[-1.0]);
        assert_eq!(grad[1], expected, "{act}′(0)");
    }
}

/// A user's own σ, softplus, tanh or log-sum-exp is read as the stable primitive before it is
/// differentiated, so loss and gradient stay finite and exact from −1e4 to 1e4 (written out,
/// `1/(1 + exp(-x))` differentiates to `exp(−x)·(1 + exp(−x))⁻²`, NaN below −88 in f32 and
/// below −709 in f64).
#[test]
fn written_out_stable_functions() {
    let tanh = |x: f64| x.tanh();
    type Function<'a> = &'a dyn Fn(f64) -> f64;
    let forms: [(&str, Function, Function); 8] = [
        ("1 / (1 + exp(-x))", &sigmoid, &|x| {
            sigmoid(x) * (1.0 - sigmoid(x))
        }),
        ("1 / (exp(-x) + 1)", &sigmoid, &|x| {
            sigmoid(x) * (1.0 - sigmoid(x))
        }),
        ("(1 + exp(-x)) ^ -1", &sigmoid, &|x| {
            sigmoid(x) * (1.0 - sigmoid(x))
        }),
        ("exp(x) / (1 + exp(x))", &sigmoid, &|x| {
            sigmoid(x) * (1.0 - sigmoid(x))
        }),
        ("log(1 + exp(x))", &softplus, &sigmoid),
        (
            "(exp(x) - exp(-x)) / (exp(x) + exp(-x))",
            &tanh,
            &|x: f64| 1.0 - x.tanh().powi(2),
        ),
        // log(exp(x) + exp(3x)) with the larger term factored: 2x + |x| + log(1 + e^{−2|x|})
        (
            "log(exp(x) + exp(3 * x))",
            &|x: f64| 2.0 * x + x.abs() + (-2.0 * x.abs()).exp().ln_1p(),
            &|x: f64| {
                let p = sigmoid(2.0 * x);
                (1.0 - p) + 3.0 * p
            },
        ),
        (
            "log(exp(x) + exp(x))",
            &|x| x + std::f64::consts::LN_2,
            &|_| 1.0,
        ),
    ];
    for (formula, f, df) in forms {
        let spec = format!("act g(x) = {formula}; 1 -> g 1 no_bias : l2");
        for x in INPUTS {
            // L = ½·g(W·x)² with W = 1; ∂L/∂W = g(x)·g′(x)·x.
            let (loss, grad) = derived(&spec, &[1.0], x, &[0.0]);
            close(formula, x, loss, 0.5 * f(x).powi(2), 1e-12);
            close(formula, x, grad[0], f(x) * df(x) * x, 1e-12);
        }
    }
}
