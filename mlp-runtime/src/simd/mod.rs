//! Which instruction set the kernels use: AVX-512 (F and VL) where the CPU has it, else AVX2
//! with FMA, else a portable path written as a peer of the SIMD ones. Chosen once per process
//! ([`isa`]); `MLP_FORCE_ISA=avx512|avx2|portable` (or `MLP_FORCE_PORTABLE=1`) in the
//! environment forces a path, and [`kernels_run`] tells which paths really ran.

pub(crate) mod lanes;
mod path;

pub(crate) use path::Path;
pub use path::{Avx2Token, Avx512Token, avx2, avx512};

use crate::scalar::Compiled;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// An instruction set the kernels are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Plain Rust, correct on every CPU.
    Portable,
    /// x86-64 AVX2 with fused multiply-add.
    Avx2Fma,
    /// x86-64 AVX-512 (F and VL, with AVX2 and FMA): sixteen lanes, 32 vector registers.
    Avx512,
}

impl Isa {
    /// Every instruction set, from the plainest.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2Fma, Isa::Avx512];

    /// The name `MLP_FORCE_ISA` takes: `portable`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2Fma => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the instruction set's kernels.
    pub fn supported(self) -> bool {
        match self {
            Isa::Portable => true,
            Isa::Avx2Fma => avx2().is_some(),
            Isa::Avx512 => avx512().is_some(),
        }
    }

    /// The best instruction set this CPU runs.
    pub fn best() -> Isa {
        Isa::ALL
            .into_iter()
            .rev()
            .find(|i| i.supported())
            .unwrap_or(Isa::Portable)
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The instruction set to use, given the values of `MLP_FORCE_ISA` and `MLP_FORCE_PORTABLE`
/// and the best one the CPU has: the forced one where the CPU has it; else the best the CPU
/// has, with a sentence saying why the request was not followed (a path the CPU lacks, or a
/// name that is not one).
pub fn choose(
    force_isa: Option<&str>,
    force_portable: Option<&str>,
    best: Isa,
) -> (Isa, Option<String>) {
    if force_portable == Some("1") {
        return (Isa::Portable, None);
    }
    let Some(asked) = force_isa.map(str::trim).filter(|s| !s.is_empty()) else {
        return (best, None);
    };
    match Isa::ALL
        .into_iter()
        .find(|i| i.name().eq_ignore_ascii_case(asked))
    {
        Some(isa) if isa <= best => (isa, None),
        Some(isa) => (
            best,
            Some(format!(
                "MLP_FORCE_ISA={asked}: this CPU lacks {isa}; the {best} kernels run instead"
            )),
        ),
        None => (
            best,
            Some(format!(
                "MLP_FORCE_ISA={asked} is not one of avx512, avx2, portable; the {best} \
                 kernels run"
            )),
        ),
    }
}

/// The instruction set chosen for this process, once: the best the CPU has, or the one
/// `MLP_FORCE_ISA` (or `MLP_FORCE_PORTABLE=1`) asks for; a request the CPU cannot follow is
/// said on standard error.
pub fn isa() -> Isa {
    static CHOSEN: OnceLock<Isa> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let var = |name| std::env::var(name).ok();
        let (isa, note) = choose(
            var("MLP_FORCE_ISA").as_deref(),
            var("MLP_FORCE_PORTABLE").as_deref(),
            Isa::best(),
        );
        if let Some(note) = note {
            eprintln!("mlp: {note}");
        }
        isa
    })
}

/// The path of the process's instruction set ([`isa`]), with its proof, once.
#[inline]
pub(crate) fn path() -> Path {
    static PATH: OnceLock<Path> = OnceLock::new();
    *PATH.get_or_init(|| Path::of(isa()))
}

static RAN: AtomicU8 = AtomicU8::new(0);

fn bit(isa: Isa) -> u8 {
    1 << isa as u8
}

/// Records that a kernel of `isa` ran.
#[inline]
pub(crate) fn record(isa: Isa) {
    let bit = bit(isa);
    // A read, not a locked write, once the bit is set: this runs several times per step.
    if RAN.load(Ordering::Relaxed) & bit == 0 {
        RAN.fetch_or(bit, Ordering::Relaxed);
    }
}

/// The instruction sets whose kernels have run in this process, plainest first, so a test
/// can prove that a forced path really ran.
pub fn kernels_run() -> Vec<Isa> {
    let bits = RAN.load(Ordering::Relaxed);
    Isa::ALL
        .into_iter()
        .filter(|&i| bits & bit(i) != 0)
        .collect()
}

/// Asks for the cache line holding `p` into L1: a hint that reads nothing and never faults, so
/// any address will do (nothing off x86-64).
#[inline(always)]
pub(crate) fn prefetch_line(p: *const f32) {
    #[cfg(target_arch = "x86_64")]
    prefetch_hint::<{ std::arch::x86_64::_MM_HINT_T0 }>(p);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks for the cache line holding `p` into L2 (not L1): for data needed a few thousand cycles
/// later, which would crowd out what L1 holds now. A hint, as for [`prefetch_line`].
#[inline(always)]
pub(crate) fn prefetch_l2(p: *const f32) {
    #[cfg(target_arch = "x86_64")]
    prefetch_hint::<{ std::arch::x86_64::_MM_HINT_T1 }>(p);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// `prefetch` with the locality hint `HINT` (`_MM_HINT_T0`, `_MM_HINT_T1`, …).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_hint<const HINT: i32>(p: *const f32) {
    // SAFETY: a prefetch is a hint: it reads nothing architecturally and does not fault,
    // whatever the address; SSE is part of x86-64.
    unsafe { std::arch::x86_64::_mm_prefetch::<HINT>(p.cast::<i8>()) };
}

/// Runs `f` compiled for the process's instruction set ([`isa`]): the one body of an
/// elementwise kernel, for every instruction set. Pass the closure with `#[inline(always)]`
/// so that its loops are compiled inside the function that enables the features. It receives
/// how it is compiled ([`Compiled::FUSED`] with FMA, [`Compiled::PLAIN`] on the portable path),
/// for the runtime's polynomials.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce(Compiled) -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
        unsafe fn avx512<R>(f: impl FnOnce(Compiled) -> R) -> R {
            f(Compiled::FUSED)
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce(Compiled) -> R) -> R {
            f(Compiled::FUSED)
        }
        match path() {
            Path::Avx512(_) => {
                record(Isa::Avx512);
                // SAFETY: the path has a token, made only where the features were detected.
                return unsafe { avx512(f) };
            }
            Path::Avx2(_) => {
                record(Isa::Avx2Fma);
                // SAFETY: as above.
                return unsafe { avx2(f) };
            }
            Path::Portable => {}
        }
    }
    record(Isa::Portable);
    f(Compiled::PLAIN)
}
