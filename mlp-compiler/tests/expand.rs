//! Snapshots of the Rust that `mlp!` generates (parsed as `syn::File`, printed with
//! prettyplease) for every network in `tests/expand/`: `mlp expand` prints the same.

#[test]
fn generated_code() {
    insta::glob!("expand/*.mlp", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let compiled = mlp_compiler::compile(&text).unwrap();
        let name = proc_macro2::Ident::new("Net", proc_macro2::Span::call_site());
        let tokens =
            mlp_compiler::emit::network_item(&compiled, quote::quote!(), quote::quote!(pub), &name)
                .expect("within the limits");
        let file: syn::File = syn::parse2(tokens).expect("generated code parses");
        insta::assert_snapshot!(prettyplease::unparse(&file));
    });
}
