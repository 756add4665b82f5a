//! The optimizers against PyTorch's documented update rules (the pseudo-code of `torch.optim`),
//! written out here in f64, over several steps of a gradient that depends on the parameters;
//! and their saved state resumes a run exactly.

use mlp_runtime::optim::State;
use mlp_runtime::{Adam, Optimizer, RmsProp, Sgd};

const N: usize = 37;

fn start() -> Vec<f64> {
    (0..N)
        .map(|i| ((i * 7919 % 97) as f64 / 48.5 - 1.0) * 0.8)
        .collect()
}

/// A gradient that changes with the parameters: that of Σ (θ³/3 + sin θ·i/N).
fn gradient(theta: &[f64]) -> Vec<f64> {
    theta
        .iter()
        .enumerate()
        .map(|(i, t)| t * t + t.cos() * i as f64 / N as f64 - 0.3)
        .collect()
}

/// Runs `opt` for `steps` steps from `start()` in f32.
fn run(opt: &mut impl Optimizer, steps: usize) -> Vec<f64> {
    let mut p: Vec<f32> = start().iter().map(|v| *v as f32).collect();
    for _ in 0..steps {
        let g: Vec<f32> = gradient(&p.iter().map(|v| *v as f64).collect::<Vec<_>>())
            .iter()
            .map(|v| *v as f32)
            .collect();
        opt.step(&mut p, &g);
    }
    p.iter().map(|v| *v as f64).collect()
}

fn close(got: &[f64], want: &[f64], what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 2e-5 * w.abs().max(1.0),
            "{what}: θ[{i}] = {g}, PyTorch's rule gives {w}"
        );
    }
}

/// torch.optim.SGD, documented algorithm.
fn sgd_reference(lr: f64, mu: f64, tau: f64, wd: f64, nesterov: bool, steps: usize) -> Vec<f64> {
    let mut theta = start();
    let mut b = vec![0.0; N];
    for t in 1..=steps {
        let g = gradient(&theta);
        for i in 0..N {
            let mut g = g[i];
            if wd != 0.0 {
                g += wd * theta[i];
            }
            if mu != 0.0 {
                b[i] = if t > 1 {
                    mu * b[i] + (1.0 - tau) * g
                } else {
                    g
                };
                g = if nesterov { g + mu * b[i] } else { b[i] };
            }
            theta[i] -= lr * g;
        }
    }
    theta
}

/// torch.optim.Adam / AdamW, documented algorithm.
fn adam_reference(
    lr: f64,
    b1: f64,
    b2: f64,
    eps: f64,
    wd: f64,
    decoupled: bool,
    steps: usize,
) -> Vec<f64> {
    let mut theta = start();
    let (mut m, mut v) = (vec![0.0; N], vec![0.0; N]);
    for t in 1..=steps {
        let g = gradient(&theta);
        for i in 0..N {
            let mut g = g[i];
            if decoupled {
                theta[i] -= lr * wd * theta[i];
            } else if wd != 0.0 {
                g += wd * theta[i];
            }
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * g * g;
            let m_hat = m[i] / (1.0 - b1.powi(t as i32));
            let v_hat = v[i] / (1.0 - b2.powi(t as i32));
            theta[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
    }
    theta
}

/// torch.optim.RMSprop, documented algorithm.
fn rmsprop_reference(
    lr: f64,
    alpha: f64,
    eps: f64,
    wd: f64,
    mu: f64,
    centered: bool,
    steps: usize,
) -> Vec<f64> {
    let mut theta = start();
    let (mut v, mut gavg, mut b) = (vec![0.0; N], vec![0.0; N], vec![0.0; N]);
    for _ in 1..=steps {
        let g = gradient(&theta);
        for i in 0..N {
            let mut g = g[i];
            if wd != 0.0 {
                g += wd * theta[i];
            }
            v[i] = alpha * v[i] + (1.0 - alpha) * g * g;
            let mut vt = v[i];
            if centered {
                gavg[i] = alpha * gavg[i] + (1.0 - alpha) * g;
                vt -= gavg[i] * gavg[i];
            }
            if mu > 0.0 {
                b[i] = mu * b[i] + g / (vt.sqrt() + eps);
                theta[i] -= lr * b[i];
            } else {
                theta[i] -= lr * g / (vt.sqrt() + eps);
            }
        }
    }
    theta
}

#[test]
fn sgd_matches_pytorch_rules() {
    for (mu, tau, wd, nesterov) in [
        (0.0, 0.0, 0.0, false),
        (0.0, 0.0, 0.01, false),
        (0.9, 0.0, 0.0, false),
        (0.9, 0.1, 1e-3, false),
        (0.8, 0.0, 1e-2, true),
    ] {
        let mut opt = Sgd::new(0.05)
            .momentum(mu)
            .dampening(tau)
            .weight_decay(wd)
            .nesterov(nesterov);
        let got = run(&mut opt, 8);
        let want = sgd_reference(0.05, mu as f64, tau as f64, wd as f64, nesterov, 8);
        close(
            &got,
            &want,
            &format!("SGD μ={mu} τ={tau} λ={wd} nesterov={nesterov}"),
        );
    }
}

#[test]
fn adam_and_adamw_match_pytorch_rules() {
    for (wd, decoupled) in [(0.0, false), (0.01, false), (0.01, true), (0.1, true)] {
        let base = if decoupled {
            Adam::adamw(0.01)
        } else {
            Adam::new(0.01)
        };
        let mut opt = base.betas(0.9, 0.99).weight_decay(wd);
        let got = run(&mut opt, 10);
        let want = adam_reference(0.01, 0.9, 0.99, 1e-8, wd as f64, decoupled, 10);
        close(&got, &want, &format!("Adam λ={wd} decoupled={decoupled}"));
    }
}

#[test]
fn rmsprop_matches_pytorch_rules() {
    for (wd, mu, centered) in [
        (0.0, 0.0, false),
        (0.01, 0.0, true),
        (0.0, 0.9, false),
        (1e-3, 0.5, true),
    ] {
        let mut opt = RmsProp::new(0.01)
            .weight_decay(wd)
            .momentum(mu)
            .centered(centered);
        let got = run(&mut opt, 10);
        let want = rmsprop_reference(0.01, 0.99, 1e-8, wd as f64, mu as f64, centered, 10);
        close(
            &got,
            &want,
            &format!("RMSprop λ={wd} μ={mu} centered={centered}"),
        );
    }
}

/// Saving the state after 4 steps and resuming in a fresh optimizer gives the same parameters
/// as 9 uninterrupted steps, bit for bit.
#[test]
fn resumed_state_continues_exactly() {
    fn check<O: Optimizer>(make: impl Fn() -> O, name: &str) {
        let whole = run(&mut make(), 9);
        let mut first = make();
        let mut p: Vec<f32> = start().iter().map(|v| *v as f32).collect();
        let step = |o: &mut O, p: &mut Vec<f32>| {
            let g: Vec<f32> = gradient(&p.iter().map(|v| *v as f64).collect::<Vec<_>>())
                .iter()
                .map(|v| *v as f32)
                .collect();
            o.step(p, &g);
        };
        for _ in 0..4 {
            step(&mut first, &mut p);
        }
        let saved: State = first.state();
        assert_eq!(saved.step, 4, "{name}");
        let mut second = make();
        second.load_state(saved).unwrap();
        for _ in 0..5 {
            step(&mut second, &mut p);
        }
        let resumed: Vec<f64> = p.iter().map(|v| *v as f64).collect();
        assert_eq!(resumed, whole, "{name}: a resumed run differs");
    }
    check(|| Sgd::new(0.05).momentum(0.9).nesterov(true), "SGD");
    check(|| Adam::adamw(0.01), "AdamW");
    check(
        || RmsProp::new(0.01).momentum(0.5).centered(true),
        "RMSprop",
    );
}

#[test]
fn bad_state_is_named() {
    let mut adam = Adam::new(0.1);
    let err = adam
        .load_state(State {
            step: 3,
            buffers: vec![("exp_avg".into(), vec![0.0; 4])],
        })
        .unwrap_err();
    assert!(err.contains("`exp_avg_sq` is missing"), "{err}");
    let err = adam
        .load_state(State {
            step: 3,
            buffers: vec![
                ("exp_avg".into(), vec![0.0; 4]),
                ("exp_avg_sq".into(), vec![0.0; 3]),
            ],
        })
        .unwrap_err();
    assert!(
        err.contains("`exp_avg_sq` has 3 values, expected 4"),
        "{err}"
    );
    let err = Sgd::new(0.1)
        .load_state(State {
            step: 1,
            buffers: vec![("momentum_buffer".into(), vec![0.0; 2])],
        })
        .unwrap_err();
    assert!(err.contains("unexpected buffer `momentum_buffer`"), "{err}");
}

#[test]
#[should_panic(expected = "2 parameters but 3 gradient values")]
fn length_mismatch_panics_with_sizes() {
    Adam::new(0.1).step(&mut [0.0; 2], &[0.0; 3]);
}

/// Large parameter vectors are updated in parts on the kernel threads; the parts never change
/// a value: 1, 2 and 3 threads give the same bits.
#[test]
fn threads_do_not_change_updates() {
    fn run_big<O: Optimizer>(make: impl Fn() -> O, threads: usize) -> Vec<f32> {
        mlp_runtime::set_num_threads(threads);
        let n = 300_007usize;
        let mut p: Vec<f32> = (0..n)
            .map(|i| (i * 7919 % 997) as f32 / 498.5 - 1.0)
            .collect();
        let mut opt = make();
        for step in 0..3 {
            let g: Vec<f32> = p.iter().map(|v| v * v - 0.3 + step as f32 * 0.01).collect();
            opt.step(&mut p, &g);
        }
        p
    }
    fn check<O: Optimizer>(make: impl Fn() -> O + Copy, name: &str) {
        let one = run_big(make, 1);
        assert_eq!(one, run_big(make, 2), "{name}: 2 threads");
        assert_eq!(one, run_big(make, 3), "{name}: 3 threads");
    }
    check(|| Sgd::new(0.1), "SGD");
    check(
        || Sgd::new(0.1).momentum(0.9).weight_decay(1e-4),
        "SGD momentum",
    );
    check(|| Adam::adamw(0.01), "AdamW");
    check(
        || RmsProp::new(0.01).momentum(0.5).centered(true),
        "RMSprop",
    );
}

/// A rate a user typed goes through `Choice::parse`, which refuses what the optimizers would
/// panic on.
#[test]
fn bad_rates_are_errors_not_panics() {
    for lr in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        for name in ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"] {
            let err = mlp_runtime::optim::Choice::parse(name, lr).unwrap_err();
            assert!(
                err.contains("learning rate must be a positive number"),
                "{name} {lr}: {err}"
            );
        }
    }
    assert!(mlp_runtime::optim::Choice::parse("adam", 1e-3).is_ok());
}

/// A state with steps but no buffers (written by another optimizer) would restart Adam's
/// moments mid-run with the old step count: refused.
#[test]
fn a_state_without_buffers_after_steps_is_refused() {
    let err = Adam::new(0.1)
        .load_state(State {
            step: 7,
            buffers: Vec::new(),
        })
        .unwrap_err();
    assert!(
        err.contains("7 steps taken but the buffer `exp_avg` is missing"),
        "{err}"
    );
    // Before the first step there are no buffers, and plain SGD never has any.
    let fresh = State {
        step: 0,
        buffers: Vec::new(),
    };
    assert!(Adam::new(0.1).load_state(fresh).is_ok());
    let sgd = State {
        step: 7,
        buffers: Vec::new(),
    };
    assert!(Sgd::new(0.1).load_state(sgd).is_ok());
}

/// A step applied range by range (`begin`, then `update` on disjoint ranges) gives the bits of
/// `step`; a range outside the step begun, or an update without one, is refused with a
/// message naming it.
#[test]
fn steps_applied_by_parts_equal_step_and_check_their_ranges() {
    let grad: Vec<f32> = (0..10).map(|i| i as f32 * 0.1 - 0.4).collect();
    let mut whole = vec![0.5f32; 10];
    let mut parts = whole.clone();
    let (mut a, mut b) = (Adam::new(0.01), Adam::new(0.01));
    for _ in 0..3 {
        a.step(&mut whole, &grad);
        assert!(b.begin(10));
        b.update(0..4, &mut parts[..4], &grad[..4]);
        b.update(4..10, &mut parts[4..], &grad[4..]);
    }
    assert_eq!(whole, parts);
    let message = |f: Box<dyn FnOnce() + std::panic::UnwindSafe>| {
        let e = std::panic::catch_unwind(f).expect_err("refused");
        e.downcast_ref::<String>().cloned().unwrap_or_default()
    };
    let m = message(Box::new(|| {
        let mut o = RmsProp::new(0.01);
        o.begin(4);
        o.update(2..6, &mut [0.0; 4], &[0.0; 4]);
    }));
    assert!(
        m.contains("RMSprop: parameters 2..6 given as 4 values, in a step of 4"),
        "{m}"
    );
    let m = message(Box::new(|| {
        Sgd::new(0.1)
            .momentum(0.9)
            .update(0..2, &mut [0.0; 2], &[0.0; 2]);
    }));
    assert!(
        m.contains("SGD: update of parameters 0..2 without a step begun"),
        "{m}"
    );
}
