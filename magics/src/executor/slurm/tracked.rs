//! What the Slurm executor knows of each job it watches: [`Tracked`] (the
//! job's arrays, element states, pending reasons, and what the watcher
//! noted between polls) inside [`Watched`], the map the executor and the
//! watcher thread share behind one mutex. Nobody holds that mutex across a
//! cluster call.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::domain::{ElementState, JobId};
use crate::executor::Submitted;
use crate::jobdir::JobDir;

/// Where one job's files are and how Slurm knows it.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Local copy of the job directory (results are read here).
    pub local_dir: JobDir,
    /// The job directory on the cluster (the same on the login node).
    pub remote_dir: JobDir,
    /// Items in the job.
    pub items: usize,
    /// Items per element.
    pub chunk: usize,
}

/// One watched job.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// Where its files are.
    pub place: Placement,
    /// Every sbatch of the job, oldest first (a retry appends).
    pub slices: Vec<Submitted>,
    /// Element states, by index.
    pub states: Vec<ElementState>,
    /// The last pending reason squeue gave each element ("" if none).
    pub reasons: Vec<String>,
    /// Elements out of the queue without a final state yet, since when.
    pub gone: HashMap<usize, Instant>,
    /// scancel was sent: an element gone without a status was cancelled.
    pub cancelled: bool,
    /// Submitted with a Slurm dependency (a never-started CANCELLED element
    /// was then cancelled by `--kill-on-invalid-dep`).
    pub has_deps: bool,
    /// Newest cluster mtime of the files fetched so far (over SSH).
    pub fetched: Option<u64>,
    /// Changed by the executor (submit, retry, cancel, reattach) with each
    /// change; the watcher drops a poll's updates to a job whose
    /// generation moved while it polled, and polls again.
    pub generation: u64,
}

impl Tracked {
    /// A job with `elements` elements, all completed until some are run.
    pub fn new(place: Placement, elements: usize, has_deps: bool) -> Tracked {
        Tracked {
            place,
            slices: Vec::new(),
            states: vec![ElementState::Completed; elements],
            reasons: vec![String::new(); elements],
            gone: HashMap::new(),
            cancelled: false,
            has_deps,
            fetched: None,
            generation: 0,
        }
    }

    /// Some element is not finished.
    pub fn is_active(&self) -> bool {
        self.states.iter().any(|s| !s.is_terminal())
    }
}

/// Every watched job, and the last trouble reaching the cluster.
#[derive(Debug, Default)]
pub struct Watched {
    /// The jobs, by ledger id.
    pub jobs: BTreeMap<JobId, Tracked>,
    /// Last poll's error, shown with progress until a poll succeeds.
    pub trouble: Option<String>,
    /// The last generation handed out.
    generations: u64,
}

impl Watched {
    /// Marks job `id` as changed by the executor (see
    /// [`Tracked::generation`]).
    pub fn touch(&mut self, id: JobId) {
        self.generations += 1;
        let g = self.generations;
        if let Some(t) = self.jobs.get_mut(&id) {
            t.generation = g;
        }
    }

    /// Copies of the jobs with an unfinished element (what a poll looks at).
    pub fn active(&self) -> BTreeMap<JobId, Tracked> {
        self.jobs
            .iter()
            .filter(|(_, t)| t.is_active())
            .map(|(id, t)| (*id, t.clone()))
            .collect()
    }
}
