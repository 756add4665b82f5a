//! Matrix products: `C = A·B` or `C += A·B` for strided A and B (so a transpose is free) and
//! row-major C, split over threads by column blocks (row blocks for few columns, when A is
//! the larger operand, or for a descent step's weight rows). Rows of A times a transposed B
//! (every forward product: activations times a weight matrix as stored) run on dot-product
//! tiles that read both operands in place (`dot.rs`), unless the product is shallow; every
//! other product is blocked around the microkernel (`kernel.rs`), which reads contiguous rows
//! or columns of A and rows of B in place and packs the rest. Splitting never changes the
//! order of any sum, so results are bit-identical for every thread count. Products of a few
//! rows skip packing.

use super::dot;
use super::epilogue::Finish;
use super::kernel::{self, Lies, Tile};
pub use super::mat::Mat;
use super::mat::{Out, Product};
use super::pack;
use super::packs;
use super::profile::{self, Kind};
use super::small::{self, SMALL_M};
use crate::simd::{self, Isa, Path};

/// Depth of one packed block.
const KC: usize = 256;
/// Rows of A packed at once.
const MC: usize = 72;
/// Columns of B packed at once: a multiple of both kernels' tile width (16 and 48).
const NC: usize = 1008;
// The packing buffers hold a block of each.
const _: () = assert!(MC * KC <= packs::A_LEN && NC * KC <= packs::B_LEN);
/// Below this many multiply-adds a product runs on one thread.
const PARALLEL_WORK: usize = 1 << 17;
/// Blocks per thread a product is cut into (where it has that many tiles): every thread
/// claims the next unclaimed block when it is done with one, so a core that runs slower (a
/// neighbour shares it) computes fewer blocks instead of holding the others up.
const BLOCKS_PER_THREAD: usize = 4;

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

/// [`gemm`] on a given instruction set; one the CPU lacks falls back to the best below it.
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
    let p = Product {
        m,
        n,
        k,
        a,
        b,
        ldc,
        accumulate,
        scale: 1.0,
    };
    run::<NoEpilogue>(isa, p, c, &mut [], None)
}

/// A weight matrix's gradient `G = A·B` (`m×n`, row stride `ldc`, written to `grad`); or,
/// given `descend` = (the weights W, with G's layout, and a learning rate), a step of plain
/// gradient descent `W ← W − lr·G` folded into the product: each finished tile of sums is
/// multiplied by −lr and added to W while it is in registers, and G is not stored. That is
/// bit for bit what computing G and then `θ ← θ − lr·g` gives ([`crate::Sgd`]) when the
/// product has one depth block (`k` ≤ 256); otherwise, and for products that do not run
/// packed, G is stored and the step follows it.
#[allow(clippy::too_many_arguments)]
pub fn gemm_descend(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<'_>,
    b: Mat<'_>,
    grad: &mut [f32],
    ldc: usize,
    descend: Option<(&mut [f32], f32)>,
) {
    gemm_descend_on(simd::isa(), m, n, k, a, b, grad, ldc, descend)
}

/// [`gemm_descend`] on a given instruction set; one the CPU lacks falls back to the best below
/// it.
#[allow(clippy::too_many_arguments)]
pub fn gemm_descend_on(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: Mat<'_>,
    b: Mat<'_>,
    grad: &mut [f32],
    ldc: usize,
    descend: Option<(&mut [f32], f32)>,
) {
    let Some((weights, lr)) = descend else {
        return gemm_on(isa, m, n, k, a, b, grad, ldc, false);
    };
    let p = Product {
        m,
        n,
        k,
        a,
        b,
        ldc,
        accumulate: true,
        scale: -lr,
    };
    // Only where the plain product runs packed too, so that the sums are the same.
    let small = m <= SMALL_M && (b.rs == 1 || b.cs == 1);
    if k > 0 && k <= KC && !small && !dot::suits(&p) {
        return run::<NoEpilogue>(isa, p, weights, &mut [], None);
    }
    gemm_on(isa, m, n, k, a, b, grad, ldc, false);
    for r in 0..m {
        super::params::descend(&mut weights[r * ldc..][..n], &grad[r * ldc..][..n], lr);
    }
}

/// The type of an epilogue that does nothing.
type NoEpilogue = fn(usize, usize, &mut [f32], &mut [f32]);

/// `C[m×n] = A[m×k]·B[k×n]`, then `epilogue(row, col, c, d)` on each finished stretch of a
/// row of C (`c` = `C[row, col..col + c.len()]`, `d` the same stretch of D, which has C's
/// layout, or empty when `d` is): as soon as a block of C (a few dozen rows, up to a few
/// hundred columns) is complete, while it is still in the core's cache, the epilogue adds a
/// bias, applies an activation or a derivative mask, and may write a second output to D.
/// Every element of C passes through the epilogue exactly once, after its sum is complete.
/// With AVX2 the epilogue is inlined into a function compiled for AVX2, so a loop over the
/// stretch vectorizes eight lanes wide. The epilogue runs on the kernel team's threads, hence
/// `Sync`; if it panics on any of them, the other blocks still finish and the panic is raised
/// here afterwards.
#[allow(clippy::too_many_arguments)]
pub fn gemm_then<E>(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<'_>,
    b: Mat<'_>,
    c: &mut [f32],
    ldc: usize,
    d: &mut [f32],
    epilogue: E,
) where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    gemm_then_on(simd::isa(), m, n, k, a, b, c, ldc, d, epilogue)
}

/// [`gemm_then`] on a given instruction set; one the CPU lacks falls back to the best below
/// it.
#[allow(clippy::too_many_arguments)]
pub fn gemm_then_on<E>(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: Mat<'_>,
    b: Mat<'_>,
    c: &mut [f32],
    ldc: usize,
    d: &mut [f32],
    epilogue: E,
) where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    let p = Product {
        m,
        n,
        k,
        a,
        b,
        ldc,
        accumulate: false,
        scale: 1.0,
    };
    run(isa, p, c, d, Some(&epilogue))
}

/// Checks the operands, then runs the product on the chosen path (timed while
/// [`profile`](super::profile) records).
fn run<E>(isa: Isa, p: Product<'_>, c: &mut [f32], d: &mut [f32], epilogue: Option<&E>)
where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    profile::timed(p.m, p.n, p.k, || run_on(isa, p, c, d, epilogue))
}

/// [`run`], untimed; returns the path the product took.
fn run_on<E>(isa: Isa, p: Product<'_>, c: &mut [f32], d: &mut [f32], epilogue: Option<&E>) -> Kind
where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    let Product { m, n, k, b, .. } = p;
    // Checks C and D, so that every block below stays inside them.
    let out = Out::new(c, d, m, n, p.ldc);
    if m == 0 || n == 0 {
        return Kind::Empty;
    }
    check_operands(&p);
    let path = Path::of(isa);
    let fin = Finish::new(path, epilogue);
    if k == 0 {
        empty_sum(&fin, p, out);
        return Kind::Empty;
    }
    simd::record(path.isa());
    // A scaled product (a descent step) runs packed: only that kernel scales.
    let packed_only = p.scale != 1.0;
    let dot = dot::suits(&p) && !packed_only;
    if m <= SMALL_M && !dot && !packed_only && (b.rs == 1 || b.cs == 1) {
        // SAFETY: the whole product, on this thread alone.
        unsafe { small::small_m(&fin, p, out) };
        return Kind::Small;
    }
    let kind = match (dot, packed_only) {
        (true, _) => Kind::Dot,
        (false, true) => Kind::PackedStep,
        (false, false) => Kind::Packed,
    };
    // Parts are whole tiles high or wide.
    let (tile_rows, tile_cols) = if dot {
        dot::shape(path)
    } else {
        kernel::shape(path)
    };
    let threads = crate::threads::get();
    packs::ensure(threads);
    let blocks = threads * BLOCKS_PER_THREAD;
    let (by_cols, by_rows) = (
        blocks.min(n.div_ceil(tile_cols)),
        blocks.min(m.div_ceil(tile_rows)),
    );
    // `usable` last: it is 1 while helpers that held the caller up are left out.
    let parallel = threads > 1 && m * n * k >= PARALLEL_WORK && by_cols.max(by_rows) > 1;
    if !parallel || crate::threads::usable() <= 1 {
        // SAFETY: the whole product, on this thread alone.
        unsafe { part(dot, &fin, p, out, 0, 0) };
        return kind;
    }
    // A column block reads all of A, a row block all of B: with A the larger (an evaluation
    // batch of more samples than the layer has outputs), row blocks, so that A is read once
    // (measured on predict at batch 1000 on two threads: 3–4% faster).
    // Only where no row block would pack B again (measured on the dot tiles).
    let height = m.div_ceil(by_rows);
    let a_larger = m > n && by_rows == blocks && (dot || b_in_place(b, height, depth_block(k)));
    // A descent step's C is a weight matrix, split by its rows (outputs) as the forward product
    // split it: each thread updates the rows its core's cache holds (seed step, two threads,
    // four alternated pairs: 1076–1413 µs against 1122–1611 with column blocks).
    let weight_rows = packed_only && by_rows == blocks;
    let split = if by_cols >= by_rows && !a_larger && !weight_rows {
        // Column blocks: each thread reads (and packs) its own part of B.
        Split::Columns(n.div_ceil(by_cols).div_ceil(tile_cols) * tile_cols)
    } else {
        // Few columns (an output layer), A the larger, or a weight's rows: row blocks.
        Split::Rows(m.div_ceil(by_rows).div_ceil(tile_rows) * tile_rows)
    };
    let blocks = match split {
        Split::Columns(width) => n.div_ceil(width),
        Split::Rows(height) => m.div_ceil(height),
    };
    crate::threads::split(blocks, &|k| {
        // SAFETY: blocks are disjoint rectangles of the product, each run once, and `c` and
        // `d` stay borrowed here until `split` has returned, after every block.
        unsafe { block(dot, &fin, p, out, split, k) }
    });
    kind
}

/// Panics unless A and B hold every value the product reads (C and D are `Out::new`'s).
fn check_operands(p: &Product<'_>) {
    let Product { m, n, k, a, b, .. } = *p;
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
}

/// A product over `k = 0`: C is zero (or kept, when accumulating), then the epilogue runs.
fn empty_sum<E>(fin: &Finish<'_, E>, p: Product<'_>, out: Out)
where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    let (m, n) = (p.m, p.n);
    if !p.accumulate {
        for r in 0..m {
            // SAFETY: row r's n values are inside C (checked by `Out::new`), and nothing else
            // refers to them here.
            unsafe { out.stretch(r, 0, n) }.0.fill(0.0);
        }
    }
    // SAFETY: the whole product, on this thread alone.
    unsafe { fin.rows(out, 0, 0, m, n) };
}

/// One thread's part of a product, `p` (rows `row0..` and columns `col0..` of the whole):
/// dot-product tiles or the packed kernel.
///
/// # Safety
/// The part's rectangle of `out` must be inside the product's output and written by no other
/// thread until this returns.
unsafe fn part<E>(
    dot: bool,
    fin: &Finish<'_, E>,
    p: Product<'_>,
    out: Out,
    row0: usize,
    col0: usize,
) where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    // SAFETY: the caller's promise.
    unsafe {
        if dot {
            dot::serial(fin, p, out, row0, col0)
        } else {
            serial(fin, p, out, row0, col0)
        }
    }
}

/// How a product is cut into the blocks the threads compute.
#[derive(Clone, Copy)]
enum Split {
    /// Column blocks this wide.
    Columns(usize),
    /// Row blocks this high.
    Rows(usize),
}

/// Computes block `k` of the product: its rows or columns of C, and of D.
///
/// # Safety
/// No other thread may write block `k` until this returns.
unsafe fn block<E>(dot: bool, fin: &Finish<'_, E>, p: Product<'_>, out: Out, split: Split, k: usize)
where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    let (part, row0, col0) = match split {
        Split::Columns(width) => {
            let (lo, hi) = (k * width, ((k + 1) * width).min(p.n));
            let part = Product {
                n: hi - lo,
                b: p.b.skip_cols(lo),
                ..p
            };
            (part, 0, lo)
        }
        Split::Rows(height) => {
            let (lo, hi) = (k * height, ((k + 1) * height).min(p.m));
            let part = Product {
                m: hi - lo,
                a: p.a.skip_rows(lo),
                ..p
            };
            (part, lo, 0)
        }
    };
    // SAFETY: the block is inside the product, and the caller's alone.
    unsafe { self::part(dot, fin, part, out, row0, col0) }
}

/// The packed product on one thread: `p` is rows `row0..` and columns `col0..` of the whole
/// product, written to `out` at those places; each block of MC rows goes through the epilogue
/// right after its last depth block.
///
/// # Safety
/// As for [`part`].
unsafe fn serial<E>(fin: &Finish<'_, E>, p: Product<'_>, out: Out, row0: usize, col0: usize)
where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    let (m, n, k) = (p.m, p.n, p.k);
    let (mr, nr) = kernel::shape(fin.path);
    packs::with(|(pa, pb)| {
        let kc_max = depth_block(k);
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            for pc in (0..k).step_by(kc_max) {
                let kc = kc_max.min(k - pc);
                let last = pc + kc == k;
                // B's panels read in place (`b_in_place`), rows `b.rs` apart, a last, narrower
                // one too (the kernel reads only its columns); or all packed (zero-padded).
                let b_read_in_place = b_in_place(p.b, m, kc);
                if !b_read_in_place {
                    pack::pack_b(fin.path, pb, p.b, pc, kc, jc, nc);
                }
                for ic in (0..m).step_by(MC) {
                    let mc = MC.min(m - ic);
                    // A's columns contiguous (a transposed operand) or its rows (row-major):
                    // read in place, but for a last, lower panel the kernel cannot read as is.
                    let whole_a = if p.a.rs == 1 || p.a.cs == 1 {
                        in_place_rows(mc, mr)
                    } else {
                        0
                    };
                    if whole_a < mc {
                        pack::pack_a(fin.path, pa, p.a, ic + whole_a, mc - whole_a, pc, kc);
                    }
                    for jr in (0..nc).step_by(nr) {
                        for ir in (0..mc).step_by(mr) {
                            let tile = Tile {
                                c: out.at(row0 + ic + ir, col0 + jc + jr),
                                ldc: out.ldc(),
                                rows: mr.min(mc - ir),
                                cols: nr.min(nc - jr),
                                accumulate: p.accumulate || pc > 0,
                                scale: p.scale,
                                b_edge: b_read_in_place,
                            };
                            let (a_panel, a_lies) = if ir >= whole_a {
                                ((pa[(ir - whole_a) * kc..].as_ptr(), mr), Lies::Columns)
                            } else if p.a.rs == 1 {
                                let first = pc * p.a.cs + ic + ir;
                                ((p.a.data[first..].as_ptr(), p.a.cs), Lies::Columns)
                            } else {
                                let first = (ic + ir) * p.a.rs + pc;
                                ((p.a.data[first..].as_ptr(), p.a.rs), Lies::Rows)
                            };
                            let b_panel = if b_read_in_place {
                                (p.b.data[pc * p.b.rs + jc + jr..].as_ptr(), p.b.rs)
                            } else {
                                (pb[jr * kc..].as_ptr(), nr)
                            };
                            // SAFETY: the A panel holds kc columns of mr values, packed (sized
                            // above, the path's shape; a kernel of height ≤ mr reads inside
                            // it), or of the tile's rows read in place: columns pc..pc+kc of A,
                            // rows ic+ir..ic+ir+rows ≤ m, inside A (`check_operands`), lying as
                            // `a_lies` says, where rows is mr or 1, 2 or 4, the kernel's height
                            // (`in_place_rows`); the B panel kc rows of nr values: packed, or
                            // rows pc..pc+kc of B, columns jc+jr..jc+jr+cols ≤ n, inside B, of
                            // which the kernel reads no more (`b_edge`); the tile is inside
                            // this part's rectangle.
                            unsafe { kernel::call(fin.path, kc, (a_panel, a_lies), b_panel, tile) }
                        }
                    }
                    if last {
                        // The block's sums are complete: through the epilogue while in L2.
                        // SAFETY: inside this part's rectangle.
                        unsafe { fin.rows(out, row0 + ic, col0 + jc, mc, nc) };
                    }
                }
            }
        }
    });
}

/// How many of a block's `mc` rows of A the kernel reads in place, when A's rows or columns
/// are contiguous: whole panels of `mr` rows, and a last one of 1, 2 or 4 rows, which a
/// kernel of that height reads ([`kernel::call`]); any other last panel is packed, zero-padded,
/// since a kernel of the next height up would read rows past A's.
fn in_place_rows(mc: usize, mr: usize) -> usize {
    let rest = mc % mr;
    if rest == 0 || kernel::height(rest, mr) == rest {
        mc
    } else {
        mc - rest
    }
}

/// The depth of a packed block of a product of depth `k`: blocks of equal size (784 = 4 × 196,
/// not 3 × 256 + 16), since a thin last block would pay a whole pass over C for little
/// arithmetic.
fn depth_block(k: usize) -> usize {
    k.div_ceil(k.div_ceil(KC))
}

/// Whether a part of `rows` rows reads B's whole panels of depth `kc` in place: B's rows are
/// contiguous, and do not crowd into a few L1 sets ([`pack::crowded`]) where more than one
/// block of rows reuses a panel (with fewer, packing a weight matrix cost what it saved).
fn b_in_place(b: Mat<'_>, rows: usize, kc: usize) -> bool {
    b.cs == 1 && !(rows > MC && pack::crowded(b.rs, kc))
}
