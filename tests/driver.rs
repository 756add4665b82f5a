//! The trainer driver (`mlp train | eval | predict`), run in-process on its command line:
//! every option a user can type is checked into a clear error before any work; the
//! standardization of training travels in the checkpoint; a checkpoint of another network is
//! refused; a diverging run is an error.

use mlp_runtime::dataset::{CsvTargets, Dataset, LabelColumn, Targets, read_csv};
use mlp_runtime::driver;
use mlp_runtime::train;
use std::path::{Path, PathBuf};

mlp_runtime::mlp! {
    /// A classifier of three classes.
    pub struct Net = 2 -> tanh 16 -> 3 : nll;
    /// The same shapes, another network.
    pub struct Relu = 2 -> relu 16 -> 3 : nll;
    /// A regressor.
    pub struct Fit = 2 -> tanh 8 -> 1 : mse;
    /// Two independent binary outputs.
    pub struct Multi = 2 -> tanh 8 -> 2 : bce;
    /// A classifier on probability targets.
    pub struct Soft = 2 -> tanh 8 -> 3 : ce;
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mlp-driver-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Three classes far from the origin (around x = 1000, y = 500): without standardization a
/// tanh network sees only saturated inputs.
fn far_classes(dir: &Path) -> PathBuf {
    let mut csv = String::from("x,y,label\n");
    for k in 0..300u32 {
        let class = k % 3;
        let jitter = ((k * 37) % 11) as f32 / 11.0 - 0.5;
        let x = 1000.0 + 3.0 * class as f32 + jitter;
        let y = 500.0 - 2.0 * class as f32 + ((k * 17) % 7) as f32 / 7.0;
        csv += &format!("{x},{y},{class}\n");
    }
    let path = dir.join("far.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn run<M: train::Model>(args: &[&str]) -> Result<(), String> {
    let all = std::iter::once("trainer").chain(args.iter().copied());
    driver::run::<M>(all).map_err(|e| e.to_string())
}

#[test]
fn every_bad_option_is_a_clear_error() {
    let dir = scratch("options");
    let data = far_classes(&dir);
    let ckpt = dir.join("m.safetensors");
    let base = [
        "train",
        "--data",
        data.to_str().unwrap(),
        "--checkpoint",
        ckpt.to_str().unwrap(),
    ];
    let cases: [(&[&str], &str); 11] = [
        (&["--lr", "0"], "--lr must be a positive number, found 0"),
        (&["--lr=-1"], "--lr must be a positive number, found -1"),
        (&["--lr", "-1"], "--lr must be a positive number, found -1"),
        (
            &["--lr", "nan"],
            "--lr must be a positive number, found NaN",
        ),
        (&["--batch", "0"], "--batch must be at least 1"),
        (&["--epochs", "0"], "--epochs must be at least 1"),
        (&["--threads", "0"], "--threads must be at least 1"),
        (&["--patience", "0"], "--patience must be at least 1"),
        (
            &["--validation", "1.5"],
            "--validation must be in [0, 1), found 1.5",
        ),
        (
            &["--validation", "0.999"],
            "--validation 0.999 leaves 0 training samples, fewer than one batch of 64",
        ),
        (
            &["--validation", "0.9", "--batch", "31"],
            "leaves 30 training samples, fewer than one batch of 31",
        ),
    ];
    for (extra, want) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let err = run::<Net>(&args).unwrap_err();
        assert!(err.contains(want), "{extra:?}: {err}");
    }
    assert!(!ckpt.exists(), "no run started");
}

/// `--standardize` is recorded in the checkpoint: `eval` on the raw file applies it, as does
/// `load_with_preprocessing` for a program; a resumed run keeps it.
#[test]
fn the_standardization_of_training_travels_in_the_checkpoint() {
    let dir = scratch("standardize");
    let data = far_classes(&dir);
    let ckpt = dir.join("m.safetensors");
    let (data, ckpt_text) = (data.to_str().unwrap(), ckpt.to_str().unwrap());
    let train = [
        "train",
        "--data",
        data,
        "--checkpoint",
        ckpt_text,
        "--optimizer",
        "adam",
    ];
    let args: Vec<&str> = train
        .iter()
        .chain(&[
            "--lr",
            "0.05",
            "--batch",
            "16",
            "--epochs",
            "4",
            "--standardize",
        ])
        .copied()
        .collect();
    run::<Net>(&args).unwrap();
    let (net, preprocessing) = Net::load_with_preprocessing(&ckpt).unwrap();
    let stats = preprocessing.standardization.as_ref().expect("recorded");
    assert!((stats.mean[0] - 1003.0).abs() < 1.0, "{stats:?}");
    let mut raw = read_csv(Path::new(data), CsvTargets::Label(LabelColumn::Last)).unwrap();
    preprocessing.apply(&mut raw).unwrap();
    let accuracy = train::evaluate(&net, &raw, 64).unwrap().accuracy.unwrap();
    assert!(accuracy > 0.95, "accuracy {accuracy}");
    run::<Net>(&["eval", "--checkpoint", ckpt_text, "--data", data]).unwrap();
    run::<Net>(&[
        "eval",
        "--checkpoint",
        ckpt_text,
        "--data",
        data,
        "--standardize",
    ])
    .unwrap();

    // Resumed without the flag, the run keeps the recorded statistics.
    let resumed: Vec<&str> = train
        .iter()
        .chain(&["--resume", ckpt_text, "--epochs", "5"])
        .copied()
        .collect();
    run::<Net>(&resumed).unwrap();
    let (_, again) = Net::load_with_preprocessing(&ckpt).unwrap();
    assert_eq!(again, preprocessing);
    let done: Vec<&str> = train
        .iter()
        .chain(&["--resume", ckpt_text, "--epochs", "5"])
        .copied()
        .collect();
    let err = run::<Net>(&done).unwrap_err();
    assert!(err.contains("the checkpoint has trained 5 epochs"), "{err}");
}

/// A checkpoint of `2 -> tanh 16 -> 3` evaluated as `2 -> relu 16 -> 3` is an error naming
/// both, not a wrong accuracy; `--standardize` on a checkpoint without statistics is refused.
#[test]
fn a_checkpoint_of_another_network_is_refused() {
    let dir = scratch("spec");
    let data = far_classes(&dir);
    let ckpt = dir.join("m.safetensors");
    let (data, ckpt) = (data.to_str().unwrap(), ckpt.to_str().unwrap());
    run::<Net>(&[
        "train",
        "--data",
        data,
        "--checkpoint",
        ckpt,
        "--epochs",
        "1",
    ])
    .unwrap();
    let err = run::<Relu>(&["eval", "--checkpoint", ckpt, "--data", data]).unwrap_err();
    assert!(
        err.contains(
            "it holds the network `2 -> tanh 16 -> 3 : nll`, not `2 -> relu 16 -> 3 : nll`"
        ),
        "{err}"
    );
    let err = run::<Net>(&[
        "eval",
        "--checkpoint",
        ckpt,
        "--data",
        data,
        "--standardize",
    ])
    .unwrap_err();
    assert!(err.contains("records no standardization"), "{err}");
}

/// `--lr 1000` on a regression: the run stops at the first loss that is not finite and says
/// so, instead of training on NaN and exiting 0.
#[test]
fn a_diverging_run_is_an_error() {
    let dir = scratch("diverge");
    let mut csv = String::new();
    for k in 0..256u32 {
        csv += &format!("{},{},{}\n", (k % 7) as f32 / 7.0, (k % 3) as f32, k % 5);
    }
    let data = dir.join("values.csv");
    std::fs::write(&data, csv).unwrap();
    let ckpt = dir.join("m.safetensors");
    let args = [
        "train",
        "--data",
        data.to_str().unwrap(),
        "--checkpoint",
        ckpt.to_str().unwrap(),
    ];
    let args: Vec<&str> = args
        .iter()
        .chain(&["--lr", "1000", "--batch", "8", "--epochs", "3"])
        .copied()
        .collect();
    let err = run::<Fit>(&args).unwrap_err();
    assert!(
        err.contains("training diverged at epoch 1, step ")
            && err.contains("try a smaller learning rate"),
        "{err}"
    );
    assert!(
        !ckpt.exists(),
        "no checkpoint holds the diverged parameters"
    );
}

/// The trainer runs as `mlp train SPEC …`: its usage and errors say so, not `trainer`.
#[test]
fn usage_names_mlp_train_spec() {
    let err = run::<Net>(&["train"]).unwrap_err();
    assert!(
        err.contains("Usage: mlp train SPEC --data DIR|FILE.csv [OPTIONS]"),
        "{err}"
    );
    assert!(!err.contains("trainer"), "{err}");
    let err = run::<Net>(&["eval", "--data", "x.csv"]).unwrap_err();
    assert!(
        err.contains("Usage: mlp eval [SPEC] --checkpoint FILE"),
        "{err}"
    );
    let help = run::<Net>(&["predict", "--help"]).unwrap_err();
    assert!(
        help.contains("Usage: mlp predict [SPEC] --checkpoint FILE --input FILE.csv"),
        "{help}"
    );
}

/// An existing checkpoint is not overwritten unless asked (`--force`, or `--resume` of that
/// file); `--no-checkpoint` writes none; `--checkpoint-every 2` of 3 epochs still writes the
/// last.
#[test]
fn checkpoints_are_written_as_asked() {
    let dir = scratch("asked");
    let data = far_classes(&dir);
    let ckpt = dir.join("m.safetensors");
    let (data, ckpt_text) = (data.to_str().unwrap(), ckpt.to_str().unwrap());
    let base = ["train", "--data", data, "--checkpoint", ckpt_text];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        base.iter().chain(extra).copied().collect()
    }
    run::<Net>(&with(&base, &["--epochs", "1"])).unwrap();
    let err = run::<Net>(&with(&base, &["--epochs", "1"])).unwrap_err();
    assert!(
        err.contains("m.safetensors exists: --force overwrites it"),
        "{err}"
    );
    run::<Net>(&with(
        &base,
        &["--epochs", "3", "--checkpoint-every", "2", "--force"],
    ))
    .unwrap();
    let (_, epoch) =
        Net::resume(&ckpt, &mut mlp_runtime::Sgd::new(0.1)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(epoch, 3, "the last epoch is always written");
    // Resuming the file continues it in place.
    run::<Net>(&with(&base, &["--epochs", "4", "--resume", ckpt_text])).unwrap();
    // Without --checkpoint, the default file would be in the current folder.
    let default = Path::new("model.safetensors");
    let before = default.exists();
    run::<Net>(&["train", "--data", data, "--no-checkpoint", "--epochs", "1"]).unwrap();
    assert_eq!(
        default.exists(),
        before,
        "--no-checkpoint wrote model.safetensors"
    );
    let err = run::<Net>(&with(&base, &["--no-checkpoint"])).unwrap_err();
    assert!(err.contains("cannot be used with"), "{err}");
    let err = run::<Net>(&with(&base, &["--checkpoint-every", "0", "--force"])).unwrap_err();
    assert!(
        err.contains("--checkpoint-every must be at least 1"),
        "{err}"
    );
}

/// `--test FILE` is read as the training data and standardized by the training set's
/// statistics; `--test-each-epoch` adds `test_loss,test_accuracy` to the log; a missing or
/// misshapen test file is an error before any training.
#[test]
fn a_test_file_is_evaluated_after_training_and_each_epoch() {
    let dir = scratch("test");
    let data = far_classes(&dir);
    let test = dir.join("test.csv");
    std::fs::copy(&data, &test).unwrap();
    let (ckpt, log) = (dir.join("m.safetensors"), dir.join("log.csv"));
    let (data, test_text) = (data.to_str().unwrap(), test.to_str().unwrap());
    let base = [
        "train",
        "--data",
        data,
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--batch",
        "16",
        "--epochs",
        "3",
        "--standardize",
        "--test",
        test_text,
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let args = with(&["--test-each-epoch", "--log", log.to_str().unwrap()]);
    run::<Net>(&args.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "epoch,lr,train_loss,validation_loss,validation_accuracy,seconds,test_loss,test_accuracy"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows.iter().all(|r| r.len() == 8), "{text}");
    let accuracy: f32 = rows[2][7].parse().unwrap();
    assert!(
        accuracy > 0.9,
        "the raw test file is standardized as training: {text}"
    );

    // Without --test-each-epoch, the log keeps its columns.
    std::fs::remove_file(&log).unwrap();
    let args = with(&["--force", "--log", log.to_str().unwrap()]);
    run::<Net>(&args.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("epoch,lr,train_loss,validation_loss,validation_accuracy,seconds\n"));

    let missing = dir.join("missing.csv");
    let mut args: Vec<&str> = base.to_vec();
    *args.last_mut().unwrap() = missing.to_str().unwrap();
    args.push("--force");
    let err = run::<Net>(&args).unwrap_err();
    assert!(err.contains("missing.csv: no such file or folder"), "{err}");
    std::fs::write(&test, "x,label\n1000,0\n").unwrap();
    let mut args: Vec<&str> = base.to_vec();
    args.push("--force");
    let err = run::<Net>(&args).unwrap_err();
    assert!(err.contains("test.csv"), "{err}");
    let err = run::<Net>(&["train", "--data", data, "--test-each-epoch"]).unwrap_err();
    assert!(err.contains("--test"), "{err}");
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|k| k.to_string()).collect()
}

/// `eval` reports each class's precision, recall, F1 and support, their averages and the
/// confusion matrix; per output for `bce`; the loss alone for `mse`.
#[test]
fn eval_reports_per_class_metrics() {
    let dir = scratch("eval");
    let data = far_classes(&dir);
    let ckpt = dir.join("m.safetensors");
    let (data_text, ckpt_text) = (data.to_str().unwrap(), ckpt.to_str().unwrap());
    run::<Net>(&[
        "train",
        "--data",
        data_text,
        "--checkpoint",
        ckpt_text,
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--epochs",
        "4",
        "--standardize",
    ])
    .unwrap();
    run::<Net>(&["eval", "--checkpoint", ckpt_text, "--data", data_text]).unwrap();
    let (net, preprocessing) = Net::load_with_preprocessing(&ckpt).unwrap();
    let mut set = read_csv(&data, CsvTargets::Label(LabelColumn::Last)).unwrap();
    preprocessing.apply(&mut set).unwrap();
    let text = driver::eval_report(&net, &set, &names(3)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("300 samples: loss "), "{text}");
    assert!(lines[1].starts_with("accuracy "), "{text}");
    assert!(
        lines[2].ends_with("precision     recall   f1-score    support"),
        "{text}"
    );
    for (k, class) in ["0", "1", "2", "macro avg", "weighted avg"]
        .iter()
        .enumerate()
    {
        assert!(lines[3 + k].trim_start().starts_with(class), "{text}");
    }
    assert!(
        lines[3].trim_end().ends_with(" 100"),
        "support of class 0: {text}"
    );
    let matrix = lines
        .iter()
        .position(|l| *l == "confusion matrix (rows: true class, columns: predicted):")
        .unwrap_or_else(|| panic!("{text}"));
    let counts: u64 = lines[matrix + 2..matrix + 5]
        .iter()
        .flat_map(|l| l.split_whitespace().skip(1))
        .map(|c| c.parse::<u64>().unwrap())
        .sum();
    assert_eq!(counts, 300, "{text}");

    // Untrained networks: the reports' shapes, whatever their numbers.
    let inputs = vec![0.5, -0.5, 1.0, 0.0, -1.0, 2.0, 0.0, 0.0];
    let two = Dataset {
        inputs: inputs.clone(),
        width: 2,
        targets: Targets::Values {
            values: vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
            width: 2,
        },
    };
    let text = driver::eval_report(&Multi::new(0), &two, &names(2)).unwrap();
    assert!(
        text.contains("per output") && text.contains("weighted avg"),
        "{text}"
    );
    assert!(!text.contains("confusion matrix"), "{text}");
    let three = Dataset {
        inputs: inputs.clone(),
        width: 2,
        targets: Targets::Values {
            values: [
                [0.9, 0.1, 0.0],
                [0.0, 0.2, 0.8],
                [0.0, 1.0, 0.0],
                [0.3, 0.3, 0.4],
            ]
            .concat(),
            width: 3,
        },
    };
    let text = driver::eval_report(&Soft::new(0), &three, &names(3)).unwrap();
    assert!(
        text.contains("confusion matrix") && text.contains("macro avg"),
        "{text}"
    );
    let one = Dataset {
        inputs,
        width: 2,
        targets: Targets::Values {
            values: vec![0.0, 1.0, 2.0, 3.0],
            width: 1,
        },
    };
    let text = driver::eval_report(&Fit::new(0), &one, &[]).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("4 samples: loss "), "{text}");
}

/// Three classes named, not numbered, in a file with a header: training maps them to indices
/// (sorted, or first-seen when asked), the checkpoint records the names, and `eval`, `predict`
/// and a resumed run use that mapping, whatever `--label-order` they are given; a name the
/// checkpoint does not know is an error naming it.
#[test]
fn class_names_travel_in_the_checkpoint() {
    let dir = scratch("names");
    let names = ["virginica", "setosa", "versicolor"];
    let mut csv = String::from("x,y,species\n");
    for k in 0..150u32 {
        let class = k % 3;
        let jitter = ((k * 37) % 11) as f32 / 22.0;
        csv += &format!(
            "{},{},{}\n",
            2.0 * class as f32 + jitter,
            -(class as f32),
            names[class as usize]
        );
    }
    let data = dir.join("named.csv");
    std::fs::write(&data, csv).unwrap();
    let ckpt = dir.join("m.safetensors");
    let (data, ckpt_text) = (data.to_str().unwrap(), ckpt.to_str().unwrap());
    let train = [
        "train",
        "--data",
        data,
        "--checkpoint",
        ckpt_text,
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--batch",
        "16",
        "--label-order",
    ];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        base.iter().chain(extra).copied().collect()
    }
    run::<Net>(&with(&train, &["sorted", "--epochs", "3"])).unwrap();
    let classes = |path: &Path| {
        Net::load_with_preprocessing(path)
            .unwrap()
            .1
            .classes
            .unwrap()
    };
    assert_eq!(classes(&ckpt), ["setosa", "versicolor", "virginica"]);
    run::<Net>(&with(&train, &["first-seen", "--force", "--epochs", "3"])).unwrap();
    assert_eq!(classes(&ckpt), names);

    // The recorded order wins over the flag: a resumed run, eval and predict map as training did.
    run::<Net>(&with(
        &train,
        &["sorted", "--resume", ckpt_text, "--epochs", "5"],
    ))
    .unwrap();
    assert_eq!(classes(&ckpt), names);
    let (net, preprocessing) = Net::load_with_preprocessing(&ckpt).unwrap();
    let mut xs = vec![0.2f32, 0.0, 2.2, -1.0, 4.2, -2.0];
    preprocessing.apply_to_rows(&mut xs, 2).unwrap();
    let mut out = vec![0.0; 9];
    net.predict(&xs, &mut out);
    let predicted: Vec<String> = out
        .chunks(3)
        .map(|row| (0..3).max_by(|a, b| row[*a].total_cmp(&row[*b])).unwrap())
        .map(|k| preprocessing.class_name(k))
        .collect();
    assert_eq!(
        predicted, names,
        "class k of the network is name k of the checkpoint"
    );
    for order in ["sorted", "first-seen"] {
        let eval = [
            "eval",
            "--checkpoint",
            ckpt_text,
            "--data",
            data,
            "--label-order",
            order,
        ];
        run::<Net>(&eval).unwrap();
    }
    let inputs = dir.join("inputs.csv");
    std::fs::write(&inputs, "x,y\n0.2,0\n4.2,-2\n").unwrap();
    let inputs = inputs.to_str().unwrap();
    run::<Net>(&["predict", "--checkpoint", ckpt_text, "--input", inputs]).unwrap();

    let unknown = dir.join("unknown.csv");
    std::fs::write(&unknown, "x,y,species\n0.2,0,virginica\n4.2,-2,rosa\n").unwrap();
    let unknown = unknown.to_str().unwrap();
    let err = run::<Net>(&["eval", "--checkpoint", ckpt_text, "--data", unknown]).unwrap_err();
    assert!(
        err.contains("line 3: column 3: label `rosa` is not a class of the checkpoint (`virginica`, `setosa`, `versicolor`)"),
        "{err}"
    );
    let err = run::<Net>(&with(&train, &["alphabetical", "--force"])).unwrap_err();
    assert!(
        err.contains("--label-order must be sorted or first-seen, found `alphabetical`"),
        "{err}"
    );

    // Two names for a network of three outputs, and a checkpoint trained on indices, refuse names.
    let two = dir.join("two.csv");
    std::fs::write(&two, "1,2,a\n3,4,b\n".repeat(40)).unwrap();
    let two = two.to_str().unwrap();
    let err = run::<Net>(&["train", "--data", two, "--no-checkpoint"]).unwrap_err();
    assert!(
        err.contains("the label column names 2 classes (`a`, `b`), the network has 3 outputs"),
        "{err}"
    );
    let numbered = dir.join("numbered.safetensors");
    let numbered = numbered.to_str().unwrap();
    let far = far_classes(&dir);
    run::<Net>(&[
        "train",
        "--data",
        far.to_str().unwrap(),
        "--checkpoint",
        numbered,
        "--epochs",
        "1",
    ])
    .unwrap();
    let err = run::<Net>(&["eval", "--checkpoint", numbered, "--data", data]).unwrap_err();
    assert!(
        err.contains(
            "label `virginica` is a class name, but the checkpoint records no class names"
        ),
        "{err}"
    );
}
