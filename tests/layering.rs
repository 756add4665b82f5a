//! The layering ARCHITECTURE.md states is the layering the code has: within each crate, no
//! cycle among the modules (a `use crate::…`, `super::…` or inline `crate::…` path is an edge
//! to the deepest module it names), and no edge from a module to one of a higher layer, the
//! layers read from ARCHITECTURE.md's "Layers of <crate>" lists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path inside a crate: `["linalg", "gemm"]`; the crate root is empty.
type Module = Vec<String>;

/// Every module file of the crate at `src`, by module path.
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).expect("inside src");
            let mut module: Module = rel
                .iter()
                .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            if module
                .last()
                .is_some_and(|m| m == "mod" || m == "lib" || m == "main")
            {
                module.pop();
            }
            out.insert(module, path);
        }
    }
    out
}

/// The paths a line of code names: `crate::a::b`, `super::c`, and the members of a `use`
/// group (`crate::a::{b, c::d}` names `crate::a::b` and `crate::a::c::d`).
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        let Some(start) = ["crate::", "super::", "self::"]
            .iter()
            .filter_map(|p| rest.find(p))
            .min()
        else {
            break;
        };
        let begin = at + start;
        let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        if begin > 0 && (ident(bytes[begin - 1]) || bytes[begin - 1] == b':') {
            at = begin + 1;
            continue;
        }
        let mut end = begin;
        while end < code.len() && (ident(bytes[end]) || bytes[end] == b':') {
            end += 1;
        }
        let prefix: Vec<String> = code[begin..end]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if code[end..].starts_with('{') {
            let close = code[end..].find('}').map_or(code.len(), |c| end + c);
            for member in code[end + 1..close].split(',') {
                let mut path = prefix.clone();
                path.extend(
                    member
                        .split("::")
                        .map(|s| s.trim().trim_start_matches('{'))
                        .filter(|s| !s.is_empty() && *s != "self" && !s.contains(' '))
                        .map(str::to_string),
                );
                out.push(path);
            }
            at = close;
        } else {
            out.push(prefix);
            at = end;
        }
    }
    out
}

/// The module a path names, from module `from`: the deepest existing module along it.
fn resolve(from: &Module, path: &[String], known: &BTreeSet<Module>) -> Option<Module> {
    let mut current: Module = Vec::new();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => rest = &path[1..],
        Some("super") | Some("self") => {
            current = from.clone();
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" => {
                        current.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    for segment in rest {
        let mut next = current.clone();
        next.push(segment.clone());
        if !known.contains(&next) {
            break;
        }
        current = next;
    }
    Some(current)
}

/// The edges of one file: module `module`'s code (tests left out) to the modules it names. An
/// inline `mod name {` block extends the module path for what it holds.
fn edges(module: &Module, text: &str, known: &BTreeSet<Module>) -> BTreeSet<Module> {
    let mut out = BTreeSet::new();
    let mut inline: Vec<(String, i64)> = Vec::new();
    let mut depth = 0i64;
    for line in text.lines() {
        let here: Module = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(m, _)| m.clone()))
            .collect();
        // A doc comment's links are edges too (rustdoc resolves them); its braces are not code.
        let start = line.trim_start();
        let doc = start
            .strip_prefix("///")
            .or_else(|| start.strip_prefix("//!"));
        let code = doc.unwrap_or_else(|| line.split("//").next().unwrap_or(""));
        let trimmed = code.trim();
        if doc.is_none() && trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        for path in paths(code) {
            if let Some(target) = resolve(&here, &path, known)
                && !target.is_empty()
                && !module.starts_with(&target)
                && &target != module
            {
                out.insert(target);
            }
        }
        if doc.is_some() {
            continue;
        }
        let opens = code.matches('{').count() as i64;
        let closes = code.matches('}').count() as i64;
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        if let Some(k) = words.iter().position(|w| *w == "mod")
            && trimmed.ends_with('{')
            && let Some(name) = words.get(k + 1)
        {
            inline.push((name.trim_end_matches('{').to_string(), depth + 1));
        }
        depth += opens - closes;
        while inline.last().is_some_and(|(_, d)| depth < *d) {
            inline.pop();
        }
    }
    out
}

/// The layers of `krate` listed in ARCHITECTURE.md, lowest first: the backquoted names on the
/// numbered lines after "Layers of `krate`".
fn layers(krate: &str) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let heading = format!("Layers of `{krate}`");
    let after = text
        .split_once(&heading)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md lists the layers of `{krate}`"))
        .1;
    let mut out = BTreeMap::new();
    for line in after.lines() {
        let numbered = line
            .trim()
            .split_once(". ")
            .and_then(|(n, names)| Some((n.parse::<usize>().ok()?, names)));
        match numbered {
            Some((rank, names)) => {
                for name in names.split('`').skip(1).step_by(2) {
                    out.insert(name.to_string(), rank);
                }
            }
            // The text before the list, then the end of the list.
            None if out.is_empty() => continue,
            None => break,
        }
    }
    assert!(!out.is_empty(), "no layers listed for `{krate}`");
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        node: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        state: &mut BTreeMap<Module, u8>,
        path: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        match state.get(node) {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|m| m == node).expect("on the path");
                let mut found = path[start..].to_vec();
                found.push(node.clone());
                return Some(found);
            }
            _ => {}
        }
        state.insert(node.clone(), 1);
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, state, path) {
                return Some(found);
            }
        }
        path.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if let Some(found) = visit(node, graph, &mut state, &mut Vec::new()) {
            return Some(found);
        }
    }
    None
}

fn show(m: &Module) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// Checks `krate` (its folder's `src`) and returns its graph.
fn check(krate: &str) {
    let src = root().join(krate).join("src");
    let files = modules(&src);
    let known: BTreeSet<Module> = files.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, path) in &files {
        if module.is_empty() {
            continue; // the crate root: its module list and re-exports
        }
        let text = std::fs::read_to_string(path).expect("a source file");
        graph.insert(module.clone(), edges(module, &text, &known));
    }
    if let Some(found) = cycle(&graph) {
        let names: Vec<String> = found.iter().map(show).collect();
        panic!("{krate}: modules use each other: {}", names.join(" → "));
    }
    let layers = layers(krate);
    let mut wrong = Vec::new();
    for (module, targets) in &graph {
        let Some(&from) = layers.get(&module[0]) else {
            panic!("{krate}: `{}` is in no layer of ARCHITECTURE.md", module[0]);
        };
        for target in targets {
            let to = layers.get(&target[0]).copied().unwrap_or(usize::MAX);
            if to > from {
                wrong.push(format!("{} → {}", show(module), show(target)));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{krate}: uses that point to a higher layer:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn runtime_layers_hold() {
    check("mlp-runtime");
}

#[test]
fn compiler_layers_hold() {
    check("mlp-compiler");
}

/// The checker itself finds what it must: paths in groups, relative paths, and a cycle.
#[test]
fn the_checker_sees_paths_and_cycles() {
    assert_eq!(
        paths("use crate::a::{b, c::d}; let x = super::e::f(crate::g);"),
        vec![
            vec!["crate", "a", "b"],
            vec!["crate", "a", "c", "d"],
            vec!["super", "e", "f"],
            vec!["crate", "g"],
        ]
    );
    let known: BTreeSet<Module> = [vec!["a".to_string()], vec!["a".into(), "b".into()]]
        .into_iter()
        .collect();
    let from = vec!["a".to_string(), "b".to_string()];
    assert_eq!(
        resolve(&from, &["super".into(), "x".into()], &known),
        Some(vec!["a".to_string()])
    );
    assert_eq!(
        edges(&from, "mod os {\n    use super::Y;\n}\n", &known),
        BTreeSet::new(),
        "super:: inside an inline module is the file's own module"
    );
    let mut graph = BTreeMap::new();
    graph.insert(vec!["a".to_string()], [vec!["b".to_string()]].into());
    graph.insert(vec!["b".to_string()], [vec!["a".to_string()]].into());
    assert!(cycle(&graph).is_some());
}
