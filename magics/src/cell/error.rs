//! The errors a magic cell can end with, each with the ename and traceback
//! the notebook shows.

use crate::body::BodyError;
use crate::diagnostic::Diagnostic;
use crate::grammar::{GrammarError, USAGE};
use crate::ledger::LedgerError;

/// One failed item of a job, for the error report.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedItem {
    /// Item index.
    pub index: usize,
    /// State name and detail (`FAILED exit 1`, `TIMEOUT`, ...).
    pub state: String,
    /// Last lines of its stderr.
    pub stderr_tail: String,
}

/// Why a magic cell failed.
#[derive(Debug, thiserror::Error)]
pub enum MagicError {
    /// The magic line did not parse.
    #[error("{0}")]
    Grammar(#[from] GrammarError),
    /// The body is not what the magic needs.
    #[error("{0}")]
    Body(#[from] BodyError),
    /// ITEMS could not be used.
    #[error("{0}")]
    Items(String),
    /// The task does not compile (diagnostics against the cell).
    #[error("the task does not compile: {}", .0.first().map(|d| d.message.as_str()).unwrap_or("error"))]
    Compile(Vec<Diagnostic>),
    /// cargo itself failed.
    #[error("{0}")]
    Build(String),
    /// The ledger failed.
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    /// A file of a job could not be written or read.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The executor refused the job.
    #[error("cannot submit: {0}")]
    Submit(String),
    /// No job has this name.
    #[error("no job named `{0}` in this notebook (see `%slurm jobs`)")]
    UnknownJob(String),
    /// A dependency can never be satisfied.
    #[error("{0}")]
    Dependency(String),
    /// Some items failed; the others' results are bound as `partial`.
    #[error(
        "{failed} of {total} items of `{name}` failed; the {ok} results are in `{partial}` (Vec<Option<_>>, index-aligned); `%slurm retry {name}` reruns only the failed ones"
    )]
    TaskFailed {
        /// Job name.
        name: String,
        /// Items in the job.
        total: usize,
        /// Failed items.
        failed: usize,
        /// Succeeded items.
        ok: usize,
        /// The `NAME_partial` variable.
        partial: String,
        /// Details of (at most the first few) failures.
        items: Vec<FailedItem>,
    },
    /// Some configurations of a sweep failed; the others are bound.
    #[error(
        "{failed} of {total} configurations of `{name}` failed (shown in the table); `{name}` holds the others; `%slurm retry {name}` reruns only the failed ones"
    )]
    SweepFailed {
        /// Sweep name.
        name: String,
        /// Configurations in the sweep.
        total: usize,
        /// Failed configurations.
        failed: usize,
    },
    /// The user interrupted the wait; the job goes on.
    #[error(
        "stopped waiting for `{0}`; the job keeps running. `%slurm wait {0}` binds its results later, `%slurm cancel {0}` stops it"
    )]
    Interrupted(String),
    /// Results could not be bound in the session.
    #[error("{0}")]
    Bind(String),
    /// A feature the magic line asked for is not available.
    #[error("{0}")]
    Unsupported(String),
    /// The Slurm cluster (or the SSH link to it) failed.
    #[error("{0}")]
    Cluster(#[from] crate::executor::slurm::SlurmError),
}

impl MagicError {
    /// The error's name in the notebook.
    pub fn ename(&self) -> &'static str {
        match self {
            MagicError::Grammar(_) => "MagicSyntaxError",
            MagicError::Body(_) => "MagicBodyError",
            MagicError::Items(_) => "ItemsError",
            MagicError::Compile(_) => "CompileError",
            MagicError::Build(_) => "BuildError",
            MagicError::Ledger(_) => "LedgerError",
            MagicError::Io { .. } => "IoError",
            MagicError::Submit(_) => "SubmitError",
            MagicError::UnknownJob(_) => "UnknownJob",
            MagicError::Dependency(_) => "DependencyNeverSatisfied",
            MagicError::TaskFailed { .. } => "TaskFailed",
            MagicError::SweepFailed { .. } => "SweepFailed",
            MagicError::Interrupted(_) => "Interrupted",
            MagicError::Bind(_) => "BindError",
            MagicError::Unsupported(_) => "Unsupported",
            MagicError::Cluster(_) => "ClusterError",
        }
    }

    /// The traceback lines; `cell` is the whole cell (spans are cell lines).
    pub fn traceback(&self, cell: &str) -> Vec<String> {
        match self {
            MagicError::Compile(diags) => diags.iter().map(|d| d.render(cell)).collect(),
            MagicError::Body(e) => vec![
                format!("{}: {e}", self.ename()),
                String::new(),
                USAGE.to_string(),
            ],
            MagicError::TaskFailed { items, failed, .. } => {
                let mut lines = vec![format!("{}: {self}", self.ename())];
                for it in items {
                    lines.push(format!("  item {}: {}", it.index, it.state));
                    for l in it.stderr_tail.lines() {
                        lines.push(format!("      {l}"));
                    }
                }
                if *failed > items.len() {
                    lines.push(format!("  ... and {} more", failed - items.len()));
                }
                lines
            }
            _ => {
                let mut lines = vec![format!(
                    "{}: {}",
                    self.ename(),
                    self.to_string().lines().next().unwrap_or("")
                )];
                lines.extend(self.to_string().lines().skip(1).map(str::to_string));
                lines
            }
        }
    }
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> MagicError {
    let what = what.into();
    move |source| MagicError::Io { what, source }
}
