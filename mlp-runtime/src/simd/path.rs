//! Proofs that the CPU has an instruction set ([`Avx2Token`], [`Avx512Token`]), detected once
//! per process, and the path a product takes ([`Path`]): an instruction set with its proof.

use super::Isa;
use std::sync::OnceLock;

/// Proof that the CPU has AVX2 and FMA: only [`Avx2Token::detect`] (or an [`Avx512Token`])
/// builds one.
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

/// Proof that the CPU has AVX-512F and AVX-512VL, and AVX2 and FMA: only
/// [`Avx512Token::detect`] builds one.
#[derive(Clone, Copy, Debug)]
pub struct Avx512Token(());

impl Avx512Token {
    /// The token, if the CPU has all four features.
    pub fn detect() -> Option<Avx512Token> {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
            && Avx2Token::detect().is_some()
        {
            return Some(Avx512Token(()));
        }
        None
    }

    /// The AVX2 token this one implies.
    pub fn avx2(self) -> Avx2Token {
        Avx2Token(())
    }
}

/// The AVX2 token if the CPU has the features, detected once per process.
pub fn avx2() -> Option<Avx2Token> {
    static DETECTED: OnceLock<Option<Avx2Token>> = OnceLock::new();
    *DETECTED.get_or_init(Avx2Token::detect)
}

/// The AVX-512 token if the CPU has the features, detected once per process.
pub fn avx512() -> Option<Avx512Token> {
    static DETECTED: OnceLock<Option<Avx512Token>> = OnceLock::new();
    *DETECTED.get_or_init(Avx512Token::detect)
}

/// The path a product's kernels take: an instruction set with the proof that the CPU has it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Path {
    Portable,
    Avx2(Avx2Token),
    Avx512(Avx512Token),
}

impl Path {
    /// The path of `isa`, or of the best instruction set below it that the CPU has.
    pub(crate) fn of(isa: Isa) -> Path {
        match (isa, avx512(), avx2()) {
            (Isa::Avx512, Some(t), _) => Path::Avx512(t),
            (Isa::Avx512 | Isa::Avx2Fma, _, Some(t)) => Path::Avx2(t),
            _ => Path::Portable,
        }
    }

    /// The instruction set of the path.
    pub(crate) fn isa(self) -> Isa {
        match self {
            Path::Portable => Isa::Portable,
            Path::Avx2(_) => Isa::Avx2Fma,
            Path::Avx512(_) => Isa::Avx512,
        }
    }

    /// The AVX2 token, on either SIMD path (AVX-512's implies it).
    pub(crate) fn avx2(self) -> Option<Avx2Token> {
        match self {
            Path::Portable => None,
            Path::Avx2(t) => Some(t),
            Path::Avx512(t) => Some(t.avx2()),
        }
    }
}
