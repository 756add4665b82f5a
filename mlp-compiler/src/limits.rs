//! The compiler's limits: what keeps every stage bounded in time and size for every input, so
//! that nothing a user types can hang `mlp!`, `mlp check` or `mlp explain`, or exhaust memory.
//!
//! Each limit is checked where its quantity is first known, and reported as an error under the
//! offending text:
//!
//! | limit | checked by | bounds |
//! | --- | --- | --- |
//! | [`MAX_NESTING`] | `parse`, before the grammar runs | the parser's recursion |
//! | [`MAX_FORMULA_SIZE`] | `parse` (as written), `validate` (after inlining) | every formula and its inlining |
//! | [`MAX_EVALUATION_COST`], [`MAX_FUNCTION_DEPTH`] | `validate`, for a call kept as a call | a kept activation's run time per element, the recursion over kept calls |
//! | [`MAX_LAYERS`] | `validate` | the equations, the derivation and its trace |
//! | [`MAX_DERIVED_SIZE`] | `derive`, before simplifying | each Jacobian and adjoint |
//! | [`MAX_DERIVATION_SIZE`] | `derive` | a network's whole derivation and its trace |
//! | [`REWRITE_LIMIT`], [`VISIT_LIMIT`] | `simplify` | each simplification |
//! | [`UNROLL_BUDGET`] | `emit` | unrolled code (past it, products call the GEMM) |
//! | [`MAX_EMITTED_TOKENS`] | `emit` | the generated code |
//!
//! Widths and weights per layer are bounded by `MAX_UNITS` and `MAX_WEIGHTS`
//! (`model::network`, which checks them). The figures below were measured on a shared 2-core
//! machine; "opt-level 0" is how a proc-macro runs in a user's build (Cargo's
//! `build-override` default), about three times slower than this workspace's opt-level 2.

/// The deepest brackets may nest: `(`, `[` (attributes), at most 64 levels.
///
/// The grammar is recursive descent, so nesting costs stack: 20,000 nested parentheses
/// overflowed the stack of `mlp check`. No formula needs more than a few levels.
pub const MAX_NESTING: usize = 64;

/// The most operations a formula may hold (constants, `x`, operators and calls, each one), as
/// written and after every custom activation it uses is inlined: 256.
///
/// Inlining copies a formula once per use of its variable, so nested definitions grow
/// exponentially: `act b1(x) = x*x + x; act b2(x) = b1(b1(x)); …` gives 5, 17, 161, 13,121
/// and 86 million operations for `b1` to `b5` (`b5` used to take `mlp check` 18 s and 215 MB,
/// and `b6` aborted it). The size is computed before a formula is inlined, so the check itself
/// is cheap. Built-in activations hold at most 12 operations (`elu`).
pub const MAX_FORMULA_SIZE: usize = 256;

/// The most operations one evaluation of a kept call may take, each call counted as its
/// callee's cost: 100,000.
///
/// A kept call (`act b2(x) = b1(b1(x))` keeps `b1` as a function) is linear in size however
/// deep the definitions go, but not in run time: `b1 … bk` composes `b1` 2ᵏ⁻¹ times, so `b16`
/// takes 180,223 operations per element and `b40` about 10¹³. `b1 … b15` (90,111) are within
/// it.
pub const MAX_EVALUATION_COST: usize = 100_000;

/// The most kept functions a call may nest through, the call included: 64.
///
/// Building, emitting and dropping kept functions recurses once per level, so a chain of
/// thousands of definitions that each call the one before would overflow the stack.
pub const MAX_FUNCTION_DEPTH: usize = 64;

/// The most layers a network may have: 64.
///
/// The derivation trace states every parameter's chain from the loss, so it grows with the
/// square of the depth, and it becomes two string constants of the generated code
/// (`DERIVATION` and `derivation_latex()`). At 64 layers of `tanh` it is 4.3 MB of text and
/// 4.3 MB of LaTeX (`gelu`: 5.9 + 6.6 MB); `mlp explain` takes 0.4 s (`gelu`: 0.7 s), and
/// `mlp!` spends about 5.5 s at opt-level 0 deriving, tracing and emitting. At 128 layers the
/// trace is 17 + 17 MB and `mlp!` takes about 20 s; at 256, four times that again. A trainer
/// of 64 layers of width 64 builds in 37 s in release (`gelu`: 41 s; 4 layers: 9 s). Layer
/// numbers are superscripts held in a byte, so the limit must stay below 256 in any case (at
/// 256 layers the last one used to be named `W⁰`, and at 257 the derivation looped forever).
/// Raise it when the trace becomes linear in depth.
pub const MAX_LAYERS: usize = 64;

/// The most operations one Jacobian or adjoint may hold as the sum, product and chain rules
/// first give it, before simplification: 1,000.
///
/// Differentiating a product of `n` factors gives `n` terms of `n` factors, and a chain of `n`
/// nested calls a product of `n` partials each holding the rest of the chain, so a formula
/// within [`MAX_FORMULA_SIZE`] can still have a derivative of tens of thousands of operations,
/// and simplifying it costs more than linearly: a product of 64 `x`s (4,418 operations before
/// simplification) took 3.2 s per layer at opt-level 0, one of 32 (1,186 operations) 0.25 s.
/// The built-in activations and losses stay below 100 (`gelu`: 91).
pub const MAX_DERIVED_SIZE: usize = 1_000;

/// The most operations the derivation of one network may hold in all, every Jacobian and
/// adjoint counted as first given and as simplified: 40,000.
///
/// [`MAX_DERIVED_SIZE`] bounds each expression, this their sum, and with it the time to
/// derive and the size of the trace, which repeats each layer's steps once for every parameter
/// below it. Built-in activations stay below half of it at [`MAX_LAYERS`] (64 layers of `gelu`,
/// the largest: 20,600; `tanh`: 9,800; the seed network: 540); a custom activation whose
/// derivative is near [`MAX_DERIVED_SIZE`] fits about a dozen layers. Without it, 64 layers of
/// `act c(x) = tanh(tanh(…x…))` (30 deep) took 63 s and 1.6 GB, with a trace of 200 MB.
pub const MAX_DERIVATION_SIZE: usize = 40_000;

/// How many multiply-adds one pass (forward or backward) of the generated code may unroll,
/// over all its tiny products (each at most `UNROLL_LIMIT` per sample, `emit::small`):
/// 1,024, four 16×16 layers. Products past the budget call the runtime's GEMM, as large
/// products always do.
///
/// A pass is one function, and rustc's time on it grows faster than its length: trainers of
/// 4, 8 and 16 layers of width 16 (768 unrolled multiply-adds per layer) took 12 s, 38 s and
/// 153 s (2.8 GB) to build in release when everything was unrolled; with this budget, 9 s,
/// 14 s and 18 s (0.4 GB), and 64 such layers 46 s.
pub const UNROLL_BUDGET: usize = 1_024;

/// The most tokens the generated code of one network may hold (a string constant counts as
/// one token per 16 bytes): 2 million.
///
/// The limits above keep generated code below it: 64 layers of `gelu`, the largest built-in,
/// give 1.0 million, most of them the 12.5 MB of the trace; a derivation at
/// [`MAX_DERIVATION_SIZE`] about as much. It is the last guard that no network makes rustc
/// read and compile code without bound.
pub const MAX_EMITTED_TOKENS: usize = 2_000_000;

/// The most rewrites one phase of a simplification may make before it is stopped as runaway.
pub const REWRITE_LIMIT: usize = 20_000;

/// The most nodes one phase of a simplification may visit: 300,000.
///
/// After each rewrite the engine simplifies the new node's children again, so its work is the
/// nodes it visits, not the rewrites it makes: a product of 80 `x`s took 6,642 rewrites but
/// 675,000 visits (2.9 s). Every visit is counted, so that simplification stops in bounded
/// time whatever the rules do. The derivation of the seed network visits at most 250 nodes per
/// phase; the largest derivatives [`MAX_DERIVED_SIZE`] allows, about 50,000.
pub const VISIT_LIMIT: usize = 300_000;
