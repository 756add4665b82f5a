//! The Jacobian of an expression by one element of a tensor: the sum, product and chain
//! rules, `∂W[i,j]/∂W[k,l] = δᵢₖ·δⱼₗ`, and the scalar derivative table of
//! [`crate::autodiff::scalar`].

use crate::autodiff::scalar;
use crate::ir::{Expr, Idx, Ix, Var};

/// `∂e/∂v[at]`: the derivative of `e` by one element of `v`, whose indices `at` must not be
/// bound inside `e`.
pub fn jacobian(e: &Expr, v: Var, at: &[Idx]) -> Expr {
    let d = |x: &Expr| jacobian(x, v, at);
    match e {
        Expr::Num(_) | Expr::BatchSize | Expr::Delta(..) => Expr::Num(0.0),
        // ∂v[i₁…iₘ]/∂v[j₁…jₘ] = δᵢ₁ⱼ₁ ⋯ δᵢₘⱼₘ
        Expr::Ref(r) if r.var == v && !r.adjoint => Expr::Mul(
            r.ix.iter()
                .zip(at)
                .map(|(i, j)| Expr::Delta(*i, Ix::Var(*j)))
                .collect(),
        ),
        Expr::Ref(_) => Expr::Num(0.0),
        // ∂Σᵢ e = Σᵢ ∂e
        Expr::Sum(i, b) => Expr::sum(*i, d(b)),
        // ∂(a + b) = ∂a + ∂b
        Expr::Add(ts) => Expr::Add(ts.iter().map(d).collect()),
        // ∂(a·b·c) = ∂a·b·c + a·∂b·c + a·b·∂c
        Expr::Mul(fs) => Expr::Add(
            (0..fs.len())
                .map(|k| {
                    let mut term = fs.clone();
                    term[k] = d(&fs[k]);
                    Expr::Mul(term)
                })
                .collect(),
        ),
        Expr::Pow(a, b) => {
            let pow = e.clone();
            if b.free().is_empty() && !mentions_var(b, v) {
                // ∂aᶜ = c·aᶜ⁻¹·∂a
                let lowered = Expr::Pow(
                    a.clone(),
                    Box::new(Expr::plus((**b).clone(), Expr::Num(-1.0))),
                );
                Expr::Mul(vec![(**b).clone(), lowered, d(a)])
            } else {
                // ∂aᵇ = aᵇ·(∂b·log a + b·∂a/a)
                let log_a = Expr::call(crate::ir::Prim::Log, (**a).clone());
                let da_over_a = Expr::times(d(a), Expr::recip((**a).clone()));
                Expr::times(
                    pow,
                    Expr::plus(
                        Expr::times(d(b), log_a),
                        Expr::times((**b).clone(), da_over_a),
                    ),
                )
            }
        }
        // ∂f(a, b) = ∂f/∂a·∂a + ∂f/∂b·∂b  (chain rule)
        Expr::Call(f, args) => Expr::Add(
            scalar::partials(f, args)
                .into_iter()
                .zip(args)
                .map(|(p, a)| Expr::times(p, d(a)))
                .collect(),
        ),
        Expr::Lse(..) | Expr::Softmax { .. } => {
            unreachable!("the stable vector forms are introduced after differentiation")
        }
    }
}

fn mentions_var(e: &Expr, v: Var) -> bool {
    e.any(&|x| matches!(x, Expr::Ref(r) if r.var == v))
}
