//! Draws random network specs (seeded, so every build draws the same) for the differential
//! tests of generated code: `$OUT_DIR/random_nets.rs` holds one `mlp!` item per spec and a
//! list of them for the tests to walk.

use std::fmt::Write;

const ACTIVATIONS: [&str; 13] = [
    "",
    "relu",
    "leaky_relu",
    "leaky_relu(0.2)",
    "elu",
    "elu(0.5)",
    "sigmoid",
    "tanh",
    "softplus",
    "silu",
    "gelu",
    "softmax",
    "custom",
];
const LOSSES: [&str; 5] = ["nll", "ce", "mse", "bce", "l2"];

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A random formula in x, defined for every real x; with `calls`, it may call `inner`.
fn formula(rng: &mut Lcg, depth: u32, calls: bool) -> String {
    if depth == 0 || rng.below(3) == 0 {
        return match rng.below(3) {
            0 => format!("{}", (rng.below(20) + 1) as f64 / 10.0),
            _ => "x".to_owned(),
        };
    }
    let a = formula(rng, depth - 1, calls);
    let b = formula(rng, depth - 1, calls);
    match rng.below(if calls { 15 } else { 13 }) {
        // `inner` kept as a function when it uses x more than once, else inlined.
        13 | 14 => format!("inner({a})"),
        // Stable functions written out, which the compiler reads as σ, logaddexp, tanh.
        10 => format!("1 / (1 + exp(-{a}))"),
        11 => format!("log(exp({a}) + exp({b}))"),
        12 => format!("(exp({a}) - exp(-{a})) / (exp({a}) + exp(-{a}))"),
        0 => format!("({a} + {b})"),
        1 => format!("({a} - {b})"),
        2 => format!("{a} * {b}"),
        3 => format!("tanh({a})"),
        4 => format!("sigmoid({a})"),
        5 => format!("exp(tanh({a}))"),
        6 => format!("log(1 + {a}^2)"),
        7 => format!("max({a}, {b})"),
        8 => format!("{a} / (1 + {b}^2)"),
        _ => format!("erf({a})"),
    }
}

/// Adds the `mlp!` item of `defs` and `spec` named `name`, and its entry in the list.
fn network(
    items: &mut String,
    list: &mut String,
    name: &str,
    defs: &str,
    spec: &str,
    target: &str,
) {
    writeln!(
        items,
        "mlp_runtime::mlp! {{ {defs} pub struct {name} = {spec}; }}"
    )
    .unwrap();
    let full = format!("{defs} {spec}");
    writeln!(
        list,
        "    (\"{name}\", {full:?}, |name, spec| check_{target}!({name}, name, spec)),"
    )
    .unwrap();
}

fn main() {
    let mut rng = Lcg(2026);
    let mut items = String::new();
    let mut list = String::from(
        "/// Checks one network; returns how many batches were compared.\npub type Check = fn(&str, &str) -> usize;\n/// Every random network: name, spec, and its check.\npub const RANDOM_NETS: &[(&str, &str, Check)] = &[\n",
    );
    for k in 0..30 {
        let loss = LOSSES[rng.below(5) as usize];
        let depth = 1 + rng.below(4);
        // `inner` uses x twice at least, so a call of it on more than x stays a function.
        let inner = format!("({}) * x + 0.5 * x", formula(&mut rng, 2, false));
        let custom = formula(&mut rng, 3, true);
        let defs = format!("act inner(x) = {inner}; act custom(x) = {custom};");
        let mut spec = format!("{}", 1 + rng.below(16));
        for layer in 0..depth {
            let last = layer + 1 == depth;
            let mut act = ACTIVATIONS[rng.below(13) as usize];
            // Some layers wide enough to exercise full tiles and threads.
            let mut units = if rng.below(5) == 0 {
                33 + rng.below(80)
            } else {
                1 + rng.below(16)
            };
            if last {
                if matches!(loss, "nll" | "ce") {
                    units = units.max(2);
                    if act == "softmax" || act == "sigmoid" {
                        act = "";
                    }
                }
                if loss == "bce" && (act == "softmax" || act == "sigmoid") {
                    act = "";
                }
            }
            // Softmax over one unit is a constant, which the compiler refuses.
            if act == "softmax" {
                units = units.max(2);
            }
            let bias = if rng.below(4) == 0 { " no_bias" } else { "" };
            write!(spec, " -> {act} {units}{bias}").unwrap();
        }
        write!(spec, " : {loss}").unwrap();
        let target = if loss == "nll" { "labels" } else { "vectors" };
        network(
            &mut items,
            &mut list,
            &format!("Net{k}"),
            &defs,
            &spec,
            target,
        );
    }
    // Functions that call functions: s4 is s1 composed 8 times, each kept as a function.
    let defs = "act s1(x) = x - 0.1 * x * x * x; act s2(x) = s1(s1(x)); act s3(x) = s2(s2(x)); act s4(x) = s3(s3(x));";
    network(
        &mut items,
        &mut list,
        "Shared",
        defs,
        "5 -> s4 6 -> tanh 4 -> 3 : mse",
        "vectors",
    );
    list.push_str("];\n");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("random_nets.rs");
    std::fs::write(out, items + &list).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
