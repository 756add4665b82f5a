//! Which instruction set the kernels use: AVX2 with FMA where the CPU has it, else a portable
//! path written as a peer of the SIMD one. Detected once; `MLP_FORCE_PORTABLE=1` in the
//! environment forces the portable path, and [`kernels_run`] tells which path really ran.

pub(crate) mod lanes;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// An instruction set the kernels are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Plain Rust, correct on every CPU.
    Portable,
    /// x86-64 AVX2 with fused multiply-add.
    Avx2Fma,
}

/// Proof that the CPU has AVX2 and FMA: only [`Avx2Token::detect`] builds one.
#[derive(Clone, Copy, Debug)]
pub struct Avx2Token(());

impl Avx2Token {
    /// The token, if the CPU has both features.
    pub fn detect() -> Option<Avx2Token> {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Some(Avx2Token(()));
        }
        None
    }
}

/// The AVX2 token if the CPU has the features, detected once per process.
pub fn avx2() -> Option<Avx2Token> {
    static DETECTED: OnceLock<Option<Avx2Token>> = OnceLock::new();
    *DETECTED.get_or_init(Avx2Token::detect)
}

/// The instruction set chosen for this process: detected once, or forced portable by
/// `MLP_FORCE_PORTABLE=1`.
pub fn isa() -> Isa {
    static CHOSEN: OnceLock<Isa> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let forced = std::env::var("MLP_FORCE_PORTABLE").is_ok_and(|v| v == "1");
        match (forced, avx2()) {
            (false, Some(_)) => Isa::Avx2Fma,
            _ => Isa::Portable,
        }
    })
}

static RAN: AtomicU8 = AtomicU8::new(0);

/// Records that a kernel of `isa` ran.
pub(crate) fn record(isa: Isa) {
    let bit = match isa {
        Isa::Portable => 1,
        Isa::Avx2Fma => 2,
    };
    // A read, not a locked write, once the bit is set: this runs several times per step.
    if RAN.load(Ordering::Relaxed) & bit == 0 {
        RAN.fetch_or(bit, Ordering::Relaxed);
    }
}

/// The instruction sets whose kernels have run in this process, so a test can prove that a
/// forced path really ran.
pub fn kernels_run() -> Vec<Isa> {
    let bits = RAN.load(Ordering::Relaxed);
    [(1, Isa::Portable), (2, Isa::Avx2Fma)]
        .into_iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, i)| i)
        .collect()
}

/// Runs `f` compiled for AVX2 and FMA when this process uses them ([`isa`]), else as it is:
/// the one body of an elementwise kernel, for both instruction sets. Pass the closure with
/// `#[inline(always)]` so that its loops are compiled inside the AVX2 function.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if isa() == Isa::Avx2Fma {
            record(Isa::Avx2Fma);
            // SAFETY: `isa` reports AVX2 only where both features were detected.
            return unsafe { avx2(f) };
        }
    }
    record(Isa::Portable);
    f()
}
