//! The `mlp!` macro. Thin by design: tokens → text with a source map → `mlp-compiler` →
//! tokens, or `compile_error!` under the offending token. All logic lives in `mlp-compiler`,
//! where it is testable without a compiler in the loop. Use it through `mlp_runtime::mlp!`.
#![warn(missing_docs)]

mod source_map;

use mlp_compiler::{Diagnostic, NetItem};
use proc_macro2::{Ident, Punct, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use source_map::SourceMap;

/// Compiles network declarations into specialized trainers.
///
/// ```text
/// mlp_runtime::mlp! {
///     /// The network from PyTorch's quickstart tutorial.
///     pub struct Mnist = 784 -> relu 512 -> relu 512 -> 10 : nll;
/// }
/// ```
#[proc_macro]
pub fn mlp(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand(input.into()).into()
}

fn expand(input: TokenStream) -> TokenStream {
    let map = SourceMap::new(input);
    match mlp_compiler::compile_items(&map.text) {
        Ok(items) => items.iter().map(|item| item_tokens(&map, item)).collect(),
        Err((items, diagnostics)) => {
            let mut out: TokenStream = diagnostics
                .into_iter()
                .map(|d| error_tokens(&map, &d))
                .collect();
            out.extend(items.iter().map(|item| item_tokens(&map, item)));
            out
        }
    }
}

/// The generated items, or a stand-in for an item with errors.
fn item_tokens(map: &SourceMap, item: &NetItem) -> TokenStream {
    let attrs: TokenStream = item
        .attrs
        .iter()
        .flat_map(|s| map.tokens(s.start, s.end))
        .collect();
    let vis = item
        .vis
        .map(|s| map.tokens(s.start, s.end))
        .unwrap_or_default();
    let name = Ident::new(
        &item.name.text,
        map.spans(item.name.span.start, item.name.span.end).0,
    );
    let Some(net) = &item.network else {
        return mlp_compiler::emit::stub_item(attrs, vis, &name);
    };
    let generated = mlp_compiler::compile_network(net.clone()).and_then(|compiled| {
        mlp_compiler::emit::network_item(&compiled, attrs.clone(), vis.clone(), &name)
    });
    match generated {
        Ok(tokens) => tokens,
        Err(limit) => {
            // Under the layer that caused it, else under the struct's name.
            let d = limit.diagnostic(&item.layer_spans, item.name.span);
            let mut out = error_tokens(map, &d);
            out.extend(mlp_compiler::emit::stub_item(attrs, vis, &name));
            out
        }
    }
}

/// `compile_error!` spanning the tokens the diagnostic points at.
fn error_tokens(map: &SourceMap, d: &Diagnostic) -> TokenStream {
    let (first, last) = map.spans(d.span.start, d.span.end);
    // One `compile_error!` carries one span; the notes already say what the related places
    // (`d.related`) show.
    let message = d.to_string();
    // syn spans an error from its first token to its last: two marker tokens carry the range.
    let mut start = Punct::new('#', Spacing::Alone);
    start.set_span(first);
    let mut end = Punct::new('#', Spacing::Alone);
    end.set_span(last);
    let range: TokenStream = [TokenTree::Punct(start), TokenTree::Punct(end)]
        .into_iter()
        .collect();
    syn::Error::new_spanned(range, message)
        .to_compile_error()
        .into_token_stream()
}
