//! `mlp train | eval | predict`: a specialized trainer is compiled for the spec (once: the
//! second run reuses it, until a source it is built from changes), trains on a CSV file,
//! writes a checkpoint that `eval` and `predict` read, and bad input is reported with the file
//! and line; a trainer ended by a signal is named. Builds real crates in release (a few
//! minutes the first time; the cache is `target/tmp/mlp-cache`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mlp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(args)
        .env(
            "MLP_CACHE",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mlp-cache"),
        )
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn train_eval_predict_through_a_compiled_trainer() {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("trainer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Two classes split by the sign of x + y.
    let mut csv = String::from("x,y,label\n");
    for k in 0..300u32 {
        let x = ((k * 37) % 101) as f32 / 50.0 - 1.0;
        let y = ((k * 61) % 103) as f32 / 51.0 - 1.0;
        csv += &format!("{x},{y},{}\n", u32::from(x + y > 0.0));
    }
    let data = dir.join("data.csv");
    std::fs::write(&data, csv).unwrap();
    let ckpt = dir.join("model.safetensors");
    let spec = "2 -> tanh 8 -> 2 : nll";
    let train = |epochs: &str, force: &[&str]| {
        let mut args = vec![
            "train",
            spec,
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            epochs,
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--batch",
            "16",
            "--checkpoint",
            ckpt.to_str().unwrap(),
        ];
        args.extend(force);
        mlp(&args)
    };
    let first = train("4", &[]);
    assert!(
        first.status.success(),
        "{}{}",
        text(&first.stdout),
        text(&first.stderr)
    );
    let out = text(&first.stdout);
    assert!(
        out.contains("epoch   4") && out.contains("accuracy"),
        "{out}"
    );
    assert!(ckpt.exists());
    // The same spec again: the cached trainer, not a new build; the checkpoint it would
    // overwrite is kept unless --force.
    let refused = train("1", &[]);
    assert!(
        !refused.status.success()
            && text(&refused.stderr).contains("exists: --force overwrites it"),
        "{}",
        text(&refused.stderr)
    );
    let again = train("1", &["--force"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        !text(&again.stderr).contains("building the trainer"),
        "{}",
        text(&again.stderr)
    );

    let eval = mlp(&[
        "eval",
        spec,
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    let out = text(&eval.stdout);
    assert!(
        eval.status.success() && out.contains("300 samples") && out.contains("confusion matrix"),
        "{out}"
    );
    let accuracy: f32 = out
        .lines()
        .find_map(|l| l.strip_prefix("accuracy "))
        .and_then(|a| a.trim_end_matches('%').parse().ok())
        .expect("an accuracy line");
    assert!(accuracy > 90.0, "{out}");

    let inputs = dir.join("inputs.csv");
    std::fs::write(&inputs, "0.9,0.8\n-0.9,-0.7\n").unwrap();
    let predict = mlp(&[
        "predict",
        spec,
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--input",
        inputs.to_str().unwrap(),
    ]);
    let out = text(&predict.stdout);
    assert_eq!(out.lines().next(), Some("class,p0,p1"), "{out}");
    let rows: Vec<Vec<f32>> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let classes: Vec<f32> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(classes, [1.0, 0.0], "{out}");
    for r in &rows {
        assert!(
            (r[1] + r[2] - 1.0).abs() < 1e-6 && r[1 + r[0] as usize] > 0.5,
            "{out}"
        );
    }

    std::fs::write(&inputs, "0.9,0.8\n-0.9\n").unwrap();
    let bad = mlp(&[
        "predict",
        spec,
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--input",
        inputs.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("inputs.csv: line 2: 1 fields, expected 2"),
        "{}",
        text(&bad.stderr)
    );

    // The spec is optional for eval and predict: the checkpoint records it.
    let eval = mlp(&[
        "eval",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    let out = text(&eval.stdout);
    assert!(
        eval.status.success() && out.contains("300 samples"),
        "{out}{}",
        text(&eval.stderr)
    );
    let predict = mlp(&[
        "predict",
        &format!("--checkpoint={}", ckpt.display()),
        "--input",
        inputs.to_str().unwrap(),
        "--no-header",
    ]);
    assert!(!predict.status.success(), "the inputs file has a short row");
    assert!(text(&predict.stderr).contains("line 2: 1 fields, expected 2"));

    // A spec that is not the checkpoint's is refused before any trainer is built.
    let wrong = mlp(&[
        "eval",
        "2 -> relu 8 -> 2 : nll",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    let err = text(&wrong.stderr);
    assert!(!wrong.status.success());
    assert!(
        err.contains("holds the network `2 -> tanh 8 -> 2 : nll`, not `2 -> relu 8 -> 2 : nll`"),
        "{err}"
    );
    assert!(!err.contains("building the trainer"), "{err}");
}

/// `--standardize` is recorded in the checkpoint and applied by `eval`: on data far from the
/// origin, the raw file evaluates as well as the training run validated.
#[test]
fn eval_applies_the_standardization_of_training() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("trainer-std-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::new();
    for k in 0..300u32 {
        let x = ((k * 37) % 101) as f32 / 50.0 - 1.0;
        let y = ((k * 61) % 103) as f32 / 51.0 - 1.0;
        csv += &format!("{},{},{}\n", 100.0 + x, 100.0 + y, u32::from(x + y > 0.0));
    }
    let data = dir.join("far.csv");
    std::fs::write(&data, csv).unwrap();
    let ckpt = dir.join("std.safetensors");
    let (data, ckpt) = (data.to_str().unwrap(), ckpt.to_str().unwrap());
    let train = mlp(&[
        "train",
        "2 -> tanh 8 -> 2 : nll",
        "--data",
        data,
        "--epochs",
        "4",
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--batch",
        "16",
        "--checkpoint",
        ckpt,
        "--standardize",
    ]);
    assert!(
        train.status.success(),
        "{}{}",
        text(&train.stdout),
        text(&train.stderr)
    );
    let eval = mlp(&["eval", "--checkpoint", ckpt, "--data", data]);
    let out = text(&eval.stdout);
    let accuracy: f32 = out
        .lines()
        .find_map(|l| l.strip_prefix("accuracy "))
        .and_then(|a| a.trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("an accuracy line: {out}{}", text(&eval.stderr)));
    assert!(accuracy > 90.0, "{out}");
}

/// Copies the source tree into `to`, all but its data and build output: what a trainer is
/// built from, and the root package's targets, which Cargo reads with its manifest.
fn copy_source_tree(to: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::create_dir_all(to).unwrap();
    for file in ["Cargo.toml", "Cargo.lock", "build.rs"] {
        std::fs::copy(root.join(file), to.join(file)).unwrap();
    }
    for dir in [
        "examples",
        "benches",
        "tests",
        "grammar",
        "mlp-runtime",
        "mlp-macros",
        "mlp-compiler",
        "mlp-cli",
    ] {
        copy_dir(&root.join(dir), &to.join(dir));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name == "target" {
            continue;
        }
        if path.is_dir() {
            copy_dir(&path, &to.join(name));
        } else {
            std::fs::copy(&path, to.join(name)).unwrap();
        }
    }
}

#[test]
fn a_trainer_is_built_again_when_a_source_it_is_built_from_changes() {
    // A copy of the source tree, so that the test changes the copy, never the repository.
    let tree =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("source-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tree);
    copy_source_tree(&tree);
    let help = || {
        let out = Command::new(env!("CARGO_BIN_EXE_mlp"))
            .args(["train", "3 -> tanh 5 -> 1 : mse", "--", "--help"])
            .env(
                "MLP_CACHE",
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mlp-cache"),
            )
            .env("MLP_SOURCE", &tree)
            .output()
            .expect("the binary runs");
        assert!(
            out.status.success(),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stderr).contains("building the trainer")
    };
    help();
    assert!(!help(), "an unchanged tree reuses the trainer");
    let lib = tree.join("mlp-runtime/src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, source + "\n// A change to the runtime.\n").unwrap();
    assert!(help(), "a changed runtime source builds the trainer again");
    assert!(!help());
    std::fs::remove_dir_all(&tree).unwrap();
}

/// The processes whose parent is `pid`, from `/proc`.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`; the command name may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let ppid = rest.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.extend(
                entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<u32>().ok()),
            );
        }
    }
    out
}

#[test]
fn a_trainer_ended_by_a_signal_is_named_and_exits_like_a_shell() {
    use std::io::BufRead;
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("signal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data.csv");
    let rows: String = (0..50).map(|k| format!("{},{}\n", k % 7, k % 2)).collect();
    std::fs::write(&data, format!("x,label\n{rows}")).unwrap();
    let mut mlp = Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(["train", "1 -> tanh 4 -> 2 : nll", "--data"])
        .arg(&data)
        .args(["--epochs", "100000000", "--batch", "1"])
        // The trainer writes its checkpoint (`model.safetensors`) where it runs.
        .current_dir(&dir)
        .env(
            "MLP_CACHE",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mlp-cache"),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // Once the trainer reports its first epoch it is running: kill it as the OOM killer would.
    let mut lines = std::io::BufReader::new(mlp.stdout.take().unwrap()).lines();
    let first = lines.find(|l| l.as_ref().is_ok_and(|l| l.contains("epoch")));
    assert!(first.is_some(), "the trainer started");
    let trainers = children(mlp.id());
    assert_eq!(trainers.len(), 1, "one trainer runs under mlp");
    let killed = Command::new("kill")
        .args(["-KILL", &trainers[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    drop(lines);
    let out = mlp.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(128 + 9), "{stderr}");
    assert!(
        stderr.contains("error: the trainer was killed by signal 9 (SIGKILL)"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
