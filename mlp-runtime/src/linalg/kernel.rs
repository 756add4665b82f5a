//! The GEMM microkernel: `C[MR×NR] (+)= A_panel[MR×kc] · B_panel[kc×NR]` on panels packed or
//! read in place.
//!
//! Contract: `a` holds `kc` columns of MR values, `lda` apart (column `p` of the A panel:
//! `lda = MR` when packed, A's own column stride when A's columns are read in place), or, when
//! A's rows are read in place ([`Lies::Rows`]), MR rows of `kc` values, `lda` apart (in place,
//! only the tile's rows where they are 1, 2 or 4: [`height`]); `b` holds
//! `kc` rows of NR values, `ldb` apart (row `p` of the B panel: `ldb = NR` when packed, B's own
//! row stride when B is read in place, where a last, narrower panel holds only the tile's
//! columns: [`Tile::b_edge`]); the kernel writes the top-left `mr×nr` corner of C at
//! `c` with row stride `ldc`, each sum multiplied by `scale`, adding to it when `accumulate`.
//! The tile is as large as the registers allow: 6×16 (two vectors) with eight lanes (12
//! accumulators of the 16 AVX registers), 8×48 (three vectors) with AVX-512 (24 of its 32
//! registers, and a height that divides the usual batch sizes; [`shape`]); a narrower last
//! panel runs a tile only as many vectors wide as its columns need ([`call`]).
//! One `#[inline(always)]` body, generic over the vector type
//! ([`Lanes`](crate::simd::lanes::Lanes)), the tile's height and width and how A lies
//! (`ROWS`), serves every ISA; the `#[target_feature]` wrapper is the only difference between
//! them.

use crate::simd::Path;
use crate::simd::lanes::{Lanes, Portable};

/// Rows of C per microkernel call with eight lanes (portable and AVX2).
pub const MR: usize = 6;
/// Columns of C per microkernel call with eight lanes (two vectors).
pub const NR: usize = 16;
/// Rows of C per microkernel call with AVX-512.
pub const MR_512: usize = 8;
/// Columns of C per microkernel call with AVX-512 (three vectors of sixteen).
pub const NR_512: usize = 48;
/// A panel: its first value and the distance between its columns (A lying as
/// [`Lies::Columns`]), its rows (A lying as [`Lies::Rows`]) or its rows (B).
pub(crate) type Panel = (*const f32, usize);

/// The tile `(MR, NR)` of a path's microkernel.
pub(crate) fn shape(path: Path) -> (usize, usize) {
    match path {
        Path::Avx512(_) => (MR_512, NR_512),
        _ => (MR, NR),
    }
}
/// The lanes of a path's vectors: how many columns of B one load of the kernel reads.
pub(crate) fn lanes(path: Path) -> usize {
    match path {
        Path::Avx512(_) => 16,
        _ => 8,
    }
}

/// How the A panel lies in memory.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Lies {
    /// Each depth's MR values side by side, depths `lda` apart: packed, or A's columns read in
    /// place (a transposed operand).
    Columns,
    /// Each row's `kc` values side by side, rows `lda` apart: a row-major A read in place.
    /// Each multiply-add broadcasts one value, so reading it from one of MR rows costs what
    /// reading it from a packed column does, and A is not copied (nor, on several threads,
    /// copied once by every thread that computes a column block).
    Rows,
}

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
    /// B's panel is read in place, so its rows hold only the tile's `cols` values (a packed
    /// panel's are zero-padded to NR): the last vector of a narrower tile is a masked load.
    pub b_edge: bool,
}

/// The one kernel body: an `H`-row tile `NV` vectors (`NR = NV·WIDTH` columns) wide.
///
/// # Safety
/// `a` must hold `kc` columns of `H` readable floats `lda` apart (with `ROWS`: `H` rows of `kc`
/// readable floats `lda` apart), `b` `kc` rows of `NV·WIDTH` readable floats `ldb` apart (with
/// `tile.b_edge`, of `tile.cols`), and the tile's `rows×cols` corner of C must be writable and
/// written by no other thread meanwhile; `tile.rows ≤ H` and `(NV − 1)·WIDTH < tile.cols ≤
/// NV·WIDTH` (which [`call`] keeps).
#[inline(always)]
unsafe fn body<V: Lanes, const H: usize, const NV: usize, const ROWS: bool>(
    t: V::Token,
    kc: usize,
    (a, lda): Panel,
    (b, ldb): Panel,
    tile: Tile,
) {
    let w = V::WIDTH;
    if tile.accumulate {
        // C's lines are read at the end: ask for all of them now, while the sums run (a
        // weight matrix updated in place comes from L3; measured on the seed network's
        // weight steps, asking for every line rather than each row's first is 4–10% faster).
        // A line every 16 values of the row, and the line of its last value.
        for r in 0..tile.rows {
            let row = tile.c.wrapping_add(r * tile.ldc);
            for at in (0..tile.cols).step_by(16) {
                V::prefetch(t, row.wrapping_add(at));
            }
            V::prefetch(t, row.wrapping_add(tile.cols.saturating_sub(1)));
        }
    }
    debug_assert!(tile.rows <= H && (NV - 1) * w < tile.cols && tile.cols <= NV * w);
    // The values of B's last vector in each row: all of them, but for a narrower panel read
    // in place, which holds only the tile's columns (a loop of its own, so that the others
    // test nothing).
    let edge = if tile.b_edge {
        tile.cols - (NV - 1) * w
    } else {
        w
    };
    // SAFETY: the caller's promise, with B's rows holding `edge` values in their last vector.
    let acc = unsafe {
        if edge < w {
            sums::<V, H, NV, ROWS, true>(t, kc, (a, lda), (b, ldb), edge)
        } else {
            sums::<V, H, NV, ROWS, false>(t, kc, (a, lda), (b, ldb), w)
        }
    };
    let scale = V::splat(t, tile.scale);
    for (r, row) in acc.iter().enumerate().take(tile.rows) {
        let out = tile.c.wrapping_add(r * tile.ldc);
        for (v, &sum) in row.iter().enumerate() {
            // The vector's columns inside the tile: all of them but at the tile's right edge,
            // where a masked load and store (AVX-512) or a copy through a buffer take the
            // first few.
            let cols = tile.cols.saturating_sub(v * w).min(w);
            if cols == 0 {
                break;
            }
            let mut sum = sum;
            if tile.scale != 1.0 {
                sum = sum.mul(scale);
            }
            // SAFETY: row r < rows of C has `cols` writable values at `out + v·w`, inside the
            // tile's corner, this call's alone.
            unsafe {
                let at = out.add(v * w);
                if cols == w {
                    if tile.accumulate {
                        sum = sum.add(V::load(t, at));
                    }
                    sum.store(at);
                } else {
                    if tile.accumulate {
                        sum = sum.add(V::load_first(t, at, cols));
                    }
                    sum.store_first(at, cols);
                }
            }
        }
    }
}

/// A tile's sums over the depth: `acc[r][v] = Σₚ A[r, p]·B[p, v·w..(v + 1)·w]`, the last
/// vector of each row of B read by a masked load of its first `edge` values when `MASKED`.
///
/// # Safety
/// As for [`body`]: A's `H` rows (or columns) of `kc` values, B's `kc` rows of `NV·w` values, or
/// of `(NV − 1)·w + edge` when `MASKED`.
#[inline(always)]
unsafe fn sums<V: Lanes, const H: usize, const NV: usize, const ROWS: bool, const MASKED: bool>(
    t: V::Token,
    kc: usize,
    (a, lda): Panel,
    (b, ldb): Panel,
    edge: usize,
) -> [[V; NV]; H] {
    let w = V::WIDTH;
    let mut acc = [[V::zero(t); NV]; H];
    // Rows read in place: where each starts.
    let rows: [*const f32; H] = std::array::from_fn(|r| a.wrapping_add(r * lda));
    for p in 0..kc {
        // SAFETY: p < kc, and B holds kc rows of NV·w values, ldb apart (or, MASKED, with
        // `edge` in the last vector, which the masked load reads alone).
        let row_b: [V; NV] = std::array::from_fn(|v| unsafe {
            let at = b.add(p * ldb + v * w);
            if MASKED && v + 1 == NV {
                V::load_first(t, at, edge)
            } else {
                V::load(t, at)
            }
        });
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: p < kc and r < H, and A holds kc columns of H values, lda apart (or H
            // rows of kc values, lda apart, when ROWS).
            let a_r = V::splat(t, unsafe {
                *if ROWS {
                    rows[r].add(p)
                } else {
                    a.add(p * lda + r)
                }
            });
            for (sum, b_v) in row.iter_mut().zip(row_b) {
                *sum = a_r.mul_add(b_v, *sum);
            }
        }
    }
    acc
}

/// The height of the kernel that computes a tile of `rows` rows, on a path whose tile is `mr`
/// high: `mr`, or 1, 2 or 4, the power of two at or above `rows` where that is below `mr`. A
/// panel of A read in place must hold that many rows (the packed loop reads in place
/// only a last panel of exactly 1, 2 or 4 rows); a packed one is `mr` high, zero-padded.
pub(crate) fn height(rows: usize, mr: usize) -> usize {
    if rows > 4 {
        mr
    } else {
        rows.next_power_of_two()
    }
}

// `call`'s arms name the tiles' heights.
const _: () = assert!(MR == 6 && MR_512 == 8);

/// The microkernel of `path`: the tile is [`shape`]`(path)`, of which only as many rows and
/// vectors of columns are computed as the tile's `rows` and `cols` need. A product's last
/// panel is often narrower than the tile (10 outputs, or 32 hidden units, of a 48-wide
/// AVX-512 tile), and its last block of rows lower (the 2 of 10 outputs below 8, the 4 of 64
/// samples below 60 with six rows): their padding would otherwise be multiplied too.
///
/// # Safety
/// As for the kernel contract in the module documentation: `a` holds `kc` columns of `MR`
/// floats `lda` apart (lying as [`Lies::Columns`]) or `MR` rows of `kc` floats `lda` apart
/// ([`Lies::Rows`]), or of only `tile.rows` where that is 1, 2 or 4 (the height computed),
/// `b` `kc` rows of `NR` floats `ldb` apart (the path's shape; with `tile.b_edge`, of
/// `tile.cols`), and the tile's corner of C is writable and written by no other thread
/// meanwhile.
#[inline(always)]
pub(crate) unsafe fn call(path: Path, kc: usize, (a, lies): (Panel, Lies), b: Panel, tile: Tile) {
    let rows = matches!(lies, Lies::Rows);
    let h = height(tile.rows, shape(path).0);
    // The kernel of height $h for A lying as `rows` says and as many vectors as `cols` need.
    macro_rules! pick {
        ($w:literal, $h:literal, $kernel:ident($token:expr); $($nv:pat => $v:literal),*) => {
            match (tile.cols.div_ceil($w), rows) {
                $(
                    ($nv, false) => $kernel::<$h, $v, false>($token, kc, a, b, tile),
                    ($nv, true) => $kernel::<$h, $v, true>($token, kc, a, b, tile),
                )*
            }
        };
    }
    // SAFETY: the caller's promise is each kernel's (reading fewer rows of A's panel, or fewer
    // vectors of B's rows, than the shape's reads less); a SIMD kernel is called with its
    // path's token, which exists only where the CPU has the kernel's features.
    unsafe {
        match (path, h) {
            #[cfg(target_arch = "x86_64")]
            (Path::Avx512(t), 1) => pick!(16, 1, avx512(t); 1 => 1, 2 => 2, _ => 3),
            #[cfg(target_arch = "x86_64")]
            (Path::Avx512(t), 2) => pick!(16, 2, avx512(t); 1 => 1, 2 => 2, _ => 3),
            #[cfg(target_arch = "x86_64")]
            (Path::Avx512(t), 4) => pick!(16, 4, avx512(t); 1 => 1, 2 => 2, _ => 3),
            #[cfg(target_arch = "x86_64")]
            (Path::Avx512(t), _) => pick!(16, 8, avx512(t); 1 => 1, 2 => 2, _ => 3),
            #[cfg(target_arch = "x86_64")]
            (Path::Avx2(t), 1) => pick!(8, 1, avx2(t); 1 => 1, _ => 2),
            #[cfg(target_arch = "x86_64")]
            (Path::Avx2(t), 2) => pick!(8, 2, avx2(t); 1 => 1, _ => 2),
            #[cfg(target_arch = "x86_64")]
            (Path::Avx2(t), 4) => pick!(8, 4, avx2(t); 1 => 1, _ => 2),
            #[cfg(target_arch = "x86_64")]
            (Path::Avx2(t), _) => pick!(8, 6, avx2(t); 1 => 1, _ => 2),
            (_, 1) => pick!(8, 1, portable(()); 1 => 1, _ => 2),
            (_, 2) => pick!(8, 2, portable(()); 1 => 1, _ => 2),
            (_, 4) => pick!(8, 4, portable(()); 1 => 1, _ => 2),
            (_, _) => pick!(8, 6, portable(()); 1 => 1, _ => 2),
        }
    }
}

/// The portable microkernel, `H` rows high and `NV` vectors wide.
///
/// # Safety
/// As for [`call`].
unsafe fn portable<const H: usize, const NV: usize, const ROWS: bool>(
    t: (),
    kc: usize,
    a: Panel,
    b: Panel,
    tile: Tile,
) {
    // SAFETY: the caller's promise is the body's.
    unsafe { body::<Portable, H, NV, ROWS>(t, kc, a, b, tile) }
}

/// The AVX2+FMA microkernel, `H` rows high and `NV` vectors wide (`NV` ≤ 2: its tile's).
///
/// # Safety
/// As for [`call`]; the CPU must have AVX2 and FMA (the token proves it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<const H: usize, const NV: usize, const ROWS: bool>(
    t: crate::simd::Avx2Token,
    kc: usize,
    a: Panel,
    b: Panel,
    tile: Tile,
) {
    // SAFETY: the caller's promise is the body's.
    unsafe { body::<crate::simd::lanes::avx2::Avx2, H, NV, ROWS>(t, kc, a, b, tile) }
}

/// The AVX-512 microkernel, `H` rows high and `NV` vectors wide.
///
/// # Safety
/// As for [`call`]; the CPU must have AVX-512F and VL (the token proves it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn avx512<const H: usize, const NV: usize, const ROWS: bool>(
    t: crate::simd::Avx512Token,
    kc: usize,
    a: Panel,
    b: Panel,
    tile: Tile,
) {
    // SAFETY: the caller's promise is the body's.
    unsafe { body::<crate::simd::lanes::avx512::Avx512, H, NV, ROWS>(t, kc, a, b, tile) }
}
