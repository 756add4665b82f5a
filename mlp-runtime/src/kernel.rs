//! The GEMM microkernel: `C[MR×NR] (+)= A_panel[MR×kc] · B_panel[kc×NR]` on packed panels.
//!
//! Contract: `a` holds `kc` groups of [`MR`] values (column `p` of the A panel), `b` holds
//! `kc` groups of [`NR`] values (row `p` of the B panel); the kernel writes the top-left
//! `mr×nr` corner of C at `c` with row stride `ldc`, each sum multiplied by `scale`, adding to
//! it when `accumulate`.
//! One `#[inline(always)]` body, generic over an 8-lane vector type ([`Lanes`]), serves every
//! ISA; the `#[target_feature]` wrapper is the only difference between them.

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
///
/// A value of an implementing type is built only from a [`Lanes::Token`], which exists only
/// where the CPU has the type's instructions, so arithmetic on values is safe; loads and
/// stores through raw pointers are not, and say what they need.
pub(crate) trait Lanes: Copy {
    /// Proof that the CPU has the instructions.
    type Token: Copy;
    /// Eight zeros.
    fn zero(t: Self::Token) -> Self;
    /// Eight copies of `v`.
    fn splat(t: Self::Token, v: f32) -> Self;
    /// Eight values from `p`.
    ///
    /// # Safety
    /// `p` must point to 8 readable floats.
    unsafe fn load(t: Self::Token, p: *const f32) -> Self;
    /// Writes the eight values to `p`.
    ///
    /// # Safety
    /// `p` must point to 8 writable floats.
    unsafe fn store(self, p: *mut f32);
    /// `self·b + c`, fused where the ISA has it.
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// `self + b`.
    fn add(self, b: Self) -> Self;
    /// `self·b`.
    fn mul(self, b: Self) -> Self;
    /// Asks for the cache line holding `p`: a hint that reads nothing and never faults, so
    /// any address will do (nothing on the portable path).
    #[inline(always)]
    fn prefetch(_t: Self::Token, _p: *const f32) {}
    /// The sum of the lanes, in one fixed order: `l + h` for the two halves, then
    /// `(s₀ + s₁) + (s₂ + s₃)`.
    fn sum(self) -> f32;
}

/// The portable lanes: a plain array the compiler vectorizes as it can.
#[derive(Clone, Copy)]
pub(crate) struct Portable([f32; 8]);

impl Lanes for Portable {
    type Token = ();
    #[inline(always)]
    fn zero(_: ()) -> Self {
        Portable([0.0; 8])
    }
    #[inline(always)]
    fn splat(_: (), v: f32) -> Self {
        Portable([v; 8])
    }
    #[inline(always)]
    unsafe fn load(_: (), p: *const f32) -> Self {
        // SAFETY: the caller guarantees 8 readable floats at `p`.
        Portable(unsafe { std::ptr::read_unaligned(p.cast::<[f32; 8]>()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees 8 writable floats at `p`.
        unsafe { std::ptr::write_unaligned(p.cast::<[f32; 8]>(), self.0) }
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        let mut out = c.0;
        for ((o, x), y) in out.iter_mut().zip(self.0).zip(b.0) {
            *o += x * y;
        }
        Portable(out)
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        let mut out = self.0;
        for (o, y) in out.iter_mut().zip(b.0) {
            *o += y;
        }
        Portable(out)
    }
    #[inline(always)]
    fn mul(self, b: Self) -> Self {
        let mut out = self.0;
        for (o, y) in out.iter_mut().zip(b.0) {
            *o *= y;
        }
        Portable(out)
    }
    #[inline(always)]
    fn sum(self) -> f32 {
        let v = self.0;
        let s = [v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]];
        (s[0] + s[1]) + (s[2] + s[3])
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use crate::simd::Avx2Token;
    use std::arch::x86_64::*;

    /// Eight lanes in an AVX register. The field is private: a value is made only from an
    /// [`Avx2Token`] or from other values, so where one exists the CPU has AVX2 and FMA, which
    /// is what every `unsafe` block below relies on.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2(__m256);

    impl super::Lanes for Avx2 {
        type Token = Avx2Token;
        #[inline(always)]
        fn zero(_: Avx2Token) -> Self {
            // SAFETY: the token proves AVX.
            Avx2(unsafe { _mm256_setzero_ps() })
        }
        #[inline(always)]
        fn splat(_: Avx2Token, v: f32) -> Self {
            // SAFETY: the token proves AVX.
            Avx2(unsafe { _mm256_set1_ps(v) })
        }
        #[inline(always)]
        unsafe fn load(_: Avx2Token, p: *const f32) -> Self {
            // SAFETY: the token proves AVX; the caller guarantees 8 readable floats at `p`.
            Avx2(unsafe { _mm256_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: `self` exists, so the CPU has AVX; the caller guarantees 8 writable
            // floats at `p`.
            unsafe { _mm256_storeu_ps(p, self.0) }
        }
        #[inline(always)]
        fn mul_add(self, b: Self, c: Self) -> Self {
            // SAFETY: `self` exists, so the CPU has FMA.
            Avx2(unsafe { _mm256_fmadd_ps(self.0, b.0, c.0) })
        }
        #[inline(always)]
        fn add(self, b: Self) -> Self {
            // SAFETY: `self` exists, so the CPU has AVX.
            Avx2(unsafe { _mm256_add_ps(self.0, b.0) })
        }
        #[inline(always)]
        fn mul(self, b: Self) -> Self {
            // SAFETY: `self` exists, so the CPU has AVX.
            Avx2(unsafe { _mm256_mul_ps(self.0, b.0) })
        }
        #[inline(always)]
        fn prefetch(_: Avx2Token, p: *const f32) {
            // SAFETY: a prefetch is a hint: it reads nothing architecturally and does not
            // fault, whatever the address; SSE is part of x86-64.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) }
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            // SAFETY: `self` exists, so the CPU has AVX (and SSE3, which it implies).
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
/// `a` must hold `kc·MR` readable floats, `b` `kc·NR`, and the tile's `rows×cols` corner of C
/// must be writable and written by no other thread meanwhile.
#[inline(always)]
unsafe fn body<V: Lanes>(t: V::Token, kc: usize, a: *const f32, b: *const f32, tile: Tile) {
    if tile.accumulate {
        // C's lines are read at the end: ask for them now, while the sums run.
        for r in 0..tile.rows {
            V::prefetch(t, tile.c.wrapping_add(r * tile.ldc));
        }
    }
    let mut acc = [[V::zero(t); 2]; MR];
    for p in 0..kc {
        // SAFETY: p < kc, and B holds kc rows of NR = 16 values.
        let (b0, b1) = unsafe { (V::load(t, b.add(p * NR)), V::load(t, b.add(p * NR + 8))) };
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: p < kc and r < MR, and A holds kc columns of MR values.
            let a_r = V::splat(t, unsafe { *a.add(p * MR + r) });
            row[0] = a_r.mul_add(b0, row[0]);
            row[1] = a_r.mul_add(b1, row[1]);
        }
    }
    let scale = V::splat(t, tile.scale);
    if tile.rows == MR && tile.cols == NR {
        // A whole tile: straight from the registers to C.
        for (r, row) in acc.iter().enumerate() {
            let out = tile.c.wrapping_add(r * tile.ldc);
            let (mut lo, mut hi) = (row[0], row[1]);
            if tile.scale != 1.0 {
                (lo, hi) = (lo.mul(scale), hi.mul(scale));
            }
            // SAFETY: the tile is whole, so row r of C has NR = 16 writable values at `out`,
            // this call's alone.
            unsafe {
                if tile.accumulate {
                    lo = lo.add(V::load(t, out));
                    hi = hi.add(V::load(t, out.add(8)));
                }
                lo.store(out);
                hi.store(out.add(8));
            }
        }
        return;
    }
    let mut block = [[0f32; NR]; MR];
    for (r, row) in acc.iter().enumerate() {
        // SAFETY: each row of `block` holds NR = 16 floats.
        unsafe {
            row[0].store(block[r].as_mut_ptr());
            row[1].store(block[r].as_mut_ptr().add(8));
        }
    }
    for (r, values) in block.iter().enumerate().take(tile.rows) {
        for (j, v) in values.iter().enumerate().take(tile.cols) {
            let v = if tile.scale != 1.0 {
                v * tile.scale
            } else {
                *v
            };
            // SAFETY: r < rows and j < cols: inside the tile's corner, this call's alone.
            unsafe {
                let slot = tile.c.add(r * tile.ldc + j);
                *slot = if tile.accumulate { *slot + v } else { v };
            }
        }
    }
}

/// The portable microkernel.
///
/// # Safety
/// As for the kernel contract in the module documentation: `a` holds `kc·MR` floats, `b`
/// `kc·NR`, and the tile's corner of C is writable and written by no other thread meanwhile.
pub unsafe fn portable(kc: usize, a: *const f32, b: *const f32, tile: Tile) {
    // SAFETY: the caller's promise is the body's.
    unsafe { body::<Portable>((), kc, a, b, tile) }
}

/// The AVX2+FMA microkernel; the token proves the CPU has the features.
///
/// # Safety
/// As for [`portable`].
#[cfg(target_arch = "x86_64")]
pub unsafe fn avx2(t: Avx2Token, kc: usize, a: *const f32, b: *const f32, tile: Tile) {
    #[target_feature(enable = "avx2,fma")]
    unsafe fn inner(t: Avx2Token, kc: usize, a: *const f32, b: *const f32, tile: Tile) {
        // SAFETY: the caller's promise is the body's.
        unsafe { body::<avx2::Avx2>(t, kc, a, b, tile) }
    }
    // SAFETY: the token exists only where AVX2 and FMA were detected; the operands are the
    // caller's promise.
    unsafe { inner(t, kc, a, b, tile) }
}

/// A stand-in on other architectures, where no token can exist.
///
/// # Safety
/// As for [`portable`].
#[cfg(not(target_arch = "x86_64"))]
pub unsafe fn avx2(_: Avx2Token, kc: usize, a: *const f32, b: *const f32, tile: Tile) {
    // SAFETY: the caller's promise is the portable kernel's.
    unsafe { portable(kc, a, b, tile) }
}
