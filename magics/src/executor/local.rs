//! The embedded local executor: runs array elements as processes of the
//! task binary, with Slurm's semantics and environment.
//!
//! [`LocalExecutor`] is the handle the pipeline holds: it registers jobs and
//! reads snapshots. One scheduler thread ([`scheduler`]) owns the state and
//! reacts to events (submit, cancel, an element exited) and to a 50 ms tick
//! (time limits, memory). It admits an element when its dependencies allow,
//! its job is under `--max-concurrent`, and its `--cpus-per-task` and
//! `--mem` fit in what the machine has left. Each element runs in a process
//! group of its own ([`process`]): a kill reaches everything the task
//! spawned, and a PID is never signalled once the element's waiter thread
//! has reaped it. Elements that exceed `--time` are killed and marked
//! TIMEOUT; those whose resident memory exceeds `--mem` are killed and
//! marked OUT_OF_MEMORY; a dependent that can never run is CANCELLED with
//! Slurm's DependencyNeverSatisfied reason.

mod process;
mod scheduler;
#[cfg(test)]
mod tests;

use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

use super::{ClusterJob, Executor, ExecutorError, JobId, JobSnapshot, JobSpec};
use crate::domain::ElementState;
use crate::jobdir::JobDir;
use scheduler::{Capacity, Event, Scheduler, Shared, register};

/// Handle to the local executor (cheap to clone).
#[derive(Clone)]
pub struct LocalExecutor {
    events: Sender<Event>,
    shared: Arc<Mutex<Shared>>,
    /// CPUs and MB of memory elements may use.
    capacity: Capacity,
}

/// Errors of submitting locally.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// An element asks for more than the machine has.
    #[error("each element asks for {asked}, but this machine has {have}: it could never run")]
    TooBig {
        /// What was asked.
        asked: String,
        /// What there is.
        have: String,
    },
    /// The scheduler thread is gone.
    #[error("the local executor has stopped")]
    Stopped,
}

impl LocalExecutor {
    /// Starts the scheduler thread, with this machine's CPUs and memory.
    pub fn start() -> LocalExecutor {
        let (cpus, mem_mb) = LocalExecutor::machine();
        LocalExecutor::with_capacity(Capacity {
            cpus,
            mem_mb: mem_mb.unwrap_or(u64::MAX / 4),
        })
    }

    /// What elements share on this machine: its CPUs (the executor's
    /// capacity, `available_parallelism`) and its memory in MB (None if
    /// `/proc/meminfo` cannot be read).
    pub fn machine() -> (u32, Option<u64>) {
        let cpus = std::thread::available_parallelism()
            .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
            .unwrap_or(1);
        (cpus, total_memory_mb())
    }

    /// Starts the scheduler thread; elements share `capacity`.
    fn with_capacity(capacity: Capacity) -> LocalExecutor {
        let (tx, rx) = channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let exec = LocalExecutor {
            events: tx.clone(),
            shared: shared.clone(),
            capacity,
        };
        let spawn = std::thread::Builder::new()
            .name("sluice-local-executor".into())
            .spawn(move || Scheduler::new(shared, tx, capacity).run(rx));
        if let Err(e) = spawn {
            tracing::error!("cannot start the local executor: {e}");
        }
        exec
    }
}

impl Executor for LocalExecutor {
    /// Queues a job (or, for a job id already known, reruns `spec.run`);
    /// registered before returning, so a snapshot right after sees it.
    fn submit(&mut self, spec: &JobSpec) -> Result<Option<ClusterJob>, ExecutorError> {
        let Capacity { cpus, mem_mb: mem } = self.capacity;
        if spec.resources.cpus > cpus {
            return Err(LocalError::TooBig {
                asked: format!("{} CPUs", spec.resources.cpus),
                have: format!("{cpus} CPUs"),
            }
            .into());
        }
        if let Some(m) = spec.resources.mem_mb
            && m > mem
        {
            return Err(LocalError::TooBig {
                asked: format!("{m} MB"),
                have: format!("{mem} MB"),
            }
            .into());
        }
        match self.shared.lock() {
            Ok(mut shared) => register(&mut shared, spec.clone()),
            Err(_) => return Err(LocalError::Stopped.into()),
        }
        self.events
            .send(Event::Wake)
            .map_err(|_| LocalError::Stopped)?;
        Ok(None)
    }

    fn snapshot(&self, job: JobId) -> Option<JobSnapshot> {
        let shared = self.shared.lock().ok()?;
        shared.jobs.get(&job).map(|j| JobSnapshot {
            states: j.states().to_vec(),
            peak_kib: j.peak_kib().to_vec(),
        })
    }

    fn cancel(&mut self, job: JobId) -> Result<(), ExecutorError> {
        self.events
            .send(Event::Cancel(job))
            .map_err(|_| LocalError::Stopped.into())
    }

    /// Local elements are children of the kernel that ran them: a new
    /// kernel cannot watch them.
    fn reattach(
        &mut self,
        _spec: &JobSpec,
        _placed: &ClusterJob,
        _recorded: &[ElementState],
    ) -> Result<bool, ExecutorError> {
        Ok(false)
    }

    /// The files are already here.
    fn fetch(&mut self, _dir: &JobDir, _placed: &ClusterJob) -> Result<(), ExecutorError> {
        Ok(())
    }

    fn forget_status(
        &mut self,
        dir: &JobDir,
        _placed: Option<&ClusterJob>,
        items: &[usize],
    ) -> Result<(), ExecutorError> {
        for &i in items {
            let _ = std::fs::remove_file(dir.status(i));
        }
        Ok(())
    }

    /// Enough elements to keep every core busy a few times over, few enough
    /// that process start-up is amortised.
    fn auto_chunk(&self, count: usize) -> usize {
        count
            .div_ceil((self.capacity.cpus as usize).saturating_mul(8).max(1))
            .max(1)
    }

    fn note(&self, _id: JobId) -> String {
        String::new()
    }
}

fn total_memory_mb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = s
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024)
}
