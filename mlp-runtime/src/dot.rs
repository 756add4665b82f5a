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

use crate::gemm::{Finish, Product};
use crate::kernel::{Lanes, Portable};

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

/// Computes the product on this thread: C's columns `col0..col0 + p.n` of the rows starting at
/// `c[0]` (the product's row `row0`), each finished block through the epilogue.
pub(crate) fn serial<E>(
    fin: &Finish<'_, E>,
    p: Product<'_>,
    c: &mut [f32],
    d: &mut [f32],
    row0: usize,
    col0: usize,
) where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    let _flush = crate::simd::FlushSubnormals::new();
    let mb = (A_BLOCK / p.k.max(1)).clamp(TR, 256) / TR * TR;
    for jb in (0..p.n).step_by(NB) {
        let nb = NB.min(p.n - jb);
        for ib in (0..p.m).step_by(mb) {
            let rows = mb.min(p.m - ib);
            match fin.token {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the token proves AVX2 and FMA.
                Some(_) => unsafe { block_avx2(p, c, ib, rows, jb, nb, col0) },
                _ => block_portable(p, c, ib, rows, jb, nb, col0),
            }
            let at = ib * p.ldc + col0 + jb;
            let d = d.get_mut(at..).unwrap_or_default();
            fin.rows(row0 + ib, col0 + jb, rows, nb, &mut c[at..], p.ldc, d);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_avx2(
    p: Product<'_>,
    c: &mut [f32],
    ib: usize,
    rows: usize,
    jb: usize,
    nb: usize,
    col0: usize,
) {
    block::<crate::kernel::avx2::Avx2>(p, c, ib, rows, jb, nb, col0)
}

/// The portable blocks: one copy, not one per epilogue.
#[inline(never)]
fn block_portable(
    p: Product<'_>,
    c: &mut [f32],
    ib: usize,
    rows: usize,
    jb: usize,
    nb: usize,
    col0: usize,
) {
    block::<Portable>(p, c, ib, rows, jb, nb, col0)
}

/// Rows `ib..ib + rows` and columns `jb..jb + nb` of the part: tile columns outside, so one
/// tile column's rows of Bᵀ are reused from L1 down the block.
#[inline(always)]
fn block<V: Lanes>(
    p: Product<'_>,
    c: &mut [f32],
    ib: usize,
    rows: usize,
    jb: usize,
    nb: usize,
    col0: usize,
) {
    let (k, lda, ldb) = (p.k, p.a.rs, p.b.cs);
    assert!(
        p.a.data.len() >= (ib + rows - 1) * lda + k && p.b.data.len() >= (jb + nb - 1) * ldb + k,
        "dot: operands too short for the block"
    );
    assert!(c.len() >= (ib + rows - 1) * p.ldc + col0 + jb + nb);
    for j in (jb..jb + nb).step_by(TC) {
        let cols = TC.min(jb + nb - j);
        let end = ib + rows;
        let mut i = ib;
        while i < end {
            // A last row alone would run at a third of the speed: the last four go as 2 + 2.
            let r = if end - i == 4 { 2 } else { TR.min(end - i) };
            let a = p.a.data[i * lda..].as_ptr();
            let b = p.b.data[j * ldb..].as_ptr();
            let out = c[i * p.ldc + col0 + j..].as_mut_ptr();
            // SAFETY: rows i..i+r of A and rows j..j+cols of Bᵀ hold k values each, and C has
            // the tile's r rows of `cols` values at `out` (all asserted above).
            unsafe {
                macro_rules! dispatch {
                    ($($r:literal, $c:literal);*) => {
                        match (r, cols) {
                            $(($r, $c) => tile::<V, $r, $c>(k, a, lda, b, ldb, out, p.ldc, p.accumulate),)*
                            _ => unreachable!("tiles are at most {TR}×{TC}"),
                        }
                    };
                }
                dispatch!(1, 1; 1, 2; 1, 3; 1, 4; 2, 1; 2, 2; 2, 3; 2, 4; 3, 1; 3, 2; 3, 3; 3, 4)
            }
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
/// `k` values each, and C must have `R` rows of `C` writable values at `out` (stride `ldc`).
// The column index addresses Bᵀ's row, the accumulators and the tile alike.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
#[inline(always)]
unsafe fn tile<V: Lanes, const R: usize, const C: usize>(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    out: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    unsafe {
        let mut acc = [[V::zero(); C]; R];
        let full = k - k % 8;
        let mut p = 0;
        while p < full {
            let rows: [V; R] = std::array::from_fn(|r| V::load(a.add(r * lda + p)));
            for q in 0..C {
                let col = V::load(b.add(q * ldb + p));
                for r in 0..R {
                    acc[r][q] = V::mul_add(rows[r], col, acc[r][q]);
                }
            }
            p += 8;
        }
        for (r, sums) in acc.iter().enumerate() {
            for (q, lanes) in sums.iter().enumerate() {
                let mut dot = lanes.sum();
                for t in full..k {
                    dot += *a.add(r * lda + t) * *b.add(q * ldb + t);
                }
                let slot = out.add(r * ldc + q);
                *slot = if accumulate { *slot + dot } else { dot };
            }
        }
    }
}
