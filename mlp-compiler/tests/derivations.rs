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
