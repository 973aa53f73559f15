//! A task's result that serde cannot write or read back. The runtime's
//! entry points (`run_map`, `run_single`, ...) bound the result by
//! `serde::Serialize` and `serde::de::DeserializeOwned`; a result type
//! without them (`Rc<u64>`, a struct with no derives) makes rustc give one
//! E0277 per bound, each with a list of 140 other types, in code sluice
//! generated. [`merge`] turns them into one error on the cell's line that
//! makes the result, naming the type and what to derive.

use crate::diagnostic::{CellSpan, Diagnostic, Label};
use crate::taskgen::TaskKind;

/// The serde trait a result lacks, as rustc's E0277 headline names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// `serde::Serialize`: the task writes its result.
    Serialize,
    /// `serde::de::DeserializeOwned`: the notebook reads it back.
    Deserialize,
}

/// From generated code (no span in the cell): `the trait bound `T:
/// serde::Serialize` is not satisfied` (E0277), or `implementation of
/// `Deserialize` is not general enough` for a borrowed result such as
/// `&str` (the type from its note): the type and the bound.
fn unmet(d: &Diagnostic) -> Option<(String, Bound)> {
    if !d.labels.is_empty() {
        return None;
    }
    if d.message.starts_with("implementation of `serde")
        && d.message.ends_with("Deserialize` is not general enough")
    {
        let ty = d.notes.iter().find_map(|n| {
            let rest = n.strip_prefix("note: `")?;
            let (ty, tail) = rest.split_once("` must implement")?;
            tail.contains("Deserialize").then(|| ty.to_string())
        })?;
        return Some((ty, Bound::Deserialize));
    }
    if d.code.as_deref() != Some("E0277") {
        return None;
    }
    let inner = d
        .message
        .strip_prefix("the trait bound `")?
        .strip_suffix("` is not satisfied")?;
    let (ty, bound) = inner.rsplit_once(": ")?;
    let bound = match bound {
        "serde::Serialize" | "serde_core::ser::Serialize" => Bound::Serialize,
        "serde::de::DeserializeOwned" | "serde_core::de::DeserializeOwned" => Bound::Deserialize,
        _ => return None,
    };
    Some((ty.to_string(), bound))
}

/// Replaces rustc's E0277s for the result's serde bounds by one error per
/// result type, where the first of them was, labelled on the body line that
/// makes the result (cell line 1 is the magic line). Other diagnostics
/// stay as they are.
pub fn merge(d: &mut Vec<Diagnostic>, kind: &TaskKind, body: &str) {
    // Per result type: its bounds, where its first error was, and rustc's
    // suggestions and source lines in other cells (the derive to add, on
    // the struct's line in its cell), each once; its lists of other types
    // are left out.
    let mut types: Vec<(String, Vec<Bound>, usize, Diagnostic)> = Vec::new();
    for (at, diag) in d.iter().enumerate() {
        let Some((ty, bound)) = unmet(diag) else {
            continue;
        };
        let entry = match types.iter_mut().position(|(t, ..)| *t == ty) {
            Some(i) => &mut types[i],
            None => {
                types.push((ty, Vec::new(), at, Diagnostic::default()));
                let last = types.len() - 1;
                &mut types[last]
            }
        };
        entry.1.push(bound);
        for h in &diag.helps {
            if !entry.3.helps.contains(h) {
                entry.3.helps.push(h.clone());
            }
        }
        for l in &diag.located {
            if !entry.3.located.contains(l) {
                entry.3.located.push(l.clone());
            }
        }
    }
    if types.is_empty() {
        return;
    }
    let label = result_line(kind, body);
    let mut merged: Vec<(usize, Diagnostic)> = types
        .into_iter()
        .map(|(ty, bounds, at, kept)| {
            let mut e = one_error(&ty, &bounds, label.clone());
            e.helps = kept.helps;
            e.located = kept.located;
            (at, e)
        })
        .collect();
    let mut out = Vec::with_capacity(d.len());
    for (i, diag) in std::mem::take(d).into_iter().enumerate() {
        if let Some(pos) = merged.iter().position(|(at, _)| *at == i) {
            out.push(merged.remove(pos).1);
        } else if unmet(&diag).is_none() {
            out.push(diag);
        }
    }
    *d = out;
}

fn one_error(ty: &str, bounds: &[Bound], label: Option<Label>) -> Diagnostic {
    let lacks = match (
        bounds.contains(&Bound::Serialize),
        bounds.contains(&Bound::Deserialize),
    ) {
        (true, true) => "`serde::Serialize` or `serde::Deserialize`",
        (true, false) => "`serde::Serialize`",
        _ => "`serde::de::DeserializeOwned`",
    };
    Diagnostic {
        level: "error".into(),
        code: Some("E0277".into()),
        message: format!("the task's result `{ty}` does not implement {lacks}"),
        labels: label.into_iter().collect(),
        notes: vec![
            "note: a task writes its result, and the notebook reads it back, with serde: the result must implement `serde::Serialize` and `serde::Deserialize`".into(),
            help(ty),
        ],
        helps: vec![],
        located: vec![],
    }
}

/// What to do instead: a reference or shared pointer outlives nothing once
/// the task ends (return the value itself); any other type needs the
/// derives.
fn help(ty: &str) -> String {
    let pointer = [
        "&",
        "Rc<",
        "Arc<",
        "std::rc::Rc<",
        "std::sync::Arc<",
        "Cell<",
        "RefCell<",
    ]
    .iter()
    .any(|p| ty.starts_with(p));
    if pointer {
        format!(
            "help: return an owned value instead of `{ty}` (String for &str, T for Rc<T>): the notebook gets a copy of the result, not a pointer into the task's memory"
        )
    } else {
        format!(
            "help: if `{ty}` is the notebook's own type, put `#[derive(serde::Serialize, serde::Deserialize)]` on it (the task keeps the notebook's items as written); else return a type serde knows: numbers, String, Vec, Option, tuples, maps"
        )
    }
}

/// The body line whose code makes the result, as a cell span: the task
/// fn's line (map with a fn), the closure's first line, or the last line
/// of a block (run, sweep). None for an empty body.
fn result_line(kind: &TaskKind, body: &str) -> Option<Label> {
    let lines: Vec<&str> = body.lines().collect();
    let non_empty = |i: &usize| !lines[*i].trim().is_empty();
    let index = match kind {
        TaskKind::MapFn { fn_name } => {
            let head = format!("fn {fn_name}");
            (0..lines.len()).find(|&i| {
                lines[i]
                    .find(&head)
                    .map(|at| &lines[i][at + head.len()..])
                    .is_some_and(|rest| rest.trim_start().starts_with(['(', '<']))
            })
        }
        TaskKind::MapClosure { wrap, .. } if wrap.0.is_empty() => (0..lines.len()).find(non_empty),
        _ => (0..lines.len()).rev().find(non_empty),
    }?;
    let line = lines[index];
    let start = line.len() - line.trim_start().len();
    Some(Label {
        span: CellSpan {
            start_line: index + 2,
            start_column: line[..start].chars().count() + 1,
            end_line: index + 2,
            end_column: line.trim_end().chars().count() + 1,
        },
        text: "the task's result comes from here".into(),
        primary: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e0277(message: &str) -> Diagnostic {
        Diagnostic {
            level: "error".into(),
            code: Some("E0277".into()),
            message: message.into(),
            notes: vec!["help: the following other types implement trait ...".into()],
            ..Diagnostic::default()
        }
    }

    fn closure() -> TaskKind {
        TaskKind::MapClosure {
            captures: vec![],
            wrap: (String::new(), String::new()),
        }
    }

    #[test]
    fn both_bounds_of_one_type_become_one_error_on_the_closure_line() {
        let other = Diagnostic {
            message: "unused variable".into(),
            level: "warning".into(),
            ..Diagnostic::default()
        };
        let mut d = vec![
            e0277("the trait bound `Rc<u64>: serde::Serialize` is not satisfied"),
            other.clone(),
            e0277("the trait bound `Rc<u64>: serde::de::DeserializeOwned` is not satisfied"),
        ];
        merge(&mut d, &closure(), "\n  |x: u64| std::rc::Rc::new(x)  \n");
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0].message,
            "the task's result `Rc<u64>` does not implement `serde::Serialize` or `serde::Deserialize`"
        );
        assert_eq!(d[1], other);
        let span = d[0].labels[0].span;
        assert_eq!(
            (span.start_line, span.start_column, span.end_column),
            (3, 3, 31)
        );
        assert!(d[0].notes.iter().all(|n| !n.contains("other types")));
    }

    #[test]
    fn only_deserialize_missing_says_so_and_points_at_the_task_fn() {
        let mut d = vec![e0277(
            "the trait bound `&str: serde::de::DeserializeOwned` is not satisfied",
        )];
        let kind = TaskKind::MapFn {
            fn_name: "label".into(),
        };
        merge(
            &mut d,
            &kind,
            "fn helper() {}\nfn label(x: u64) -> &'static str { \"a\" }",
        );
        assert_eq!(
            d[0].message,
            "the task's result `&str` does not implement `serde::de::DeserializeOwned`"
        );
        assert_eq!(d[0].labels[0].span.start_line, 3);
        assert!(
            d[0].notes[1].contains("instead of `&str`"),
            "{:?}",
            d[0].notes
        );
    }

    #[test]
    fn a_borrowed_result_is_named_from_rustcs_not_general_enough() {
        let mut d = vec![Diagnostic {
            level: "error".into(),
            message: "implementation of `serde_core::de::Deserialize` is not general enough".into(),
            notes: vec![
                "note: `&str` must implement `serde_core::de::Deserialize<'0>`, for any lifetime `'0`...".into(),
            ],
            ..Diagnostic::default()
        }];
        merge(&mut d, &closure(), "|x: u64| -> &'static str { \"a\" }");
        assert_eq!(
            d[0].message,
            "the task's result `&str` does not implement `serde::de::DeserializeOwned`"
        );
    }

    #[test]
    fn a_bound_in_the_cells_own_code_is_left_as_rustc_said_it() {
        let mut own = e0277("the trait bound `Rc<u64>: serde::Serialize` is not satisfied");
        own.labels.push(Label {
            span: CellSpan {
                start_line: 2,
                start_column: 1,
                end_line: 2,
                end_column: 4,
            },
            text: String::new(),
            primary: true,
        });
        let mut d = vec![
            own.clone(),
            e0277("the trait bound `u64: Foo` is not satisfied"),
        ];
        let before = d.clone();
        merge(&mut d, &closure(), "x");
        assert_eq!(d, before);
    }
}
