//! The README's `mlp` commands, run as written: every line of a `sh` block and every inline
//! command that runs `mlp` (`target/release/mlp …` or `cargo run -p mlp-cli -- …`) is run
//! with this build's binary, in order, in a folder holding the files they name (`iris.csv`,
//! `new.csv`), and must succeed. Builds one trainer in release (the CLI tests' cache).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The README's `mlp` commands, each as its arguments (after `mlp`), in the order they appear.
fn commands(readme: &str) -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sh = trimmed == "```sh";
            continue;
        }
        if in_sh {
            lines.push(trimmed.to_string());
        } else {
            // Inline commands in the prose: `cargo run -p mlp-cli -- …`.
            lines.extend(
                line.split('`')
                    .skip(1)
                    .step_by(2)
                    .filter(|span| span.starts_with("cargo run -p mlp-cli -- "))
                    .map(str::to_string),
            );
        }
    }
    lines
        .iter()
        .filter_map(|line| {
            let line = line.split(" # ").next().unwrap().trim();
            let line = line.split(" | ").next().unwrap();
            let args = line
                .strip_prefix("target/release/mlp ")
                .or_else(|| line.strip_prefix("cargo run -p mlp-cli -- "))
                .or_else(|| line.strip_prefix("cargo run --release -p mlp-cli -- "))?;
            // An elided spec ("…") stands for one shown before it.
            (!args.contains('…')).then(|| words(args))
        })
        .collect()
}

/// Splits a command line into words as a POSIX shell would for the quoting the README uses:
/// blanks separate words; double or single quotes keep blanks in one.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (Some(q), _) if c == q => quote = None,
            (None, ' ') => out.extend(word.take()),
            _ => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "unbalanced quote in {line}");
    out.extend(word);
    out
}

/// Four measurements of three kinds of flower, separable as iris is (150 rows; the label is
/// the class's index).
fn iris_like(rows: usize, labelled: bool) -> String {
    let mut csv = String::from("sepal_length,sepal_width,petal_length,petal_width");
    csv += if labelled { ",species\n" } else { "\n" };
    for k in 0..rows {
        let class = k % 3;
        let jitter = |m: usize| ((k * m) % 17) as f32 / 40.0;
        let centre = [
            [5.0, 3.4, 1.5, 0.2],
            [5.9, 2.8, 4.3, 1.3],
            [6.6, 3.0, 5.6, 2.0],
        ][class];
        let row: Vec<String> = (0..4)
            .map(|i| format!("{:.2}", centre[i] + jitter(7 + 3 * i) - 0.2))
            .collect();
        csv += &row.join(",");
        if labelled {
            csv += &format!(",{class}");
        }
        csv.push('\n');
    }
    csv
}

#[test]
fn the_shell_parses_like_a_shell() {
    assert_eq!(
        words(r#"train "4 -> tanh 16 -> 3 : nll" --data iris.csv"#),
        ["train", "4 -> tanh 16 -> 3 : nll", "--data", "iris.csv"]
    );
    assert_eq!(words("a '' b"), ["a", "", "b"]);
}

#[test]
fn every_mlp_command_in_the_readme_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let commands = commands(&readme);
    let subcommands: Vec<&str> = commands.iter().map(|c| c[0].as_str()).collect();
    for needed in [
        "check", "expand", "explain", "graph", "train", "eval", "predict",
    ] {
        assert!(
            subcommands.contains(&needed),
            "the README shows no `mlp {needed}`: {subcommands:?}"
        );
    }
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join(format!("readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("iris.csv"), iris_like(150, true)).unwrap();
    std::fs::write(dir.join("new.csv"), iris_like(6, false)).unwrap();
    for args in &commands {
        let out = Command::new(env!("CARGO_BIN_EXE_mlp"))
            .args(args)
            .current_dir(&dir)
            .env("MLP_CACHE", tmp.join("mlp-cache"))
            .output()
            .expect("the binary runs");
        assert!(
            out.status.success(),
            "`mlp {}` failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.stdout.is_empty(),
            "`mlp {}` printed nothing",
            args.join(" ")
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
