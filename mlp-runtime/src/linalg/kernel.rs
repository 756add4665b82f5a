//! The GEMM microkernel: `C[MR×NR] (+)= A_panel[MR×kc] · B_panel[kc×NR]` on packed panels.
//!
//! Contract: `a` holds `kc` groups of [`MR`] values (column `p` of the A panel), `b` holds
//! `kc` groups of [`NR`] values (row `p` of the B panel); the kernel writes the top-left
//! `mr×nr` corner of C at `c` with row stride `ldc`, each sum multiplied by `scale`, adding to
//! it when `accumulate`.
//! One `#[inline(always)]` body, generic over an 8-lane vector type
//! ([`Lanes`](crate::simd::lanes::Lanes)), serves every ISA; the `#[target_feature]` wrapper
//! is the only difference between them.

use crate::simd::Avx2Token;
use crate::simd::lanes::{Lanes, Portable};

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
        unsafe { body::<crate::simd::lanes::avx2::Avx2>(t, kc, a, b, tile) }
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
