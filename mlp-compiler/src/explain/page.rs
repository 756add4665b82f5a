//! A page of the derivation in one style: how plain text and LaTeX set a heading, a line of
//! running text, a row of display math and a note. `explain::render` decides what is said.

use super::rows::{Row, Seg};
use super::{breaks, html};
use crate::ir::Var;
use crate::ir::notation::{Show, Style};

/// A page being written in one style.
pub(super) struct Page {
    /// The notation of mathematics: LaTeX for an HTML page, which KaTeX renders.
    pub style: Style,
    /// Whether the page is HTML (see `explain::html`).
    pub html: bool,
    /// Whether steps show every rewrite.
    pub rewrites: bool,
    pub out: String,
}

impl Page {
    pub(super) fn math(&self, text: &str, latex: &str) -> Seg {
        Seg::Math(match self.style {
            Style::Text => text.to_owned(),
            Style::Latex => latex.to_owned(),
        })
    }

    pub(super) fn var(&self, v: Var) -> String {
        Show(&v, self.style).to_string()
    }

    /// `∂L/∂W²` (`\partial L / \partial W^{2}`).
    pub(super) fn by_loss(&self, v: Var) -> String {
        match self.style {
            Style::Text => format!("∂L/∂{}", self.var(v)),
            Style::Latex => format!("\\partial L / \\partial {}", self.var(v)),
        }
    }

    pub(super) fn chain(&self, chain: &[Var]) -> String {
        let arrow = match self.style {
            Style::Text => " → ",
            Style::Latex => " \\to ",
        };
        let names: Vec<String> = chain.iter().map(|v| self.var(*v)).collect();
        names.join(arrow)
    }

    pub(super) fn title(&mut self, spec: &str) {
        if self.html {
            self.out += &format!(
                "<h1>Derivation of <code>{}</code></h1>\n",
                html::escape(spec)
            );
            return;
        }
        self.out += &match self.style {
            Style::Text => format!("Derivation of {spec}\n"),
            // A long derivation may break across pages, between rows of its displays.
            Style::Latex => format!("% Derivation of {spec}\n\\allowdisplaybreaks\n"),
        };
    }

    /// Running text: plain text as is, LaTeX with its words escaped and math in `$…$`.
    fn running(&self, segs: &[Seg]) -> String {
        let mut line = String::new();
        for s in segs {
            match (s, self.style) {
                (Seg::Words(w), Style::Text) | (Seg::Math(w), Style::Text) => line += w,
                (Seg::Words(w), Style::Latex) => line += &latex_text(w),
                (Seg::Math(m), Style::Latex) => line += &format!("${m}$"),
            }
        }
        line
    }

    /// One line of running text, indented in text, a paragraph of its own in LaTeX.
    pub(super) fn line(&mut self, segs: &[Seg]) {
        if self.html {
            self.out += &format!("<p class=\"line\">{}</p>\n", html::running(segs));
            return;
        }
        let line = self.running(segs);
        self.out += &match self.style {
            Style::Text => format!("  {line}\n"),
            Style::Latex => format!("\\noindent {line}\n\n"),
        };
    }

    /// A heading in running text: a paragraph of its own.
    pub(super) fn heading(&mut self, segs: &[Seg]) {
        if self.html {
            self.out += &format!("<h2>{}</h2>\n", html::running(segs));
            return;
        }
        let line = self.running(segs);
        self.out += &match self.style {
            Style::Text => format!("\n{line}\n"),
            Style::Latex => format!("\\paragraph{{}}{line}\n"),
        };
    }

    /// Display math, one row per entry of `rows`.
    pub(super) fn display(&mut self, rows: &[Row]) {
        if self.html {
            self.out += &html::display(rows);
            return;
        }
        if self.style == Style::Latex {
            self.out += "\\begin{align*}\n";
        }
        for row in rows {
            let line = match self.style {
                Style::Text => text_row(row),
                Style::Latex => latex_row(row),
            };
            self.out += &line;
        }
        if self.style == Style::Latex {
            self.out += "\\end{align*}\n";
        }
    }
}

fn text_row(row: &Row) -> String {
    if row.rewrite {
        let (before, after) = row.equation.clone().unwrap_or_default();
        let identity = row.note.as_deref().unwrap_or_default();
        return format!("      {}: {before} → {after}   ({identity})\n", row.label);
    }
    let mut line = if row.label.is_empty() {
        "  ".to_owned()
    } else {
        format!("  {:<11}", row.label)
    };
    if let Some((lhs, rhs)) = &row.equation {
        line += &format!("{lhs} = {rhs}");
    }
    match (&row.equation, &row.note) {
        (Some(_), Some(note)) => line += &format!("   {note}"),
        (None, Some(note)) => line += note,
        _ => {}
    }
    line + "\n"
}

fn latex_row(row: &Row) -> String {
    if row.rewrite {
        let (before, after) = row.equation.clone().unwrap_or_default();
        return format!(
            "\\intertext{{{}:}}\n{}{}",
            latex_text(row.label),
            broken("&\\phantom{=}", &before),
            broken("&\\to", &after)
        );
    }
    let mut line = match &row.equation {
        Some((_, rhs)) if row.continues => broken("&=", rhs),
        Some((lhs, rhs)) => broken(&format!("{lhs} &="), rhs),
        None => String::new(),
    };
    // A note follows the row it is on, in the text column: not in a column past the margin.
    if let Some(note) = &row.note {
        let label = if row.label.is_empty() {
            String::new()
        } else {
            format!("{}: ", row.label)
        };
        line += &format!("\\intertext{{{}}}\n", latex_text(&(label + note)));
    }
    line
}

/// `head rhs \\`, the right side broken over lines where it is too wide, each line after the
/// first indented under it.
fn broken(head: &str, rhs: &str) -> String {
    let mut out = String::new();
    for (k, piece) in breaks::pieces(rhs).iter().enumerate() {
        if k == 0 {
            out += &format!("{head} {piece} \\\\\n");
        } else {
            out += &format!("&\\quad {piece} \\\\\n");
        }
    }
    out
}

/// Text for `\text{…}`: LaTeX's special characters escaped, Unicode math written out.
fn latex_text(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '_' | '%' | '&' | '#' | '$' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '×' => out.push_str("$\\times$"),
            'ᵀ' => out.push_str("$^\\top$"),
            'Δ' => out.push_str("$\\Delta$"),
            '∂' => out.push_str("$\\partial$"),
            '·' => out.push_str("$\\cdot$"),
            c if "⁰¹²³⁴⁵⁶⁷⁸⁹".contains(c) => {
                let d = "⁰¹²³⁴⁵⁶⁷⁸⁹".chars().position(|x| x == c).unwrap_or(0);
                out.push_str(&format!("$^{{{d}}}$"));
            }
            '\u{0304}' => {
                let last = out.pop().unwrap_or(' ');
                out.push_str(&format!("$\\bar{{{last}}}$"));
            }
            c => out.push(c),
        }
    }
    out
}
