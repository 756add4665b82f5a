//! The choice of instruction set: what `MLP_FORCE_ISA` and `MLP_FORCE_PORTABLE` ask for, what
//! the CPU has, and what is said when the two disagree.

use mlp_runtime::simd::{Isa, choose};

#[test]
fn the_best_path_unless_one_is_forced() {
    assert_eq!(choose(None, None, Isa::Avx512), (Isa::Avx512, None));
    assert_eq!(choose(Some(""), None, Isa::Avx2Fma), (Isa::Avx2Fma, None));
    assert_eq!(
        choose(Some("avx2"), None, Isa::Avx512),
        (Isa::Avx2Fma, None)
    );
    assert_eq!(
        choose(Some("AVX512"), None, Isa::Avx512),
        (Isa::Avx512, None)
    );
    assert_eq!(
        choose(Some("portable"), None, Isa::Avx2Fma),
        (Isa::Portable, None)
    );
    // The older variable still forces the portable path, whatever else is asked.
    assert_eq!(
        choose(Some("avx512"), Some("1"), Isa::Avx512),
        (Isa::Portable, None)
    );
    assert_eq!(choose(None, Some("0"), Isa::Avx512), (Isa::Avx512, None));
}

#[test]
fn a_path_the_cpu_lacks_is_said_and_the_best_runs() {
    let (isa, note) = choose(Some("avx512"), None, Isa::Avx2Fma);
    assert_eq!(isa, Isa::Avx2Fma);
    assert_eq!(
        note.as_deref(),
        Some("MLP_FORCE_ISA=avx512: this CPU lacks avx512; the avx2 kernels run instead")
    );
    let (isa, note) = choose(Some("avx2"), None, Isa::Portable);
    assert_eq!(isa, Isa::Portable);
    assert!(note.unwrap().contains("lacks avx2"));
}

#[test]
fn an_unknown_name_is_said() {
    let (isa, note) = choose(Some("sse4"), None, Isa::Avx512);
    assert_eq!(isa, Isa::Avx512);
    assert_eq!(
        note.as_deref(),
        Some("MLP_FORCE_ISA=sse4 is not one of avx512, avx2, portable; the avx512 kernels run")
    );
}

/// The process's own choice is one this CPU runs, and names round-trip.
#[test]
fn the_chosen_path_is_supported() {
    assert!(mlp_runtime::simd::isa().supported());
    assert!(Isa::best().supported());
    for isa in Isa::ALL {
        assert_eq!(choose(Some(isa.name()), None, Isa::Avx512).0, isa);
    }
}
