//! CSV files of numbers read into a [`Dataset`], with errors that name the file and the line.
//!
//! The rules: lines end with `\n` (a `\r` before it is dropped); blank lines are skipped; a
//! UTF-8 byte-order mark at the start is skipped; fields are separated by commas and trimmed;
//! every row has as many fields as the first. Whether the first row is a header is
//! [`Header`]'s choice: by default ([`Header::Auto`]) it is a header exactly when none of its
//! fields is a number, so that a first data row with a typo (`O.2`) is an error, not a header
//! silently dropped. A label column holds class indices, checked against the class count
//! when one is given, or class names, mapped to indices as [`ClassNames`] says.

use super::labels::{ClassNames, LabelOrder, Labels};
use super::set::{Dataset, Targets};
use crate::train::data::DataError;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The longest line read (16 MiB): a row of over a million values. A file without line
/// breaks (`/dev/zero`) is an error after that much, not a read until memory runs out.
const MAX_LINE: usize = 16 << 20;

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
    /// One class label per row, in this column: a class index, or a class name (see
    /// [`read_csv_classes`]).
    Label(LabelColumn),
    /// The last `n` columns are target values.
    LastValues(usize),
    /// Every column is an input (data to predict on).
    None,
}

/// Whether the first row names the columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Header {
    /// A header exactly when none of the first row's fields is a number.
    #[default]
    Auto,
    /// The first row is a header, whatever it holds.
    Present,
    /// Every row is data.
    Absent,
}

/// Everything [`read_csv_with`] needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// Where the targets are.
    pub targets: CsvTargets,
    /// Whether the first row is a header.
    pub header: Header,
    /// For labels: the number of classes; a label outside `0..classes` is an error naming its
    /// line, and new class names must be exactly this many.
    pub classes: Option<u32>,
}

impl CsvOptions {
    /// Targets as `targets` says, the header detected, labels not range-checked.
    pub fn new(targets: CsvTargets) -> Self {
        CsvOptions {
            targets,
            header: Header::Auto,
            classes: None,
        }
    }
}

/// Reads a CSV file of numbers with targets as `targets` says and the header detected
/// ([`Header::Auto`]); see [`read_csv_with`].
pub fn read_csv(path: &Path, targets: CsvTargets) -> Result<Dataset, DataError> {
    read_csv_with(path, &CsvOptions::new(targets))
}

/// Reads a CSV file of numbers by the rules of this module, class names in sorted order (see
/// [`read_csv_classes`] for the names). Errors name the file and the line (and column) of the
/// problem.
pub fn read_csv_with(path: &Path, options: &CsvOptions) -> Result<Dataset, DataError> {
    let names = ClassNames::New(LabelOrder::Sorted);
    read_csv_classes(path, options, names).map(|(data, _)| data)
}

/// Reads a CSV file as [`read_csv_with`] does, class names in a label column mapped to indices
/// as `names` says; returns the samples and, when the labels were names, the class names
/// (name `k` is class `k`), which a checkpoint records ([`super::Preprocessing::classes`]).
pub fn read_csv_classes(
    path: &Path,
    options: &CsvOptions,
    names: ClassNames<'_>,
) -> Result<(Dataset, Option<Vec<String>>), DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError {
        path: path.to_owned(),
        offset: None,
        message: format!("cannot read the file: {e}"),
    })?;
    let mut rows = Rows {
        path,
        options,
        started: false,
        fields: None,
        inputs: Vec::new(),
        labels: Labels::new(names),
        values: Vec::new(),
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut number = 0;
    while next_line(&mut reader, &mut line).map_err(|m| rows.error(number + 1, m))? {
        number += 1;
        let text = std::str::from_utf8(&line).map_err(|e| {
            let at = e.valid_up_to() + 1;
            rows.error(number, format!("byte {at} of the line is not UTF-8 text"))
        })?;
        let text = if number == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        rows.add(number, text)?;
    }
    rows.finish()
}

/// Reads the next line into `line`, without its `\n` or `\r\n`; false at the end of the file.
fn next_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> Result<bool, String> {
    line.clear();
    let read = reader
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', line)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if read == 0 {
        return Ok(false);
    }
    if line.len() > MAX_LINE {
        return Err(format!("the line is longer than {MAX_LINE} bytes"));
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    Ok(true)
}

/// The rows read so far.
struct Rows<'a, 'n> {
    path: &'a Path,
    options: &'a CsvOptions,
    /// Whether a line other than a blank one was read (the first may be a header).
    started: bool,
    /// Fields per row, once the first data row is read.
    fields: Option<usize>,
    inputs: Vec<f32>,
    labels: Labels<'n>,
    values: Vec<f32>,
}

impl Rows<'_, '_> {
    fn error(&self, line: usize, message: String) -> DataError {
        DataError {
            path: self.path.to_owned(),
            offset: None,
            message: format!("line {line}: {message}"),
        }
    }

    /// Reads line `number` (from 1), unless it is blank or the header.
    fn add(&mut self, number: usize, line: &str) -> Result<(), DataError> {
        if line.trim().is_empty() {
            return Ok(());
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let first = !self.started;
        self.started = true;
        if first && self.is_header(&fields) {
            return Ok(());
        }
        let expected = *self.fields.get_or_insert(fields.len());
        if fields.len() != expected {
            let found = fields.len();
            return Err(self.error(number, format!("{found} fields, expected {expected}")));
        }
        let label = self.label_column(number, fields.len())?;
        let mut row = Vec::with_capacity(fields.len());
        for (c, field) in fields.iter().enumerate() {
            match field.parse::<f32>() {
                _ if Some(c) == label => {}
                Ok(v) if v.is_finite() => row.push(v),
                _ => {
                    let hint = if first && self.options.header == Header::Auto {
                        " (a first row is a header only when none of its fields is a number)"
                    } else {
                        ""
                    };
                    let what = match field.is_empty() {
                        true => "the field is empty".to_string(),
                        false => format!("`{field}` is not a finite number"),
                    };
                    let message = format!("column {}: {what}{hint}", c + 1);
                    return Err(self.error(number, message));
                }
            }
        }
        self.targets(number, &fields, row, label)
    }

    /// The column (from 0) of the label in a row of `fields` fields, if the rows have labels.
    fn label_column(&self, number: usize, fields: usize) -> Result<Option<usize>, DataError> {
        match self.options.targets {
            CsvTargets::Label(_) if fields < 2 => {
                let message = "1 field cannot hold a label and an input".to_string();
                Err(self.error(number, message))
            }
            CsvTargets::Label(LabelColumn::First) => Ok(Some(0)),
            CsvTargets::Label(LabelColumn::Last) => Ok(Some(fields - 1)),
            _ => Ok(None),
        }
    }

    fn is_header(&self, fields: &[&str]) -> bool {
        match self.options.header {
            Header::Present => true,
            Header::Absent => false,
            Header::Auto => fields.iter().all(|f| f.parse::<f32>().is_err()),
        }
    }

    /// Splits a data row into inputs (`row`, the numbers of the fields but the label) and
    /// targets (the label in field `label`, or the row's last values).
    fn targets(
        &mut self,
        number: usize,
        fields: &[&str],
        mut row: Vec<f32>,
        label: Option<usize>,
    ) -> Result<(), DataError> {
        match self.options.targets {
            CsvTargets::Label(_) => {
                let at = label.unwrap_or(0);
                let classes = self.options.classes;
                let pushed = self.labels.push(number, at + 1, fields[at], classes);
                pushed.map_err(|m| self.error(number, m))?;
            }
            CsvTargets::None => {}
            CsvTargets::LastValues(n) => {
                if n == 0 || n >= row.len() {
                    let message = format!(
                        "{} fields cannot hold {n} target values and an input",
                        row.len()
                    );
                    return Err(self.error(number, message));
                }
                self.values.extend(row.drain(row.len() - n..));
            }
        }
        self.inputs.extend(row);
        Ok(())
    }

    fn finish(self) -> Result<(Dataset, Option<Vec<String>>), DataError> {
        let fail = |message: String| DataError {
            path: self.path.to_owned(),
            offset: None,
            message,
        };
        let Some(fields) = self.fields else {
            return Err(fail("no data rows".into()));
        };
        let (labels, names) = self.labels.finish(self.options.classes).map_err(fail)?;
        let (width, targets) = match self.options.targets {
            CsvTargets::Label(_) => (fields - 1, Targets::Labels(labels)),
            CsvTargets::LastValues(n) => (
                fields - n,
                Targets::Values {
                    values: self.values,
                    width: n,
                },
            ),
            CsvTargets::None => (
                fields,
                Targets::Values {
                    values: self.values,
                    width: 0,
                },
            ),
        };
        let data = Dataset {
            inputs: self.inputs,
            width,
            targets,
        };
        Ok((data, names))
    }
}
