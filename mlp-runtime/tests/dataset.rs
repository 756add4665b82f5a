//! CSV reading with errors that name the line, seeded orders, splits, batches and
//! normalization.

use mlp_runtime::dataset::{
    Batch, ClassNames, CsvOptions, CsvTargets, Dataset, Header, LabelColumn, LabelOrder,
    Preprocessing, Targets, read_csv, read_csv_classes, read_csv_with,
};
use std::path::PathBuf;

fn file(name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mlp-dataset-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn labels_last() -> CsvTargets {
    CsvTargets::Label(LabelColumn::Last)
}

#[test]
fn csv_with_labels_and_a_header() {
    let path = file("first.csv", "label,a,b\n2, 0.5, 1\n0,-1,3.25\n\n1,0,0\n");
    let d = read_csv(&path, CsvTargets::Label(LabelColumn::First)).unwrap();
    assert_eq!(d.width, 2);
    assert_eq!(d.inputs, [0.5, 1.0, -1.0, 3.25, 0.0, 0.0]);
    assert_eq!(d.targets, Targets::Labels(vec![2, 0, 1]));
    let path = file("last.csv", "0.5,1,2\n-1,3.25,0\n");
    let d = read_csv(&path, CsvTargets::Label(LabelColumn::Last)).unwrap();
    assert_eq!((d.len(), d.width), (2, 2));
    assert_eq!(d.targets, Targets::Labels(vec![2, 0]));
}

#[test]
fn csv_with_target_values() {
    let path = file("values.csv", "x1,x2,y1,y2\n1,2,0.1,0.2\n3,4,0.3,0.4\n");
    let d = read_csv(&path, CsvTargets::LastValues(2)).unwrap();
    assert_eq!(d.inputs, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(
        d.targets,
        Targets::Values {
            values: vec![0.1, 0.2, 0.3, 0.4],
            width: 2
        }
    );
}

#[test]
fn csv_errors_name_file_and_line() {
    let cases = [
        ("short.csv", "1,2,3\n4,5\n", "line 2: 2 fields, expected 3"),
        (
            "word.csv",
            "1,2,3\n4,five,6\n",
            "line 2: column 2: `five` is not a finite number",
        ),
        (
            "nan.csv",
            "1,2,3\n4,NaN,6\n",
            "line 2: column 2: `NaN` is not a finite number",
        ),
        (
            "label.csv",
            "1.5,2,3\n",
            "line 1: column 1: label `1.5` is not a class index",
        ),
        (
            "neg.csv",
            "a,b\n-1,2\n",
            "line 2: column 1: label `-1` is not a class index",
        ),
        ("empty.csv", "a,b\n", "no data rows"),
    ];
    for (name, text, want) in cases {
        let path = file(name, text);
        let err = read_csv(&path, CsvTargets::Label(LabelColumn::First))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{name}: {err}");
        assert!(
            err.contains(name),
            "{name}: the error names the file: {err}"
        );
    }
    let path = file("narrow.csv", "1,2\n");
    let err = read_csv(&path, CsvTargets::LastValues(2))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot hold 2 target values"), "{err}");
    let err = read_csv(
        &PathBuf::from("/nonexistent/x.csv"),
        CsvTargets::LastValues(1),
    )
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x.csv"), "{err}");
}

fn labeled(n: usize) -> Dataset {
    Dataset {
        inputs: (0..n * 3).map(|v| v as f32).collect(),
        width: 3,
        targets: Targets::Labels((0..n as u32).collect()),
    }
}

#[test]
fn orders_are_seeded_permutations() {
    let d = labeled(100);
    let a = d.order(7, 0);
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    assert_eq!(a, d.order(7, 0));
    assert_ne!(a, d.order(7, 1));
    assert_ne!(a, d.order(8, 0));
}

#[test]
fn split_is_disjoint_and_complete() {
    let d = labeled(50);
    let (train, val) = d.split(0.2, 3);
    assert_eq!((train.len(), val.len()), (40, 10));
    let mut all: Vec<u32> = match (&train.targets, &val.targets) {
        (Targets::Labels(a), Targets::Labels(b)) => a.iter().chain(b).copied().collect(),
        _ => unreachable!(),
    };
    all.sort();
    assert_eq!(all, (0..50).collect::<Vec<_>>());
    // Inputs travel with their labels.
    if let Targets::Labels(l) = &val.targets {
        for (k, label) in l.iter().enumerate() {
            assert_eq!(val.inputs[k * 3], (*label * 3) as f32);
        }
    }
}

#[test]
fn batches_end_with_a_partial_one() {
    let d = labeled(10);
    let order = d.order(1, 0);
    let mut batch = Batch::default();
    let sizes: Vec<usize> = order
        .chunks(4)
        .map(|idx| {
            batch.fill(&d, idx);
            assert_eq!(
                batch.labels,
                idx.iter().map(|k| *k as u32).collect::<Vec<_>>()
            );
            batch.len(d.width)
        })
        .collect();
    assert_eq!(sizes, [4, 4, 2]);
}

#[test]
fn standardization_uses_training_statistics() {
    let mut train = Dataset {
        inputs: vec![1.0, 10.0, 3.0, 10.0, 5.0, 10.0],
        width: 2,
        targets: Targets::Labels(vec![0, 1, 0]),
    };
    let s = train.statistics();
    assert_eq!(s.mean, [3.0, 10.0]);
    assert!((s.std[0] - (8.0f32 / 3.0).sqrt()).abs() < 1e-6);
    assert_eq!(s.std[1], 1.0, "a constant feature keeps its scale");
    train.standardize(&s);
    let mut test = Dataset {
        inputs: vec![3.0, 12.0],
        width: 2,
        targets: Targets::Labels(vec![1]),
    };
    test.standardize(&s);
    assert_eq!(test.inputs, [0.0, 2.0]);
    let mut scaled = labeled(1);
    scaled.scale(0.5);
    assert_eq!(scaled.inputs, [0.0, 0.5, 1.0]);
}

/// The header rule: a first row is a header only when none of its fields is a number, so a
/// first data row with a typo is an error naming it, not a row silently dropped.
#[test]
fn a_first_row_with_a_typo_is_an_error_not_a_header() {
    let path = file("typo.csv", "O.2,1,2\n0.5,1,0\n");
    let err = read_csv(&path, labels_last()).unwrap_err().to_string();
    assert!(
        err.contains("typo.csv: line 1: column 1: `O.2` is not a finite number"),
        "{err}"
    );
    assert!(
        err.contains("a header only when none of its fields is a number"),
        "{err}"
    );
    // A header of names, and one forced or refused by the caller.
    let path = file("named.csv", "x,y,label\n0.5,1,2\n");
    assert_eq!(read_csv(&path, labels_last()).unwrap().len(), 1);
    let path = file("numbered.csv", "0,1,2\n0.5,1,2\n");
    assert_eq!(read_csv(&path, labels_last()).unwrap().len(), 2);
    let forced = CsvOptions {
        header: Header::Present,
        ..CsvOptions::new(labels_last())
    };
    assert_eq!(read_csv_with(&path, &forced).unwrap().len(), 1);
    let absent = CsvOptions {
        header: Header::Absent,
        ..CsvOptions::new(labels_last())
    };
    let path = file("absent.csv", "x,y,label\n0.5,1,2\n");
    let err = read_csv_with(&path, &absent).unwrap_err().to_string();
    assert!(
        err.contains("line 1: column 1: `x` is not a finite number"),
        "{err}"
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let path = file("bom.csv", "\u{feff}0.5,1,2\r\n-1,3.25,0\r\n");
    let d = read_csv(&path, labels_last()).unwrap();
    assert_eq!(d.inputs, [0.5, 1.0, -1.0, 3.25]);
    assert_eq!(d.targets, Targets::Labels(vec![2, 0]));
    let path = file("bom-header.csv", "\u{feff}a,b,label\n0.5,1,2\n");
    assert_eq!(read_csv(&path, labels_last()).unwrap().len(), 1);
}

#[test]
fn text_that_is_not_utf8_names_its_line() {
    let path = file("latin1.csv", b"1,2,3\n4,\xe9,6\n".as_slice());
    let err = read_csv(&path, labels_last()).unwrap_err().to_string();
    assert!(
        err.contains("latin1.csv: line 2: byte 3 of the line is not UTF-8 text"),
        "{err}"
    );
}

/// Given the class count, a label out of range is reported where it is in the file, not by
/// its position after shuffling.
#[test]
fn an_out_of_range_label_names_its_line() {
    let path = file("range.csv", "x,y,label\n0,0,1\n0,1,2\n1,1,5\n");
    let options = CsvOptions {
        classes: Some(3),
        ..CsvOptions::new(labels_last())
    };
    let err = read_csv_with(&path, &options).unwrap_err().to_string();
    assert!(
        err.contains("range.csv: line 4: column 3: label 5 is out of range: the network has 3 classes (0 to 2)"),
        "{err}"
    );
    let path = file("lonely.csv", "1\n");
    let err = read_csv(&path, labels_last()).unwrap_err().to_string();
    assert!(
        err.contains("line 1: 1 field cannot hold a label and an input"),
        "{err}"
    );
}

#[test]
fn preprocessing_applies_statistics_and_checks_widths() {
    let mut d = Dataset {
        inputs: vec![1.0, 10.0, 3.0, 10.0],
        width: 2,
        targets: Targets::Labels(vec![0, 1]),
    };
    let p = Preprocessing::standardize(d.statistics());
    let mut copy = d.clone();
    p.apply(&mut d).unwrap();
    copy.standardize(p.standardization.as_ref().unwrap());
    assert_eq!(d, copy);
    let mut narrow = labeled(1);
    let err = p.apply(&mut narrow).unwrap_err();
    assert!(
        err.contains("the samples have 3 values; the standardization recorded in training has 2"),
        "{err}"
    );
    assert!(Preprocessing::default().apply(&mut narrow).is_ok());
}

/// An empty field is an error naming its line and column, in a first row too: a row with a
/// number in it is data, never a header guessed from one empty field.
#[test]
fn an_empty_field_in_a_first_data_row_is_an_error_not_a_header() {
    let path = file("hole.csv", "5.1,,1.4,0.2,0\n4.9,3.0,1.4,0.2,0\n");
    let err = read_csv(&path, labels_last()).unwrap_err().to_string();
    assert!(
        err.contains("hole.csv: line 1: column 2: the field is empty"),
        "{err}"
    );
    let path = file("hole-named.csv", "5.1,3.5,1.4,0.2,\n");
    let err = read_csv(&path, labels_last()).unwrap_err().to_string();
    assert!(
        err.contains("line 1: column 5: the label is empty"),
        "{err}"
    );
}

/// Class names in the label column (first or last, under a header) become class indices in
/// sorted order, or first-seen order when asked; the names come back in that order.
#[test]
fn class_names_are_mapped_to_indices() {
    let text = "species,x\nvirginica,1\nsetosa,2\nversicolor,3\nsetosa,4\n";
    let path = file("names-first.csv", text);
    let options = CsvOptions {
        classes: Some(3),
        ..CsvOptions::new(CsvTargets::Label(LabelColumn::First))
    };
    let sorted = ClassNames::New(LabelOrder::Sorted);
    let (d, names) = read_csv_classes(&path, &options, sorted).unwrap();
    assert_eq!(d.inputs, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(d.targets, Targets::Labels(vec![2, 0, 1, 0]));
    assert_eq!(names.unwrap(), ["setosa", "versicolor", "virginica"]);
    let first_seen = ClassNames::New(LabelOrder::FirstSeen);
    let (d, names) = read_csv_classes(&path, &options, first_seen).unwrap();
    assert_eq!(d.targets, Targets::Labels(vec![0, 1, 2, 1]));
    assert_eq!(names.unwrap(), ["virginica", "setosa", "versicolor"]);
    // Indices read as before, with no names.
    let path = file("indices.csv", "1,2\n3,0\n");
    let (d, names) = read_csv_classes(&path, &CsvOptions::new(labels_last()), sorted).unwrap();
    assert_eq!((d.targets, names), (Targets::Labels(vec![2, 0]), None));
}

#[test]
fn class_names_mixed_with_indices_or_too_few_are_errors_naming_the_file() {
    let path = file("mixed.csv", "1,setosa\n2,versicolor\n3,2\n");
    let err = read_csv(&path, labels_last()).unwrap_err().to_string();
    assert!(
        err.contains("mixed.csv: line 3: column 2: label `2` is a class index, but the label on line 1 (`setosa`) is a class name"),
        "{err}"
    );
    let path = file("two.csv", "1,setosa\n2,versicolor\n");
    let options = CsvOptions {
        classes: Some(3),
        ..CsvOptions::new(labels_last())
    };
    let err = read_csv_with(&path, &options).unwrap_err().to_string();
    assert!(
        err.contains("two.csv: the label column names 2 classes (`setosa`, `versicolor`), the network has 3 outputs"),
        "{err}"
    );
}

/// A batch of 64 KiB or more is gathered in parts on the kernels' team: on 1, 2 and 3
/// threads, every row lands in its place with its target values, and a smaller batch after
/// a larger one holds only its own rows.
#[test]
fn large_batches_gather_every_row_on_any_thread_count() {
    let (n, width) = (300, 200);
    let d = Dataset {
        inputs: (0..n * width).map(|v| v as f32).collect(),
        width,
        targets: Targets::Values {
            values: (0..n * 2).map(|v| -(v as f32)).collect(),
            width: 2,
        },
    };
    let mut batch = Batch::default();
    for threads in [1, 2, 3] {
        mlp_runtime::set_num_threads(threads);
        for size in [97, 300, 5, 130] {
            // A new order each time, so that rows left from the last batch are wrong here.
            let order = d.order(size as u64, threads as u64);
            let idx = &order[..size];
            batch.fill(&d, idx);
            assert_eq!(batch.len(width), size);
            for (row, &k) in batch.inputs.chunks_exact(width).zip(idx) {
                assert_eq!(
                    row,
                    &d.inputs[k * width..(k + 1) * width],
                    "{threads} threads"
                );
            }
            let want: Vec<f32> = idx
                .iter()
                .flat_map(|&k| [-((2 * k) as f32), -((2 * k + 1) as f32)])
                .collect();
            assert_eq!(batch.values, want);
        }
    }
}

/// More threads than a batch has parts (at most 8), fewer rows than parts, and labels: every
/// row and label in its place.
#[test]
fn large_batches_of_few_wide_rows_and_labels() {
    let (n, width) = (40, 20_000);
    let d = Dataset {
        inputs: (0..n * width).map(|v| v as f32).collect(),
        width,
        targets: Targets::Labels((0..n as u32).map(|k| k * 3).collect()),
    };
    let mut batch = Batch::default();
    for threads in [2, 9] {
        mlp_runtime::set_num_threads(threads);
        for size in [3, 1, 40, 11] {
            let order = d.order(size as u64, threads as u64);
            let idx = &order[..size];
            batch.fill(&d, idx);
            for (row, &k) in batch.inputs.chunks_exact(width).zip(idx) {
                assert_eq!(
                    row,
                    &d.inputs[k * width..(k + 1) * width],
                    "{threads} threads"
                );
            }
            let want: Vec<u32> = idx.iter().map(|&k| k as u32 * 3).collect();
            assert_eq!(batch.labels, want, "{threads} threads");
        }
    }
}

/// A batch asking for a sample the set does not have panics naming it, on one thread or in
/// parts, before anything is copied.
#[test]
fn a_sample_past_the_set_is_named() {
    let d = labeled(10);
    for threads in [1, 2] {
        mlp_runtime::set_num_threads(threads);
        let mut batch = Batch::default();
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| batch.fill(&d, &[3, 10, 2])));
        let message = caught.expect_err("index 10 of 10 samples");
        let text = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            text.contains("sample 10") && text.contains("10 samples"),
            "{text}"
        );
    }
}
