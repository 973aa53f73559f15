//! The cell's value: its trailing expression, which evcxr moves into code
//! of its own that shows it with `{:?}`. rustc's errors about that value
//! (E0277 "`A` doesn't implement `Debug`", or a lint such as "this
//! operation will panic at runtime" on `[1, 2][5]`) then have their spans in
//! evcxr's code, none on the cell's lines; [`place`] labels them on the
//! expression the person wrote.

use ra_ap_syntax::AstNode;
use sluice_magics::diagnostic::{CellSpan, Diagnostic, Label};

use crate::engine::deferred_items::{position, top_level};

/// The cell's trailing expression as a span of its lines; None when the
/// cell ends in a statement or does not parse.
fn trailing_value(code: &str) -> Option<CellSpan> {
    let (stmts, base) = top_level(code)?;
    let range = stmts.tail_expr()?.syntax().text_range();
    let (start_line, start_column) = position(code, range.start().checked_sub(base)?)?;
    let (end_line, end_column) = position(code, range.end().checked_sub(base)?)?;
    Some(CellSpan {
        start_line,
        start_column,
        end_line,
        end_column,
    })
}

/// What rustc says of the cell's value from evcxr's code: Debug missing
/// (and what to do), or a lint on the expression itself.
fn about_the_value(d: &Diagnostic) -> Option<(&'static str, Option<&'static str>)> {
    if d.code.as_deref() == Some("E0277") && d.message.ends_with("doesn't implement `Debug`") {
        return Some((
            "the cell's value, shown with `{:?}`",
            Some(
                "note: a cell's last expression is its value, which the notebook shows with `{:?}`: derive `Debug` for its type, or end the line with `;` to show nothing",
            ),
        ));
    }
    let lint = [
        "this operation will panic at runtime",
        "this arithmetic operation will overflow",
    ];
    lint.contains(&d.message.as_str()).then_some(("", None))
}

/// Labels `d` on the cell's trailing expression when rustc placed it only
/// in evcxr's code around that expression (it has no label on the cell's
/// lines and is about the shown value).
pub(super) fn place(d: &mut Diagnostic, code: &str) {
    if !d.labels.is_empty() {
        return;
    }
    let Some((text, note)) = about_the_value(d) else {
        return;
    };
    let Some(span) = trailing_value(code) else {
        return;
    };
    d.labels.push(Label {
        span,
        text: text.into(),
        primary: true,
    });
    if let Some(note) = note {
        d.notes.push(note.into());
    }
}

/// evcxr's display code for a value whose type lacks `Debug` only inside
/// (`vec![Q]`: E0599 on the display method evcxr hides, as its own code's)
/// leaves rustc's note "the following trait bounds were not satisfied:
/// `Vec<Q>: Debug`" with no error. That note becomes the error it
/// explains, labelled on the cell's value. Returns whether it did.
pub(super) fn debug_bounds(diags: &mut [Diagnostic], code: &str) -> bool {
    if diags.iter().any(|d| d.level == "error") {
        return false;
    }
    let Some(d) = diags.iter_mut().find(|d| {
        d.message
            .starts_with("the following trait bounds were not satisfied")
            && d.message.contains(": Debug`")
    }) else {
        return false;
    };
    let ty = d
        .message
        .lines()
        .find_map(|l| l.trim().strip_prefix('`')?.strip_suffix(": Debug`"))
        .unwrap_or("the value")
        .to_string();
    let bounds = d.message.clone();
    d.level = "error".into();
    d.code = Some("E0277".into());
    d.message = format!("`{ty}` doesn't implement `Debug`");
    d.notes
        .retain(|n| !n.contains("unsatisfied trait bound introduced here"));
    d.notes.insert(0, format!("note: {bounds}"));
    place(d, code);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str, message: &str) -> Diagnostic {
        Diagnostic {
            level: "error".into(),
            code: Some(code.into()),
            message: message.into(),
            ..Diagnostic::default()
        }
    }

    #[test]
    fn a_value_without_debug_is_labelled_where_the_cell_ends() {
        let mut d = error("E0277", "`A` doesn't implement `Debug`");
        place(&mut d, "let a = A;\n  a  \n");
        let span = d.labels[0].span;
        assert_eq!(
            (span.start_line, span.start_column, span.end_column),
            (2, 3, 4)
        );
        assert!(d.notes[0].contains("end the line with `;`"));
        // A cell that ends in a statement shows no value: nothing to label.
        let mut quiet = error("E0277", "`A` doesn't implement `Debug`");
        place(&mut quiet, "let a = A;");
        assert!(quiet.labels.is_empty());
    }

    #[test]
    fn a_debug_bound_left_as_a_note_becomes_the_error_on_the_value() {
        let mut diags = vec![Diagnostic {
            level: "note".into(),
            message:
                "the following trait bounds were not satisfied:\n`Vec<Q>: Debug`\n`[Q]: Debug`"
                    .into(),
            notes: vec!["note: unsatisfied trait bound introduced here".into()],
            ..Diagnostic::default()
        }];
        assert!(debug_bounds(&mut diags, "struct Q; let v = vec![Q, Q]; v"));
        let d = &diags[0];
        assert_eq!(
            (d.level.as_str(), d.message.as_str()),
            ("error", "`Vec<Q>` doesn't implement `Debug`")
        );
        assert_eq!(d.labels[0].span.start_column, 31);
        assert!(d.notes[0].contains("`[Q]: Debug`"));
        // With an error of rustc's own, notes stay notes.
        let mut with_error = vec![error("E0308", "mismatched types"), diags[0].clone()];
        with_error[1].level = "note".into();
        assert!(!debug_bounds(&mut with_error, "x"));
    }

    #[test]
    fn lints_on_the_value_are_labelled_and_others_are_not() {
        let mut d = error("", "this operation will panic at runtime");
        d.code = None;
        place(&mut d, "[1u8, 2][5]");
        assert_eq!(d.labels[0].span.end_column, 12);
        let mut other = error("E0308", "mismatched types");
        place(&mut other, "[1u8, 2][5]");
        assert!(other.labels.is_empty());
    }
}
