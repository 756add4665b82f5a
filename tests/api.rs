//! The generated API's contract: sizes and labels checked with messages that name what was
//! expected, PyTorch's initialization bounds, determinism for a seed and a thread count.

use mlp_runtime::{Optimizer, Sgd};

mlp_runtime::mlp! {
    /// The seed network.
    pub struct Mnist = 784 -> relu 512 -> relu 512 -> 10 : nll;
    /// A small regression network.
    pub struct Small = 2 -> tanh 8 -> sigmoid 1 : mse;
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let err = std::panic::catch_unwind(f).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn wrong_sizes_and_labels_are_named() {
    let net = Mnist::new(1);
    let m = panic_message(|| {
        net.loss(&[0.0; 783], &[1]);
    });
    assert!(
        m.contains("whole number of samples of 784 values each, found 783 values"),
        "{m}"
    );
    let m = panic_message(|| {
        net.loss(&[0.0; 784 * 2], &[1]);
    });
    assert!(m.contains("2 samples need 2 targets, found 1"), "{m}");
    let m = panic_message(|| {
        net.loss(&[0.0; 784], &[10]);
    });
    assert!(
        m.contains("label 10 of sample 0 is out of range: the network has 10 classes"),
        "{m}"
    );
    let m = panic_message(|| {
        let mut grad = vec![0.0; 5];
        net.gradient(&[0.0; 784], &[1], &mut grad);
    });
    assert!(
        m.contains("the gradient needs 669706 values (PARAMS), found 5"),
        "{m}"
    );
    let m = panic_message(|| {
        let mut out = vec![0.0; 3];
        net.predict(&[0.0; 784], &mut out);
    });
    assert!(
        m.contains("1 samples need 10 outputs, found room for 3"),
        "{m}"
    );
}

#[test]
fn initialization_is_pytorch_default_and_seeded() {
    let a = Mnist::new(7);
    assert_eq!(a.params(), Mnist::new(7).params());
    assert_ne!(a.params(), Mnist::new(8).params());
    assert_eq!(a.params().len(), Mnist::PARAMS);
    // Layer 1 (fan-in 784): W¹ then b¹, all within ±1/√784; layer 2 within ±1/√512.
    let (l1, rest) = a.params().split_at(784 * 512 + 512);
    let l2 = &rest[..512 * 512 + 512];
    assert!(l1.iter().all(|v| v.abs() <= 1.0 / 28.0));
    assert!(l2.iter().all(|v| v.abs() <= 1.0 / 512f32.sqrt()));
    // Not degenerate: the bound is reached to within 1%.
    assert!(l1.iter().fold(0.0f32, |m, v| m.max(v.abs())) > 0.99 / 28.0);
}

/// Mean and standard deviation of `v`.
fn moments(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|x| *x as f64).sum::<f64>() / n;
    let var = v.iter().map(|x| (*x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Each initializer draws the weights of layer 2 (512 → 512, 262,144 values) with the bound or
/// standard deviation `torch.nn.init` documents, zero biases, and the same values for a seed.
#[test]
fn initializers_follow_torch_nn_init() {
    use mlp_runtime::Init;
    let relu = 2f64.sqrt();
    let (fan_in, fan_out) = (512.0f64, 512.0f64);
    let xavier = (6.0 / (fan_in + fan_out)).sqrt();
    let kaiming = relu * (3.0 / fan_in).sqrt();
    let cases = [
        ("xavier-uniform", Some(xavier), xavier / 3f64.sqrt()),
        ("xavier-normal", None, (2.0 / (fan_in + fan_out)).sqrt()),
        ("kaiming-uniform", Some(kaiming), kaiming / 3f64.sqrt()),
        ("kaiming-normal", None, relu / fan_in.sqrt()),
    ];
    for (name, bound, std) in cases {
        let init = Init::parse(name).unwrap();
        let net = Mnist::with_init(3, init);
        assert_eq!(net.params(), Mnist::with_init(3, init).params(), "{name}");
        let l2 = &net.params()[784 * 512 + 512..][..512 * 512 + 512];
        let (w, b) = l2.split_at(512 * 512);
        assert!(b.iter().all(|v| *v == 0.0), "{name}: biases are zero");
        let (mean, sd) = moments(w);
        assert!(mean.abs() < 0.02 * std, "{name}: mean {mean}");
        assert!(
            (sd / std - 1.0).abs() < 0.01,
            "{name}: std {sd}, expected {std}"
        );
        if let Some(bound) = bound {
            let most = w.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
            assert!(
                most <= bound && most > 0.99 * bound,
                "{name}: max |w| {most}, bound {bound}"
            );
        }
    }
    assert_eq!(
        Mnist::with_init(5, Init::Default).params(),
        Mnist::new(5).params()
    );
    let err = Init::parse("he").unwrap_err();
    assert!(err.contains("unknown initializer `he`"), "{err}");
}

fn train(threads: usize) -> Vec<f32> {
    mlp_runtime::set_num_threads(threads);
    let mut net = Mnist::new(3);
    let mut sgd = Sgd::new(0.1);
    let xs: Vec<f32> = (0..64 * 784)
        .map(|k| ((k * 7919) % 255) as f32 / 255.0)
        .collect();
    let labels: Vec<u32> = (0..64).map(|k| (k % 10) as u32).collect();
    for _ in 0..3 {
        net.train_step(&xs, &labels, &mut sgd);
    }
    net.params().to_vec()
}

#[test]
fn results_are_bit_identical_run_to_run_and_across_thread_counts() {
    let one = train(1);
    assert_eq!(one, train(1));
    // Threads split columns of each product, never a sum, so results do not change either.
    assert_eq!(one, train(2));
    assert_eq!(one, train(3));
}

#[test]
fn train_step_equals_gradient_then_update() {
    let mut a = Small::new(5);
    let b = a.clone();
    let xs = [0.3, -0.7, 1.2, 0.1];
    let ts = [[0.9], [0.1]];
    let mut grad = vec![0.0; Small::PARAMS];
    let loss = b.gradient(&xs, &ts, &mut grad);
    let mut expected = b.params().to_vec();
    Sgd::new(0.5).step(&mut expected, &grad);
    assert_eq!(a.train_step(&xs, &ts, &mut Sgd::new(0.5)), loss);
    assert_eq!(a.params(), &expected[..]);
}

/// An evaluation's one forward pass gives the loss and the outputs that `loss` and `predict`
/// give, bit for bit; the training loop's evaluation uses it.
#[test]
fn loss_and_outputs_equals_loss_and_predict() {
    let net = Mnist::new(3);
    let batch = 37;
    let mut rng = mlp_runtime::Rng::new(9);
    let xs: Vec<f32> = (0..batch * Mnist::INPUTS)
        .map(|_| rng.uniform(0.0, 1.0))
        .collect();
    let labels: Vec<u32> = (0..batch as u32).map(|k| k * 7 % 10).collect();
    let mut want = vec![0.0; batch * Mnist::OUTPUTS];
    net.predict(&xs, &mut want);
    let mut got = vec![f32::NAN; batch * Mnist::OUTPUTS];
    let loss = net.loss_and_outputs(&xs, &labels, &mut got);
    assert_eq!(loss.to_bits(), net.loss(&xs, &labels).to_bits());
    assert_eq!(got, want);
    let message = panic_message(|| {
        net.loss_and_outputs(&xs, &labels, &mut [0.0; 3]);
    });
    assert!(
        message.contains("37 samples need 370 outputs, found room for 3"),
        "{message}"
    );
}

/// A network's workspace keeps the size of its largest batch: a smaller batch after it (an
/// epoch's last) must give what a fresh network gives, every reduction over the batch's rows
/// alone (the bias gradients once summed the larger batch's stale rows too).
#[test]
fn a_smaller_batch_after_a_larger_one_sees_only_its_rows() {
    let mut rng = mlp_runtime::Rng::new(4);
    let xs: Vec<f32> = (0..20 * Mnist::INPUTS)
        .map(|_| rng.uniform(0.0, 1.0))
        .collect();
    let labels: Vec<u32> = (0..20).map(|k| k * 3 % 10).collect();
    let (small_xs, small_labels) = (&xs[..3 * Mnist::INPUTS], &labels[..3]);
    let mut used = Mnist::new(1);
    let mut grad = vec![0.0; Mnist::PARAMS];
    used.gradient(&xs, &labels, &mut grad);
    let fresh = used.clone();
    let mut want = vec![0.0; Mnist::PARAMS];
    fresh.gradient(small_xs, small_labels, &mut want);
    used.gradient(small_xs, small_labels, &mut grad);
    assert!(grad == want, "the gradient of 3 samples after 20 differs");
    // The fused step, on a network whose workspace held 20 samples.
    let mut sgd = Sgd::new(0.1);
    used.train_step(&xs, &labels, &mut sgd);
    let mut fresh = used.clone();
    fresh.train_step(small_xs, small_labels, &mut sgd.clone());
    used.train_step(small_xs, small_labels, &mut sgd);
    assert!(
        used.params() == fresh.params(),
        "a step on 3 samples after 20 differs"
    );
    // A regression network, whose loss is a sum over the batch's rows too.
    let small = Small::new(2);
    let big: Vec<f32> = (0..40).map(|k| k as f32 / 40.0).collect();
    let ts: Vec<[f32; 1]> = (0..20).map(|k| [(k % 2) as f32]).collect();
    let mut g = vec![0.0; Small::PARAMS];
    small.gradient(&big, &ts, &mut g);
    let fresh = small.clone();
    assert_eq!(
        small.loss(&big[..6], &ts[..3]),
        fresh.loss(&big[..6], &ts[..3])
    );
    let (mut g1, mut g2) = (vec![0.0; Small::PARAMS], vec![0.0; Small::PARAMS]);
    small.gradient(&big[..6], &ts[..3], &mut g1);
    fresh.gradient(&big[..6], &ts[..3], &mut g2);
    assert_eq!(g1, g2);
}
