//! Criterion benches: a training step at batch 64 and a single-sample forward of the seed
//! network, and a training step at batch 1 and a forward of `2 -> tanh 8 -> sigmoid 1 : mse`.
//! Throughput is reported in samples/s; `examples/bench.rs` adds GFLOP/s and the fraction of
//! the machine's FMA peak, and `scripts/compare_peers.sh` the ratios to PyTorch and JAX.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlp_runtime::{Rng, Sgd};
use std::hint::black_box;

mlp_runtime::mlp! {
    /// The seed network.
    pub struct Seed = 784 -> relu 512 -> relu 512 -> 10 : nll;
    /// The peers' smallest configuration.
    pub struct Tiny = 2 -> tanh 8 -> sigmoid 1 : mse;
}

fn uniform(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.uniform(0.0, 1.0)).collect()
}

fn seed_network(c: &mut Criterion) {
    let mut net = Seed::new(0);
    let mut sgd = Sgd::new(0.01);
    let xs = uniform(64 * 784, 1);
    let labels: Vec<u32> = (0..64).map(|k| (k % 10) as u32).collect();
    let mut group = c.benchmark_group("seed 784-512-512-10 nll");
    group.throughput(Throughput::Elements(64));
    group.bench_function("train_step batch 64", |b| {
        b.iter(|| net.train_step(black_box(&xs), &labels, &mut sgd))
    });
    group.throughput(Throughput::Elements(1));
    let x: [f32; 784] = xs[..784].try_into().unwrap();
    group.bench_function("forward 1 sample", |b| {
        b.iter(|| net.forward(black_box(&x)))
    });
    group.finish();
}

fn tiny_network(c: &mut Criterion) {
    let mut net = Tiny::new(0);
    let mut sgd = Sgd::new(0.01);
    let xs = uniform(2, 1);
    let targets = [[0.7f32]];
    let mut group = c.benchmark_group("tiny 2-8-1 mse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("train_step batch 1", |b| {
        b.iter(|| net.train_step(black_box(&xs), &targets, &mut sgd))
    });
    let x = [xs[0], xs[1]];
    group.bench_function("forward 1 sample", |b| {
        b.iter(|| net.forward(black_box(&x)))
    });
    group.finish();
}

criterion_group!(benches, seed_network, tiny_network);
criterion_main!(benches);
