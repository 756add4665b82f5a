//! The names the language knows: built-in activations and losses, and the "did you mean"
//! suggestion for a misspelled one. The parser's hints and the validator's errors share them.

use crate::model::network::Loss;

/// The built-in activations, as written.
pub const BUILTIN_ACTIVATIONS: [&str; 9] = [
    "relu",
    "leaky_relu",
    "elu",
    "sigmoid",
    "tanh",
    "softplus",
    "silu",
    "gelu",
    "softmax",
];

/// Is `word` the name of a built-in activation?
pub fn is_activation_name(word: &str) -> bool {
    BUILTIN_ACTIVATIONS.contains(&word)
}

/// Is `word` the name of a loss?
pub fn is_loss_name(word: &str) -> bool {
    Loss::from_name(word).is_some()
}

/// `" (did you mean `relu`?)"` when a candidate is close to `word`, else `""`.
pub(crate) fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, c), c))
        .filter(|(d, c)| *d <= 2.max(word.len() / 3) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}
