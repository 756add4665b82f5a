//! Lowering: each equation becomes a kernel — a matrix product with its transposes, a
//! reduction over the batch, an elementwise map, a row-wise (softmax) map, or a plain loop
//! nest — and is written in matrix form (`∂L/∂W² = (Δ²)ᵀ·A¹`, `Δ¹ = Ā¹ ⊙ step(Z¹)`).

use crate::autodiff::forward::Program;
use crate::autodiff::reverse::Derived;
use crate::ir::{Dim, Equation, Expr, Idx, Ix, Prim, Ref};

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
    let out = |latex| matrix_name(&eq.lhs, latex);
    let (matrix, matrix_latex) = match &kernel {
        Kernel::Gemm { a, b, bias, .. } => {
            let product = |latex: bool| {
                let dot = if latex { " \\cdot " } else { "·" };
                let mut s = format!("{}{dot}{}", operand(a, latex), operand(b, latex));
                if let Some(bias) = bias {
                    s += &format!(" + {}", matrix_name(bias, latex));
                }
                s
            };
            (
                format!("{} = {}", out(false), product(false)),
                format!("{} = {}", out(true), product(true)),
            )
        }
        Kernel::BatchSum { input } => (
            format!("{} = 1ᵀ·{}", out(false), matrix_name(input, false)),
            format!(
                "{} = \\mathbf{{1}}^\\top {}",
                out(true),
                matrix_name(input, true)
            ),
        ),
        _ => (
            format!("{} = {}", out(false), matrix_expr(&eq.rhs, false)),
            format!("{} = {}", out(true), matrix_expr(&eq.rhs, true)),
        ),
    };
    let size = |r: &Ref| shape_text(program, r);
    let description = match &kernel {
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
                operand(a, false),
                operand(b, false),
                matrix_name(&a.tensor, false),
                t(a),
                matrix_name(&b.tensor, false),
                t(b),
                if bias.is_some() {
                    ", bias added in the epilogue"
                } else {
                    ""
                }
            )
        }
        Kernel::BatchSum { input } => format!(
            "reduction: column sums of {} over the batch, {} outputs",
            matrix_name(input, false),
            size(&eq.lhs)
        ),
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
    };
    Lowered {
        kernel,
        matrix,
        matrix_latex,
        description,
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
    if let Expr::Sum(k, body) = core
        && let Expr::Mul(fs) = body.as_ref()
        && let [Expr::Ref(x), Expr::Ref(y)] = fs.as_slice()
        && let [p, q] = lhs.as_slice()
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
                return Kernel::Gemm {
                    a: Operand {
                        tensor: a.clone(),
                        transposed: ta,
                    },
                    b: Operand {
                        tensor: b.clone(),
                        transposed: tb,
                    },
                    contracted: k.idx(),
                    bias,
                };
            }
        }
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

/// The matrix a tensor is written as: `Z¹`, `A¹`, `X`, `W²`, `Δ²` for `z̄²`, `Ā¹` for `ā¹`,
/// `∂L/∂W²` for `W̄²`.
pub fn matrix_name(r: &Ref, latex: bool) -> String {
    let style = if latex {
        crate::ir::notation::Style::Latex
    } else {
        crate::ir::notation::Style::Text
    };
    let layer = crate::ir::notation::layer_mark(r.var.layer, style);
    let upper = r.var.letter.to_uppercase().to_string();
    match (r.var.letter, r.adjoint, latex) {
        ('W' | 'b', true, false) => format!("∂L/∂{}{}", r.var.letter, layer),
        ('W' | 'b', true, true) => format!(
            "\\frac{{\\partial L}}{{\\partial {}{}}}",
            r.var.letter, layer
        ),
        ('W' | 'b', false, _) => format!("{}{}", r.var.letter, layer),
        ('z', true, false) => format!("Δ{}", layer),
        ('z', true, true) => format!("\\Delta{}", layer),
        (_, true, false) => format!("{upper}\u{0304}{}", layer),
        (_, true, true) => format!("\\bar{{{upper}}}{}", layer),
        (_, false, _) => format!("{upper}{}", layer),
    }
}

fn operand(o: &Operand, latex: bool) -> String {
    let name = matrix_name(&o.tensor, latex);
    match (o.transposed, latex) {
        (false, _) => name,
        (true, false) if name.chars().count() > 1 => format!("({name})ᵀ"),
        (true, false) => format!("{name}ᵀ"),
        (true, true) => format!("\\left({name}\\right)^\\top"),
    }
}

fn shape_text(program: &Program, r: &Ref) -> String {
    let dims: Vec<String> = program
        .tensor(r.var)
        .map(|t| {
            t.shape
                .iter()
                .map(|d| {
                    if let Dim::Fixed(n) = d {
                        n.to_string()
                    } else {
                        "N".to_owned()
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if dims.is_empty() {
        "1".to_owned()
    } else {
        dims.join("×")
    }
}

/// An elementwise or row-wise right side in matrix notation: `⊙` between matrices, functions
/// applied elementwise, a row-wise sum as `rowsum`, the label δ as `onehot(t)`.
pub fn matrix_expr(e: &Expr, latex: bool) -> String {
    let go = |x: &Expr| matrix_expr(x, latex);
    let wrap = |x: &Expr| {
        let s = go(x);
        if matches!(x, Expr::Add(_)) {
            if latex {
                format!("\\left({s}\\right)")
            } else {
                format!("({s})")
            }
        } else {
            s
        }
    };
    match e {
        Expr::Num(v) => crate::ir::notation::short(*v),
        Expr::BatchSize => "N".to_owned(),
        Expr::Ref(r) => matrix_name(r, latex),
        Expr::Delta(..) => {
            if latex {
                "\\operatorname{onehot}(t)".to_owned()
            } else {
                "onehot(t)".to_owned()
            }
        }
        Expr::Sum(_, body) => {
            if latex {
                format!("\\operatorname{{rowsum}}\\left({}\\right)", go(body))
            } else {
                format!("rowsum({})", go(body))
            }
        }
        Expr::Add(ts) => {
            let mut s = String::new();
            for (k, t) in ts.iter().enumerate() {
                let text = go(t);
                match (k, text.strip_prefix('−').or_else(|| text.strip_prefix('-'))) {
                    (0, _) => s.push_str(&text),
                    (_, Some(rest)) => s.push_str(
                        &format!(" − {rest}").replace('−', if latex { "-" } else { "−" }),
                    ),
                    (_, None) => s.push_str(&format!(" + {text}")),
                }
            }
            s
        }
        Expr::Mul(fs) => {
            let mut num: Vec<String> = Vec::new();
            let mut den: Vec<String> = Vec::new();
            let mut scalar: Vec<String> = Vec::new();
            let mut sign = "";
            for f in fs {
                match f {
                    Expr::Num(v) if *v == -1.0 => sign = if latex { "-" } else { "−" },
                    Expr::Num(_) | Expr::BatchSize => scalar.push(go(f)),
                    Expr::Pow(b, p) if p.is_num(-1.0) => den.push(wrap(b)),
                    other => num.push(wrap(other)),
                }
            }
            // Scalars multiply with `·`, matrices elementwise with `⊙`.
            let odot = if latex { " \\odot " } else { " ⊙ " };
            let dot = if latex { " \\cdot " } else { "·" };
            let mut top = num.join(odot);
            if !scalar.is_empty() {
                top = if top.is_empty() {
                    scalar.join(dot)
                } else {
                    format!("{}{dot}{top}", scalar.join(dot))
                };
            }
            let num_len = num.len() + scalar.len();
            let top = if top.is_empty() { "1".to_owned() } else { top };
            match (den.is_empty(), latex) {
                (true, _) => format!("{sign}{top}"),
                (false, true) => format!("{sign}\\frac{{{top}}}{{{}}}", den.join(" ")),
                (false, false) => format!(
                    "{sign}{}/{}",
                    if num_len > 1 { format!("({top})") } else { top },
                    den.join("·")
                ),
            }
        }
        Expr::Pow(b, p) if latex => format!("{{{}}}^{{{}}}", wrap(b), go(p)),
        Expr::Pow(b, p) => format!("{}^{}", wrap(b), go(p)),
        Expr::Call(f, args) => {
            let args: Vec<String> = args.iter().map(go).collect();
            let name = if *f == Prim::Sigmoid && latex {
                "\\sigma".to_owned()
            } else {
                f.name().to_owned()
            };
            format!("{name}({})", args.join(", "))
        }
        Expr::Lse(_, body) => format!("lse({})", row_of(body, latex)),
        Expr::Softmax { body, .. } => format!("softmax({})", row_of(body, latex)),
    }
}

fn row_of(body: &Expr, latex: bool) -> String {
    match body {
        Expr::Ref(r) => matrix_name(r, latex),
        other => matrix_expr(other, latex),
    }
}
