//! Errors as the person sees them: compile errors on the cell's own lines,
//! panics at the cell's line, and simple one-line errors.

use jupyter_protocol::ErrorOutput;
use sluice_magics::diagnostic::{CellSpan, Diagnostic, Label, children_from_json, span_by_text};

use crate::streams::PanicReport;

pub(in crate::engine) fn simple_error(ename: &str, evalue: &str) -> ErrorOutput {
    ErrorOutput {
        ename: ename.into(),
        evalue: evalue.into(),
        traceback: vec![format!("{ename}: {evalue}")],
    }
}

/// A panic of the cell's own code, at `location` (already on the cell's lines).
pub(super) fn panic_error(p: &PanicReport, location: &str) -> ErrorOutput {
    let message = if p.message.is_empty() {
        "explicit panic".to_string()
    } else {
        p.message.clone()
    };
    ErrorOutput {
        ename: "Panic".into(),
        evalue: message.clone(),
        traceback: vec![format!("Panic: {message}"), format!("  at {location}")],
    }
}

/// True if the cell's first line is an evcxr `:dep` command.
pub(super) fn starts_with_dep(code: &str) -> bool {
    code.trim_start().starts_with(":dep ")
}

/// Compile errors rendered against the cell's own lines.
/// `offset`: lines put before the cell's code (pending binds, waiting
/// items); spans are moved back onto the cell's own lines.
pub(in crate::engine) fn compile_error(
    errors: &[evcxr::CompilationError],
    code: &str,
    offset: usize,
) -> ErrorOutput {
    compile_error_in(errors, code, offset, usize::MAX)
}

/// Like [`compile_error`] for code on lines `offset + 1 ..= last` of the
/// evaluated block.
pub(in crate::engine) fn compile_error_in(
    errors: &[evcxr::CompilationError],
    code: &str,
    offset: usize,
    last: usize,
) -> ErrorOutput {
    let diags: Vec<Diagnostic> = errors
        .iter()
        .map(|e| {
            let mut d = to_diagnostic(e, code);
            d.labels
                .retain(|l| l.span.start_line > offset && l.span.start_line <= last);
            for l in &mut d.labels {
                l.span.start_line -= offset;
                l.span.end_line = l
                    .span
                    .end_line
                    .saturating_sub(offset)
                    .max(l.span.start_line);
            }
            d
        })
        .collect();
    let evalue = diags
        .first()
        .map(|d| d.message.clone())
        .unwrap_or_else(|| "compilation failed".into());
    let mut traceback: Vec<String> = diags.iter().map(|d| d.render(code)).collect();
    if traceback.is_empty() {
        traceback.push("error: compilation failed".into());
    }
    ErrorOutput {
        ename: "CompileError".into(),
        evalue,
        traceback,
    }
}

/// One evcxr error as a [`Diagnostic`]: evcxr's spans (already on the
/// cell's lines) as labels; every child of rustc's diagnostic — helps with
/// their suggested code, notes, lists such as E0277's implementations — from
/// rustc's JSON, its spans found in the cell by their source line.
fn to_diagnostic(e: &evcxr::CompilationError, code: &str) -> Diagnostic {
    let labels = e
        .spanned_messages()
        .iter()
        .filter_map(|m| {
            m.span.map(|s| Label {
                span: CellSpan {
                    start_line: s.start_line,
                    start_column: s.start_column,
                    end_line: s.end_line,
                    end_column: s.end_column,
                },
                text: m.label.clone(),
                primary: m.is_primary,
            })
        })
        .collect();
    let (mut notes, helps) = if e.json.is_null() {
        (Vec::new(), Vec::new())
    } else {
        children_from_json(&e.json["children"], &|sp| span_by_text(code, sp))
    };
    notes.extend(
        e.spanned_messages()
            .iter()
            .filter(|m| m.span.is_none() && !m.label.is_empty())
            .map(|m| format!("note: {}", m.label)),
    );
    Diagnostic {
        level: e.level().to_string(),
        code: e.code().map(str::to_string),
        message: e.message(),
        labels,
        notes,
        helps,
    }
}
