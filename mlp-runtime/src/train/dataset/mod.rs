//! Datasets in memory: inputs with class labels or target values, read from IDX or CSV
//! ([`read_csv`]), class names mapped to indices ([`read_csv_classes`]); seeded shuffling,
//! batching (with a final partial batch), train/validation split and normalization, and the
//! [`Preprocessing`] a checkpoint records.

mod csv;
mod labels;
mod set;

pub use csv::{
    CsvOptions, CsvTargets, Header, LabelColumn, read_csv, read_csv_classes, read_csv_with,
};
pub use labels::{ClassNames, LabelOrder};
pub use set::{Batch, Dataset, Preprocessing, Standardization, Targets};
