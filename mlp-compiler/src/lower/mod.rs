//! Lowering: each equation becomes a kernel — a matrix product with its transposes, a
//! reduction over the batch, an elementwise map, a row-wise (softmax) map, or a plain loop
//! nest — and is written in matrix form (`∂L/∂W² = (Δ²)ᵀ·A¹`, `Δ¹ = Ā¹ ⊙ step(Z¹)`).

mod matrix;

use crate::autodiff::forward::Program;
use crate::autodiff::reverse::Derived;
use crate::ir::notation::{Style, matrix_name};
use crate::ir::{Dim, Equation, Expr, Idx, Ix, Ref};

/// One operand of a matrix product.
#[derive(Clone, Debug, PartialEq)]
pub struct Operand {
    /// The tensor read.
    pub tensor: Ref,
    /// Whether it is read transposed.
    pub transposed: bool,
}

/// What an equation computes as.
#[derive(Clone, Debug, PartialEq)]
pub enum Kernel {
    /// `out = op(A)·op(B)` (plus a bias row in the forward pass).
    Gemm {
        /// Left operand.
        a: Operand,
        /// Right operand.
        b: Operand,
        /// The index contracted.
        contracted: Idx,
        /// A per-column addend (the bias), if any.
        bias: Option<Ref>,
    },
    /// `outᵢ = Σₙ inₙᵢ`: column sums over the batch.
    BatchSum {
        /// The summed tensor.
        input: Ref,
    },
    /// Each element from the same elements of its inputs.
    Elementwise,
    /// Each sample's row through `softmax` or `lse`.
    RowWise,
    /// Anything else: a loop nest.
    Loop,
}

/// An equation lowered.
#[derive(Clone, Debug, PartialEq)]
pub struct Lowered {
    /// The kernel.
    pub kernel: Kernel,
    /// The equation in matrix form, as text.
    pub matrix: String,
    /// The same in LaTeX.
    pub matrix_latex: String,
    /// One line on the kernel and its sizes.
    pub description: String,
}

/// Every equation of a derivation lowered, once: the forward equations that are evaluated
/// and every adjoint. Emission, the trace and the graph read their kernels and matrix forms
/// here; none of them lowers an equation itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Lowering {
    equations: Vec<(Equation, Lowered)>,
}

impl Lowering {
    /// Lowers each equation of `derived` once.
    pub fn new(derived: &Derived) -> Lowering {
        let adjoints = derived.adjoints.iter().map(|a| &a.equation);
        let equations = derived
            .forward
            .iter()
            .chain(adjoints)
            .map(|eq| (eq.clone(), lower(eq, &derived.program)))
            .collect();
        Lowering { equations }
    }

    /// The lowered form of `eq`, one of the derivation's equations.
    ///
    /// # Panics
    ///
    /// If `eq` is not an equation of the derivation this lowering was built from: a bug of
    /// the caller, never a consequence of the input.
    pub fn of(&self, eq: &Equation) -> &Lowered {
        self.equations
            .iter()
            .find(|(e, _)| e.lhs == eq.lhs && e.rhs == eq.rhs)
            .map(|(_, l)| l)
            .unwrap_or_else(|| panic!("{eq} is not an equation of the derivation"))
    }
}

/// Lowers one equation of `program`.
fn lower(eq: &Equation, program: &Program) -> Lowered {
    let kernel = classify(eq);
    Lowered {
        matrix: matrix::form(eq, &kernel, Style::Text),
        matrix_latex: matrix::form(eq, &kernel, Style::Latex),
        description: description(eq, &kernel, program),
        kernel,
    }
}

/// One line on what `kernel` computes for `eq`, with the sizes of `program`'s tensors.
fn description(eq: &Equation, kernel: &Kernel, program: &Program) -> String {
    let size = |r: &Ref| {
        let dims: Vec<String> = program
            .tensor(r.var)
            .map(|t| {
                t.shape
                    .iter()
                    .map(|d| match d {
                        Dim::Fixed(n) => n.to_string(),
                        Dim::Batch => "N".to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        shape_text(&dims)
    };
    match kernel {
        Kernel::Gemm { a, b, bias, .. } => {
            let t = |o: &Operand| {
                if o.transposed {
                    "transposed"
                } else {
                    "as stored"
                }
            };
            format!(
                "GEMM {} = {}·{}: {} {} times {} {}{}",
                size(&eq.lhs),
                matrix::operand(a, Style::Text),
                matrix::operand(b, Style::Text),
                matrix_name(&a.tensor, Style::Text),
                t(a),
                matrix_name(&b.tensor, Style::Text),
                t(b),
                if bias.is_some() {
                    ", bias added in the epilogue"
                } else {
                    ""
                }
            )
        }
        Kernel::BatchSum { input } => {
            let outputs = size(&eq.lhs);
            let s = if outputs == "1" { "" } else { "s" };
            format!(
                "reduction: column sums of {} over the batch, {outputs} output{s}",
                matrix_name(input, Style::Text),
            )
        }
        Kernel::Elementwise => format!(
            "elementwise map over {}, fusable into the epilogue of the kernel that produces its input",
            size(&eq.lhs)
        ),
        Kernel::RowWise
            if eq
                .rhs
                .any(&|e| matches!(e, Expr::Softmax { .. } | Expr::Lse(..))) =>
        {
            format!(
                "row-wise over {}: softmax of each sample's row with its maximum subtracted",
                size(&eq.lhs)
            )
        }
        Kernel::RowWise => format!(
            "row-wise over {}: one dot product per sample (rowsum), then an elementwise map",
            size(&eq.lhs)
        ),
        Kernel::Loop => format!("loop nest over {}", size(&eq.lhs)),
    }
}

/// A shape as text: `512×784`, `N×10`; `1` for a scalar.
pub fn shape_text<D: std::fmt::Display>(dims: &[D]) -> String {
    if dims.is_empty() {
        "1".to_owned()
    } else {
        let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        dims.join("×")
    }
}

fn classify(eq: &Equation) -> Kernel {
    let lhs: Vec<Ix> = eq.lhs.ix.clone();
    let (core, bias) = match &eq.rhs {
        Expr::Add(ts) if ts.len() == 2 => match (&ts[0], &ts[1]) {
            (s @ Expr::Sum(..), Expr::Ref(b)) => (s, Some(b.clone())),
            _ => (&eq.rhs, None),
        },
        other => (other, None),
    };
    if let Some(gemm) = gemm(core, bias, &lhs) {
        return gemm;
    }
    if let Expr::Sum(n, body) = &eq.rhs
        && let Expr::Ref(input) = body.as_ref()
        && input.ix.first() == Some(&Ix::Var(*n))
        && input.ix[1..] == lhs[..]
    {
        return Kernel::BatchSum {
            input: input.clone(),
        };
    }
    let vector = eq
        .rhs
        .any(&|e| matches!(e, Expr::Softmax { .. } | Expr::Lse(..) | Expr::Sum(..)));
    let rows_only = eq
        .rhs
        .any(&|e| matches!(e, Expr::Softmax { .. } | Expr::Lse(..)));
    if (rows_only || vector)
        && !lhs.is_empty()
        && !eq
            .rhs
            .any(&|e| matches!(e, Expr::Sum(i, _) if *i == Idx::BATCH))
    {
        return Kernel::RowWise;
    }
    if !vector {
        let same = |r: &Ref| r.ix.iter().all(|x| lhs.contains(x));
        let mut elementwise = true;
        eq.rhs.visit(&mut |e| {
            if let Expr::Ref(r) = e {
                elementwise &= same(r);
            }
        });
        if elementwise {
            return Kernel::Elementwise;
        }
    }
    Kernel::Loop
}

/// `Σₖ x·y` with `x`, `y` indexed by `k` and one of the left side's two indices each: a
/// matrix product, each operand read as stored or transposed.
fn gemm(core: &Expr, bias: Option<Ref>, lhs: &[Ix]) -> Option<Kernel> {
    if let Expr::Sum(k, body) = core
        && let Expr::Mul(fs) = body.as_ref()
        && let [Expr::Ref(x), Expr::Ref(y)] = fs.as_slice()
        && let [p, q] = lhs
    {
        let k = Ix::Var(*k);
        let orient = |r: &Ref, row: Ix, first: bool| -> Option<bool> {
            // As the left operand the stored order is [row, k]; as the right, [k, col].
            let stored = if first { [row, k] } else { [k, row] };
            let flipped = [stored[1], stored[0]];
            if r.ix.as_slice() == stored {
                Some(false)
            } else if r.ix.as_slice() == flipped {
                Some(true)
            } else {
                None
            }
        };
        for (a, b) in [(x, y), (y, x)] {
            if let (Some(ta), Some(tb)) = (orient(a, *p, true), orient(b, *q, false)) {
                return Some(Kernel::Gemm {
                    a: Operand {
                        tensor: a.clone(),
                        transposed: ta,
                    },
                    b: Operand {
                        tensor: b.clone(),
                        transposed: tb,
                    },
                    contracted: k.idx(),
                    bias: bias.clone(),
                });
            }
        }
    }
    None
}
