//! Diagnostics the parser and the validator both give.

use crate::diag::{Diagnostic, Span};
use crate::limits::MAX_FORMULA_SIZE;

/// "formula too large: …", at `span`, for a formula of `size` operations (once the custom
/// activation `inlined` is inlined, when there is one).
pub(crate) fn formula_too_large(span: Span, size: usize, inlined: Option<&str>) -> Diagnostic {
    let how = match inlined {
        Some(name) => format!(" once `{name}` is inlined here"),
        None => String::new(),
    };
    let d = Diagnostic::new(
        span,
        format!("formula too large: {size} operations{how}, at most {MAX_FORMULA_SIZE}"),
    )
    .note("the limit keeps differentiating the formula and compiling its code fast");
    match inlined {
        Some(_) => d.note(
            "a custom activation that uses its variable once is inlined where it is called, so the two formulas together must stay within the limit (one that uses it more than once stays a function)",
        ),
        None => d,
    }
}
