//! The views the kernels work on: a read-only strided matrix ([`Mat`]), one product to
//! compute ([`Product`]), and the output a product's blocks write ([`Out`]).

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

    pub(crate) fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.rs + c * self.cs]
    }

    /// The same matrix without its first `by` rows.
    pub(crate) fn skip_rows(self, by: usize) -> Self {
        Mat {
            data: &self.data[by * self.rs..],
            ..self
        }
    }

    /// The same matrix without its first `by` columns.
    pub(crate) fn skip_cols(self, by: usize) -> Self {
        Mat {
            data: &self.data[by * self.cs..],
            ..self
        }
    }
}

/// One product to compute: `C[m×n] (+)= A[m×k]·B[k×n]`, C with row stride `ldc`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Product<'a> {
    pub(crate) m: usize,
    pub(crate) n: usize,
    pub(crate) k: usize,
    pub(crate) a: Mat<'a>,
    pub(crate) b: Mat<'a>,
    pub(crate) ldc: usize,
    pub(crate) accumulate: bool,
    /// What each sum is multiplied by before it is stored (packed path only).
    pub(crate) scale: f32,
}

/// C, and D (the epilogue's second output, with C's layout), as the blocks of a product write
/// them: raw pointers to element (0, 0) and the row stride, as matrixmultiply hands C to its
/// threads. Blocks on different threads write disjoint rectangles, and a block makes a
/// `&mut` slice only of a stretch of one row inside its own rectangle (for the epilogue), so
/// no thread ever holds a reference that overlaps memory another thread writes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Out {
    c: *mut f32,
    /// Null when the product has no D.
    d: *mut f32,
    ldc: usize,
}

// SAFETY: an `Out` is only a pair of addresses; what may be written through them, and by
// whom, is the contract of the `unsafe` functions that take one (each block writes its own
// rectangle, and the product's caller holds C and D borrowed until every block is done).
unsafe impl Send for Out {}
// SAFETY: as above.
unsafe impl Sync for Out {}

impl Out {
    /// The output of an `m×n` product with row stride `ldc` into `c` and `d` (D empty: none).
    ///
    /// # Panics
    /// When C, or a non-empty D, holds too few values for `m×n` with row stride `ldc`, or
    /// `ldc < n`.
    pub(crate) fn new(c: &mut [f32], d: &mut [f32], m: usize, n: usize, ldc: usize) -> Out {
        let need = if m == 0 || n == 0 {
            0
        } else {
            (m - 1) * ldc + n
        };
        assert!(
            c.len() >= need && (need == 0 || ldc >= n),
            "gemm: C holds {} values, too few for {m}×{n} with row stride {ldc}",
            c.len()
        );
        assert!(
            d.is_empty() || d.len() >= need,
            "gemm: D holds {} values, too few for {m}×{n} with row stride {ldc}",
            d.len()
        );
        Out {
            c: c.as_mut_ptr(),
            d: if d.is_empty() {
                std::ptr::null_mut()
            } else {
                d.as_mut_ptr()
            },
            ldc,
        }
    }

    /// C's row stride.
    pub(crate) fn ldc(&self) -> usize {
        self.ldc
    }

    /// The address of C's element `(row, col)` (computing it reads nothing).
    pub(crate) fn at(&self, row: usize, col: usize) -> *mut f32 {
        self.c.wrapping_add(row * self.ldc + col)
    }

    /// Row `row`, columns `col..col + len`, of C and of D (empty when there is no D).
    ///
    /// # Safety
    /// The stretch must lie inside the product's `m×n` (checked by [`Out::new`]), and no other
    /// reference to it, nor another thread's write, may exist while the slices live.
    pub(crate) unsafe fn stretch<'a>(
        &self,
        row: usize,
        col: usize,
        len: usize,
    ) -> (&'a mut [f32], &'a mut [f32]) {
        let at = row * self.ldc + col;
        // SAFETY: inside C (the caller's promise, and `new`'s check), and this caller's alone.
        let c = unsafe { std::slice::from_raw_parts_mut(self.c.add(at), len) };
        let d = if self.d.is_null() {
            &mut [][..]
        } else {
            // SAFETY: D has C's layout and at least as many values (checked by `new`).
            unsafe { std::slice::from_raw_parts_mut(self.d.add(at), len) }
        };
        (c, d)
    }
}
