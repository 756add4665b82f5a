//! The network and its backward data flow as Graphviz DOT (`mlp graph SPEC | dot -Tsvg >
//! net.svg`): one node per tensor, named with its shape (inputs, targets and parameters as
//! boxes, forward values as ellipses, adjoints shaded), one edge per tensor an equation
//! reads, labelled with what computes the equation in the generated code. The passes are
//! walked as emission walks them ([`PassOrder`]), so a product is called unrolled exactly
//! where the code unrolls it and an activation runs in a GEMM's epilogue exactly where the
//! code fuses it. The graph draws the passes; where every product unrolls, the training step
//! runs the same equations one sample at a time in one loop (`fused.rs`), which it does not
//! draw.

use super::code::statements;
use super::layout::Layout;
use super::order::PassOrder;
use super::product::{Product, dims};
use crate::autodiff::forward::{Role, T};
use crate::ir::notation::{Style, matrix_name};
use crate::ir::{Dim, Equation, Expr, Ix, Ref, Var};
use crate::lower::{Kernel, shape_text};
use crate::model::Activation;
use crate::pipeline::Plan;
use std::collections::BTreeSet;
use std::fmt::Write;

/// How the generated code computes one equation.
#[derive(Clone, Copy, PartialEq)]
enum How {
    /// On its own.
    Alone,
    /// In the epilogue of the GEMM that computes the equation before it.
    Epilogue,
}

/// One edge: from a tensor read to the tensor written, and its label.
struct Edge {
    from: Ref,
    to: Ref,
    label: String,
}

/// The DOT text of `plan`'s forward and backward data flow, titled with its spec.
pub fn graph(plan: &Plan) -> String {
    let order = PassOrder::of(plan);
    let mut forward = edges(plan, &order.forward.0, &order.forward.1);
    forward.extend(edges(plan, &order.loss.0, order.loss.1.as_slice()));
    let backward = edges(plan, &order.backward.0, &order.backward.1);
    let mut out = String::new();
    let title = escape(&plan.network.spec());
    out.push_str("digraph network {\n");
    let _ = writeln!(
        out,
        "  label=\"{title}\"; labelloc=t; rankdir=LR; fontname=\"sans-serif\";"
    );
    out.push_str(
        "  node [fontname=\"sans-serif\"]; edge [fontname=\"sans-serif\", fontsize=10];\n",
    );
    let mut declared = BTreeSet::new();
    for (name, title, edges) in [
        ("forward", "forward pass", &forward),
        ("backward", "backward pass (derived)", &backward),
    ] {
        let _ = writeln!(out, "  subgraph cluster_{name} {{\n    label=\"{title}\";");
        for e in edges.iter() {
            node(&mut out, plan, &e.to, "    ", &mut declared);
        }
        out.push_str("  }\n");
    }
    for e in forward.iter().chain(&backward) {
        node(&mut out, plan, &e.from, "  ", &mut declared);
    }
    for e in forward.iter().chain(&backward) {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"];",
            id(&e.from),
            id(&e.to),
            escape(&e.label)
        );
    }
    out.push_str("}\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A stable node identifier for a tensor or adjoint.
fn id(r: &Ref) -> String {
    format!("{}{}", r.var.ascii(), if r.adjoint { "_bar" } else { "" })
}

/// `r` as a whole tensor, without indices.
fn whole(r: &Ref) -> Ref {
    Ref {
        ix: Vec::new(),
        ..r.clone()
    }
}

/// Declares the node of `r` once: its name and shape, its shape on the page by its role.
fn node(out: &mut String, plan: &Plan, r: &Ref, indent: &str, declared: &mut BTreeSet<String>) {
    if !declared.insert(id(r)) {
        return;
    }
    let tensor = plan.derived.program.tensor(r.var);
    let role = tensor.map(|t| t.role);
    let shape = match (r.adjoint, role) {
        (false, Some(Role::Param | Role::Input | Role::Target)) => "box",
        (false, Some(Role::Loss)) => "doublecircle",
        _ => "ellipse",
    };
    let style = if r.adjoint {
        ", style=filled, fillcolor=\"#e8eefc\""
    } else if role == Some(Role::Target) {
        ", style=filled, fillcolor=\"#fdf1d8\""
    } else {
        ""
    };
    let dims: Vec<String> = tensor
        .map(|t| t.shape.iter().map(|d| dim_text(*d)).collect())
        .unwrap_or_default();
    let size = if dims.is_empty() {
        "scalar".to_owned()
    } else {
        shape_text(&dims)
    };
    let name = match role {
        Some(Role::Target) if !r.adjoint => format!("targets {}", matrix_name(r, Style::Text)),
        _ => matrix_name(r, Style::Text),
    };
    let _ = writeln!(
        out,
        "{indent}\"{}\" [label=\"{} · {size}\", shape={shape}{style}];",
        id(r),
        escape(&name)
    );
}

fn dim_text(d: Dim) -> String {
    match d {
        Dim::Batch => "batch".to_owned(),
        Dim::Fixed(n) => n.to_string(),
    }
}

/// The edges of one pass over `eqs`, each labelled with what computes its equation.
fn edges(plan: &Plan, layout: &Layout<'_>, eqs: &[&Equation]) -> Vec<Edge> {
    let mut out = Vec::new();
    for (eq, then) in statements(layout, eqs.iter().copied()) {
        let product = match &layout.lowering.of(eq).kernel {
            Kernel::Gemm {
                a,
                b,
                contracted,
                bias,
            } => Some(Product {
                eq,
                a,
                b,
                k: *contracted,
                bias: bias.as_ref(),
            }),
            _ => None,
        };
        // Emission tries to unroll every product first, in this order, from the same budget.
        let unrolled = product.as_ref().is_some_and(|p| {
            super::small::unrolls(dims(layout, p), p.bias.is_some(), &layout.unroll)
        });
        out.extend(reads(plan, layout, eq, How::Alone, unrolled));
        if let Some(then) = then {
            let how = if unrolled { How::Alone } else { How::Epilogue };
            out.extend(reads(plan, layout, then, how, false));
        }
    }
    out
}

/// The edges into `eq`'s result, one per tensor it reads.
fn reads(plan: &Plan, layout: &Layout<'_>, eq: &Equation, how: How, unrolled: bool) -> Vec<Edge> {
    let kernel = &layout.lowering.of(eq).kernel;
    let meaning = meaning(plan, eq);
    let label = |r: &Ref| -> String {
        let base = match kernel {
            Kernel::Gemm { bias: Some(b), .. } if b.var == r.var && !r.adjoint => {
                if unrolled {
                    "broadcast add (unrolled)".to_owned()
                } else {
                    "broadcast add (GEMM epilogue)".to_owned()
                }
            }
            Kernel::Gemm { .. } if unrolled => "unrolled product".to_owned(),
            Kernel::Gemm { .. } => "GEMM".to_owned(),
            Kernel::BatchSum { .. } => "batch sum".to_owned(),
            Kernel::Elementwise => meaning.clone().unwrap_or_else(|| "elementwise".to_owned()),
            Kernel::RowWise | Kernel::Loop => {
                let kind = if *kernel == Kernel::RowWise {
                    "row-wise"
                } else {
                    "loop"
                };
                match &meaning {
                    Some(m) => format!("{m} ({kind})"),
                    None => kind.to_owned(),
                }
            }
        };
        match how {
            How::Epilogue => format!("{base} (GEMM epilogue)"),
            How::Alone => base,
        }
    };
    inputs(eq)
        .into_iter()
        .map(|from| Edge {
            label: label(&from),
            from,
            to: whole(&eq.lhs),
        })
        .collect()
}

/// What `eq` computes, in the network's words: a layer's activation (`relu`), its derivative
/// (`relu′`), the loss (`nll`) or the loss's derivative (`nll′`); `None` for anything else.
fn meaning(plan: &Plan, eq: &Equation) -> Option<String> {
    let loss = plan.network.loss.name();
    let lhs = eq.lhs.var;
    if lhs == crate::autodiff::forward::L {
        return Some(format!("{loss} loss"));
    }
    if eq.lhs.adjoint && reads_targets(eq) {
        return Some(format!("{loss}′"));
    }
    let activation = |var: Var| -> Option<&Activation> {
        let k = usize::from(var.layer?).checked_sub(1)?;
        let a = &plan.network.layers.get(k)?.activation;
        (!matches!(a, Activation::Identity)).then_some(a)
    };
    match (lhs.letter, eq.lhs.adjoint) {
        ('a', false) => activation(lhs).map(|a| a.name().to_owned()),
        ('z', true) => activation(lhs).map(|a| format!("{}′", a.name())),
        _ => None,
    }
}

/// Whether `eq` reads the targets: as a tensor, or as the class label of a sample (`tₙ`).
fn reads_targets(eq: &Equation) -> bool {
    let label = |ix: &[Ix]| ix.iter().any(|x| matches!(x, Ix::Label(_)));
    eq.rhs.any(&|e| match e {
        Expr::Ref(r) => r.var == T || label(&r.ix),
        Expr::Delta(p, q) => label(&[*p, *q]),
        Expr::Softmax { at, .. } => label(&[*at]),
        _ => false,
    })
}

/// The tensors an equation reads, once each, the targets included when it reads a label.
fn inputs(eq: &Equation) -> BTreeSet<Ref> {
    let mut out = BTreeSet::new();
    eq.rhs.visit(&mut |e| {
        if let Expr::Ref(r) = e {
            out.insert(whole(r));
        }
    });
    if reads_targets(eq) {
        out.insert(Ref {
            var: T,
            adjoint: false,
            ix: Vec::new(),
        });
    }
    out
}
