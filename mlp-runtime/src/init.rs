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

    /// Standard normal (Box–Muller on two uniforms).
    pub fn normal(&mut self) -> f32 {
        // 1 − u keeps the logarithm's argument in (0, 1].
        let u = 1.0 - self.uniform(0.0, 1.0) as f64;
        let v = self.uniform(0.0, 1.0) as f64;
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
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

/// How a layer's weights are drawn; the bias is zero except for [`Init::Default`]. Gains and
/// bounds as in `torch.nn.init`, with `fan_in` the layer's inputs and `fan_out` its units.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Init {
    /// `nn.Linear`'s own: weights and bias uniform in ±1/√fan_in.
    #[default]
    Default,
    /// `xavier_uniform_`: uniform in ±gain·√(6/(fan_in + fan_out)).
    XavierUniform {
        /// The gain (1 for linear and sigmoid layers, 5/3 for tanh).
        gain: f32,
    },
    /// `xavier_normal_`: normal with std gain·√(2/(fan_in + fan_out)).
    XavierNormal {
        /// The gain.
        gain: f32,
    },
    /// `kaiming_uniform_(mode="fan_in")`: uniform in ±gain·√(3/fan_in).
    KaimingUniform {
        /// The gain (√2 for ReLU).
        gain: f32,
    },
    /// `kaiming_normal_(mode="fan_in")`: normal with std gain/√fan_in.
    KaimingNormal {
        /// The gain.
        gain: f32,
    },
}

impl Init {
    /// Parses `default`, `xavier-uniform`, `xavier-normal`, `kaiming-uniform`, `kaiming-normal`
    /// (Xavier with gain 1, Kaiming with ReLU's gain √2).
    pub fn parse(name: &str) -> Result<Init, String> {
        let relu = std::f32::consts::SQRT_2;
        Ok(match name {
            "default" => Init::Default,
            "xavier-uniform" => Init::XavierUniform { gain: 1.0 },
            "xavier-normal" => Init::XavierNormal { gain: 1.0 },
            "kaiming-uniform" => Init::KaimingUniform { gain: relu },
            "kaiming-normal" => Init::KaimingNormal { gain: relu },
            other => {
                return Err(format!(
                    "unknown initializer `{other}`; expected default, xavier-uniform, \
                     xavier-normal, kaiming-uniform or kaiming-normal"
                ));
            }
        })
    }

    /// Fills one layer's weights (`fan_out × fan_in`, row-major) and bias.
    pub fn layer(
        self,
        rng: &mut Rng,
        weights: &mut [f32],
        bias: Option<&mut [f32]>,
        fan_in: usize,
        fan_out: usize,
    ) {
        let (fi, fo) = (fan_in as f32, fan_out as f32);
        let uniform = |rng: &mut Rng, w: &mut [f32], bound: f32| {
            w.iter_mut().for_each(|v| *v = rng.uniform(-bound, bound));
        };
        let normal = |rng: &mut Rng, w: &mut [f32], std: f32| {
            w.iter_mut().for_each(|v| *v = std * rng.normal());
        };
        match self {
            Init::Default => return linear_default(rng, weights, bias, fan_in),
            Init::XavierUniform { gain } => uniform(rng, weights, gain * (6.0 / (fi + fo)).sqrt()),
            Init::XavierNormal { gain } => normal(rng, weights, gain * (2.0 / (fi + fo)).sqrt()),
            Init::KaimingUniform { gain } => uniform(rng, weights, gain * (3.0 / fi).sqrt()),
            Init::KaimingNormal { gain } => normal(rng, weights, gain / fi.sqrt()),
        }
        for b in bias.into_iter().flatten() {
            *b = 0.0;
        }
    }
}
