//! Every simplification rule checked by its meaning: each time a rule fires while networks
//! are derived, the node before and the node after have equal values, evaluated by the f64
//! reference interpreter at random inputs; and the rewrite limit stops rules that undo each
//! other.

use mlp_compiler::autodiff::forward::Role;
use mlp_compiler::interp::Interp;
use mlp_compiler::ir::{Equation, Expr, Idx};
use mlp_compiler::limits::REWRITE_LIMIT;
use mlp_compiler::simplify::rules::{Kind, RULES, Rule};
use mlp_compiler::simplify::{Context, Firing, Phase, RuleLog, read_stable, run_rules, simplify};
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Networks whose derivations fire every rule: every built-in activation and loss, and
/// custom activations written the naive way (`1/(1 + exp(−x))`, `log(1 + exp x)`).
const SPECS: &[&str] = &[
    "3 -> relu 4 -> leaky_relu(0.2) 4 -> 3 : nll",
    "3 -> elu 4 -> gelu 4 -> 3 : ce",
    "2 -> softplus 3 -> silu 3 -> 1 : bce",
    "2 -> tanh 3 -> sigmoid 2 : mse",
    "3 -> relu 4 -> softmax 3 : l2",
    "3 -> tanh 3 no_bias -> 2 no_bias : l2",
    "act logistic(x) = 1 / (1 + exp(-x));
     act odds(x) = exp(x) / (1 + exp(x));
     act soft(x) = log(1 + exp(x));
     act th(x) = (exp(x) - exp(-x)) / (exp(-x) + exp(x));
     act lae(x) = log(exp(x) + exp(2 * x));
     act cube(x) = x ^ 3 / (1 + abs(x * x * x));
     act bump(x) = exp(-x^2 / 2) - min(x, 0.5e-1) + sqrt(x * x + 1);
     2 -> logistic 3 -> odds 3 -> soft 3 -> th 3 -> lae 3 -> cube 3 -> bump 2 : mse",
];

/// Expressions no derivation above gives a rule to fire on, read in the first network's terms.
const EXPRESSIONS: &[&str] = &["δᵢᵢ·b¹ᵢ"];

/// A reproducible stream of values in [−1.5, 1.5).
struct Values(u64);

impl Values {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 3.0 - 1.5
    }

    fn below(&mut self, n: usize) -> usize {
        (((self.next() + 1.5) / 3.0) * n as f64) as usize % n.max(1)
    }
}

/// Whether `a` and `b` are the same number, up to rounding.
fn same(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// What the firings of one rule showed.
#[derive(Default)]
struct Tally {
    fired: usize,
    checked: usize,
    wrong: Vec<String>,
}

/// Checks `firing` at a few random positions of its free indices.
fn check(it: &mut Interp<'_, f64>, firing: &Firing, values: &mut Values, tally: &mut Tally) {
    let (before, after) = (&firing.before, &firing.after);
    let mut free = before.free();
    free.extend(after.free());
    let free: Vec<Idx> = free.into_iter().collect();
    let ranges: Vec<usize> = free
        .iter()
        .map(|i| it.axis(*i, before).or(it.axis(*i, after)).unwrap_or(2))
        .collect();
    for _ in 0..3 {
        let at: HashMap<Idx, usize> = free
            .iter()
            .zip(&ranges)
            .map(|(i, n)| (*i, values.below(*n)))
            .collect();
        // An index summed over that only a δ mentions has no range: the interpreter cannot
        // evaluate the node, which the δ rules then remove.
        let Ok(want) = catch_unwind(AssertUnwindSafe(|| it.value(before, &at))) else {
            return;
        };
        let got = catch_unwind(AssertUnwindSafe(|| it.value(after, &at)));
        if !want.is_finite() {
            continue;
        }
        tally.checked += 1;
        match got {
            Ok(got) if same(want, got) => {}
            Ok(got) => tally
                .wrong
                .push(format!("{before} = {want}, but {after} = {got} at {at:?}")),
            Err(_) => tally.wrong.push(format!(
                "{before} = {want}, but {after} cannot be evaluated"
            )),
        }
    }
}

#[test]
fn every_rule_keeps_the_value_of_what_it_rewrites() {
    std::panic::set_hook(Box::new(|_| {}));
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut values = Values(11);
    for (k, spec) in SPECS.iter().enumerate() {
        let c = mlp_compiler::compile(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let d = &c.derived;
        let batch = 2;
        let mut it = Interp::<f64>::new(&d.program, batch);
        let classes = d.program.tensor(d.program.output).expect("output").shape[1];
        let classes = match classes {
            mlp_compiler::ir::Dim::Fixed(n) => n,
            mlp_compiler::ir::Dim::Batch => batch,
        };
        for t in &d.program.tensors {
            let n: usize = t
                .shape
                .iter()
                .map(|d| match d {
                    mlp_compiler::ir::Dim::Fixed(n) => *n,
                    mlp_compiler::ir::Dim::Batch => batch,
                })
                .product();
            let data: Vec<f64> = match t.role {
                // Labels for `nll`, values in [0, 1) for the other losses.
                Role::Target if spec.contains("nll") => {
                    (0..n).map(|_| values.below(classes) as f64).collect()
                }
                Role::Target => (0..n).map(|_| (values.next() + 1.5) / 3.0).collect(),
                _ => (0..n).map(|_| values.next()).collect(),
            };
            if matches!(t.role, Role::Value | Role::Param) {
                let adjoint: Vec<f64> = (0..n).map(|_| values.next()).collect();
                it.set_value(t.var, true, adjoint);
            }
            if t.role != Role::Loss {
                it.set_value(t.var, false, data);
            }
        }
        let values_of: Vec<Equation> = d.stored();
        it.run(&values_of);
        // Every expression the derivation simplifies, simplified again with each firing kept.
        // The forward equations as written: their stable forms are read first.
        let written = mlp_compiler::autodiff::forward::program(&c.network).unwrap();
        let mut work: Vec<(&Expr, Context<'_>)> = written
            .forward
            .iter()
            .map(|e| (&e.rhs, Context::default()))
            .collect();
        let cx = Context { stored: &values_of };
        for a in &d.adjoints {
            work.push((&a.raw, cx));
            work.extend(a.contributions.iter().map(|c| (&c.raw, cx)));
        }
        let extra: Vec<Expr> = match k {
            0 => EXPRESSIONS
                .iter()
                .map(|e| mlp_compiler::ir::read::parse(e).expect("an expression"))
                .collect(),
            _ => Vec::new(),
        };
        work.extend(extra.iter().map(|e| (e, Context::default())));
        for (e, cx) in work {
            let mut log = RuleLog::recording();
            let e = read_stable(e, &mut log).expect("within the limits");
            simplify(&e, cx, &mut log).expect("within the limits");
            for firing in log.firings.unwrap_or_default() {
                let tally = tallies.entry(firing.rule).or_default();
                tally.fired += 1;
                check(&mut it, &firing, &mut values, tally);
            }
        }
    }
    let _ = std::panic::take_hook();
    let mut problems = Vec::new();
    for rule in RULES {
        match tallies.get(rule.name) {
            None => problems.push(format!("`{}` never fired", rule.name)),
            Some(t) if t.checked == 0 => problems.push(format!(
                "`{}` fired {} times, never where its value could be checked",
                rule.name, t.fired
            )),
            Some(t) => problems.extend(
                t.wrong
                    .iter()
                    .take(3)
                    .map(|w| format!("`{}` ({}): {w}", rule.name, rule.identity)),
            ),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn one_to_two(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    e.is_num(1.0).then_some(Expr::Num(2.0))
}

fn two_to_one(e: &Expr, _: &Context<'_>) -> Option<Expr> {
    e.is_num(2.0).then_some(Expr::Num(1.0))
}

#[test]
fn the_rewrite_limit_stops_rules_that_undo_each_other() {
    let rules = [
        Rule {
            name: "one-to-two",
            identity: "1 → 2",
            kind: Kind::Step,
            phases: &[Phase::Expand],
            apply: one_to_two,
        },
        Rule {
            name: "two-to-one",
            identity: "2 → 1",
            kind: Kind::Step,
            phases: &[Phase::Expand],
            apply: two_to_one,
        },
    ];
    let rules: Vec<&Rule> = rules.iter().collect();
    let mut log = RuleLog::default();
    let stop = run_rules(&Expr::Num(1.0), &rules, Context::default(), &mut log)
        .expect_err("the pair never reaches a fixed point");
    assert_eq!(stop.limit, format!("{REWRITE_LIMIT} rewrites"));
    assert_eq!(log.fired.len(), REWRITE_LIMIT);
}
