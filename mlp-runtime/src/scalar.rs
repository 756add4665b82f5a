//! The scalar primitives generated code calls, in f32, each evaluated without overflow where
//! the math allows it (the f64 reference is `mlp_compiler::interp::prim`).

/// `σ(x) = 1/(1 + exp(−x))`, without overflow for any x.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + exp(x))`, without overflow for any x.
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
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

/// `log Σᵢ exp(row[i])`, with the maximum subtracted.
#[inline]
pub fn log_sum_exp(row: impl Iterator<Item = f32> + Clone) -> f32 {
    let m = row.clone().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        return m;
    }
    m + row.map(|v| (v - m).exp()).sum::<f32>().ln()
}
