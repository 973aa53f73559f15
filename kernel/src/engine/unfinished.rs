//! A cell that ends before its last statement does: `let a = std::`,
//! `let c = 1 +`, `let d = Some(`. evcxr reads such a cell in pieces and
//! rustc then speaks of code the person did not write ("cannot find
//! function <end of input> in crate `std`", "cannot add `()` to
//! `{integer}`"), and of evcxr's code around the cell. [`check`] says it
//! as rustc would of a file that ends there: what was expected, at the end
//! of the cell, or the bracket that never closes.
//!
//! Parsing is `deferred_items::top_level`'s (rust-analyzer's parser), read
//! only where its first error is at the end of the cell.

use ra_ap_syntax::TextSize;
use sluice_magics::diagnostic::{CellSpan, Diagnostic, Label};

/// What the parser's error says was expected, in rustc's words (its token
/// names as the tokens).
fn expected(message: &str) -> String {
    let tokens = [
        ("R_PAREN", "`)`"),
        ("R_BRACK", "`]`"),
        ("R_CURLY", "`}`"),
        ("R_ANGLE", "`>`"),
        ("SEMICOLON", "`;`"),
        ("COMMA", "`,`"),
        ("FAT_ARROW", "`=>`"),
    ];
    let mut out = message.to_string();
    for (name, token) in tokens {
        out = out.replace(name, token);
    }
    out
}

/// The cell's error when it ends in the middle of a statement; None when
/// it parses, or its first error is before its end (rustc says those
/// well), or it holds evcxr commands (`:dep`) or shell lines.
pub(super) fn check(code: &str) -> Option<Diagnostic> {
    if code
        .lines()
        .any(|l| l.trim_start().starts_with(':') || l.trim_start().starts_with('!'))
    {
        return None;
    }
    let (parsed, prelude) = super::deferred_items::parse_as_body(code);
    let end = prelude + TextSize::of(code.trim_end());
    let mut errors: Vec<_> = parsed.errors().to_vec();
    errors.sort_by_key(|e| e.range().start());
    let first = errors.first()?;
    if first.range().start() < end {
        return None;
    }
    let trimmed = code.trim_end();
    let last_line = trimmed.lines().count().max(1);
    let last_column = trimmed.lines().last().map_or(0, |l| l.chars().count());
    let unclosed = errors.iter().any(|e| {
        let m = e.to_string();
        m == "expected R_PAREN"
            || m == "expected R_BRACK"
            || m == "expected R_CURLY"
            || m.starts_with("unmatched")
    });
    if unclosed
        && let Some((open, line, column)) =
            sluice_magics::body::last_open(trimmed, last_line, last_column + 1)
    {
        return Some(error(
            format!("this `{open}` never closes"),
            (line, column),
            "unclosed delimiter",
        ));
    }
    Some(error(
        format!(
            "{}, found the end of the cell",
            expected(&first.to_string())
        ),
        (last_line, last_column + 1),
        "the cell ends here",
    ))
}

fn error(message: String, (line, column): (usize, usize), label: &str) -> Diagnostic {
    Diagnostic {
        level: "error".into(),
        code: None,
        message,
        labels: vec![Label {
            span: CellSpan {
                start_line: line,
                start_column: column,
                end_line: line,
                end_column: column + 1,
            },
            text: label.into(),
            primary: true,
        }],
        ..Diagnostic::default()
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    fn said(code: &str) -> Option<(String, usize, usize)> {
        check(code).map(|d| {
            let s = d.labels[0].span;
            (d.message, s.start_line, s.start_column)
        })
    }

    #[test]
    fn a_cell_that_stops_mid_statement_says_what_was_expected_at_its_end() {
        let cases = [
            (
                "let a = std::",
                "expected identifier, `self`, `super`, `crate`, or `Self`, found the end of the cell",
                1,
                14,
            ),
            (
                "let b = vec![1, 2].iter().",
                "expected field name or number, found the end of the cell",
                1,
                27,
            ),
            (
                "let c = 1 +  \n\n",
                "expected expression, found the end of the cell",
                1,
                12,
            ),
            (
                "let e: Vec<",
                "expected `>`, found the end of the cell",
                1,
                12,
            ),
            ("let d = Some(", "this `(` never closes", 1, 13),
            ("fn g() {\n    1", "this `{` never closes", 1, 8),
            ("let v = vec!['}', 2", "this `[` never closes", 1, 13),
        ];
        for (code, message, line, column) in cases {
            assert_eq!(
                said(code),
                Some((message.to_string(), line, column)),
                "{code}"
            );
        }
    }

    #[test]
    fn complete_cells_errors_before_the_end_and_commands_are_left_alone() {
        for code in [
            "x.len()",
            "let z = ;\nz",
            "let s = \"abc",
            ":dep serde\nlet a = std::",
            "",
        ] {
            assert_eq!(said(code), None, "{code}");
        }
    }
}
