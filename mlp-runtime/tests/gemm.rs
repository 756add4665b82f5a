//! The GEMM on both instruction sets against a plain triple loop in f64, on edge shapes
//! (0, 1, tile-1, tile+1, non-multiples), with transposes, accumulation and threads.

use mlp_runtime::gemm::{Mat, gemm_on};
use mlp_runtime::simd::Isa;
use proptest::prelude::*;

/// Every instruction set this CPU runs; the others are named on standard error as skipped.
fn isas() -> Vec<Isa> {
    let (run, skipped): (Vec<Isa>, Vec<Isa>) = Isa::ALL.into_iter().partition(|i| i.supported());
    if !skipped.is_empty() {
        eprintln!("skipped (this CPU lacks them): {skipped:?}");
    }
    run
}

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn check(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    ta: bool,
    tb: bool,
    accumulate: bool,
    threads: usize,
) {
    mlp_runtime::set_num_threads(threads);
    let a = values(m * k, 1);
    let b = values(k * n, 2);
    let ldc = n + 3;
    let c0 = values(m.max(1) * ldc, 3);
    let am = if ta {
        Mat::transposed(&a, m)
    } else {
        Mat::rows(&a, k)
    };
    let bm = if tb {
        Mat::transposed(&b, k)
    } else {
        Mat::rows(&b, n)
    };
    let mut c = c0.clone();
    gemm_on(isa, m, n, k, am, bm, &mut c, ldc, accumulate);
    for r in 0..m {
        for j in 0..ldc {
            let got = c[r * ldc + j];
            if j >= n {
                assert_eq!(got, c0[r * ldc + j], "wrote past column {n}");
                continue;
            }
            let mut want: f64 = if accumulate {
                c0[r * ldc + j] as f64
            } else {
                0.0
            };
            for p in 0..k {
                let av = if ta { a[p * m + r] } else { a[r * k + p] };
                let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                want += av as f64 * bv as f64;
            }
            let tolerance = 1e-5 * (k as f64).max(1.0);
            assert!(
                (got as f64 - want).abs() <= tolerance,
                "{isa:?} {m}×{n}×{k} ta={ta} tb={tb} acc={accumulate}: C[{r},{j}] = {got}, expected {want}"
            );
        }
    }
}

#[test]
fn edge_shapes_on_every_isa() {
    // Around both kernels' tiles: 6×16 (eight lanes) and 8×48 (AVX-512), and the lower and
    // narrower tiles of a last block (1, 2 or 4 rows; one vector of 8, or one or two of 16).
    let sizes = [
        0, 1, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 97,
    ];
    for isa in isas() {
        for &m in &sizes {
            for &n in &sizes {
                for &k in &[0, 1, 7, 64, 257] {
                    check(isa, m, n, k, false, false, false, 1);
                }
            }
        }
    }
}

/// The lower and narrower tiles of a last block (1, 2, 4 rows read in place, 3, 5, 6, 7 packed;
/// 1 to 3 vectors, B's last one masked where B is read in place) with A lying as rows and as
/// columns, B in place and packed, writing and accumulating, on every instruction set.
#[test]
fn last_tiles_every_way() {
    for isa in isas() {
        for m in [9, 10, 11, 12, 13, 14, 15, 20] {
            for n in [1, 10, 17, 33, 45, 49, 64] {
                for (k, ta, tb) in [
                    (7, false, false),
                    (16, true, false),
                    (5, true, true),
                    (9, false, true),
                ] {
                    check(isa, m, n, k, ta, tb, (m + n) % 2 == 0, 1);
                }
            }
        }
    }
}

/// Rows of A times a transposed B, the forward products, run on dot-product tiles (3×4 eight
/// lanes deep, or 4×6 sixteen deep with AVX-512; 48-column blocks): every tile remainder,
/// depth tail (k mod 8, k mod 16), and row block boundary (A's rows in blocks of about 2^16
/// values).
#[test]
fn dot_tiles_on_edge_shapes() {
    for isa in isas() {
        for &m in &[1, 2, 3, 4, 5, 6, 7, 8, 9, 13] {
            for &n in &[1, 5, 6, 7, 11, 12, 13, 17, 18, 19, 47, 48, 49, 97] {
                for &k in &[1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 257] {
                    check(isa, m, n, k, false, true, (m + n + k) % 2 == 0, 1);
                }
            }
        }
        for (m, n, k) in [(300, 13, 257), (517, 50, 130), (9, 100, 2000)] {
            for threads in [1, 2, 3] {
                check(isa, m, n, k, false, true, threads == 2, threads);
            }
        }
    }
}

/// The dot-product tiles read A's rows in place when they start cache lines, and copy a
/// block of them first when they do not (a caller's `Vec`, or a row length that is not a
/// multiple of 16), on 1, 2 and 3 threads: both give the bits of the other, and the f64 sums.
#[test]
fn dot_tiles_read_rows_in_place_or_copied() {
    for (isa, threads) in isas().into_iter().flat_map(|i| [(i, 1), (i, 2), (i, 3)]) {
        mlp_runtime::set_num_threads(threads);
        // Several row blocks (of 80 rows at k = 784) only outside valgrind, where they take
        // minutes.
        let large = (!small_shapes_only()).then_some((300, 97, 784));
        for (m, n, k) in [(70, 60, 80), (5, 48, 33)].into_iter().chain(large) {
            let b = values(n * k, 2);
            let mut first: Option<Vec<f32>> = None;
            for offset in [0, 1, 4, 16] {
                let mut a = mlp_runtime::Aligned::zeros(offset + m * k);
                a[offset..].copy_from_slice(&values(m * k, 1));
                let mut c = vec![0.0; m * n];
                let (am, bm) = (Mat::rows(&a[offset..], k), Mat::transposed(&b, k));
                gemm_on(isa, m, n, k, am, bm, &mut c, n, false);
                for (i, &got) in c.iter().enumerate() {
                    let (r, j) = (i / n, i % n);
                    let want: f64 = (0..k)
                        .map(|p| a[offset + r * k + p] as f64 * b[j * k + p] as f64)
                        .sum();
                    assert!(
                        (got as f64 - want).abs() <= 1e-5 * k as f64,
                        "{isa:?} {threads} threads {m}×{n}×{k}, A {offset} values past a line: C[{r},{j}] = {got}, expected {want}"
                    );
                }
                match &first {
                    None => first = Some(c),
                    Some(c0) => assert!(
                        c0.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits()),
                        "{isa:?} {threads} threads {m}×{n}×{k}: A {offset} values past a line changed the bits"
                    ),
                }
            }
        }
    }
}

#[test]
fn transposes_accumulation_and_threads() {
    for isa in isas() {
        for (m, n, k) in [
            (64, 784, 512),
            (512, 784, 64),
            (100, 600, 300),
            (7, 1030, 260),
            (300, 10, 512),
            (64, 3, 700),
            // B's rows 1 KiB apart, crowding a few L1 sets, reused by more than one block of
            // rows: packed rather than read in place.
            (128, 256, 40),
            // Shallow: packed even with B transposed, a panel of 45 columns (40 transposed in
            // 8×8 blocks, 5 one by one) and 33 depths (32 in blocks).
            (20, 45, 33),
        ] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                for threads in [1, 2, 3] {
                    check(isa, m, n, k, ta, tb, threads == 2, threads);
                }
            }
        }
    }
}

/// Column blocks (a wide product) and row blocks (an output layer, or A the larger operand)
/// on 1, 2 and 3 threads, on every instruction set, on the dot tiles (B transposed) and on the
/// packed kernel reading a row-major A in place (B row-major): the same bits.
#[test]
fn threads_do_not_change_results() {
    for isa in isas() {
        for (m, n, k, tb) in [
            (64, 512, 784, true),
            (300, 10, 512, true),
            (400, 64, 256, true),
            (64, 256, 300, false),
            (200, 96, 100, false),
            // Shallow, B transposed: the packed kernel, in column blocks.
            (256, 100, 64, true),
        ] {
            let a = values(m * k, 5);
            let b = values(k * n, 6);
            let bm = if tb {
                Mat::transposed(&b, k)
            } else {
                Mat::rows(&b, n)
            };
            let run = |threads| {
                mlp_runtime::set_num_threads(threads);
                let mut c = vec![0.0; m * n];
                gemm_on(isa, m, n, k, Mat::rows(&a, k), bm, &mut c, n, false);
                c
            };
            let one = run(1);
            assert_eq!(one, run(2), "{isa:?} {m}×{n}×{k}");
            assert_eq!(one, run(3), "{isa:?} {m}×{n}×{k}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_shapes(m in 0usize..40, n in 0usize..70, k in 0usize..300, ta: bool, tb: bool, acc: bool) {
        for isa in isas() {
            check(isa, m, n, k, ta, tb, acc, 1);
        }
    }
}

/// The epilogue sees every element of C exactly once, after its sum is complete, at its own
/// row and column, with D's matching stretch: D = tanh(C + col) must equal the same map applied
/// after a plain product, on every path (small-m, serial, several column blocks and depth
/// blocks, threads) and every instruction set.
#[test]
fn epilogue_runs_once_on_finished_sums() {
    for isa in isas() {
        epilogue_on(isa);
    }
}

/// Whether to skip shapes past a million multiply-adds: `MLP_TEST_SMALL_SHAPES` is set where
/// each instruction runs many times slower (CI's valgrind step; AddressSanitizer and the plain
/// run take every shape).
fn small_shapes_only() -> bool {
    std::env::var_os("MLP_TEST_SMALL_SHAPES").is_some()
}

fn epilogue_on(isa: Isa) {
    use mlp_runtime::gemm::gemm_then_on;
    use mlp_runtime::scalar::tanh;
    for (m, n, k) in [
        (1, 10, 64),
        (3, 33, 5),
        (7, 17, 257),
        (64, 512, 784),
        (100, 1100, 300),
        (64, 10, 512),
        (301, 7, 90),
        (5, 0, 4),
        (4, 9, 0),
    ] {
        if small_shapes_only() && m * n * k > 1_000_000 {
            eprintln!("{isa} {m}×{n}×{k}: skipped (MLP_TEST_SMALL_SHAPES)");
            continue;
        }
        for threads in [1, 2, 3] {
            mlp_runtime::set_num_threads(threads);
            let a = values(m * k, 7);
            let b = values(k * n, 8);
            let (am, bm) = (Mat::rows(&a, k), Mat::transposed(&b, k));
            let mut plain = vec![0.0; m * n];
            gemm_on(isa, m, n, k, am, bm, &mut plain, n, false);
            let mut c = vec![f32::NAN; m * n];
            let mut d = vec![f32::NAN; m * n];
            let seen = std::sync::atomic::AtomicUsize::new(0);
            gemm_then_on(
                isa,
                m,
                n,
                k,
                am,
                bm,
                &mut c,
                n,
                &mut d,
                |row, col, cs: &mut [f32], ds: &mut [f32]| {
                    assert!(row < m && col + cs.len() <= n && ds.len() == cs.len());
                    seen.fetch_add(cs.len(), std::sync::atomic::Ordering::Relaxed);
                    for (j, (cv, dv)) in cs.iter_mut().zip(ds.iter_mut()).enumerate() {
                        *cv += (col + j) as f32;
                        *dv = tanh(*cv);
                    }
                },
            );
            assert_eq!(seen.into_inner(), m * n, "{isa} {m}×{n}×{k}: elements seen");
            for r in 0..m {
                for j in 0..n {
                    let z = plain[r * n + j] + j as f32;
                    assert_eq!(c[r * n + j], z, "{isa} {m}×{n}×{k}: C[{r},{j}]");
                    assert_eq!(d[r * n + j], tanh(z), "{isa} {m}×{n}×{k}: D[{r},{j}]");
                }
            }
        }
    }
}

/// Products from several threads at once, while the thread count changes under them: every
/// result is right (a caller that finds the kernel team busy or retired runs alone) and nothing
/// hangs.
#[test]
fn concurrent_callers_and_thread_count_changes() {
    let (m, n, k) = (24, 64, 96);
    let a = values(m * k, 11);
    let b = values(k * n, 12);
    let mut want = vec![0.0; m * n];
    mlp_runtime::set_num_threads(1);
    gemm_on(
        Isa::Portable,
        m,
        n,
        k,
        Mat::rows(&a, k),
        Mat::rows(&b, n),
        &mut want,
        n,
        false,
    );
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..2000 {
                    let mut c = vec![0.0; m * n];
                    gemm_on(
                        Isa::Portable,
                        m,
                        n,
                        k,
                        Mat::rows(&a, k),
                        Mat::rows(&b, n),
                        &mut c,
                        n,
                        false,
                    );
                    assert_eq!(c, want);
                }
            });
        }
        s.spawn(|| {
            for t in 0..3000 {
                mlp_runtime::set_num_threads(2 + t % 2);
            }
        });
    });
}

/// A descent step folded into a product, `W ← W − lr·(A·B)`, equals the product stored and
/// then `w −= lr·g`, bit for bit: packed products of one depth block (fused), and products
/// that take the other paths (more depth, few rows, dot-product tiles), on 1 and 2 threads and
/// every instruction set.
#[test]
fn descent_folded_into_the_product_equals_product_then_step() {
    for isa in isas() {
        descent_on(isa);
    }
}

fn descent_on(isa: Isa) {
    use mlp_runtime::gemm::gemm_descend_on;
    for threads in [1, 2] {
        mlp_runtime::set_num_threads(threads);
        for (m, n, k, ta, tb) in [
            (512, 784, 64, true, false),
            (10, 512, 64, true, false),
            (37, 53, 7, true, false),
            // Tiles of 1 row (AVX-512) or 4 packed under 6 (eight lanes), 3 vectors wide with a
            // masked edge (AVX-512) or 2 (eight lanes), A lying as columns and as rows.
            (9, 45, 7, true, false),
            (9, 45, 7, false, false),
            (3, 100, 7, true, false),
            (64, 96, 300, true, false),
            (128, 256, 40, true, false),
            (20, 30, 40, false, true),
            // Shallow, B transposed: packed, not on the dot tiles; then large enough for
            // blocks on two threads.
            (16, 32, 64, false, true),
            (64, 128, 64, false, true),
            (9, 17, 0, true, false),
        ] {
            let a = values(m * k, 21);
            let b = values(k * n, 22);
            let am = if ta {
                Mat::transposed(&a, m)
            } else {
                Mat::rows(&a, k)
            };
            let bm = if tb {
                Mat::transposed(&b, k)
            } else {
                Mat::rows(&b, n)
            };
            let w0 = values(m * n, 23);
            let lr = 0.037;
            let mut g = vec![f32::NAN; m * n];
            gemm_on(isa, m, n, k, am, bm, &mut g, n, false);
            let want: Vec<u32> = w0
                .iter()
                .zip(&g)
                .map(|(w, g)| (w - lr * g).to_bits())
                .collect();
            let mut w = w0.clone();
            let mut scratch = vec![0.0; m * n];
            gemm_descend_on(isa, m, n, k, am, bm, &mut scratch, n, Some((&mut w, lr)));
            let got: Vec<u32> = w.iter().map(|v| v.to_bits()).collect();
            assert_eq!(
                got, want,
                "{isa} {m}×{n}×{k} ta={ta} tb={tb}, {threads} threads"
            );
            // Without a step it is the plain product.
            let mut plain = vec![0.0; m * n];
            gemm_descend_on(isa, m, n, k, am, bm, &mut plain, n, None);
            assert_eq!(plain, g);
        }
    }
}

/// A forward product (A's rows times a transposed B) runs on the dot tiles unless it is
/// shallow (depth 64 or less, 16 rows or more, 32 columns or more): then on the packed kernel.
/// The profile, which records from every thread, names the path each shape took (shapes no
/// other test uses).
#[test]
fn shallow_forward_products_run_packed() {
    use mlp_runtime::profile::{self, Kind};
    let cases = [
        (17, 33, 64, Kind::Packed),
        (17, 33, 65, Kind::Dot),
        (15, 33, 64, Kind::Dot),
        (17, 31, 64, Kind::Dot),
    ];
    profile::enable(true);
    for isa in isas() {
        for (m, n, k, _) in cases {
            let (a, b) = (values(m * k, 7), values(n * k, 8));
            let mut c = vec![0.0; m * n];
            gemm_on(
                isa,
                m,
                n,
                k,
                Mat::rows(&a, k),
                Mat::transposed(&b, k),
                &mut c,
                n,
                false,
            );
        }
    }
    let log = profile::take();
    profile::enable(false);
    for (m, n, k, want) in cases {
        let kinds: Vec<Kind> = log
            .iter()
            .filter(|e| (e.m, e.n, e.k) == (m, n, k))
            .map(|e| e.kind)
            .collect();
        assert!(
            !kinds.is_empty() && kinds.iter().all(|kind| *kind == want),
            "{m}×{n}×{k}: ran {kinds:?}, expected {want:?}"
        );
    }
}
