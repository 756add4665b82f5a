//! What stops a derivation: a limit reached, and where.

use crate::ir::Var;
use crate::simplify::Runaway;

/// What stopped a derivation.
#[derive(Clone, Debug, PartialEq)]
pub enum Exceeded {
    /// An expression held this many operations before simplification, more than
    /// [`MAX_DERIVED_SIZE`](crate::limits::MAX_DERIVED_SIZE).
    Size(usize),
    /// Simplification reached one of its limits.
    Runaway(Runaway),
    /// The network's Jacobians and adjoints held this many operations in all, more than
    /// [`MAX_DERIVATION_SIZE`](crate::limits::MAX_DERIVATION_SIZE).
    Total(usize),
    /// A limit reached while building the derivative of the user's function named here, which
    /// the layer calls.
    InFunction(String, Box<Exceeded>),
}

/// A derivation stopped at a limit, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct TooLarge {
    /// The tensor being worked on: its adjoint, or (for `adjoint: false`) its forward
    /// definition in stable form.
    pub var: Var,
    /// Whether it was the adjoint of `var` (else its forward definition).
    pub adjoint: bool,
    /// The equation whose formula made the expression: the consumer `u` of the Jacobian
    /// `∂u/∂var` (for an adjoint), or `var` itself (for a forward definition).
    pub equation: Var,
    /// The limit reached.
    pub exceeded: Exceeded,
}
