//! The derivation trace on a page: one walk over the [`Derivation`], laid out by a [`Page`] as
//! plain text or as LaTeX. What is said, and in which order, is decided here once; a page only
//! knows how its notation sets a heading, a row of display math and a note.

use super::page::Page;
use super::rows::{Row, Seg};
use super::trace::{Derivation, Jacobian, ParamTrace, Step};
use crate::autodiff::forward::L;
use crate::ir::notation::{Show, Style, with_written};
use crate::ir::{Expr, Function, Prim, Ref, Var};
use crate::lower::shape_text;
use crate::simplify::rules::{self, Kind};

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

    /// The trace with every rewrite of every step, in order, before → after, each under its
    /// rule's name and identity (`mlp explain --steps`); no step abbreviated.
    pub fn with_rewrites(&self, only: Option<&ParamTrace>, style: Style) -> String {
        self.render_as(only, style, true)
    }

    /// The trace in `style`: the forward pass, its stable form, each adjoint from the loss
    /// down, then each parameter. With `only`, the adjoints on its chain and it.
    pub fn render(&self, only: Option<&ParamTrace>, style: Style) -> String {
        self.render_as(only, style, false)
    }

    /// An HTML fragment (the body of a page): headings and notes as HTML, mathematics as
    /// LaTeX in `data-tex` attributes of `span.m` (inline) and `div.d` (display, an `aligned`
    /// block) for KaTeX to render; with `rewrites`, every rewrite as `--steps` shows them.
    pub fn html(&self, only: Option<&ParamTrace>, rewrites: bool) -> String {
        self.page(only, Style::Latex, rewrites, true)
    }

    fn render_as(&self, only: Option<&ParamTrace>, style: Style, rewrites: bool) -> String {
        self.page(only, style, rewrites, false)
    }

    fn page(&self, only: Option<&ParamTrace>, style: Style, rewrites: bool, html: bool) -> String {
        with_written(&self.written, || {
            self.page_as_written(only, style, rewrites, html)
        })
    }

    fn page_as_written(
        &self,
        only: Option<&ParamTrace>,
        style: Style,
        rewrites: bool,
        html: bool,
    ) -> String {
        let mut page = Page {
            style,
            html,
            rewrites,
            out: String::new(),
        };
        page.title(&self.spec);
        self.forward_pass(&mut page);
        page.heading(&glossary(&page));
        page.heading(&[
            Seg::Words("Backward pass, by the chain rule: ".to_owned()),
            page.math(
                "v̄ = Σ ū·∂u/∂v",
                "\\bar{v} = \\sum \\bar{u} \\cdot \\partial u / \\partial v",
            ),
            Seg::Words(" over the consumers ".to_owned()),
            page.math("u", "u"),
            Seg::Words(" of ".to_owned()),
            page.math("v", "v"),
            Seg::Words("; each adjoint once, from the loss down.".to_owned()),
        ]);
        // With one parameter asked for, or every rewrite, every step is shown in full; else a
        // step of a form shown before is one line that names it.
        let mut shown: Shown = Vec::new();
        let mut shown = (only.is_none() && !rewrites).then_some(&mut shown);
        self.adjoints(&mut page, only, &mut shown);
        for p in self.params.iter().filter(|p| only.is_none_or(|o| o == *p)) {
            let chain = page.chain(&p.chain);
            let name = page.by_loss(p.param);
            // The first adjoint on the chain that is identically zero, if one is.
            let zero = p.chain[1..].iter().find_map(|v| {
                self.step(*v)
                    .filter(|s| s.result.rhs == crate::ir::Expr::Num(0.0))
                    .map(|s| s.var)
            });
            match self.step(p.param) {
                Some(_) if p.chain[0] == L && zero.is_some() => {
                    let at = zero.expect("some");
                    page.heading(&[
                        Seg::Math(name + " = 0"),
                        Seg::Words(": the loss does not depend on ".to_owned()),
                        Seg::Math(page.var(p.param)),
                        Seg::Words(", as ".to_owned()),
                        Seg::Math(adjoint_name(&page, at) + " = 0"),
                    ]);
                }
                Some(s) if p.chain[0] == L => {
                    let heading = vec![
                        Seg::Math(name.clone()),
                        Seg::Words(": the chain ".to_owned()),
                        Seg::Math(chain),
                    ];
                    step_block(&mut page, s, heading, name, shown.as_deref_mut());
                }
                _ => page.heading(&[
                    Seg::Math(name + " = 0"),
                    Seg::Words(": the loss does not depend on ".to_owned()),
                    Seg::Math(chain),
                ]),
            }
        }
        page.out
    }

    /// The forward equations from the definitions, then those the stable form rewrites.
    fn forward_pass(&self, page: &mut Page) {
        let style = page.style;
        let show = |e: &crate::ir::Equation| {
            Row::equation(
                "",
                Show(&e.lhs, style).to_string(),
                Show(&e.rhs, style).to_string(),
            )
        };
        let forward = [
            Seg::Words("Forward pass, from the definitions (".to_owned()),
            page.math("n", "n"),
            Seg::Words(" indexes the ".to_owned()),
            page.math("N", "N"),
            Seg::Words(" samples of a batch):".to_owned()),
        ];
        page.heading(&forward);
        page.display(&self.forward.iter().map(show).collect::<Vec<_>>());
        let rewritten: Vec<Row> = self
            .stable
            .iter()
            .filter(|e| !self.forward.contains(e))
            .map(show)
            .collect();
        if !rewritten.is_empty() {
            page.heading(&[Seg::Words(
                "Evaluated in stable form (where it differs):".to_owned(),
            )]);
            page.display(&rewritten);
        }
        self.functions(page);
    }

    /// The user's functions and their derivatives, each derived once.
    fn functions(&self, page: &mut Page) {
        if self.functions.is_empty() {
            return;
        }
        page.heading(&[Seg::Words(
            "Functions, kept as calls rather than inlined so that no argument is copied; each derivative by the chain rule, once:".to_owned(),
        )]);
        let style = page.style;
        let x = || Expr::Ref(Function::argument());
        let row = |f: Prim, rhs: &Expr| {
            let lhs = Expr::call(f, x());
            Row::equation(
                "",
                Show(&lhs, style).to_string(),
                Show(rhs, style).to_string(),
            )
        };
        let rows: Vec<Row> = (self.functions.iter())
            .flat_map(|f| {
                [
                    row(Prim::Apply(f.clone()), &f.body),
                    row(Prim::Derivative(f.clone()), &f.derivative),
                ]
            })
            .collect();
        page.display(&rows);
    }

    /// Every adjoint that is not a parameter's (with `only`, those on its chain), from the
    /// loss down; the recursion is stated before the first one below the loss.
    fn adjoints(&self, page: &mut Page, only: Option<&ParamTrace>, shown: &mut Option<&mut Shown>) {
        let is_param = |v: Var| self.params.iter().any(|p| p.param == v);
        let wanted = |v: Var| only.is_none_or(|o| o.chain.contains(&v));
        let mut recursion = false;
        for s in self
            .steps
            .iter()
            .filter(|s| !is_param(s.var) && wanted(s.var))
        {
            if s.consumer != L && !recursion {
                recursion = true;
                page.heading(&recursion_text(page));
                page.display(&recursion_rows(page.style));
            }
            let name = adjoint_name(page, s.var);
            let heading = vec![
                Seg::Math(name.clone()),
                Seg::Words(", through its consumer ".to_owned()),
                Seg::Math(page.var(s.consumer)),
            ];
            step_block(page, s, heading, name, shown.as_deref_mut());
        }
    }
}

/// The steps shown in full so far: the form of each, and the name it was shown under.
type Shown = Vec<(String, String)>;

/// What makes two steps the same derivation on different layers: the Jacobian's kind, the
/// rules shown, and its entries with the layer marks erased.
fn form(s: &Step) -> String {
    let unmarked = s.jacobian.entries.map_refs(&|r| Ref {
        var: Var {
            layer: None,
            ..r.var
        },
        ..r.clone()
    });
    let rules = rule_list(&s.rules).unwrap_or_default();
    format!("{} | {rules} | {unmarked}", s.jacobian.kind)
}

/// A step in full under `heading`, or, when `shown` has a step of its form, one line: its
/// result and matrix form, "as" the step shown. In HTML, inside a `section.step` whose
/// `data-equation` is the result as the generated code's comments write it, so that the page
/// can put that code beside it.
fn step_block(
    page: &mut Page,
    s: &Step,
    heading: Vec<Seg>,
    name: String,
    shown: Option<&mut Shown>,
) {
    if page.html {
        page.out += &format!(
            "<section class=\"step\" data-equation=\"{}\"><div class=\"math\">\n",
            super::html::escape(&s.result.to_string())
        );
    }
    step_rows_or_line(page, s, heading, name, shown);
    if page.html {
        page.out += "</div></section>\n";
    }
}

fn step_rows_or_line(
    page: &mut Page,
    s: &Step,
    mut heading: Vec<Seg>,
    name: String,
    shown: Option<&mut Shown>,
) {
    let key = form(s);
    if let Some(shown) = shown {
        if let Some((_, like)) = shown.iter().find(|(k, _)| *k == key) {
            let style = page.style;
            let (lhs, rhs) = (Show(&s.result.lhs, style), Show(&s.result.rhs, style));
            let matrix = match style {
                Style::Text => &s.lowered.matrix,
                Style::Latex => &s.lowered.matrix_latex,
            };
            heading.extend([
                Seg::Words(", as ".to_owned()),
                Seg::Math(like.clone()),
                Seg::Words(": ".to_owned()),
                Seg::Math(format!("{lhs} = {rhs}")),
                Seg::Words(", ".to_owned()),
                Seg::Math(matrix.clone()),
            ]);
            page.line(&heading);
            return;
        }
        shown.push((key, name));
    }
    heading.push(Seg::Words(":".to_owned()));
    page.heading(&heading);
    page.display(&step_rows(page, s));
}

/// `z̄³`: the adjoint of `v`.
fn adjoint_name(page: &Page, v: Var) -> String {
    let bar = Ref {
        var: v,
        adjoint: true,
        ix: Vec::new(),
    };
    Show(&bar, page.style).to_string()
}

/// The letters, and seed 001's names for them.
fn glossary(page: &Page) -> Vec<Seg> {
    vec![
        Seg::Words("Letters: ".to_owned()),
        page.math("v̄ = ∂L/∂v", "\\bar{v} = \\partial L / \\partial v"),
        Seg::Words(" is the adjoint of ".to_owned()),
        page.math("v", "v"),
        Seg::Words(", and in matrix form ".to_owned()),
        page.math("Z̄ˡ", "\\bar{Z}^{l}"),
        Seg::Words(" is written ".to_owned()),
        page.math("Δˡ", "\\Delta^{l}"),
        Seg::Words(". Seed 001 writes ".to_owned()),
        page.math("zˡ, aˡ, Δˡ, Āˡ", "z^{l}, a^{l}, \\Delta^{l}, \\bar{A}^{l}"),
        Seg::Words(" as ".to_owned()),
        page.math("uˡ, zˡ, ξˡ, δˡ", "u^{l}, z^{l}, \\xi^{l}, \\delta^{l}"),
        Seg::Words(".".to_owned()),
    ]
}

/// The heading of the backward recursion, stated once for every layer below the last.
fn recursion_text(page: &Page) -> Vec<Seg> {
    vec![
        Seg::Words("The recursion, for each layer ".to_owned()),
        page.math("l", "l"),
        Seg::Words(" below the last, through ".to_owned()),
        page.math(
            "zˡ⁺¹ = Wˡ⁺¹·aˡ + bˡ⁺¹",
            "z^{l+1} = W^{l+1} \\cdot a^{l} + b^{l+1}",
        ),
        Seg::Words(" and ".to_owned()),
        page.math("aˡ = f(zˡ)", "a^{l} = f\\left(z^{l}\\right)"),
        Seg::Words(" (its instances follow):".to_owned()),
    ]
}

/// The recursion's two equations, in index and matrix form.
fn recursion_rows(style: Style) -> Vec<Row> {
    let (a, z, am, zm) = match style {
        Style::Text => (
            ("āˡₙᵢ", "Σⱼ z̄ˡ⁺¹ₙⱼ·Wˡ⁺¹ⱼᵢ"),
            ("z̄ˡₙᵢ", "Σⱼ āˡₙⱼ·∂aˡₙⱼ/∂zˡₙᵢ"),
            ("Āˡ", "Δˡ⁺¹·Wˡ⁺¹"),
            ("Δˡ", "Āˡ ⊙ f′(Zˡ), for an elementwise f"),
        ),
        Style::Latex => (
            (
                "\\bar{a}^{l}_{ni}",
                "\\sum_{j} \\bar{z}^{l+1}_{nj} \\cdot W^{l+1}_{ji}",
            ),
            (
                "\\bar{z}^{l}_{ni}",
                "\\sum_{j} \\bar{a}^{l}_{nj} \\cdot \\frac{\\partial a^{l}_{nj}}{\\partial z^{l}_{ni}}",
            ),
            ("\\bar{A}^{l}", "\\Delta^{l+1} \\cdot W^{l+1}"),
            (
                "\\Delta^{l}",
                "\\bar{A}^{l} \\odot f'\\left(Z^{l}\\right) \\quad \\text{for an elementwise } f",
            ),
        ),
    };
    // In text each matrix form stands beside its equation; LaTeX gives it a row.
    let row = |(l, r): (&str, &str)| Row::equation("", l.to_owned(), r.to_owned());
    match style {
        Style::Text => [(a, am), (z, zm)]
            .into_iter()
            .map(|(e, (ml, mr))| Row {
                note: Some(format!("{ml} = {mr}")),
                ..row(e)
            })
            .collect(),
        Style::Latex => [a, am, z, zm].into_iter().map(row).collect(),
    }
}

/// A step: its Jacobian, the chain rule's contraction (for the loss, the Jacobian is the
/// adjoint), the expression after each phase of simplification with the rules that did
/// mathematics in it (with `page.rewrites`, every rewrite before it), its matrix form and the
/// kernel that computes it.
fn step_rows(page: &Page, s: &Step) -> Vec<Row> {
    let style = page.style;
    let show = |e: &crate::ir::Expr| Show(e, style).to_string();
    let j = &s.jacobian;
    let mut jacobian = Row::equation("Jacobian", partial(j, style), show(&j.entries));
    jacobian.note = Some(format!("{}, {} per sample", j.kind, shape_text(&j.shape)));
    let lhs = Show(&s.contraction.lhs, style).to_string();
    let mut rows = vec![jacobian];
    if s.consumer != L {
        rows.push(Row::equation(
            "chain rule",
            lhs.clone(),
            show(&s.contraction.rhs),
        ));
    }
    for stage in &s.stages {
        if page.rewrites {
            rows.extend(stage.visible().map(|f| Row::rewrite(f, style)));
        }
        let by = rule_list(&stage.steps()).map(|r| format!("by {r}"));
        rows.push(Row {
            continues: true,
            note: by,
            ..Row::equation(stage.label(), lhs.clone(), show(&stage.expr))
        });
    }
    let last = s.stages.last().map_or(&s.contraction.rhs, |st| &st.expr);
    if *last != s.result.rhs {
        rows.push(Row {
            continues: true,
            ..Row::equation("result", lhs, show(&s.result.rhs))
        });
    }
    // A weight's rank-3 Jacobian collapses to Σₙ z̄ₙᵢ·aₙⱼ: outer products summed.
    if j.kind.starts_with("rank-3") {
        let outer = "a sum of outer products over the batch";
        let at = rows.last_mut().expect("the Jacobian at least");
        at.note = Some(match at.note.take() {
            Some(by) => format!("{by}: {outer}"),
            None => outer.to_owned(),
        });
    }
    let lowered = match style {
        Style::Text => &s.lowered.matrix,
        Style::Latex => &s.lowered.matrix_latex,
    };
    let (matrix_lhs, matrix_rhs) = lowered.split_once(" = ").unwrap_or((lowered, ""));
    rows.push(Row {
        note: Some(s.lowered.description.clone()),
        ..Row::equation("matrix", matrix_lhs.to_owned(), matrix_rhs.to_owned())
    });
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
