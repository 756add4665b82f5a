//! Diagnostics: errors as values that carry the byte range of the offending text.
//!
//! Every stage reports into a [`Diagnostics`] collector instead of stopping at the first
//! problem (cf. serde_derive's `Ctxt`), so one invocation reports every mistake it can find.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term;
use std::fmt;

/// A byte range `start..end` in the source text. An empty range marks a position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The range `start..end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest range covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// One error: what was found, what was expected, where, and optional notes that explain why.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The offending text.
    pub span: Span,
    /// One sentence, lower case, no trailing period: what is wrong and what was expected.
    pub message: String,
    /// Further explanation, each a full sentence.
    pub notes: Vec<String>,
    /// Other places that explain the error, each with a short label ("first defined here").
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            span,
            message: message.into(),
            notes: Vec::new(),
            related: Vec::new(),
        }
    }

    /// Adds a related place with a label.
    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    /// Adds an explanatory note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    /// The message followed by its notes, one per line; the form a compiler error takes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for note in &self.notes {
            write!(f, "\n  = note: {note}")?;
        }
        Ok(())
    }
}

/// Every error found in one invocation, in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics {
    errors: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.errors.push(diagnostic);
    }

    /// Records an error at `span` with `message`.
    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.push(Diagnostic::new(span, message));
    }

    /// True when nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors, sorted by position.
    pub fn errors(&self) -> &[Diagnostic] {
        &self.errors
    }

    /// `Ok(value)` when nothing was reported, else the errors sorted by position.
    pub fn finish<T>(mut self, value: T) -> Result<T, Diagnostics> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            self.errors.sort_by_key(|d| (d.span.start, d.span.end));
            Err(self)
        }
    }

    /// Renders every error against `source` as a person reads it: the message, the source line
    /// and a caret under the offending text (no colour).
    pub fn render(&self, origin: &str, source: &str) -> String {
        let file = SimpleFile::new(origin, source);
        let config = term::Config::default();
        let mut out = String::new();
        for d in &self.errors {
            let mut labels = vec![Label::primary((), clamp(d.span, source))];
            for (span, label) in &d.related {
                labels.push(Label::secondary((), clamp(*span, source)).with_message(label));
            }
            let cs = CsDiagnostic::error()
                .with_message(&d.message)
                .with_labels(labels)
                .with_notes(d.notes.clone());
            term::emit_to_string(&mut out, &config, &file, &cs)
                .expect("a span clamped to the source always renders");
        }
        out
    }
}

/// `span` as a range of `source`, shrunk to fit it and to start and end on characters.
fn clamp(span: Span, source: &str) -> std::ops::Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(source.len());
        while !source.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start);
    start..floor(span.end).max(start)
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "error: {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}
