//! The GEMM microkernel: `C[MR×NR] (+)= A_panel[MR×kc] · B_panel[kc×NR]` on packed panels.
//!
//! Contract: `a` holds `kc` groups of [`MR`] values (column `p` of the A panel), `b` holds
//! `kc` groups of [`NR`] values (row `p` of the B panel); the kernel writes the top-left
//! `mr×nr` corner of C at `c` with row stride `ldc`, each sum multiplied by `scale`, adding to
//! it when `accumulate`.
//! One `#[inline(always)]` body, generic over an 8-lane vector type, serves every ISA; the
//! `#[target_feature]` wrapper is the only unsafe difference.

use crate::simd::Avx2Token;

/// Rows of C per microkernel call.
pub const MR: usize = 6;
/// Columns of C per microkernel call (two 8-lane vectors).
pub const NR: usize = 16;

/// Where a kernel call writes: the top-left `rows×cols` corner of an `MR×NR` block of C.
#[derive(Clone, Copy, Debug)]
pub struct Tile {
    /// The block's first element.
    pub c: *mut f32,
    /// C's row stride.
    pub ldc: usize,
    /// Rows to write (at most MR).
    pub rows: usize,
    /// Columns to write (at most NR).
    pub cols: usize,
    /// Add to C instead of overwriting it.
    pub accumulate: bool,
    /// What the sums are multiplied by before they are stored or added (1 for a plain
    /// product, −lr for a descent step folded into a weight gradient's product).
    pub scale: f32,
}

/// Eight f32 lanes: what the kernels' one body is generic over.
pub(crate) trait Lanes: Copy {
    unsafe fn zero() -> Self;
    unsafe fn splat(v: f32) -> Self;
    unsafe fn load(p: *const f32) -> Self;
    unsafe fn store(self, p: *mut f32);
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self;
    unsafe fn add(a: Self, b: Self) -> Self;
    unsafe fn mul(a: Self, b: Self) -> Self;
    /// Asks for the cache line holding `p` (a hint; nothing on the portable path).
    #[inline(always)]
    unsafe fn prefetch(_p: *const f32) {}
    /// The sum of the lanes, in one fixed order: `l + h` for the two halves, then
    /// `(s₀ + s₁) + (s₂ + s₃)`.
    unsafe fn sum(self) -> f32;
}

/// The portable lanes: a plain array the compiler vectorizes as it can.
#[derive(Clone, Copy)]
pub(crate) struct Portable([f32; 8]);

impl Lanes for Portable {
    unsafe fn zero() -> Self {
        Portable([0.0; 8])
    }
    unsafe fn splat(v: f32) -> Self {
        Portable([v; 8])
    }
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 8 readable floats at `p`.
        Portable(unsafe { std::ptr::read_unaligned(p as *const [f32; 8]) })
    }
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees 8 writable floats at `p`.
        unsafe { std::ptr::write_unaligned(p as *mut [f32; 8], self.0) }
    }
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
        let mut out = c.0;
        for ((o, x), y) in out.iter_mut().zip(a.0).zip(b.0) {
            *o += x * y;
        }
        Portable(out)
    }
    unsafe fn add(a: Self, b: Self) -> Self {
        let mut out = a.0;
        for (o, y) in out.iter_mut().zip(b.0) {
            *o += y;
        }
        Portable(out)
    }
    unsafe fn mul(a: Self, b: Self) -> Self {
        let mut out = a.0;
        for (o, y) in out.iter_mut().zip(b.0) {
            *o *= y;
        }
        Portable(out)
    }
    unsafe fn sum(self) -> f32 {
        let v = self.0;
        let s = [v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]];
        (s[0] + s[1]) + (s[2] + s[3])
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    /// Eight lanes in an AVX register.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2(pub __m256);

    impl super::Lanes for Avx2 {
        #[inline(always)]
        unsafe fn zero() -> Self {
            unsafe { Avx2(_mm256_setzero_ps()) }
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            unsafe { Avx2(_mm256_set1_ps(v)) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller guarantees 8 readable floats at `p`.
            unsafe { Avx2(_mm256_loadu_ps(p)) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller guarantees 8 writable floats at `p`.
            unsafe { _mm256_storeu_ps(p, self.0) }
        }
        #[inline(always)]
        unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
            unsafe { Avx2(_mm256_fmadd_ps(a.0, b.0, c.0)) }
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            unsafe { Avx2(_mm256_add_ps(a.0, b.0)) }
        }
        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            unsafe { Avx2(_mm256_mul_ps(a.0, b.0)) }
        }
        #[inline(always)]
        unsafe fn prefetch(p: *const f32) {
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
        }
        #[inline(always)]
        unsafe fn sum(self) -> f32 {
            unsafe {
                let s = _mm_add_ps(
                    _mm256_castps256_ps128(self.0),
                    _mm256_extractf128_ps::<1>(self.0),
                );
                // (s₀ + s₁, ·, s₂ + s₃, ·), then the two added.
                let pairs = _mm_add_ps(s, _mm_movehdup_ps(s));
                _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehl_ps(pairs, pairs)))
            }
        }
    }
}

/// The one kernel body.
///
/// # Safety
/// `a` must hold `kc·MR` floats, `b` `kc·NR`, and the tile must be writable.
#[inline(always)]
unsafe fn body<V: Lanes>(kc: usize, a: *const f32, b: *const f32, tile: Tile) {
    unsafe {
        if tile.accumulate {
            // C's lines are read at the end: ask for them now, while the sums run.
            for r in 0..tile.rows {
                V::prefetch(tile.c.add(r * tile.ldc));
            }
        }
        let mut acc = [[V::zero(); 2]; MR];
        for p in 0..kc {
            let b0 = V::load(b.add(p * NR));
            let b1 = V::load(b.add(p * NR + 8));
            for (r, row) in acc.iter_mut().enumerate() {
                let a_r = V::splat(*a.add(p * MR + r));
                row[0] = V::mul_add(a_r, b0, row[0]);
                row[1] = V::mul_add(a_r, b1, row[1]);
            }
        }
        if tile.rows == MR && tile.cols == NR {
            // A whole tile: straight from the registers to C.
            let scale = V::splat(tile.scale);
            for (r, row) in acc.iter().enumerate() {
                let out = tile.c.add(r * tile.ldc);
                let (mut lo, mut hi) = (row[0], row[1]);
                if tile.scale != 1.0 {
                    (lo, hi) = (V::mul(lo, scale), V::mul(hi, scale));
                }
                if tile.accumulate {
                    lo = V::add(lo, V::load(out));
                    hi = V::add(hi, V::load(out.add(8)));
                }
                lo.store(out);
                hi.store(out.add(8));
            }
            return;
        }
        let mut block = [[0f32; NR]; MR];
        for (r, row) in acc.iter().enumerate() {
            row[0].store(block[r].as_mut_ptr());
            row[1].store(block[r].as_mut_ptr().add(8));
        }
        for (r, values) in block.iter().enumerate().take(tile.rows) {
            let out = tile.c.add(r * tile.ldc);
            for (j, v) in values.iter().enumerate().take(tile.cols) {
                let slot = out.add(j);
                let v = if tile.scale != 1.0 {
                    v * tile.scale
                } else {
                    *v
                };
                *slot = if tile.accumulate { *slot + v } else { v };
            }
        }
    }
}

/// The portable microkernel.
///
/// # Safety
/// As for the kernel contract in the module documentation.
pub unsafe fn portable(kc: usize, a: *const f32, b: *const f32, tile: Tile) {
    unsafe { body::<Portable>(kc, a, b, tile) }
}

/// The AVX2+FMA microkernel; the token proves the CPU has the features.
///
/// # Safety
/// As for the kernel contract in the module documentation.
#[cfg(target_arch = "x86_64")]
pub unsafe fn avx2(_: Avx2Token, kc: usize, a: *const f32, b: *const f32, tile: Tile) {
    #[target_feature(enable = "avx2,fma")]
    unsafe fn inner(kc: usize, a: *const f32, b: *const f32, tile: Tile) {
        unsafe { body::<avx2::Avx2>(kc, a, b, tile) }
    }
    // SAFETY: the token exists only where AVX2 and FMA were detected.
    unsafe { inner(kc, a, b, tile) }
}

/// A stand-in on other architectures, where no token can exist.
#[cfg(not(target_arch = "x86_64"))]
pub unsafe fn avx2(_: Avx2Token, kc: usize, a: *const f32, b: *const f32, tile: Tile) {
    unsafe { portable(kc, a, b, tile) }
}
