//! Formulas as written → [`Formula`]s in `x`: names checked, custom activations inlined (or,
//! where inlining would copy the argument, kept as calls, within [`MAX_EVALUATION_COST`] and
//! [`MAX_FUNCTION_DEPTH`]), every part within [`MAX_FORMULA_SIZE`] operations.

use super::Checker;
use crate::diag::{Diagnostic, Span};
use crate::limits::{MAX_EVALUATION_COST, MAX_FORMULA_SIZE, MAX_FUNCTION_DEPTH};
use crate::model::formula::{Callee, CustomActivation, Formula, Func, measure};
use crate::syntax::ast::{BinOp, Expr, Name};
use crate::syntax::diagnostics::formula_too_large;
use crate::syntax::names::{is_activation_name, suggestion};
use std::sync::Arc;

impl Checker {
    /// Converts a formula as written to a [`Formula`] in `x`, or reports why it cannot; every
    /// part of it, custom activations inlined (those not kept as calls), holds at most
    /// [`MAX_FORMULA_SIZE`] operations.
    pub(super) fn formula(&mut self, e: &Expr, param: &Name) -> Option<Formula> {
        let f = self.formula_unbounded(e, param)?;
        let size = f.size();
        if size > MAX_FORMULA_SIZE {
            self.diags.push(formula_too_large(e.span(), size, None));
            return None;
        }
        Some(f)
    }

    /// [`Self::formula`] without the check of the whole (its parts are checked); a part that
    /// does not depend on `x` must be a finite number, and no divisor a constant zero.
    fn formula_unbounded(&mut self, e: &Expr, param: &Name) -> Option<Formula> {
        let f = self.formula_as_written(e, param)?;
        if let (Formula::Div(_, divisor), Expr::Bin(_, _, written, _)) = (&f, e)
            && divisor.constant() == Some(0.0)
        {
            self.error(
                written.span(),
                "division by zero: this divisor is 0".to_owned(),
            );
            return None;
        }
        if let Some(v) = f.constant().filter(|v| !v.is_finite()) {
            let what = if v.is_nan() {
                "not a number (NaN)"
            } else {
                "infinite"
            };
            self.error(e.span(), format!("`{f}` is {what}"));
            return None;
        }
        Some(f)
    }

    /// The formula as written, its parts checked.
    fn formula_as_written(&mut self, e: &Expr, param: &Name) -> Option<Formula> {
        Some(match e {
            Expr::Num(n) => {
                if !n.value.is_finite() {
                    self.error(n.span, "number too large for a 64-bit float".to_owned());
                    return None;
                }
                Formula::Const(n.value)
            }
            Expr::Var(v) if v.text == param.text => Formula::X,
            Expr::Var(v) => {
                let message = if Func::from_name(&v.text).is_some() {
                    format!("`{}` is a function; call it as `{}(...)`", v.text, v.text)
                } else {
                    format!(
                        "unknown variable `{}`; the formula's only variable is `{}`",
                        v.text, param.text
                    )
                };
                self.error(v.span, message);
                return None;
            }
            Expr::Neg(a, _) => Formula::Neg(Box::new(self.formula(a, param)?)),
            Expr::Bin(op, a, b, _) => {
                // Check both sides so that every mistake is reported, not just the first.
                let (a, b) = (self.formula(a, param), self.formula(b, param));
                let (a, b) = (Box::new(a?), Box::new(b?));
                match op {
                    BinOp::Add => Formula::Add(a, b),
                    BinOp::Sub => Formula::Sub(a, b),
                    BinOp::Mul => Formula::Mul(a, b),
                    BinOp::Div => Formula::Div(a, b),
                    BinOp::Pow => Formula::Pow(a, b),
                }
            }
            Expr::Call(callee, args, span) => self.call(callee, args, *span, param)?,
        })
    }

    /// A call `callee(args)`: a function of formulas, or an earlier custom activation, inlined
    /// or kept as a call.
    fn call(&mut self, callee: &Name, args: &[Expr], span: Span, param: &Name) -> Option<Formula> {
        let converted: Vec<Option<Formula>> = args.iter().map(|a| self.formula(a, param)).collect();
        let arity = self.arity(callee)?;
        if args.len() != arity {
            let s = if arity == 1 { "" } else { "s" };
            self.error(
                span,
                format!(
                    "`{}` takes {arity} argument{s}, found {}",
                    callee.text,
                    args.len()
                ),
            );
            return None;
        }
        let args: Vec<Formula> = converted.into_iter().collect::<Option<_>>()?;
        match Func::from_name(&callee.text) {
            Some(f) => Some(Formula::Call(f, args)),
            None => {
                // An earlier custom activation: inline its formula, if the result is
                // within the limit (computed first: it may be far too large to build).
                let (_, _, custom) = self
                    .acts
                    .iter()
                    .find(|(n, _, _)| *n == callee.text)
                    .expect("found above");
                let custom = custom.clone()?;
                let (f, arg) = (&custom.formula, args.into_iter().next().expect("one"));
                // Inlining copies the argument once per `x`: beyond one copy of anything
                // larger than `x` or a number, the call stays, and the argument is shared;
                // so does a call of an activation that keeps calls itself.
                let simple = matches!(arg, Formula::X | Formula::Const(_));
                if (f.uses_of_x() > 1 && !simple) || !f.applied().is_empty() {
                    return self.kept(&custom, arg, span);
                }
                let size = f.size_with_argument(arg.size());
                if size > MAX_FORMULA_SIZE {
                    let d = formula_too_large(span, size, Some(&callee.text));
                    self.diags.push(d);
                    return None;
                }
                Some(f.substitute(&arg))
            }
        }
    }

    /// A call of `custom` on `arg` kept as a call, if evaluating it stays within
    /// [`MAX_EVALUATION_COST`] operations and the chain of kept calls within
    /// [`MAX_FUNCTION_DEPTH`] functions.
    fn kept(
        &mut self,
        custom: &Arc<CustomActivation>,
        arg: Formula,
        span: Span,
    ) -> Option<Formula> {
        let (cost, depth) = self.measure(custom);
        let cost = cost.saturating_add(arg.evaluation_cost(&|c| self.measure(c).0));
        let name = &custom.name;
        let message = if cost > MAX_EVALUATION_COST {
            format!(
                "this call of `{name}` takes {cost} operations to evaluate, at most {MAX_EVALUATION_COST} per element"
            )
        } else if depth >= MAX_FUNCTION_DEPTH {
            format!(
                "this call of `{name}` nests {} kept calls, at most {MAX_FUNCTION_DEPTH}",
                depth + 1
            )
        } else {
            return Some(Formula::Apply(Callee(custom.clone()), Box::new(arg)));
        };
        self.diags.push(Diagnostic::new(span, message).note(
            "a custom activation that calls another one twice doubles its cost at every level of definitions",
        ));
        None
    }

    /// What evaluating `c` costs and how deep its kept calls nest ([`measure`]).
    fn measure(&self, c: &CustomActivation) -> (usize, usize) {
        measure(c, &self.measured)
    }

    /// How many arguments `callee` takes, or why it cannot be called.
    fn arity(&mut self, callee: &Name) -> Option<usize> {
        if let Some(f) = Func::from_name(&callee.text) {
            return Some(f.arity());
        }
        if self.acts.iter().any(|(n, _, _)| *n == callee.text) {
            return Some(1);
        }
        if let Some(d) = self.not_yet_defined(callee) {
            self.diags.push(d);
            return None;
        }
        let mut known: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
        known.extend(self.acts.iter().map(|(n, _, _)| n.as_str()));
        let message = format!(
            "unknown function `{}`; expected one of {}{}",
            callee.text,
            known.join(", "),
            suggestion(&callee.text, known.iter().copied())
        );
        let mut d = Diagnostic::new(callee.span, message);
        if is_activation_name(&callee.text) {
            d = d.note(format!(
                "built-in activations are not functions of formulas; write `{}` out (see the language reference)",
                callee.text
            ));
        }
        self.diags.push(d);
        None
    }

    /// Why `callee`, an activation of the text, cannot be called here: it is the one being
    /// defined, or it is defined further on.
    fn not_yet_defined(&self, callee: &Name) -> Option<Diagnostic> {
        let defined = self.every_act.iter().find(|n| n.text == callee.text)?;
        let calling = self.defining.as_ref()?;
        let d = if calling.text == callee.text {
            Diagnostic::new(
                callee.span,
                format!("the activation `{}` calls itself", callee.text),
            )
            .related(calling.span, "defined here")
        } else {
            Diagnostic::new(
                callee.span,
                format!(
                    "the activation `{}` is defined after `{}`, which calls it",
                    callee.text, calling.text
                ),
            )
            .related(defined.span, "defined here")
        };
        Some(d.note(
            "a formula may call the built-in functions and the activations defined before it",
        ))
    }
}
