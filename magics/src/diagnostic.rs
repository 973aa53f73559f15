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
    /// `help:` and `note:` lines (a line may hold more lines: rustc's lists).
    pub notes: Vec<String>,
    /// rustc's suggestions, each shown as the cell's line changed.
    pub helps: Vec<Help>,
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

/// The `help:` and `note:` children of one rustc diagnostic (the
/// `children` array of its JSON form), with `map` saying where a span of
/// rustc's is in the cell (None: outside it). Returns the notes — a child's
/// spans outside the cell that carry labels, such as E0277's "the following
/// other types implement trait" list, become the lines under its message —
/// and the helps with a suggestion in the cell.
pub fn children_from_json(
    children: &serde_json::Value,
    map: &dyn Fn(&serde_json::Value) -> Option<CellSpan>,
) -> (Vec<String>, Vec<Help>) {
    let mut notes = Vec::new();
    let mut helps = Vec::new();
    for child in children.as_array().into_iter().flatten() {
        let level = child["level"].as_str().unwrap_or("note");
        let message = child["message"].as_str().unwrap_or_default();
        if level == "failure-note" || message.is_empty() {
            continue;
        }
        let spans = child["spans"].as_array().cloned().unwrap_or_default();
        let suggestions: Vec<Suggestion> = spans
            .iter()
            .filter_map(|sp| {
                let replacement = sp["suggested_replacement"].as_str()?;
                Some(Suggestion {
                    span: map(sp)?,
                    replacement: replacement.to_string(),
                })
            })
            .collect();
        if !suggestions.is_empty() {
            helps.push(Help {
                message: message.to_string(),
                suggestions,
            });
            continue;
        }
        let mut note = format!("{level}: {message}");
        let mut listed: Vec<&str> = Vec::new();
        for sp in &spans {
            if let Some(label) = sp["label"].as_str().filter(|l| !l.is_empty())
                && map(sp).is_none()
                && !listed.contains(&label)
                && !restates(label, message)
            {
                listed.push(label);
            }
        }
        if !listed.is_empty() {
            if !note.ends_with(':') {
                note.push(':');
            }
            for l in listed {
                note.push_str("\n  ");
                note.push_str(l);
            }
        }
        notes.push(note);
    }
    (notes, helps)
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
    let line = span["text"][0]["text"].as_str()?;
    let (start, end) = (span["line_start"].as_u64()?, span["line_end"].as_u64()?);
    if start != end || line.trim().is_empty() {
        return None;
    }
    let indent = |t: &str| t.len() - t.trim_start().len();
    let (i, found) = cell
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim() == line.trim())?;
    let shift = indent(line) as i64 - indent(found) as i64;
    let column = |key: &str| -> Option<usize> {
        usize::try_from(i64::try_from(span[key].as_u64()?).ok()? - shift).ok()
    };
    Some(CellSpan {
        start_line: i + 1,
        start_column: column("column_start")?,
        end_line: i + 1,
        end_column: column("column_end")?,
    })
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
        for group in by_line.chunk_by(|a, b| a.span.start_line == b.span.start_line) {
            let line_no = group[0].span.start_line;
            let Some(text) = line_no.checked_sub(1).and_then(|i| lines.get(i)) else {
                continue;
            };
            let _ = writeln!(out, "{line_no:>width$} | {text}");
            for under in label_lines(group, text.chars().count()) {
                let _ = writeln!(out, "{pad} | {under}");
            }
        }
        for note in &self.notes {
            let mut note_lines = note.lines();
            if let Some(first) = note_lines.next() {
                let _ = writeln!(out, "{pad} = {first}");
            }
            for more in note_lines {
                let _ = writeln!(out, "{pad}   {more}");
            }
        }
        for help in &self.helps {
            render_help(&mut out, help, &lines, width);
        }
        // Labels without text leave a trailing space: trim each line's end.
        out.lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The lines under one source line for all its labels (sorted by column),
/// as rustc draws them: every label's markers (`^` primary, `-` other) on
/// the first line, the rightmost label's text after them, and each other
/// label's text below, hung from its span by `|`, right to left.
fn label_lines(labels: &[Label], line_chars: usize) -> Vec<String> {
    let line_no = labels[0].span.start_line;
    let ranges: Vec<(usize, usize)> = labels
        .iter()
        .map(|l| {
            let start = l.span.start_column.max(1);
            let end = if l.span.end_line == line_no {
                l.span.end_column.max(start + 1)
            } else {
                line_chars.max(start) + 1
            };
            (start - 1, end - 1)
        })
        .collect();
    let width = ranges.iter().map(|r| r.1).max().unwrap_or(0);
    let mut markers = vec![' '; width];
    // Wider spans first: a span inside another is drawn over it, as rustc
    // draws `^^^^^^-------^^^`.
    let mut widest: Vec<usize> = (0..labels.len()).collect();
    widest.sort_by_key(|&i| std::cmp::Reverse(ranges[i].1 - ranges[i].0));
    for i in widest {
        let (a, b) = ranges[i];
        let marker = if labels[i].primary { '^' } else { '-' };
        markers[a..b].fill(marker);
    }
    let mut first: String = markers.into_iter().collect();
    // Labels whose text hangs below: all with text but the rightmost, unless
    // the rightmost's text would run into nothing (it always fits after).
    let with_text: Vec<usize> = (0..labels.len())
        .filter(|&i| !labels[i].text.is_empty())
        .collect();
    let Some((&last, hung)) = with_text.split_last() else {
        return vec![first];
    };
    if ranges[last].1 == width {
        first.push(' ');
        first.push_str(&labels[last].text);
    }
    let mut hung: Vec<usize> = hung.to_vec();
    if ranges[last].1 != width {
        hung.push(last);
    }
    let mut out = vec![first];
    // Right to left: each text under its span's start, the spans left of it
    // still hanging their `|`.
    for (k, &i) in hung.iter().enumerate().rev() {
        let pipes = |upto: usize| -> Vec<char> {
            let mut row = vec![' '; ranges[i].0 + 1];
            for &j in &hung[..upto] {
                row[ranges[j].0] = '|';
            }
            row
        };
        out.push(pipes(k + 1).into_iter().collect::<String>());
        let mut row = pipes(k);
        row.truncate(ranges[i].0);
        let mut text: String = row.into_iter().collect();
        text.push_str(&labels[i].text);
        out.push(text);
    }
    out
}

/// `help: MESSAGE` and the cell's line as the suggestion changes it, with
/// `+` under inserted text and `~` under replaced text, as rustc shows it.
fn render_help(out: &mut String, help: &Help, cell: &[&str], width: usize) {
    let pad = " ".repeat(width);
    let _ = writeln!(out, "help: {}", help.message);
    let mut by_line: Vec<usize> = help
        .suggestions
        .iter()
        .filter(|s| s.span.start_line == s.span.end_line)
        .map(|s| s.span.start_line)
        .collect();
    by_line.dedup();
    if by_line.is_empty() {
        for s in &help.suggestions {
            let _ = writeln!(out, "{pad} = {}", s.replacement);
        }
        return;
    }
    let _ = writeln!(out, "{pad} |");
    for line_no in by_line {
        let Some(text) = line_no.checked_sub(1).and_then(|i| cell.get(i)) else {
            continue;
        };
        let mut chars: Vec<char> = text.chars().collect();
        let mut marks: Vec<char> = vec![' '; chars.len()];
        let mut edits: Vec<&Suggestion> = help
            .suggestions
            .iter()
            .filter(|s| s.span.start_line == line_no && s.span.end_line == line_no)
            .collect();
        // Right to left, so earlier columns stay where they are.
        edits.sort_by_key(|s| std::cmp::Reverse(s.span.start_column));
        for s in edits {
            let a = s.span.start_column.saturating_sub(1).min(chars.len());
            let b = s.span.end_column.saturating_sub(1).clamp(a, chars.len());
            let new: Vec<char> = s.replacement.chars().collect();
            let mark = if a == b { '+' } else { '~' };
            chars.splice(a..b, new.iter().copied());
            marks.splice(a..b, std::iter::repeat_n(mark, new.len()));
        }
        let changed: String = chars.into_iter().collect();
        let under: String = marks.into_iter().collect();
        let _ = writeln!(out, "{line_no:>width$} | {changed}");
        let _ = writeln!(out, "{pad} | {}", under.trim_end());
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
            helps: vec![],
        };
        let cell = "let a = 1;\nlet x: i32 = \"a\";";
        let text = d.render(cell);
        let expected = "error[E0308]: mismatched types\n --> cell:2:14\n  |\n2 | let x: i32 = \"a\";\n  |              ^^^ expected `i32`, found `&str`\n  = help: use a number";
        assert_eq!(text, expected);
    }

    fn label(line: usize, from: usize, to: usize, text: &str, primary: bool) -> Label {
        Label {
            span: CellSpan {
                start_line: line,
                start_column: from,
                end_line: line,
                end_column: to,
            },
            text: text.into(),
            primary,
        }
    }

    #[test]
    fn a_line_with_several_labels_is_shown_once() {
        // E0277 through a generic bound: the call and its argument.
        let d = Diagnostic {
            level: "error".into(),
            code: Some("E0277".into()),
            message: "`P2` doesn't implement `std::fmt::Display`".into(),
            labels: vec![
                label(3, 15, 26, "unsatisfied trait bound", true),
                label(
                    3,
                    9,
                    14,
                    "required by a bound introduced by this call",
                    false,
                ),
            ],
            ..Diagnostic::default()
        };
        let cell = "struct P2 { y: i32 }\nfn show2() {}\nlet z = show2(P2 { y: 1 });";
        let expected = "error[E0277]: `P2` doesn't implement `std::fmt::Display`
 --> cell:3:15
  |
3 | let z = show2(P2 { y: 1 });
  |         ----- ^^^^^^^^^^^ unsatisfied trait bound
  |         |
  |         required by a bound introduced by this call";
        assert_eq!(d.render(cell), expected);
        // Three labels: texts hang right to left.
        let d = Diagnostic {
            message: "m".into(),
            labels: vec![
                label(1, 1, 2, "a", false),
                label(1, 5, 6, "b", false),
                label(1, 9, 10, "c", true),
            ],
            ..Diagnostic::default()
        };
        let text = d.render("x = y + z");
        assert!(
            text.ends_with("1 | x = y + z\n  | -   -   ^ c\n  | |   |\n  | |   b\n  | |\n  | a"),
            "{text}"
        );
        assert_eq!(text.matches("x = y + z").count(), 1);
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

    /// rustc 1.95's JSON for E0382 (a move, then a borrow) and E0277
    /// (`i64 + f32`), from `cargo build --message-format=json`, with the
    /// diagnostic's spans on main.rs lines 2..=4.
    fn rustc(json: &str) -> serde_json::Value {
        serde_json::from_str(json).expect("rustc's JSON")
    }

    #[test]
    fn suggestions_show_the_changed_line_and_lists_keep_their_items() {
        let cell = "let a = vec![1, 2, 3];\nlet b = a;\nprintln!(\"{:?} {:?}\", a, b);";
        // The task path maps main.rs line N to cell line N - 1.
        let map = |sp: &serde_json::Value| -> Option<CellSpan> {
            (sp["file_name"] == "src/main.rs").then(|| CellSpan {
                start_line: sp["line_start"].as_u64().unwrap_or(0) as usize - 1,
                start_column: sp["column_start"].as_u64().unwrap_or(0) as usize - 4,
                end_line: sp["line_end"].as_u64().unwrap_or(0) as usize - 1,
                end_column: sp["column_end"].as_u64().unwrap_or(0) as usize - 4,
            })
        };
        let children = rustc(
            r#"[{"level":"help","message":"consider cloning the value if the performance cost is acceptable","spans":[{"file_name":"src/main.rs","line_start":3,"line_end":3,"column_start":14,"column_end":14,"label":null,"suggested_replacement":".clone()","text":[{"text":"    let b = a;"}]}],"children":[]}]"#,
        );
        let (notes, helps) = children_from_json(&children, &map);
        assert!(notes.is_empty());
        let d = Diagnostic {
            level: "error".into(),
            code: Some("E0382".into()),
            message: "borrow of moved value: `a`".into(),
            labels: vec![
                Label {
                    span: CellSpan {
                        start_line: 3,
                        start_column: 23,
                        end_line: 3,
                        end_column: 24,
                    },
                    text: "value borrowed here after move".into(),
                    primary: true,
                },
                Label {
                    span: CellSpan {
                        start_line: 2,
                        start_column: 9,
                        end_line: 2,
                        end_column: 10,
                    },
                    text: "value moved here".into(),
                    primary: false,
                },
            ],
            notes,
            helps,
        };
        let expected = "error[E0382]: borrow of moved value: `a`
 --> cell:3:23
  |
2 | let b = a;
  |         - value moved here
3 | println!(\"{:?} {:?}\", a, b);
  |                       ^ value borrowed here after move
help: consider cloning the value if the performance cost is acceptable
  |
2 | let b = a.clone();
  |          ++++++++";
        assert_eq!(d.render(cell), expected);

        let e0277 = rustc(
            r#"[{"level":"help","message":"the trait `Add<f32>` is not implemented for `i64`","spans":[],"children":[]},
                {"level":"help","message":"the following other types implement trait `Add<Rhs>`","spans":[
                  {"file_name":"/rustc/library/core/src/internal_macros.rs","line_start":22,"line_end":22,"column_start":9,"column_end":36,"label":"`&i64` implements `Add<i64>`","suggested_replacement":null,"text":[]},
                  {"file_name":"/rustc/library/core/src/ops/arith.rs","line_start":99,"line_end":99,"column_start":9,"column_end":30,"label":"`i64` implements `Add`","suggested_replacement":null,"text":[]}],"children":[]}]"#,
        );
        let (notes, helps) = children_from_json(&e0277, &map);
        assert!(helps.is_empty());
        assert_eq!(
            notes,
            [
                "help: the trait `Add<f32>` is not implemented for `i64`",
                "help: the following other types implement trait `Add<Rhs>`:\n  `&i64` implements `Add<i64>`\n  `i64` implements `Add`",
            ]
        );
        let d = Diagnostic {
            notes,
            ..Diagnostic::default()
        };
        assert!(d.render("").ends_with(
            "= help: the following other types implement trait `Add<Rhs>`:\n      `&i64` implements `Add<i64>`\n      `i64` implements `Add`"
        ), "{}", d.render(""));
    }

    #[test]
    fn spans_are_found_by_their_line_when_the_cell_was_wrapped() {
        let cell = "let a = vec![1];\nlet b = a;";
        // evcxr put the cell in a function, indented by four.
        let span = rustc(
            r#"{"line_start":40,"line_end":40,"column_start":14,"column_end":14,"text":[{"text":"    let b = a;"}]}"#,
        );
        assert_eq!(
            span_by_text(cell, &span),
            Some(CellSpan {
                start_line: 2,
                start_column: 10,
                end_line: 2,
                end_column: 10
            })
        );
        let elsewhere = rustc(
            r#"{"line_start":1,"line_end":1,"column_start":1,"column_end":2,"text":[{"text":"fn main() {"}]}"#,
        );
        assert_eq!(span_by_text(cell, &elsewhere), None);
    }
}
