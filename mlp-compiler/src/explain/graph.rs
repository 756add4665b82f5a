//! The network and its backward data flow as Graphviz DOT: one node per tensor (inputs and
//! parameters as boxes, forward values as ellipses, adjoints shaded), one edge per use of a
//! tensor in an equation, each equation's kernel on the edges into its result; the forward
//! pass and the backward pass in two clusters. `mlp graph SPEC | dot -Tsvg > net.svg`.

use crate::autodiff::forward::Role;
use crate::autodiff::reverse::Derived;
use crate::ir::notation::{Style, matrix_name};
use crate::ir::{Equation, Expr, Ref};
use crate::lower::{Kernel, Lowering};
use std::collections::BTreeSet;
use std::fmt::Write;

/// A stable node identifier for a tensor or adjoint.
fn id(r: &Ref) -> String {
    format!("{}{}", r.var.ascii(), if r.adjoint { "_bar" } else { "" })
}

fn whole(r: &Ref) -> Ref {
    Ref {
        ix: Vec::new(),
        ..r.clone()
    }
}

/// The tensors an equation reads, once each.
fn inputs(eq: &Equation) -> BTreeSet<Ref> {
    let mut out = BTreeSet::new();
    eq.rhs.visit(&mut |e| {
        if let Expr::Ref(r) = e {
            out.insert(whole(r));
        }
    });
    out
}

fn kernel_name(k: &Kernel) -> &'static str {
    match k {
        Kernel::Gemm { .. } => "GEMM",
        Kernel::BatchSum { .. } => "column sums",
        Kernel::Elementwise => "elementwise",
        Kernel::RowWise => "row-wise",
        Kernel::Loop => "loop",
    }
}

/// The DOT text of `derived`'s forward and backward data flow, titled `spec`, each edge
/// labelled with the kernel `lowering` found for its equation.
pub fn dot(derived: &Derived, lowering: &Lowering, spec: &str) -> String {
    let program = &derived.program;
    let mut out = String::new();
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    writeln!(out, "digraph network {{").unwrap();
    writeln!(out, "  label=\"{}\"; labelloc=t; rankdir=LR;", escape(spec)).unwrap();
    writeln!(
        out,
        "  node [fontname=\"sans-serif\"]; edge [fontname=\"sans-serif\", fontsize=10];"
    )
    .unwrap();
    let mut declared = BTreeSet::new();
    let mut node = |out: &mut String, r: &Ref, indent: &str| {
        if !declared.insert(id(r)) {
            return;
        }
        let role = program.tensor(r.var).map(|t| t.role);
        let shape = match (r.adjoint, role) {
            (false, Some(Role::Param | Role::Input | Role::Target)) => "box",
            (false, Some(Role::Loss)) => "doublecircle",
            _ => "ellipse",
        };
        let style = if r.adjoint {
            ", style=filled, fillcolor=\"#e8eefc\""
        } else {
            ""
        };
        let label = if r.var.letter == 't' && !r.adjoint {
            "targets".to_string()
        } else {
            matrix_name(r, Style::Text)
        };
        writeln!(
            out,
            "{indent}\"{}\" [label=\"{}\", shape={shape}{style}];",
            id(r),
            escape(&label)
        )
        .unwrap();
    };
    let mut edges = String::new();
    let mut cluster = |out: &mut String, name: &str, title: &str, eqs: &[&Equation]| {
        writeln!(out, "  subgraph cluster_{name} {{\n    label=\"{title}\";").unwrap();
        for eq in eqs {
            node(out, &whole(&eq.lhs), "    ");
        }
        writeln!(out, "  }}").unwrap();
        for eq in eqs {
            let kernel = kernel_name(&lowering.of(eq).kernel);
            for r in inputs(eq) {
                node(out, &r, "  ");
                writeln!(
                    edges,
                    "  \"{}\" -> \"{}\" [label=\"{kernel}\"];",
                    id(&r),
                    id(&eq.lhs)
                )
                .unwrap();
            }
        }
    };
    let forward: Vec<&Equation> = derived.forward.iter().collect();
    // The backward pass the generated code runs: the adjoints the gradient needs.
    let backward: Vec<&Equation> = derived.live_adjoints();
    cluster(&mut out, "forward", "forward pass", &forward);
    cluster(&mut out, "backward", "backward pass (derived)", &backward);
    out.push_str(&edges);
    out.push_str("}\n");
    out
}
