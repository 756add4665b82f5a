//! What data-parallel training costs, measured here and projected to clusters: the step time
//! of the seed network and of one ten times larger (1 thread, batch 64 per rank), the time of
//! one allreduce (sum) of `n` bytes between the ranks of this machine (median over repeats,
//! from 4 bytes to 16 MiB) fitted as `α + β·n`, and from those the scaling efficiency on 2–64
//! machines joined by 10 and 100 Gbit/s networks (the model is printed with the table).
//!
//! ```sh
//! cargo build --release --example allreduce --features mpi
//! mpirun -np 2 --bind-to core target/release/examples/allreduce
//! ```

use mlp_runtime::distributed::World;
use mlp_runtime::train::replicas::Replicas;
use mlp_runtime::{Optimizer, Rng, Sgd};
use std::time::Instant;

mlp_runtime::mlp! {
    /// The seed network: 669,706 parameters.
    pub struct Seed = 784 -> relu 512 -> relu 512 -> 10 : nll;
    /// Ten times as many parameters (6,878,730).
    pub struct Big = 784 -> relu 2048 -> relu 2560 -> 10 : nll;
}

/// Samples per rank and step.
const BATCH: usize = 64;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds per step at batch 64 on this thread, as a data-parallel rank computes it (the
/// gradient, then the optimizer's step on it; the allreduce between them is measured apart):
/// the median of `steps`.
fn step_seconds<M>(
    mut net: M,
    inputs: usize,
    steps: usize,
    mut step: impl FnMut(&mut M, &[f32], &[u32]),
) -> f64 {
    let mut rng = Rng::new(3);
    let xs: Vec<f32> = (0..BATCH * inputs).map(|_| rng.uniform(0.0, 1.0)).collect();
    let labels: Vec<u32> = (0..BATCH as u32).map(|k| k % 10).collect();
    step(&mut net, &xs, &labels);
    median(
        (0..steps)
            .map(|_| {
                let t = Instant::now();
                step(&mut net, &xs, &labels);
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// Seconds per allreduce of `floats` values between every rank (median, rank 0's clock).
fn allreduce_seconds(world: &World, floats: usize) -> f64 {
    let send = vec![1.0f32; floats];
    let mut recv = vec![0.0f32; floats];
    let repeats = (200_000_000 / (floats * 4 + 100_000)).clamp(5, 2000);
    let mut flag = [0.0f32];
    let times = (0..repeats)
        .map(|_| {
            // Every rank starts together: a one-value sum is the barrier.
            world.sum(&[0.0], &mut flag);
            let t = Instant::now();
            world.sum(&send, &mut recv);
            t.elapsed().as_secs_f64()
        })
        .collect();
    median(times)
}

/// Least squares `t = α + β·n`.
fn fit(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let beta = sxy / sxx;
    (my - beta * mx, beta)
}

fn main() -> Result<(), String> {
    let world = World::init()?;
    mlp_runtime::set_num_threads(1);
    let root = world.rank() == 0;
    let mut sgd = Sgd::new(0.01);
    let mut grad = vec![0.0; Seed::PARAMS];
    let seed = step_seconds(Seed::new(1), Seed::INPUTS, 200, |n, x, t| {
        n.gradient(x, t, &mut grad);
        sgd.step(n.params_mut(), &grad);
    });
    let mut grad = vec![0.0; Big::PARAMS];
    let big = step_seconds(Big::new(1), Big::INPUTS, 20, |n, x, t| {
        n.gradient(x, t, &mut grad);
        sgd.step(n.params_mut(), &grad);
    });
    let mut points = Vec::new();
    if root {
        println!(
            "{} ranks on this machine; allreduce (sum) of f32 buffers:",
            world.size()
        );
        println!("{:>12}  {:>12}  {:>10}", "bytes", "µs (median)", "GB/s");
    }
    for shift in 0..=22 {
        let floats = 1usize << shift;
        let t = allreduce_seconds(&world, floats);
        points.push(((floats * 4) as f64, t));
        if root {
            println!(
                "{:>12}  {:>12.2}  {:>10.2}",
                floats * 4,
                t * 1e6,
                floats as f64 * 4.0 / t / 1e9
            );
        }
    }
    // α from the small sizes, β from the large ones, each where it dominates.
    let (alpha, _) = fit(&points[..8]);
    let (_, beta) = fit(&points[16..]);
    if !root {
        return Ok(());
    }
    println!(
        "fit: α = {:.2} µs, β = {:.3} ns/byte ({:.1} GB/s)",
        alpha * 1e6,
        beta * 1e9,
        1.0 / beta / 1e9
    );
    println!(
        "step at batch {BATCH}, 1 thread: seed {:.3} ms ({} parameters), big {:.3} ms ({} parameters)",
        seed * 1e3,
        Seed::PARAMS,
        big * 1e3,
        Big::PARAMS
    );
    project(
        &[("seed", seed, Seed::PARAMS), ("10× seed", big, Big::PARAMS)],
        beta,
    );
    Ok(())
}

/// The projected efficiency of `P` machines, each computing batch 64 per step (weak scaling).
fn project(nets: &[(&str, f64, usize)], beta_local: f64) {
    println!(
        "\nprojection: a step on P machines takes t_c + t_ar(P), where t_c is the step above and\n\
         t_ar(P) = 2(P−1)·α + 2·(P−1)/P·S·(β_link + β_local) is a ring allreduce of S bytes\n\
         (the gradient, 4 bytes a parameter); efficiency E = t_c / (t_c + t_ar). With the\n\
         allreduce overlapped with the backward pass (≈ ⅔ of t_c), at best E = t_c / (⅓·t_c +\n\
         max(⅔·t_c, t_ar)). Links: 10 Gbit/s Ethernet (α = 20 µs, β_link = 0.8 ns/B) and\n\
         100 Gbit/s RDMA (α = 2 µs, β_link = 0.08 ns/B); β_local = {:.3} ns/B as measured above.",
        beta_local * 1e9
    );
    let links = [("10 Gbit/s", 20e-6, 0.8e-9), ("100 Gbit/s", 2e-6, 0.08e-9)];
    print!("{:<10} {:<11}", "network", "link");
    let machines = [2usize, 4, 8, 16, 32, 64];
    for p in machines {
        print!(" {:>11}", format!("P={p}"));
    }
    println!("   (E without overlap / with)");
    for (name, tc, params) in nets {
        let bytes = (*params + 3) as f64 * 4.0;
        for (link, alpha, beta) in links {
            print!("{name:<10} {link:<11}");
            for p in machines {
                let p = p as f64;
                let tar =
                    2.0 * (p - 1.0) * alpha + 2.0 * (p - 1.0) / p * bytes * (beta + beta_local);
                let plain = tc / (tc + tar);
                let overlapped = tc / (tc / 3.0 + (2.0 * tc / 3.0).max(tar));
                print!(" {:>5.0}%/{:>3.0}%", 100.0 * plain, 100.0 * overlapped);
            }
            println!();
        }
    }
}
