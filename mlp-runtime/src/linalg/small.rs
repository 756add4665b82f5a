//! Products of a few rows (a forward pass of a few samples), straight from the stored
//! operands: packing would cost more than it saves.

use super::epilogue::Finish;
use super::mat::{Out, Product};
use crate::aligned::Aligned;
use std::cell::RefCell;

/// At most this many rows of C, a product skips packing.
pub(super) const SMALL_M: usize = 4;

thread_local! {
    /// A's rows, gathered contiguous; reused so that no product allocates after a thread's
    /// first.
    static ROWS: RefCell<Aligned> = RefCell::new(Aligned::default());
}

/// A product with few rows, straight from the stored operands: dot products when B's columns
/// are contiguous (a transposed weight matrix), row updates when its rows are.
///
/// # Safety
/// The product's output must be this thread's alone until this returns.
pub(super) unsafe fn small_m<E>(fin: &Finish<'_, E>, p: Product<'_>, out: Out)
where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    ROWS.with(|rows| {
        let rows = &mut *rows.borrow_mut();
        rows.resize(p.m * p.k);
        for r in 0..p.m {
            for q in 0..p.k {
                rows[r * p.k + q] = p.a.at(r, q);
            }
        }
        match fin.path {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX-512F and VL, AVX2 and FMA; the output is the
            // caller's promise.
            crate::simd::Path::Avx512(_) => unsafe { small_m_avx512(rows, p, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX2 and FMA; the output is the caller's promise.
            crate::simd::Path::Avx2(_) => unsafe { small_m_avx2(rows, p, out) },
            // SAFETY: the output is the caller's promise.
            _ => unsafe { small_m_body(rows, p, out) },
        }
    });
    // SAFETY: the whole product, this thread's alone.
    unsafe { fin.rows(out, 0, 0, p.m, p.n) };
}

/// [`small_m_body`] compiled for AVX2 and FMA.
///
/// # Safety
/// The CPU must have AVX2 and FMA; the output as for [`small_m`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn small_m_avx2(rows: &[f32], p: Product<'_>, out: Out) {
    // SAFETY: the caller's promise.
    unsafe { small_m_body(rows, p, out) }
}

/// [`small_m_body`] compiled for AVX-512.
///
/// # Safety
/// The CPU must have AVX-512F and VL, AVX2 and FMA; the output as for [`small_m`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn small_m_avx512(rows: &[f32], p: Product<'_>, out: Out) {
    // SAFETY: the caller's promise.
    unsafe { small_m_body(rows, p, out) }
}

/// The one body of the small-m product, A's rows contiguous in `rows`; the compiler
/// vectorizes it for the features enabled where it is inlined.
///
/// # Safety
/// As for [`small_m`].
#[inline(always)]
unsafe fn small_m_body(rows: &[f32], p: Product<'_>, out: Out) {
    let (n, k, b) = (p.n, p.k, p.b);
    for r in 0..p.m {
        let row = &rows[r * k..(r + 1) * k];
        // SAFETY: row r of the product, inside C (checked by `Out::new`) and ours alone.
        let (out, _) = unsafe { out.stretch(r, 0, n) };
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
