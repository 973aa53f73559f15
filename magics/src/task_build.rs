//! Building task crates with cargo, in a persistent workspace with one
//! shared target directory. Binaries are kept by content hash: an unchanged
//! cell never recompiles. Compile errors come back as diagnostics against
//! the cell's own lines.
//!
//! cargo runs with `--message-format=json`; its messages are read with the
//! `cargo_metadata` crate: `compiler-message`s become [`Diagnostic`]s and
//! the task's `compiler-artifact` names the executable that is kept.
//!
//! Layout under the build root: `runtime/` (the embedded runtime crate),
//! `tasks/<hash>/` (generated crates), `target/` (shared), `bin/<hash>`.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_metadata::Message;
use cargo_metadata::diagnostic::{Diagnostic as RustcDiagnostic, DiagnosticLevel, DiagnosticSpan};

use crate::build_progress::{ArtifactCounter, BuildProgress, total_packages};
use crate::diagnostic::{CellSpan, Diagnostic, Label, Located, Place, Snippet, add_label};
use crate::taskgen::{RUNTIME_SOURCE, TaskSource};

const RUNTIME_TOML: &str = include_str!("../runtime/Cargo.toml");

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The cell does not compile.
    #[error("the task does not compile")]
    Compile(Vec<Diagnostic>),
    /// cargo failed without diagnostics: the end of what it printed.
    #[error("cargo failed: {0}")]
    Cargo(String),
    /// cargo could not be started.
    #[error("cannot run cargo: {0}")]
    CargoSpawn(#[source] std::io::Error),
    /// The user interrupted the build; cargo and its rustc children were
    /// stopped and nothing was built.
    #[error("the task build was interrupted: cargo was stopped and nothing was submitted")]
    Interrupted,
    /// cargo succeeded but reported no executable for the task.
    #[error("cargo built the task but reported no executable for `{target}`")]
    NoExecutable {
        /// The task's binary target.
        target: String,
    },
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
///
/// `watch` is told the build's progress every 50 ms while cargo runs, and
/// answers whether to stop: when it says yes, cargo and its rustc children
/// (one process group) are killed and the build ends with
/// [`BuildError::Interrupted`].
pub fn build(
    src: &TaskSource,
    root: &Path,
    watch: &mut dyn FnMut(&BuildProgress) -> bool,
) -> Result<BuiltTask, BuildError> {
    let bin = root.join("bin").join(&src.hash);
    if bin.exists() {
        return Ok(BuiltTask {
            binary: bin,
            compiled: false,
        });
    }
    let runtime = root.join(crate::taskgen::runtime_dir_name());
    write_if_changed(&runtime.join("Cargo.toml"), RUNTIME_TOML)?;
    write_if_changed(&runtime.join("src/lib.rs"), RUNTIME_SOURCE)?;
    let dir = root.join("tasks").join(&src.hash);
    write_if_changed(&dir.join("Cargo.toml"), &src.cargo_toml)?;
    write_if_changed(&dir.join("src/main.rs"), &src.main_rs)?;
    let mut cargo = Command::new("cargo");
    cargo
        .args(["build", "--release", "--message-format=json"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env_remove("RUSTFLAGS");
    let out = run_stoppable(cargo, &dir, watch)?;
    // Lossy first: a stray non-UTF-8 byte costs one message, not the rest.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = CargoReport::read(stdout.as_bytes(), src);
    if !out.status.success() {
        if report.diagnostics.is_empty() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
            return Err(BuildError::Cargo(
                tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            ));
        }
        return Err(BuildError::Compile(report.diagnostics));
    }
    let built = report.executable.ok_or_else(|| BuildError::NoExecutable {
        target: task_target(src),
    })?;
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

/// Runs `cmd` (cargo, in the crate `dir`) in a process group of its own,
/// collecting its output and telling `watch` its progress; kills the whole
/// group (cargo and its rustc children) if `watch` says to stop.
fn run_stoppable(
    mut cmd: Command,
    dir: &Path,
    watch: &mut dyn FnMut(&BuildProgress) -> bool,
) -> Result<std::process::Output, BuildError> {
    use std::io::Read;
    use std::os::unix::process::CommandExt as _;
    use std::process::Stdio;
    use std::sync::{Arc, Mutex, OnceLock};
    let started = std::time::Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(BuildError::CargoSpawn)?;
    let counter = Arc::new(Mutex::new(ArtifactCounter::default()));
    let out_reader = {
        let counter = Arc::clone(&counter);
        let pipe = child.stdout.take();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(p) = pipe {
                let mut lines = std::io::BufReader::new(p);
                let mut line = Vec::new();
                while lines.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                    if let Ok(mut c) = counter.lock() {
                        c.line(&String::from_utf8_lossy(&line));
                    }
                    buf.append(&mut line);
                }
            }
            buf
        })
    };
    let err_reader = {
        let pipe = child.stderr.take();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    // The total, once cargo has resolved the graph and written the lock.
    let total: Arc<OnceLock<Option<usize>>> = Arc::new(OnceLock::new());
    {
        let (total, dir) = (Arc::clone(&total), dir.to_path_buf());
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while !dir.join("Cargo.lock").exists() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let _ = total.set(total_packages(&dir));
        });
    }
    let status = loop {
        if let Some(status) = child.try_wait().map_err(BuildError::CargoSpawn)? {
            break status;
        }
        let progress = BuildProgress {
            done: counter.lock().map_or(0, |c| c.done()),
            total: total.get().copied().flatten(),
            elapsed_s: started.elapsed().as_secs_f64(),
        };
        if watch(&progress) {
            if let Ok(pgid) = i32::try_from(child.id()) {
                // SAFETY: killpg(2) on the group made for cargo, whose leader
                // has not been reaped (try_wait just said it runs).
                unsafe {
                    libc::killpg(pgid, libc::SIGKILL);
                }
            }
            let _ = child.wait();
            let _ = (out_reader.join(), err_reader.join());
            return Err(BuildError::Interrupted);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    Ok(std::process::Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// The name of the task crate's binary target (its package name).
fn task_target(src: &TaskSource) -> String {
    format!("sluice-task-{}", src.hash)
}

/// What cargo's JSON messages say about one build of a task.
#[derive(Debug, Default)]
struct CargoReport {
    /// Compiler errors, spans moved to cell lines.
    diagnostics: Vec<Diagnostic>,
    /// The task's executable, from its `compiler-artifact` message.
    executable: Option<PathBuf>,
}

impl CargoReport {
    /// Reads cargo's `--message-format=json` output. Lines that are not
    /// cargo messages are skipped.
    fn read(stdout: impl BufRead, src: &TaskSource) -> CargoReport {
        let target = task_target(src);
        let mut report = CargoReport::default();
        for message in Message::parse_stream(stdout) {
            match message {
                Ok(Message::CompilerMessage(m)) => {
                    report.diagnostics.extend(cell_diagnostic(&m.message, src));
                }
                Ok(Message::CompilerArtifact(a)) if a.target.name == target => {
                    if let Some(exe) = a.executable {
                        report.executable = Some(exe.into_std_path_buf());
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("cannot read cargo's messages: {e}");
                    break;
                }
            }
        }
        report
    }
}

/// One compiler error with its spans moved to cell lines (cell line 1 is
/// the magic line, so body line 1 is cell line 2), and those in the
/// notebook's items to the lines of the earlier cells that wrote them
/// (`cell[N]`); a primary span elsewhere in the generated code becomes a
/// note. None for warnings, notes and rustc's closing "aborting due to"
/// line.
fn cell_diagnostic(d: &RustcDiagnostic, src: &TaskSource) -> Option<Diagnostic> {
    if d.level != DiagnosticLevel::Error || d.message.starts_with("aborting due to") {
        return None;
    }
    let mut labels = Vec::new();
    let mut notes = Vec::new();
    let mut elsewhere: Vec<Snippet> = Vec::new();
    for span in &d.spans {
        let text = span.label.clone().unwrap_or_default();
        let label = |at: CellSpan| Label {
            span: at,
            text: text.clone(),
            primary: span.is_primary,
        };
        match place(span, src) {
            Place::Cell(at) => labels.push(label(at)),
            Place::Other {
                name,
                source,
                span: at,
            } => add_label(&mut elsewhere, &name, &source, label(at)),
            _ if span.is_primary => {
                let code = span.text.first().map_or("", |line| line.text.trim());
                let whose = if span.file_name == "src/main.rs" {
                    "the code sluice generates around the cell".to_string()
                } else {
                    format!("`{}`", span.file_name)
                };
                notes.push(format!("note: in {whose}: `{code}` {text}"));
            }
            _ => {}
        }
    }
    let children = serde_json::to_value(&d.children).unwrap_or_default();
    let locate = |sp: &serde_json::Value| -> Place {
        serde_json::from_value::<DiagnosticSpan>(sp.clone())
            .map_or(Place::Outside, |span| place(&span, src))
    };
    let children = crate::diagnostic::children_from_json(&children, &locate);
    notes.extend(children.notes);
    let mut located = Vec::new();
    if !elsewhere.is_empty() {
        located.push(Located {
            heading: None,
            snippets: elsewhere,
        });
    }
    located.extend(children.located);
    Some(Diagnostic {
        level: "error".into(),
        code: d.code.as_ref().map(|c| c.code.clone()),
        message: d.message.clone(),
        labels,
        notes,
        helps: children.helps,
        located,
    })
}

/// Where `span` (in the task crate) is for the user: on the magic cell's
/// lines when it starts in the body, on an earlier cell's (`cell[N]`)
/// when it starts in one of the notebook's items, else outside the cells.
fn place(span: &DiagnosticSpan, src: &TaskSource) -> Place {
    if let Some(at) = cell_span(span, src) {
        return Place::Cell(at);
    }
    let l0 = span.line_start;
    let item = src
        .items
        .iter()
        .find(|p| l0 >= p.first_line && l0 - p.first_line < p.lines);
    match item {
        Some(p) if span.file_name == "src/main.rs" => {
            let line = |l: usize| l.saturating_sub(p.first_line) + p.origin.line;
            Place::Other {
                name: format!("cell[{}]", p.origin.cell),
                source: p.origin.source.to_string(),
                span: CellSpan {
                    start_line: line(l0),
                    start_column: span.column_start,
                    end_line: line(span.line_end),
                    end_column: span.column_end,
                },
            }
        }
        _ => Place::Outside,
    }
}

/// Where `span` is in the cell, if it starts in the body.
fn cell_span(span: &DiagnosticSpan, src: &TaskSource) -> Option<CellSpan> {
    let l0 = span.line_start;
    let in_body = span.file_name == "src/main.rs"
        && l0 >= src.body_line
        && l0 < src.body_line + src.body_lines;
    in_body.then(|| CellSpan {
        start_line: l0 - src.body_line + 2,
        start_column: span.column_start,
        end_line: span.line_end.saturating_sub(src.body_line) + 2,
        end_column: span.column_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notebook::Origin;
    use crate::taskgen::ItemPlace;

    /// Real `cargo build --release --message-format=json` output for a task
    /// crate whose body (lines 6..=10 of main.rs) has three errors and whose
    /// notebook items (line 3) have one; the build root was `/sluice/build`.
    const ERRORS: &str = include_str!("testdata/cargo_build_errors.jsonl");
    /// The same crate, fixed: one `compiler-artifact` for the binary.
    const OK: &str = include_str!("testdata/cargo_build_ok.jsonl");

    fn source(hash: &str) -> TaskSource {
        TaskSource {
            cargo_toml: String::new(),
            main_rs: String::new(),
            body_line: 6,
            body_lines: 5,
            items: vec![ItemPlace {
                first_line: 3,
                lines: 1,
                origin: Origin {
                    cell: 2,
                    line: 4,
                    source: EARLIER.into(),
                },
            }],
            hash: hash.into(),
        }
    }

    /// The earlier cell that wrote the item on main.rs's line 3.
    const EARLIER: &str = "let a = 1;\n\n// scale\nfn scale() -> u32 { \"ten\" }";

    fn label(line: usize, columns: (usize, usize), text: &str, primary: bool) -> Label {
        Label {
            span: CellSpan {
                start_line: line,
                start_column: columns.0,
                end_line: line,
                end_column: columns.1,
            },
            text: text.into(),
            primary,
        }
    }

    #[test]
    fn compile_errors_land_on_cell_lines() {
        let report = CargoReport::read(ERRORS.as_bytes(), &source("0123456789abcdef"));
        assert_eq!(report.executable, None);
        let mismatch = |labels, notes| Diagnostic {
            level: "error".into(),
            code: Some("E0308".into()),
            message: "mismatched types".into(),
            labels,
            notes,
            helps: vec![],
            located: vec![],
        };
        let expected = vec![
            Diagnostic {
                level: "error".into(),
                code: Some("E0425".into()),
                message: "cannot find value `offset` in this scope".into(),
                labels: vec![label(5, (13, 19), "not found in this scope", true)],
                notes: vec![],
                helps: vec![],
                located: vec![],
            },
            // In the notebook's items: both labels on the line of the
            // earlier cell that wrote the item.
            Diagnostic {
                located: vec![Located {
                    heading: None,
                    snippets: vec![Snippet {
                        name: "cell[2]".into(),
                        source: EARLIER.into(),
                        labels: vec![
                            label(4, (21, 26), "expected `u32`, found `&str`", true),
                            label(4, (15, 18), "expected `u32` because of return type", false),
                        ],
                    }],
                }],
                ..mismatch(vec![], vec![])
            },
            mismatch(
                vec![
                    label(3, (18, 23), "expected `i64`, found `&str`", true),
                    label(3, (12, 15), "expected due to this", false),
                ],
                vec![],
            ),
            // A child with a suggestion in the cell becomes a help showing
            // it; failure-notes are not errors.
            Diagnostic {
                helps: vec![crate::diagnostic::Help {
                    message: "try using a conversion method".into(),
                    suggestions: vec![crate::diagnostic::Suggestion {
                        span: CellSpan {
                            start_line: 4,
                            start_column: 22,
                            end_line: 4,
                            end_column: 22,
                        },
                        replacement: ".to_string()".into(),
                    }],
                }],
                ..mismatch(
                    vec![
                        label(4, (21, 22), "expected `String`, found `i64`", true),
                        label(4, (12, 18), "expected due to this", false),
                    ],
                    vec![],
                )
            },
        ];
        assert_eq!(report.diagnostics, expected);
        // Shown on the earlier cell's line, named as the kernel names it.
        let shown = report.diagnostics[1].render("%%slurm map 0..3\nfn g(x: u32) -> u32 { x }");
        assert_eq!(
            shown,
            "error[E0308]: mismatched types\n --> cell[2]:4:21\n  |\n4 | fn scale() -> u32 { \"ten\" }\n  |               ---   ^^^^^ expected `u32`, found `&str`\n  |               |\n  |               expected `u32` because of return type"
        );
    }

    #[test]
    fn errors_in_generated_code_are_notes() {
        let mut src = source("0123456789abcdef");
        src.items.clear();
        let report = CargoReport::read(ERRORS.as_bytes(), &src);
        assert_eq!(
            report.diagnostics[1].notes,
            ["note: in the code sluice generates around the cell: \
              `fn scale() -> u32 { \"ten\" }` expected `u32`, found `&str`"]
        );
        assert!(report.diagnostics[1].labels.is_empty());
    }

    #[test]
    fn executable_comes_from_the_task_artifact() {
        let report = CargoReport::read(OK.as_bytes(), &source("0123456789abcdef"));
        assert!(report.diagnostics.is_empty());
        assert_eq!(
            report.executable.as_deref(),
            Some(Path::new(
                "/sluice/build/target/release/sluice-task-0123456789abcdef"
            ))
        );
        // Another task's artifact is not ours.
        let other = CargoReport::read(OK.as_bytes(), &source("fedcba9876543210"));
        assert_eq!(other.executable, None);
    }

    #[test]
    fn aborting_line_and_stray_text_are_skipped() {
        let first = ERRORS.lines().next().expect("fixture has lines");
        let mut v: serde_json::Value = serde_json::from_str(first).expect("fixture is JSON");
        v["message"]["message"] = "aborting due to 3 previous errors".into();
        v["message"]["code"] = serde_json::Value::Null;
        let stream = format!("warning: not JSON\n{v}\n{first}\n");
        let report = CargoReport::read(stream.as_bytes(), &source("0123456789abcdef"));
        let messages: Vec<&str> = report
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(messages, ["cannot find value `offset` in this scope"]);
    }
}
