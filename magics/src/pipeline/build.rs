//! Build stage: the task crate for a body (with every item the notebook
//! defined so far), built by cargo in the shared build root, cached by a
//! content hash so an unchanged cell never recompiles.

use std::path::{Path, PathBuf};

use crate::error::MagicError;
use crate::notebook::Notebook;
use crate::render;
use crate::session::Display;
use crate::task_build::{self, BuildError};
use crate::taskgen::{self, TaskKind};

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
) -> Result<PathBuf, MagicError> {
    let src = taskgen::generate(kind, body, &notebook.items_source(), notebook.deps());
    if !root.join("bin").join(&src.hash).exists() {
        display.show(&render::pre("compiling the task (release build)..."), None);
    }
    match task_build::build(&src, root) {
        Ok(b) => Ok(b.binary),
        Err(BuildError::Compile(d)) => Err(MagicError::Compile(d)),
        Err(e) => Err(MagicError::Build(e)),
    }
}

/// The Rust type of one result, as the session names it: what the user
/// wrote, else what the task binary says (`--describe`).
///
/// # Errors
/// [`BuildError::UnknownOutputType`] with `hint` (how to write the type).
pub fn output_type(
    written: Option<String>,
    binary: &Path,
    hint: &str,
) -> Result<String, MagicError> {
    match written {
        Some(t) => Ok(t),
        None => describe_output_type(binary)
            .ok_or_else(|| MagicError::Build(BuildError::UnknownOutputType(hint.to_string()))),
    }
}

/// Asks a task binary for its output type (`--describe`), and rewrites
/// `std::any::type_name` paths into names the session understands.
fn describe_output_type(binary: &Path) -> Option<String> {
    let out = std::process::Command::new(binary)
        .arg("--describe")
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["output"].as_str().map(normalize_type_name)
}

/// `alloc::vec::Vec<sluice_task_ab12::Point>` → `std::vec::Vec<Point>`.
pub fn normalize_type_name(t: &str) -> String {
    let mut s = t.to_string();
    for (from, to) in [
        ("std::collections::hash::map::", "std::collections::"),
        ("std::collections::hash::set::", "std::collections::"),
        ("std::collections::btree::map::", "std::collections::"),
        ("std::collections::btree::set::", "std::collections::"),
        ("alloc::", "std::"),
        ("core::", "std::"),
    ] {
        s = s.replace(from, to);
    }
    // Items of the task crate are the notebook's own: drop the crate path.
    while let Some(start) = s.find("sluice_task_") {
        match s[start..].find("::") {
            Some(end) => s.replace_range(start..start + end + 2, ""),
            None => break,
        }
    }
    s.replace("std::collections::hash::map::", "std::collections::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_become_session_names() {
        assert_eq!(
            normalize_type_name("alloc::vec::Vec<i64>"),
            "std::vec::Vec<i64>"
        );
        assert_eq!(
            normalize_type_name(
                "std::collections::hash::map::HashMap<alloc::string::String, sluice_task_0123abcd::Point>"
            ),
            "std::collections::HashMap<std::string::String, Point>"
        );
        assert_eq!(normalize_type_name("(i32, f64)"), "(i32, f64)");
    }
}
