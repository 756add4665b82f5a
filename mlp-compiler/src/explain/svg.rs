//! The data flow as an SVG drawing, for the HTML page: the forward values in a row from the
//! input to the loss, each layer's parameters above the value they feed, the adjoints the
//! gradient needs below their values, and the parameters' gradients under those; an arrow for
//! each tensor an equation reads (the forward values the backward pass reads are left out, so
//! that the two passes read apart).

use crate::autodiff::forward::Role;
use crate::autodiff::reverse::Derived;
use crate::ir::notation::{Style, matrix_name};
use crate::ir::{Equation, Expr, Ref, Var};
use std::fmt::Write;

const COLUMN: f64 = 96.0;
const ROW: f64 = 70.0;
const WIDTH: f64 = 58.0;
const HEIGHT: f64 = 28.0;

/// A node: the tensor or adjoint, and where it is drawn (column, row).
struct Node {
    r: Ref,
    at: (f64, f64),
}

fn whole(var: Var, adjoint: bool) -> Ref {
    Ref {
        var,
        adjoint,
        ix: Vec::new(),
    }
}

/// The nodes: forward values on row 1, each layer's weights and bias side by side on row 0
/// above their consumer, adjoints on row 2, the parameters' gradients on row 3.
fn nodes(derived: &Derived, backward: &[&Equation]) -> Vec<Node> {
    let program = &derived.program;
    let mut out: Vec<Node> = Vec::new();
    let column = |out: &[Node], v: Var| {
        out.iter()
            .find(|n| n.r.var == v && !n.r.adjoint)
            .map(|n| n.at.0)
    };
    out.push(Node {
        r: whole(crate::autodiff::forward::X, false),
        at: (0.0, 1.0),
    });
    for (k, eq) in program.forward.iter().enumerate() {
        let col = k as f64 + 1.0;
        out.push(Node {
            r: whole(eq.lhs.var, false),
            at: (col, 1.0),
        });
        eq.rhs.visit(&mut |e| {
            if let Expr::Ref(r) = e
                && program.tensor(r.var).is_some_and(|t| t.role == Role::Param)
                && column(&out, r.var).is_none()
            {
                let side = if r.var.letter == 'W' { -0.33 } else { 0.33 };
                out.push(Node {
                    r: whole(r.var, false),
                    at: (col + side, 0.0),
                });
            }
        });
    }
    for eq in backward {
        let v = eq.lhs.var;
        let Some(at) = out
            .iter()
            .find(|n| n.r.var == v && !n.r.adjoint)
            .map(|n| n.at)
        else {
            continue;
        };
        let row = if at.1 < 1.0 { 3.0 } else { 2.0 };
        out.push(Node {
            r: whole(v, true),
            at: (at.0, row),
        });
    }
    out
}

/// The SVG drawing of `derived`'s forward pass and the backward pass the gradient needs.
pub fn svg(derived: &Derived) -> String {
    let backward = derived.live_adjoints();
    let nodes = nodes(derived, &backward);
    let center = |n: &Node| {
        (
            20.0 + WIDTH / 2.0 + n.at.0 * COLUMN,
            20.0 + HEIGHT / 2.0 + n.at.1 * ROW,
        )
    };
    let find = |r: &Ref| {
        nodes
            .iter()
            .find(|n| n.r.var == r.var && n.r.adjoint == r.adjoint)
    };
    let columns = nodes.iter().map(|n| n.at.0).fold(0.0, f64::max) + 1.0;
    let (w, h) = (40.0 + columns * COLUMN, 40.0 + 4.0 * ROW);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"flow\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" font-family=\"serif\" font-size=\"15\">\
<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#666\"/></marker></defs>"
    );
    let forward = derived.program.forward.iter().map(|e| (e, false));
    for (eq, backward) in forward.chain(backward.iter().map(|e| (*e, true))) {
        let Some(to) = find(&whole(eq.lhs.var, backward)) else {
            continue;
        };
        let mut read: Vec<Ref> = Vec::new();
        eq.rhs.visit(&mut |e| {
            if let Expr::Ref(r) = e
                && r.adjoint == backward
                && !read.iter().any(|x| x.var == r.var)
            {
                read.push(whole(r.var, r.adjoint));
            }
        });
        for from in read.iter().filter_map(find) {
            let ((x1, y1), (x2, y2)) = (center(from), center(to));
            // From edge to edge of the boxes, along the line between their centers.
            let (dx, dy) = (x2 - x1, y2 - y1);
            let scale = |t: f64| {
                let s =
                    ((WIDTH / 2.0) / dx.abs().max(1e-9)).min((HEIGHT / 2.0) / dy.abs().max(1e-9));
                t * s.min(0.5)
            };
            let color = if backward { "#3060c0" } else { "#555" };
            let _ = writeln!(
                out,
                "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{color}\" marker-end=\"url(#arrow)\"/>",
                x1 + scale(dx),
                y1 + scale(dy),
                x2 - scale(dx),
                y2 - scale(dy)
            );
        }
    }
    for n in &nodes {
        let (x, y) = center(n);
        let fill = if n.r.adjoint { "#e8eefc" } else { "#fff" };
        let label = matrix_name(&n.r, Style::Text);
        let _ = writeln!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" rx=\"6\" fill=\"{fill}\" stroke=\"#444\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x - WIDTH / 2.0,
            y - HEIGHT / 2.0,
            y + 5.0,
            super::html::escape(&label)
        );
    }
    out.push_str("</svg>\n");
    out
}
