//! Products `C = A·Bᵀ` whose two operands are read along contiguous rows: a batch of
//! activations (row `n` of A is a sample) times a weight matrix stored as PyTorch stores it
//! (row `i` of Bᵀ is output `i`'s weights), which is every forward product but a shallow one
//! ([`suits`]). Each tile of [`TR`]×[`TC`] sums (with AVX-512's sixteen lanes and 32 registers,
//! [`TR_512`]×[`TC_512`]) is vector-wide dot products straight from the stored rows, so nothing
//! is transposed, and the weights stream past in order, once per block of rows, while the
//! arithmetic runs.
//!
//! Blocking: as many rows of A as fit in about 256 KiB, the outer loop (they stay in L2), by
//! [`NB`] columns of C; within a block, one tile column's rows of Bᵀ stay in L1 while the
//! tiles go down the rows, and the next column's are asked into L2 meanwhile. Rows of A that
//! do not start a cache line are copied first, a block at a time, to rows that do (every
//! other vector load would otherwise span two lines). A finished block goes through the
//! epilogue while it is still in cache.

use super::epilogue::Finish;
use super::mat::{Mat, Out, Product};
use super::packs;
use crate::simd::lanes::{Lanes, Portable};
use crate::simd::{Path, prefetch_l2};

/// Rows of C per tile. A 3×4 tile keeps 12 accumulators, 3 rows of A and one row of Bᵀ in the
/// 16 AVX registers, and loads 7 vectors per 12 multiply-adds; measured here against 2×6
/// (8 loads per 12) it is 2–5% faster, and 4×3 spills.
pub(crate) const TR: usize = 3;
/// Columns of C per tile.
pub(crate) const TC: usize = 4;
/// Rows of C per tile with AVX-512: 4×6 keeps 24 accumulators, 4 rows of A and one row of Bᵀ
/// in its 32 registers, and loads 10 vectors per 24 multiply-adds.
pub(crate) const TR_512: usize = 4;
/// Columns of C per tile with AVX-512.
pub(crate) const TC_512: usize = 6;

/// The tile `(rows, columns)` of a path.
pub(crate) fn shape(path: Path) -> (usize, usize) {
    match path {
        Path::Avx512(_) => (TR_512, TC_512),
        _ => (TR, TC),
    }
}
/// Columns of C per block.
const NB: usize = 48;
/// Values per cache line.
const LINE: usize = 16;
/// Values of A per row block (rows × depth), about 256 KiB.
const A_BLOCK: usize = 1 << 16;

/// Whether the product runs on the dot-product tiles: A's rows and B's columns contiguous,
/// unless it is shallow (a depth of at most [`SHALLOW`], 16 rows or more and 32 columns or
/// more). A shallow product's tiles spend as long summing their accumulators' lanes as
/// multiplying, so it runs on the packed kernel, which transposes B once into panels and
/// needs no lane sums. Measured pinned, the median of 15 × 2000 runs, packed time over dot
/// time (AVX-512 / AVX2): 16×32×64 0.82–0.85 / 1.00–1.02, 64×32×64 0.73 / 0.78, 16×512×64
/// 0.66 / 0.85, 32×100×50 0.43 / 0.55; deeper, the tiles win (16×32×160 1.26 / 1.20), as
/// they do with fewer rows (5×32×64 2.2 / 1.4) or columns (16×24×64 1.08 / 1.21).
pub(crate) fn suits(p: &Product<'_>) -> bool {
    let shallow = p.k <= SHALLOW && p.m >= 16 && p.n >= 32;
    p.a.cs == 1 && p.b.rs == 1 && !shallow
}

/// The greatest depth of a shallow product ([`suits`]).
const SHALLOW: usize = 64;

/// Computes the product on this thread: `p` is rows `row0..` and columns `col0..` of the
/// whole product, written to `out` at those places, each finished block through the
/// epilogue.
///
/// A's rows are read once per tile column, so a block of them that does not start cache lines
/// (from a caller's `Vec`, say; the network's own buffers are [`Aligned`](crate::Aligned)) is
/// copied first into this thread's packing buffer ([`packs`]).
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
    let tr = shape(fin.path).0;
    let mb = (A_BLOCK / p.k.max(1)).clamp(tr, 256) / tr * tr;
    // Rows of the copy: whole lines.
    let depth = p.k.next_multiple_of(LINE);
    let misaligned =
        !p.a.data.as_ptr().addr().is_multiple_of(LINE * 4) || !p.a.rs.is_multiple_of(LINE);
    let copy_rows = misaligned && p.n >= NB && p.m.min(mb) * depth <= packs::B_LEN;
    let blocks = |mut scratch: Option<&mut [f32]>| {
        for ib in (0..p.m).step_by(mb) {
            let rows = mb.min(p.m - ib);
            // The block's rows of A, and the first one's index in them.
            let (a, first) = match scratch.as_deref_mut() {
                Some(copied) => {
                    for (r, row) in copied.chunks_exact_mut(depth).take(rows).enumerate() {
                        row[..p.k].copy_from_slice(&p.a.data[(ib + r) * p.a.rs..][..p.k]);
                    }
                    (Mat::rows(&copied[..rows * depth], depth), 0)
                }
                None => (p.a, ib),
            };
            let part = Product { a, ..p };
            // Row `first + i` of `a` is row `row0 + ib + i` of the product.
            let corner = Corner {
                out,
                row0: row0 + ib - first,
                col0,
            };
            for jb in (0..p.n).step_by(NB) {
                let nb = NB.min(p.n - jb);
                let block = Block {
                    ib: first,
                    rows,
                    jb,
                    nb,
                };
                match fin.path {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: the token proves AVX-512F and VL, AVX2 and FMA; the block is
                    // inside the part.
                    Path::Avx512(t) => unsafe { block_avx512(t, part, corner, block) },
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: the token proves AVX2 and FMA; the block is inside the part.
                    Path::Avx2(t) => unsafe { block_avx2(t, part, corner, block) },
                    // SAFETY: the block is inside the part.
                    _ => unsafe { block_portable(part, corner, block) },
                }
                // SAFETY: the block's sums are complete, and the block is inside the part.
                unsafe { fin.rows(out, row0 + ib, col0 + jb, rows, nb) };
            }
        }
    };
    if copy_rows {
        packs::with(|(_, scratch)| blocks(Some(&mut scratch[..])));
    } else {
        blocks(None);
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
    unsafe { block::<crate::simd::lanes::avx2::Avx2, TR, TC>(t, p, c, b) }
}

/// [`block`] compiled for AVX-512, with its larger tile.
///
/// # Safety
/// The CPU must have AVX-512F and VL, AVX2 and FMA (the token says so); the block as for
/// [`block_avx2`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn block_avx512(t: crate::simd::Avx512Token, p: Product<'_>, c: Corner, b: Block) {
    // SAFETY: the caller's promise.
    unsafe { block::<crate::simd::lanes::avx512::Avx512, TR_512, TC_512>(t, p, c, b) }
}

/// The portable blocks: one copy, not one per epilogue.
///
/// # Safety
/// As for [`block_avx2`], but for the CPU.
#[inline(never)]
unsafe fn block_portable(p: Product<'_>, c: Corner, b: Block) {
    // SAFETY: the caller's promise.
    unsafe { block::<Portable, TR, TC>((), p, c, b) }
}

/// A block of the part in tiles of at most `TR`×`TC`: tile columns outside, so one tile
/// column's rows of Bᵀ are reused from L1 down the block.
///
/// # Safety
/// As for [`block_avx2`].
#[inline(always)]
unsafe fn block<V: Lanes, const TR: usize, const TC: usize>(
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
    // Cache lines of a row of Bᵀ.
    let line_count = k.div_ceil(LINE);
    for j in (jb..jb + nb).step_by(TC) {
        let cols = TC.min(jb + nb - j);
        let end = ib + rows;
        let mut i = ib;
        // The next tile column's rows of Bᵀ go to L2 while this column's tiles run, a share
        // before each tile, so that its first tile does not wait on L3 for all of them.
        let next = (j + TC).min(p.n);
        let ahead = TC.min(p.n - next) * line_count;
        let per_tile = ahead.div_ceil(rows.div_ceil(TR).max(1));
        // The next line to ask for: `line` of row `q` of Bᵀ; `left` lines not asked for yet.
        let (mut q, mut line, mut left) = (next, 0, ahead);
        while i < end {
            for _ in 0..per_tile.min(left) {
                prefetch_l2(p.b.data.as_ptr().wrapping_add(q * ldb + line * LINE));
                line += 1;
                if line == line_count {
                    (q, line) = (q + 1, 0);
                }
            }
            left -= per_tile.min(left);
            // A last row alone would run at a fraction of the speed: the last TR + 1 go as two
            // tiles (2 + 2, or 2 + 3).
            let r = if end - i == TR + 1 {
                TR.div_ceil(2)
            } else {
                TR.min(end - i)
            };
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
            dispatch!(
                1, 1; 1, 2; 1, 3; 1, 4; 1, 5; 1, 6; 2, 1; 2, 2; 2, 3; 2, 4; 2, 5; 2, 6;
                3, 1; 3, 2; 3, 3; 3, 4; 3, 5; 3, 6; 4, 1; 4, 2; 4, 3; 4, 4; 4, 5; 4, 6
            );
            i += r;
        }
    }
}

/// `C[r, q] (+)= ⟨A row r, Bᵀ row q⟩` for an `R×C` tile: `R·C` accumulators of `W` (the
/// lanes' width) partial sums over the depth in steps of `W` (the last step masked to the
/// last `k mod W` values), each summed across its lanes at the end.
///
/// # Safety
/// Rows `0..R` of A at `a` (stride `lda`) and rows `0..C` of Bᵀ at `b` (stride `ldb`) must hold
/// `k` readable values each, and C must have `R` rows of `C` values at `out` (stride `ldc`),
/// writable and written by no other thread meanwhile.
#[allow(clippy::too_many_arguments)]
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
    let full = k - k % V::WIDTH;
    let mut p = 0;
    while p < full {
        // SAFETY: p + WIDTH ≤ k, and each row of A and of Bᵀ holds k values.
        unsafe { step::<V, R, C>(t, &mut acc, (a.add(p), lda), (b.add(p), ldb), V::WIDTH) };
        p += V::WIDTH;
    }
    if full < k {
        // The last `k mod WIDTH` values by masked loads, zeros in the other lanes: one more
        // step, not `k mod WIDTH` products added one by one to each of the tile's sums (which
        // made a product of depth 15 nine times slower than one of depth 16).
        // SAFETY: each row of A and of Bᵀ holds k values, k − full of them from `full` on.
        unsafe {
            step::<V, R, C>(
                t,
                &mut acc,
                (a.add(full), lda),
                (b.add(full), ldb),
                k - full,
            )
        };
    }
    let mut sums = [[0.0f32; C]; R];
    V::sums(acc.as_flattened(), sums.as_flattened_mut());
    for (r, sums) in sums.iter().enumerate() {
        for (q, &dot) in sums.iter().enumerate() {
            // SAFETY: r < R and q < C: inside the tile, which is this thread's alone.
            unsafe {
                let slot = out.add(r * ldc + q);
                *slot = if accumulate { *slot + dot } else { dot };
            }
        }
    }
}

/// One step of a tile's sums: `acc[r][q] += A[r, 0..n] ⊙ Bᵀ[q, 0..n]` lane by lane, for the
/// `n` values (all `WIDTH` of a vector, or fewer by masked loads) at each row's start.
///
/// # Safety
/// Rows `0..R` of A at `a` (stride `lda`) and rows `0..C` of Bᵀ at `b` (stride `ldb`) must
/// hold `n ≤ WIDTH` readable values each.
// The column index addresses Bᵀ's row, the accumulators and the tile alike.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
unsafe fn step<V: Lanes, const R: usize, const C: usize>(
    t: V::Token,
    acc: &mut [[V; C]; R],
    (a, lda): (*const f32, usize),
    (b, ldb): (*const f32, usize),
    n: usize,
) {
    let load = |p: *const f32| {
        // SAFETY: `p` starts one of the rows, which hold n readable values (the caller's
        // promise): all WIDTH of them for the plain load.
        unsafe {
            if n == V::WIDTH {
                V::load(t, p)
            } else {
                V::load_first(t, p, n)
            }
        }
    };
    let rows: [V; R] = std::array::from_fn(|r| load(a.wrapping_add(r * lda)));
    for q in 0..C {
        let col = load(b.wrapping_add(q * ldb));
        for r in 0..R {
            acc[r][q] = rows[r].mul_add(col, acc[r][q]);
        }
    }
}
