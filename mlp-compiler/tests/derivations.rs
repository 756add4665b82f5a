//! Snapshots of the derivation trace, text and LaTeX, for every network in
//! `tests/derivations/`: together they cover every activation and loss, `softmax`, `no_bias`
//! and a custom activation. Review changes with `cargo insta review`.

#[test]
fn derivations() {
    insta::glob!("derivations/*.mlp", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let compiled = mlp_compiler::compile(&text).unwrap();
        insta::assert_snapshot!("text", compiled.derivation.text(None));
        insta::assert_snapshot!("latex", compiled.derivation.latex(None));
    });
}

/// The seed network's derivation states what seeds 001 and 003 derive by hand.
#[test]
fn seed_network_reads_like_the_seeds() {
    let compiled = mlp_compiler::compile("784 -> relu 512 -> relu 512 -> 10 : nll").unwrap();
    let text = compiled.derivation.text(None);
    for line in [
        // The rank-3 Jacobian, its size before it collapses, and the outer product after.
        "∂z²ₙᵢ/∂W²ⱼₖ = δᵢⱼ·a¹ₙₖ   rank-3 tensor, 512×512×512 per sample",
        "result     W̄²ᵢⱼ = Σₙ z̄²ₙᵢ·a¹ₙⱼ",
        "matrix     ∂L/∂W² = (Δ²)ᵀ·A¹",
        // The δ recursion of seed 001, with ReLU's derivative as a mask.
        "result     ā¹ₙᵢ = Σⱼ z̄²ₙⱼ·W²ⱼᵢ",
        "result     z̄¹ₙᵢ = ā¹ₙᵢ·step(z¹ₙᵢ)",
        "matrix     Δ¹ = Ā¹ ⊙ step(Z¹)",
        // softmax − onehot for NLL, found by simplification.
        "result     z̄³ₙᵢ = (softmax(z³ₙ)ᵢ − δ(i, tₙ))/N",
        "matrix     ∂L/∂b¹ = 1ᵀ·Δ¹",
    ] {
        // The renderer writes a bar as a combining macron (U+0304), never precomposed.
        let line = line.replace('ā', "a\u{304}").replace('Ā', "A\u{304}");
        assert!(text.contains(&line), "missing `{line}` in\n{text}");
    }
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
    assert!(text.contains("exp(−(0.707107·Z²)²)"), "{text}");
    assert!(text.contains("exp(−(0.707107·z²ₙᵢ)²)"), "{text}");
    assert!(
        latex.contains("\\exp\\left(-{\\left(0.707107 \\cdot Z^{2}\\right)}^{2}\\right)"),
        "{latex}"
    );
    assert!(latex.contains("\\operatorname{erf}\\left(0.707107 \\cdot Z^{2}\\right)"));
    assert!(
        latex.contains("\\frac{\\sigma\\left(Z^{3}\\right) - T}{N}"),
        "{latex}"
    );
    let (text, latex) = trace("3 -> tanh 4 -> 2 : mse");
    assert!(text.contains("Δ¹ = A\u{304}¹ ⊙ (1 − (A¹)²)"), "{text}");
    assert!(!latex.contains("step(") && !latex.contains("softmax("));
}
