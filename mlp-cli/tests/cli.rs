//! The `mlp` binary, run as a user runs it.

use std::process::{Command, Output};

fn mlp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

#[test]
fn check_prints_the_validated_network() {
    let out = mlp(&["check", "784 -> relu 512 -> relu 512 -> 10 : nll"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("1      784 → 512  relu        yes   401,408  401,920"),
        "{stdout}"
    );
    assert!(stdout.contains("parameters   669,706"), "{stdout}");
    assert!(
        stdout.contains("forward 1,337,344, backward 1,871,872"),
        "{stdout}"
    );
}

#[test]
fn check_reads_custom_activations() {
    let out = mlp(&[
        "check",
        "act swish(x) = x * sigmoid(x); 4 -> swish 8 -> 1 : mse",
    ]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("activation   swish(x) = x * sigmoid(x)"));
}

#[test]
fn check_shows_errors_with_a_caret_and_fails() {
    let out = mlp(&["check", "784 -> relux 512 -> 10 : nlll"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    // Both errors, each with the source line and a caret under the offending column.
    assert!(stderr.contains("unknown activation `relux`"), "{stderr}");
    assert!(
        stderr.contains("1 │ 784 -> relux 512 -> 10 : nlll\n  │        ^^^^^"),
        "{stderr}"
    );
    assert!(stderr.contains("unknown loss `nlll`"), "{stderr}");
    let caret = format!(
        "  │ {}^^^^\n",
        " ".repeat("784 -> relux 512 -> 10 : ".len())
    );
    assert!(stderr.contains(&caret), "{stderr}");
}

/// A fresh folder of this test alone: tests of one binary run in parallel
/// threads of one process, so a folder named by the process id is shared.
fn scratch(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mlp-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_reads_a_file_and_names_it_in_errors() {
    let dir = scratch("check");
    let good = dir.join("good.mlp");
    std::fs::write(
        &good,
        "// a comment\nact sq(x) = x^2;\n3 -> sq 4\n  -> 2 : l2\n",
    )
    .unwrap();
    let out = mlp(&["check", "--file", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let bad = dir.join("bad.mlp");
    std::fs::write(&bad, "3 -> relu 4\n  -> softmax 2 : nll\n").unwrap();
    let out = mlp(&["check", "--file", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bad.mlp:2:6"), "{stderr}");

    let missing = dir.join("missing.mlp");
    let out = mlp(&["check", "--file", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read") && text(&out.stderr).contains("missing.mlp"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["check", "--help"],
        &["explain", "--help"],
    ] {
        let out = mlp(args);
        assert!(out.status.success());
        assert!(text(&out.stdout).contains("Usage"));
    }
}

#[test]
fn explain_prints_the_derivation() {
    let out = mlp(&[
        "explain",
        "784 -> relu 512 -> relu 512 -> 10 : nll",
        "--param",
        "W2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("∂L/∂W²: the chain L → z³ → a² → z² → W²"),
        "{stdout}"
    );
    assert!(stdout.contains("matrix     ∂L/∂W² = (Δ²)ᵀ·A¹"), "{stdout}");
    assert!(
        !stdout.contains("∂L/∂W¹:"),
        "--param shows one parameter: {stdout}"
    );
}

#[test]
fn explain_prints_latex() {
    let out = mlp(&["explain", "2 -> tanh 8 -> sigmoid 1 : mse", "--latex"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\\begin{align*}") && stdout.contains("\\bar{z}^{1}_{ni}"),
        "{stdout}"
    );
}

#[test]
fn explain_names_the_parameters_when_one_is_unknown() {
    let out = mlp(&["explain", "2 -> tanh 8 -> 1 no_bias : mse", "--param", "W3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no parameter `W3`; this network has W1, b1, W2"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn explain_reports_spec_errors() {
    let out = mlp(&["explain", "2 -> tanhh 8 -> 1 : mse"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("did you mean `tanh`?"));
}

#[test]
fn graph_prints_dot_of_both_passes() {
    let out = mlp(&["graph", "784 -> relu 512 -> relu 512 -> 10 : nll"]);
    assert_eq!(out.status.code(), Some(0));
    let dot = text(&out.stdout);
    assert!(dot.starts_with("digraph network {") && dot.trim_end().ends_with('}'));
    assert!(dot.contains("subgraph cluster_forward") && dot.contains("subgraph cluster_backward"));
    // The derived backward pass: Δ³ feeds ∂L/∂W³ through a GEMM, Ā² through another.
    assert!(
        dot.contains(r#""z3_bar" -> "W3_bar" [label="GEMM"];"#),
        "{dot}"
    );
    assert!(
        dot.contains(r#""z3_bar" -> "a2_bar" [label="GEMM"];"#),
        "{dot}"
    );
    // Each tensor with its shape; the activation by name, in the GEMM's epilogue.
    assert!(dot.contains(r#""z3_bar" [label="Δ³ · batch×10""#), "{dot}");
    assert!(
        dot.contains(r#""z1" -> "a1" [label="relu (GEMM epilogue)"];"#),
        "{dot}"
    );
    // Every node an edge names is declared.
    for line in dot
        .lines()
        .filter(|l| l.trim_start().starts_with('"') && l.contains(" -> "))
    {
        for name in line.split('"').skip(1).step_by(2).take(2) {
            assert!(
                dot.contains(&format!("\"{name}\" [label=")),
                "{name} is not declared"
            );
        }
    }
    assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    let file = std::env::temp_dir().join(format!("mlp-graph-{}.dot", std::process::id()));
    let out = mlp(&["graph", "2 -> 1 : mse", "-o", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::read_to_string(&file).unwrap().contains("digraph"));
}

/// `4 -> relu 4 -> … -> 2 : nll` with `layers` layers in all.
fn deep(layers: usize) -> String {
    let mut spec = "4".to_owned();
    for _ in 1..layers {
        spec += " -> relu 4";
    }
    spec + " -> 2 : nll"
}

#[test]
fn too_many_layers_is_one_error_under_layer_65_in_every_command() {
    let cache = std::env::temp_dir().join(format!("mlp-cli-deep-{}", std::process::id()));
    for layers in [256, 257, 300] {
        let spec = deep(layers);
        // Layer 65 starts after the input and 64 arrows.
        let start = spec.match_indices(" -> ").nth(64).unwrap().0 + 4;
        let caret = format!("  │ {}^^^^^^\n", " ".repeat(start));
        for command in ["check", "explain", "expand", "graph", "train"] {
            let out = Command::new(env!("CARGO_BIN_EXE_mlp"))
                .args([command, &spec])
                .env("MLP_CACHE", &cache)
                .output()
                .expect("the binary runs");
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{command} {layers}: {stderr}");
            assert_eq!(
                stderr.matches("error:").count(),
                1,
                "{command} {layers}: {stderr}"
            );
            assert!(
                stderr.contains(
                    "error: too many layers: a network has at most 64, and this is layer 65"
                ),
                "{command} {layers}: {stderr}"
            );
            assert!(stderr.contains(&caret), "{command} {layers}: {stderr}");
        }
    }
    // Nothing was built for a spec that does not validate.
    assert!(!cache.exists());
    let out = mlp(&["check", &deep(64)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn derivations_past_the_limits_are_errors_under_their_activation() {
    let product = vec!["x"; 31].join(" * ");
    let spec = format!("act c(x) = {product}; 3 -> tanh 4 -> c 4 -> 2 : mse");
    let column = spec.find("-> c").unwrap() + 3;
    for command in ["check", "explain", "expand", "graph", "train"] {
        let out = mlp(&[command, &spec]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains("error: the derivative of layer 2 (`c`) is too large: 1055 operations before simplification, at most 1000"),
            "{command}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("  │ {}^\n", " ".repeat(column))),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn check_notes_parameters_the_loss_does_not_depend_on() {
    let out = mlp(&["check", "act zz(x) = 0*x; 3 -> zz 4 -> 2 : mse"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("note: the loss does not depend on W1, b1: their gradients are identically zero, and training leaves them as initialized"),
        "{stdout}"
    );
    let out = mlp(&["check", "3 -> relu 4 -> 2 : mse"]);
    assert!(!text(&out.stdout).contains("note:"));
}

#[test]
fn ranks_must_be_a_count_and_only_for_train() {
    let out = mlp(&["train", "2 -> 2 : nll", "--ranks", "0", "--data", "x.csv"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--ranks needs a number of processes (1 or more), found `0`"),
        "{}",
        text(&out.stderr)
    );
    let out = mlp(&["train", "2 -> 2 : nll", "--data", "x.csv", "--ranks"]);
    assert!(text(&out.stderr).contains("--ranks needs a number of processes"));
}

#[test]
fn data_that_does_not_fit_the_spec_is_refused_before_building() {
    let dir = scratch("fit");
    let csv = dir.join("three.csv");
    std::fs::write(&csv, "a,b,label\n0.5,1,0\n").unwrap();
    let out = mlp(&[
        "train",
        "3 -> tanh 4 -> 2 : nll",
        "--data",
        csv.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("rows have 3 columns, but `3 -> tanh 4 -> 2 : nll` takes 3 inputs and 1 label column, 4 in all"),
        "{err}"
    );
    assert!(!err.contains("building the trainer for"), "{err}");
    let out = mlp(&[
        "train",
        "2 -> 3 : mse",
        "--data",
        csv.to_str().unwrap(),
        "--targets=2",
    ]);
    assert!(text(&out.stderr).contains("takes 2 inputs and 2 target columns, 4 in all"));
    let out = mlp(&["train", "2 -> 3 : nll", "--data", "../data/mnist"]);
    assert!(
        text(&out.stderr).contains("its images have 784 pixels, but `2 -> 3 : nll` takes 2 inputs"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_test_file_that_is_missing_or_does_not_fit_is_refused_before_building() {
    let dir = scratch("test-file");
    let data = dir.join("data.csv");
    std::fs::write(&data, "a,b,label\n0.5,1,0\n").unwrap();
    let narrow = dir.join("narrow.csv");
    std::fs::write(&narrow, "a,label\n0.5,0\n").unwrap();
    let missing = dir.join("missing.csv");
    let train = |test: &std::path::Path| {
        let out = mlp(&[
            "train",
            "2 -> tanh 4 -> 2 : nll",
            "--data",
            data.to_str().unwrap(),
            "--test",
            test.to_str().unwrap(),
        ]);
        assert!(!out.status.success());
        text(&out.stderr)
    };
    let err = train(&missing);
    assert!(
        err.contains(&format!(
            "--test {}: no such file or folder",
            missing.display()
        )),
        "{err}"
    );
    assert!(!err.contains("building the trainer for"), "{err}");
    let err = train(&narrow);
    assert!(
        err.contains(&format!(
            "--test {}: rows have 2 columns, but `2 -> tanh 4 -> 2 : nll` takes 2 inputs and 1 label column, 3 in all",
            narrow.display()
        )),
        "{err}"
    );
    assert!(!err.contains("building the trainer for"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
