//! Validation: syntax tree → [`Network`], reporting every problem found, each at its token.

use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::limits::MAX_LAYERS;
use crate::model::formula::{Formula, Func};
use crate::model::network::{Activation, CustomActivation, DEFAULT_ELU_ALPHA, DEFAULT_LEAKY_SLOPE};
use crate::model::network::{Layer, Loss, MAX_UNITS, MAX_WEIGHTS, Network};
use crate::syntax::ast::{ActDef, ActivationAst, Item, LayerAst, Name, NetworkAst};
use crate::syntax::ast::{SpecAst, Units};
use std::sync::Arc;

mod formula;

use crate::syntax::names::suggestion;
pub use crate::syntax::names::{BUILTIN_ACTIVATIONS, is_activation_name, is_loss_name};

/// Words Rust reserves, which cannot name a struct.
const RUST_KEYWORDS: [&str; 52] = [
    "Self", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
    "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// A validated `struct NAME = NETWORK;` item of the macro.
#[derive(Clone, Debug, PartialEq)]
pub struct NetItem {
    /// The struct's name.
    pub name: Name,
    /// Each outer attribute, as a source range.
    pub attrs: Vec<Span>,
    /// The visibility, as a source range.
    pub vis: Option<Span>,
    /// The network, or `None` when it had errors (they are in the diagnostics).
    pub network: Option<Network>,
    /// For each layer, the text an error of its derivation points at: its activation, or the
    /// whole layer when it is linear.
    pub layer_spans: Vec<Span>,
}

/// The text an error in deriving `layer` points at: its activation (with its arguments), or
/// the whole layer when it is linear.
pub fn layer_span(layer: &LayerAst) -> Span {
    match &layer.activation {
        Some(a) if a.args.is_some() => a.span,
        // The grammar's span of an activation without arguments ends after any blank space.
        Some(a) => a.name.span,
        None => written(layer),
    }
}

/// A layer's text from its first token to its last (the grammar's span of a layer may end
/// after blank space).
fn written(layer: &LayerAst) -> Span {
    let start = layer
        .activation
        .as_ref()
        .map_or(layer.units.span, |a| a.name.span);
    start.to(layer.no_bias.unwrap_or(layer.units.span))
}

/// Parses and checks a formula in `x` alone (no custom activations are in scope).
pub fn formula(text: &str) -> Result<Formula, Diagnostics> {
    let ast = crate::syntax::parse::parse_formula(text)?;
    let mut cx = Checker::default();
    let x = Name {
        text: "x".to_owned(),
        span: Span::default(),
    };
    let formula = cx.formula(&ast, &x);
    match formula {
        Some(f) => cx.diags.finish(f),
        None => Err(cx
            .diags
            .finish(())
            .expect_err("a rejected formula has reported an error")),
    }
}

/// Validates what the CLI reads.
pub fn validate_spec(ast: &SpecAst) -> Result<Network, Diagnostics> {
    let mut cx = Checker {
        every_act: ast.acts.iter().map(|a| a.name.clone()).collect(),
        ..Checker::default()
    };
    for act in &ast.acts {
        cx.act(act);
    }
    let network = cx.network(&ast.network, &[]);
    let Checker { diags, .. } = cx;
    match network {
        Some(n) => diags.finish(n),
        None => Err(diags
            .finish(())
            .expect_err("a rejected network has reported an error")),
    }
}

/// Validates the macro's items. Returns every network item (with `network: None` where it
/// failed, so that the caller can emit a harmless stand-in) and every error found.
pub fn validate_items(items: &[Item]) -> (Vec<NetItem>, Diagnostics) {
    let declared: Vec<&Name> = items
        .iter()
        .filter_map(|i| {
            if let Item::Act(a) = i {
                Some(&a.name)
            } else {
                None
            }
        })
        .collect();
    let mut cx = Checker {
        every_act: declared.iter().map(|n| (*n).clone()).collect(),
        ..Checker::default()
    };
    let mut out: Vec<NetItem> = Vec::new();
    for item in items {
        match item {
            Item::Act(act) => cx.act(act),
            Item::Net(def) => {
                // A duplicate or keyword name gets no item at all: a stand-in would itself
                // fail to compile and bury the one error that matters.
                let mut emit = true;
                if let Some(first) = out.iter().find(|n| n.name.text == def.name.text) {
                    cx.diags.push(
                        Diagnostic::new(
                            def.name.span,
                            format!("the name `{}` is defined twice", def.name.text),
                        )
                        .related(first.name.span, "first defined here")
                        .note("each network needs a struct name of its own"),
                    );
                    emit = false;
                }
                if RUST_KEYWORDS.contains(&def.name.text.as_str()) {
                    cx.error(
                        def.name.span,
                        format!(
                            "`{}` is a Rust keyword; the struct needs another name",
                            def.name.text
                        ),
                    );
                    emit = false;
                }
                let network = cx.network(&def.network, &declared);
                if emit {
                    out.push(NetItem {
                        name: def.name.clone(),
                        attrs: def.attrs.clone(),
                        vis: def.vis,
                        network,
                        layer_spans: def.network.layers.iter().map(layer_span).collect(),
                    });
                }
            }
        }
    }
    (out, cx.diags.finish(()).err().unwrap_or_default())
}

/// One validation run: the errors so far and the custom activations declared so far.
#[derive(Default)]
struct Checker {
    diags: Diagnostics,
    /// Declared custom activations; `None` for one whose definition had errors, so that its
    /// uses raise no second error.
    acts: Vec<(String, Span, Option<Arc<CustomActivation>>)>,
    /// Every `act` of the text, declared yet or not: a call to one not yet declared is told so.
    every_act: Vec<Name>,
    /// The activation whose formula is being read, if any.
    defining: Option<Name>,
    /// Each kept activation's evaluation cost and call depth, once computed.
    measured: std::cell::RefCell<std::collections::HashMap<String, (usize, usize)>>,
}

impl Checker {
    fn error(&mut self, span: Span, message: String) {
        self.diags.error(span, message);
    }

    fn act(&mut self, def: &ActDef) {
        let name = &def.name.text;
        let mut ok = true;
        if is_activation_name(name) {
            self.error(
                def.name.span,
                format!(
                    "`{name}` is a built-in activation; a custom activation needs a name of its own"
                ),
            );
            ok = false;
        } else if Func::from_name(name).is_some() {
            self.error(
                def.name.span,
                format!("`{name}` is a built-in function of formulas; a custom activation needs a name of its own"),
            );
            ok = false;
        } else if let Some((_, first, _)) = self.acts.iter().find(|(n, _, _)| n == name) {
            self.diags.push(
                Diagnostic::new(
                    def.name.span,
                    format!("the activation `{name}` is defined twice"),
                )
                .related(*first, "first defined here"),
            );
            ok = false;
        }
        self.defining = Some(def.name.clone());
        let formula = self.formula(&def.body, &def.param);
        self.defining = None;
        let custom = match (ok, formula) {
            (true, Some(formula)) => Some(Arc::new(CustomActivation {
                name: name.clone(),
                formula,
            })),
            _ => None,
        };
        if !self.acts.iter().any(|(n, _, _)| n == name) {
            self.acts.push((name.clone(), def.name.span, custom));
        }
    }

    fn units(&mut self, u: &Units, what: &str) -> Option<usize> {
        if u.value == 0 {
            self.error(u.span, format!("{what} needs at least one unit, found 0"));
            None
        } else if u.value > MAX_UNITS {
            self.error(
                u.span,
                format!(
                    "{what} of {} units is too wide: at most {MAX_UNITS} (2^20)",
                    u.text
                ),
            );
            None
        } else {
            Some(u.value as usize)
        }
    }

    /// Validates one network; `declared` lists every `act` of the macro, for a note when one
    /// is used before its definition.
    fn network(&mut self, ast: &NetworkAst, declared: &[&Name]) -> Option<Network> {
        let before = self.diags.errors().len();
        let mut complete = true;
        let inputs = self.units(&ast.inputs, "the input");
        let mut width = inputs;
        let mut layers = Vec::new();
        for (i, l) in ast.layers.iter().enumerate() {
            if i == MAX_LAYERS {
                self.diags.push(
                    Diagnostic::new(
                        written(l),
                        format!(
                            "too many layers: a network has at most {MAX_LAYERS}, and this is layer {}",
                            i + 1
                        ),
                    )
                    .note(format!(
                        "the derivation's trace grows with the square of the depth and is compiled into the generated code as text; {MAX_LAYERS} layers keep `mlp!` within seconds"
                    )),
                );
                complete = false;
                break;
            }
            let what = format!("layer {}", i + 1);
            let units = self.units(&l.units, &what);
            if let (Some(n_in), Some(n_out)) = (width, units)
                && (n_in as u64) * (n_out as u64) > MAX_WEIGHTS
            {
                self.error(
                    l.units.span,
                    format!(
                        "{what} would hold {n_in} × {n_out} = {} weights, more than {MAX_WEIGHTS} (2^28)",
                        n_in as u64 * n_out as u64
                    ),
                );
            }
            let activation = match &l.activation {
                None => Some(Activation::Identity),
                Some(a) => self.activation(a, declared),
            };
            if let (Some(Activation::Softmax), Some(1), Some(a)) =
                (&activation, units, &l.activation)
            {
                self.diags.push(
                    Diagnostic::new(
                        a.name.span,
                        format!("softmax over one unit is the constant 1 ({what})"),
                    )
                    .note("its gradient is zero, so no layer before it would learn; give it two or more units, or use sigmoid"),
                );
            }
            match (width, units, activation) {
                (Some(n_in), Some(n_out), Some(activation)) => layers.push(Layer {
                    inputs: n_in,
                    units: n_out,
                    activation,
                    bias: l.no_bias.is_none(),
                }),
                _ => complete = false,
            }
            width = units;
        }
        let loss = self.loss(&ast.loss);
        if let (Some(loss), Some(last)) = (loss, ast.layers.last()) {
            self.check_loss(loss, last.activation.as_ref(), &last.units);
        }
        if !complete || self.diags.errors().len() > before {
            return None;
        }
        Some(Network {
            inputs: inputs?,
            layers,
            loss: loss?,
        })
    }

    fn activation(&mut self, a: &ActivationAst, declared: &[&Name]) -> Option<Activation> {
        let name = a.name.text.as_str();
        let args = a.args.as_deref().unwrap_or(&[]);
        let takes_one = matches!(name, "leaky_relu" | "elu");
        if (takes_one && args.len() > 1) || (!takes_one && a.args.is_some()) {
            let expected = if takes_one {
                "at most one argument"
            } else {
                "no arguments"
            };
            let kind = if is_activation_name(name) {
                ""
            } else {
                "custom "
            };
            self.error(
                a.span,
                format!(
                    "the {kind}activation `{name}` takes {expected}, found {}",
                    args.len()
                ),
            );
            return None;
        }
        for arg in args {
            if !arg.value.is_finite() {
                self.error(arg.span, "number too large for a 64-bit float".to_owned());
                return None;
            }
        }
        let first = args.first().map(|n| n.value);
        Some(match name {
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu {
                slope: first.unwrap_or(DEFAULT_LEAKY_SLOPE),
            },
            "elu" => Activation::Elu {
                alpha: first.unwrap_or(DEFAULT_ELU_ALPHA),
            },
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softplus" => Activation::Softplus,
            "silu" => Activation::Silu,
            "gelu" => Activation::Gelu,
            "softmax" => Activation::Softmax,
            _ => {
                if let Some((_, _, custom)) = self.acts.iter().find(|(n, _, _)| n == name) {
                    return custom.clone().map(Activation::Custom);
                }
                let mut known: Vec<&str> = BUILTIN_ACTIVATIONS.to_vec();
                known.extend(self.acts.iter().map(|(n, _, _)| n.as_str()));
                let mut d = Diagnostic::new(
                    a.name.span,
                    format!(
                        "unknown activation `{name}`; expected one of {}{}",
                        known.join(", "),
                        suggestion(name, known.iter().copied())
                    ),
                );
                if let Some(later) = declared.iter().find(|d| d.text == name) {
                    d = d.related(later.span, "declared here, after its use").note(format!(
                        "`{name}` is declared later; an `act` must come before the networks that use it"
                    ));
                } else if is_loss_name(name) {
                    d = d.note(format!(
                        "`{name}` is a loss; it follows the last layer after `:`"
                    ));
                }
                self.diags.push(d);
                return None;
            }
        })
    }

    fn loss(&mut self, name: &Name) -> Option<Loss> {
        let loss = Loss::from_name(&name.text);
        if loss.is_none() {
            let known = Loss::ALL.map(Loss::name);
            let mut d = Diagnostic::new(
                name.span,
                format!(
                    "unknown loss `{}`; expected one of {}{}",
                    name.text,
                    known.join(", "),
                    suggestion(&name.text, known)
                ),
            );
            if is_activation_name(&name.text) {
                d = d.note(format!(
                    "`{}` is an activation; it goes before a layer's units, and a loss follows `:`",
                    name.text
                ));
            }
            self.diags.push(d);
        }
        loss
    }

    fn check_loss(&mut self, loss: Loss, last: Option<&ActivationAst>, outputs: &Units) {
        let applies = match loss {
            Loss::Nll | Loss::Ce => Some("log-softmax"),
            Loss::Bce => Some("the sigmoid"),
            _ => None,
        };
        if let (Some(applied), Some(act)) = (applies, last)
            && matches!(act.name.text.as_str(), "softmax" | "sigmoid")
        {
            let act_name = &act.name.text;
            self.diags.push(
                Diagnostic::new(
                    act.name.span,
                    format!(
                        "`{act_name}` before `{loss}`: the loss already applies {applied} to the final output"
                    ),
                )
                .note(format!(
                    "`{loss}` takes raw scores (logits) and applies {applied} itself, like PyTorch's {}; `{act_name}` on the last layer would squash the scores first and slow learning: remove it",
                    if loss == Loss::Bce { "nn.BCEWithLogitsLoss" } else { "nn.CrossEntropyLoss" }
                )),
            );
        }
        if matches!(loss, Loss::Nll | Loss::Ce) && outputs.value == 1 {
            self.diags.push(
                Diagnostic::new(
                    outputs.span,
                    format!("`{loss}` needs at least 2 outputs (one per class), found 1"),
                )
                .note("for a yes/no target, use one output with `bce`".to_owned()),
            );
        }
    }
}
