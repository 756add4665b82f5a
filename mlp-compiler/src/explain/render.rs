//! The derivation trace on a page: one walk over the [`Derivation`], laid out by a [`Page`] as
//! plain text or as LaTeX. What is said, and in which order, is decided here once; a page only
//! knows how its notation sets a heading, a row of display math and a note.

use super::trace::{Derivation, Jacobian, ParamTrace, Step};
use crate::autodiff::forward::L;
use crate::ir::notation::{Show, Style};
use crate::ir::{Ref, Var};
use crate::lower::shape_text;
use crate::simplify::rules::{self, Kind};

/// Piece of running text: words, or mathematics already printed in the page's style.
enum Seg {
    Words(String),
    Math(String),
}

/// One row of a step: an equation `lhs = rhs` (or `= rhs`, continuing the row above it), a
/// note on it, or both; under a label in text.
struct Row {
    label: &'static str,
    equation: Option<(String, String)>,
    /// Whether the equation continues the previous one (`&= …` in LaTeX).
    continues: bool,
    note: Option<String>,
}

impl Row {
    fn equation(label: &'static str, lhs: String, rhs: String) -> Row {
        Row {
            label,
            equation: Some((lhs, rhs)),
            continues: false,
            note: None,
        }
    }

    fn note(label: &'static str, note: String) -> Row {
        Row {
            label,
            equation: None,
            continues: false,
            note: Some(note),
        }
    }
}

/// A page being written in one style.
struct Page {
    style: Style,
    out: String,
}

impl Page {
    fn math(&self, text: &str, latex: &str) -> Seg {
        Seg::Math(match self.style {
            Style::Text => text.to_owned(),
            Style::Latex => latex.to_owned(),
        })
    }

    fn var(&self, v: Var) -> String {
        Show(&v, self.style).to_string()
    }

    /// `∂L/∂W²` (`\partial L / \partial W^{2}`).
    fn by_loss(&self, v: Var) -> String {
        match self.style {
            Style::Text => format!("∂L/∂{}", self.var(v)),
            Style::Latex => format!("\\partial L / \\partial {}", self.var(v)),
        }
    }

    fn chain(&self, chain: &[Var]) -> String {
        let arrow = match self.style {
            Style::Text => " → ",
            Style::Latex => " \\to ",
        };
        let names: Vec<String> = chain.iter().map(|v| self.var(*v)).collect();
        names.join(arrow)
    }

    fn title(&mut self, spec: &str) {
        self.out += &match self.style {
            Style::Text => format!("Derivation of {spec}\n"),
            Style::Latex => format!("% Derivation of {spec}\n"),
        };
    }

    /// A heading in running text: a paragraph of its own.
    fn heading(&mut self, segs: &[Seg]) {
        let mut line = String::new();
        for s in segs {
            match (s, self.style) {
                (Seg::Words(w), Style::Text) | (Seg::Math(w), Style::Text) => line += w,
                (Seg::Words(w), Style::Latex) => line += &latex_text(w),
                (Seg::Math(m), Style::Latex) => line += &format!("${m}$"),
            }
        }
        self.out += &match self.style {
            Style::Text => format!("\n{line}\n"),
            Style::Latex => format!("\\paragraph{{}}{line}\n"),
        };
    }

    /// Display math, one row per entry of `rows`.
    fn display(&mut self, rows: &[Row]) {
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
    let mut line = match &row.equation {
        Some((_, rhs)) if row.continues => format!("&= {rhs} \\\\\n"),
        Some((lhs, rhs)) => format!("{lhs} &= {rhs} \\\\\n"),
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

impl Derivation {
    /// The step that derives `v̄`, if `v̄` was derived.
    pub fn step(&self, v: Var) -> Option<&Step> {
        self.steps.iter().find(|s| s.var == v)
    }

    /// The parameter named like `W2` or `b1`, if there is one.
    pub fn param(&self, name: &str) -> Option<&ParamTrace> {
        self.params.iter().find(|p| p.param.ascii() == name)
    }

    /// Plain text: every adjoint once and every parameter (or only what `only` needs).
    pub fn text(&self, only: Option<&ParamTrace>) -> String {
        self.render(only, Style::Text)
    }

    /// LaTeX (a fragment for an `article`, with `amsmath`): every adjoint once and every
    /// parameter (or only what `only` needs).
    pub fn latex(&self, only: Option<&ParamTrace>) -> String {
        self.render(only, Style::Latex)
    }

    /// The trace in `style`: the forward pass, its stable form, each adjoint from the loss
    /// down, then each parameter. With `only`, the adjoints on its chain and it.
    pub fn render(&self, only: Option<&ParamTrace>, style: Style) -> String {
        let mut page = Page {
            style,
            out: String::new(),
        };
        let show = |e: &crate::ir::Equation| {
            Row::equation(
                "",
                Show(&e.lhs, style).to_string(),
                Show(&e.rhs, style).to_string(),
            )
        };
        page.title(&self.spec);
        let forward = [
            Seg::Words("Forward pass, from the definitions (".to_owned()),
            page.math("n", "n"),
            Seg::Words(" indexes the ".to_owned()),
            page.math("N", "N"),
            Seg::Words(" samples of a batch):".to_owned()),
        ];
        page.heading(&forward);
        page.display(&self.forward.iter().map(show).collect::<Vec<_>>());
        page.heading(&[Seg::Words("Evaluated in stable form:".to_owned())]);
        page.display(&self.stable.iter().map(show).collect::<Vec<_>>());
        let backward = [
            Seg::Words("Backward pass: ".to_owned()),
            page.math("v̄ = ∂L/∂v", "\\bar{v} = \\partial L / \\partial v"),
            Seg::Words(", and by the chain rule ".to_owned()),
            page.math(
                "v̄ = Σ ū·∂u/∂v",
                "\\bar{v} = \\sum \\bar{u} \\cdot \\partial u / \\partial v",
            ),
            Seg::Words(" over the consumers ".to_owned()),
            page.math("u", "u"),
            Seg::Words(" of ".to_owned()),
            page.math("v", "v"),
            Seg::Words(".".to_owned()),
        ];
        page.heading(&backward);
        let is_param = |v: Var| self.params.iter().any(|p| p.param == v);
        let wanted = |v: Var| only.is_none_or(|o| o.chain.contains(&v));
        for s in self
            .steps
            .iter()
            .filter(|s| !is_param(s.var) && wanted(s.var))
        {
            adjoint(&mut page, s);
        }
        for p in self.params.iter().filter(|p| only.is_none_or(|o| o == *p)) {
            param(&mut page, p, self.step(p.param));
        }
        page.out
    }
}

/// An adjoint of the chain, derived through its consumer.
fn adjoint(page: &mut Page, s: &Step) {
    let bar = Ref {
        var: s.var,
        adjoint: true,
        ix: Vec::new(),
    };
    page.heading(&[
        Seg::Math(Show(&bar, page.style).to_string()),
        Seg::Words(", through its consumer ".to_owned()),
        Seg::Math(page.var(s.consumer)),
        Seg::Words(":".to_owned()),
    ]);
    let rows = step_rows(page.style, s);
    page.display(&rows);
}

/// One parameter: its chain from the loss (whose adjoints are derived above), then its step.
fn param(page: &mut Page, p: &ParamTrace, step: Option<&Step>) {
    let chain = page.chain(&p.chain);
    if p.chain[0] != L {
        let zero = page.by_loss(p.param) + " = 0";
        page.heading(&[
            Seg::Math(zero),
            Seg::Words(": the loss does not depend on ".to_owned()),
            Seg::Math(chain),
        ]);
        return;
    }
    page.heading(&[
        Seg::Math(page.by_loss(p.param)),
        Seg::Words(": the chain ".to_owned()),
        Seg::Math(chain),
    ]);
    if let Some(s) = step {
        let rows = step_rows(page.style, s);
        page.display(&rows);
    }
}

/// A step: its Jacobian, the chain rule's contraction, the rules that simplified it, the
/// result, its matrix form and the kernel that computes it.
fn step_rows(style: Style, s: &Step) -> Vec<Row> {
    let show = |e: &crate::ir::Expr| Show(e, style).to_string();
    let j = &s.jacobian;
    let mut jacobian = Row::equation("Jacobian", partial(j, style), show(&j.entries));
    jacobian.note = Some(format!("{}, {} per sample", j.kind, shape_text(&j.shape)));
    let lowered = match style {
        Style::Text => &s.lowered.matrix,
        Style::Latex => &s.lowered.matrix_latex,
    };
    let (matrix_lhs, matrix_rhs) = lowered.split_once(" = ").unwrap_or((lowered, ""));
    let mut rows = vec![
        jacobian,
        Row::equation(
            "chain rule",
            Show(&s.contraction.lhs, style).to_string(),
            show(&s.contraction.rhs),
        ),
    ];
    rows.extend(rule_list(&s.rules).map(|r| Row::note("rules", r)));
    rows.extend([
        Row {
            continues: true,
            ..Row::equation(
                "result",
                Show(&s.result.lhs, style).to_string(),
                show(&s.result.rhs),
            )
        },
        Row::equation("matrix", matrix_lhs.to_owned(), matrix_rhs.to_owned()),
        Row::note("kernel", s.lowered.description.clone()),
    ]);
    rows
}

fn partial(j: &Jacobian, style: Style) -> String {
    match style {
        Style::Text => format!("∂{}/∂{}", Show(&j.of, style), Show(&j.by, style)),
        Style::Latex => format!(
            "\\frac{{\\partial {}}}{{\\partial {}}}",
            Show(&j.of, style),
            Show(&j.by, style)
        ),
    }
}

/// Whether the rule named `name` only keeps expressions in shape: its [`Kind`] says so.
fn bookkeeping(name: &str) -> bool {
    rules::rule(name).is_some_and(|r| r.kind == Kind::Bookkeeping)
}

/// The rules that did mathematics in a step, with how often each fired (`delta-eliminate ×2,
/// softmax`); `None` if only bookkeeping rules (flattening, unit factors) fired, which the trace
/// does not show.
fn rule_list(rules: &[(&'static str, usize)]) -> Option<String> {
    let shown: Vec<String> = rules
        .iter()
        .filter(|(r, _)| !bookkeeping(r))
        .map(|(r, n)| {
            if *n > 1 {
                format!("{r} ×{n}")
            } else {
                (*r).to_owned()
            }
        })
        .collect();
    (!shown.is_empty()).then(|| shown.join(", "))
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
