//! The validated network: typed layers with known dimensions, and its loss.
//!
//! Invariants (established by `validate`): every width is between 1 and [`MAX_UNITS`], every
//! layer has at most [`MAX_WEIGHTS`] weights, `nll`/`ce` have at least two outputs, and the
//! last activation is not one the loss already applies.

pub use crate::model::formula::CustomActivation;
use std::fmt;
use std::sync::Arc;

/// The largest width of any layer: 2^20 units.
pub const MAX_UNITS: u64 = 1 << 20;
/// The most weights one layer may hold: 2^28.
pub const MAX_WEIGHTS: u64 = 1 << 28;

/// What a layer applies after its affine map.
#[derive(Clone, Debug, PartialEq)]
pub enum Activation {
    /// None: the layer is linear.
    Identity,
    /// `relu(x) = max(x, 0)`
    Relu,
    /// `leaky_relu(x) = max(x, 0) + slope · min(x, 0)`; PyTorch's default slope is 0.01.
    LeakyRelu {
        /// The negative slope.
        slope: f64,
    },
    /// `elu(x) = x` for `x > 0`, `alpha · (exp(x) − 1)` otherwise; PyTorch's default alpha is 1.
    Elu {
        /// The saturation value for negative inputs.
        alpha: f64,
    },
    /// `sigmoid(x) = 1 / (1 + exp(−x))`
    Sigmoid,
    /// `tanh(x)`
    Tanh,
    /// `softplus(x) = log(1 + exp(x))`
    Softplus,
    /// `silu(x) = x · sigmoid(x)`
    Silu,
    /// `gelu(x) = x · Φ(x)` with the exact normal CDF `Φ(x) = (1 + erf(x/√2)) / 2`.
    Gelu,
    /// `softmax(z)ᵢ = exp(zᵢ) / Σⱼ exp(zⱼ)`: a vector function, its Jacobian not diagonal.
    Softmax,
    /// A user-declared elementwise activation.
    Custom(Arc<CustomActivation>),
}

/// PyTorch's default negative slope of `nn.LeakyReLU`.
pub const DEFAULT_LEAKY_SLOPE: f64 = 0.01;
/// PyTorch's default alpha of `nn.ELU`.
pub const DEFAULT_ELU_ALPHA: f64 = 1.0;

impl Activation {
    /// The name it is written with (`""` for none).
    pub fn name(&self) -> &str {
        match self {
            Activation::Identity => "",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softplus => "softplus",
            Activation::Silu => "silu",
            Activation::Gelu => "gelu",
            Activation::Softmax => "softmax",
            Activation::Custom(c) => &c.name,
        }
    }
}

impl fmt::Display for Activation {
    /// The activation as the DSL writes it; a default argument is left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::LeakyRelu { slope } if *slope != DEFAULT_LEAKY_SLOPE => {
                write!(f, "leaky_relu({slope})")
            }
            Activation::Elu { alpha } if *alpha != DEFAULT_ELU_ALPHA => write!(f, "elu({alpha})"),
            other => f.write_str(other.name()),
        }
    }
}

/// The loss, each with PyTorch's default meaning: the mean over the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Loss {
    /// Class-index targets; log-softmax of the output, then negative log-likelihood
    /// (`nn.CrossEntropyLoss` with integer targets).
    Nll,
    /// Probability-vector targets; `−Σₖ tₖ log softmax(y)ₖ` (`nn.CrossEntropyLoss` with
    /// probability targets).
    Ce,
    /// Mean of squared errors over batch and outputs (`nn.MSELoss`).
    Mse,
    /// Binary cross-entropy on the logits, mean over batch and outputs (`nn.BCEWithLogitsLoss`).
    Bce,
    /// `½‖y − t‖²` summed over outputs, mean over the batch (seed 002; TensorFlow's `l2_loss`).
    L2,
}

impl Loss {
    /// Every loss, for lookup and suggestions.
    pub const ALL: [Loss; 5] = [Loss::Nll, Loss::Ce, Loss::Mse, Loss::Bce, Loss::L2];

    /// The name it is written with.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Nll => "nll",
            Loss::Ce => "ce",
            Loss::Mse => "mse",
            Loss::Bce => "bce",
            Loss::L2 => "l2",
        }
    }

    /// The loss written `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Loss> {
        Loss::ALL.into_iter().find(|l| l.name() == name)
    }

    /// One line on what it computes and what targets it takes.
    pub fn meaning(self) -> &'static str {
        match self {
            Loss::Nll => {
                "log-softmax then negative log-likelihood; targets are class indices (u32)"
            }
            Loss::Ce => "log-softmax then cross-entropy; targets are probability vectors",
            Loss::Mse => "mean squared error over outputs; targets are vectors",
            Loss::Bce => {
                "binary cross-entropy on logits (sigmoid applied by the loss); targets in [0, 1]"
            }
            Loss::L2 => "½‖y − t‖² summed over outputs; targets are vectors",
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One dense layer: `y = act(W x + b)` with `W` of shape `[units][inputs]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub units: usize,
    /// The activation applied after the affine map.
    pub activation: Activation,
    /// Whether the layer adds a bias.
    pub bias: bool,
}

impl Layer {
    /// Weights plus biases.
    pub fn params(&self) -> usize {
        self.inputs * self.units + if self.bias { self.units } else { 0 }
    }
}

/// A validated network.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// Input width.
    pub inputs: usize,
    /// The layers, first to last; never empty.
    pub layers: Vec<Layer>,
    /// The loss applied to the last layer's output.
    pub loss: Loss,
}

impl Network {
    /// Output width.
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(self.inputs, |l| l.units)
    }

    /// Number of trainable parameters.
    pub fn params(&self) -> usize {
        self.layers.iter().map(Layer::params).sum()
    }

    /// The custom activations the network uses, each once, in order of first use, each after
    /// those its formula calls.
    pub fn custom_activations(&self) -> Vec<&CustomActivation> {
        let mut seen: Vec<&CustomActivation> = Vec::new();
        for layer in &self.layers {
            if let Activation::Custom(c) = &layer.activation {
                with_callees(c, &mut seen);
            }
        }
        seen
    }

    /// The constants the user wrote, as magnitudes: those of the custom formulas, the slopes
    /// of `leaky_relu` and the alphas of `elu`, for printing as written.
    pub fn written_constants(&self) -> Vec<f64> {
        let mut out: Vec<f64> = (self.custom_activations().iter())
            .flat_map(|c| c.formula.constants())
            .collect();
        for layer in &self.layers {
            match layer.activation {
                Activation::LeakyRelu { slope } => out.push(slope),
                Activation::Elu { alpha } => out.push(alpha),
                _ => {}
            }
        }
        out.iter().map(|v| v.abs()).collect()
    }

    /// The canonical text: the `act` definitions it uses, then the network, in one line,
    /// e.g. `784 -> relu 512 -> relu 512 -> 10 : nll`. It parses back to an equal network.
    pub fn spec(&self) -> String {
        let mut out = String::new();
        for c in self.custom_activations() {
            out.push_str(&format!("act {}(x) = {}; ", c.name, c.formula));
        }
        out.push_str(&self.to_string());
        out
    }
}

/// Adds `c` to `seen`, after the activations it calls, unless it is there.
fn with_callees<'a>(c: &'a CustomActivation, seen: &mut Vec<&'a CustomActivation>) {
    if seen.iter().any(|s| s.name == c.name) {
        return;
    }
    for callee in c.formula.applied() {
        with_callees(callee, seen);
    }
    seen.push(c);
}

impl fmt::Display for Network {
    /// The network line alone, without `act` definitions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inputs)?;
        for layer in &self.layers {
            f.write_str(" -> ")?;
            if layer.activation != Activation::Identity {
                write!(f, "{} ", layer.activation)?;
            }
            write!(f, "{}", layer.units)?;
            if !layer.bias {
                f.write_str(" no_bias")?;
            }
        }
        write!(f, " : {}", self.loss)
    }
}
