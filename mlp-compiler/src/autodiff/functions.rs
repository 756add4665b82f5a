//! Formulas as index expressions, with the user's activations that validation kept as
//! functions (rather than copy their argument) built once each: the body read in stable form
//! and simplified, its derivative derived by the same rules as every Jacobian.

use crate::autodiff::jacobian::jacobian;
use crate::autodiff::stop::Exceeded;
use crate::ir::{ARG, Expr, Function, Prim};
use crate::limits::MAX_DERIVED_SIZE;
use crate::model::formula::Formula;
use crate::model::network::CustomActivation;
use crate::simplify::{self, Context, RuleLog};
use std::sync::Arc;

/// The functions built so far, each once, however many times it is called.
#[derive(Default)]
pub struct Library {
    built: Vec<Arc<Function>>,
}

impl Library {
    /// The formula with its variable replaced by `arg`, as an index expression, as written
    /// (`reverse::derive` reads the stable functions it spells out before differentiating);
    /// a call of a kept activation becomes a call of its function.
    pub fn apply(&mut self, f: &Formula, arg: &Expr) -> Result<Expr, Exceeded> {
        let mut go = |g: &Formula| self.apply(g, arg);
        Ok(match f {
            Formula::Const(c) => Expr::Num(*c),
            Formula::X => arg.clone(),
            Formula::Neg(a) => Expr::negate(go(a)?),
            Formula::Add(a, b) => Expr::plus(go(a)?, go(b)?),
            Formula::Sub(a, b) => Expr::plus(go(a)?, Expr::negate(go(b)?)),
            Formula::Mul(a, b) => Expr::times(go(a)?, go(b)?),
            Formula::Div(a, b) => Expr::times(go(a)?, Expr::recip(go(b)?)),
            Formula::Pow(a, b) => Expr::Pow(Box::new(go(a)?), Box::new(go(b)?)),
            Formula::Call(func, args) => {
                let args = args.iter().map(go).collect::<Result<_, _>>()?;
                Expr::Call(func.prim(), args)
            }
            Formula::Apply(c, inner) => {
                let inner = go(inner)?;
                Expr::call(Prim::Apply(self.function(c)?), inner)
            }
        })
    }

    /// The function of `c`, built on first use; a limit reached is said to be in the
    /// innermost function that reached it.
    fn function(&mut self, c: &CustomActivation) -> Result<Arc<Function>, Exceeded> {
        if let Some(f) = self.built.iter().find(|f| f.name == c.name) {
            return Ok(f.clone());
        }
        self.build(c).map_err(|e| match e {
            Exceeded::InFunction(..) => e,
            other => Exceeded::InFunction(c.name.clone(), Box::new(other)),
        })
    }

    fn build(&mut self, c: &CustomActivation) -> Result<Arc<Function>, Exceeded> {
        let written = self.apply(&c.formula, &Expr::Ref(Function::argument()))?;
        let mut log = RuleLog::default();
        let read = simplify::read_stable(&written, &mut log).map_err(Exceeded::Runaway)?;
        let raw = jacobian(&read, ARG, &[]);
        if raw.size() > MAX_DERIVED_SIZE {
            return Err(Exceeded::Size(raw.size()));
        }
        let simplified = |e: &Expr, log: &mut RuleLog| {
            simplify::simplify(e, Context::default(), log).map_err(Exceeded::Runaway)
        };
        let function = Arc::new(Function {
            name: c.name.clone(),
            prime: format!("{}′", c.name),
            body: simplified(&read, &mut log)?,
            derivative: simplified(&raw, &mut log)?,
        });
        self.built.push(function.clone());
        Ok(function)
    }
}
