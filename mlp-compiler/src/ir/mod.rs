//! The index-notation IR: what the derivation engine reads and writes.
//!
//! An equation `z¹ₙᵢ = Σⱼ W¹ᵢⱼ·xₙⱼ + b¹ᵢ` defines every element of a tensor; its right side
//! is an [`Expr`] over tensor elements ([`Ref`]) with named indices ([`Idx`]), sums `Σ`,
//! sums `+`, products `·`, powers, scalar primitives ([`Prim`]) and Kronecker deltas `δ`.
//! The batch index `n` is an ordinary index. Two vector primitives, [`Expr::Lse`] and
//! [`Expr::Softmax`], are the numerically stable forms of `log Σ exp` and `exp/Σ exp`; only
//! simplification rules introduce them.

pub mod notation;
mod prim;
#[cfg(feature = "oracle")]
pub mod read;

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

    /// This position with `from` replaced by `to` (a label of `from` becomes a label of `to`,
    /// which must then be an index).
    fn replaced(self, from: Idx, to: Ix) -> Ix {
        match (self, to) {
            (Ix::Var(i), _) if i == from => to,
            (Ix::Label(i), Ix::Var(j)) if i == from => Ix::Label(j),
            _ => self,
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
        let r = |e: &Expr| e.replace_index(from, to);
        match self {
            Expr::Ref(x) => Expr::Ref(Ref {
                var: x.var,
                adjoint: x.adjoint,
                ix: x.ix.iter().map(|i| i.replaced(from, to)).collect(),
            }),
            Expr::Delta(a, b) => Expr::Delta(a.replaced(from, to), b.replaced(from, to)),
            Expr::Sum(i, _) | Expr::Lse(i, _) if *i == from => self.clone(),
            Expr::Sum(i, e) => Expr::Sum(*i, Box::new(r(e))),
            Expr::Lse(i, e) => Expr::Lse(*i, Box::new(r(e))),
            Expr::Softmax { at, over, body } => Expr::Softmax {
                at: at.replaced(from, to),
                over: *over,
                body: if *over == from {
                    body.clone()
                } else {
                    Box::new(r(body))
                },
            },
            Expr::Add(es) => Expr::Add(es.iter().map(r).collect()),
            Expr::Mul(es) => Expr::Mul(es.iter().map(r).collect()),
            Expr::Call(f, es) => Expr::Call(*f, es.iter().map(r).collect()),
            Expr::Pow(a, b) => Expr::Pow(Box::new(r(a)), Box::new(r(b))),
            Expr::Num(_) | Expr::BatchSize => self.clone(),
        }
    }

    /// Renames every bound index to one not in `taken` (and adds the new names to `taken`),
    /// so that the expression can be combined with others without capture.
    pub fn rename_bound(&self, taken: &mut BTreeSet<Idx>) -> Expr {
        let rebind = |i: Idx, body: &Expr, taken: &mut BTreeSet<Idx>| {
            let j = fresh(i, taken);
            taken.insert(j);
            (j, body.replace_index(i, Ix::Var(j)).rename_bound(taken))
        };
        match self {
            Expr::Sum(i, e) => {
                let (j, e) = rebind(*i, e, taken);
                Expr::Sum(j, Box::new(e))
            }
            Expr::Lse(i, e) => {
                let (j, e) = rebind(*i, e, taken);
                Expr::Lse(j, Box::new(e))
            }
            Expr::Softmax { at, over, body } => {
                let (j, e) = rebind(*over, body, taken);
                Expr::Softmax {
                    at: *at,
                    over: j,
                    body: Box::new(e),
                }
            }
            Expr::Add(es) => Expr::Add(es.iter().map(|e| e.rename_bound(taken)).collect()),
            Expr::Mul(es) => Expr::Mul(es.iter().map(|e| e.rename_bound(taken)).collect()),
            Expr::Call(f, es) => Expr::Call(*f, es.iter().map(|e| e.rename_bound(taken)).collect()),
            Expr::Pow(a, b) => Expr::Pow(
                Box::new(a.rename_bound(taken)),
                Box::new(b.rename_bound(taken)),
            ),
            _ => self.clone(),
        }
    }
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
