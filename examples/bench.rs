//! Training-step and forward speed of generated trainers, measured as the peers' script
//! measures (../shared/peers/bench_train.py: inputs U[0,1), 16 distinct batches cycled, every
//! step timed on its own, the median reported), with the FLOP rate and its fraction of this
//! machine's FMA peak, measured here too. One JSON line per measurement.
//!
//! `cargo run --release --example bench -- --help`

use clap::Parser;
use mlp_runtime::Rng;
use mlp_runtime::optim::Choice;
use std::time::Instant;

mlp_runtime::mlp! {
    /// The seed network.
    pub struct Seed = 784 -> relu 512 -> relu 512 -> 10 : nll;
    /// The peers' middle configuration.
    pub struct Small = 64 -> tanh 32 -> 10 : nll;
    /// The peers' smallest configuration.
    pub struct Tiny = 2 -> tanh 8 -> sigmoid 1 : mse;
}

#[derive(Parser)]
struct Args {
    /// Which network: seed, small or tiny.
    #[arg(long, default_value = "seed")]
    net: String,
    /// Samples per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Kernel threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 500)]
    steps: usize,
    /// Measure the machine's FMA peak too (a second or two).
    #[arg(long)]
    peak: bool,
    /// The optimizer of the training step: sgd, momentum, nesterov, adam, adamw or rmsprop.
    #[arg(long, default_value = "sgd")]
    optimizer: String,
    /// Samples per `predict` call (evaluation), timed too.
    #[arg(long, default_value_t = 1000)]
    predict_batch: usize,
    /// Print where a step's and a prediction's time goes, product by product (to stderr).
    #[arg(long)]
    profile: bool,
    /// Apply the optimizer's step after the whole gradient, as `step` does, instead of tensor
    /// by tensor inside the backward pass: the comparison that chose the fused form.
    #[arg(long)]
    unfused: bool,
}

/// An optimizer that offers only `step`: the training step computes the whole gradient, then
/// calls it.
struct Unfused(Choice);

impl mlp_runtime::Optimizer for Unfused {
    fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        self.0.step(params, grad)
    }
    fn lr(&self) -> f32 {
        self.0.lr()
    }
    fn set_lr(&mut self, lr: f32) {
        self.0.set_lr(lr)
    }
}

/// The optimizer of the step, fused or not.
enum Opt {
    Fused(Choice),
    Unfused(Unfused),
}

/// Matrix-product FLOPs per sample of one training step and of one forward pass, by the model
/// of `mlp check` (3.2 and 1.34 MFLOP for the seed network).
fn flops(spec: &str) -> (f64, f64) {
    let net = mlp_compiler::compile_spec(spec).expect("the benchmarked networks are valid");
    let f = mlp_compiler::model::summary::flops(&net);
    ((f.forward + f.backward) as f64, f.forward as f64)
}

/// Runs `run` `runs` times while the products are recorded, then prints them: per shape, the
/// path, the time per run, its share of the mean run and its rate.
fn profiled(what: &str, runs: usize, mut run: impl FnMut(usize)) {
    mlp_runtime::profile::enable(true);
    let start = Instant::now();
    for k in 0..runs {
        run(k);
    }
    let total = start.elapsed().as_secs_f64() / runs as f64;
    mlp_runtime::profile::enable(false);
    let entries = mlp_runtime::profile::take();
    eprintln!("{what}: {:.1} µs per run", total * 1e6);
    eprintln!(
        "  {:>16}  {:<10} {:>6} {:>10} {:>7} {:>8}",
        "m×n×k", "path", "calls", "µs", "share", "GFLOP/s"
    );
    let mut in_products = 0.0;
    for e in &entries {
        let per_run = e.seconds / runs as f64;
        in_products += per_run;
        let gflop = 2.0 * (e.m * e.n * e.k) as f64 * e.calls as f64 / runs as f64 / 1e9;
        eprintln!(
            "  {:>16}  {:<10} {:>6} {:>10.1} {:>6.1}% {:>8.1}",
            format!("{}×{}×{}", e.m, e.n, e.k),
            format!("{:?}", e.kind),
            e.calls / runs as u64,
            per_run * 1e6,
            100.0 * per_run / total,
            gflop / per_run
        );
    }
    let rest = total - in_products;
    eprintln!(
        "  {:>16}  {:<10} {:>6} {:>10.1} {:>6.1}%",
        "outside products",
        "",
        "",
        rest * 1e6,
        100.0 * rest / total
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

macro_rules! measure {
    ($net:ident, $args:expr, $labels:expr) => {{
        let args = $args;
        let mut net = $net::new(0);
        let choice = Choice::parse(&args.optimizer, 0.01).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(1)
        });
        // The optimizer's update alone, on as many parameters, data in cache: the floor of any
        // fused form (its arithmetic stays).
        let update_alone = {
            let mut o = choice.clone();
            let mut p = vec![0.5f32; $net::PARAMS];
            let g = vec![0.01f32; $net::PARAMS];
            let mut times = Vec::new();
            for _ in 0..50 {
                let start = Instant::now();
                mlp_runtime::Optimizer::step(&mut o, &mut p, &g);
                times.push(start.elapsed().as_secs_f64());
            }
            median(times.split_off(5))
        };
        let mut opt = if args.unfused {
            Opt::Unfused(Unfused(choice))
        } else {
            Opt::Fused(choice)
        };
        macro_rules! step {
            ($xs:expr, $ts:expr) => {
                match &mut opt {
                    Opt::Fused(o) => net.train_step($xs, $ts, o),
                    Opt::Unfused(o) => net.train_step($xs, $ts, o),
                }
            };
        }
        let mut rng = Rng::new(1);
        // Cache-line aligned, as the training loop's batches are (`dataset::Batch`).
        let batches: Vec<mlp_runtime::Aligned> = (0..16)
            .map(|_| {
                (0..args.batch * $net::INPUTS)
                    .map(|_| rng.uniform(0.0, 1.0))
                    .collect::<Vec<f32>>()
                    .into()
            })
            .collect();
        let targets: Vec<_> = (0..16)
            .map(|_| {
                (0..args.batch)
                    .map(|_| $labels(&mut rng))
                    .collect::<Vec<_>>()
            })
            .collect();
        for k in 0..20.max(args.steps / 10) {
            step!(&batches[k % 16], &targets[k % 16]);
        }
        let mut times = Vec::with_capacity(args.steps);
        for k in 0..args.steps {
            let start = Instant::now();
            step!(&batches[k % 16], &targets[k % 16]);
            times.push(start.elapsed().as_secs_f64());
        }
        let step = median(times);
        if args.profile {
            profiled("training step", args.steps, |k| {
                step!(&batches[k % 16], &targets[k % 16]);
            });
        }
        // Evaluation: `predict` over a larger batch, as the training loop's evaluation calls it.
        let eval: Vec<f32> = (0..args.predict_batch * $net::INPUTS)
            .map(|_| rng.uniform(0.0, 1.0))
            .collect();
        let mut out = vec![0.0; args.predict_batch * $net::OUTPUTS];
        let runs = (args.steps / 10).max(20);
        let mut predict = Vec::with_capacity(runs);
        for _ in 0..runs + 3 {
            let start = Instant::now();
            net.predict(&eval, &mut out);
            predict.push(start.elapsed().as_secs_f64());
        }
        let predict = median(predict.split_off(3));
        if args.profile {
            profiled("predict", runs, |_| net.predict(&eval, &mut out));
        }
        let mut forward = Vec::with_capacity(args.steps);
        for k in 0..args.steps {
            let x: &[f32; $net::INPUTS] = batches[k % 16][..$net::INPUTS].try_into().unwrap();
            let start = Instant::now();
            std::hint::black_box(net.forward(std::hint::black_box(x)));
            forward.push(start.elapsed().as_secs_f64());
        }
        (
            step,
            median(forward),
            predict,
            update_alone,
            flops($net::SPEC),
        )
    }};
}

fn main() {
    let args = Args::parse();
    for (name, value) in [
        ("--steps", args.steps),
        ("--predict-batch", args.predict_batch),
    ] {
        if value == 0 {
            eprintln!("error: {name} must be at least 1");
            std::process::exit(2);
        }
    }
    mlp_runtime::set_num_threads(args.threads.max(1));
    let peak = args.peak.then(|| fma_peak(args.threads.max(1)));
    let label = |k: usize| move |rng: &mut Rng| rng.below(k) as u32;
    let (spec, (step, forward, predict, update_alone, (flops, forward_flops))) =
        match args.net.as_str() {
            "seed" => (Seed::SPEC, measure!(Seed, &args, label(10))),
            "small" => (Small::SPEC, measure!(Small, &args, label(10))),
            "tiny" => (
                Tiny::SPEC,
                measure!(Tiny, &args, |rng: &mut Rng| [rng.uniform(0.0, 1.0)]),
            ),
            other => {
                eprintln!("error: unknown network `{other}`; expected seed, small or tiny");
                std::process::exit(1);
            }
        };
    let gflops = flops * args.batch as f64 / step / 1e9;
    let predict_gflops = forward_flops * args.predict_batch as f64 / predict / 1e9;
    let peak_text = peak
        .map(|p| {
            format!(
                ", \"peak_gflops\": {p:.1}, \"peak_fraction\": {:.3}, \"predict_peak_fraction\": {:.3}",
                gflops / p,
                predict_gflops / p
            )
        })
        .unwrap_or_default();
    println!(
        "{{\"framework\": \"mlp\", \"arch\": \"{spec}\", \"batch\": {}, \"threads\": {}, \"optimizer\": \"{}{}\", \"update_alone_us\": {:.1}, \"kernels\": \"{}\", \"step_us_median\": {:.3}, \"samples_per_s\": {:.0}, \"gflops\": {gflops:.2}, \"forward_us_median\": {:.3}, \"predict_batch\": {}, \"predict_us_median\": {:.1}, \"predict_gflops\": {predict_gflops:.2}{peak_text}}}",
        args.batch,
        args.threads,
        args.optimizer,
        if args.unfused { " (unfused)" } else { "" },
        update_alone * 1e6,
        mlp_runtime::simd::isa(),
        step * 1e6,
        args.batch as f64 / step,
        forward * 1e6,
        args.predict_batch,
        predict * 1e6
    );
}

/// This machine's fused multiply-add peak in GFLOP/s on `threads` threads: independent FMA
/// chains, enough to cover the instruction's latency on both ports.
fn fma_peak(threads: usize) -> f64 {
    const ITERS: usize = 50_000_000;
    let run = || {
        let start = Instant::now();
        let flops = chains(ITERS);
        flops / start.elapsed().as_secs_f64()
    };
    let rates: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(run)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("peak thread"))
            .collect()
    });
    rates.iter().sum::<f64>() / 1e9
}

/// Runs ten independent FMA chains on the vectors of the process's instruction set (16 lanes
/// with AVX-512, 8 otherwise); returns the FLOPs done.
fn chains(iters: usize) -> f64 {
    use mlp_runtime::simd::Isa;
    #[cfg(target_arch = "x86_64")]
    match mlp_runtime::simd::isa() {
        // SAFETY: the process runs AVX-512 only where its features were detected.
        Isa::Avx512 => return unsafe { chains_avx512(iters / 2) },
        // SAFETY: as above, for AVX2 and FMA.
        Isa::Avx2Fma => return unsafe { chains_avx2(iters) },
        Isa::Portable => {}
    }
    let mut acc = [[1.0f32; 8]; 10];
    let (a, b) = (
        std::hint::black_box(0.999_999f32),
        std::hint::black_box(1e-7f32),
    );
    for _ in 0..iters {
        for lane in acc.iter_mut() {
            for v in lane.iter_mut() {
                *v = v.mul_add(a, b);
            }
        }
    }
    std::hint::black_box(acc);
    (iters * 10 * 8 * 2) as f64
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn chains_avx2(iters: usize) -> f64 {
    use std::arch::x86_64::*;
    let a = _mm256_set1_ps(std::hint::black_box(0.999_999));
    let b = _mm256_set1_ps(std::hint::black_box(1e-7));
    let mut acc = [_mm256_set1_ps(1.0); 10];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    std::hint::black_box(acc);
    (iters * 10 * 8 * 2) as f64
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn chains_avx512(iters: usize) -> f64 {
    use std::arch::x86_64::*;
    let a = _mm512_set1_ps(std::hint::black_box(0.999_999));
    let b = _mm512_set1_ps(std::hint::black_box(1e-7));
    let mut acc = [_mm512_set1_ps(1.0); 10];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    std::hint::black_box(acc);
    (iters * 10 * 16 * 2) as f64
}
