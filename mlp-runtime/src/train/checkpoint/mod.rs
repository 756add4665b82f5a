//! Checkpoints in safetensors, with PyTorch `nn.Sequential` state_dict names (`0.weight`,
//! `0.bias`, `2.weight`, …: linear layers at even indices, as in `nn.Sequential(Linear, ReLU,
//! Linear, …)`), so that a model trained here loads in PyTorch
//! (`model.load_state_dict(safetensors.torch.load_file(path))`) and the reverse.
//!
//! A training checkpoint adds the optimizer's buffers as `optimizer.<name>` tensors (one value
//! per parameter, flat) and the epoch and step in the metadata; PyTorch users drop those keys.
//! The metadata also holds the network (`mlp.spec`), the preprocessing of its inputs and the
//! names of its classes ([`Preprocessing`]). Loading reads the header first and no more than it promises, checks
//! the network against `mlp.spec` when the file has it, every tensor's name, shape and dtype
//! against the network, every value for being finite, and every optimizer buffer's length
//! against the parameters, and reports each problem by name. Writing is atomic: a temporary
//! file in the same folder, fsync, rename, fsync of the folder, so that a crash leaves the old
//! checkpoint or the new one, never half; the temporary files of writes that were killed are
//! removed by the next write.

mod convert;
mod meta;
mod read;
mod write;

pub use write::write_atomically;

use crate::optim::State;
use crate::train::dataset::Preprocessing;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::fmt;
use std::path::{Path, PathBuf};

/// One parameter tensor as a PyTorch state_dict names and shapes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tensor {
    /// `0.weight`, `0.bias`, `2.weight`, …
    pub name: &'static str,
    /// `[out, in]` for a weight, `[out]` for a bias.
    pub shape: &'static [usize],
}

/// What went wrong with a checkpoint file: its path and every problem found.
#[derive(Debug)]
pub struct CheckpointError {
    /// The file.
    pub path: PathBuf,
    /// One line per problem (a missing or unexpected tensor, a wrong shape or dtype, a value
    /// that is not finite, another network, an I/O or format error).
    pub problems: Vec<String>,
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "checkpoint {}: {}",
            self.path.display(),
            self.problems.join("; ")
        )
    }
}

impl std::error::Error for CheckpointError {}

fn error(path: &Path, problem: impl Into<String>) -> CheckpointError {
    CheckpointError {
        path: path.to_path_buf(),
        problems: vec![problem.into()],
    }
}

/// What a training checkpoint holds besides the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Training {
    /// Epochs completed.
    pub epoch: u64,
    /// Steps of the next epoch already taken (0 at the end of an epoch; more in a checkpoint
    /// written on an interrupt, from which a run resumes at the next step).
    pub position: u64,
    /// How many processes trained (data-parallel ranks; 1 for one process).
    pub ranks: u64,
    /// The optimizer's state.
    pub optimizer: State,
}

impl Default for Training {
    /// Before the first step, on one process.
    fn default() -> Self {
        Training {
            epoch: 0,
            position: 0,
            ranks: 1,
            optimizer: State::default(),
        }
    }
}

/// A checkpoint read back: the parameters in state_dict order, the training state if it was
/// saved, and what the metadata says.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The parameters, flat, in the order of the layout.
    pub params: Vec<f32>,
    /// Epoch and optimizer state, in a training checkpoint.
    pub training: Option<Training>,
    /// The network the file says it holds (`mlp.spec` in the metadata), if it says.
    pub spec: Option<String>,
    /// How the network's inputs were preprocessed in training (none for a file that does not
    /// say).
    pub preprocessing: Preprocessing,
}

fn bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Values in a layout: the sum of its tensors' sizes.
fn total(layout: &[Tensor]) -> usize {
    layout
        .iter()
        .map(|t| t.shape.iter().product::<usize>())
        .sum()
}

/// Writes `params` (laid out as `layout`, flat), the preprocessing and, if given, the training
/// state to `path`, atomically.
///
/// # Panics
/// If `params` is not as long as the layout (generated code never calls it so).
pub fn save(
    path: &Path,
    layout: &[Tensor],
    spec: &str,
    params: &[f32],
    training: Option<&Training>,
    preprocessing: &Preprocessing,
) -> Result<(), CheckpointError> {
    let total = total(layout);
    assert_eq!(
        params.len(),
        total,
        "{} parameters for a layout of {total}",
        params.len()
    );
    let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut at = 0;
    for t in layout {
        let n: usize = t.shape.iter().product();
        owned.push((
            t.name.to_string(),
            t.shape.to_vec(),
            bytes(&params[at..at + n]),
        ));
        at += n;
    }
    if let Some(tr) = training {
        for (name, values) in &tr.optimizer.buffers {
            owned.push((
                format!("optimizer.{name}"),
                vec![values.len()],
                bytes(values),
            ));
        }
    }
    let metadata = meta::write(spec, training, preprocessing);
    let views: Vec<(String, TensorView<'_>)> = owned
        .iter()
        .map(|(name, shape, data)| {
            let view = TensorView::new(Dtype::F32, shape.clone(), data)
                .expect("the sizes were computed from the shapes");
            (name.clone(), view)
        })
        .collect();
    let buffer = safetensors::serialize(views, Some(metadata))
        .map_err(|e| error(path, format!("cannot encode: {e}")))?;
    write_atomically(path, &buffer)
}

/// Reads a checkpoint for network `spec` laid out as `layout`. A file that names another
/// network in `mlp.spec` is refused, naming both; a file without `mlp.spec` (written by
/// PyTorch) is read. Every tensor of the layout must be present with its shape and finite
/// values, as F32 (F64, F16 and BF16 are converted, with a note on standard error), under its
/// name or, in a wrapped module's state_dict, under one common prefix (`net.`, `module.`:
/// matched when exactly one prefix fits, with a note); a torch.save file is named as one; `optimizer.*` tensors must be flat, finite and as long as the parameters;
/// anything else is reported.
pub fn load(path: &Path, layout: &[Tensor], spec: &str) -> Result<Loaded, CheckpointError> {
    let buffer = read::read(path)?;
    let file = SafeTensors::deserialize(&buffer)
        .map_err(|e| error(path, format!("not a safetensors file: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&buffer)
        .map_err(|e| error(path, format!("not a safetensors file: {e}")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let mut problems = Vec::new();
    let stored = metadata.get("mlp.spec").cloned();
    if let Some(stored) = stored.as_ref().filter(|s| *s != spec) {
        problems.push(format!("it holds the network `{stored}`, not `{spec}`"));
    }
    let names: Vec<&str> = layout.iter().map(|t| t.name).collect();
    let prefix = convert::prefix(&file, &names);
    let mut notes = Vec::new();
    if !prefix.is_empty() {
        notes.push(format!(
            "its tensors are named `{prefix}…`: matched without `{prefix}`"
        ));
    }
    let params = parameters(&file, layout, &prefix, &mut problems, &mut notes);
    let buffers = buffers(&file, layout, &prefix, &mut problems);
    let training = meta::training(&metadata, buffers, &mut problems);
    let inputs = layout
        .first()
        .map_or(0, |t| t.shape.last().copied().unwrap_or(0));
    let mut preprocessing = meta::preprocessing(&metadata, inputs, &mut problems);
    let outputs = layout
        .last()
        .map_or(0, |t| t.shape.first().copied().unwrap_or(0));
    preprocessing.classes = meta::classes(&metadata, outputs, &mut problems);
    if !problems.is_empty() {
        return Err(CheckpointError {
            path: path.to_path_buf(),
            problems,
        });
    }
    for note in notes {
        eprintln!("note: checkpoint {}: {note}", path.display());
    }
    Ok(Loaded {
        params,
        training,
        spec: stored,
        preprocessing,
    })
}

/// The parameters of `layout` in `file` (named with `prefix` there), each tensor checked;
/// tensors in another floating-point type are converted, with a note.
fn parameters(
    file: &SafeTensors<'_>,
    layout: &[Tensor],
    prefix: &str,
    problems: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Vec<f32> {
    let mut params = Vec::new();
    let mut converted = Vec::new();
    for t in layout {
        let name = format!("{prefix}{}", t.name);
        let Ok(view) = file.tensor(&name) else {
            problems.push(format!(
                "`{}` is missing (expected shape {:?})",
                t.name, t.shape
            ));
            continue;
        };
        if view.shape() != t.shape {
            problems.push(format!(
                "`{name}` has shape {:?}, expected {:?}",
                view.shape(),
                t.shape
            ));
            continue;
        }
        match convert::floats(view.dtype(), view.data()) {
            None => problems.push(format!("`{name}` is {:?}, expected F32", view.dtype())),
            Some((values, was)) => {
                if was {
                    converted.push(format!("{:?}", view.dtype()));
                }
                finite(&name, &values, problems);
                params.extend(values);
            }
        }
    }
    if !converted.is_empty() {
        converted.dedup();
        notes.push(format!("{} tensors converted to F32", converted.join(", ")));
    }
    params
}

/// The optimizer buffers in `file` (`optimizer.NAME` → `NAME`), each checked; other tensors
/// that are not in `layout` are reported.
fn buffers(
    file: &SafeTensors<'_>,
    layout: &[Tensor],
    prefix: &str,
    problems: &mut Vec<String>,
) -> Vec<(String, Vec<f32>)> {
    let params = total(layout);
    let mut buffers = Vec::new();
    let mut names = file.names();
    names.sort();
    for name in names {
        let Some(buffer) = name.strip_prefix("optimizer.") else {
            if !layout.iter().any(|t| format!("{prefix}{}", t.name) == name) {
                problems.push(format!("unexpected tensor `{name}`"));
            }
            continue;
        };
        let view = file.tensor(name).expect("listed");
        if view.dtype() != Dtype::F32 || view.shape().len() != 1 {
            problems.push(format!("`{name}` must be a flat F32 tensor"));
        } else if view.shape()[0] != params {
            problems.push(format!(
                "`{name}` has {} values, the network has {params} parameters",
                view.shape()[0]
            ));
        } else {
            let values: Vec<f32> = floats(view.data()).collect();
            finite(name, &values, problems);
            buffers.push((buffer.to_string(), values));
        }
    }
    buffers
}

/// Reports the first value of tensor `name` that is not finite.
fn finite(name: &str, values: &[f32], problems: &mut Vec<String>) {
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        let bad = values.iter().filter(|v| !v.is_finite()).count();
        problems.push(format!(
            "`{name}` holds {bad} values that are not finite (value {k} is {})",
            values[k]
        ));
    }
}

fn floats(data: &[u8]) -> impl Iterator<Item = f32> + '_ {
    data.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
