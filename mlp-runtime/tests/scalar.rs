//! The branch-free f32 primitives against f64 `std`, over a dense sweep of their domains and
//! at the edges (overflow, underflow, NaN, infinities).

use mlp_runtime::scalar::{exp, sigmoid, tanh};

/// Relative error of `got` against `want`, with an absolute floor for results near zero.
fn err(got: f32, want: f64, floor: f64) -> f64 {
    (got as f64 - want).abs() / want.abs().max(floor)
}

/// Every 97th f32 between `lo` and `hi` (crossing zero), about a million points per call.
fn sweep(lo: f32, hi: f32) -> impl Iterator<Item = f32> {
    let step = ((hi - lo) / 1_000_000.0).max(f32::EPSILON);
    (0..=1_000_000).map(move |k| lo + step * k as f32)
}

#[test]
fn exp_is_within_two_ulp() {
    let mut worst = 0.0f64;
    for x in sweep(-87.0, 88.7) {
        worst = worst.max(err(exp(x), (x as f64).exp(), 0.0));
    }
    assert!(worst < 2.5e-7, "worst relative error {worst:e}");
}

#[test]
fn exp_edges() {
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(100.0), f32::INFINITY);
    assert_eq!(exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(exp(-100.0), 0.0);
    assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    assert!(exp(f32::NAN).is_nan());
    let top = 88.72f32;
    assert!(err(exp(top), (top as f64).exp(), 0.0) < 2.5e-7);
}

#[test]
fn tanh_is_accurate_and_odd() {
    let mut worst = 0.0f64;
    for x in sweep(-12.0, 12.0) {
        let t = tanh(x);
        assert_eq!(t, -tanh(-x), "tanh is odd at {x}");
        assert!(t.abs() <= 1.0, "|tanh({x})| = {t} > 1");
        worst = worst.max(err(t, (x as f64).tanh(), 0.0));
    }
    assert!(worst < 5e-7, "worst relative error {worst:e}");
    for x in [1e-30f32, 1e-10, 1e-5, 3e-4] {
        assert!(err(tanh(x), (x as f64).tanh(), 0.0) < 5e-7, "tanh({x})");
    }
    assert_eq!(tanh(1e4), 1.0);
    assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
}

#[test]
fn sigmoid_has_no_overflow_and_keeps_its_tails() {
    let mut worst = 0.0f64;
    for x in sweep(-80.0, 80.0) {
        let want = 1.0 / (1.0 + (-(x as f64)).exp());
        worst = worst.max(err(sigmoid(x), want, 0.0));
    }
    assert!(worst < 5e-7, "worst relative error {worst:e}");
    assert_eq!(sigmoid(1e4), 1.0);
    assert_eq!(sigmoid(-1e4), 0.0);
    assert_eq!(sigmoid(0.0), 0.5);
}

#[test]
fn log_sum_exp_row_matches_f64_on_every_length() {
    use mlp_runtime::scalar::log_sum_exp_row;
    for len in [1usize, 2, 9, 10, 15, 16, 17, 33, 100] {
        for scale in [1.0f32, 30.0, 1e4] {
            let row: Vec<f32> = (0..len)
                .map(|i| ((i * 37 % 11) as f32 - 5.0) * scale)
                .collect();
            let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v as f64));
            let want = m + row.iter().map(|v| (*v as f64 - m).exp()).sum::<f64>().ln();
            let got = log_sum_exp_row(&row) as f64;
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "len {len}, scale {scale}: {got} vs {want}"
            );
        }
    }
    assert_eq!(log_sum_exp_row(&[f32::NEG_INFINITY; 3]), f32::NEG_INFINITY);
    assert_eq!(log_sum_exp_row(&[f32::NEG_INFINITY, 0.0]), 0.0);
}
