//! The metadata of a checkpoint: the network, the training state's counts and the
//! preprocessing of the inputs, as safetensors metadata (strings).
//!
//! The standardization is stored as two JSON arrays, `mlp.standardize.mean` and
//! `mlp.standardize.std`, each value written as the shortest decimal that reads back as the
//! same `f32`. Metadata rather than tensors: PyTorch's `load_state_dict` (strict by default)
//! refuses tensors that are not parameters, and these statistics are not; in Python they read
//! as `json.loads(safe_open(path, "pt").metadata()["mlp.standardize.mean"])`.
//!
//! The class names of a classifier trained on named labels are `mlp.classes`, a JSON array of
//! strings (JSON, so that a name may hold any character): name `k` is class `k`.

use super::Training;
use crate::optim::State;
use crate::train::dataset::{Preprocessing, Standardization};
use std::collections::HashMap;

const MEAN: &str = "mlp.standardize.mean";
const STD: &str = "mlp.standardize.std";
const CLASSES: &str = "mlp.classes";

/// The metadata of a checkpoint of network `spec`.
pub(super) fn write(
    spec: &str,
    training: Option<&Training>,
    preprocessing: &Preprocessing,
) -> HashMap<String, String> {
    let mut metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("mlp.spec".to_string(), spec.to_string()),
    ]);
    if let Some(tr) = training {
        metadata.insert("mlp.epoch".into(), tr.epoch.to_string());
        metadata.insert("mlp.position".into(), tr.position.to_string());
        metadata.insert("mlp.ranks".into(), tr.ranks.to_string());
        metadata.insert("mlp.optimizer.step".into(), tr.optimizer.step.to_string());
    }
    if let Some(s) = &preprocessing.standardization {
        metadata.insert(MEAN.into(), array(&s.mean));
        metadata.insert(STD.into(), array(&s.std));
    }
    if let Some(names) = &preprocessing.classes {
        let json = serde_json::to_string(names).expect("strings always encode");
        metadata.insert(CLASSES.into(), json);
    }
    metadata
}

/// The class names in `metadata` (none when it records none), checked: distinct, not empty,
/// one per output of a network of `outputs` outputs.
pub(super) fn classes(
    metadata: &HashMap<String, String>,
    outputs: usize,
    problems: &mut Vec<String>,
) -> Option<Vec<String>> {
    let text = metadata.get(CLASSES)?;
    let Ok(names) = serde_json::from_str::<Vec<String>>(text) else {
        problems.push(format!(
            "metadata `{CLASSES}` must be a JSON array of strings"
        ));
        return None;
    };
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort();
    let problem = if names.len() != outputs {
        format!(
            "names {} classes, the network has {outputs} outputs",
            names.len()
        )
    } else if names.iter().any(String::is_empty) {
        "holds an empty name".to_string()
    } else if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        format!("names `{}` twice", w[0])
    } else {
        return Some(names);
    };
    problems.push(format!("metadata `{CLASSES}` {problem}"));
    None
}

/// The numbers of a JSON array of numbers, each read straight into an `f32` (through an
/// `f64`, a JSON reader could round twice).
fn numbers(text: &str) -> Option<Vec<f32>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
    if inner.is_empty() {
        return Some(Vec::new());
    }
    inner.split(',').map(|v| v.trim().parse().ok()).collect()
}

fn array(values: &[f32]) -> String {
    let items: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("[{}]", items.join(","))
}

/// The training state in `metadata`, with the optimizer's `buffers`.
pub(super) fn training(
    metadata: &HashMap<String, String>,
    buffers: Vec<(String, Vec<f32>)>,
    problems: &mut Vec<String>,
) -> Option<Training> {
    let number = |key: &str| -> Option<Result<u64, String>> {
        metadata.get(key).map(|v| {
            v.parse::<u64>()
                .map_err(|_| format!("metadata `{key}` is `{v}`, not a count"))
        })
    };
    // Written since data-parallel training; a file without them is from one process and was
    // written at the end of an epoch.
    let position = number("mlp.position").unwrap_or(Ok(0));
    let ranks = number("mlp.ranks").unwrap_or(Ok(1));
    match (
        number("mlp.epoch"),
        number("mlp.optimizer.step"),
        position,
        ranks,
    ) {
        (Some(Ok(epoch)), Some(Ok(step)), Ok(position), Ok(ranks)) => Some(Training {
            epoch,
            position,
            ranks,
            optimizer: State { step, buffers },
        }),
        (Some(Err(e)), _, _, _)
        | (_, Some(Err(e)), _, _)
        | (_, _, Err(e), _)
        | (_, _, _, Err(e)) => {
            problems.push(e);
            None
        }
        (None, None, _, _) if buffers.is_empty() => None,
        _ => {
            problems.push(
                "a training checkpoint needs both `mlp.epoch` and `mlp.optimizer.step`".into(),
            );
            None
        }
    }
}

/// The preprocessing in `metadata`, checked against a network of `inputs` inputs.
pub(super) fn preprocessing(
    metadata: &HashMap<String, String>,
    inputs: usize,
    problems: &mut Vec<String>,
) -> Preprocessing {
    let (mean, std) = match (metadata.get(MEAN), metadata.get(STD)) {
        (None, None) => return Preprocessing::default(),
        (Some(mean), Some(std)) => (mean, std),
        _ => {
            problems.push(format!("the metadata needs both `{MEAN}` and `{STD}`"));
            return Preprocessing::default();
        }
    };
    let mut values = |key: &str, text: &str, positive: bool| -> Option<Vec<f32>> {
        let parsed = numbers(text);
        let ok = parsed.as_ref().is_some_and(|v| {
            v.len() == inputs && v.iter().all(|x| x.is_finite() && (!positive || *x > 0.0))
        });
        if !ok {
            let kind = if positive { "positive" } else { "finite" };
            problems.push(format!(
                "metadata `{key}` must be a JSON array of {inputs} {kind} numbers"
            ));
        }
        parsed.filter(|_| ok)
    };
    let mean = values(MEAN, mean, false);
    let std = values(STD, std, true);
    match (mean, std) {
        (Some(mean), Some(std)) => Preprocessing::standardize(Standardization { mean, std }),
        _ => Preprocessing::default(),
    }
}
