//! Checkpoints in safetensors, with PyTorch `nn.Sequential` state_dict names (`0.weight`,
//! `0.bias`, `2.weight`, …: linear layers at even indices, as in `nn.Sequential(Linear, ReLU,
//! Linear, …)`), so that a model trained here loads in PyTorch
//! (`model.load_state_dict(safetensors.torch.load_file(path))`) and the reverse.
//!
//! A training checkpoint adds the optimizer's buffers as `optimizer.<name>` tensors (one value
//! per parameter, flat) and the epoch and step in the metadata; PyTorch users drop those keys.
//! Loading checks every tensor's name, shape and dtype against the network and reports each
//! mismatch by name. Writing is atomic: a temporary file in the same folder, fsync, rename,
//! fsync of the folder, so that a crash leaves the old checkpoint or the new one, never half.

use crate::optim::State;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
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
    /// One line per problem (a missing or unexpected tensor, a wrong shape or dtype, an I/O or
    /// format error).
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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Training {
    /// Epochs completed.
    pub epoch: u64,
    /// The optimizer's state.
    pub optimizer: State,
}

/// A checkpoint read back: the parameters in state_dict order, and the training state if it
/// was saved.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The parameters, flat, in the order of the layout.
    pub params: Vec<f32>,
    /// Epoch and optimizer state, in a training checkpoint.
    pub training: Option<Training>,
    /// The network the file says it holds (`mlp.spec` in the metadata), if it says.
    pub spec: Option<String>,
}

fn bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes `params` (laid out as `layout`, flat) and, if given, the training state to `path`,
/// atomically.
pub fn save(
    path: &Path,
    layout: &[Tensor],
    spec: &str,
    params: &[f32],
    training: Option<&Training>,
) -> Result<(), CheckpointError> {
    let total: usize = layout
        .iter()
        .map(|t| t.shape.iter().product::<usize>())
        .sum();
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
    let mut metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("mlp.spec".to_string(), spec.to_string()),
    ]);
    if let Some(tr) = training {
        metadata.insert("mlp.epoch".into(), tr.epoch.to_string());
        metadata.insert("mlp.optimizer.step".into(), tr.optimizer.step.to_string());
        for (name, values) in &tr.optimizer.buffers {
            owned.push((
                format!("optimizer.{name}"),
                vec![values.len()],
                bytes(values),
            ));
        }
    }
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

/// Writes `data` to a temporary file beside `path`, syncs it, renames it over `path` and syncs
/// the folder.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<(), CheckpointError> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| error(path, "the path names no file"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = folder.join(tmp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the folder is synced (not possible on every platform).
        if let Ok(dir) = std::fs::File::open(&folder) {
            let _ = dir.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        error(path, format!("cannot write: {e}"))
    })
}

/// Reads a checkpoint for a network laid out as `layout`. Every tensor of the layout must be
/// present as F32 with its shape; anything else (apart from `optimizer.*` tensors) is reported.
pub fn load(path: &Path, layout: &[Tensor]) -> Result<Loaded, CheckpointError> {
    let buffer = std::fs::read(path).map_err(|e| error(path, format!("cannot read: {e}")))?;
    let file = SafeTensors::deserialize(&buffer)
        .map_err(|e| error(path, format!("not a safetensors file: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&buffer)
        .map_err(|e| error(path, format!("not a safetensors file: {e}")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let mut problems = Vec::new();
    let mut params = Vec::new();
    for t in layout {
        match file.tensor(t.name) {
            Err(_) => problems.push(format!(
                "`{}` is missing (expected shape {:?})",
                t.name, t.shape
            )),
            Ok(view) => {
                if view.dtype() != Dtype::F32 {
                    problems.push(format!("`{}` is {:?}, expected F32", t.name, view.dtype()));
                } else if view.shape() != t.shape {
                    problems.push(format!(
                        "`{}` has shape {:?}, expected {:?}",
                        t.name,
                        view.shape(),
                        t.shape
                    ));
                } else {
                    params.extend(floats(view.data()));
                }
            }
        }
    }
    let mut buffers = Vec::new();
    let mut names = file.names();
    names.sort();
    for name in names {
        if let Some(buffer) = name.strip_prefix("optimizer.") {
            let view = file.tensor(name).expect("listed");
            if view.dtype() != Dtype::F32 || view.shape().len() != 1 {
                problems.push(format!("`{name}` must be a flat F32 tensor"));
            } else {
                buffers.push((buffer.to_string(), floats(view.data()).collect()));
            }
        } else if !layout.iter().any(|t| t.name == name) {
            problems.push(format!("unexpected tensor `{name}`"));
        }
    }
    let number = |key: &str| -> Option<Result<u64, String>> {
        metadata.get(key).map(|v| {
            v.parse::<u64>()
                .map_err(|_| format!("metadata `{key}` is `{v}`, not a count"))
        })
    };
    let training = match (number("mlp.epoch"), number("mlp.optimizer.step")) {
        (Some(Ok(epoch)), Some(Ok(step))) => Some(Training {
            epoch,
            optimizer: State { step, buffers },
        }),
        (Some(Err(e)), _) | (_, Some(Err(e))) => {
            problems.push(e);
            None
        }
        (None, None) if buffers.is_empty() => None,
        _ => {
            problems.push(
                "a training checkpoint needs both `mlp.epoch` and `mlp.optimizer.step`".into(),
            );
            None
        }
    };
    if !problems.is_empty() {
        return Err(CheckpointError {
            path: path.to_path_buf(),
            problems,
        });
    }
    Ok(Loaded {
        params,
        training,
        spec: metadata.get("mlp.spec").cloned(),
    })
}

fn floats(data: &[u8]) -> impl Iterator<Item = f32> + '_ {
    data.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
