//! Executors run job arrays. The local executor (this module's `local`)
//! runs elements as processes on this machine with Slurm's semantics; the
//! Slurm executor (`slurm`) submits them to a real cluster.

pub mod local;
pub mod slurm;
pub mod status;

use std::path::PathBuf;

use crate::grammar::DependencyKind;
use crate::state::State;

/// A job's id, unique within a notebook's ledger.
pub type JobId = u64;

/// A dependency of a job on an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The job depended on.
    pub job: JobId,
    /// Its name (for messages).
    pub name: String,
    /// How.
    pub kind: DependencyKind,
}

/// Everything needed to run an array.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Ledger id.
    pub id: JobId,
    /// Display name.
    pub name: String,
    /// The task binary.
    pub binary: PathBuf,
    /// The job directory (SLUICE_JOB_DIR).
    pub dir: PathBuf,
    /// Number of array elements in the job.
    pub elements: usize,
    /// Which elements to run now (all, or the failed ones on retry).
    pub run: Vec<usize>,
    /// CPUs per element.
    pub cpus: u32,
    /// Memory per element, MB.
    pub mem_mb: Option<u64>,
    /// Time limit per element, seconds.
    pub time_limit: Option<u64>,
    /// Throttle (`%K`).
    pub max_concurrent: Option<usize>,
    /// Dependencies.
    pub deps: Vec<Dependency>,
    /// Slurm's `--partition`, `--account`, `--qos`, `--gres` (a cluster only).
    pub placement: SlurmPlacementOptions,
}

/// Options only a real cluster uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlurmPlacementOptions {
    /// `--job-name` (the NAME unless `--name` is given).
    pub job_name: Option<String>,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--qos`.
    pub qos: Option<String>,
    /// `--gres`.
    pub gres: Option<String>,
}

/// A point-in-time view of one job.
#[derive(Debug, Clone)]
pub struct JobSnapshot {
    /// Element states, by index.
    pub states: Vec<State>,
    /// Peak RSS per element in KiB (0 if unknown).
    pub peak_kib: Vec<u64>,
}

/// What a job asked for per element, kept in its directory
/// (`resources.json`) so `%slurm retry` asks for the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    /// CPUs per element.
    pub cpus: u32,
    /// Memory per element, MB.
    pub mem_mb: Option<u64>,
    /// Time limit per element, seconds.
    pub time_limit: Option<u64>,
    /// Throttle.
    pub max_concurrent: Option<usize>,
    /// Cluster-only options.
    pub placement: SlurmPlacementOptions,
}

impl JobSpec {
    /// The per-element requests of this spec.
    pub fn resources(&self) -> Resources {
        Resources {
            cpus: self.cpus,
            mem_mb: self.mem_mb,
            time_limit: self.time_limit,
            max_concurrent: self.max_concurrent,
            placement: self.placement.clone(),
        }
    }
}
