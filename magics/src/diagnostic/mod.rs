//! Compiler diagnostics shown against the lines of the cell the user wrote.
//!
//! Both the notebook's own cells (errors from evcxr) and task builds (errors
//! from cargo for a `%%slurm` body) end up here, converted to [`Diagnostic`]
//! with 1-based line/column spans relative to the cell, and rendered as the
//! rustc-style text that goes into an error's traceback. No IO.

mod place;
mod render;
#[cfg(test)]
mod tests;

pub use place::{Located, Place, Snippet, add_label, by_text, drop_repeats, label_of};
pub use render::is_error_code;

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
    /// `help:` and `note:` lines (a line may hold more lines: rustc's lists).
    pub notes: Vec<String>,
    /// rustc's suggestions, each shown as the cell's line changed.
    pub helps: Vec<Help>,
    /// Notes with source lines, and spans of the diagnostic in other cells.
    pub located: Vec<Located>,
}

/// A `help:` of rustc's with the code it suggests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    /// What rustc says (`consider cloning the value ...`).
    pub message: String,
    /// Each change, on the cell's lines.
    pub suggestions: Vec<Suggestion>,
}

/// One change rustc suggests: put `replacement` where `span` is (an empty
/// span is an insertion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Where in the cell.
    pub span: CellSpan,
    /// The new text.
    pub replacement: String,
}

/// What the children of one rustc diagnostic become (see [`children_from_json`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Children {
    /// Notes without source lines (a list of labels may hang under one).
    pub notes: Vec<String>,
    /// Helps with a suggestion in the cell.
    pub helps: Vec<Help>,
    /// Notes with the source lines they point at.
    pub located: Vec<Located>,
}

/// The `help:` and `note:` children of one rustc diagnostic (the
/// `children` array of its JSON form), with `locate` saying where a span
/// of rustc's is. A child with a suggestion in the cell is a help; one
/// whose spans are in a cell (this one or another) keeps their lines under
/// it; else it is a note — its spans' labels elsewhere, such as E0277's
/// "the following other types implement trait" list, become the lines
/// under its message (said to be in an earlier cell when they are in the
/// session's code but no cell has them).
pub fn children_from_json(
    children: &serde_json::Value,
    locate: &dyn Fn(&serde_json::Value) -> Place,
) -> Children {
    let mut out = Children::default();
    for child in children.as_array().into_iter().flatten() {
        let level = child["level"].as_str().unwrap_or("note");
        let message = child["message"].as_str().unwrap_or_default();
        if level == "failure-note" || message.is_empty() {
            continue;
        }
        let spans = child["spans"].as_array().cloned().unwrap_or_default();
        let places: Vec<Place> = spans.iter().map(locate).collect();
        let suggestions: Vec<Suggestion> = spans
            .iter()
            .zip(&places)
            .filter_map(|(sp, place)| {
                let replacement = sp["suggested_replacement"].as_str()?;
                let Place::Cell(span) = place else {
                    return None;
                };
                Some(Suggestion {
                    span: *span,
                    replacement: replacement.to_string(),
                })
            })
            .collect();
        if !suggestions.is_empty() {
            out.helps.push(Help {
                message: message.to_string(),
                suggestions,
            });
            continue;
        }
        let mut note = format!("{level}: {message}");
        let mut listed: Vec<String> = Vec::new();
        let mut snippets: Vec<Snippet> = Vec::new();
        let mut earlier = false;
        for (sp, place) in spans.iter().zip(places) {
            let label = sp["label"].as_str().filter(|l| !l.is_empty());
            match place {
                Place::Cell(span) => {
                    // The cell's own source comes with the diagnostic.
                    add_label(&mut snippets, "cell", "", label_of(sp, span));
                }
                Place::Other { name, source, span } => {
                    add_label(&mut snippets, &name, &source, label_of(sp, span));
                }
                Place::Earlier => match label {
                    Some(l) => listed.push(format!("{l} (in an earlier cell)")),
                    None => earlier = true,
                },
                Place::Outside => {
                    if let Some(l) = label
                        && !restates(l, message)
                    {
                        listed.push(l.to_string());
                    }
                }
            }
        }
        let mut seen = Vec::new();
        listed.retain(|l| {
            let new = !seen.contains(l);
            seen.push(l.clone());
            new
        });
        if earlier && listed.is_empty() && snippets.is_empty() {
            note.push_str(" (in an earlier cell)");
        }
        if !listed.is_empty() {
            if !note.ends_with(':') {
                note.push(':');
            }
            for l in listed {
                note.push_str("\n  ");
                note.push_str(&l);
            }
        }
        if snippets.is_empty() {
            out.notes.push(note);
        } else {
            out.located.push(Located {
                heading: Some(note),
                snippets,
            });
        }
    }
    out
}

/// True if a span's label only says its note's message again, pointing
/// at a place the cell does not show ("required by this bound in `show`"
/// under "required by a bound in `show`").
fn restates(label: &str, message: &str) -> bool {
    label.replace(" this ", " a ") == message
}

/// Where a span of rustc's is in `cell`, found by its source line: the
/// cell line whose text (indentation aside) is the span's line, the
/// columns moved by the difference in indentation. For code the cell's
/// text was wrapped in (evcxr's generated function); None when no line of
/// the cell matches, or the span covers more than one line.
pub fn span_by_text(cell: &str, span: &serde_json::Value) -> Option<CellSpan> {
    span_in(cell, span, Match::Whole)
}

/// How a line of the session's code is found among a cell's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// The cell's line is the same text (indentation aside).
    Whole,
    /// The text is part of one of the cell's lines, starting and ending at a
    /// token boundary: evcxr moves each item of a cell to a line of its own,
    /// so `fn f() {}` of the line `let y = 5; fn f() {}` is found by its part.
    Part,
}

/// [`span_by_text`], finding the line as `how` says.
pub(crate) fn span_in(cell: &str, span: &serde_json::Value, how: Match) -> Option<CellSpan> {
    let line = span["text"][0]["text"].as_str()?;
    let (start, end) = (span["line_start"].as_u64()?, span["line_end"].as_u64()?);
    if start != end || line.trim().is_empty() {
        return None;
    }
    let wanted = line.trim();
    let (i, at) = match how {
        Match::Whole => cell
            .lines()
            .enumerate()
            .find(|(_, l)| l.trim() == wanted)
            .map(|(i, l)| (i, l.len() - l.trim_start().len()))?,
        Match::Part => cell
            .lines()
            .enumerate()
            .find_map(|(i, l)| part_at(l, wanted).map(|at| (i, at)))?,
    };
    let found = cell.lines().nth(i)?;
    let indent = line.len() - line.trim_start().len();
    // Columns are 1-based characters (rustc's JSON).
    let offset = found.get(..at)?.chars().count() as i64 - line[..indent].chars().count() as i64;
    let column = |key: &str| -> Option<usize> {
        usize::try_from(i64::try_from(span[key].as_u64()?).ok()? + offset).ok()
    };
    Some(CellSpan {
        start_line: i + 1,
        start_column: column("column_start")?,
        end_line: i + 1,
        end_column: column("column_end")?,
    })
}

/// Where `part` (at least one word long) starts in `line`, if it is there
/// once, with no identifier character joined to either end.
fn part_at(line: &str, part: &str) -> Option<usize> {
    if !part.chars().any(char::is_alphanumeric) {
        return None;
    }
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut found = line.match_indices(part).filter(|(at, _)| {
        !ident(line[..*at].chars().next_back()) && !ident(line[at + part.len()..].chars().next())
    });
    let (at, _) = found.next()?;
    found.next().is_none().then_some(at)
}
