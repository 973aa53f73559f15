//! The domain of the magics as plain types: no IO, no clap, no SQLite.
//!
//! Everything the pipeline passes between its stages is one of these:
//! where a job runs ([`Backend`]), what kind it is ([`JobKind`]), how it
//! waits for others ([`Dependency`], [`DependencyKind`]), what each element
//! asks for ([`Resources`]), what Slurm calls its states ([`ElementState`],
//! [`JobState`]), what an element used ([`ElementUsage`]) and what a cell decided to run ([`TaskPlan`]). The grammar
//! parses text into these, the ledger stores them by their `Display` text
//! (read back with `FromStr`), and the executors consume them.
//!
//! **Invariant:** magics never compare strings where one of these types
//! exists; text appears only at the edges (parsing, display, the ledger).

mod backend;
mod dependency;
mod export;
mod job;
mod plan;
mod resources;
mod state;
mod usage;

pub use backend::{Backend, UnknownBackend};
pub use dependency::{
    Dependency, DependencyKind, Readiness, UnknownDependencyKind, element_readiness, job_readiness,
};
pub use export::{BadExport, ExecFit, Export, MAX_ENV_STRING, within_exec_limit};
pub use job::{JobId, JobKind, SlurmJobId, UnknownJobKind};
pub use plan::{TaskPlan, items_of};
pub use resources::{Resources, format_time, parse_mem_mb, parse_time};
pub use state::{Counts, ElementState, JobState, UnknownState, describe_exit};
pub use usage::ElementUsage;
