//! A vector of f32 lanes as the kernels' one generic body sees them ([`Lanes`]): eight in a
//! plain array on every CPU ([`Portable`]), eight in an AVX register where the CPU has AVX2
//! and FMA ([`avx2::Avx2`]), sixteen in an AVX-512 register where it has AVX-512
//! ([`avx512::Avx512`]).

/// A vector of [`Lanes::WIDTH`] f32 lanes: what the kernels' one body is generic over.
///
/// A value of an implementing type is built only from a [`Lanes::Token`], which exists only
/// where the CPU has the type's instructions, so arithmetic on values is safe; loads and
/// stores through raw pointers are not, and say what they need.
pub(crate) trait Lanes: Copy {
    /// Proof that the CPU has the instructions.
    type Token: Copy;
    /// How many lanes: 8 or 16.
    const WIDTH: usize;
    /// Zeros.
    fn zero(t: Self::Token) -> Self;
    /// Copies of `v`.
    fn splat(t: Self::Token, v: f32) -> Self;
    /// [`Lanes::WIDTH`] values from `p`.
    ///
    /// # Safety
    /// `p` must point to `WIDTH` readable floats.
    unsafe fn load(t: Self::Token, p: *const f32) -> Self;
    /// Writes the values to `p`.
    ///
    /// # Safety
    /// `p` must point to `WIDTH` writable floats.
    unsafe fn store(self, p: *mut f32);
    /// The first `n` (< `WIDTH`) values from `p`, the other lanes zero.
    ///
    /// # Safety
    /// `p` must point to `n` readable floats.
    #[inline(always)]
    unsafe fn load_first(t: Self::Token, p: *const f32, n: usize) -> Self {
        let mut buf = [0.0f32; 16];
        // SAFETY: the caller guarantees n readable floats at `p`; `buf` holds 16 ≥ WIDTH.
        unsafe {
            std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n.min(Self::WIDTH));
            Self::load(t, buf.as_ptr())
        }
    }
    /// Writes the first `n` (< `WIDTH`) values to `p`.
    ///
    /// # Safety
    /// `p` must point to `n` writable floats.
    #[inline(always)]
    unsafe fn store_first(self, p: *mut f32, n: usize) {
        let mut buf = [0.0f32; 16];
        // SAFETY: `buf` holds 16 ≥ WIDTH floats; the caller guarantees n writable at `p`.
        unsafe {
            self.store(buf.as_mut_ptr());
            std::ptr::copy_nonoverlapping(buf.as_ptr(), p, n.min(Self::WIDTH));
        }
    }
    /// `self·b + c`, fused where the ISA has it.
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// `self + b`.
    fn add(self, b: Self) -> Self;
    /// `self·b`.
    fn mul(self, b: Self) -> Self;
    /// Asks for the cache line holding `p`: a hint that reads nothing and never faults, so
    /// any address will do ([`crate::simd::prefetch_line`]).
    #[inline(always)]
    fn prefetch(_t: Self::Token, p: *const f32) {
        crate::simd::prefetch_line(p);
    }
    /// The sum of the lanes of each vector of `acc`, written to `out` (as long): each in one
    /// fixed order, whatever its place in `acc` (eight lanes: `l + h` for the two halves, then
    /// `(s₀ + s₁) + (s₂ + s₃)`).
    fn sums(acc: &[Self], out: &mut [f32]);
}

/// The portable lanes: a plain array the compiler vectorizes as it can.
#[derive(Clone, Copy)]
pub(crate) struct Portable([f32; 8]);

impl Lanes for Portable {
    type Token = ();
    const WIDTH: usize = 8;
    #[inline(always)]
    fn zero(_: ()) -> Self {
        Portable([0.0; 8])
    }
    #[inline(always)]
    fn splat(_: (), v: f32) -> Self {
        Portable([v; 8])
    }
    #[inline(always)]
    unsafe fn load(_: (), p: *const f32) -> Self {
        // SAFETY: the caller guarantees 8 readable floats at `p`.
        Portable(unsafe { std::ptr::read_unaligned(p.cast::<[f32; 8]>()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees 8 writable floats at `p`.
        unsafe { std::ptr::write_unaligned(p.cast::<[f32; 8]>(), self.0) }
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        let mut out = c.0;
        for ((o, x), y) in out.iter_mut().zip(self.0).zip(b.0) {
            *o += x * y;
        }
        Portable(out)
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        let mut out = self.0;
        for (o, y) in out.iter_mut().zip(b.0) {
            *o += y;
        }
        Portable(out)
    }
    #[inline(always)]
    fn mul(self, b: Self) -> Self {
        let mut out = self.0;
        for (o, y) in out.iter_mut().zip(b.0) {
            *o *= y;
        }
        Portable(out)
    }
    #[inline(always)]
    fn sums(acc: &[Self], out: &mut [f32]) {
        for (a, o) in acc.iter().zip(out) {
            let v = a.0;
            let s = [v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]];
            *o = (s[0] + s[1]) + (s[2] + s[3]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use crate::simd::Avx2Token;
    use std::arch::x86_64::*;

    /// Eight lanes in an AVX register. The field is private: a value is made only from an
    /// [`Avx2Token`] or from other values, so where one exists the CPU has AVX2 and FMA, which
    /// is what every `unsafe` block below relies on.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2(__m256);

    impl super::Lanes for Avx2 {
        type Token = Avx2Token;
        const WIDTH: usize = 8;
        #[inline(always)]
        fn zero(_: Avx2Token) -> Self {
            // SAFETY: the token proves AVX.
            Avx2(unsafe { _mm256_setzero_ps() })
        }
        #[inline(always)]
        fn splat(_: Avx2Token, v: f32) -> Self {
            // SAFETY: the token proves AVX.
            Avx2(unsafe { _mm256_set1_ps(v) })
        }
        #[inline(always)]
        unsafe fn load(_: Avx2Token, p: *const f32) -> Self {
            // SAFETY: the token proves AVX; the caller guarantees 8 readable floats at `p`.
            Avx2(unsafe { _mm256_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: `self` exists, so the CPU has AVX; the caller guarantees 8 writable
            // floats at `p`.
            unsafe { _mm256_storeu_ps(p, self.0) }
        }
        /// A masked load (`vmaskmovps`): lanes past `n` are not read, and are zero.
        #[inline(always)]
        unsafe fn load_first(_: Avx2Token, p: *const f32, n: usize) -> Self {
            // SAFETY: the token proves AVX and AVX2; the masked load reads only the lanes
            // whose mask is set, the first n, which the caller guarantees readable (masked-off
            // lanes do not fault).
            unsafe {
                let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n.min(8) as i32), lanes);
                Avx2(_mm256_maskload_ps(p, mask))
            }
        }
        #[inline(always)]
        fn mul_add(self, b: Self, c: Self) -> Self {
            // SAFETY: `self` exists, so the CPU has FMA.
            Avx2(unsafe { _mm256_fmadd_ps(self.0, b.0, c.0) })
        }
        #[inline(always)]
        fn add(self, b: Self) -> Self {
            // SAFETY: `self` exists, so the CPU has AVX.
            Avx2(unsafe { _mm256_add_ps(self.0, b.0) })
        }
        #[inline(always)]
        fn mul(self, b: Self) -> Self {
            // SAFETY: `self` exists, so the CPU has AVX.
            Avx2(unsafe { _mm256_mul_ps(self.0, b.0) })
        }
        #[inline(always)]
        fn sums(acc: &[Self], out: &mut [f32]) {
            for (a, o) in acc.iter().zip(out) {
                // SAFETY: a vector exists, so the CPU has AVX (and SSE3, which it implies).
                *o = unsafe {
                    let s =
                        _mm_add_ps(_mm256_castps256_ps128(a.0), _mm256_extractf128_ps::<1>(a.0));
                    // (s₀ + s₁, ·, s₂ + s₃, ·), then the two added.
                    let pairs = _mm_add_ps(s, _mm_movehdup_ps(s));
                    _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehl_ps(pairs, pairs)))
                };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use crate::simd::Avx512Token;
    use std::arch::x86_64::*;

    /// Sixteen lanes in an AVX-512 register. The field is private: a value is made only from
    /// an [`Avx512Token`] or from other values, so where one exists the CPU has AVX-512F and
    /// VL, AVX2 and FMA, which is what every `unsafe` block below relies on.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512(__m512);

    impl super::Lanes for Avx512 {
        type Token = Avx512Token;
        const WIDTH: usize = 16;
        #[inline(always)]
        fn zero(_: Avx512Token) -> Self {
            // SAFETY: the token proves AVX-512F.
            Avx512(unsafe { _mm512_setzero_ps() })
        }
        #[inline(always)]
        fn splat(_: Avx512Token, v: f32) -> Self {
            // SAFETY: the token proves AVX-512F.
            Avx512(unsafe { _mm512_set1_ps(v) })
        }
        #[inline(always)]
        unsafe fn load(_: Avx512Token, p: *const f32) -> Self {
            // SAFETY: the token proves AVX-512F; the caller guarantees 16 readable floats.
            Avx512(unsafe { _mm512_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: `self` exists, so the CPU has AVX-512F; the caller guarantees 16
            // writable floats at `p`.
            unsafe { _mm512_storeu_ps(p, self.0) }
        }
        /// A masked load: lanes past `n` are neither read nor set.
        #[inline(always)]
        unsafe fn load_first(_: Avx512Token, p: *const f32, n: usize) -> Self {
            let mask = ((1u32 << n.min(16)) - 1) as u16;
            // SAFETY: the token proves AVX-512F; the masked load reads only the first n
            // floats at `p`, which the caller guarantees readable (masked-off lanes do not
            // fault).
            Avx512(unsafe { _mm512_maskz_loadu_ps(mask, p) })
        }
        /// A masked store: memory past the first `n` floats is not touched.
        #[inline(always)]
        unsafe fn store_first(self, p: *mut f32, n: usize) {
            let mask = ((1u32 << n.min(16)) - 1) as u16;
            // SAFETY: `self` exists, so the CPU has AVX-512F; the masked store writes only the
            // first n floats at `p`, which the caller guarantees writable.
            unsafe { _mm512_mask_storeu_ps(p, mask, self.0) }
        }
        #[inline(always)]
        fn mul_add(self, b: Self, c: Self) -> Self {
            // SAFETY: `self` exists, so the CPU has AVX-512F.
            Avx512(unsafe { _mm512_fmadd_ps(self.0, b.0, c.0) })
        }
        #[inline(always)]
        fn add(self, b: Self) -> Self {
            // SAFETY: `self` exists, so the CPU has AVX-512F.
            Avx512(unsafe { _mm512_add_ps(self.0, b.0) })
        }
        #[inline(always)]
        fn mul(self, b: Self) -> Self {
            // SAFETY: `self` exists, so the CPU has AVX-512F.
            Avx512(unsafe { _mm512_mul_ps(self.0, b.0) })
        }
        /// Sixteen vectors at a time, transposed as they are added (45 shuffles and adds for
        /// 16 sums, where one by one takes 8 per sum): for each vector, its four 128-bit
        /// chunks as `(c₀ + c₂) + (c₁ + c₃)`, then that chunk's lanes as `(e₀ + e₂) + (e₁ + e₃)`.
        #[inline(always)]
        fn sums(acc: &[Self], out: &mut [f32]) {
            let out = &mut out[..acc.len()];
            for (group, sums) in acc.chunks(16).zip(out.chunks_mut(16)) {
                let v: [__m512; 16] = std::array::from_fn(|i| match group.get(i) {
                    Some(a) => a.0,
                    // SAFETY: a vector exists, so the CPU has AVX-512F.
                    None => unsafe { _mm512_setzero_ps() },
                });
                // SAFETY: a vector exists, so the CPU has AVX-512F.
                let lanes = unsafe { transpose_sum(v) };
                // Lane 4c + e holds the sum of vector 4e + c.
                for (l, s) in lanes.iter().enumerate() {
                    if let Some(slot) = sums.get_mut((l % 4) * 4 + l / 4) {
                        *slot = *s;
                    }
                }
            }
        }
    }

    /// The sixteen lane sums of sixteen vectors, lane `4c + e` holding vector `4e + c`'s.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[inline(always)]
    unsafe fn transpose_sum(v: [__m512; 16]) -> [f32; 16] {
        // SAFETY: the caller's promise; `out` holds 16 floats.
        unsafe {
            // Pairs: [a.c₀+a.c₂, a.c₁+a.c₃, b.c₀+b.c₂, b.c₁+b.c₃].
            let l1: [__m512; 8] = std::array::from_fn(|i| {
                let (a, b) = (v[2 * i], v[2 * i + 1]);
                _mm512_add_ps(
                    _mm512_shuffle_f32x4::<0b01_00_01_00>(a, b),
                    _mm512_shuffle_f32x4::<0b11_10_11_10>(a, b),
                )
            });
            // Fours: chunk k holds vector k's four partial sums.
            let l2: [__m512; 4] = std::array::from_fn(|i| {
                let (s, u) = (l1[2 * i], l1[2 * i + 1]);
                _mm512_add_ps(
                    _mm512_shuffle_f32x4::<0b10_00_10_00>(s, u),
                    _mm512_shuffle_f32x4::<0b11_01_11_01>(s, u),
                )
            });
            // Within each chunk: [x₀+x₂, x₁+x₃, y₀+y₂, y₁+y₃].
            let l3: [__m512; 2] = std::array::from_fn(|i| {
                let (x, y) = (l2[2 * i], l2[2 * i + 1]);
                _mm512_add_ps(
                    _mm512_shuffle_ps::<0b01_00_01_00>(x, y),
                    _mm512_shuffle_ps::<0b11_10_11_10>(x, y),
                )
            });
            let (p, q) = (l3[0], l3[1]);
            let all = _mm512_add_ps(
                _mm512_shuffle_ps::<0b10_00_10_00>(p, q),
                _mm512_shuffle_ps::<0b11_01_11_01>(p, q),
            );
            let mut out = [0.0f32; 16];
            _mm512_storeu_ps(out.as_mut_ptr(), all);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Lanes, Portable};

    /// `load_first` reads the first `n` values and zeros the other lanes; `store_first` writes
    /// the first `n` and nothing past them, for every `n` below the width.
    fn first_n<V: Lanes>(t: V::Token) {
        let src: Vec<f32> = (1..=V::WIDTH).map(|v| v as f32).collect();
        for n in 0..V::WIDTH {
            let mut lanes = [f32::NAN; 16];
            // The n values end where their allocation does, so that a sanitizer sees a read
            // past them.
            let tail: Vec<f32> = src[..n].to_vec();
            // SAFETY: `tail` holds n values; `lanes` holds 16 ≥ WIDTH.
            unsafe { V::load_first(t, tail.as_ptr(), n).store(lanes.as_mut_ptr()) };
            let want: Vec<f32> = (0..V::WIDTH)
                .map(|i| if i < n { src[i] } else { 0.0 })
                .collect();
            assert_eq!(lanes[..V::WIDTH], want[..], "load_first of {n}");
            let mut out = [-1.0f32; 17];
            // SAFETY: `src` holds WIDTH values; `out` holds 17 > n + 1.
            unsafe { V::load(t, src.as_ptr()).store_first(out[1..].as_mut_ptr(), n) };
            assert_eq!(out[0], -1.0, "store_first of {n} wrote before its start");
            assert_eq!(out[1..=n], src[..n], "store_first of {n}");
            assert!(
                out[n + 1..].iter().all(|&v| v == -1.0),
                "store_first of {n} wrote past n"
            );
        }
    }

    #[test]
    fn first_lanes_on_every_path() {
        first_n::<Portable>(());
        #[cfg(target_arch = "x86_64")]
        {
            match crate::simd::avx2() {
                Some(t) => first_n::<super::avx2::Avx2>(t),
                None => eprintln!("skipped AVX2: the CPU lacks it"),
            }
            match crate::simd::avx512() {
                Some(t) => first_n::<super::avx512::Avx512>(t),
                None => eprintln!("skipped AVX-512: the CPU lacks it"),
            }
        }
    }
}
