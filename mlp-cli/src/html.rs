//! `mlp explain SPEC --html FILE`: one self-contained HTML page with the data flow (drawn as
//! SVG) and the derivation, its mathematics rendered by KaTeX (vendored in `vendor/katex/`, inlined with its fonts, so that
//! the page needs no network), and the generated Rust of each step beside it.
//!
//! After rendering, the page sets `data-katex-errors` on `<body>` to the number of formulas
//! KaTeX could not render, which the tests read in headless Chromium.

use base64::Engine;
use mlp_compiler::Plan;

/// KaTeX's script.
const KATEX_JS: &str = include_str!("../vendor/katex/katex.min.js");
/// KaTeX's style sheet, whose fonts [`inline_fonts`] replaces with the bytes below.
const KATEX_CSS: &str = include_str!("../vendor/katex/katex.min.css");

macro_rules! font {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../vendor/katex/fonts/", $name, ".woff2")).as_slice(),
        )
    };
}

/// Every font KaTeX's style sheet names, as `woff2`.
const FONTS: &[(&str, &[u8])] = &[
    font!("KaTeX_AMS-Regular"),
    font!("KaTeX_Caligraphic-Bold"),
    font!("KaTeX_Caligraphic-Regular"),
    font!("KaTeX_Fraktur-Bold"),
    font!("KaTeX_Fraktur-Regular"),
    font!("KaTeX_Main-Bold"),
    font!("KaTeX_Main-BoldItalic"),
    font!("KaTeX_Main-Italic"),
    font!("KaTeX_Main-Regular"),
    font!("KaTeX_Math-BoldItalic"),
    font!("KaTeX_Math-Italic"),
    font!("KaTeX_SansSerif-Bold"),
    font!("KaTeX_SansSerif-Italic"),
    font!("KaTeX_SansSerif-Regular"),
    font!("KaTeX_Script-Regular"),
    font!("KaTeX_Size1-Regular"),
    font!("KaTeX_Size2-Regular"),
    font!("KaTeX_Size3-Regular"),
    font!("KaTeX_Size4-Regular"),
    font!("KaTeX_Typewriter-Regular"),
];

/// The page's own style.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:80rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}\
h1 code{font-size:0.8em}h2{font-size:1rem;font-weight:normal;margin:1.6rem 0 0.4rem}\
.d{overflow-x:auto;padding:0.2rem 0}.note,.rule{color:#555;font-size:0.9rem;margin:0.2rem 0 0.2rem 1.5rem}\
.step{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1rem;align-items:start}\
pre{background:#f6f6f4;padding:0.6rem;overflow-x:auto;font-size:0.8rem;margin:0.3rem 0}";

/// Renders every `data-tex` element, then counts the formulas KaTeX could not render.
const SCRIPT: &str = "(function(){var errors=0;\
document.querySelectorAll('[data-tex]').forEach(function(e){\
try{katex.render(e.dataset.tex,e,{displayMode:e.classList.contains('d'),throwOnError:true});}\
catch(x){errors++;e.textContent=e.dataset.tex;e.title=String(x);e.classList.add('katex-failed');}});\
document.body.dataset.katexErrors=String(errors);})();";

/// KaTeX's style sheet with each `@font-face` reading its `woff2` font from a data URL.
fn inline_fonts(css: &str) -> Result<String, String> {
    let mut out = String::with_capacity(css.len() + 400_000);
    let mut rest = css;
    while let Some(at) = rest.find("src:url(fonts/") {
        out.push_str(&rest[..at]);
        let face = &rest[at..];
        let end = face
            .find('}')
            .ok_or("an unterminated @font-face in katex.min.css")?;
        let name = face["src:url(fonts/".len()..]
            .split(".woff2")
            .next()
            .unwrap_or_default();
        let (_, bytes) = FONTS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| format!("katex.min.css names a font not vendored: {name}"))?;
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        out.push_str(&format!(
            "src:url(data:font/woff2;base64,{data}) format(\"woff2\")"
        ));
        rest = &face[end..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The page for `plan`: the derivation (with every rewrite if `steps`), each step beside the
/// block of the generated `code` that computes its result.
pub fn page(plan: &Plan, steps: bool, code: &str) -> Result<String, String> {
    let css = inline_fonts(KATEX_CSS)?;
    let flow = format!(
        "<h2>Data flow: the forward pass (gray arrows), the backward pass the gradient needs (blue), each parameter's gradient under it</h2>\n<div class=\"d\">{}</div>\n",
        plan.svg()
    );
    let body = beside(&plan.derivation.html(None, steps), &code_blocks(code));
    let body = match body.find("\n") {
        // After the title.
        Some(at) => format!("{}{flow}{}", &body[..=at], &body[at + 1..]),
        None => flow + &body,
    };
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<title>Derivation of {title}</title>\n<style>{css}</style>\n<style>{STYLE}</style>\n\
<script>{KATEX_JS}</script>\n</head>\n<body>\n{body}\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        title = escape(&plan.network.spec()),
    ))
}

/// `body` with each `section.step` given the code block whose comment names its equation.
fn beside(body: &str, blocks: &[(Vec<String>, String)]) -> String {
    const OPEN: &str = "<section class=\"step\" data-equation=\"";
    const CLOSE: &str = "</div></section>";
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find(OPEN) {
        let section = &rest[at..];
        let key_end = section[OPEN.len()..]
            .find('"')
            .map_or(0, |k| OPEN.len() + k);
        let key = &section[OPEN.len()..key_end];
        let Some(end) = section.find(CLOSE) else {
            break;
        };
        out.push_str(&rest[..at + end]);
        out.push_str("</div>");
        let code = blocks
            .iter()
            .find(|(keys, _)| keys.iter().any(|k| escape(k) == key));
        if let Some((_, code)) = code {
            out += &format!("<pre><code>{}</code></pre>", escape(code));
        }
        out.push_str("</section>");
        rest = &section[end + CLOSE.len()..];
    }
    out.push_str(rest);
    out
}

/// Each block of the generated code that computes equations: the equations its
/// `/// equation   [matrix form]` comments name (a product's epilogue adds a second), and
/// the comments with the braces that follow, in order.
fn code_blocks(code: &str) -> Vec<(Vec<String>, String)> {
    let equation = |line: &str| -> Option<String> {
        let text = line.trim_start().strip_prefix("/// ")?;
        let text = text
            .strip_prefix("then, in the product's epilogue: ")
            .unwrap_or(text);
        let (eq, _) = text.split_once("   [")?;
        text.ends_with(']').then(|| eq.to_owned())
    };
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < lines.len() {
        if equation(lines[k]).is_none() {
            k += 1;
            continue;
        }
        let mut keys = Vec::new();
        let mut j = k;
        while j < lines.len()
            && let Some(eq) = equation(lines[j])
        {
            keys.push(eq);
            j += 1;
        }
        let mut depth = 0i64;
        while j < lines.len() {
            depth += lines[j].matches('{').count() as i64 - lines[j].matches('}').count() as i64;
            j += 1;
            if depth <= 0 {
                break;
            }
        }
        let block = &lines[k..j];
        let indent = block
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let text: Vec<&str> = block
            .iter()
            .map(|l| l.get(indent..).unwrap_or(l.trim()))
            .collect();
        out.push((keys, text.join("\n")));
        k = j;
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_font_is_inlined_and_nothing_is_fetched() {
        let css = inline_fonts(KATEX_CSS).expect("every font vendored");
        assert!(!css.contains("url(fonts/"), "a font is still a file");
        assert_eq!(css.matches("data:font/woff2;base64,").count(), FONTS.len());
    }

    #[test]
    fn code_blocks_follow_their_equation_comments() {
        let code = "fn f() {\n    /// a = b   [A = B]\n    {\n        x();\n    }\n    /// c = d   [C = D]\n    {\n        y();\n    }\n}\n";
        let blocks = code_blocks(code);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].0, ["a = b"]);
        assert_eq!(blocks[0].1, "/// a = b   [A = B]\n{\n    x();\n}");
        assert_eq!(blocks[1].0, ["c = d"]);
        let fused =
            "/// a = b   [A = B]\n/// then, in the product's epilogue: c = d   [C = D]\n{\n}\n";
        assert_eq!(code_blocks(fused)[0].0, ["a = b", "c = d"]);
    }
}
