//! Line breaks for long LaTeX display rows: a right side wider than the text is broken before
//! a `+`, `−` or `·` outside every brace group, the way one breaks a long equation by hand.
//! A break inside `\left( … \right)` closes the open delimiters with `\right.` and reopens
//! them with `\left.` on the next line, so that every line is balanced.

/// The widest a piece may be, in [`width`] units: what fits beside an `align*` left side on
/// an `article` page (345 pt of text).
pub(super) const BUDGET: usize = 44;

/// The pieces of `rhs`, each at most about [`BUDGET`] wide where a break allows it.
pub(super) fn pieces(rhs: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Open `\left` delimiters (`\left(` … ), outermost first.
    let mut open: Vec<&str> = Vec::new();
    let mut line = String::new();
    // The last place a break may go in `line`: its byte offset and the delimiters open there.
    let mut last: Option<(usize, Vec<&str>)> = None;
    let mut depth = 0usize;
    let mut rest = rhs;
    while !rest.is_empty() {
        let operator = [" + ", " - ", " \\cdot ", " \\odot "]
            .iter()
            .any(|op| rest.starts_with(op));
        if depth == 0 && !line.is_empty() && operator {
            last = Some((line.len(), open.clone()));
        }
        let token = next_token(rest);
        match token {
            "{" => depth += 1,
            "}" => depth = depth.saturating_sub(1),
            t if t.starts_with("\\left") => open.push(t),
            t if t.starts_with("\\right") => {
                open.pop();
            }
            _ => {}
        }
        line.push_str(token);
        rest = &rest[token.len()..];
        if width(&line) > BUDGET
            && let Some((at, opened)) = last.take()
        {
            let tail = line.split_off(at);
            for _ in &opened {
                line.push_str(" \\right.");
            }
            out.push(line);
            line = opened.iter().map(|_| "\\left. ").collect::<String>() + tail.trim_start();
        }
    }
    out.push(line);
    out
}

/// The next token of `s`: a control sequence with its delimiter (`\left(`, `\right\}`), any
/// other control sequence, or one character.
fn next_token(s: &str) -> &str {
    let Some(after) = s.strip_prefix('\\') else {
        let n = s.chars().next().map_or(0, char::len_utf8);
        return &s[..n];
    };
    let name = after
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(after.len());
    if name == 0 {
        // `\{`, `\,`, `\\`: the backslash and one character.
        let n = after.chars().next().map_or(0, char::len_utf8);
        return &s[..1 + n];
    }
    let word = &after[..name];
    let mut end = 1 + name;
    if word == "left" || word == "right" {
        // The delimiter: one character, or a control sequence such as `\{`.
        end += next_token(&s[end..]).len();
    }
    &s[..end]
}

/// The printed width of a LaTeX fragment, roughly: one unit per letter, digit or symbol,
/// control sequences one unit (none for `\left`, `\right` and spacing), braces and subscript
/// marks nothing.
pub(super) fn width(s: &str) -> usize {
    let mut n = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let t = next_token(rest);
        n += match t {
            "{" | "}" | "_" | "^" | " " => 0,
            t if t.starts_with("\\left") || t.starts_with("\\right") => 1,
            "\\operatorname" | "\\frac" | "\\mathbf" => 0,
            _ => 1,
        };
        rest = &rest[t.len()..];
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_rows_stay_whole() {
        assert_eq!(pieces("a + b"), vec!["a + b"]);
    }

    #[test]
    fn long_rows_break_before_an_operator_outside_braces_with_balanced_delimiters() {
        let long = format!(
            "x \\cdot \\left({} + \\frac{{{}}}{{2}}\\right)",
            vec!["a_{i}"; 30].join(" + "),
            ["b"; 3].join(" + ")
        );
        let p = pieces(&long);
        assert!(p.len() > 1, "{p:?}");
        for piece in &p {
            assert!(width(piece) <= BUDGET + 8, "{piece}");
            let opens = piece.matches("\\left").count();
            assert_eq!(opens, piece.matches("\\right").count(), "{piece}");
            // Never inside a brace group.
            let depth = piece.matches('{').count() as i64 - piece.matches('}').count() as i64;
            assert_eq!(depth, 0, "{piece}");
        }
        let joined: String = p.join(" ");
        assert!(joined.contains("\\frac{b + b + b}{2}"));
    }
}
