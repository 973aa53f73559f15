//! Errors as the person sees them: compile errors on the cell's own lines,
//! panics at the cell's line, and simple one-line errors.

use jupyter_protocol::ErrorOutput;
use sluice_magics::diagnostic::{
    CellSpan, Diagnostic, Label, Located, Place, Snippet, add_label, by_text, children_from_json,
    drop_repeats, label_of,
};

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

/// rustc's own diagnostics for a block whose build failed with an error
/// evcxr replaced by one of its children. When none of a diagnostic's
/// spans is in the user's code — E0277 through a generic bound in an
/// expression cell, whose call evcxr wrapped in its display code — evcxr
/// shows the first child that has one (the `help:` at the struct, in
/// another cell) instead of the error: a diagnostic whose level is `help`
/// or `note`. `cargo check` of the same block (evcxr's `check`, which
/// leaves the last expression as it is) finds the error at the call.
/// `None`: nothing was replaced, or the check found no error.
pub(super) fn unreplaced(
    ctx: &mut evcxr::CommandContext,
    code: &str,
    errors: &[evcxr::CompilationError],
) -> Option<Vec<evcxr::CompilationError>> {
    let replaced = errors
        .iter()
        .any(|e| !matches!(e.level(), "error" | "warning"));
    if !replaced || code.trim_start().starts_with(':') {
        return None;
    }
    let mut found: Vec<evcxr::CompilationError> = ctx
        .check(code)
        .ok()?
        .into_iter()
        .filter(|e| e.level() == "error")
        .collect();
    if found.iter().any(evcxr::CompilationError::is_from_user_code) {
        found.retain(evcxr::CompilationError::is_from_user_code);
    }
    (!found.is_empty()).then_some(found)
}

/// True if the cell's first line is an evcxr `:dep` command.
pub(super) fn starts_with_dep(code: &str) -> bool {
    code.trim_start().starts_with(":dep ")
}

/// The notebook's other cells, where a diagnostic's spans outside the cell
/// are looked for: the parts of the evaluated block that are other cells
/// (waiting items-only cells), and the cells that ran before.
#[derive(Default)]
pub(in crate::engine) struct OtherCells<'a> {
    /// `(cell[N], first line, last line, code)` of block parts (1-based,
    /// inclusive lines of the block).
    pub parts: Vec<(String, usize, usize, String)>,
    /// `(cell[N], code)` of the cells that ran, newest first.
    pub earlier: Vec<(String, &'a str)>,
    /// The names of the items the user's cells defined.
    pub items: Vec<String>,
}

impl OtherCells<'_> {
    /// The part of the block holding `span` (block lines), as a place in
    /// that cell.
    fn part_of(&self, span: CellSpan) -> Option<Place> {
        let (name, first, _, code) = self
            .parts
            .iter()
            .find(|(_, a, b, _)| (*a..=*b).contains(&span.start_line))?;
        let shift = first - 1;
        Some(Place::Other {
            name: name.clone(),
            source: code.clone(),
            span: CellSpan {
                start_line: span.start_line - shift,
                start_column: span.start_column,
                end_line: span
                    .end_line
                    .saturating_sub(shift)
                    .max(span.start_line - shift),
                end_column: span.end_column,
            },
        })
    }
}

/// Compile errors rendered against the cell's own lines, the code on lines
/// `offset + 1 ..= last` of the evaluated block (`offset`: lines put before
/// the cell's code, pending binds and waiting items; `last`: usize::MAX
/// when nothing follows it). Spans are moved back onto the cell's own
/// lines, spans in other cells shown on theirs.
pub(in crate::engine) fn compile_error_in(
    errors: &[evcxr::CompilationError],
    code: &str,
    offset: usize,
    last: usize,
    others: &OtherCells<'_>,
) -> ErrorOutput {
    // Warnings are shown only when rustc said nothing worse (evcxr hands
    // them over with the errors when an error is in its own code); a note
    // of its own right after an error is that error's ("the above error was
    // encountered while instantiating `fn g::<0>`", at the cell's call).
    let worst: Vec<&evcxr::CompilationError> = if errors.iter().any(|e| e.level() == "error") {
        errors
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                e.level() == "error"
                    || (e.level() == "note" && errors[..*i].iter().any(|p| p.level() == "error"))
            })
            .map(|(_, e)| e)
            .collect()
    } else {
        errors.iter().collect()
    };
    let mut diags: Vec<Diagnostic> = worst
        .into_iter()
        .map(|e| {
            let mut d = to_diagnostic(e, code, others);
            let (mine, elsewhere): (Vec<Label>, Vec<Label>) = d
                .labels
                .into_iter()
                .partition(|l| l.span.start_line > offset && l.span.start_line <= last);
            d.labels = mine;
            in_other_cells(&mut d, elsewhere, others);
            for l in &mut d.labels {
                l.span.start_line -= offset;
                l.span.end_line = l
                    .span
                    .end_line
                    .saturating_sub(offset)
                    .max(l.span.start_line);
            }
            super::shown_value::place(&mut d, code);
            d
        })
        .collect();
    drop_repeats(&mut diags);
    let value_without_debug = super::shown_value::debug_bounds(&mut diags, code);
    let evalue = diags
        .first()
        .map(|d| d.message.clone())
        .unwrap_or_else(|| "compilation failed".into());
    let mut traceback: Vec<String> = diags.iter().map(|d| d.render(code)).collect();
    if traceback.is_empty() {
        traceback.push("error: compilation failed".into());
    }
    // The build failed with only warnings to show: evcxr kept back the
    // error, which is in its own code around the cell.
    if !value_without_debug && !errors.is_empty() && errors.iter().all(|e| e.level() != "error") {
        traceback.push(GENERATED.into());
    }
    ErrorOutput {
        ename: "CompileError".into(),
        evalue,
        traceback,
    }
}

/// What to do about an error in evcxr's code around the cell.
const GENERATED: &str = "note: the error is in the code evcxr generates around the cell to keep its variables for later cells (the type it inferred for one of them cannot be written here); give that variable an explicit type (`let r: T = ...`), or wrap the code in braces `{ ... }` so its variables are not kept";

/// The variable and type of evcxr's generated line the error is on
/// (`evcxr_variable_store.put_variable::<TYPE>(stringify!(NAME), NAME);`),
/// read from the source lines rustc quotes in the error's spans.
fn kept_variable(e: &evcxr::CompilationError) -> Option<(String, String)> {
    let spans = e.json["spans"].as_array()?;
    spans.iter().find_map(|span| {
        span["text"].as_array()?.iter().find_map(|t| {
            let line = t["text"].as_str()?;
            let rest = line.split_once("put_variable::<")?.1;
            let (ty, rest) = rest.rsplit_once(">(stringify!(")?;
            let name = rest.split_once(')')?.0;
            Some((name.trim().to_string(), ty.trim().to_string()))
        })
    })
}

/// Labels on block lines outside the cell: those in a waiting cell's part
/// are shown on that cell's lines (E0080 in a waiting item's constant);
/// the rest (the binds of magic cells) are dropped.
fn in_other_cells(d: &mut Diagnostic, labels: Vec<Label>, others: &OtherCells<'_>) {
    let mut snippets: Vec<Snippet> = Vec::new();
    for l in labels {
        if let Some(Place::Other { name, source, span }) = others.part_of(l.span) {
            add_label(&mut snippets, &name, &source, Label { span, ..l });
        }
    }
    if !snippets.is_empty() {
        d.located.insert(
            0,
            Located {
                heading: None,
                snippets,
            },
        );
    }
}

/// The spans of rustc's diagnostic (its JSON) evcxr gave no label for:
/// evcxr labels the spans in the code it evaluated and, when one is there,
/// drops the others (the first implementation in an earlier cell, E0119);
/// its labels are the spans' in order, so they are matched in order.
fn unlabelled_spans(e: &evcxr::CompilationError) -> Vec<&serde_json::Value> {
    let raw: Vec<&serde_json::Value> = e.json["spans"].as_array().into_iter().flatten().collect();
    let mapped: Vec<_> = e
        .spanned_messages()
        .iter()
        .filter(|m| m.span.is_some())
        .collect();
    let headline = format!("{}: {}", e.level(), e.message());
    let mut next = mapped.into_iter().peekable();
    raw.into_iter()
        .filter(|sp| {
            let label = sp["label"].as_str().unwrap_or(&headline);
            let primary = sp["is_primary"].as_bool().unwrap_or(false);
            let same = next
                .peek()
                .is_some_and(|m| m.label.starts_with(label) && m.is_primary == primary);
            if same {
                next.next();
            }
            !same
        })
        .collect()
}

/// The spans evcxr left out ([`unlabelled_spans`]): those another cell
/// has, on its lines; the rest, with a label, as notes (said to be in an
/// earlier cell when a line of the session's code names a user's item).
fn left_out(
    e: &evcxr::CompilationError,
    headline: &str,
    others: &OtherCells<'_>,
) -> (Vec<String>, Vec<Located>) {
    let mut notes = Vec::new();
    let mut snippets: Vec<Snippet> = Vec::new();
    for sp in unlabelled_spans(e) {
        let label = sp["label"]
            .as_str()
            .filter(|l| !l.is_empty() && *l != headline);
        // Not this cell: evcxr would have labelled a span in it.
        match by_text(sp, None, &others.earlier, &others.items) {
            Place::Other { name, source, span } => {
                add_label(&mut snippets, &name, &source, label_of(sp, span));
            }
            Place::Earlier => {
                notes.extend(label.map(|l| format!("note: {l} (in an earlier cell)")));
            }
            Place::Cell(_) | Place::Outside => notes.extend(label.map(|l| format!("note: {l}"))),
        }
    }
    let located = if snippets.is_empty() {
        Vec::new()
    } else {
        vec![Located {
            heading: None,
            snippets,
        }]
    };
    (notes, located)
}

/// One evcxr error as a [`Diagnostic`]: evcxr's spans (already on the
/// cell's lines) as labels, the spans it left out found in the notebook's
/// other cells by their source line; every child of rustc's diagnostic —
/// helps with their suggested code, notes, lists such as E0277's
/// implementations — from rustc's JSON, its spans found in the cell (or
/// another cell) by their source line.
fn to_diagnostic(e: &evcxr::CompilationError, code: &str, others: &OtherCells<'_>) -> Diagnostic {
    // evcxr labels a span rustc left without text (and one it could not
    // place) with the diagnostic's own headline: that repeats the header.
    let headline = format!("{}: {}", e.level(), e.message());
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
                text: if m.label == headline {
                    String::new()
                } else {
                    m.label.clone()
                },
                primary: m.is_primary,
            })
        })
        .collect();
    let children = if e.json.is_null() {
        Default::default()
    } else {
        children_from_json(&e.json["children"], &|sp| {
            by_text(sp, Some(code), &others.earlier, &others.items)
        })
    };
    let mut notes = children.notes;
    let (more, mut located) = left_out(e, &headline, others);
    notes.extend(more);
    located.extend(children.located);
    // Syntax errors have no code: they are the cell's even where evcxr's
    // code around it is where rustc noticed.
    if e.code().is_some() && !e.is_from_user_code() {
        notes.push(match kept_variable(e) {
            Some((name, ty)) => format!(
                "note: evcxr keeps `{name}` for later cells as `{ty}`, a type that cannot be written here; give `{name}` a type that can (`let {name}: T = ...`), or wrap the code in braces `{{ ... }}` so it is not kept"
            ),
            None => GENERATED.into(),
        });
    }
    let mut labels: Vec<Label> = labels;
    for l in &mut labels {
        l.text = without_evcxr_paths(&l.text);
    }
    Diagnostic {
        level: e.level().to_string(),
        code: e.code().map(str::to_string),
        message: without_evcxr_paths(&without_cargo_progress(&e.message())),
        labels,
        notes: notes.iter().map(|n| without_evcxr_paths(n)).collect(),
        helps: children.helps,
        located,
    }
}

/// A `:dep` error is cargo's output as it came: its progress lines
/// (`    Updating crates.io index`) go, and so does the `error: ` cargo put
/// before its message (the rendering adds its own).
fn without_cargo_progress(text: &str) -> String {
    const PROGRESS: [&str; 8] = [
        "Updating",
        "Downloading",
        "Downloaded",
        "Locking",
        "Adding",
        "Blocking",
        "Fetching",
        "Unpacking",
    ];
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let word = l.trim_start().split(' ').next().unwrap_or_default();
            !(l.starts_with("  ") && PROGRESS.contains(&word))
        })
        .collect();
    if kept.len() == text.lines().count() {
        return text.to_string();
    }
    let joined = kept.join("\n");
    joined
        .strip_prefix("error: ")
        .map(str::to_string)
        .unwrap_or(joined)
}

/// `text` without the paths of the functions evcxr wraps a cell in
/// (`evcxr_analysis_wrapper::{closure#0}::B`, `run_user_code_3::B` → `B`):
/// rustc names a constant by its path, and in a cell that is its name.
fn without_evcxr_paths(text: &str) -> String {
    // The statement evcxr puts after the cell is not the user's to see:
    // `expected `;`, found `evcxr_variable_store`` says `expected `;``.
    let text = text.replace(", found `evcxr_variable_store`", "");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = ["evcxr_analysis_wrapper::", "run_user_code_"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        // The wrapper's segments up to the item's own name.
        let mut end = 0;
        let segments = tail.split("::").collect::<Vec<_>>();
        for seg in &segments[..segments.len() - 1] {
            let wrapper = seg.starts_with("evcxr_analysis_wrapper")
                || seg.starts_with("run_user_code_")
                || (seg.starts_with("{closure#") && seg.ends_with('}'));
            if !wrapper {
                break;
            }
            end += seg.len() + 2;
        }
        if end == 0 {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
            continue;
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::without_evcxr_paths;

    #[test]
    fn evcxrs_wrappers_leave_the_names_of_constants() {
        assert_eq!(
            without_evcxr_paths(
                "evaluation of `evcxr_analysis_wrapper::{closure#0}::B` failed here"
            ),
            "evaluation of `B` failed here"
        );
        assert_eq!(without_evcxr_paths("`run_user_code_12::A::X`"), "`A::X`");
        assert_eq!(
            without_evcxr_paths("no wrapper: `main::B`"),
            "no wrapper: `main::B`"
        );
        assert_eq!(without_evcxr_paths("run_user_code_"), "run_user_code_");
        assert_eq!(
            without_evcxr_paths("expected `;`, found `evcxr_variable_store`"),
            "expected `;`"
        );
    }

    #[test]
    fn a_dep_error_loses_cargos_progress_lines() {
        use super::without_cargo_progress;
        assert_eq!(
            without_cargo_progress(
                "    Updating crates.io index\nerror: no matching package named `nope` found\nlocation searched: crates.io index"
            ),
            "no matching package named `nope` found\nlocation searched: crates.io index"
        );
        // rustc's messages are left as they are.
        let rustc = "mismatched types\n  expected `u8`";
        assert_eq!(without_cargo_progress(rustc), rustc);
    }
}
