//! Where a span of rustc's is when the cell's own lines are not enough: in
//! another cell of the notebook (named `cell[N]` by its execution count, as
//! panics name it), in this cell for a note's own lines, or in the session's
//! code with the cell that wrote it no longer known.

use super::{CellSpan, Label, Match};

/// Where one span of rustc's (its JSON form) is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// On the lines of the cell the diagnostic is shown for.
    Cell(CellSpan),
    /// On the lines of another cell.
    Other {
        /// The cell's name: `cell[N]`, N its execution count.
        name: String,
        /// That cell's source text.
        source: String,
        /// Where on its lines.
        span: CellSpan,
    },
    /// In code an earlier cell defined, the cell itself not found (it ran
    /// too long ago, or its text changed since).
    Earlier,
    /// Outside the notebook's code (the standard library, a crate).
    Outside,
}

/// Lines of one cell a diagnostic points into, with their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// `cell` (the cell the diagnostic is shown for) or `cell[N]`.
    pub name: String,
    /// The cell's source text.
    pub source: String,
    /// Labels on its lines (1-based lines and columns of that cell).
    pub labels: Vec<Label>,
}

/// Source lines shown under a heading: a note of rustc's with spans
/// (`note: function defined here` and the function's line), or, without a
/// heading, the diagnostic's own spans that are in other cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// `note: …` / `help: …`; None for the diagnostic's own spans.
    pub heading: Option<String>,
    /// One entry per cell, in the order rustc gave the spans.
    pub snippets: Vec<Snippet>,
}

/// Adds `label` to the snippet of cell `name` (a new one after the others
/// if that cell has none yet).
pub fn add_label(snippets: &mut Vec<Snippet>, name: &str, source: &str, label: Label) {
    match snippets.iter_mut().find(|s| s.name == name) {
        Some(s) => s.labels.push(label),
        None => snippets.push(Snippet {
            name: name.to_string(),
            source: source.to_string(),
            labels: vec![label],
        }),
    }
}

/// A label at `span` with rustc's label text of the JSON span `sp`.
pub fn label_of(sp: &serde_json::Value, span: CellSpan) -> Label {
    Label {
        span,
        text: sp["label"].as_str().unwrap_or_default().to_string(),
        primary: sp["is_primary"].as_bool().unwrap_or(false),
    }
}

/// The place of a span by its source line in cells tried in order — this
/// cell first when `this` is given, then `others` (name, source), newest
/// first. [`Place::Earlier`] when no cell has the line but it is in the
/// session's generated library (`lib.rs`) and names one of `items`, the
/// items the user's cells defined (an earlier cell's code: the rest of the
/// library is evcxr's and sluice's own code around the cells);
/// [`Place::Outside`] else, also for lines that name `evcxr` and lines with
/// no letter or digit (`}` could be any cell's).
pub fn by_text(
    sp: &serde_json::Value,
    this: Option<&str>,
    others: &[(String, &str)],
    items: &[String],
) -> Place {
    if let Some(span) = this.and_then(|cell| super::span_by_text(cell, sp)) {
        return Place::Cell(span);
    }
    let line = sp["text"][0]["text"].as_str().unwrap_or_default();
    if line.contains("evcxr") || !line.chars().any(char::is_alphanumeric) {
        return Place::Outside;
    }
    // A whole line in any cell first; then part of a line (an item that
    // shared its line with a statement), newest cell first.
    for how in [Match::Whole, Match::Part] {
        for (name, source) in others {
            if let Some(span) = super::span_in(source, sp, how) {
                return Place::Other {
                    name: name.clone(),
                    source: source.to_string(),
                    span,
                };
            }
        }
    }
    let in_library = sp["file_name"]
        .as_str()
        .is_some_and(|f| f.ends_with("lib.rs"));
    let words: Vec<&str> = line
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .collect();
    if in_library && items.iter().any(|i| words.contains(&i.as_str())) {
        Place::Earlier
    } else {
        Place::Outside
    }
}

/// Drops what repeats a span already shown, in the order shown: a note
/// with source lines inside a diagnostic, or a whole note-level diagnostic
/// (rustc's `note: erroneous constant encountered` after an E0080), whose
/// every label is on a span shown before, in a diagnostic's own labels
/// (cell `cell`) or located parts. rustc repeats the failing constant's
/// span so; shown twice, it reads as two places.
pub fn drop_repeats(diagnostics: &mut Vec<super::Diagnostic>) {
    type Spot = (String, super::CellSpan);
    fn spots(located: &Located) -> Vec<Spot> {
        located
            .snippets
            .iter()
            .flat_map(|s| s.labels.iter().map(|l| (s.name.clone(), l.span)))
            .collect()
    }
    let mut shown: Vec<Spot> = Vec::new();
    diagnostics.retain_mut(|d| {
        let own: Vec<Spot> = d
            .labels
            .iter()
            .map(|l| ("cell".to_string(), l.span))
            .collect();
        let all: Vec<Spot> = own
            .iter()
            .cloned()
            .chain(d.located.iter().flat_map(spots))
            .collect();
        if d.level == "note" && !all.is_empty() && all.iter().all(|s| shown.contains(s)) {
            return false;
        }
        shown.extend(own);
        d.located.retain(|part| {
            let spans = spots(part);
            let repeated = part.heading.is_some()
                && !spans.is_empty()
                && spans.iter().all(|s| shown.contains(s));
            shown.extend(spans);
            !repeated
        });
        true
    });
}
