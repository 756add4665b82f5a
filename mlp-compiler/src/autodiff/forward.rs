//! A validated network as forward equations in index notation, batch index included.
//!
//! Layer `l` computes `zˡₙᵢ = Σⱼ Wˡᵢⱼ·aˡ⁻¹ₙⱼ + bˡᵢ` (with `a⁰ = x`), then `aˡₙᵢ = f(zˡₙᵢ)` from
//! the activation's formula (a linear layer has no `a`: the next layer reads `zˡ`). The loss
//! `L` is written from its definition, a formula in the network's output `y` and targets `t`.

use crate::autodiff::functions::Library;
use crate::autodiff::scalar;
use crate::autodiff::stop::{Exceeded, TooLarge};
use crate::ir::{Dim, Equation, Expr, Idx, Ix, Prim, Ref, Var};
use crate::model::network::{Activation, Layer, Loss, Network};

/// What a tensor is to the trainer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The input batch `x`.
    Input,
    /// The targets `t`: class labels for `nll`, vectors otherwise.
    Target,
    /// A trained parameter.
    Param,
    /// A value the forward pass computes and stores.
    Value,
    /// The scalar loss.
    Loss,
}

/// A tensor of the program.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Its name.
    pub var: Var,
    /// What it is.
    pub role: Role,
    /// Its axes.
    pub shape: Vec<Dim>,
    /// The index letters it is written with (`W¹ᵢⱼ`, `z¹ₙᵢ`).
    pub index: Vec<Idx>,
}

/// A network as equations.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// Every tensor: inputs, targets, parameters in state_dict order, values, the loss.
    pub tensors: Vec<Tensor>,
    /// The forward equations, in order of computation; the last defines `L`.
    pub forward: Vec<Equation>,
    /// The network's output (`y`): the last layer's `a`, or its `z` when linear.
    pub output: Var,
}

/// The input `x`.
pub const X: Var = Var::plain('x');
/// The targets `t`.
pub const T: Var = Var::plain('t');
/// The loss `L`.
pub const L: Var = Var::plain('L');

const N: Idx = Idx::BATCH;
const I: Idx = Idx::new('i');
const J: Idx = Idx::new('j');
const K: Idx = Idx::new('k');

impl Program {
    /// The tensor named `var`.
    pub fn tensor(&self, var: Var) -> Option<&Tensor> {
        self.tensors.iter().find(|t| t.var == var)
    }

    /// The parameters, in state_dict order (`W¹`, `b¹`, `W²`, …).
    pub fn params(&self) -> impl Iterator<Item = &Tensor> {
        self.tensors.iter().filter(|t| t.role == Role::Param)
    }

    /// The equation that defines `var`.
    pub fn definition(&self, var: Var) -> Option<&Equation> {
        self.forward.iter().find(|e| e.lhs.var == var)
    }
}

/// The number layer `k` (counted from 0) is written with: `k + 1`, a superscript.
///
/// # Panics
///
/// Past layer 255. Validation allows at most [`crate::limits::MAX_LAYERS`] layers, and
/// [`crate::compile_network`] refuses a network with more.
pub fn layer_number(k: usize) -> u8 {
    u8::try_from(k + 1).expect("at most 255 layers: validation allows no more than MAX_LAYERS")
}

/// Writes the forward equations of `net`. A user's activation kept as a function is built
/// here, its derivative with it; that can reach a limit of the derivation.
///
/// # Panics
///
/// For a network of more than 255 layers, which validation never returns (see
/// [`layer_number`]).
pub fn program(net: &Network) -> Result<Program, TooLarge> {
    let mut p = Program {
        tensors: vec![Tensor {
            var: X,
            role: Role::Input,
            shape: vec![Dim::Batch, Dim::Fixed(net.inputs)],
            index: vec![N, I],
        }],
        forward: Vec::new(),
        output: X,
    };
    let mut library = Library::default();
    for (k, layer) in net.layers.iter().enumerate() {
        let input = p.output;
        p.output = push_layer(&mut p, &mut library, layer_number(k), layer, input)?;
    }
    let outputs = net.outputs();
    let target_shape = match net.loss {
        Loss::Nll => vec![Dim::Batch],
        _ => vec![Dim::Batch, Dim::Fixed(outputs)],
    };
    let target_index = if net.loss == Loss::Nll {
        vec![N]
    } else {
        vec![N, I]
    };
    p.tensors.insert(
        1,
        Tensor {
            var: T,
            role: Role::Target,
            shape: target_shape,
            index: target_index,
        },
    );
    p.tensors.push(Tensor {
        var: L,
        role: Role::Loss,
        shape: vec![],
        index: vec![],
    });
    p.forward.push(Equation {
        lhs: lhs(L, &[]),
        rhs: loss(net.loss, p.output, outputs),
    });
    Ok(p)
}

/// Adds the tensors and equations of layer `l` reading `input`; returns its output.
fn push_layer(
    p: &mut Program,
    library: &mut Library,
    l: u8,
    layer: &Layer,
    input: Var,
) -> Result<Var, TooLarge> {
    let (w, b, z, a) = (
        Var::layered('W', l),
        Var::layered('b', l),
        Var::layered('z', l),
        Var::layered('a', l),
    );
    let value = |var, units| Tensor {
        var,
        role: Role::Value,
        shape: vec![Dim::Batch, Dim::Fixed(units)],
        index: vec![N, I],
    };
    p.tensors.push(Tensor {
        var: w,
        role: Role::Param,
        shape: vec![Dim::Fixed(layer.units), Dim::Fixed(layer.inputs)],
        index: vec![I, J],
    });
    let mut affine = Expr::sum(
        J,
        Expr::times(Expr::at(w, &[I, J]), Expr::at(input, &[N, J])),
    );
    if layer.bias {
        p.tensors.push(Tensor {
            var: b,
            role: Role::Param,
            shape: vec![Dim::Fixed(layer.units)],
            index: vec![I],
        });
        affine = Expr::plus(affine, Expr::at(b, &[I]));
    }
    p.tensors.push(value(z, layer.units));
    p.forward.push(Equation {
        lhs: lhs(z, &[N, I]),
        rhs: affine,
    });
    let rhs = activated(library, &layer.activation, z).map_err(|exceeded| TooLarge {
        var: a,
        adjoint: true,
        equation: a,
        exceeded,
    })?;
    let Some(rhs) = rhs else {
        return Ok(z);
    };
    p.tensors.push(value(a, layer.units));
    p.forward.push(Equation {
        lhs: lhs(a, &[N, I]),
        rhs,
    });
    Ok(a)
}

/// `act(zₙᵢ)`, or `None` for the identity.
fn activated(library: &mut Library, act: &Activation, z: Var) -> Result<Option<Expr>, Exceeded> {
    let z_ni = Expr::at(z, &[N, I]);
    Ok(match act {
        Activation::Identity => None,
        // softmax(z)ᵢ = exp(zᵢ) / Σⱼ exp(zⱼ)
        Activation::Softmax => Some(Expr::times(
            Expr::call(Prim::Exp, z_ni),
            Expr::recip(Expr::sum(J, Expr::call(Prim::Exp, Expr::at(z, &[N, J])))),
        )),
        elementwise => {
            let f = scalar::formula(elementwise).expect("an elementwise activation has a formula");
            Some(library.apply(&f, &z_ni)?)
        }
    })
}

fn lhs(var: Var, ix: &[Idx]) -> Ref {
    Ref {
        var,
        adjoint: false,
        ix: ix.iter().map(|i| Ix::Var(*i)).collect(),
    }
}

/// The loss as a formula in the output `y` and the targets `t`: the mean over the batch
/// (and, for `mse` and `bce`, over the outputs too), as PyTorch defines it.
fn loss(loss: Loss, y: Var, outputs: usize) -> Expr {
    let y_nk = || Expr::at(y, &[N, K]);
    let t_nk = || Expr::at(T, &[N, K]);
    let mean_n = |e: Expr| Expr::times(Expr::recip(Expr::BatchSize), Expr::sum(N, e));
    let mean_nk = |e: Expr| Expr::times(Expr::Num(1.0 / outputs as f64), mean_n(Expr::sum(K, e)));
    // log Σⱼ exp(yₙⱼ)
    let log_sum_exp = || {
        Expr::call(
            Prim::Log,
            Expr::sum(J, Expr::call(Prim::Exp, Expr::at(y, &[N, J]))),
        )
    };
    let error = || Expr::plus(y_nk(), Expr::negate(t_nk()));
    match loss {
        // −log softmax(y)_t = log Σⱼ exp(yⱼ) − y_t, with y_t = Σₖ δ(k, t)·yₖ
        Loss::Nll => mean_n(Expr::plus(
            log_sum_exp(),
            Expr::negate(Expr::sum(
                K,
                Expr::times(Expr::Delta(Ix::Var(K), Ix::Label(N)), y_nk()),
            )),
        )),
        // −Σₖ tₖ·log softmax(y)ₖ = Σₖ tₖ·(log Σⱼ exp(yⱼ) − yₖ)
        Loss::Ce => mean_n(Expr::sum(
            K,
            Expr::times(t_nk(), Expr::plus(log_sum_exp(), Expr::negate(y_nk()))),
        )),
        // (y − t)²
        Loss::Mse => mean_nk(Expr::pow(error(), 2.0)),
        // −t·log σ(y) − (1 − t)·log(1 − σ(y)) = log(1 + exp(y)) − t·y
        Loss::Bce => mean_nk(Expr::plus(
            Expr::call(
                Prim::Log,
                Expr::plus(Expr::Num(1.0), Expr::call(Prim::Exp, y_nk())),
            ),
            Expr::negate(Expr::times(t_nk(), y_nk())),
        )),
        // ½‖y − t‖²
        Loss::L2 => mean_n(Expr::sum(
            K,
            Expr::times(Expr::Num(0.5), Expr::pow(error(), 2.0)),
        )),
    }
}
