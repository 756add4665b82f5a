//! The brackets' nesting, checked before the grammar runs: the grammar is recursive descent,
//! so nesting costs stack (20,000 nested parentheses overflowed it).

use crate::diag::{Diagnostic, Span};
use crate::limits::MAX_NESTING;

/// The brackets' nesting, checked before the grammar (whose recursion it bounds) runs: an
/// error at the first bracket nested deeper than [`MAX_NESTING`]. Strings are skipped as the
/// grammar reads them, and `//` comments outside attributes.
pub(super) fn nesting(text: &str) -> Option<Diagnostic> {
    let (mut depth, mut square) = (0usize, 0usize);
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                // A string, as the grammar's `string` rule reads it: `\` escapes one character.
                while let Some((_, s)) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if square == 0 && chars.peek().is_some_and(|(_, n)| *n == '/') => {
                for (_, s) in chars.by_ref() {
                    if s == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' => {
                depth += 1;
                square += usize::from(c == '[');
                if depth > MAX_NESTING {
                    return Some(
                        Diagnostic::new(
                            Span::new(at, at + 1),
                            format!("brackets nested more than {MAX_NESTING} deep"),
                        )
                        .note(format!(
                            "the parser allows {MAX_NESTING} levels of `(` and `[`, which no formula needs"
                        )),
                    );
                }
            }
            ')' | ']' => {
                depth = depth.saturating_sub(1);
                square = square.saturating_sub(usize::from(c == ']'));
            }
            _ => {}
        }
    }
    None
}
