//! The index-notation IR: what the derivation engine reads and writes.
//!
//! An equation `z¹ₙᵢ = Σⱼ W¹ᵢⱼ·xₙⱼ + b¹ᵢ` defines every element of a tensor; its right side
//! is an [`Expr`] over tensor elements ([`Ref`]) with named indices ([`Idx`]), sums `Σ`,
//! sums `+`, products `·`, powers, scalar primitives ([`Prim`]) and Kronecker deltas `δ`.
//! The batch index `n` is an ordinary index. Two vector primitives, [`Expr::Lse`] and
//! [`Expr::Softmax`], are the numerically stable forms of `log Σ exp` and `exp/Σ exp`; only
//! simplification rules introduce them.

mod function;
pub mod notation;
mod prim;
#[cfg(feature = "oracle")]
pub mod read;

pub use function::{ARG, Function, called};
pub use prim::Prim;

use std::collections::BTreeSet;

/// A named index: a letter and a number of primes (`i`, `i′`, `i″`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Idx {
    /// The letter.
    pub letter: char,
    /// Primes, to tell apart fresh copies of the same letter.
    pub primes: u8,
}

impl Idx {
    /// The index written `letter`.
    pub const fn new(letter: char) -> Idx {
        Idx { letter, primes: 0 }
    }

    /// The batch index `n`.
    pub const BATCH: Idx = Idx::new('n');
}

/// An index position: an index, or the class label of a sample (`tₙ`, for `nll`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ix {
    /// An index.
    Var(Idx),
    /// The label `tₙ` of the sample indexed by the index.
    Label(Idx),
}

impl Ix {
    /// The index it mentions.
    pub fn idx(self) -> Idx {
        match self {
            Ix::Var(i) | Ix::Label(i) => i,
        }
    }

    /// This position with its index `i` replaced by `to(i)` where that is `Some` (a label of
    /// `i` becomes a label of the new index, which must then be an index, not a label).
    fn substituted(self, to: &dyn Fn(Idx) -> Option<Ix>) -> Ix {
        match (self, to(self.idx())) {
            (_, None) => self,
            (Ix::Var(_), Some(new)) => new,
            (Ix::Label(_), Some(Ix::Var(j))) => Ix::Label(j),
            (Ix::Label(_), Some(label)) => label,
        }
    }
}

/// A tensor's name: a letter and an optional layer number (`W²`, `x`, `L`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Var {
    /// The letter.
    pub letter: char,
    /// The layer, shown as a superscript.
    pub layer: Option<u8>,
}

impl Var {
    /// A tensor of layer `layer`.
    pub const fn layered(letter: char, layer: u8) -> Var {
        Var {
            letter,
            layer: Some(layer),
        }
    }

    /// A tensor without a layer.
    pub const fn plain(letter: char) -> Var {
        Var {
            letter,
            layer: None,
        }
    }

    /// Its name in ASCII: the letter, then the layer's number (`W2`, `z1`, `x`), as the
    /// command line names parameters and the graph names nodes.
    pub fn ascii(self) -> String {
        match self.layer {
            Some(l) => format!("{}{l}", self.letter),
            None => self.letter.to_string(),
        }
    }
}

/// One element of a tensor, or of its adjoint (`W̄²ᵢⱼ`, the derivative of the loss by it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref {
    /// The tensor.
    pub var: Var,
    /// True for the adjoint `v̄`.
    pub adjoint: bool,
    /// One position per axis.
    pub ix: Vec<Ix>,
}

impl Ref {
    /// The same element with each index `i` replaced by `to(i)` where that is `Some` (see
    /// [`Expr::substitute`]).
    pub fn substitute(&self, to: &dyn Fn(Idx) -> Option<Ix>) -> Ref {
        Ref {
            var: self.var,
            adjoint: self.adjoint,
            ix: self.ix.iter().map(|i| i.substituted(to)).collect(),
        }
    }
}

/// An expression in index notation.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
pub enum Expr {
    /// A constant.
    Num(f64),
    /// The batch size `N`.
    BatchSize,
    /// A tensor element.
    Ref(Ref),
    /// Kronecker delta: 1 when both positions are equal, else 0.
    Delta(Ix, Ix),
    /// `Σᵢ e` over the whole range of `i`.
    Sum(Idx, Box<Expr>),
    /// `a + b + …`
    Add(Vec<Expr>),
    /// `a · b · …`
    Mul(Vec<Expr>),
    /// `a ^ b`
    Pow(Box<Expr>, Box<Expr>),
    /// A scalar primitive applied to its arguments.
    Call(Prim, Vec<Expr>),
    /// `lseᵢ(e) = log Σᵢ exp(e)`, evaluated as `m + log Σᵢ exp(e − m)` with `m = maxᵢ e`.
    Lse(Idx, Box<Expr>),
    /// `softmaxᵢ(e)ₖ = exp(e[i:=k]) / Σᵢ exp(e)`, evaluated with the maximum subtracted.
    Softmax {
        /// Where it is evaluated (`k`).
        at: Ix,
        /// The index it normalizes over (`i`), bound in `body`.
        over: Idx,
        /// The scores, as a function of `over`.
        body: Box<Expr>,
    },
}

/// Shorthands for building expressions.
impl Expr {
    /// `a · b`
    pub fn times(a: Expr, b: Expr) -> Expr {
        Expr::Mul(vec![a, b])
    }

    /// `a + b`
    pub fn plus(a: Expr, b: Expr) -> Expr {
        Expr::Add(vec![a, b])
    }

    /// `−a`
    pub fn negate(a: Expr) -> Expr {
        Expr::times(Expr::Num(-1.0), a)
    }

    /// `a ^ p`
    pub fn pow(a: Expr, p: f64) -> Expr {
        Expr::Pow(Box::new(a), Box::new(Expr::Num(p)))
    }

    /// `1 / a`
    pub fn recip(a: Expr) -> Expr {
        Expr::pow(a, -1.0)
    }

    /// `f(a)`
    pub fn call(f: Prim, a: Expr) -> Expr {
        Expr::Call(f, vec![a])
    }

    /// `Σᵢ e`
    pub fn sum(i: Idx, e: Expr) -> Expr {
        Expr::Sum(i, Box::new(e))
    }

    /// The element of `var` at `ix`.
    pub fn at(var: Var, ix: &[Idx]) -> Expr {
        Expr::Ref(Ref {
            var,
            adjoint: false,
            ix: ix.iter().map(|i| Ix::Var(*i)).collect(),
        })
    }

    /// Is this the constant `c`?
    pub fn is_num(&self, c: f64) -> bool {
        matches!(self, Expr::Num(v) if *v == c)
    }

    /// Visits every subexpression, this one first.
    pub fn visit(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Sum(_, e) | Expr::Lse(_, e) | Expr::Softmax { body: e, .. } => e.visit(f),
            Expr::Add(es) | Expr::Mul(es) | Expr::Call(_, es) => es.iter().for_each(|e| e.visit(f)),
            Expr::Pow(a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Expr::Num(_) | Expr::BatchSize | Expr::Ref(_) | Expr::Delta(..) => {}
        }
    }

    /// The number of operations: every subexpression, this one included.
    pub fn size(&self) -> usize {
        let mut n = 0usize;
        self.visit(&mut |_| n += 1);
        n
    }

    /// Does any subexpression satisfy `p`?
    pub fn any(&self, p: &impl Fn(&Expr) -> bool) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= p(e));
        found
    }

    /// Does the expression mention index `i` (free or bound)?
    pub fn mentions(&self, i: Idx) -> bool {
        self.any(&|e| match e {
            Expr::Ref(r) => r.ix.iter().any(|x| x.idx() == i),
            Expr::Delta(a, b) => a.idx() == i || b.idx() == i,
            Expr::Sum(j, _) | Expr::Lse(j, _) => *j == i,
            Expr::Softmax { at, over, .. } => at.idx() == i || *over == i,
            _ => false,
        })
    }

    /// The free indices: those mentioned but not bound by a `Σ`, `lse` or `softmax`.
    pub fn free(&self) -> BTreeSet<Idx> {
        let mut out = BTreeSet::new();
        self.collect_free(&mut Vec::new(), &mut out);
        out
    }

    fn collect_free(&self, bound: &mut Vec<Idx>, out: &mut BTreeSet<Idx>) {
        let mut note = |x: Ix, bound: &Vec<Idx>| {
            if !bound.contains(&x.idx()) {
                out.insert(x.idx());
            }
        };
        match self {
            Expr::Ref(r) => r.ix.iter().for_each(|x| note(*x, bound)),
            Expr::Delta(a, b) => {
                note(*a, bound);
                note(*b, bound);
            }
            Expr::Softmax { at, over, body } => {
                note(*at, bound);
                bound.push(*over);
                body.collect_free(bound, out);
                bound.pop();
            }
            Expr::Sum(i, e) | Expr::Lse(i, e) => {
                bound.push(*i);
                e.collect_free(bound, out);
                bound.pop();
            }
            Expr::Add(es) | Expr::Mul(es) | Expr::Call(_, es) => {
                es.iter().for_each(|e| e.collect_free(bound, out))
            }
            Expr::Pow(a, b) => {
                a.collect_free(bound, out);
                b.collect_free(bound, out);
            }
            Expr::Num(_) | Expr::BatchSize => {}
        }
    }

    /// Every index the expression mentions, free or bound.
    pub fn indices(&self) -> BTreeSet<Idx> {
        let mut out = BTreeSet::new();
        self.visit(&mut |e| match e {
            Expr::Ref(r) => out.extend(r.ix.iter().map(|x| x.idx())),
            Expr::Delta(a, b) => out.extend([a.idx(), b.idx()]),
            Expr::Sum(i, _) | Expr::Lse(i, _) => {
                out.insert(*i);
            }
            Expr::Softmax { at, over, .. } => out.extend([at.idx(), *over]),
            _ => {}
        });
        out
    }

    /// Replaces the free index `from` by `to` everywhere it is free. Bound indices that would
    /// capture `to` must have been renamed first (see [`fresh`]).
    pub fn replace_index(&self, from: Idx, to: Ix) -> Expr {
        self.substitute(&|i| (i == from).then_some(to))
    }

    /// Replaces every free index `i` by `to(i)` where that is `Some`, all at once (so `i → j`
    /// and `j → i` swap them). The one substitution every renaming goes through; bound
    /// indices that would capture a new name must have been renamed first.
    pub fn substitute(&self, to: &dyn Fn(Idx) -> Option<Ix>) -> Expr {
        // Inside a binder its own index is not free: leave it alone there.
        let under =
            |bound: Idx, body: &Expr| body.substitute(&|i| if i == bound { None } else { to(i) });
        let r = |e: &Expr| e.substitute(to);
        match self {
            Expr::Ref(x) => Expr::Ref(x.substitute(to)),
            Expr::Delta(a, b) => Expr::Delta(a.substituted(to), b.substituted(to)),
            Expr::Sum(i, e) => Expr::Sum(*i, Box::new(under(*i, e))),
            Expr::Lse(i, e) => Expr::Lse(*i, Box::new(under(*i, e))),
            Expr::Softmax { at, over, body } => Expr::Softmax {
                at: at.substituted(to),
                over: *over,
                body: Box::new(under(*over, body)),
            },
            Expr::Add(es) => Expr::Add(es.iter().map(r).collect()),
            Expr::Mul(es) => Expr::Mul(es.iter().map(r).collect()),
            Expr::Call(f, es) => Expr::Call(f.clone(), es.iter().map(r).collect()),
            Expr::Pow(a, b) => Expr::Pow(Box::new(r(a)), Box::new(r(b))),
            Expr::Num(_) | Expr::BatchSize => self.clone(),
        }
    }

    /// The expression with every tensor element `r` replaced by `f(r)`.
    pub fn map_refs(&self, f: &dyn Fn(&Ref) -> Ref) -> Expr {
        let r = |e: &Expr| e.map_refs(f);
        match self {
            Expr::Ref(x) => Expr::Ref(f(x)),
            Expr::Sum(i, e) => Expr::Sum(*i, Box::new(r(e))),
            Expr::Lse(i, e) => Expr::Lse(*i, Box::new(r(e))),
            Expr::Softmax { at, over, body } => Expr::Softmax {
                at: *at,
                over: *over,
                body: Box::new(r(body)),
            },
            Expr::Add(es) => Expr::Add(es.iter().map(r).collect()),
            Expr::Mul(es) => Expr::Mul(es.iter().map(r).collect()),
            Expr::Call(p, es) => Expr::Call(p.clone(), es.iter().map(r).collect()),
            Expr::Pow(a, b) => Expr::Pow(Box::new(r(a)), Box::new(r(b))),
            Expr::Num(_) | Expr::BatchSize | Expr::Delta(..) => self.clone(),
        }
    }

    /// Renames every bound index to one not in `taken` (and adds the new names to `taken`),
    /// so that the expression can be combined with others without capture.
    pub fn rename_bound(&self, taken: &mut BTreeSet<Idx>) -> Expr {
        self.rebind(taken, Scope::Whole, &mut |i, _, taken| fresh(i, taken))
    }

    /// Renames each bound index, outermost first, to `pick(index, body, names in use)`, which
    /// must not be in use; the one walk over binders every renaming of bound indices uses.
    /// `in_use` gains each new name for the binder's body, and keeps it after the binder when
    /// `scope` is [`Scope::Whole`].
    pub fn rebind(
        &self,
        in_use: &mut BTreeSet<Idx>,
        scope: Scope,
        pick: &mut dyn FnMut(Idx, &Expr, &BTreeSet<Idx>) -> Idx,
    ) -> Expr {
        let mut bind = |i: Idx, body: &Expr, in_use: &mut BTreeSet<Idx>| {
            let j = pick(i, body, in_use);
            let fresh_name = in_use.insert(j);
            let body = body
                .replace_index(i, Ix::Var(j))
                .rebind(in_use, scope, pick);
            if scope == Scope::Binder && fresh_name {
                in_use.remove(&j);
            }
            (j, Box::new(body))
        };
        match self {
            Expr::Sum(i, e) => {
                let (j, e) = bind(*i, e, in_use);
                Expr::Sum(j, e)
            }
            Expr::Lse(i, e) => {
                let (j, e) = bind(*i, e, in_use);
                Expr::Lse(j, e)
            }
            Expr::Softmax { at, over, body } => {
                let (j, body) = bind(*over, body, in_use);
                Expr::Softmax {
                    at: *at,
                    over: j,
                    body,
                }
            }
            Expr::Add(es) => Expr::Add(es.iter().map(|e| e.rebind(in_use, scope, pick)).collect()),
            Expr::Mul(es) => Expr::Mul(es.iter().map(|e| e.rebind(in_use, scope, pick)).collect()),
            Expr::Call(f, es) => Expr::Call(
                f.clone(),
                es.iter().map(|e| e.rebind(in_use, scope, pick)).collect(),
            ),
            Expr::Pow(a, b) => Expr::Pow(
                Box::new(a.rebind(in_use, scope, pick)),
                Box::new(b.rebind(in_use, scope, pick)),
            ),
            Expr::Num(_) | Expr::BatchSize | Expr::Ref(_) | Expr::Delta(..) => self.clone(),
        }
    }
}

/// How long a name chosen by [`Expr::rebind`] stays in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Within its binder only: siblings may reuse it (`Σᵢ aᵢ + Σᵢ bᵢ`).
    Binder,
    /// For the rest of the walk: every binder gets a name of its own.
    Whole,
}

/// The first copy of `i` (by primes) that is not in `taken`.
pub fn fresh(i: Idx, taken: &BTreeSet<Idx>) -> Idx {
    let mut j = i;
    while taken.contains(&j) {
        j.primes += 1;
    }
    j
}

/// `lhs = rhs`: defines every element of the tensor on the left.
#[derive(Clone, Debug, PartialEq)]
pub struct Equation {
    /// The element defined, with the equation's free indices.
    pub lhs: Ref,
    /// Its value.
    pub rhs: Expr,
}

/// The size of one axis: the batch, or a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    /// The batch size `N`, known at run time.
    Batch,
    /// A size fixed by the network.
    Fixed(usize),
}
