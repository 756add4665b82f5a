//! Datasets in memory: inputs with class labels or target values, read from IDX or CSV;
//! seeded shuffling, batching (with a final partial batch), train/validation split and
//! normalization.

use crate::data::{DataError, Labeled};
use crate::init::Rng;
use std::path::Path;

/// What each sample is trained towards.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// A class index per sample (for `nll`).
    Labels(Vec<u32>),
    /// `width` values per sample (for `mse`, `bce`, `ce`).
    Values {
        /// The values, row-major.
        values: Vec<f32>,
        /// Values per sample.
        width: usize,
    },
}

/// Samples in memory: `width` input values each, and their targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// The inputs, row-major.
    pub inputs: Vec<f32>,
    /// Input values per sample.
    pub width: usize,
    /// The targets.
    pub targets: Targets,
}

/// Per-feature statistics of a training set, to normalize other sets the same way.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardization {
    /// Mean of each input feature.
    pub mean: Vec<f32>,
    /// Standard deviation of each input feature (1 where it is 0).
    pub std: Vec<f32>,
}

impl From<Labeled> for Dataset {
    fn from(l: Labeled) -> Self {
        Dataset {
            inputs: l.images,
            width: l.width,
            targets: Targets::Labels(l.labels),
        }
    }
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.inputs.len().checked_div(self.width).unwrap_or(0)
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sample order of epoch `epoch` (from 0): the previous epoch's order reshuffled by
    /// `Rng::new(seed + epoch + 1)`, starting from the identity (the main job's order since it
    /// was first written). It depends on `seed` and `epoch` alone, so a run resumed at an
    /// epoch sees the same order as an uninterrupted one.
    pub fn order(&self, seed: u64, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        for e in 0..=epoch {
            Rng::new(seed.wrapping_add(e + 1)).shuffle(&mut order);
        }
        order
    }

    /// Splits off a validation set: `fraction` of the samples, drawn by a seeded shuffle;
    /// returns `(train, validation)`.
    pub fn split(&self, fraction: f32, seed: u64) -> (Dataset, Dataset) {
        assert!(
            (0.0..1.0).contains(&fraction),
            "the validation fraction must be in [0, 1), found {fraction}"
        );
        let mut order: Vec<usize> = (0..self.len()).collect();
        Rng::new(seed).shuffle(&mut order);
        let held = ((self.len() as f64) * fraction as f64).round() as usize;
        let (val, train) = order.split_at(held);
        (self.select(train), self.select(val))
    }

    /// The samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let mut batch = Batch::default();
        batch.fill(self, indices);
        Dataset {
            inputs: batch.inputs.to_vec(),
            width: self.width,
            targets: match &self.targets {
                Targets::Labels(_) => Targets::Labels(batch.labels),
                Targets::Values { width, .. } => Targets::Values {
                    values: batch.values,
                    width: *width,
                },
            },
        }
    }

    /// Multiplies every input by `factor` (pixels / 255: `scale(1.0 / 255.0)`).
    pub fn scale(&mut self, factor: f32) {
        self.inputs.iter_mut().for_each(|v| *v *= factor);
    }

    /// The per-feature mean and standard deviation of the inputs.
    pub fn statistics(&self) -> Standardization {
        let (n, w) = (self.len().max(1) as f64, self.width);
        let mut mean = vec![0.0f64; w];
        let mut sq = vec![0.0f64; w];
        for row in self.inputs.chunks_exact(w) {
            for ((m, s), v) in mean.iter_mut().zip(&mut sq).zip(row) {
                *m += *v as f64;
                *s += (*v as f64) * (*v as f64);
            }
        }
        let mean: Vec<f64> = mean.iter().map(|m| m / n).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let sd = (s / n - m * m).max(0.0).sqrt();
                if sd > 0.0 { sd as f32 } else { 1.0 }
            })
            .collect();
        Standardization {
            mean: mean.iter().map(|m| *m as f32).collect(),
            std,
        }
    }

    /// Subtracts `s.mean` from each feature and divides by `s.std` (statistics of the training
    /// set, applied to every set).
    pub fn standardize(&mut self, s: &Standardization) {
        assert_eq!(s.mean.len(), self.width, "statistics of another width");
        for row in self.inputs.chunks_exact_mut(self.width) {
            for ((v, m), sd) in row.iter_mut().zip(&s.mean).zip(&s.std) {
                *v = (*v - m) / sd;
            }
        }
    }
}

/// One batch, in buffers reused from batch to batch (no allocation once they have grown).
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// The inputs, row-major, starting on a cache line.
    pub inputs: crate::Aligned,
    /// The labels (for a labeled set).
    pub labels: Vec<u32>,
    /// The target values (for a set with values).
    pub values: Vec<f32>,
}

impl Batch {
    /// Copies the samples at `indices` of `data` into the buffers.
    pub fn fill(&mut self, data: &Dataset, indices: &[usize]) {
        self.inputs.clear();
        self.labels.clear();
        self.values.clear();
        for &k in indices {
            self.inputs
                .extend_from_slice(&data.inputs[k * data.width..(k + 1) * data.width]);
            match &data.targets {
                Targets::Labels(l) => self.labels.push(l[k]),
                Targets::Values { values, width } => self
                    .values
                    .extend_from_slice(&values[k * width..(k + 1) * width]),
            }
        }
    }

    /// Samples in the batch.
    pub fn len(&self, width: usize) -> usize {
        self.inputs.len() / width
    }
}

/// Which CSV column holds the label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelColumn {
    /// The first column (MNIST in CSV: `label, pixel0, …`).
    First,
    /// The last column.
    Last,
}

/// How to read a CSV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvTargets {
    /// One integer class label per row, in this column.
    Label(LabelColumn),
    /// The last `n` columns are target values.
    LastValues(usize),
    /// Every column is an input (data to predict on).
    None,
}

/// Reads a CSV file of numbers: every row the same number of fields, an optional header row
/// (a first row that is not all numbers), targets as `targets` says. Errors name the file and
/// the line (and column) of the problem.
pub fn read_csv(path: &Path, targets: CsvTargets) -> Result<Dataset, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError {
        path: path.to_owned(),
        offset: None,
        message: format!("cannot read the file: {e}"),
    })?;
    let err = |line: usize, message: String| DataError {
        path: path.to_owned(),
        offset: None,
        message: format!("line {line}: {message}"),
    };
    let mut inputs = Vec::new();
    let mut labels = Vec::new();
    let mut values = Vec::new();
    let mut fields_per_row = None;
    for (k, line) in text.lines().enumerate() {
        let number = k + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let parsed: Vec<Result<f32, usize>> = fields
            .iter()
            .enumerate()
            .map(|(c, f)| f.parse::<f32>().map_err(|_| c))
            .collect();
        if k == 0 && parsed.iter().any(|p| p.is_err()) {
            continue; // a header
        }
        let expected = *fields_per_row.get_or_insert(fields.len());
        if fields.len() != expected {
            return Err(err(
                number,
                format!("{} fields, expected {expected}", fields.len()),
            ));
        }
        let mut row = Vec::with_capacity(fields.len());
        for (c, p) in parsed.into_iter().enumerate() {
            match p {
                Ok(v) if v.is_finite() => row.push(v),
                _ => {
                    return Err(err(
                        number,
                        format!("column {}: `{}` is not a finite number", c + 1, fields[c]),
                    ));
                }
            }
        }
        match targets {
            CsvTargets::Label(column) => {
                let (at, v) = match column {
                    LabelColumn::First => (0, row.remove(0)),
                    LabelColumn::Last => (row.len() - 1, row.pop().expect("a field")),
                };
                if v < 0.0 || v.fract() != 0.0 || v > u32::MAX as f32 {
                    return Err(err(
                        number,
                        format!(
                            "column {}: label `{}` is not a class index",
                            at + 1,
                            fields[at]
                        ),
                    ));
                }
                labels.push(v as u32);
            }
            CsvTargets::None => {}
            CsvTargets::LastValues(n) => {
                if n == 0 || n >= row.len() {
                    return Err(err(
                        number,
                        format!(
                            "{} fields cannot hold {n} target values and an input",
                            row.len()
                        ),
                    ));
                }
                values.extend(row.drain(row.len() - n..));
            }
        }
        inputs.extend(row);
    }
    let Some(fields) = fields_per_row else {
        return Err(DataError {
            path: path.to_owned(),
            offset: None,
            message: "no data rows".into(),
        });
    };
    let (width, targets) = match targets {
        CsvTargets::Label(_) => (fields - 1, Targets::Labels(labels)),
        CsvTargets::LastValues(n) => (fields - n, Targets::Values { values, width: n }),
        CsvTargets::None => (fields, Targets::Values { values, width: 0 }),
    };
    Ok(Dataset {
        inputs,
        width,
        targets,
    })
}
