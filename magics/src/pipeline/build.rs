//! Build stage: the task crate for a body (with every item the notebook
//! defined so far), built by cargo in the shared build root, cached by a
//! content hash so an unchanged cell never recompiles.

use std::path::{Path, PathBuf};

use crate::build_progress;
use crate::diagnostic::Diagnostic;
use crate::error::MagicError;
use crate::notebook::Notebook;
use crate::session::{Display, Session};

/// How often the build's line is redrawn while cargo runs.
const REDRAW: std::time::Duration = std::time::Duration::from_millis(250);

use super::type_name::{Naming, nameable};
use crate::task_build::{self, BuildError};
use crate::taskgen::{self, TaskKind};

/// A task binary ready to run, with the `item_places` its jobs need.
#[derive(Debug, Clone)]
pub struct Built {
    /// The task binary.
    pub binary: PathBuf,
    /// Where the notebook's items are in the task's `main.rs` and the
    /// cells they came from ([`taskgen::TaskSource::item_places`]).
    pub item_places: String,
}

/// Builds (or reuses) the task binary, showing a note while cargo runs.
///
/// # Errors
/// [`MagicError::Compile`] with diagnostics on the cell's lines, or
/// [`MagicError::Build`] when cargo itself fails.
pub fn build(
    root: &Path,
    notebook: &Notebook,
    kind: &TaskKind,
    body: &str,
    display: &mut dyn Display,
) -> Result<Built, MagicError> {
    let src = taskgen::generate(kind, body, &notebook.items(), notebook.deps());
    if root.join("bin").join(&src.hash).exists() {
        display.show(&build_progress::cached(), None);
    }
    // One line, redrawn in place while cargo runs, then replaced by how
    // the build ended.
    let id = format!("sluice-build-{}", src.hash);
    let mut shown = false;
    let mut last = std::time::Instant::now();
    let started = std::time::Instant::now();
    let mut watch = |p: &build_progress::BuildProgress| {
        if !shown {
            display.show(&build_progress::building(p), Some(&id));
            shown = true;
            last = std::time::Instant::now();
        } else if last.elapsed() >= REDRAW {
            display.update(&build_progress::building(p), &id);
            last = std::time::Instant::now();
        }
        display.interrupted()
    };
    let result = crate::phase::timed("task build", || task_build::build(&src, root, &mut watch));
    if shown {
        let elapsed = started.elapsed().as_secs_f64();
        let end = match &result {
            Ok(_) => build_progress::built(elapsed),
            Err(_) => build_progress::failed(elapsed),
        };
        display.update(&end, &id);
    }
    match result {
        Ok(b) => Ok(Built {
            binary: b.binary,
            item_places: src.item_places(),
        }),
        Err(BuildError::Compile(mut d)) => {
            explain(&mut d);
            super::result_bounds::merge(&mut d, kind, body);
            crate::diagnostic::drop_repeats(&mut d);
            Err(MagicError::Compile(d))
        }
        Err(BuildError::Interrupted) => Err(MagicError::BuildInterrupted),
        Err(e) => Err(MagicError::Build(e)),
    }
}

/// Adds what a task build's errors mean for a notebook: a result that must
/// read back (Deserialize), and the session's own `sluice` module, which an
/// earlier cell's function may use but tasks do not have.
fn explain(d: &mut [Diagnostic]) {
    if let Some(first) = d
        .iter_mut()
        .find(|d| d.message.contains("Deserialize") || d.message.contains("DeserializeOwned"))
    {
        first.notes.push(
            "note: a job's result is read back into the notebook, so it must implement serde::Deserialize: return owned values (String, not &str) and derive Deserialize on the notebook's own types".into(),
        );
    }
    for e in d.iter_mut().filter(|d| {
        matches!(d.code.as_deref(), Some("E0433" | "E0432")) && d.message.contains("`sluice`")
    }) {
        e.helps.clear();
        e.notes.retain(|n| !n.contains("cargo add sluice"));
        e.notes.push(
            "note: `sluice` (display, clear_output) is the notebook session's own module: tasks run outside the notebook and do not have it; keep its calls in plain cells, out of the functions tasks call".into(),
        );
    }
}

/// The Rust type of one result, as the session names it: what the user
/// wrote, else what the task binary says (`--describe`), with every path
/// rewritten to one the notebook can name (`type_name.rs`). A path of
/// another crate is checked in the session first; one it cannot name is an
/// error that says how to write the type, never a bind that fails later.
///
/// # Errors
/// [`BuildError::UnknownOutputType`] with `hint` (how to write the type).
pub fn output_type(
    written: Option<String>,
    binary: &Path,
    hint: &str,
    session: &mut dyn Session,
) -> Result<String, MagicError> {
    if let Some(t) = written {
        return Ok(super::type_name::tidy(&t));
    }
    let unknown =
        |why: String| MagicError::Build(BuildError::UnknownOutputType(format!("{why}; {hint}")));
    let reported = describe_output_type(binary)
        .ok_or_else(|| unknown("the task did not say its result type".into()))?;
    match nameable(&reported).map_err(unknown)? {
        Naming::Known(t) => Ok(t),
        Naming::Unverified(t) => match crate::phase::timed("result type check (session)", || {
            session.check(&format!("let _: Option<{t}> = None;"))
        }) {
            Ok(()) => Ok(t),
            Err(_) => Err(unknown(format!(
                "the result type `{t}` cannot be named in the notebook (its path is private to its crate)"
            ))),
        },
    }
}

/// Asks a task binary for its output type (`--describe`): the text of
/// `std::any::type_name`.
fn describe_output_type(binary: &Path) -> Option<String> {
    let out = std::process::Command::new(binary)
        .arg("--describe")
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["output"].as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sessions_sluice_module_is_explained() {
        let unresolved = |name: &str| Diagnostic {
            level: "error".into(),
            code: Some("E0433".into()),
            message: format!("cannot find module or crate `{name}` in this scope"),
            notes: vec![format!(
                "help: if you wanted to use a crate named `{name}`, use `cargo add {name}` to add it to your `Cargo.toml`"
            )],
            ..Diagnostic::default()
        };
        let mut d = vec![unresolved("sluice"), unresolved("rand")];
        explain(&mut d);
        assert_eq!(d[0].notes.len(), 1);
        assert!(
            d[0].notes[0].contains("the notebook session's own module"),
            "{:?}",
            d[0].notes
        );
        assert_eq!(d[1].notes.len(), 1);
        assert!(d[1].notes[0].contains("cargo add rand"));
    }
}
