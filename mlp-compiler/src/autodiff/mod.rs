//! Differentiation: a network as forward equations in index notation ([`forward`]), and
//! their adjoints by reverse accumulation ([`reverse`]), every Jacobian from the sum, product
//! and chain rules and the derivative table of the scalar primitives ([`scalar`]).

pub mod forward;
pub mod functions;
pub mod jacobian;
pub mod reverse;
pub mod scalar;
pub mod stop;
