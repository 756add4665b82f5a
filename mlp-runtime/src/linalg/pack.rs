//! Packing for the GEMM: copies of A's and B's blocks laid out as the path's microkernel reads
//! them (A in panels of MR rows, B in panels of NR columns; [`kernel::shape`]), zero-padded.
//! Contiguous runs are read whole; a B whose columns are contiguous is transposed 8×8 at a time
//! with AVX2 (on the AVX-512 path too, which has it).

use super::kernel;
use super::mat::Mat;
use crate::simd::Path;

/// Packs `A[ic..ic+mc, pc..pc+kc]` as panels of MR rows, zero-padded: panel `q`, column `p`,
/// row `r` at `q·MR·kc + p·MR + r`. Reads whole contiguous runs where A's rows or columns
/// are contiguous.
pub(crate) fn pack_a(
    path: Path,
    out: &mut [f32],
    a: Mat<'_>,
    ic: usize,
    mc: usize,
    pc: usize,
    kc: usize,
) {
    match kernel::shape(path).0 {
        kernel::MR => pack_a_rows::<{ kernel::MR }>(out, a, ic, mc, pc, kc),
        _ => pack_a_rows::<{ kernel::MR_512 }>(out, a, ic, mc, pc, kc),
    }
}

/// [`pack_a`] for panels of `MR` rows, a constant, so that copies of a panel's column are
/// inline moves.
fn pack_a_rows<const MR: usize>(
    out: &mut [f32],
    a: Mat<'_>,
    ic: usize,
    mc: usize,
    pc: usize,
    kc: usize,
) {
    for q in 0..mc.div_ceil(MR) {
        let panel = &mut out[q * MR * kc..(q + 1) * MR * kc];
        let rows = MR.min(mc - q * MR);
        if rows < MR {
            panel.fill(0.0);
        }
        let first = ic + q * MR;
        if a.cs == 1 {
            // Rows contiguous: each row of the panel is one run of A. (The product reads whole
            // panels of such an A in place; only a last, lower one comes here.)
            for r in 0..rows {
                let src = &a.data[(first + r) * a.rs + pc..][..kc];
                for (p, v) in src.iter().enumerate() {
                    panel[p * MR + r] = *v;
                }
            }
        } else if a.rs == 1 {
            // Columns contiguous: each column of the panel is one run of A.
            for p in 0..kc {
                let src = &a.data[(pc + p) * a.cs + first..];
                let dst = &mut panel[p * MR..(p + 1) * MR];
                if rows == MR {
                    // A copy of constant length: inline moves, not a call of memmove.
                    dst.copy_from_slice(&src[..MR]);
                } else {
                    dst[..rows].copy_from_slice(&src[..rows]);
                }
            }
        } else {
            for p in 0..kc {
                for r in 0..rows {
                    panel[p * MR + r] = a.at(first + r, pc + p);
                }
            }
        }
    }
}

/// Packs `B[pc..pc+kc, jc..jc+nc]` as panels of NR columns: panel `q`, row `p`, column `j` at
/// `q·NR·kc + p·NR + j`; a last, narrower panel zero-padded to the end of its last vector, the
/// last the kernel reads of it ([`kernel::call`] runs a tile only as many vectors wide as its
/// columns need), so that no lane it reads is left from an earlier product. Reads whole
/// contiguous runs where B's rows or columns are contiguous.
pub(crate) fn pack_b(
    path: Path,
    out: &mut [f32],
    b: Mat<'_>,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
) {
    match kernel::shape(path).1 {
        kernel::NR => pack_b_cols::<{ kernel::NR }>(path, out, b, pc, kc, jc, nc),
        _ => pack_b_cols::<{ kernel::NR_512 }>(path, out, b, pc, kc, jc, nc),
    }
}

/// [`pack_b`] for panels of `NR` columns, a constant, so that copies of a panel's row are
/// inline moves.
fn pack_b_cols<const NR: usize>(
    path: Path,
    out: &mut [f32],
    b: Mat<'_>,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
) {
    if b.cs == 1 {
        // Rows contiguous: read each row of the block once, front to back (one stream the
        // prefetcher follows, where panel by panel would read a 64-byte piece of every row),
        // and deal its NR-wide pieces out to the panels.
        let full = nc / NR;
        let cols = nc % NR;
        if cols > 0 {
            pad(
                path,
                &mut out[full * NR * kc..(full + 1) * NR * kc],
                NR,
                cols,
            );
        }
        for p in 0..kc {
            let src = &b.data[(pc + p) * b.rs + jc..][..nc];
            let (pieces, rest) = src.split_at(full * NR);
            for (q, piece) in pieces.chunks_exact(NR).enumerate() {
                out[q * NR * kc + p * NR..][..NR].copy_from_slice(piece);
            }
            out[full * NR * kc + p * NR..][..cols].copy_from_slice(rest);
        }
        return;
    }
    for q in 0..nc.div_ceil(NR) {
        let panel = &mut out[q * NR * kc..(q + 1) * NR * kc];
        let cols = NR.min(nc - q * NR);
        if cols < NR {
            pad(path, panel, NR, cols);
        }
        let first = jc + q * NR;
        if b.rs == 1 {
            // Columns contiguous (a transposed weight matrix): each column is one run, and the
            // panel is their transpose, 8×8 blocks at a time with AVX2.
            // The first `blocked` columns' first `done` depths in 8×8 blocks (AVX2), the rest
            // one value at a time.
            let blocked = cols - cols % 8;
            let done = match path.avx2() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the token proves AVX2, the only requirement of calling it.
                Some(_) => unsafe {
                    transpose_runs(&b.data[first * b.cs + pc..], b.cs, NR, blocked, kc, panel)
                },
                _ => 0,
            };
            for j in 0..cols {
                let from = if j < blocked { done } else { 0 };
                let src = &b.data[(first + j) * b.cs + pc + from..][..kc - from];
                for (p, v) in src.iter().enumerate() {
                    panel[(from + p) * NR + j] = *v;
                }
            }
        } else {
            for p in 0..kc {
                for j in 0..cols {
                    panel[p * NR + j] = b.at(pc + p, first + j);
                }
            }
        }
    }
}

/// Zeroes columns `cols..` of each `nr`-wide row of a panel, up to the end of the vector that
/// holds column `cols − 1` (the columns past it are never read).
fn pad(path: Path, panel: &mut [f32], nr: usize, cols: usize) {
    let end = cols.next_multiple_of(kernel::lanes(path)).min(nr);
    if end > cols {
        for row in panel.chunks_exact_mut(nr) {
            row[cols..end].fill(0.0);
        }
    }
}

/// The 8×8 transpose of eight rows of eight lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn transpose8(r: [std::arch::x86_64::__m256; 8]) -> [std::arch::x86_64::__m256; 8] {
    use std::arch::x86_64::*;
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// Transposes the first `kc − kc % 8` values of the first `cols` runs of a B panel (run `j`
/// at `src[j·cs..]`; `cols` a multiple of 8, at most `nr`) into the panel (`panel[p·nr + j]`),
/// 8×8 blocks at a time; returns how many depths it did (0, leaving the panel to the scalar
/// loop, when `cols` is 0, no multiple of 8 or more than `nr`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn transpose_runs(
    src: &[f32],
    cs: usize,
    nr: usize,
    cols: usize,
    kc: usize,
    panel: &mut [f32],
) -> usize {
    use std::arch::x86_64::*;
    if cols == 0 || !cols.is_multiple_of(8) || cols > nr {
        return 0;
    }
    let full = kc - kc % 8;
    assert!(src.len() >= (cols - 1) * cs + kc && panel.len() >= kc * nr);
    for p0 in (0..full).step_by(8) {
        for j0 in (0..cols).step_by(8) {
            let rows = std::array::from_fn(|j| {
                // SAFETY: the CPU has AVX2 (this function's feature), and run j0 + j holds
                // values p0..p0+8 (asserted above).
                unsafe { _mm256_loadu_ps(src.as_ptr().add((j0 + j) * cs + p0)) }
            });
            for (p, v) in transpose8(rows).into_iter().enumerate() {
                // SAFETY: the panel holds depth p0 + p's NR values (asserted above).
                unsafe { _mm256_storeu_ps(panel.as_mut_ptr().add((p0 + p) * nr + j0), v) };
            }
        }
    }
    full
}

/// Whether `count` runs `stride` values apart, read in place down a panel's depth, fall into so
/// few sets of the L1 data cache that the panel cannot stay there while it is reused. An x86
/// L1 has 64 sets of 64-byte lines (32 KiB of 8 ways, or 48 KiB of 12), so runs whose stride
/// is a multiple of 512 bytes share at most 8 of the 64 places a run can start at: a 512-wide
/// matrix's rows (2 KiB apart) land in 2, and a 64-deep B panel of them (192 lines) in 6 sets
/// that keep 48–72. A place's sets keep 8–12 lines each and a run of B takes 1 (eight lanes)
/// to 3 (AVX-512) of them, so past 4 runs a place the panel is taken to crowd out. Such a
/// panel is packed into consecutive lines instead. Measured on weight steps whose B is a batch
/// of 64 activations 512 wide (512×512×64 and 784×512×64, pinned, in three alternating runs
/// of 300): 0.72 of the FMA peak in place of 0.66–0.71; the same product with rows 528 wide
/// ran at 0.71–0.72 either way.
pub(crate) fn crowded(stride: usize, count: usize) -> bool {
    const SPAN: usize = 64 * 64;
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let places = SPAN / gcd((stride * 4) % SPAN, SPAN);
    places <= 8 && count > 4 * places
}

#[cfg(test)]
mod tests {
    use super::{crowded, pack_b};
    use crate::linalg::kernel;
    use crate::linalg::mat::Mat;
    use crate::simd::{Isa, Path};

    /// A narrower last panel, packed over an earlier product's values (NaN here): its columns
    /// in place, zeros in the rest of its last vector, the lanes past it not written; B lying
    /// by rows and by columns, on every path this CPU has.
    #[test]
    fn a_narrow_panel_is_padded_to_the_end_of_its_last_vector() {
        let (kc, nc) = (5usize, 10usize);
        let b: Vec<f32> = (0..kc * nc).map(|i| i as f32 + 1.0).collect();
        for isa in [Isa::Avx512, Isa::Avx2Fma, Isa::Portable] {
            if !isa.supported() {
                continue;
            }
            let path = Path::of(isa);
            let nr = kernel::shape(path).1;
            let end = nc.next_multiple_of(kernel::lanes(path)).min(nr);
            for mat in [Mat::rows(&b, nc), Mat::transposed(&b, kc)] {
                let mut out = vec![f32::NAN; nr * kc];
                pack_b(path, &mut out, mat, 0, kc, 0, nc);
                for (p, row) in out.chunks_exact(nr).enumerate() {
                    for (j, v) in row.iter().enumerate() {
                        let want = if j < nc { mat.at(p, j) } else { 0.0 };
                        if j < end {
                            assert_eq!(v.to_bits(), want.to_bits(), "{isa} row {p} column {j}");
                        } else {
                            assert!(v.is_nan(), "{isa} row {p} column {j} written");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn crowded_strides_are_multiples_of_512_bytes() {
        // A 512- or 256-wide matrix, deep enough: crowded.
        assert!(crowded(512, 64) && crowded(1024, 8) && crowded(256, 100));
        // The same, too shallow to fill the sets it lands in.
        assert!(!crowded(512, 8) && !crowded(256, 16));
        // Strides that spread over the sets: 784 (the seed's input), 96, 10, 528.
        for stride in [784, 96, 10, 528, 1] {
            assert!(!crowded(stride, 256), "stride {stride}");
        }
    }
}
