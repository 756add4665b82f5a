//! Class labels as a CSV file writes them: class indices (`0`, `1`, …) or class names
//! (`setosa`, `versicolor`, …). Names become indices in sorted order (scikit-learn's
//! `LabelEncoder`) or in the order the file first writes them ([`LabelOrder`]), or as a
//! checkpoint recorded them ([`ClassNames::Recorded`]). A column holds indices or names, never
//! both: which, its first label decides, and a label of the other kind is an error naming its
//! line and value.

use std::collections::HashMap;

/// The order in which class names become class indices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LabelOrder {
    /// Sorted by their bytes (as scikit-learn's `LabelEncoder`): the same names give the same
    /// indices, whatever the order of the rows.
    #[default]
    Sorted,
    /// In the order the file first writes them.
    FirstSeen,
}

impl LabelOrder {
    /// Reads `sorted` or `first-seen` (the value of `--label-order`).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "sorted" => Ok(LabelOrder::Sorted),
            "first-seen" => Ok(LabelOrder::FirstSeen),
            other => Err(format!(
                "--label-order must be sorted or first-seen, found `{other}`"
            )),
        }
    }
}

/// How class names in a label column become class indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassNames<'a> {
    /// Mapped anew, in this order (training from scratch).
    New(LabelOrder),
    /// As a checkpoint recorded them: name `k` is class `k`; a name not among them is an
    /// error naming it.
    Recorded(&'a [String]),
    /// None expected (a checkpoint trained on class indices): a name is an error.
    Refused,
}

/// The kind of a label column, as its first label showed it.
#[derive(Clone, Debug)]
struct First {
    line: usize,
    text: String,
    name: bool,
}

/// The labels of a file as they are read, row by row.
#[derive(Debug)]
pub(super) struct Labels<'a> {
    names: ClassNames<'a>,
    first: Option<First>,
    /// A class index per row (for new names: the index in first-seen order until `finish`).
    indices: Vec<u32>,
    /// New names in first-seen order, and their index in it.
    seen: Vec<String>,
    lookup: HashMap<String, u32>,
}

impl<'a> Labels<'a> {
    /// No labels yet; names to be mapped as `names` says.
    pub fn new(names: ClassNames<'a>) -> Self {
        Labels {
            names,
            first: None,
            indices: Vec::new(),
            seen: Vec::new(),
            lookup: HashMap::new(),
        }
    }

    /// Adds the label `field` of line `line`, in column `column` (from 1); `classes`, if
    /// given, bounds a class index. The error is a message without the line's number.
    pub fn push(
        &mut self,
        line: usize,
        column: usize,
        field: &str,
        classes: Option<u32>,
    ) -> Result<(), String> {
        if field.is_empty() {
            return Err(format!("column {column}: the label is empty"));
        }
        let number = field.parse::<f32>().ok();
        let first = self.first.get_or_insert_with(|| First {
            line,
            text: field.to_string(),
            name: number.is_none(),
        });
        if first.name != number.is_none() {
            let (this, that) = match first.name {
                true => ("a class index", "a class name"),
                false => ("a class name", "a class index"),
            };
            return Err(format!(
                "column {column}: label `{field}` is {this}, but the label on line {} (`{}`) is {that}: \
                 a label column holds class indices or class names, not both",
                first.line, first.text
            ));
        }
        let index = match number {
            Some(v) => index(column, field, v, classes)?,
            None => self.name(column, field)?,
        };
        self.indices.push(index);
        Ok(())
    }

    /// The class index of name `field`.
    fn name(&mut self, column: usize, field: &str) -> Result<u32, String> {
        match self.names {
            ClassNames::Refused => Err(format!(
                "column {column}: label `{field}` is a class name, but the checkpoint records no \
                 class names (it was trained on class indices)"
            )),
            ClassNames::Recorded(names) => match names.iter().position(|n| n == field) {
                Some(k) => Ok(k as u32),
                None => Err(format!(
                    "column {column}: label `{field}` is not a class of the checkpoint ({})",
                    listed(names)
                )),
            },
            ClassNames::New(_) => {
                if let Some(&k) = self.lookup.get(field) {
                    return Ok(k);
                }
                let k = self.seen.len() as u32;
                self.seen.push(field.to_string());
                self.lookup.insert(field.to_string(), k);
                Ok(k)
            }
        }
    }

    /// The class index of every row and, when the labels were names, the class names (name
    /// `k` is class `k`). New names must be exactly `classes` when that is given.
    pub fn finish(self, classes: Option<u32>) -> Result<(Vec<u32>, Option<Vec<String>>), String> {
        let named = self.first.as_ref().is_some_and(|f| f.name);
        match self.names {
            _ if !named => Ok((self.indices, None)),
            ClassNames::Recorded(names) => Ok((self.indices, Some(names.to_vec()))),
            ClassNames::Refused => Ok((self.indices, None)),
            ClassNames::New(order) => {
                let (indices, names) = ordered(self.indices, self.seen, order);
                let found = names.len();
                if let Some(classes) = classes.filter(|&c| c as usize != found) {
                    return Err(format!(
                        "the label column names {found} class{} ({}), the network has {classes} outputs",
                        if found == 1 { "" } else { "es" },
                        listed(&names)
                    ));
                }
                Ok((indices, Some(names)))
            }
        }
    }
}

/// `indices` into `seen` (first-seen order) renumbered for `order`, with the names in it.
fn ordered(mut indices: Vec<u32>, seen: Vec<String>, order: LabelOrder) -> (Vec<u32>, Vec<String>) {
    if order == LabelOrder::FirstSeen {
        return (indices, seen);
    }
    let mut sorted: Vec<usize> = (0..seen.len()).collect();
    sorted.sort_by(|&a, &b| seen[a].cmp(&seen[b]));
    let mut rank = vec![0u32; seen.len()];
    for (r, &k) in sorted.iter().enumerate() {
        rank[k] = r as u32;
    }
    indices.iter_mut().for_each(|i| *i = rank[*i as usize]);
    let names = sorted.iter().map(|&k| seen[k].clone()).collect();
    (indices, names)
}

/// A class index written as the number `v` (the text `field`), checked against `classes`.
fn index(column: usize, field: &str, v: f32, classes: Option<u32>) -> Result<u32, String> {
    if v < 0.0 || v.fract() != 0.0 || v > u32::MAX as f32 {
        return Err(format!(
            "column {column}: label `{field}` is not a class index"
        ));
    }
    let label = v as u32;
    match classes {
        Some(classes) if label >= classes => Err(format!(
            "column {column}: label {label} is out of range: the network has {classes} classes (0 to {})",
            classes.saturating_sub(1)
        )),
        _ => Ok(label),
    }
}

/// Names for a message: the first few, and how many more.
fn listed(names: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text: Vec<String> = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
    if names.len() > SHOWN {
        text.push(format!("and {} more", names.len() - SHOWN));
    }
    text.join(", ")
}

#[cfg(test)]
mod tests {
    use super::{ClassNames, LabelOrder, Labels};

    /// The labels of `fields` (lines 1, 2, …, column 5) mapped as `names` says.
    fn read(
        fields: &[&str],
        names: ClassNames<'_>,
        classes: Option<u32>,
    ) -> Result<(Vec<u32>, Option<Vec<String>>), String> {
        let mut labels = Labels::new(names);
        for (k, f) in fields.iter().enumerate() {
            labels
                .push(k + 1, 5, f, classes)
                .map_err(|e| format!("line {}: {e}", k + 1))?;
        }
        labels.finish(classes)
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    const IRIS: [&str; 5] = ["virginica", "setosa", "versicolor", "setosa", "virginica"];

    #[test]
    fn names_are_sorted_by_default() {
        let (indices, names) = read(&IRIS, ClassNames::New(LabelOrder::Sorted), Some(3)).unwrap();
        assert_eq!(indices, [2, 0, 1, 0, 2]);
        assert_eq!(
            names.unwrap(),
            strings(&["setosa", "versicolor", "virginica"])
        );
    }

    #[test]
    fn names_keep_first_seen_order_when_asked() {
        let order = LabelOrder::parse("first-seen").unwrap();
        let (indices, names) = read(&IRIS, ClassNames::New(order), Some(3)).unwrap();
        assert_eq!(indices, [0, 1, 2, 1, 0]);
        assert_eq!(
            names.unwrap(),
            strings(&["virginica", "setosa", "versicolor"])
        );
        let err = LabelOrder::parse("alphabetical").unwrap_err();
        assert!(err.contains("sorted or first-seen"), "{err}");
    }

    #[test]
    fn indices_stay_indices() {
        let (indices, names) = read(
            &["2", "0", "1"],
            ClassNames::New(LabelOrder::Sorted),
            Some(3),
        )
        .unwrap();
        assert_eq!((indices, names), (vec![2, 0, 1], None));
        let err = read(&["2", "3"], ClassNames::New(LabelOrder::Sorted), Some(3)).unwrap_err();
        assert!(
            err.contains("line 2: column 5: label 3 is out of range: the network has 3 classes"),
            "{err}"
        );
    }

    #[test]
    fn indices_and_names_mixed_are_an_error_naming_line_and_value() {
        let new = ClassNames::New(LabelOrder::Sorted);
        let err = read(&["setosa", "versicolor", "1"], new, None).unwrap_err();
        assert!(
            err.contains(
                "line 3: column 5: label `1` is a class index, but the label on line 1 (`setosa`) is a class name"
            ),
            "{err}"
        );
        let err = read(&["0", "setosa"], new, None).unwrap_err();
        assert!(
            err.contains("line 2: column 5: label `setosa` is a class name, but the label on line 1 (`0`) is a class index"),
            "{err}"
        );
        let err = read(&["setosa", ""], new, None).unwrap_err();
        assert!(
            err.contains("line 2: column 5: the label is empty"),
            "{err}"
        );
    }

    #[test]
    fn the_class_count_must_match_the_outputs() {
        let new = ClassNames::New(LabelOrder::Sorted);
        let err = read(&["b", "a", "b"], new, Some(3)).unwrap_err();
        assert!(
            err.contains("the label column names 2 classes (`a`, `b`), the network has 3 outputs"),
            "{err}"
        );
        let many: Vec<String> = (0..10).map(|k| format!("c{k}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let err = read(&many, new, Some(3)).unwrap_err();
        assert!(err.contains("names 10 classes (`c0`, "), "{err}");
        assert!(err.contains("`c7`, and 2 more"), "{err}");
    }

    #[test]
    fn recorded_names_map_and_refuse_unknown_ones() {
        let recorded = strings(&["setosa", "versicolor", "virginica"]);
        let (indices, names) = read(
            &["virginica", "setosa"],
            ClassNames::Recorded(&recorded),
            Some(3),
        )
        .unwrap();
        assert_eq!(indices, [2, 0]);
        assert_eq!(names.unwrap(), recorded);
        let err = read(
            &["setosa", "rosa"],
            ClassNames::Recorded(&recorded),
            Some(3),
        )
        .unwrap_err();
        assert!(
            err.contains("line 2: column 5: label `rosa` is not a class of the checkpoint (`setosa`, `versicolor`, `virginica`)"),
            "{err}"
        );
        let err = read(&["setosa"], ClassNames::Refused, Some(3)).unwrap_err();
        assert!(
            err.contains("the checkpoint records no class names"),
            "{err}"
        );
        // Indices still read against a checkpoint that records names.
        let (indices, _) = read(&["1"], ClassNames::Recorded(&recorded), Some(3)).unwrap();
        assert_eq!(indices, [1]);
    }
}
