//! Snapshots of `mlp graph`'s DOT for a handful of networks, and one-line checks that each edge
//! names the kernel the generated code really runs: a GEMM with the bias and activation in its
//! epilogue for wide layers, unrolled products for tiny ones, the activation's name and its
//! derivative, and the targets feeding the loss.

const SPECS: [(&str, &str); 5] = [
    ("seed", "784 -> relu 512 -> relu 512 -> 10 : nll"),
    (
        "swish",
        "act swish(x) = x * sigmoid(x); 784 -> swish 128 -> 10 : nll",
    ),
    ("bce", "64 -> relu 32 -> 1 : bce"),
    ("mse", "100 -> tanh 64 -> 4 : mse"),
    ("tiny", "2 -> tanh 8 -> sigmoid 1 : mse"),
];

fn graph(spec: &str) -> String {
    let plan = mlp_compiler::compile(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
    mlp_compiler::emit::graph::graph(&plan)
}

#[test]
fn snapshots() {
    for (name, spec) in SPECS {
        insta::assert_snapshot!(name, graph(spec), spec);
    }
}

/// Whether the graph of `spec` has the edge `from -> to` labelled `label`.
fn edge(spec: &str, from: &str, to: &str, label: &str) -> bool {
    graph(spec).contains(&format!("\"{from}\" -> \"{to}\" [label=\"{label}\"]"))
}

#[test]
fn edges_name_the_kernel_the_code_runs() {
    let seed = SPECS[0].1;
    assert!(edge(seed, "x", "z1", "GEMM"));
    assert!(edge(seed, "b1", "z1", "broadcast add (GEMM epilogue)"));
    assert!(edge(seed, "z1", "a1", "relu (GEMM epilogue)"));
    assert!(edge(seed, "z2", "z2_bar", "relu′ (GEMM epilogue)"));
    assert!(edge(seed, "z2_bar", "b2_bar", "batch sum"));
    assert!(edge(seed, "t", "L", "nll loss (loop)"));
    assert!(edge(seed, "t", "z3_bar", "nll′ (row-wise)"));
    let tiny = SPECS[4].1;
    assert!(edge(tiny, "x", "z1", "unrolled product"));
    assert!(edge(tiny, "b1", "z1", "broadcast add (unrolled)"));
    assert!(edge(tiny, "z1", "a1", "tanh"));
    assert!(edge(tiny, "a2_bar", "z2_bar", "sigmoid′"));
    assert!(edge(SPECS[1].1, "z1", "a1", "swish (GEMM epilogue)"));
}

#[test]
fn nodes_show_their_shapes() {
    let seed = graph(SPECS[0].1);
    for node in [
        "\"x\" [label=\"X · batch×784\"",
        "\"W1\" [label=\"W¹ · 512×784\"",
        "\"a1\" [label=\"A¹ · batch×512\"",
        "\"t\" [label=\"targets T · batch\"",
        "\"L\" [label=\"L · scalar\"",
    ] {
        assert!(seed.contains(node), "{node} in\n{seed}");
    }
}
