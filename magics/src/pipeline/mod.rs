//! The one job pipeline behind every cell magic:
//!
//! ```text
//! plan ──▶ build ──▶ submit ──▶ watch ──▶ bind
//! ```
//!
//! - [`plan`]: dependencies, packing (`--chunk`) and resources of a
//!   [`TaskPlan`](crate::domain::TaskPlan); the magic that makes the plan
//!   resolves its own items (`cell::map`, `cell::run`, `cell::sweep`).
//! - [`build`]: the task crate (taskgen) built by cargo, cached by content;
//!   [`result_bounds`] says in one error when the result lacks serde.
//! - [`submit`]: a job directory, the ledger record, the executor.
//! - [`watch`]: live states with one progress display updated in place,
//!   reattaching to cluster jobs of an earlier kernel; [`retry`] resubmits
//!   failed elements (`--retries N`).
//! - [`bind`]: results into the session as `NAME` (or `NAME_partial`), the
//!   `let` deferred to the next cell ([`bind::Pending`]).
//!
//! Every stage works in a [`Workspace`] (configuration, ledger, executors,
//! this session's jobs). The stages never parse magic text; the magics
//! never touch the ledger or an executor except through these stages.

pub mod bind;
pub mod build;
pub mod plain_type;
pub mod plan;
pub mod result_bounds;
pub mod retry;
pub mod submit;
pub mod sweep_progress;
pub mod type_name;
pub mod watch;
pub mod workspace;

use std::path::PathBuf;

use crate::domain::{JobId, TaskPlan};
use crate::jobdir::JobDir;
pub use workspace::Workspace;

/// Now, in Unix seconds (0 if the clock is before 1970).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A job ready to submit: its plan, its task binary, and its job directory
/// with items and captured variables already written.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Ledger id (also the job directory's name).
    pub id: JobId,
    /// What to run.
    pub plan: TaskPlan,
    /// The built task.
    pub binary: PathBuf,
    /// Where the notebook's items are in its `main.rs` and the cells they
    /// came from (the job directory's `item_places`).
    pub item_places: String,
    /// The job directory.
    pub dir: JobDir,
}
