//! Executors run job arrays behind one trait, [`Executor`]: the embedded
//! local executor ([`local`]) runs elements as processes on this machine
//! with Slurm's semantics; the Slurm executor ([`slurm`]) submits them to a
//! real cluster. The pipeline never asks which one it has: it hands a
//! [`JobSpec`] to `submit` and reads states back with `snapshot`.

pub mod local;
pub mod slurm;

use std::path::PathBuf;

pub use crate::domain::JobId;
use crate::domain::{Dependency, ElementState, Resources, SlurmJobId};
use crate::jobdir::JobDir;
use crate::ledger::JobRecord;

/// Everything needed to run an array.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Ledger id.
    pub id: JobId,
    /// Display name (also the Slurm job name unless `--name` is given).
    pub name: String,
    /// The task binary.
    pub binary: PathBuf,
    /// The job directory (`SLUICE_JOB_DIR` of every element).
    pub dir: JobDir,
    /// Number of items in the job.
    pub items: usize,
    /// Items per array element (`--chunk`, at least 1).
    pub chunk: usize,
    /// Number of array elements in the job (`ceil(items / chunk)`).
    pub elements: usize,
    /// Which elements to run now (all, or the failed ones on retry).
    pub run: Vec<usize>,
    /// What each element asks for.
    pub resources: Resources,
    /// Dependencies.
    pub deps: Vec<Dependency>,
    /// The submission directory: where elements start without `--chdir`
    /// (on this machine; a cluster over SSH starts them in its job root).
    pub submit_dir: PathBuf,
    /// The elements' environment besides Slurm's own variables (`--export`
    /// resolved against the notebook session's environment); None: the
    /// executor's own (a job of an older version, whose session
    /// environment was not kept).
    pub environment: Option<Vec<(String, String)>>,
}

impl JobSpec {
    /// The spec of a recorded job, to run `run` again with `resources`
    /// (retry) or to watch it again (reattach, with `run` empty).
    pub fn of_record(
        job: &JobRecord,
        run: Vec<usize>,
        resources: Resources,
        submit_dir: PathBuf,
        environment: Option<Vec<(String, String)>>,
    ) -> JobSpec {
        let chunk = job.dir.chunk();
        JobSpec {
            id: job.id,
            name: job.name.clone(),
            binary: job.binary.clone(),
            dir: job.dir.clone(),
            items: job.items,
            chunk,
            elements: job.items.div_ceil(chunk),
            run,
            resources,
            deps: Vec::new(),
            submit_dir,
            environment,
        }
    }

    /// Where an element starts on this machine: `--chdir` (relative to the
    /// submission directory), else the submission directory, as sbatch(1)
    /// starts a batch script.
    pub fn working_dir(&self) -> PathBuf {
        match &self.resources.chdir {
            Some(d) => self.submit_dir.join(d),
            None => self.submit_dir.clone(),
        }
    }
}

/// A point-in-time view of one job.
#[derive(Debug, Clone)]
pub struct JobSnapshot {
    /// Element states, by index.
    pub states: Vec<ElementState>,
    /// Peak RSS per element in KiB (0 if unknown).
    pub peak_kib: Vec<u64>,
}

/// One sbatch of a job: Slurm's array id and the index offset of its tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// Slurm array job id.
    pub array_id: SlurmJobId,
    /// Element index = array task id + offset.
    pub offset: usize,
}

/// Where a cluster keeps a job: its arrays and its job directory there.
/// The ledger records it, so a restarted kernel can watch the job again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterJob {
    /// Every sbatch of the job, oldest first (a retry appends).
    pub arrays: Vec<Submitted>,
    /// The job directory on the cluster.
    pub remote_dir: PathBuf,
}

/// Why an executor refused or failed a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecutorError {
    /// The local executor.
    #[error(transparent)]
    Local(#[from] local::LocalError),
    /// The Slurm executor or the cluster behind it.
    #[error(transparent)]
    Slurm(#[from] slurm::SlurmError),
}

/// Runs job arrays somewhere. The pipeline drives: it submits specs and
/// polls snapshots; an executor watches its jobs on its own thread.
pub trait Executor {
    /// Accepts a job (or, for an id it knows, reruns `spec.run`). Returns
    /// where a cluster keeps it (None when its files are only here).
    ///
    /// # Errors
    /// The job cannot run here (too big, refused by sbatch, cluster down).
    fn submit(&mut self, spec: &JobSpec) -> Result<Option<ClusterJob>, ExecutorError>;

    /// The job's element states now; None if this executor does not watch it.
    fn snapshot(&self, id: JobId) -> Option<JobSnapshot>;

    /// Stops every pending and running element of the job.
    ///
    /// # Errors
    /// The cancel could not be delivered (scancel failed).
    fn cancel(&mut self, id: JobId) -> Result<(), ExecutorError>;

    /// Watches again a job an earlier kernel submitted, from what the
    /// ledger recorded. Returns false if this executor cannot (local jobs
    /// end with the kernel that ran them).
    ///
    /// # Errors
    /// The cluster could not be reached.
    fn reattach(
        &mut self,
        spec: &JobSpec,
        placed: &ClusterJob,
        recorded: &[ElementState],
    ) -> Result<bool, ExecutorError>;

    /// Brings the job's results, statuses and logs here (a no-op where they
    /// already are).
    ///
    /// # Errors
    /// The transfer failed.
    fn fetch(&mut self, dir: &JobDir, placed: &ClusterJob) -> Result<(), ExecutorError>;

    /// Removes the status files of `items` before they run again, here and
    /// where the job runs.
    ///
    /// # Errors
    /// A remote file could not be removed.
    fn forget_status(
        &mut self,
        dir: &JobDir,
        placed: Option<&ClusterJob>,
        items: &[usize],
    ) -> Result<(), ExecutorError>;

    /// Items per element for `--chunk auto` with `count` items.
    fn auto_chunk(&self, count: usize) -> usize;

    /// Why the job's pending elements wait, and trouble reaching the
    /// cluster, for progress lines ("" if nothing to say).
    fn note(&self, id: JobId) -> String;
}
