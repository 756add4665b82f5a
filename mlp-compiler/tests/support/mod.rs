//! Random network specs for the property tests.

/// Every activation as a layer writes it (`""` is linear; `custom` is the spec's own `act`).
pub const ACTIVATIONS: &[&str] = &[
    "",
    "relu",
    "leaky_relu",
    "leaky_relu(0.2)",
    "elu",
    "elu(0.5)",
    "sigmoid",
    "tanh",
    "softplus",
    "silu",
    "gelu",
    "softmax",
    "custom",
];

/// Every loss.
pub const LOSSES: &[&str] = &["nll", "ce", "mse", "bce", "l2"];

/// A valid spec: `custom` defined by `formula`, the layers as (activation index, units, bias),
/// adjusted where the loss requires (two classes for `nll`/`ce`, no final activation the loss
/// applies itself) and where softmax does (two units: over one it is constant).
pub fn spec_text(
    formula: &str,
    inputs: usize,
    layers: &[(usize, usize, bool)],
    loss: usize,
) -> String {
    let loss = LOSSES[loss % LOSSES.len()];
    let last = layers.len() - 1;
    let mut text = format!("act custom(x) = {formula}; {inputs}");
    for (k, &(act, units, bias)) in layers.iter().enumerate() {
        let mut act = ACTIVATIONS[act % ACTIVATIONS.len()];
        let mut units = units;
        if (k == last && matches!(loss, "nll" | "ce")) || act == "softmax" {
            units = units.max(2);
        }
        if k == last && matches!(loss, "nll" | "ce" | "bce") && matches!(act, "softmax" | "sigmoid")
        {
            act = "";
        }
        text += &format!(" -> {act} {units}{}", if bias { "" } else { " no_bias" });
    }
    text + &format!(" : {loss}")
}
