//! A validated network described for a person: layers, shapes, parameters, FLOPs.

use crate::model::network::{Activation, Network};
use std::fmt::Write;

/// Floating-point operations per sample of the matrix products, counting a multiply-add as 2.
/// Element-wise work (bias, activation, loss) is not counted; it is a few percent at most for
/// layers wider than a handful of units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flops {
    /// Forward: `2·in·out` per layer.
    pub forward: u64,
    /// Backward: `2·in·out` per layer for the weight gradient, plus `2·in·out` per layer but
    /// the first for the gradient with respect to its input.
    pub backward: u64,
}

/// The FLOPs of one sample through `net`.
pub fn flops(net: &Network) -> Flops {
    let product = |l: &crate::model::network::Layer| 2 * l.inputs as u64 * l.units as u64;
    let forward: u64 = net.layers.iter().map(product).sum();
    let input_grads: u64 = net.layers.iter().skip(1).map(product).sum();
    Flops {
        forward,
        backward: forward + input_grads,
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The table `mlp check` prints.
pub fn describe(net: &Network) -> String {
    let mut out = String::new();
    let w = &mut out;
    // Writing to a String cannot fail.
    let _ = writeln!(w, "network      {}", net);
    for c in net.custom_activations() {
        let _ = writeln!(w, "activation   {}(x) = {}", c.name, c.formula);
    }
    let _ = writeln!(
        w,
        "loss         {}: {}; mean over the batch",
        net.loss,
        net.loss.meaning()
    );
    let _ = writeln!(w);
    let rows: Vec<[String; 6]> = net
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let act = match &l.activation {
                Activation::Identity => "linear".to_owned(),
                a => a.to_string(),
            };
            [
                (i + 1).to_string(),
                format!("{} → {}", l.inputs, l.units),
                act,
                if l.bias { "yes" } else { "no" }.to_owned(),
                thousands((l.inputs * l.units) as u64),
                thousands(l.params() as u64),
            ]
        })
        .collect();
    let header = ["layer", "shape", "activation", "bias", "weights", "params"];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |w: &mut String, cells: [&str; 6]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            let pad = width - cell.chars().count();
            if i >= 4 {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            }
            text.push_str("  ");
        }
        let _ = writeln!(w, "{}", text.trim_end());
    };
    line(w, header);
    for row in &rows {
        line(w, [&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]);
    }
    let f = flops(net);
    let _ = writeln!(w);
    let _ = writeln!(w, "parameters   {}", thousands(net.params() as u64));
    let _ = writeln!(
        w,
        "FLOPs/sample forward {}, backward {} (matrix products; element-wise work not counted)",
        thousands(f.forward),
        thousands(f.backward)
    );
    out
}
