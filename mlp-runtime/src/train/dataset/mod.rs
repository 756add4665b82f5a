//! Datasets in memory: inputs with class labels or target values, read from IDX or CSV
//! ([`read_csv`]); seeded shuffling, batching (with a final partial batch), train/validation
//! split and normalization, and the [`Preprocessing`] a checkpoint records.

mod csv;
mod set;

pub use csv::{CsvOptions, CsvTargets, Header, LabelColumn, read_csv, read_csv_with};
pub use set::{Batch, Dataset, Preprocessing, Standardization, Targets};
