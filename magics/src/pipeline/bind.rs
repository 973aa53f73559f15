//! Bind stage: a finished job's results into the session — `NAME` when every
//! item succeeded, else `NAME_partial: Vec<Option<R>>` and a report of the
//! failures. Every evaluation in the session compiles a crate, so the `let
//! NAME` of a job waits ([`Pending`]) and is compiled together with the next
//! plain Rust cell, where `NAME` is first used.
//!
//! Every bind is one statement made by [`let_value`] (one result) or
//! [`let_values`] (a file of results, one per line): value texts
//! (`sluice_runtime::value`: JSON, or RON where JSON cannot hold the value)
//! read into the bound type by code from [`crate::crossing`]. Its panics
//! start with [`BIND_PANIC_PREFIX`], so the kernel can tell a failed bind
//! from a panic in the user's own cell.

use std::io::Write as _;
use std::path::Path;

use crate::domain::{ElementState, JobKind};
use crate::error::{FailedItem, MagicError, io};
use crate::ledger::JobRecord;
use crate::session::{EvalError, Session};

/// How every bind's panic message begins.
pub const BIND_PANIC_PREFIX: &str = "sluice: ";

/// `let NAME: TYPE = <the value in the file at PATH>;` on one line.
pub fn let_value(name: &str, ty: &str, path: &Path) -> String {
    let p = BIND_PANIC_PREFIX;
    let read = format!(
        "&std::fs::read_to_string(r#\"{}\"#).expect(\"{p}cannot read the results of `{name}`\")",
        path.display()
    );
    format!(
        "let {name}: {ty} = {}.unwrap_or_else(|e| panic!(\"{p}the results of `{name}` do not match {ty_text}: {{}}\", e));",
        crate::crossing::decode_expr(&read, ty, crate::crossing::Formats::of_file(path)),
        ty_text = ty.replace('"', "'"),
    )
}

/// What a line of a results file holds for an item without a result.
pub const MISSING: &str = "-";

/// `let NAME: Vec<ELEM> = <the file at PATH, a value per line>;` on one
/// line; with `partial`, `Vec<Option<ELEM>>`, a [`MISSING`] line being `None`.
pub fn let_values(name: &str, elem: &str, path: &Path, partial: bool) -> String {
    let p = BIND_PANIC_PREFIX;
    let decode = format!(
        "{}.unwrap_or_else(|e| panic!(\"{p}result {{}} of `{name}` does not match {ty_text}: {{}}\", i, e))",
        crate::crossing::decode_expr("l", elem, crate::crossing::Formats::of_file(path)),
        ty_text = elem.replace('"', "'"),
    );
    let (ty, each) = if partial {
        (
            format!("Vec<Option<{elem}>>"),
            format!("if l == \"{MISSING}\" {{ None }} else {{ Some({decode}) }}"),
        )
    } else {
        (format!("Vec<{elem}>"), decode)
    };
    format!(
        "let {name}: {ty} = std::fs::read_to_string(r#\"{}\"#).expect(\"{p}cannot read the results of `{name}`\").lines().enumerate().map(|(i, l)| {each}).collect();",
        path.display()
    )
}

/// One `let` waiting to be evaluated.
#[derive(Debug, Clone)]
struct PendingBind {
    /// The variable it binds.
    name: String,
    /// The statement, on one line.
    code: String,
}

/// The binds waiting for the next evaluation. A later bind of the same
/// name replaces a waiting one, so the session always ends up with the
/// newest results.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    binds: Vec<PendingBind>,
}

impl Pending {
    /// Queues `code` (a `let NAME ...;`) for the next evaluation.
    pub fn defer(&mut self, name: &str, code: String) {
        self.binds.retain(|p| p.name != name);
        self.binds.push(PendingBind {
            name: name.to_string(),
            code: code.replace('\n', " "),
        });
    }

    /// Drops a waiting bind of `name` (an evaluation is about to bind it).
    pub fn forget(&mut self, name: &str) {
        self.binds.retain(|p| p.name != name);
    }

    /// Evaluates `code` binding `name` now, dropping a waiting bind of the
    /// same name (it would otherwise overwrite this one later).
    ///
    /// # Errors
    /// What the session said.
    pub fn bind_now(
        &mut self,
        name: &str,
        code: &str,
        session: &mut dyn Session,
    ) -> Result<String, EvalError> {
        self.binds.retain(|p| p.name != name);
        crate::phase::timed("partial bind (session)", || session.eval(code))
    }

    /// The waiting binds as one line to put before the next cell's code
    /// (None when nothing waits).
    pub fn prelude(&self) -> Option<String> {
        if self.binds.is_empty() {
            return None;
        }
        Some(
            self.binds
                .iter()
                .map(|p| p.code.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// Names whose binds are waiting.
    pub fn names(&self) -> Vec<String> {
        self.binds.iter().map(|p| p.name.clone()).collect()
    }

    /// The prelude was evaluated (or given up): nothing waits any more.
    pub fn clear(&mut self) {
        self.binds.clear();
    }

    /// Evaluates the waiting binds now.
    ///
    /// # Errors
    /// [`MagicError::Bind`] naming the binds that failed.
    pub fn flush(&mut self, session: &mut dyn Session) -> Result<(), MagicError> {
        let Some(code) = self.prelude() else {
            return Ok(());
        };
        let names = self.names();
        self.clear();
        crate::phase::timed("waiting binds flushed (session)", || session.eval(&code))
            .map(|_| ())
            .map_err(|source| MagicError::Bind {
                what: format!("could not bind {}", names.join(", ")),
                source,
            })
    }

    /// True if the body uses (as a value) a name whose bind is waiting; a
    /// body that does not parse counts as using them.
    pub fn mentioned_in(&self, body: &str) -> bool {
        match crate::body::names_used(body) {
            Ok(used) => self.binds.iter().any(|p| used.contains(&p.name)),
            Err(_) => !self.binds.is_empty(),
        }
    }
}

/// Binds a finished map or run job's results: `NAME` if every item
/// succeeded (deferred to the next cell), else `NAME_partial` now and a
/// [`MagicError::TaskFailed`] naming the failures.
///
/// # Errors
/// [`MagicError::TaskFailed`] when some items failed; [`MagicError::Bind`]
/// when even the partial results cannot be bound.
pub fn bind(
    pending: &mut Pending,
    job: &JobRecord,
    states: &[ElementState],
    session: &mut dyn Session,
    known: &dyn Fn(&str) -> bool,
) -> Result<String, MagicError> {
    let texts: Vec<Option<String>> = (0..job.items)
        .map(|i| std::fs::read_to_string(job.dir.result(i)).ok())
        .collect();
    let ok = texts.iter().filter(|t| t.is_some()).count();
    let ty = &job.result_type;
    if ok == job.items {
        let (shape, code) = if job.kind == JobKind::Run {
            (ty.clone(), let_value(&job.name, ty, &job.dir.result(0)))
        } else {
            let path = job.dir.results_array();
            write_lines(&path, texts.iter().map(|t| t.as_deref().unwrap_or(MISSING)))?;
            let code = let_values(&job.name, ty, &path, false);
            (format!("Vec<{ty}>"), code)
        };
        // The `let` waits for the next cell: type-check it now, so a result
        // the notebook cannot hold is said here, never announced as bound
        // (std data always can: `plain_type.rs`).
        let checked = if super::plain_type::bindable_unchecked(&shape, known) {
            Ok(())
        } else {
            crate::phase::timed("bind check (session)", || session.check(&code))
        };
        if let Err(source @ EvalError::Compile(_)) = checked {
            return Err(MagicError::Bind {
                what: format!(
                    "the results of `{}` cannot be bound as `{shape}` in the notebook (a result must be an owned type that implements serde::Deserialize; `%slurm load {}` binds them once it does)",
                    job.name, job.name
                ),
                source,
            });
        }
        pending.defer(&job.name, code);
        return Ok(format!(
            "bound `{}: {shape}` ({} item{})",
            job.name,
            job.items,
            if job.items == 1 { "" } else { "s" }
        ));
    }
    // Some failed: keep every result we have.
    let partial = format!("{}_partial", job.name);
    let path = job.dir.partial_array();
    write_lines(&path, texts.iter().map(|t| t.as_deref().unwrap_or(MISSING)))?;
    let code = let_values(&partial, ty, &path, true);
    if let Err(source) = pending.bind_now(&partial, &code, session) {
        return Err(MagicError::Bind {
            what: format!(
                "{} of {} items failed, and the partial results (in {}) could not be bound",
                job.items - ok,
                job.items,
                path.display()
            ),
            source,
        });
    }
    let chunk = job.dir.chunk();
    let cancelled = texts
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            t.is_none() && matches!(states.get(i / chunk), Some(ElementState::Cancelled(_)))
        })
        .count();
    let items: Vec<FailedItem> = texts
        .iter()
        .enumerate()
        .filter(|(_, t)| t.is_none())
        .take(10)
        .map(|(i, _)| {
            let element = i / chunk;
            let state = states
                .get(element)
                .cloned()
                .unwrap_or(ElementState::Failed(1));
            FailedItem {
                index: i,
                state: match state {
                    // Exit 0 with no result file: the task ended before it
                    // wrote it (`std::process::exit(0)` in the task code).
                    ElementState::Completed => "COMPLETED (exit 0) without writing a result: the task ended before its item returned, as with std::process::exit".into(),
                    s => describe_state(&s),
                },
                stderr_tail: job.dir.stderr_tail(element, 6),
            }
        })
        .collect();
    Err(MagicError::TaskFailed {
        name: job.name.clone(),
        total: job.items,
        failed: job.items - ok,
        cancelled,
        ok,
        partial,
        items,
    })
}

/// Elements with an item that has no result (to retry), in order.
pub fn failed_elements(job: &JobRecord) -> Vec<usize> {
    let chunk = job.dir.chunk();
    let mut out: Vec<usize> = (0..job.items)
        .filter(|&i| !job.dir.result(i).exists())
        .map(|i| i / chunk)
        .collect();
    out.dedup();
    out
}

/// A state with what it means, for failure reports.
pub fn describe_state(s: &ElementState) -> String {
    match s {
        ElementState::Failed(c) => format!("FAILED ({})", crate::domain::describe_exit(*c)),
        ElementState::Cancelled(r) => format!("CANCELLED ({r})"),
        ElementState::Timeout => "TIMEOUT (killed at its --time limit)".into(),
        ElementState::OutOfMemory => "OUT_OF_MEMORY (killed above its --mem limit)".into(),
        ElementState::NodeFail => "NODE_FAIL (its node failed; `%slurm retry` reruns it)".into(),
        ElementState::Preempted => "PREEMPTED (a higher-priority job took its place)".into(),
        other => other.name().to_string(),
    }
}

/// Writes value texts one per line, without parsing them.
///
/// # Errors
/// [`MagicError::Io`] if the file cannot be written.
pub fn write_lines<'a>(
    path: &Path,
    items: impl Iterator<Item = &'a str>,
) -> Result<(), MagicError> {
    let f = std::fs::File::create(path).map_err(io(format!("writing {}", path.display())))?;
    let mut w = std::io::BufWriter::new(f);
    let write = || -> std::io::Result<()> {
        for t in items {
            w.write_all(t.trim().as_bytes())?;
            w.write_all(b"\n")?;
        }
        w.flush()
    };
    write().map_err(io(format!("writing {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_bind_wins_and_mentions_are_whole_words() {
        let mut p = Pending::default();
        assert_eq!(p.prelude(), None);
        p.defer("a", "let a = 1;".into());
        p.defer("b", "let b =\n2;".into());
        p.defer("a", "let a = 3;".into());
        assert_eq!(p.prelude().as_deref(), Some("let b = 2; let a = 3;"));
        assert!(p.mentioned_in("x + a"));
        assert!(p.mentioned_in("|x: i64| format!(\"{b}{x}\")"));
        assert!(!p.mentioned_in("abc + ba"));
        assert!(!p.mentioned_in("fn a(x: u64) -> u64 { x * 3 }"));
        p.clear();
        assert_eq!(p.prelude(), None);
    }

    #[test]
    fn the_bind_templates() {
        let code = let_value("total", "u64", Path::new("/j/1/results/0.json"));
        assert!(
            code.starts_with("let total: u64 = { let __sluice_s = &std::fs::read_to_string("),
            "{code}"
        );
        assert!(code.contains("r#\"/j/1/results/0.json\"#"), "{code}");
        assert!(code.contains("ron::from_str::<u64>"), "{code}");
        assert!(!code.contains('\n'));
        let code = let_values("xs", "f64", Path::new("/j/1/results.values"), false);
        assert!(
            code.starts_with("let xs: Vec<f64> = std::fs::read_to_string("),
            "{code}"
        );
        assert!(
            code.contains("\"sluice: cannot read the results of `xs`\""),
            "{code}"
        );
        assert!(code.contains("serde_json::from_str::<f64>"), "{code}");
        let code = let_values("xs_partial", "f64", Path::new("/p"), true);
        assert!(
            code.starts_with("let xs_partial: Vec<Option<f64>> ="),
            "{code}"
        );
        assert!(code.contains("if l == \"-\" { None }"), "{code}");
        assert!(!code.contains('\n'));
    }
}
