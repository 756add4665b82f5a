//! Shared by the differential tests: random networks (drawn by `build.rs`), compiled by
//! `mlp!`, checked against the f64 reference interpreter of `mlp-compiler` on the same
//! parameters, inputs and targets, at batch sizes 1, 7, 64 and 100.

use mlp_compiler::autodiff::forward::X;
use mlp_compiler::interp::{self, Interp};

/// Every optimizer, with the options that change its update: what a fused training step is
/// checked against.
pub fn optimizers() -> Vec<(&'static str, mlp_runtime::optim::Choice)> {
    use mlp_runtime::optim::Choice;
    use mlp_runtime::{Adam, RmsProp, Sgd};
    vec![
        ("sgd", Choice::Sgd(Sgd::new(0.05))),
        (
            "sgd, weight decay",
            Choice::Sgd(Sgd::new(0.05).weight_decay(0.01)),
        ),
        (
            "momentum, dampening, weight decay",
            Choice::Sgd(
                Sgd::new(0.05)
                    .momentum(0.9)
                    .dampening(0.1)
                    .weight_decay(0.01),
            ),
        ),
        (
            "nesterov",
            Choice::Sgd(Sgd::new(0.05).momentum(0.9).nesterov(true)),
        ),
        (
            "adam, weight decay",
            Choice::Adam(Adam::new(0.01).weight_decay(0.01)),
        ),
        ("adamw", Choice::Adam(Adam::adamw(0.01))),
        ("rmsprop", Choice::RmsProp(RmsProp::new(0.01))),
        (
            "rmsprop, centered, momentum",
            Choice::RmsProp(RmsProp::new(0.01).centered(true).momentum(0.5)),
        ),
    ]
}

/// Values in [−1.5, 1.5), reproducible from `seed`.
pub fn inputs(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = mlp_runtime::Rng::new(seed);
    (0..n).map(|_| rng.uniform(-1.5, 1.5)).collect()
}

/// Targets for a vector loss: probability rows for `ce`, values in [0, 1] for `bce`, in
/// [−1, 1] otherwise.
pub fn vector_targets(spec: &str, seed: u64, rows: usize, cols: usize) -> Vec<f32> {
    let mut rng = mlp_runtime::Rng::new(seed);
    let mut out: Vec<f32> = (0..rows * cols).map(|_| rng.uniform(0.05, 1.0)).collect();
    if spec.ends_with(": ce") {
        for row in out.chunks_mut(cols) {
            let s: f32 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= s);
        }
    } else if !spec.ends_with(": bce") {
        out.iter_mut().for_each(|v| *v = 2.0 * *v - 1.0);
    }
    out
}

/// Compares the generated loss, gradient and output with the reference. Returns 1 if the
/// sample was compared, 0 if it sat too close to a kink for f32 and f64 to agree on a side.
#[allow(clippy::too_many_arguments)]
pub fn compare(
    name: &str,
    spec: &str,
    params: &[f32],
    xs: &[f32],
    targets: &[f64],
    batch: usize,
    loss: f32,
    grad: &[f32],
    output0: &[f32],
) -> usize {
    let compiled = mlp_compiler::compile(spec).unwrap_or_else(|e| panic!("{name}: {e}"));
    let d = &compiled.derived;
    let p64: Vec<f64> = params.iter().map(|v| *v as f64).collect();
    let x64: Vec<f64> = xs.iter().map(|v| *v as f64).collect();
    let (want_loss, want_grad, kink) = interp::loss_and_gradient(d, &p64, &x64, targets, batch);
    // f32 and f64 can disagree on the side of a kink only within f32 rounding of its argument.
    if kink < 1e-4 {
        return 0;
    }
    let close = |got: f64, want: f64, scale: f64| {
        (got - want).abs() <= 2e-3 * want.abs() + 1e-4 * scale + 1e-6
    };
    assert!(
        close(loss as f64, want_loss, 1.0),
        "{name} {spec} batch {batch}: loss {loss}, reference {want_loss}"
    );
    let scale = want_grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    for (k, (g, w)) in grad.iter().zip(&want_grad).enumerate() {
        assert!(
            close(*g as f64, *w, scale),
            "{name} {spec} batch {batch}: ∂L/∂θ[{k}] = {g}, reference {w}"
        );
    }
    // The output of the first sample, through the one-sample path.
    let mut it = Interp::<f64>::new(&d.program, 1);
    it.set(X, x64[..compiled.network.inputs].to_vec());
    it.set_params(&p64);
    let values: Vec<_> = d
        .forward
        .iter()
        .filter(|e| e.lhs.var != mlp_compiler::autodiff::forward::L)
        .cloned()
        .collect();
    it.run(&values);
    let want_out = it.get(d.program.output, false);
    let out_scale = want_out.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (k, (o, w)) in output0.iter().zip(want_out).enumerate() {
        assert!(
            close(*o as f64, *w, out_scale),
            "{name} {spec}: output[{k}] = {o}, reference {w}"
        );
    }
    1
}

/// Checks one generated network at every batch size; `$targets(batch)` gives the targets in
/// the network's own type and as the reference reads them.
macro_rules! check_net {
    ($net:ident, $name:expr, $spec:expr, $targets:expr) => {{
        let mut compared = 0;
        for batch in [1usize, 7, 64, 100] {
            let net = $net::new(batch as u64);
            let xs = crate::common::inputs(batch as u64 + 100, batch * $net::INPUTS);
            let (targets, reference): (Vec<_>, Vec<f64>) = $targets(batch);
            let mut grad = vec![0.0f32; $net::PARAMS];
            let loss = net.gradient(&xs, &targets, &mut grad);
            // A step fused into one loop over the samples computes the passes' own
            // statements in their order: its loss is the forward pass's, bit for bit.
            assert_eq!(
                loss.to_bits(),
                net.loss(&xs, &targets).to_bits(),
                "{} batch {batch}: the step's loss differs from the forward pass's",
                $name
            );
            let first: [f32; $net::INPUTS] = xs[..$net::INPUTS].try_into().unwrap();
            let out = net.forward(&first);
            compared += crate::common::compare(
                $name,
                $spec,
                net.params(),
                &xs,
                &reference,
                batch,
                loss,
                &grad,
                &out,
            );
        }
        // A training step (the update folded into the backward pass: plain SGD into the weight
        // gradients' products, never stored; any other optimizer in a pass over each tensor
        // right after its gradient) equals the gradient then `Optimizer::step`, bit for bit,
        // over two steps (momentum and moment buffers start at the first); 300 samples take
        // plain SGD's unfused path (more than one depth block).
        for (opt_name, opt) in crate::common::optimizers() {
            for batch in [1usize, 64, 300] {
                let net = $net::new(batch as u64 + 7);
                let xs = crate::common::inputs(batch as u64 + 200, batch * $net::INPUTS);
                let (targets, _): (Vec<_>, Vec<f64>) = $targets(batch);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let (mut expected, mut reference) = (net.clone(), opt.clone());
                let (mut stepped, mut fused) = (net.clone(), opt.clone());
                for step in 1..=2 {
                    let mut grad = vec![0.0f32; $net::PARAMS];
                    let loss = expected.gradient(&xs, &targets, &mut grad);
                    mlp_runtime::Optimizer::step(&mut reference, expected.params_mut(), &grad);
                    let step_loss = stepped.train_step(&xs, &targets, &mut fused);
                    assert_eq!(
                        step_loss.to_bits(),
                        loss.to_bits(),
                        "{}: loss of step {step} with {opt_name}",
                        $name
                    );
                    assert_eq!(
                        bits(stepped.params()),
                        bits(expected.params()),
                        "{} (batch {batch}, {opt_name}): train_step {step} differs from gradient then step",
                        $name
                    );
                }
                assert_eq!(
                    mlp_runtime::Optimizer::state(&fused),
                    mlp_runtime::Optimizer::state(&reference),
                    "{} (batch {batch}, {opt_name}): optimizer state",
                    $name
                );
            }
        }
        compared
    }};
}

macro_rules! check_labels {
    ($net:ident, $name:expr, $spec:expr) => {
        check_net!($net, $name, $spec, |batch: usize| {
            let labels: Vec<u32> = (0..batch)
                .map(|k| ((k * 7 + 3) % $net::OUTPUTS) as u32)
                .collect();
            let reference = labels.iter().map(|l| *l as f64).collect();
            (labels, reference)
        })
    };
}

macro_rules! check_vectors {
    ($net:ident, $name:expr, $spec:expr) => {
        check_net!($net, $name, $spec, |batch: usize| {
            let flat = crate::common::vector_targets($spec, batch as u64, batch, $net::OUTPUTS);
            let rows: Vec<[f32; $net::OUTPUTS]> = flat
                .chunks($net::OUTPUTS)
                .map(|r| r.try_into().unwrap())
                .collect();
            (rows, flat.iter().map(|v| *v as f64).collect())
        })
    };
}

include!(concat!(env!("OUT_DIR"), "/random_nets.rs"));

/// Checks every random network; returns how many (network, batch) pairs were compared.
pub fn run_all() -> usize {
    RANDOM_NETS
        .iter()
        .map(|(name, spec, check)| check(name, spec))
        .sum()
}
