//! The reference interpreter: evaluates equations element by element, in `f64` or in dual
//! numbers (forward mode, an independent check of the derived adjoints). Slow and plain by
//! design: it is the oracle the generated code and the derivation are tested against.

use crate::autodiff::forward::Program;
use crate::ir::{Dim, Equation, Expr, Idx, Ix, Prim, Var};
use std::collections::HashMap;
use std::ops::{Add, Mul, Neg};

/// A number the interpreter computes with.
pub trait Scalar: Copy + Add<Output = Self> + Mul<Output = Self> + Neg<Output = Self> {
    /// A constant.
    fn num(v: f64) -> Self;
    /// The value (for comparisons and `step`).
    fn value(self) -> f64;
    /// `self ^ p`.
    fn pow(self, p: Self) -> Self;
    /// A scalar primitive.
    fn prim(f: &Prim, args: &[Self]) -> Self;
}

impl Scalar for f64 {
    fn num(v: f64) -> f64 {
        v
    }
    fn value(self) -> f64 {
        self
    }
    fn pow(self, p: f64) -> f64 {
        if p.fract() == 0.0 && p.abs() < 64.0 {
            self.powi(p as i32)
        } else {
            self.powf(p)
        }
    }
    fn prim(f: &Prim, args: &[f64]) -> f64 {
        prim(f, args)
    }
}

/// A scalar primitive in `f64`: [`Prim::eval`].
pub fn prim(f: &Prim, a: &[f64]) -> f64 {
    f.eval(a)
}

/// `f(v)`, a user's function evaluated through its body (in `T`, so in dual numbers its
/// derivative is found independently of the derived one); `kink` is lowered to the distance
/// from the nearest kink (of `max`, `min`, `abs`, `step`, `sign`) met on the way.
fn call<T: Scalar>(f: &Prim, v: &[T], kink: &mut f64) -> T {
    let distance = match f {
        Prim::Max | Prim::Min => (v[0].value() - v[1].value()).abs(),
        Prim::Abs | Prim::Step | Prim::Sign => v[0].value().abs(),
        _ => f64::INFINITY,
    };
    *kink = kink.min(distance);
    match f {
        Prim::Apply(g) => body(&g.body, v[0], kink),
        Prim::Derivative(g) => body(&g.derivative, v[0], kink),
        _ => T::prim(f, v),
    }
}

/// A function's body (an expression in its argument alone) at `x`.
fn body<T: Scalar>(e: &Expr, x: T, kink: &mut f64) -> T {
    match e {
        Expr::Num(c) => T::num(*c),
        Expr::Ref(_) => x,
        Expr::Add(ts) => (ts.iter()).fold(T::num(0.0), |acc, t| acc + body(t, x, kink)),
        Expr::Mul(fs) => (fs.iter()).fold(T::num(1.0), |acc, f| acc * body(f, x, kink)),
        Expr::Pow(a, p) => body(a, x, kink).pow(body(p, x, kink)),
        Expr::Call(f, args) => {
            let v: Vec<T> = args.iter().map(|a| body(a, x, kink)).collect();
            call(f, &v, kink)
        }
        Expr::BatchSize
        | Expr::Delta(..)
        | Expr::Sum(..)
        | Expr::Lse(..)
        | Expr::Softmax { .. } => T::num(f64::NAN),
    }
}

/// A dual number `v + d·ε` with `ε² = 0`: forward-mode differentiation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dual {
    /// The value.
    pub v: f64,
    /// The derivative along the seeded direction.
    pub d: f64,
}

impl Add for Dual {
    type Output = Dual;
    fn add(self, o: Dual) -> Dual {
        Dual {
            v: self.v + o.v,
            d: self.d + o.d,
        }
    }
}

impl Mul for Dual {
    type Output = Dual;
    fn mul(self, o: Dual) -> Dual {
        Dual {
            v: self.v * o.v,
            d: self.d * o.v + self.v * o.d,
        }
    }
}

impl Neg for Dual {
    type Output = Dual;
    fn neg(self) -> Dual {
        Dual {
            v: -self.v,
            d: -self.d,
        }
    }
}

impl Scalar for Dual {
    fn num(v: f64) -> Dual {
        Dual { v, d: 0.0 }
    }
    fn value(self) -> f64 {
        self.v
    }
    fn pow(self, p: Dual) -> Dual {
        let v = self.v.pow(p.v);
        let mut d = p.v * self.v.pow(p.v - 1.0) * self.d;
        if p.d != 0.0 {
            d += v * self.v.ln() * p.d;
        }
        Dual { v, d }
    }
    fn prim(f: &Prim, a: &[Dual]) -> Dual {
        let x = a[0];
        let v = prim(f, &a.iter().map(|s| s.v).collect::<Vec<_>>());
        // Each derivative below is the textbook one, written independently of the symbolic
        // derivative table in `scalar.rs`.
        let d = match f {
            Prim::Exp => v * x.d,
            Prim::Log => x.d / x.v,
            Prim::Sqrt => x.d / (2.0 * v),
            Prim::Abs => x.v.signum() * x.d,
            Prim::Tanh => (1.0 - v * v) * x.d,
            Prim::Sigmoid => v * (1.0 - v) * x.d,
            Prim::Erf => std::f64::consts::FRAC_2_SQRT_PI * (-x.v * x.v).exp() * x.d,
            Prim::Max => {
                if x.v > a[1].v {
                    x.d
                } else {
                    a[1].d
                }
            }
            Prim::Min => {
                if x.v > a[1].v {
                    a[1].d
                } else {
                    x.d
                }
            }
            Prim::Step | Prim::Sign => 0.0,
            Prim::Softplus => prim(&Prim::Sigmoid, &[x.v]) * x.d,
            Prim::LogAddExp => {
                let p = prim(&Prim::Sigmoid, &[x.v - a[1].v]);
                p * x.d + (1.0 - p) * a[1].d
            }
            // A user's function: through its body, in dual numbers.
            Prim::Apply(_) | Prim::Derivative(_) => {
                let mut far = f64::INFINITY;
                return call(f, a, &mut far);
            }
        };
        Dual { v, d }
    }
}

/// A tensor's values, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Array<T> {
    /// Sizes of the axes.
    pub shape: Vec<usize>,
    /// The elements.
    pub data: Vec<T>,
}

/// Evaluates equations over concrete tensors.
pub struct Interp<'p, T> {
    program: &'p Program,
    batch: usize,
    values: HashMap<(Var, bool), Array<T>>,
    /// The smallest distance to a kink (`|a − b|` of `max`/`min`, `|a|` of `abs`, `step`,
    /// `sign`) seen so far: finite differences are unreliable when it is tiny.
    pub kink: f64,
}

impl<'p, T: Scalar> Interp<'p, T> {
    /// An interpreter for `program` with batch size `batch`.
    pub fn new(program: &'p Program, batch: usize) -> Self {
        Interp {
            program,
            batch,
            values: HashMap::new(),
            kink: f64::INFINITY,
        }
    }

    fn shape(&self, var: Var) -> Vec<usize> {
        let t = self
            .program
            .tensor(var)
            .unwrap_or_else(|| panic!("no tensor {var:?}"));
        t.shape
            .iter()
            .map(|d| {
                if let Dim::Fixed(n) = d {
                    *n
                } else {
                    self.batch
                }
            })
            .collect()
    }

    /// Sets a tensor's values; panics if the length does not match its shape.
    pub fn set(&mut self, var: Var, data: Vec<T>) {
        self.set_value(var, false, data);
    }

    /// Sets a tensor's values or, with `adjoint`, its adjoint's; panics if the length does
    /// not match its shape.
    pub fn set_value(&mut self, var: Var, adjoint: bool, data: Vec<T>) {
        let shape = self.shape(var);
        assert_eq!(
            data.len(),
            shape.iter().product::<usize>(),
            "wrong number of values for {var:?}"
        );
        self.values.insert((var, adjoint), Array { shape, data });
    }

    /// The size of the axis `i` indexes somewhere in `e`, if it indexes one: an axis of a
    /// tensor, or the samples, when `e` reads the label `tᵢ`.
    pub fn axis(&self, i: Idx, e: &Expr) -> Option<usize> {
        let mut found = None;
        let label = Ix::Label(i);
        e.visit(&mut |x| {
            if found.is_some() {
                return;
            }
            match x {
                Expr::Ref(r) if r.ix.contains(&label) => found = Some(self.batch),
                Expr::Ref(r) => {
                    if let Some(p) = r.ix.iter().position(|x| *x == Ix::Var(i)) {
                        found = Some(self.shape(r.var)[p]);
                    }
                }
                Expr::Delta(a, b) if *a == label || *b == label => found = Some(self.batch),
                _ => {}
            }
        });
        found
    }

    /// The value of `e` with its free indices at the positions `at`.
    pub fn value(&mut self, e: &Expr, at: &HashMap<Idx, usize>) -> T {
        let mut env = at.clone();
        self.eval(e, &mut env)
    }

    /// Sets every parameter from one flat slice in state_dict order; panics unless its length
    /// is the number of parameters.
    pub fn set_params(&mut self, params: &[T]) {
        let mut offset = 0;
        for p in self.program.params() {
            let n: usize = self.shape(p.var).iter().product();
            assert!(
                offset + n <= params.len(),
                "{} parameter values are too few",
                params.len()
            );
            self.set(p.var, params[offset..offset + n].to_vec());
            offset += n;
        }
        assert_eq!(
            offset,
            params.len(),
            "the program has {offset} parameters, found {} values",
            params.len()
        );
    }

    /// Sets the parameters, the inputs and the targets (labels as whole numbers for `nll`).
    pub fn load(&mut self, params: &[T], xs: &[f64], targets: &[f64]) {
        self.set_params(params);
        self.set(
            crate::autodiff::forward::X,
            xs.iter().map(|v| T::num(*v)).collect(),
        );
        self.set(
            crate::autodiff::forward::T,
            targets.iter().map(|v| T::num(*v)).collect(),
        );
    }

    /// The values of a tensor (or, with `adjoint`, of its adjoint).
    pub fn get(&self, var: Var, adjoint: bool) -> &[T] {
        &self
            .values
            .get(&(var, adjoint))
            .unwrap_or_else(|| panic!("{var:?} was not computed"))
            .data
    }

    /// Evaluates each equation in order, storing its left side.
    pub fn run(&mut self, equations: &[Equation]) {
        for eq in equations {
            let shape = self.shape(eq.lhs.var);
            let size: usize = shape.iter().product();
            let mut data = Vec::with_capacity(size);
            let mut env: HashMap<Idx, usize> = HashMap::new();
            for flat in 0..size {
                let mut rest = flat;
                for (x, n) in eq.lhs.ix.iter().zip(&shape).rev() {
                    env.insert(x.idx(), rest % n);
                    rest /= n;
                }
                data.push(self.eval(&eq.rhs, &mut env));
            }
            self.values
                .insert((eq.lhs.var, eq.lhs.adjoint), Array { shape, data });
        }
    }

    /// The range of `i` in `e`: the size of an axis it indexes.
    fn range(&self, i: Idx, e: &Expr) -> usize {
        self.axis(i, e)
            .unwrap_or_else(|| panic!("the index {i:?} of {e} has no range"))
    }

    fn position(&self, x: Ix, env: &HashMap<Idx, usize>) -> usize {
        match x {
            Ix::Var(i) => env[&i],
            Ix::Label(i) => {
                let label = self.get(crate::autodiff::forward::T, false)[env[&i]].value();
                assert!(
                    label >= 0.0 && label.fract() == 0.0,
                    "a class label must be a whole number, found {label}"
                );
                label as usize
            }
        }
    }

    fn eval(&mut self, e: &Expr, env: &mut HashMap<Idx, usize>) -> T {
        match e {
            Expr::Num(v) => T::num(*v),
            Expr::BatchSize => T::num(self.batch as f64),
            Expr::Ref(r) => {
                let a = self
                    .values
                    .get(&(r.var, r.adjoint))
                    .unwrap_or_else(|| panic!("{r} read before it was computed"));
                let mut flat = 0;
                for (x, n) in r.ix.iter().zip(&a.shape) {
                    let p = self.position(*x, env);
                    assert!(p < *n, "{r}: position {p} out of range {n}");
                    flat = flat * n + p;
                }
                a.data[flat]
            }
            Expr::Delta(a, b) => {
                T::num(f64::from(self.position(*a, env) == self.position(*b, env)))
            }
            Expr::Sum(i, body) => {
                let n = self.range(*i, body);
                let mut total = T::num(0.0);
                for k in 0..n {
                    env.insert(*i, k);
                    total = total + self.eval(body, env);
                }
                env.remove(i);
                total
            }
            Expr::Add(ts) => ts
                .iter()
                .fold(T::num(0.0), |acc, t| acc + self.eval(t, env)),
            Expr::Mul(fs) => fs
                .iter()
                .fold(T::num(1.0), |acc, f| acc * self.eval(f, env)),
            Expr::Pow(a, p) => {
                let (a, p) = (self.eval(a, env), self.eval(p, env));
                a.pow(p)
            }
            Expr::Call(f, args) => {
                let v: Vec<T> = args.iter().map(|a| self.eval(a, env)).collect();
                call(f, &v, &mut self.kink)
            }
            Expr::Lse(i, body) => {
                let scores = self.row(*i, body, env);
                let m = scores
                    .iter()
                    .map(|s| s.value())
                    .fold(f64::NEG_INFINITY, f64::max);
                let sum = scores.iter().fold(T::num(0.0), |acc, s| {
                    acc + T::prim(&Prim::Exp, &[*s + T::num(-m)])
                });
                T::num(m) + T::prim(&Prim::Log, &[sum])
            }
            Expr::Softmax { at, over, body } => {
                let scores = self.row(*over, body, env);
                let m = scores
                    .iter()
                    .map(|s| s.value())
                    .fold(f64::NEG_INFINITY, f64::max);
                let exps: Vec<T> = scores
                    .iter()
                    .map(|s| T::prim(&Prim::Exp, &[*s + T::num(-m)]))
                    .collect();
                let sum = exps.iter().fold(T::num(0.0), |acc, s| acc + *s);
                exps[self.position(*at, env)] * sum.pow(T::num(-1.0))
            }
        }
    }

    /// The values of `body` for each value of `i`.
    fn row(&mut self, i: Idx, body: &Expr, env: &mut HashMap<Idx, usize>) -> Vec<T> {
        let n = self.range(i, body);
        let out = (0..n)
            .map(|k| {
                env.insert(i, k);
                self.eval(body, env)
            })
            .collect();
        env.remove(&i);
        out
    }
}

/// Loss and gradient in `f64` from the derived equations: `params` flat in state_dict order,
/// `xs` of `batch` rows, `targets` (labels as whole numbers for `nll`). Also returns the
/// smallest distance to a kink seen.
pub fn loss_and_gradient(
    d: &crate::autodiff::reverse::Derived,
    params: &[f64],
    xs: &[f64],
    targets: &[f64],
    batch: usize,
) -> (f64, Vec<f64>, f64) {
    let program = &d.program;
    let mut it = Interp::<f64>::new(program, batch);
    it.load(params, xs, targets);
    it.run(&d.forward);
    let adjoints: Vec<Equation> = d.adjoints.iter().map(|a| a.equation.clone()).collect();
    it.run(&adjoints);
    let loss = it.get(crate::autodiff::forward::L, false)[0];
    let grad = program
        .params()
        .flat_map(|p| it.get(p.var, true).to_vec())
        .collect();
    (loss, grad, it.kink)
}

/// The loss in `T` from `equations` (forward only): with [`Dual`] parameters, forward mode.
pub fn loss<T: Scalar>(
    program: &Program,
    equations: &[Equation],
    params: &[T],
    xs: &[f64],
    targets: &[f64],
    batch: usize,
) -> T {
    let mut it = Interp::<T>::new(program, batch);
    it.load(params, xs, targets);
    it.run(equations);
    it.get(crate::autodiff::forward::L, false)[0]
}
