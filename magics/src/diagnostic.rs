//! Compiler diagnostics shown against the lines of the cell the user wrote.
//!
//! Both the notebook's own cells (errors from evcxr) and task builds (errors
//! from cargo for a `%%slurm` body) end up here, converted to [`Diagnostic`]
//! with 1-based line/column spans relative to the cell, and rendered as the
//! rustc-style text that goes into an error's traceback. No IO.

use std::fmt::Write as _;

/// A span in the cell: 1-based lines, 1-based columns, end column exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellSpan {
    /// First line of the span.
    pub start_line: usize,
    /// Column where the span starts on `start_line`.
    pub start_column: usize,
    /// Last line of the span.
    pub end_line: usize,
    /// Column just past the span on `end_line`.
    pub end_column: usize,
}

/// A labelled span of a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where in the cell.
    pub span: CellSpan,
    /// What the compiler says about it (may be empty).
    pub text: String,
    /// Whether this is the main span of the diagnostic.
    pub primary: bool,
}

/// One compiler message, independent of where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostic {
    /// `error` or `warning`.
    pub level: String,
    /// Error code such as `E0308`, when the compiler gives one.
    pub code: Option<String>,
    /// The headline.
    pub message: String,
    /// Spans inside the cell (spans in generated code are dropped by the caller).
    pub labels: Vec<Label>,
    /// `help:` and `note:` lines.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// Renders the diagnostic rustc-style against `cell`, the cell's source text.
    pub fn render(&self, cell: &str) -> String {
        let lines: Vec<&str> = cell.lines().collect();
        let mut out = String::new();
        let level = if self.level.is_empty() {
            "error"
        } else {
            &self.level
        };
        match &self.code {
            Some(code) => {
                let _ = writeln!(out, "{level}[{code}]: {}", self.message);
            }
            None => {
                let _ = writeln!(out, "{level}: {}", self.message);
            }
        }
        let mut labels = self.labels.clone();
        labels.sort_by_key(|l| (!l.primary, l.span.start_line, l.span.start_column));
        let width = labels
            .iter()
            .map(|l| l.span.end_line.to_string().len())
            .max()
            .unwrap_or(1);
        let pad = " ".repeat(width);
        if let Some(first) = labels.first() {
            let _ = writeln!(
                out,
                "{pad}--> cell:{}:{}",
                first.span.start_line, first.span.start_column
            );
            let _ = writeln!(out, "{pad} |");
        }
        let mut by_line = labels.clone();
        by_line.sort_by_key(|l| (l.span.start_line, l.span.start_column));
        for label in &by_line {
            let line_no = label.span.start_line;
            let Some(text) = line_no.checked_sub(1).and_then(|i| lines.get(i)) else {
                continue;
            };
            let _ = writeln!(out, "{line_no:>width$} | {text}");
            let start = label.span.start_column.max(1);
            let end = if label.span.end_line == line_no {
                label.span.end_column.max(start + 1)
            } else {
                text.chars().count() + 1
            };
            let marker = if label.primary { '^' } else { '-' };
            let _ = writeln!(
                out,
                "{pad} | {}{} {}",
                " ".repeat(start - 1),
                marker.to_string().repeat(end - start),
                label.text
            )
            .map(|_| ());
        }
        for note in &self.notes {
            let _ = writeln!(out, "{pad} = {note}");
        }
        // Labels without text leave a trailing space: trim each line's end.
        out.lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_primary_label_under_the_cell_line() {
        let d = Diagnostic {
            level: "error".into(),
            code: Some("E0308".into()),
            message: "mismatched types".into(),
            labels: vec![Label {
                span: CellSpan {
                    start_line: 2,
                    start_column: 14,
                    end_line: 2,
                    end_column: 17,
                },
                text: "expected `i32`, found `&str`".into(),
                primary: true,
            }],
            notes: vec!["help: use a number".into()],
        };
        let cell = "let a = 1;\nlet x: i32 = \"a\";";
        let text = d.render(cell);
        let expected = "error[E0308]: mismatched types\n --> cell:2:14\n  |\n2 | let x: i32 = \"a\";\n  |              ^^^ expected `i32`, found `&str`\n  = help: use a number";
        assert_eq!(text, expected);
    }

    #[test]
    fn message_without_spans_is_just_the_headline() {
        let d = Diagnostic {
            level: "error".into(),
            message: "cannot find crate".into(),
            ..Diagnostic::default()
        };
        assert_eq!(d.render("x"), "error: cannot find crate");
    }
}
