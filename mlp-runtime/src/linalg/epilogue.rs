//! What runs on a block of C once its sums are complete: the epilogue a caller of
//! `gemm_then` gives (a bias, an activation, a derivative mask, a second
//! output in D), compiled for the product's instruction set.

use super::mat::Out;
use crate::simd::Path;

/// The kernels' instruction set and the epilogue to run on finished rows.
pub(crate) struct Finish<'e, E> {
    /// The instruction set the product runs on.
    pub(crate) path: Path,
    epilogue: Option<&'e E>,
}

impl<'e, E> Finish<'e, E>
where
    E: Fn(usize, usize, &mut [f32], &mut [f32]) + Sync,
{
    /// The instruction set's path and the epilogue, if any.
    pub(crate) fn new(path: Path, epilogue: Option<&'e E>) -> Self {
        Finish { path, epilogue }
    }

    /// Runs the epilogue on rows `row..row + rows`, columns `col..col + cols` of C (and D).
    ///
    /// # Safety
    /// The rectangle must lie inside the product's output, hold complete sums, and be written
    /// by no other thread (nor referenced elsewhere) until this returns.
    #[inline(always)]
    pub(crate) unsafe fn rows(&self, out: Out, row: usize, col: usize, rows: usize, cols: usize) {
        let Some(epilogue) = self.epilogue else {
            return;
        };
        match self.path {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX-512F and VL, AVX2 and FMA; the rectangle is the
            // caller's promise.
            Path::Avx512(_) => unsafe { rows_avx512(epilogue, out, row, col, rows, cols) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX2 and FMA; the rectangle is the caller's promise.
            Path::Avx2(_) => unsafe { rows_avx2(epilogue, out, row, col, rows, cols) },
            // SAFETY: the rectangle is the caller's promise.
            _ => unsafe { rows_body(epilogue, out, row, col, rows, cols) },
        }
    }
}

/// [`rows_body`] compiled for AVX2, so that a loop over a stretch vectorizes eight lanes wide.
///
/// # Safety
/// The CPU must have AVX2 and FMA; the rectangle as for [`Finish::rows`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2<E>(epilogue: &E, out: Out, row: usize, col: usize, rows: usize, cols: usize)
where
    E: Fn(usize, usize, &mut [f32], &mut [f32]),
{
    // SAFETY: the rectangle is the caller's promise.
    unsafe { rows_body(epilogue, out, row, col, rows, cols) }
}

/// [`rows_body`] compiled for AVX-512.
///
/// # Safety
/// The CPU must have AVX-512F and VL, AVX2 and FMA; the rectangle as for [`Finish::rows`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn rows_avx512<E>(epilogue: &E, out: Out, row: usize, col: usize, rows: usize, cols: usize)
where
    E: Fn(usize, usize, &mut [f32], &mut [f32]),
{
    // SAFETY: the rectangle is the caller's promise.
    unsafe { rows_body(epilogue, out, row, col, rows, cols) }
}

/// The one body of the epilogue loop, inlined into each instruction set's wrapper: the
/// epilogue sees each row's stretch of C and D as slices.
///
/// # Safety
/// As for [`Finish::rows`].
#[inline(always)]
unsafe fn rows_body<E>(epilogue: &E, out: Out, row: usize, col: usize, rows: usize, cols: usize)
where
    E: Fn(usize, usize, &mut [f32], &mut [f32]),
{
    for r in row..row + rows {
        // SAFETY: inside the caller's rectangle, which is this thread's alone.
        let (c, d) = unsafe { out.stretch(r, col, cols) };
        epilogue(r, col, c, d);
    }
}
