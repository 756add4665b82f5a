//! Snapshots of the parsed and validated form of every spec in `tests/specs/`, and a check
//! that each one's canonical text parses back to the same network.

use mlp_compiler::compile_spec;
use mlp_compiler::syntax::ast::{BinOp, Expr};
use mlp_compiler::syntax::parse;

#[test]
fn specs() {
    insta::glob!("specs/*.mlp", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let ast = parse::parse_spec(&text).unwrap();
        let net = compile_spec(&text).unwrap();
        let again = compile_spec(&net.spec()).unwrap();
        assert_eq!(
            again,
            net,
            "the canonical text `{}` reads back differently",
            net.spec()
        );
        let formulas: Vec<String> = ast
            .acts
            .iter()
            .map(|a| format!("{} = {}", a.name.text, sexpr(&a.body)))
            .collect();
        insta::assert_snapshot!(format!(
            "{}\ncanonical: {}\n\nparsed formulas:\n{}\n\nvalidated:\n{:#?}",
            mlp_compiler::model::summary::describe(&net),
            net.spec(),
            formulas.join("\n"),
            net
        ));
    });
}

/// The parse tree as an s-expression, which shows precedence at a glance: `(- (neg x) 1)`.
fn sexpr(e: &Expr) -> String {
    match e {
        Expr::Num(n) => n.value.to_string(),
        Expr::Var(v) => v.text.clone(),
        Expr::Neg(a, _) => format!("(neg {})", sexpr(a)),
        Expr::Bin(op, a, b, _) => {
            let op = match op {
                BinOp::Add => "+",
                BinOp::Sub => "-",
                BinOp::Mul => "*",
                BinOp::Div => "/",
                BinOp::Pow => "^",
            };
            format!("({op} {} {})", sexpr(a), sexpr(b))
        }
        Expr::Call(f, args, _) => {
            let args: Vec<String> = args.iter().map(sexpr).collect();
            format!("({} {})", f.text, args.join(" "))
        }
    }
}
