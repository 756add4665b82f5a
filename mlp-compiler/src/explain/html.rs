//! The derivation as an HTML fragment: running text as paragraphs, mathematics as LaTeX in
//! `data-tex` attributes (inline `<span class="m">`, display `<div class="d">` holding an
//! `aligned` block), for KaTeX to render in the page `mlp explain --html` writes. Notes sit
//! between display blocks, as `\intertext` does in the LaTeX.

use super::rows::{Row, Seg};

/// `s` with `&`, `<`, `>` and `"` escaped, for text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Running text: words escaped, mathematics (LaTeX) in an inline span.
pub(super) fn running(segs: &[Seg]) -> String {
    let mut line = String::new();
    for s in segs {
        match s {
            Seg::Words(w) => line += &escape(w),
            Seg::Math(m) => {
                line += &format!("<span class=\"m\" data-tex=\"{}\"></span>", escape(m))
            }
        }
    }
    line
}

/// Display rows: runs of equations as one `aligned` block each, notes as paragraphs between.
pub(super) fn display(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut block: Vec<String> = Vec::new();
    let flush = |block: &mut Vec<String>, out: &mut String| {
        if !block.is_empty() {
            let tex = format!("\\begin{{aligned}}{}\\end{{aligned}}", block.join(" \\\\ "));
            *out += &format!("<div class=\"d\" data-tex=\"{}\"></div>\n", escape(&tex));
            block.clear();
        }
    };
    for row in rows {
        if row.rewrite {
            flush(&mut block, &mut out);
            out += &format!("<p class=\"rule\">{}:</p>\n", escape(row.label));
            if let Some((before, after)) = &row.equation {
                block.push(format!("& {before}"));
                block.push(format!("&\\to {after}"));
            }
            continue;
        }
        if let Some((lhs, rhs)) = &row.equation {
            block.push(if row.continues {
                format!("&= {rhs}")
            } else {
                format!("{lhs} &= {rhs}")
            });
        }
        if let Some(note) = &row.note {
            flush(&mut block, &mut out);
            let label = if row.label.is_empty() {
                String::new()
            } else {
                format!("<b>{}</b>: ", escape(row.label))
            };
            out += &format!("<p class=\"note\">{label}{}</p>\n", escape(note));
        }
    }
    flush(&mut block, &mut out);
    out
}
