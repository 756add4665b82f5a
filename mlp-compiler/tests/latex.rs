//! The LaTeX derivations typeset cleanly: the seed network's and those of the snapshot
//! networks (`tests/derivations/`), as the trace and with every rewrite (`--steps`), each in
//! an `article` with `amsmath`, compile with pdflatex with no error and no overfull box wider
//! than 10 pt.
//!
//! pdflatex comes from Debian's `texlive-latex-base`, which `.ci/run` installs and then sets
//! `MLP_REQUIRE_PDFLATEX=1`: there, a missing pdflatex fails the test. Elsewhere the test says
//! that it skipped.

use mlp_compiler::ir::notation::Style;
use std::path::Path;
use std::process::Command;

/// The widest overfull box allowed, in points.
const TOLERANCE_PT: f64 = 10.0;

fn pdflatex_present() -> bool {
    Command::new("pdflatex")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The documents: each snapshot network's trace and rewrites, with a name.
fn documents() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/derivations");
    let mut specs: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/derivations")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "mlp"))
        .collect();
    specs.sort();
    let mut out = Vec::new();
    for path in specs {
        let spec = std::fs::read_to_string(&path).expect("a spec");
        let c = mlp_compiler::compile(&spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let stem = path
            .file_stem()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        out.push((stem.clone(), c.derivation.latex(None)));
        let steps = c.derivation.with_rewrites(None, Style::Latex);
        out.push((format!("{stem}-steps"), steps));
    }
    out
}

/// The overfull boxes pdflatex reported in `log`, in points.
fn overfull(log: &str) -> Vec<f64> {
    log.lines()
        .filter_map(|l| l.strip_prefix("Overfull \\hbox ("))
        .filter_map(|l| l.split("pt").next()?.parse().ok())
        .collect()
}

#[test]
fn derivations_typeset_with_pdflatex() {
    if !pdflatex_present() {
        assert!(
            std::env::var_os("MLP_REQUIRE_PDFLATEX").is_none(),
            "MLP_REQUIRE_PDFLATEX is set but pdflatex is not on PATH"
        );
        eprintln!("skipped: pdflatex is not installed (Debian: texlive-latex-base)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("mlp-latex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let mut problems = Vec::new();
    for (name, body) in documents() {
        let tex = format!(
            "\\documentclass{{article}}\n\\usepackage{{amsmath}}\n\\begin{{document}}\n{body}\\end{{document}}\n"
        );
        std::fs::write(dir.join(format!("{name}.tex")), tex).expect("written");
        let out = Command::new("pdflatex")
            .args(["-interaction=nonstopmode", "-halt-on-error"])
            .arg(format!("{name}.tex"))
            .current_dir(&dir)
            .output()
            .expect("pdflatex runs");
        let log = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
        if !out.status.success() {
            let error: Vec<&str> = log.lines().filter(|l| l.starts_with('!')).collect();
            problems.push(format!("{name}: pdflatex failed: {error:?}"));
        }
        for pt in overfull(&log).into_iter().filter(|pt| *pt > TOLERANCE_PT) {
            problems.push(format!("{name}: an overfull box {pt} pt wide"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn overfull_boxes_are_read_from_the_log() {
    let log = "Overfull \\hbox (36.02571pt too wide) detected at line 59\nother\n";
    assert_eq!(overfull(log), vec![36.02571]);
}
