//! Products `C = A·Bᵀ` whose two operands are read along contiguous rows: a batch of
//! activations (row `n` of A is a sample) times a weight matrix stored as PyTorch stores it
//! (row `i` of Bᵀ is output `i`'s weights), which is every forward product. Each tile of
//! [`TR`]×[`TC`] sums is eight-lane dot products straight from the stored rows, so nothing is
//! packed or transposed, and the weights stream from memory once, in order, while the
//! arithmetic runs.
//!
//! Blocking: [`NB`] columns of C (their rows of Bᵀ stay in L2) by as many rows of A as fit in
//! about 256 KiB; within a block, one tile column's rows of Bᵀ stay in L1 while the tiles go
//! down the rows. A finished block goes through the epilogue while it is still in cache.

use super::epilogue::Finish;
use super::mat::{Out, Product};
use crate::simd::lanes::{Lanes, Portable};

/// Rows of C per tile. A 3×4 tile keeps 12 accumulators, 3 rows of A and one row of Bᵀ in the
/// 16 AVX registers, and loads 7 vectors per 12 multiply-adds; measured here against 2×6
/// (8 loads per 12) it is 2–5% faster, and 4×3 spills.
pub(crate) const TR: usize = 3;
/// Columns of C per tile.
pub(crate) const TC: usize = 4;
/// Columns of C per block.
const NB: usize = 48;
/// Values of A per row block (rows × depth), about 256 KiB.
const A_BLOCK: usize = 1 << 16;

/// Whether the product's operands suit the dot-product tiles: A's rows and B's columns
/// contiguous.
pub(crate) fn suits(p: &Product<'_>) -> bool {
    p.a.cs == 1 && p.b.rs == 1
}

/// Computes the product on this thread: `p` is rows `row0..` and columns `col0..` of the
/// whole product, written to `out` at those places, each finished block through the
/// epilogue.
///
/// # Safety
/// The part's rectangle of `out` must be inside the product's output and written by no other
/// thread until this returns.
pub(crate) unsafe fn serial<E>(
    fin: &Finish<'_, E>,
    p: Product<'_>,
    out: Out,
    row0: usize,
    col0: usize,
) where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    let mb = (A_BLOCK / p.k.max(1)).clamp(TR, 256) / TR * TR;
    // The part's own corner of C: its rows and columns are `row0..` and `col0..`.
    let corner = Corner { out, row0, col0 };
    for jb in (0..p.n).step_by(NB) {
        let nb = NB.min(p.n - jb);
        for ib in (0..p.m).step_by(mb) {
            let rows = mb.min(p.m - ib);
            let block = Block { ib, rows, jb, nb };
            match fin.token {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the token proves AVX2 and FMA; the block is inside the part.
                Some(t) => unsafe { block_avx2(t, p, corner, block) },
                // SAFETY: the block is inside the part.
                _ => unsafe { block_portable(p, corner, block) },
            }
            // SAFETY: the block's sums are complete, and the block is inside the part.
            unsafe { fin.rows(out, row0 + ib, col0 + jb, rows, nb) };
        }
    }
}

/// Where a part's C starts: its element `(i, j)` is the product's `(row0 + i, col0 + j)`.
#[derive(Clone, Copy)]
struct Corner {
    out: Out,
    row0: usize,
    col0: usize,
}

/// Rows `ib..ib + rows` and columns `jb..jb + nb` of a part.
#[derive(Clone, Copy)]
struct Block {
    ib: usize,
    rows: usize,
    jb: usize,
    nb: usize,
}

/// [`block`] compiled for AVX2 and FMA.
///
/// # Safety
/// The CPU must have them (the token says so); the block must be inside the part's
/// rectangle of C, which is this thread's alone.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_avx2(t: crate::simd::Avx2Token, p: Product<'_>, c: Corner, b: Block) {
    // SAFETY: the caller's promise.
    unsafe { block::<crate::simd::lanes::avx2::Avx2>(t, p, c, b) }
}

/// The portable blocks: one copy, not one per epilogue.
///
/// # Safety
/// As for [`block_avx2`], but for the CPU.
#[inline(never)]
unsafe fn block_portable(p: Product<'_>, c: Corner, b: Block) {
    // SAFETY: the caller's promise.
    unsafe { block::<Portable>((), p, c, b) }
}

/// A block of the part: tile columns outside, so one tile column's rows of Bᵀ are reused
/// from L1 down the block.
///
/// # Safety
/// As for [`block_avx2`].
#[inline(always)]
unsafe fn block<V: Lanes>(
    t: V::Token,
    p: Product<'_>,
    Corner { out: c, row0, col0 }: Corner,
    Block { ib, rows, jb, nb }: Block,
) {
    let (k, lda, ldb, ldc) = (p.k, p.a.rs, p.b.cs, c.ldc());
    assert!(
        p.a.data.len() >= (ib + rows - 1) * lda + k && p.b.data.len() >= (jb + nb - 1) * ldb + k,
        "dot: operands too short for the block"
    );
    for j in (jb..jb + nb).step_by(TC) {
        let cols = TC.min(jb + nb - j);
        let end = ib + rows;
        let mut i = ib;
        while i < end {
            // A last row alone would run at a third of the speed: the last four go as 2 + 2.
            let r = if end - i == 4 { 2 } else { TR.min(end - i) };
            let a = p.a.data[i * lda..].as_ptr();
            let b = p.b.data[j * ldb..].as_ptr();
            let out = c.at(row0 + i, col0 + j);
            macro_rules! dispatch {
                ($($r:literal, $c:literal);*) => {
                    match (r, cols) {
                        $(($r, $c) => {
                            // SAFETY: rows i..i+r of A and rows j..j+cols of Bᵀ hold k values
                            // each (asserted above), and C's r×cols tile at `out` is inside the
                            // block, this thread's alone (the caller's promise).
                            unsafe { tile::<V, $r, $c>(t, k, a, lda, b, ldb, out, ldc, p.accumulate) }
                        })*
                        _ => unreachable!("tiles are at most {TR}×{TC}"),
                    }
                };
            }
            dispatch!(1, 1; 1, 2; 1, 3; 1, 4; 2, 1; 2, 2; 2, 3; 2, 4; 3, 1; 3, 2; 3, 3; 3, 4);
            i += r;
        }
    }
}

/// `C[r, q] (+)= ⟨A row r, Bᵀ row q⟩` for an `R×C` tile: `R·C` accumulators of eight partial
/// sums over the depth in steps of eight, each summed across its lanes at the end, then the
/// last `k mod 8` products added one by one.
///
/// # Safety
/// Rows `0..R` of A at `a` (stride `lda`) and rows `0..C` of Bᵀ at `b` (stride `ldb`) must hold
/// `k` readable values each, and C must have `R` rows of `C` values at `out` (stride `ldc`),
/// writable and written by no other thread meanwhile.
// The column index addresses Bᵀ's row, the accumulators and the tile alike.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
#[inline(always)]
unsafe fn tile<V: Lanes, const R: usize, const C: usize>(
    t: V::Token,
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    out: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    let mut acc = [[V::zero(t); C]; R];
    let full = k - k % 8;
    let mut p = 0;
    while p < full {
        // SAFETY: p + 8 ≤ k, and each row of A holds k values.
        let rows: [V; R] = std::array::from_fn(|r| unsafe { V::load(t, a.add(r * lda + p)) });
        for q in 0..C {
            // SAFETY: p + 8 ≤ k, and each row of Bᵀ holds k values.
            let col = unsafe { V::load(t, b.add(q * ldb + p)) };
            for r in 0..R {
                acc[r][q] = rows[r].mul_add(col, acc[r][q]);
            }
        }
        p += 8;
    }
    for (r, sums) in acc.iter().enumerate() {
        for (q, lanes) in sums.iter().enumerate() {
            let mut dot = lanes.sum();
            for s in full..k {
                // SAFETY: s < k, inside rows r of A and q of Bᵀ.
                dot += unsafe { *a.add(r * lda + s) * *b.add(q * ldb + s) };
            }
            // SAFETY: r < R and q < C: inside the tile, which is this thread's alone.
            unsafe {
                let slot = out.add(r * ldc + q);
                *slot = if accumulate { *slot + dot } else { dot };
            }
        }
    }
}
