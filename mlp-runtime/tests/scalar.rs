//! The branch-free f32 primitives against f64 `std`, over a dense sweep of their domains and
//! at the edges (overflow, underflow, NaN, infinities).

use mlp_runtime::scalar::{Compiled, exp, sigmoid, tanh};

/// Both ways of computing the polynomials: a multiply and an add per step (what `exp`, `tanh`
/// and `sigmoid` are), and one fused multiply-add (here libm's `fmaf`, which rounds as the
/// instruction does).
const BOTH: [Compiled; 2] = [Compiled::PLAIN, Compiled::FUSED];

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
    for c in BOTH {
        let mut worst = 0.0f64;
        for x in sweep(-87.0, 88.7) {
            worst = worst.max(err(c.exp(x), (x as f64).exp(), 0.0));
        }
        assert!(worst < 2.5e-7, "{c:?}: worst relative error {worst:e}");
    }
}

#[test]
fn exp_edges() {
    for c in BOTH {
        assert_eq!(c.exp(0.0), 1.0);
        assert_eq!(c.exp(100.0), f32::INFINITY);
        assert_eq!(c.exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(c.exp(-100.0), 0.0);
        assert_eq!(c.exp(f32::NEG_INFINITY), 0.0);
        assert!(c.exp(f32::NAN).is_nan());
        let top = 88.72f32;
        assert!(err(c.exp(top), (top as f64).exp(), 0.0) < 2.5e-7, "{c:?}");
    }
}

#[test]
fn tanh_is_accurate_and_odd() {
    for c in BOTH {
        let mut worst = 0.0f64;
        for x in sweep(-12.0, 12.0) {
            let t = c.tanh(x);
            assert_eq!(t, -c.tanh(-x), "{c:?}: tanh is odd at {x}");
            assert!(t.abs() <= 1.0, "{c:?}: |tanh({x})| = {t} > 1");
            worst = worst.max(err(t, (x as f64).tanh(), 0.0));
        }
        assert!(worst < 5e-7, "{c:?}: worst relative error {worst:e}");
        for x in [1e-30f32, 1e-10, 1e-5, 3e-4] {
            assert!(
                err(c.tanh(x), (x as f64).tanh(), 0.0) < 5e-7,
                "{c:?}: tanh({x})"
            );
        }
        assert_eq!(c.tanh(1e4), 1.0);
        assert_eq!(c.tanh(f32::NEG_INFINITY), -1.0);
    }
}

#[test]
fn sigmoid_has_no_overflow_and_keeps_its_tails() {
    for c in BOTH {
        let mut worst = 0.0f64;
        for x in sweep(-80.0, 80.0) {
            let want = 1.0 / (1.0 + (-(x as f64)).exp());
            worst = worst.max(err(c.sigmoid(x), want, 0.0));
        }
        assert!(worst < 5e-7, "{c:?}: worst relative error {worst:e}");
        assert_eq!(c.sigmoid(1e4), 1.0);
        assert_eq!(c.sigmoid(-1e4), 0.0);
        assert_eq!(c.sigmoid(0.0), 0.5);
    }
}

/// The closure `vectorized` runs gets the fused polynomials exactly where its path has FMA,
/// and computed inside it they give the bits of a correctly rounded fused multiply-add (the
/// instruction's, or libm's `fmaf` where the closure is not inlined), which differ from the
/// plain ones (the free functions).
#[test]
fn each_path_computes_as_it_is_compiled() {
    use mlp_runtime::simd::{Isa, isa, vectorized};
    let xs: Vec<f32> = sweep(-20.0, 20.0).step_by(997).collect();
    let with = |c: Compiled, xs: &[f32]| -> Vec<[f32; 3]> {
        xs.iter()
            .map(|&x| [c.exp(x), c.tanh(x), c.sigmoid(x)])
            .collect()
    };
    let plain: Vec<[f32; 3]> = xs.iter().map(|&x| [exp(x), tanh(x), sigmoid(x)]).collect();
    let compiled = vectorized(|c| c);
    let want = if isa() == Isa::Portable {
        Compiled::PLAIN
    } else {
        Compiled::FUSED
    };
    assert_eq!(compiled, want, "the {} path", isa());
    let inside = vectorized(
        #[inline(always)]
        |c| with(c, &xs),
    );
    assert_eq!(inside, with(want, &xs), "the {} path", isa());
    // The two differ somewhere: the fused path is not the plain one under another name.
    assert_ne!(with(Compiled::FUSED, &xs), plain);
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
            for c in BOTH {
                let got = c.log_sum_exp_row(&row) as f64;
                assert!(
                    (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                    "{c:?}, len {len}, scale {scale}: {got} vs {want}"
                );
            }
            assert_eq!(log_sum_exp_row(&row), Compiled::PLAIN.log_sum_exp_row(&row));
        }
    }
    for c in BOTH {
        assert_eq!(
            c.log_sum_exp_row(&[f32::NEG_INFINITY; 3]),
            f32::NEG_INFINITY
        );
        assert_eq!(c.log_sum_exp_row(&[f32::NEG_INFINITY, 0.0]), 0.0);
    }
}
