//! Drawing a [`Diagnostic`] rustc-style against the cell's lines: the
//! labels under their source line, notes, and suggestions as changed lines.

use std::fmt::Write as _;

use super::{Diagnostic, Help, Label, Suggestion};

/// Whether `code` is one of rustc's error codes (`E0308`: `E` and four
/// digits, as the error index numbers them), not a lint's name.
pub fn is_error_code(code: &str) -> bool {
    code.strip_prefix('E')
        .is_some_and(|n| n.len() == 4 && n.bytes().all(|b| b.is_ascii_digit()))
}

impl Diagnostic {
    /// The code rustc writes in brackets after the level: only an error
    /// code (`error[E0308]`). A lint denied into an error has its name as
    /// the code in rustc's JSON but rustc prints `error: literal out of
    /// range for `u8`` and names the lint in a note
    /// (`` `#[deny(overflowing_literals)]` on by default ``).
    pub fn error_code(&self) -> Option<&str> {
        self.code.as_deref().filter(|c| is_error_code(c))
    }

    /// Renders the diagnostic rustc-style against `cell`, the cell's source
    /// text: its labels under the cell's lines (`--> cell:L:C`), its spans
    /// in other cells under theirs (`::: cell[N]:L:C`), notes, notes with
    /// the lines they point at, and helps as the changed lines.
    pub fn render(&self, cell: &str) -> String {
        let lines: Vec<&str> = cell.lines().collect();
        let mut out = String::new();
        let level = if self.level.is_empty() {
            "error"
        } else {
            &self.level
        };
        match self.error_code() {
            Some(code) => {
                let _ = writeln!(out, "{level}[{code}]: {}", self.message);
            }
            None => {
                let _ = writeln!(out, "{level}: {}", self.message);
            }
        }
        let width = self.gutter_width();
        let pad = " ".repeat(width);
        let mut arrow = "-->";
        if !self.labels.is_empty() {
            source_lines(&mut out, arrow, "cell", &self.labels, &lines, width);
            arrow = ":::";
        }
        for located in self.located.iter().filter(|l| l.heading.is_none()) {
            for s in &located.snippets {
                let source: Vec<&str> = s.source.lines().collect();
                source_lines(&mut out, arrow, &s.name, &s.labels, &source, width);
                arrow = ":::";
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
        for located in &self.located {
            let Some(heading) = &located.heading else {
                continue;
            };
            let _ = writeln!(out, "{heading}");
            let mut arrow = "-->";
            for s in &located.snippets {
                let source: Vec<&str> = if s.name == "cell" {
                    lines.clone()
                } else {
                    s.source.lines().collect()
                };
                source_lines(&mut out, arrow, &s.name, &s.labels, &source, width);
                arrow = ":::";
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

    /// Digits of the largest line number shown (at least one).
    fn gutter_width(&self) -> usize {
        let snippet_lines = self
            .located
            .iter()
            .flat_map(|l| &l.snippets)
            .flat_map(|s| &s.labels);
        let help_lines = self.helps.iter().flat_map(|h| &h.suggestions).map(|s| {
            // A suggestion with line breaks is shown as more lines.
            s.span.end_line + s.replacement.matches('\n').count()
        });
        self.labels
            .iter()
            .chain(snippet_lines)
            .map(|l| l.span.end_line)
            .chain(help_lines)
            .max()
            .unwrap_or(1)
            .to_string()
            .len()
    }
}

/// `--> NAME:L:C` (the primary label's place, else the first's), then each
/// line that has labels, the labels drawn under it.
fn source_lines(
    out: &mut String,
    arrow: &str,
    name: &str,
    labels: &[Label],
    lines: &[&str],
    width: usize,
) {
    let pad = " ".repeat(width);
    let mut first = labels.to_vec();
    first.sort_by_key(|l| (!l.primary, l.span.start_line, l.span.start_column));
    let Some(first) = first.first() else {
        return;
    };
    let _ = writeln!(
        out,
        "{pad}{arrow} {name}:{}:{}",
        first.span.start_line, first.span.start_column
    );
    let _ = writeln!(out, "{pad} |");
    let mut by_line = labels.to_vec();
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

/// `help: MESSAGE` and the cell's line as the suggestion changes it, as
/// rustc shows it: `+` under inserted text; a line whose text is replaced
/// as `N - old` and `N + new`.
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
        if chars.contains(&'\n') {
            changed_lines(out, line_no, &chars, &marks, width);
            continue;
        }
        let changed: String = chars.into_iter().collect();
        if marks.contains(&'~') {
            // A replacement: the line before and after, as rustc's diff.
            let _ = writeln!(out, "{line_no:>width$} - {text}");
            let _ = writeln!(out, "{line_no:>width$} + {changed}");
            continue;
        }
        let under: String = marks.into_iter().collect();
        let _ = writeln!(out, "{line_no:>width$} | {changed}");
        let _ = writeln!(out, "{pad} | {}", under.trim_end());
    }
}

/// A line whose suggestion inserts line breaks, shown as the lines it
/// becomes, as rustc shows them: `N + text` for a line that is all new
/// text, `N ~ text` for one that keeps some of the old (line numbers go on
/// from `line_no`); never a break spliced into the shown line.
fn changed_lines(out: &mut String, line_no: usize, chars: &[char], marks: &[char], width: usize) {
    let breaks = (0..=chars.len()).filter(|&i| i == chars.len() || chars[i] == '\n');
    let mut start = 0;
    for (n, end) in (line_no..).zip(breaks) {
        let text: String = chars[start..end].iter().collect();
        let all_new = marks[start..end].iter().all(|&m| m != ' ');
        let gutter = if all_new && end > start { '+' } else { '~' };
        let _ = writeln!(out, "{n:>width$} {gutter} {}", text.trim_end());
        start = end + 1;
    }
}
