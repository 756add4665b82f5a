//! Tokens → text, remembering where each token went, so that a byte range of the text (where
//! the compiler found an error) maps back to the tokens (and spans) the user wrote.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};

/// The text of a token stream and the map back from its byte ranges to the tokens.
pub struct SourceMap {
    /// The tokens written out as DSL text.
    pub text: String,
    /// Every leaf (identifier, punctuation, literal, delimiter) with its byte range, in order.
    leaves: Vec<(usize, usize, Span)>,
    /// Every top-level token with its byte range, for passing user tokens through.
    top: Vec<(usize, usize, TokenTree)>,
}

impl SourceMap {
    /// Writes `tokens` out as text, one space between tokens except after joint punctuation
    /// (so `->` stays `->`).
    pub fn new(tokens: TokenStream) -> Self {
        let mut map = SourceMap {
            text: String::new(),
            leaves: Vec::new(),
            top: Vec::new(),
        };
        for tree in tokens {
            let start = map.text.len();
            map.write(&tree);
            // The range ends at the token's last character, not the space written after it.
            map.top.push((start, map.text.trim_end().len(), tree));
        }
        map
    }

    fn write(&mut self, tree: &TokenTree) {
        match tree {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                self.leaf(open, g.span_open());
                for inner in g.stream() {
                    self.write(&inner);
                }
                self.leaf(close, g.span_close());
            }
            TokenTree::Ident(i) => self.leaf(&i.to_string(), i.span()),
            TokenTree::Literal(l) => self.leaf(&l.to_string(), l.span()),
            TokenTree::Punct(p) => {
                let start = self.text.len();
                self.text.push(p.as_char());
                self.leaves.push((start, self.text.len(), p.span()));
                if p.spacing() == proc_macro2::Spacing::Alone {
                    self.text.push(' ');
                }
            }
        }
    }

    fn leaf(&mut self, text: &str, span: Span) {
        if text.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.leaves.push((start, self.text.len(), span));
        self.text.push(' ');
    }

    /// The spans of the first and last token that `start..end` touches. An empty range (a
    /// position) maps to the token there, or the last token when it is past the end.
    pub fn spans(&self, start: usize, end: usize) -> (Span, Span) {
        let touching: Vec<Span> = self
            .leaves
            .iter()
            .filter(|(s, e, _)| {
                if start == end {
                    *s <= start && start < *e
                } else {
                    *s < end && start < *e
                }
            })
            .map(|(_, _, span)| *span)
            .collect();
        match (touching.first(), touching.last()) {
            (Some(first), Some(last)) => (*first, *last),
            _ => {
                // Between tokens or past the end: the next token, else the last one.
                let next = self
                    .leaves
                    .iter()
                    .find(|(s, _, _)| *s >= start)
                    .or(self.leaves.last());
                let span = next.map_or_else(Span::call_site, |(_, _, span)| *span);
                (span, span)
            }
        }
    }

    /// The user's own top-level tokens lying within `start..end`.
    pub fn tokens(&self, start: usize, end: usize) -> TokenStream {
        self.top
            .iter()
            .filter(|(s, e, _)| start <= *s && *e <= end)
            .map(|(_, _, tree)| tree.clone())
            .collect()
    }
}
