//! Matrix products: `C = A·B` or `C += A·B` for strided A and B (so a transpose is free) and
//! row-major C, blocked and packed around the microkernel of [`crate::kernel`], split over
//! threads by column blocks. Splitting never changes the order of any sum, so results are
//! bit-identical for every thread count. Products of a few rows skip packing.

use crate::kernel::{self, MR, NR, Tile};
use crate::simd::{self, Avx2Token, Isa};
use std::cell::RefCell;

/// Depth of one packed block.
const KC: usize = 256;
/// Rows of A packed at once.
const MC: usize = 72;
/// Columns of B packed at once.
const NC: usize = 1024;
/// Below this many multiply-adds a product runs on one thread.
const PARALLEL_WORK: usize = 1 << 20;
/// At most this many rows of C, a product skips packing (a forward pass of a few samples).
const SMALL_M: usize = 4;

/// A read-only strided matrix: element `(r, c)` is `data[r·rs + c·cs]`.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a> {
    /// The elements.
    pub data: &'a [f32],
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        Mat {
            data,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Mat {
            data,
            rs: 1,
            cs: cols,
        }
    }

    fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.rs + c * self.cs]
    }

    /// The same matrix without its first `by` columns.
    fn skip_cols(self, by: usize) -> Self {
        Mat {
            data: &self.data[by * self.cs..],
            ..self
        }
    }
}

/// One product to compute: `C[m×n] (+)= A[m×k]·B[k×n]`, C with row stride `ldc`.
#[derive(Clone, Copy, Debug)]
struct Product<'a> {
    m: usize,
    n: usize,
    k: usize,
    a: Mat<'a>,
    b: Mat<'a>,
    ldc: usize,
    accumulate: bool,
}

thread_local! {
    /// Packing buffers, reused so that no product allocates after a thread's first.
    static PACK: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// `C[m×n] = A[m×k]·B[k×n]`, or `C += A·B` when `accumulate`; C is row-major with row
/// stride `ldc`. Panics with the sizes when a slice is too short. Uses the process's
/// instruction set ([`simd::isa`]).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<'_>,
    b: Mat<'_>,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    gemm_on(simd::isa(), m, n, k, a, b, c, ldc, accumulate)
}

/// [`gemm`] on a given instruction set; AVX2 falls back to portable where the CPU lacks it.
#[allow(clippy::too_many_arguments)]
pub fn gemm_on(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: Mat<'_>,
    b: Mat<'_>,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |x: &Mat<'_>, r: usize, cl: usize| (r.max(1) - 1) * x.rs + (cl.max(1) - 1) * x.cs;
    assert!(
        k == 0 || a.data.len() > last(&a, m, k),
        "gemm: A holds {} values, too few for {m}×{k}",
        a.data.len()
    );
    assert!(
        k == 0 || b.data.len() > last(&b, k, n),
        "gemm: B holds {} values, too few for {k}×{n}",
        b.data.len()
    );
    assert!(
        c.len() >= (m - 1) * ldc + n && ldc >= n,
        "gemm: C holds {} values, too few for {m}×{n} with row stride {ldc}",
        c.len()
    );
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                c[r * ldc..r * ldc + n].fill(0.0);
            }
        }
        return;
    }
    let p = Product {
        m,
        n,
        k,
        a,
        b,
        ldc,
        accumulate,
    };
    let token = if isa == Isa::Avx2Fma {
        simd::avx2()
    } else {
        None
    };
    simd::record(if token.is_some() {
        Isa::Avx2Fma
    } else {
        Isa::Portable
    });
    if m <= SMALL_M && (b.rs == 1 || b.cs == 1) {
        return small_m(token, p, c);
    }
    let threads = crate::threads::get().min(n.div_ceil(NR));
    if threads <= 1 || m * n * k < PARALLEL_WORK {
        return serial(token, p, c, 0);
    }
    // Column blocks, a multiple of NR wide; each thread writes its own columns of C.
    let width = n.div_ceil(threads).div_ceil(NR) * NR;
    let c = SendPtr(c.as_mut_ptr(), c.len());
    let blocks = n.div_ceil(width);
    crate::threads::pool().install(|| columns(token, p, c, width, 0..blocks));
}

/// Computes the column blocks `blocks` (each `width` wide) of C, halving the range with
/// `rayon::join` (whose jobs live on the stack: no allocation per product).
fn columns(
    token: Option<Avx2Token>,
    p: Product<'_>,
    c: SendPtr,
    width: usize,
    blocks: std::ops::Range<usize>,
) {
    if blocks.len() > 1 {
        let mid = blocks.start + blocks.len() / 2;
        rayon::join(
            || columns(token, p, c, width, blocks.start..mid),
            || columns(token, p, c, width, mid..blocks.end),
        );
        return;
    }
    let (lo, hi) = (blocks.start * width, ((blocks.start + 1) * width).min(p.n));
    let part = Product {
        n: hi - lo,
        b: p.b.skip_cols(lo),
        ..p
    };
    // SAFETY: every call writes its own column range of C, and `gemm_on` holds the borrow of
    // C until `install` has returned, after every call.
    let c = unsafe { std::slice::from_raw_parts_mut(c.0, c.1) };
    serial(token, part, c, lo);
}

/// C's pointer and length, handed to the tasks that write its disjoint column ranges.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32, usize);
// SAFETY: used only to hand disjoint column ranges of one slice to the pool's tasks.
unsafe impl Send for SendPtr {}
// SAFETY: each task dereferences it only for its own, disjoint, column range.
unsafe impl Sync for SendPtr {}

/// The packed product on one thread, writing C's columns `col0..col0 + p.n`.
fn serial(token: Option<Avx2Token>, p: Product<'_>, c: &mut [f32], col0: usize) {
    let _flush = simd::FlushSubnormals::new();
    let (m, n, k, ldc) = (p.m, p.n, p.k, p.ldc);
    PACK.with(|pack| {
        let (pa, pb) = &mut *pack.borrow_mut();
        pa.resize(MC.div_ceil(MR) * MR * KC, 0.0);
        pb.resize(NC.div_ceil(NR) * NR * KC, 0.0);
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                pack_b(pb, p.b, pc, kc, jc, nc);
                for ic in (0..m).step_by(MC) {
                    let mc = MC.min(m - ic);
                    pack_a(pa, p.a, ic, mc, pc, kc);
                    for jr in (0..nc).step_by(NR) {
                        for ir in (0..mc).step_by(MR) {
                            let at = (ic + ir) * ldc + col0 + jc + jr;
                            let tile = Tile {
                                c: c[at..].as_mut_ptr(),
                                ldc,
                                rows: MR.min(mc - ir),
                                cols: NR.min(nc - jr),
                                accumulate: p.accumulate || pc > 0,
                            };
                            let (a_panel, b_panel) =
                                (pa[ir * kc..].as_ptr(), pb[jr * kc..].as_ptr());
                            // SAFETY: the panels hold kc·MR and kc·NR packed values, and C has
                            // room for the tile at `at` (checked by `gemm_on`).
                            unsafe {
                                match token {
                                    Some(t) => kernel::avx2(t, kc, a_panel, b_panel, tile),
                                    None => kernel::portable(kc, a_panel, b_panel, tile),
                                }
                            }
                        }
                    }
                }
            }
        }
    });
}

/// Packs `A[ic..ic+mc, pc..pc+kc]` as panels of MR rows, zero-padded: panel `q`, column `p`,
/// row `r` at `q·MR·kc + p·MR + r`.
fn pack_a(out: &mut [f32], a: Mat<'_>, ic: usize, mc: usize, pc: usize, kc: usize) {
    for q in 0..mc.div_ceil(MR) {
        let panel = &mut out[q * MR * kc..(q + 1) * MR * kc];
        for p in 0..kc {
            for r in 0..MR {
                let row = q * MR + r;
                panel[p * MR + r] = if row < mc {
                    a.at(ic + row, pc + p)
                } else {
                    0.0
                };
            }
        }
    }
}

/// Packs `B[pc..pc+kc, jc..jc+nc]` as panels of NR columns, zero-padded: panel `q`, row `p`,
/// column `j` at `q·NR·kc + p·NR + j`.
fn pack_b(out: &mut [f32], b: Mat<'_>, pc: usize, kc: usize, jc: usize, nc: usize) {
    for q in 0..nc.div_ceil(NR) {
        let panel = &mut out[q * NR * kc..(q + 1) * NR * kc];
        for p in 0..kc {
            let dst = &mut panel[p * NR..(p + 1) * NR];
            for (j, d) in dst.iter_mut().enumerate() {
                let col = q * NR + j;
                *d = if col < nc {
                    b.at(pc + p, jc + col)
                } else {
                    0.0
                };
            }
        }
    }
}

/// A product with few rows, straight from the stored operands: dot products when B's columns
/// are contiguous (a transposed weight matrix), row updates when its rows are.
fn small_m(token: Option<Avx2Token>, p: Product<'_>, c: &mut [f32]) {
    let _flush = simd::FlushSubnormals::new();
    PACK.with(|pack| {
        let (rows, _) = &mut *pack.borrow_mut();
        rows.resize(p.m * p.k, 0.0);
        for r in 0..p.m {
            for q in 0..p.k {
                rows[r * p.k + q] = p.a.at(r, q);
            }
        }
        match token {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX2 and FMA.
            Some(_) => unsafe { small_m_avx2(rows, p, c) },
            _ => small_m_body(rows, p, c),
        }
    });
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn small_m_avx2(rows: &[f32], p: Product<'_>, c: &mut [f32]) {
    small_m_body(rows, p, c)
}

/// The one body of the small-m product, A's rows contiguous in `rows`; the compiler
/// vectorizes it for the features enabled where it is inlined.
#[inline(always)]
fn small_m_body(rows: &[f32], p: Product<'_>, c: &mut [f32]) {
    let (n, k, b) = (p.n, p.k, p.b);
    for r in 0..p.m {
        let row = &rows[r * k..(r + 1) * k];
        let out = &mut c[r * p.ldc..r * p.ldc + n];
        if b.rs == 1 {
            // Column q of B is contiguous: C[r, q] = ⟨A[r, :], B[:, q]⟩, eight partial sums.
            for (q, o) in out.iter_mut().enumerate() {
                let col = &b.data[q * b.cs..q * b.cs + k];
                let mut acc = [0.0f32; 8];
                let (head, tail) = (row.chunks_exact(8), col.chunks_exact(8));
                let (rest_a, rest_b) = (head.remainder(), tail.remainder());
                for (x, y) in head.zip(tail) {
                    for l in 0..8 {
                        acc[l] += x[l] * y[l];
                    }
                }
                let mut dot: f32 = acc.iter().sum();
                for (x, y) in rest_a.iter().zip(rest_b) {
                    dot += x * y;
                }
                *o = if p.accumulate { *o + dot } else { dot };
            }
        } else {
            // Row q of B is contiguous: C[r, :] += A[r, q]·B[q, :].
            if !p.accumulate {
                out.fill(0.0);
            }
            for (q, x) in row.iter().enumerate() {
                let src = &b.data[q * b.rs..q * b.rs + n];
                for (o, y) in out.iter_mut().zip(src) {
                    *o += x * y;
                }
            }
        }
    }
}
