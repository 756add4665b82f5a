//! `mlp explain SPEC --html FILE`: one self-contained page for the seed network and every
//! snapshot network of `mlp-compiler/tests/derivations/` (with and without `--steps`), which
//! fetches nothing, draws the data flow, puts the generated code beside each step, and renders
//! in headless
//! Chromium with no KaTeX error; a screenshot of the seed network's page is written to the
//! test's target folder.
//!
//! Chromium comes from Debian's `chromium`; without it the rendering is skipped and said so,
//! unless `MLP_REQUIRE_CHROMIUM` is set, which makes its absence a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

fn specs() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mlp-compiler/tests/derivations");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("the snapshot networks")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "mlp"))
        .map(|p| {
            let name = p
                .file_stem()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&p).expect("a spec"))
        })
        .collect();
    out.sort();
    out
}

/// Writes the page of `spec` (with `--steps` if asked) and returns its path and text.
fn page(dir: &Path, name: &str, spec: &str, steps: bool) -> (PathBuf, String) {
    let file = dir.join(format!("{name}{}.html", if steps { "-steps" } else { "" }));
    let mut args = vec![
        "explain",
        spec.trim(),
        "--html",
        file.to_str().expect("UTF-8"),
    ];
    if steps {
        args.push("--steps");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(&args)
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&file).expect("the page");
    (file, html)
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn headless(browser: &str, extra: &[&str], file: &Path) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--virtual-time-budget=10000",
        ])
        .args(extra)
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("chromium runs")
}

#[test]
fn pages_are_self_contained_and_render_without_katex_errors() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html");
    std::fs::create_dir_all(&dir).expect("a folder");
    let browser = chromium();
    if browser.is_none() {
        assert!(
            std::env::var_os("MLP_REQUIRE_CHROMIUM").is_none(),
            "MLP_REQUIRE_CHROMIUM is set but chromium is not on PATH"
        );
        eprintln!("rendering skipped: chromium is not installed (Debian: chromium)");
    }
    let mut pages: Vec<(String, String)> = Vec::new();
    for (name, spec) in specs() {
        for steps in [false, true] {
            let (_, html) = page(&dir, &name, &spec, steps);
            // Nothing fetched at view time: no link, no remote script, style or font.
            for remote in ["<link", "src=\"http", "url(http", "url(fonts/", "@import"] {
                assert!(!html.contains(remote), "{name}: `{remote}` in the page");
            }
            assert!(
                html.contains("data:font/woff2;base64,"),
                "{name}: no inlined font"
            );
            // The data flow, drawn.
            let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"flow\"";
            assert!(html.contains(svg), "{name}: no data-flow drawing");
            // Each step has the generated code that computes its result beside it.
            let steps_shown = html.matches("<section class=\"step\"").count();
            let with_code = html.matches("</div><pre><code>").count();
            assert!(
                steps_shown > 0 && with_code == steps_shown,
                "{name}: {with_code} of {steps_shown} steps have their code"
            );
            pages.push((
                format!("{name}{}", if steps { " --steps" } else { "" }),
                html,
            ));
        }
    }
    // One browser start for every page: their bodies in one document, under the first
    // page's head (KaTeX and its fonts) and with the rendering script once, at the end.
    if let Some(browser) = browser {
        let head_end = pages[0].1.find("<body>").expect("a body");
        let mut all = pages[0].1[..head_end].to_owned() + "<body>\n";
        let script_at = |html: &str| html.rfind("<script>").expect("the rendering script");
        for (name, html) in &pages {
            let body =
                &html[html.find("<body>").expect("a body") + "<body>".len()..script_at(html)];
            all += &format!("<section data-page=\"{name}\">{body}</section>\n");
        }
        let last = &pages[pages.len() - 1].1;
        all += &last[script_at(last)..];
        let file = dir.join("all.html");
        std::fs::write(&file, &all).expect("written");
        let out = headless(browser, &["--dump-dom"], &file);
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(
            dom.contains("<body data-katex-errors=\"0\">"),
            "KaTeX errors: {}",
            dom.lines()
                .find(|l| l.contains("<body"))
                .unwrap_or("no body")
        );
        let displays = dom.matches("class=\"katex-display\"").count();
        let expected = all.matches("<div class=\"d\" data-tex=").count();
        assert_eq!(displays, expected, "every display formula rendered");
    }
    if let Some(browser) = browser {
        let (file, _) = page(
            &dir,
            "seed-shot",
            "784 -> relu 512 -> relu 512 -> 10 : nll",
            false,
        );
        let shot = dir.join("seed.png");
        let _ = std::fs::remove_file(&shot);
        let arg = format!("--screenshot={}", shot.display());
        headless(browser, &[&arg, "--window-size=1400,2400"], &file);
        let png = std::fs::read(&shot).expect("a screenshot");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{}",
            shot.display()
        );
    }
}
