//! Parameter initialization and the seeded random numbers behind it.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};

/// A seeded, reproducible random number generator (ChaCha8).
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.0.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
        lo + (hi - lo) * unit
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n as u64) as usize
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// PyTorch's default initialization of `nn.Linear(fan_in, ·)`: weights and bias uniform in
/// `[−1/√fan_in, 1/√fan_in)` (`kaiming_uniform_(a=√5)` works out to this bound).
pub fn linear_default(rng: &mut Rng, weights: &mut [f32], bias: Option<&mut [f32]>, fan_in: usize) {
    let bound = 1.0 / (fan_in as f32).sqrt();
    for w in weights.iter_mut() {
        *w = rng.uniform(-bound, bound);
    }
    for b in bias.into_iter().flatten() {
        *b = rng.uniform(-bound, bound);
    }
}
