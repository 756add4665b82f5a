//! Snapshots of the derivation trace, text, LaTeX and text with every rewrite, for every network in
//! `tests/derivations/`: together they cover every activation and loss, `softmax`, `no_bias`
//! and a custom activation. Review changes with `cargo insta review`.

use mlp_compiler::ir::notation::Style;

#[test]
fn derivations() {
    insta::glob!("derivations/*.mlp", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let compiled = mlp_compiler::compile(&text).unwrap();
        insta::assert_snapshot!("text", compiled.derivation.text(None));
        insta::assert_snapshot!("latex", compiled.derivation.latex(None));
        let steps = compiled.derivation.with_rewrites(None, Style::Text);
        insta::assert_snapshot!("steps", steps);
    });
}

/// The seed network's derivation states what seeds 001 and 003 derive by hand.
#[test]
fn seed_network_reads_like_the_seeds() {
    let compiled = mlp_compiler::compile("784 -> relu 512 -> relu 512 -> 10 : nll").unwrap();
    let text = compiled.derivation.text(None);
    for line in [
        // The rank-3 Jacobian, its size before it collapses, and the outer product after.
        "∂z²ₙₖ/∂W²ᵢⱼ = δₖᵢ·a¹ₙⱼ   rank-3 tensor, 512×512×512 per sample",
        "chain rule W̄²ᵢⱼ = Σₙ Σₖ z̄²ₙₖ·δₖᵢ·a¹ₙⱼ",
        "expand     W̄²ᵢⱼ = Σₙ z̄²ₙᵢ·a¹ₙⱼ   by delta-eliminate: a sum of outer products over the batch",
        "matrix     ∂L/∂W² = (Δ²)ᵀ·A¹",
        // The δ recursion of seed 001, stated once and instantiated, with ReLU's derivative
        // as a mask; the second instance of each form is one line.
        "āˡₙᵢ = Σⱼ z̄ˡ⁺¹ₙⱼ·Wˡ⁺¹ⱼᵢ   Āˡ = Δˡ⁺¹·Wˡ⁺¹",
        "expand     ā²ₙᵢ = Σⱼ z̄³ₙⱼ·W³ⱼᵢ   by delta-eliminate",
        "expand     z̄²ₙᵢ = ā²ₙᵢ·step(z²ₙᵢ)   by delta-eliminate ×2",
        "ā¹, through its consumer z², as ā²: ā¹ₙᵢ = Σⱼ z̄²ₙⱼ·W²ⱼᵢ, Ā¹ = Δ²·W²",
        "z̄¹, through its consumer a¹, as z̄²: z̄¹ₙᵢ = ā¹ₙᵢ·step(z¹ₙᵢ), Δ¹ = Ā¹ ⊙ step(Z¹)",
        // The glossary to seed 001's letters.
        "Seed 001 writes zˡ, aˡ, Δˡ, Āˡ as uˡ, zˡ, ξˡ, δˡ.",
        // softmax − onehot for NLL, found by simplification: the loss's derivative as first
        // written, δ-eliminated, softmax recognized, factored.
        "Jacobian   ∂L/∂z³ₙᵢ = (1/N)·Σₙ′ ((1/(Σⱼ exp(z³ₙ′ⱼ)))·Σⱼ exp(z³ₙ′ⱼ)·δₙ′ₙ·δⱼᵢ − Σₖ δ(k, tₙ′)·δₙ′ₙ·δₖᵢ)",
        "expand     z̄³ₙᵢ = exp(z³ₙᵢ)/(N·Σⱼ exp(z³ₙⱼ)) − δ(i, tₙ)/N   by delta-eliminate ×4, sum-linear, distribute-delta",
        "recognize  z̄³ₙᵢ = softmax(z³ₙ)ᵢ/N − δ(i, tₙ)/N   by softmax",
        "tidy       z̄³ₙᵢ = (softmax(z³ₙ)ᵢ − δ(i, tₙ))/N   by factor",
        "matrix     ∂L/∂b¹ = 1ᵀ·Δ¹",
    ] {
        // The renderer writes a bar as a combining macron (U+0304), never precomposed.
        let line = line.replace('ā', "a\u{304}").replace('Ā', "A\u{304}");
        assert!(text.contains(&line), "missing `{line}` in\n{text}");
    }
    let lines = text.lines().count();
    assert!(lines <= 70, "the seed network's trace is {lines} lines");
}

/// Matrix forms are printed by the same printer as index forms, so they bracket what
/// precedence needs: a product under `/`, a power of a product, a power of a tensor whose layer
/// mark would otherwise read as a power; and name functions upright in LaTeX.
#[test]
fn matrix_forms_bracket_what_precedence_needs() {
    let trace = |spec: &str| {
        let c = mlp_compiler::compile(spec).unwrap();
        (c.derivation.text(None), c.derivation.latex(None))
    };
    let (text, _) = trace("act s(x) = sqrt(x^2 + 1) - 1; 3 -> s 4 -> 1 : l2");
    let line = "matrix     Δ¹ = (2·A\u{304}¹ ⊙ Z¹)/(2·√(1 + (Z¹)²))";
    assert!(text.contains(line), "missing `{line}` in\n{text}");
    let (text, latex) = trace("5 -> softplus 6 -> gelu 4 -> 1 : bce");
    // Recognizable constants are exact: 1/√2, 1/√(2π), not 0.707107, 0.398942.
    assert!(text.contains("exp(−((1/√2)·Z²)²)"), "{text}");
    assert!(
        text.contains("(1/√(2π))·z²ₙᵢ·exp(−((1/√2)·z²ₙᵢ)²)"),
        "{text}"
    );
    assert!(
        latex.contains(
            "\\exp\\left(-{\\left(\\frac{1}{\\sqrt{2}} \\cdot Z^{2}\\right)}^{2}\\right)"
        ),
        "{latex}"
    );
    assert!(latex.contains("\\operatorname{erf}\\left(\\frac{1}{\\sqrt{2}} \\cdot Z^{2}\\right)"));
    // No unit factor, and a rational coefficient joins the denominator.
    let (text, _) = trace("act c(x) = x^3/3; 3 -> c 3 : mse");
    assert!(text.contains("L = (1/(3·N))·Σₙ Σₖ (a¹ₙₖ − tₙₖ)²"), "{text}");
    assert!(text.contains("= (2·(a¹ₙᵢ − tₙᵢ))/(3·N)"), "{text}");
    assert!(
        !text.contains("1·") && !text.contains(" 1 outputs"),
        "{text}"
    );
    assert!(
        latex.contains("\\frac{\\sigma\\left(Z^{3}\\right) - T}{N}"),
        "{latex}"
    );
    let (text, latex) = trace("3 -> tanh 4 -> 2 : mse");
    assert!(text.contains("Δ¹ = A\u{304}¹ ⊙ (1 − (A¹)²)"), "{text}");
    assert!(!latex.contains("step(") && !latex.contains("softmax("));
}

/// Each adjoint is derived once, so the trace grows linearly with the depth (it grew with its
/// square when every parameter repeated its chain): at most 40 lines a layer.
#[test]
fn the_trace_is_linear_in_depth() {
    for layers in [3, 9, 30] {
        let hidden = " -> tanh 8".repeat(layers - 1);
        let spec = format!("4{hidden} -> 3 : mse");
        let c = mlp_compiler::compile(&spec).unwrap();
        let lines = c.derivation.text(None).lines().count();
        assert!(lines <= 40 * layers, "{layers} layers: {lines} lines");
        // Every adjoint of the chain, once: two a layer (ā, z̄) but the input's.
        let adjoints = c.derivation.steps.len() - 2 * layers;
        assert_eq!(adjoints, 2 * layers - 1, "{spec}");
    }
    // `--param W2` still shows the whole chain to W².
    let c = mlp_compiler::compile("784 -> relu 512 -> relu 512 -> 10 : nll").unwrap();
    let text = c.derivation.text(c.derivation.param("W2"));
    for block in [
        "z̄³, through",
        "ā², through",
        "z̄², through",
        "∂L/∂W²: the chain",
    ] {
        assert!(text.contains(&block.replace('ā', "a\u{304}")), "{block}");
    }
    assert!(!text.contains("ā¹, through".replace('ā', "a\u{304}").as_str()));
}

/// Within one step of the derivation (Jacobian, contraction, result), each index letter names
/// one axis, and `n` (primed or not) is always a sample: checked on networks whose layers all
/// have different widths, so that an axis is known by its size.
#[test]
fn each_letter_names_one_axis_within_a_step() {
    use mlp_compiler::ir::{Dim, Expr, Idx, Ix, Ref};
    use std::collections::BTreeMap;
    for spec in [
        "784 -> relu 512 -> relu 256 -> 10 : nll",
        "3 -> softmax 5 -> tanh 7 -> 2 : mse",
        "act sw(x) = x * sigmoid(x); 4 -> sw 6 -> gelu 9 -> 3 : ce",
        "2 -> softplus 5 no_bias -> 3 : bce",
    ] {
        let compiled = mlp_compiler::compile(spec).unwrap();
        let program = &compiled.derived.program;
        for step in &compiled.derivation.steps {
            let mut axes: BTreeMap<Idx, Dim> = BTreeMap::new();
            let mut problems = Vec::new();
            let mut see = |i: Idx, d: Dim, problems: &mut Vec<String>| {
                let sample = i.letter == Idx::BATCH.letter;
                if sample != (d == Dim::Batch) {
                    problems.push(format!("{i:?} on an axis of {d:?}"));
                }
                if let Some(old) = axes.insert(i, d)
                    && old != d
                {
                    problems.push(format!("{i:?} names axes of {old:?} and {d:?}"));
                }
            };
            let mut refs: Vec<Ref> = vec![
                step.jacobian.of.clone(),
                step.jacobian.by.clone(),
                step.contraction.lhs.clone(),
                step.result.lhs.clone(),
            ];
            let mut deltas = Vec::new();
            for e in [
                &step.jacobian.entries,
                &step.contraction.rhs,
                &step.result.rhs,
            ] {
                e.visit(&mut |x| match x {
                    Expr::Ref(r) => refs.push(r.clone()),
                    Expr::Delta(a, b) => deltas.push((*a, *b)),
                    _ => {}
                });
            }
            for r in &refs {
                let tensor = program.tensor(r.var).expect("declared");
                for (x, d) in r.ix.iter().zip(&tensor.shape) {
                    see(x.idx(), *d, &mut problems);
                }
            }
            for (a, b) in deltas {
                // δ(i, tₙ) compares a class index with a label; δᵢⱼ two indices of one axis.
                // (An index only δs mention has no tensor to tell its axis.)
                if let (Ix::Var(a), Ix::Var(b)) = (a, b)
                    && let (Some(x), Some(y)) = (axes.get(&a), axes.get(&b))
                {
                    assert_eq!(x, y, "{spec}: δ across axes");
                }
            }
            assert!(
                problems.is_empty(),
                "{spec}, step {:?}: {problems:?}",
                step.var
            );
        }
    }
}

/// `--steps` shows every rewrite a reader can see, in order, before → after, under its rule's
/// name and identity; the stages between them are those of the default trace.
#[test]
fn steps_show_every_rewrite() {
    let c = mlp_compiler::compile("784 -> relu 512 -> relu 512 -> 10 : nll").unwrap();
    let steps = c.derivation.with_rewrites(None, Style::Text);
    for line in [
        "      delta-eliminate: Σⱼ exp(z³ₙ′ⱼ)·δₙ′ₙ·δⱼᵢ → exp(z³ₙ′ᵢ)·δₙ′ₙ   (Σᵢ δᵢₖ·e = e[i:=k])",
        "      softmax: exp(z³ₙᵢ)/(N·Σⱼ exp(z³ₙⱼ)) → ((Σⱼ exp(z³ₙⱼ))⁰·softmax(z³ₙ)ᵢ)/N   (exp(eₖ)/Σᵢ exp(eᵢ) = softmax(e)ₖ)",
        "      power: (Σⱼ exp(z³ₙⱼ))⁰ → 1   (a¹ = a, a⁰ = 1, (aᵖ)ᑫ = aᵖᑫ for integer q)",
        "      factor: softmax(z³ₙ)ᵢ/N − δ(i, tₙ)/N → (softmax(z³ₙ)ᵢ − δ(i, tₙ))/N   (a·b + a·c = a·(b + c))",
    ] {
        assert!(steps.contains(line), "missing `{line}` in\n{steps}");
    }
    // Every rewrite shown is one the stages recorded, and no step is abbreviated.
    let rewrites = steps.lines().filter(|l| l.starts_with("      ")).count();
    let recorded: usize = c
        .derivation
        .steps
        .iter()
        .flat_map(|s| &s.stages)
        .map(|st| st.visible().count())
        .sum();
    assert_eq!(rewrites, recorded);
    assert!(!steps.contains(", as "), "{steps}");
    // The default trace lists the rules of each stage, not the rewrites.
    assert!(!c.derivation.text(None).contains(" → exp("));
}

/// A parameter the loss does not depend on (its layer's activation multiplies by zero, or is
/// a constant) is said so once, in one line, and the generated code computes no product for
/// it: its gradient is written as zeros, and the adjoints only it needed are left out.
#[test]
fn a_gradient_identically_zero_is_reported_once_and_not_computed() {
    use proc_macro2::{Ident, Span, TokenStream};
    for (spec, says) in [
        (
            "act zz(x) = 0*x; 3 -> zz 4 -> 2 : mse",
            "∂L/∂W¹ = 0: the loss does not depend on W¹, as z\u{304}¹ = 0",
        ),
        (
            "act c(x) = 3; 3 -> c 4 -> 2 : mse",
            "∂L/∂W¹ = 0: the loss does not depend on z¹ → W¹",
        ),
    ] {
        let c = mlp_compiler::compile(spec).unwrap();
        let d = &c.derived;
        let params: Vec<_> = d.program.params().map(|p| (p.var.ascii(), p.var)).collect();
        for (name, var) in &params {
            let zero = name.ends_with('1');
            assert_eq!(d.is_zero(*var), zero, "{spec}: {name}");
        }
        let live: Vec<String> = d
            .live_adjoints()
            .iter()
            .map(|e| e.lhs.var.ascii())
            .collect();
        assert_eq!(live, ["z2", "W2", "b2", "W1", "b1"], "{spec}");
        let text = c.derivation.text(None);
        let says = says.replace("\\u{304}", "\u{304}");
        assert_eq!(text.matches(&says).count(), 1, "{spec}:\n{text}");
        assert!(!text.contains("chain rule W\u{304}¹"), "{spec}:\n{text}");
        let name = Ident::new("Net", Span::call_site());
        let code =
            mlp_compiler::emit::network_item(&c, TokenStream::new(), TokenStream::new(), &name)
                .expect("emits")
                .to_string();
        // Doc comments are string literals, which write the bar as an escape.
        assert!(code.contains(r"W\u{304}¹ᵢⱼ = 0"), "{spec}");
        assert!(code.contains(r"z\u{304}²ₙᵢ ="), "{spec}");
        // Each computed equation's doc comment ends with its matrix form in brackets.
        assert!(code.contains(r"[Δ² = "), "{spec}");
        assert!(!code.contains(r"[A\u{304}¹ = "), "{spec}: ā¹ is computed");
        assert!(!code.contains(r"[Δ¹ = "), "{spec}: z̄¹ is computed");
    }
}

#[test]
fn constants_print_exactly_and_the_users_as_written() {
    let text = |spec: &str| mlp_compiler::compile(spec).unwrap().derivation.text(None);
    let gelu = text("5 -> gelu 4 -> 1 : l2");
    for exact in [
        "a¹ₙᵢ = (1/2)·z¹ₙᵢ·(1 + erf((1/√2)·z¹ₙᵢ))",
        "(1/√(2π))·z¹ₙⱼ",
        "(1/2)·(z²ₙₖ − tₙₖ)²",
    ] {
        assert!(gelu.contains(exact), "missing `{exact}` in\n{gelu}");
    }
    let own = text("act h(x) = 0.5 * x * (1 + tanh(x)); 3 -> h 4 -> leaky_relu(0.25) 1 : l2");
    for written in ["a¹ₙᵢ = 0.5·z¹ₙᵢ·(1 + tanh(z¹ₙᵢ))", "0.25·min(z²ₙᵢ, 0)"]
    {
        assert!(own.contains(written), "missing `{written}` in\n{own}");
    }
    let mse = text("3 -> tanh 4 -> 2 : mse");
    assert!(mse.contains("L = (1/(2·N))·Σₙ Σₖ (z²ₙₖ − tₙₖ)²"), "{mse}");
}
