//! The scalar primitives generated code calls, in f32, each evaluated without overflow where
//! the math allows it (the f64 reference is `mlp_compiler::interp::prim`).
//!
//! [`exp`], [`tanh`] and [`sigmoid`] are branch-free (selects, no calls, no table lookups), so
//! a loop over them vectorizes: with AVX2 or AVX-512 where the runtime inlines the loop into a
//! `#[target_feature]` function (the GEMM epilogue, or the closure `simd::vectorized` runs),
//! with SSE2 elsewhere. Their error is a few units in the last place (tested against f64 in
//! `tests/scalar.rs`). [`Compiled`]'s methods are the same polynomials with each step one
//! fused multiply-add, for code compiled with FMA.

/// `1.5·2²³`: adding it rounds an f32 of magnitude below 2²² to an integer, which then sits in
/// the low mantissa bits.
const ROUND: f32 = 12_582_912.0;

/// `eˣ`: Cody–Waite reduction `x = n·ln 2 + r` (|r| ≤ ln 2 / 2), a degree-6 polynomial
/// (Cephes' `expf`), scaled by `2ⁿ` through the exponent bits. 0 below −87.3 (where the
/// result would be subnormal), ∞ above 88.72, NaN for NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    Compiled::PLAIN.exp(x)
}

/// `tanh x`: Eigen's 13/6-degree rational interpolant on [−9, 9] (±1 outside, to f32
/// precision), accurate to a few units in the last place.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    Compiled::PLAIN.tanh(x)
}

/// `σ(x) = 1/(1 + exp(−x))`, without overflow for any x: with `e = exp(−|x|)`, `1/(1+e)` for
/// x ≥ 0 and `e/(1+e)` below.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    Compiled::PLAIN.sigmoid(x)
}

/// How the code calling the polynomials is compiled: with fused multiply-add or without. The
/// closure that `simd::vectorized` runs receives it: `FUSED` on the AVX2 and AVX-512 paths,
/// `PLAIN` on the portable one, a constant once the closure is inlined into each path's
/// function. Fused, each step `p·r + c` of a polynomial is one instruction with one rounding,
/// where a multiply and an add take two of each, and a polynomial is a chain of such steps:
/// `tanh` of the network `2 -> tanh 8 -> sigmoid 1` is latency-bound, and its step ran 10%
/// faster. Plain on the portable path (x86-64 without AVX2 and FMA, or another architecture),
/// where `f32::mul_add` may be a call to libm's `fmaf`.
///
/// Either is correct anywhere; the two differ in the last bits only (both are tested
/// against f64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compiled {
    fma: bool,
}

impl Compiled {
    /// A multiply and an add: for code compiled without FMA.
    pub const PLAIN: Compiled = Compiled { fma: false };
    /// One fused multiply-add: for code compiled with FMA.
    pub const FUSED: Compiled = Compiled { fma: true };

    /// `a·b + c`, fused or not.
    #[inline(always)]
    pub fn mul_add(self, a: f32, b: f32, c: f32) -> f32 {
        if self.fma { a.mul_add(b, c) } else { a * b + c }
    }

    /// [`exp`], its steps fused or not.
    // The coefficients as published, rounded by the compiler.
    #[allow(clippy::excessive_precision)]
    #[inline(always)]
    pub fn exp(self, x: f32) -> f32 {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        let f = |a, b, c| self.mul_add(a, b, c);
        let c = x.clamp(-87.3, 88.722_83);
        let t = f(c, LOG2E, ROUND);
        let n = t - ROUND;
        let r = f(-n, LN2_LO, f(-n, LN2_HI, c));
        let mut p = 1.987_569_1e-4f32;
        p = f(p, r, 1.398_199_9e-3);
        p = f(p, r, 8.333_452e-3);
        p = f(p, r, 4.166_579_6e-2);
        p = f(p, r, 1.666_666_5e-1);
        p = f(p, r, 5.000_000_1e-1);
        let y = f(p, r * r, r) + 1.0;
        // 2ⁿ as 2ⁿ¹·2ⁿ², n = n₁ + n₂, so that n = 128 (x near 88.7) and n = −126 stay within
        // the exponent field.
        let n = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
        let (n1, n2) = (n >> 1, n - (n >> 1));
        let y = y
            * f32::from_bits(((n1 + 127) as u32) << 23)
            * f32::from_bits(((n2 + 127) as u32) << 23);
        if x > 88.722_83 {
            f32::INFINITY
        } else if x < -87.3 {
            0.0
        } else if x.is_nan() {
            x
        } else {
            y
        }
    }

    /// [`tanh`], its steps fused or not.
    // The coefficients as published, rounded by the compiler.
    #[allow(clippy::excessive_precision)]
    #[inline(always)]
    pub fn tanh(self, x: f32) -> f32 {
        let f = |a, b, c| self.mul_add(a, b, c);
        let x = x.clamp(-9.0, 9.0);
        let x2 = x * x;
        let mut p = -2.760_768_5e-16f32;
        p = f(p, x2, 2.000_187_9e-13);
        p = f(p, x2, -8.604_671_5e-11);
        p = f(p, x2, 5.122_297e-8);
        p = f(p, x2, 1.485_722_4e-5);
        p = f(p, x2, 6.372_619_3e-4);
        p = f(p, x2, 4.893_524_6e-3);
        let mut q = 1.198_258_4e-6f32;
        q = f(q, x2, 1.185_347_1e-4);
        q = f(q, x2, 2.268_434_6e-3);
        q = f(q, x2, 4.893_525e-3);
        (x * p / q).clamp(-1.0, 1.0)
    }

    /// [`sigmoid`], the exponential's steps fused or not.
    #[inline(always)]
    pub fn sigmoid(self, x: f32) -> f32 {
        let e = self.exp(-x.abs());
        let s = 1.0 / (1.0 + e);
        if x >= 0.0 { s } else { e * s }
    }

    /// [`log_sum_exp_row`], the exponentials' steps fused or not (a softmax loss over 10
    /// logits at batch 16 took 18% less time fused).
    #[inline(always)]
    pub fn log_sum_exp_row(self, row: &[f32]) -> f32 {
        const B: usize = 16;
        let mut most = [f32::NEG_INFINITY; B];
        for block in row.chunks(B) {
            for (m, v) in most.iter_mut().zip(filled::<B>(block, f32::NEG_INFINITY)) {
                *m = m.max(v);
            }
        }
        let m = most.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
        if m == f32::NEG_INFINITY {
            return m;
        }
        let mut sums = [0.0f32; B];
        for block in row.chunks(B) {
            for (s, v) in sums.iter_mut().zip(filled::<B>(block, f32::NEG_INFINITY)) {
                *s += self.exp(v - m);
            }
        }
        // Halves added pairwise, 8 + 4 + 2 + 1 lanes: vector adds, not sixteen in a row.
        let s8: [f32; 8] = std::array::from_fn(|i| sums[i] + sums[i + 8]);
        let s4: [f32; 4] = std::array::from_fn(|i| s8[i] + s8[i + 4]);
        let s2 = [s4[0] + s4[2], s4[1] + s4[3]];
        m + (s2[0] + s2[1]).ln()
    }
}

/// `log(1 + exp(x))`, without overflow for any x.
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `log(exp(a) + exp(b))`, without overflow for any a, b.
#[inline(always)]
pub fn logaddexp(a: f32, b: f32) -> f32 {
    a.max(b) + (-(a - b).abs()).exp().ln_1p()
}

/// The error function.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    libm::erff(x)
}

/// 1 for `x > 0`, else 0.
#[inline(always)]
pub fn step(x: f32) -> f32 {
    if x > 0.0 { 1.0 } else { 0.0 }
}

/// −1, 0 or 1.
#[inline(always)]
pub fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `row` followed by zeros, `W` values in all: a row shorter than 16 or of a length that is not
/// a multiple of 8, copied so that a loop over it runs a whole number of vectors (generated
/// code drops the padding lanes' results).
///
/// # Panics
///
/// When `row` is longer than `W`, which generated code never asks.
#[inline(always)]
pub fn padded<const W: usize>(row: &[f32]) -> [f32; W] {
    filled(row, 0.0)
}

/// `row` followed by `fill`, `W` values in all.
#[inline(always)]
fn filled<const W: usize>(row: &[f32], fill: f32) -> [f32; W] {
    assert!(
        row.len() <= W,
        "a row of {} values padded to {W}",
        row.len()
    );
    let mut out = [fill; W];
    out[..row.len()].copy_from_slice(row);
    out
}

/// `log Σᵢ exp(row[i])`, with the maximum subtracted.
#[inline]
pub fn log_sum_exp(row: impl Iterator<Item = f32> + Clone) -> f32 {
    let m = row.clone().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        return m;
    }
    m + row.map(|v| exp(v - m)).sum::<f32>().ln()
}

/// `log Σᵢ exp(row[i])` of a contiguous row, with the maximum subtracted. Works on blocks of
/// 16 padded with −∞ (whose exponential is 0): loops of a constant trip count, which vectorize
/// even for short rows (10 logits); the 16 partial sums are then added pairwise. Always
/// inlined, so that it is compiled for the caller's instruction set.
#[inline(always)]
pub fn log_sum_exp_row(row: &[f32]) -> f32 {
    Compiled::PLAIN.log_sum_exp_row(row)
}
