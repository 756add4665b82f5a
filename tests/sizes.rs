//! Small pieces: no source file of the checked crates holds more than [`MAX_FILE_LINES`]
//! lines, and no function more than [`MAX_FN_LINES`], counted from its `fn` line to its closing
//! brace by counting braces (outside comments, strings and character literals).

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 500;
const MAX_FN_LINES: usize = 80;

/// The crates held to the limits.
const CRATES: [&str; 4] = ["mlp-compiler", "mlp-macros", "mlp-runtime", "mlp-cli"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `line` with comments, string and character literals blanked, so that only code braces
/// remain. `in_string` carries an open string across lines.
fn code(line: &str, in_string: &mut bool) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if *in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => *in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => break,
            '"' => *in_string = true,
            // A character literal such as '{' (a lifetime has no closing quote nearby).
            '\'' => {
                let rest: String = chars.clone().take(3).collect();
                if let Some(escaped) = rest.strip_prefix('\\') {
                    // The escaped character, then the closing quote (`'\n'`, `'\''`).
                    if escaped.len() == 2 && escaped.ends_with('\'') {
                        for _ in 0..3 {
                            chars.next();
                        }
                    }
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether `line` starts a function item: `fn name`, after visibility and qualifiers.
fn fn_name(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace();
    loop {
        match words.next()? {
            "pub" | "const" | "async" | "unsafe" | "extern" | "\"C\"" => continue,
            w if w.starts_with("pub(") => continue,
            "fn" => {
                let name = words.next()?;
                return Some(name.split(['(', '<']).next().unwrap_or(name));
            }
            _ => return None,
        }
    }
}

/// The functions of `text` longer than `max` lines, with their lengths.
fn long_functions(text: &str, max: usize) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut in_string = false;
    let cleaned: Vec<String> = lines.iter().map(|l| code(l, &mut in_string)).collect();
    let mut out = Vec::new();
    for (start, line) in cleaned.iter().enumerate() {
        let Some(name) = fn_name(line) else { continue };
        let mut depth = 0i64;
        let mut opened = false;
        for (k, l) in cleaned[start..].iter().enumerate() {
            depth += l.matches('{').count() as i64 - l.matches('}').count() as i64;
            opened |= l.contains('{');
            if !opened && l.trim_end().ends_with(';') {
                break; // a declaration without a body
            }
            if opened && depth <= 0 {
                if k + 1 > max {
                    out.push((name.to_owned(), k + 1));
                }
                break;
            }
        }
    }
    out
}

#[test]
fn no_file_or_function_is_too_long() {
    let mut wrong = Vec::new();
    for krate in CRATES {
        for path in sources(&root().join(krate).join("src")) {
            let text = std::fs::read_to_string(&path).expect("a source file");
            let shown = path
                .strip_prefix(root())
                .unwrap_or(&path)
                .display()
                .to_string();
            let lines = text.lines().count();
            if lines > MAX_FILE_LINES {
                wrong.push(format!("{shown}: {lines} lines (at most {MAX_FILE_LINES})"));
            }
            for (name, n) in long_functions(&text, MAX_FN_LINES) {
                wrong.push(format!(
                    "{shown}: fn {name}: {n} lines (at most {MAX_FN_LINES})"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "too long:\n{}", wrong.join("\n"));
}

/// The counter itself: a long function is found, braces in strings, characters and comments
/// are not counted, and a declaration without a body is skipped.
#[test]
fn the_counter_counts_what_it_must() {
    let body = "    x += 1;\n".repeat(5);
    let text = format!(
        "pub(crate) fn long(a: u8) -> u8 {{\n{body}    let s = \"{{\"; let c = '{{'; // {{\n}}\nfn decl();\nfn short() {{}}\n"
    );
    assert_eq!(long_functions(&text, 7), vec![("long".to_owned(), 8)]);
    assert_eq!(long_functions(&text, 8), vec![]);
}
