//! Building task crates with cargo, in a persistent workspace with one
//! shared target directory. Binaries are kept by content hash: an unchanged
//! cell never recompiles. Compile errors come back as diagnostics against
//! the cell's own lines.
//!
//! Layout under the build root: `runtime/` (the embedded runtime crate),
//! `tasks/<hash>/` (generated crates), `target/` (shared), `bin/<hash>`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::diagnostic::{CellSpan, Diagnostic, Label};
use crate::taskgen::{RUNTIME_SOURCE, TaskSource};

const RUNTIME_TOML: &str = include_str!("../runtime/Cargo.toml");

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The cell does not compile.
    #[error("the task does not compile")]
    Compile(Vec<Diagnostic>),
    /// cargo could not run or failed without diagnostics.
    #[error("cargo failed: {0}")]
    Cargo(String),
    /// Files could not be written.
    #[error("cannot write the task crate in {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The built task cannot say what it returns; how to write it.
    #[error("{0}")]
    UnknownOutputType(String),
}

/// A built task binary.
#[derive(Debug, Clone)]
pub struct BuiltTask {
    /// The binary.
    pub binary: PathBuf,
    /// False if it came from the cache.
    pub compiled: bool,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), BuildError> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(path, text).map_err(io(path))
}

/// Builds (or finds) the binary for `src` under `root`.
pub fn build(src: &TaskSource, root: &Path) -> Result<BuiltTask, BuildError> {
    let bin = root.join("bin").join(&src.hash);
    if bin.exists() {
        return Ok(BuiltTask {
            binary: bin,
            compiled: false,
        });
    }
    write_if_changed(&root.join("runtime/Cargo.toml"), RUNTIME_TOML)?;
    write_if_changed(&root.join("runtime/src/lib.rs"), RUNTIME_SOURCE)?;
    let dir = root.join("tasks").join(&src.hash);
    write_if_changed(&dir.join("Cargo.toml"), &src.cargo_toml)?;
    write_if_changed(&dir.join("src/main.rs"), &src.main_rs)?;
    let out = Command::new("cargo")
        .args(["build", "--release", "--message-format=json"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .map_err(|e| BuildError::Cargo(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        let diags = diagnostics(&String::from_utf8_lossy(&out.stdout), src);
        if diags.is_empty() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
            return Err(BuildError::Cargo(
                tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            ));
        }
        return Err(BuildError::Compile(diags));
    }
    let built = root
        .join("target/release")
        .join(format!("sluice-task-{}", src.hash));
    let bin_dir = root.join("bin");
    std::fs::create_dir_all(&bin_dir).map_err(io(&bin_dir))?;
    let tmp = bin_dir.join(format!(".{}.tmp", src.hash));
    std::fs::copy(&built, &tmp).map_err(io(&built))?;
    std::fs::rename(&tmp, &bin).map_err(io(&bin))?;
    Ok(BuiltTask {
        binary: bin,
        compiled: true,
    })
}

/// Compiler errors from cargo's JSON messages, spans moved to cell lines
/// (cell line 1 is the magic line, so body line 1 is cell line 2).
fn diagnostics(json_lines: &str, src: &TaskSource) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for line in json_lines.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] != "compiler-message" {
            continue;
        }
        let m = &v["message"];
        if m["level"] != "error" {
            continue;
        }
        let message = m["message"].as_str().unwrap_or("error").to_string();
        if message.starts_with("aborting due to") {
            continue;
        }
        let mut labels = Vec::new();
        let mut notes = Vec::new();
        for span in m["spans"].as_array().into_iter().flatten() {
            let l0 = span["line_start"].as_u64().unwrap_or(0) as usize;
            let l1 = span["line_end"].as_u64().unwrap_or(0) as usize;
            let label = span["label"].as_str().unwrap_or("").to_string();
            let primary = span["is_primary"].as_bool().unwrap_or(false);
            let in_body = span["file_name"] == "src/main.rs"
                && l0 >= src.body_line
                && l0 < src.body_line + src.body_lines;
            if in_body {
                labels.push(Label {
                    span: CellSpan {
                        start_line: l0 - src.body_line + 2,
                        start_column: span["column_start"].as_u64().unwrap_or(1) as usize,
                        end_line: l1.saturating_sub(src.body_line) + 2,
                        end_column: span["column_end"].as_u64().unwrap_or(1) as usize,
                    },
                    text: label,
                    primary,
                });
            } else if primary {
                let text = span["text"][0]["text"]
                    .as_str()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                notes.push(format!(
                    "note: in code the task uses from the notebook's earlier cells: `{text}` {label}"
                ));
            }
        }
        for child in m["children"].as_array().into_iter().flatten() {
            if let Some(t) = child["message"].as_str() {
                let lvl = child["level"].as_str().unwrap_or("note");
                notes.push(format!("{lvl}: {t}"));
            }
        }
        out.push(Diagnostic {
            level: "error".into(),
            code: m["code"]["code"].as_str().map(str::to_string),
            message,
            labels,
            notes,
        });
    }
    out
}
