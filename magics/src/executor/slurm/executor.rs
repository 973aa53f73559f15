//! [`SlurmExecutor`]: the [`Executor`] of a real cluster. It reads the
//! cluster's limits once, starts the watcher thread, and answers the
//! pipeline: submit (`submit.rs`), snapshots and pending notes from what
//! the watcher last saw, scancel, reattach, fetch. It holds two runners:
//! commands (sbatch, scancel, staging) and transfers (job directory
//! fetches), so a cancel never waits behind a fetch.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

use super::clock::{Clock, SystemClock};
use super::tracked::{Placement, Tracked, Watched};
use super::watcher::{FETCHED, Watcher};
use super::{SharedRunner, SlurmError, lock, queue};
use crate::cluster::{ClusterError, CommandRunner};
use crate::domain::{ElementState, JobId, SlurmJobId};
use crate::executor::{ClusterJob, Executor, ExecutorError, JobSnapshot, JobSpec, Submitted};
use crate::jobdir::JobDir;

/// Calls made to the cluster (for `%slurm config` and the benchmark).
#[derive(Debug, Default)]
pub struct Stats {
    /// Polls that found active jobs.
    pub polls: AtomicU64,
    /// squeue calls.
    pub squeue: AtomicU64,
    /// sacct calls.
    pub sacct: AtomicU64,
    /// Job directory fetches (over SSH).
    pub fetches: AtomicU64,
}

/// Facts about the cluster read once.
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    /// MaxArraySize (task ids must be below it).
    pub max_array_size: usize,
    /// CPUs of all nodes (for `--chunk auto`).
    pub total_cpus: usize,
    /// Where jobs and binaries live on the cluster.
    pub root: PathBuf,
}

/// Handle to the Slurm executor.
pub struct SlurmExecutor {
    /// sbatch, scancel, staging (and the watcher's squeue and sacct).
    pub(super) commands: SharedRunner,
    /// Job directory fetches (the watcher's and [`Executor::fetch`]).
    pub(super) transfers: SharedRunner,
    pub(super) watched: Arc<Mutex<Watched>>,
    /// Wakes the watcher (a submit, cancel or reattach); dropping it ends
    /// the watcher thread.
    pub(super) wake: Sender<()>,
    pub(super) info: ClusterInfo,
    /// Calls made so far.
    pub stats: Arc<Stats>,
    /// Binaries known to be on the cluster and runnable there.
    pub(super) staged: Vec<PathBuf>,
}

impl SlurmExecutor {
    /// Reads the cluster's limits through `commands`, makes the job root
    /// `root` there, and starts the watcher. `transfers` reaches the same
    /// cluster for fetches (a second SSH session; connected at first use).
    ///
    /// # Errors
    /// Slurm does not answer, the cluster's architecture differs from this
    /// machine's (over SSH), or the root cannot be made.
    pub fn start(
        commands: Box<dyn CommandRunner>,
        transfers: Box<dyn CommandRunner>,
        root: PathBuf,
    ) -> Result<SlurmExecutor, SlurmError> {
        SlurmExecutor::start_with_clock(commands, transfers, root, Arc::new(SystemClock))
    }

    /// [`SlurmExecutor::start`] with the watcher reading `clock`.
    ///
    /// # Errors
    /// As [`SlurmExecutor::start`].
    pub fn start_with_clock(
        mut commands: Box<dyn CommandRunner>,
        transfers: Box<dyn CommandRunner>,
        root: PathBuf,
        clock: Arc<dyn Clock>,
    ) -> Result<SlurmExecutor, SlurmError> {
        let info = probe(commands.as_mut(), root)?;
        let (tx, rx) = channel();
        let exec = SlurmExecutor {
            commands: Arc::new(Mutex::new(commands)),
            transfers: Arc::new(Mutex::new(transfers)),
            watched: Arc::new(Mutex::new(Watched::default())),
            wake: tx,
            info,
            stats: Arc::new(Stats::default()),
            staged: Vec::new(),
        };
        let watcher = Watcher {
            commands: exec.commands.clone(),
            transfers: exec.transfers.clone(),
            watched: exec.watched.clone(),
            stats: exec.stats.clone(),
            clock,
        };
        std::thread::Builder::new()
            .name("sluice-slurm-watcher".into())
            .spawn(move || watcher.run(rx))
            .map_err(|e| {
                SlurmError::Cluster(ClusterError::Io {
                    what: "starting the Slurm watcher".into(),
                    source: e,
                })
            })?;
        Ok(exec)
    }

    /// What was learned about the cluster.
    pub fn info(&self) -> &ClusterInfo {
        &self.info
    }

    /// `this machine`, or the SSH target and the sessions opened.
    pub fn describe(&self) -> String {
        let (target, n) = match self.commands.lock() {
            Ok(c) if c.is_remote() => (c.describe(), c.connects()),
            Ok(c) => return c.describe(),
            Err(_) => return "(stopped)".into(),
        };
        let m = self.transfers.lock().map(|t| t.connects()).unwrap_or(0);
        format!(
            "{target} ({n} SSH session{} for commands, {m} for transfers)",
            if n == 1 { "" } else { "s" }
        )
    }

    /// Calls made to the cluster so far, as one line.
    pub fn stats_line(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "polls {}, squeue calls {}, sacct calls {}, fetches {}",
            g(&self.stats.polls),
            g(&self.stats.squeue),
            g(&self.stats.sacct),
            g(&self.stats.fetches)
        )
    }

    /// The accounting of every element of these arrays, from ONE sacct
    /// call on the command runner (`%slurm report`); counted in the stats.
    ///
    /// # Errors
    /// The cluster could not be reached, or sacct failed (no accounting
    /// storage on this cluster): the command and its error output.
    pub fn accounting(
        &self,
        ids: &[SlurmJobId],
    ) -> Result<Vec<crate::report::sacct::AcctRow>, SlurmError> {
        use crate::report::sacct;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let argv = sacct::sacct_usage_argv(ids);
        let out = {
            let mut c = lock(&self.commands)?;
            self.stats.sacct.fetch_add(1, Ordering::Relaxed);
            c.run(&argv)?
        };
        if out.status != 0 {
            return Err(SlurmError::Cluster(ClusterError::Command {
                command: argv.join(" "),
                message: out.stderr.trim().to_string(),
            }));
        }
        Ok(sacct::parse_sacct_usage(&out.text()))
    }

    /// The job directory on the cluster for job `id`.
    pub fn remote_dir(&self, id: JobId) -> PathBuf {
        self.info.root.join("jobs").join(id.to_string())
    }

    /// Where the cluster keeps job `spec`'s files.
    pub(super) fn placement(&self, spec: &JobSpec, remote_dir: PathBuf) -> Placement {
        Placement {
            local_dir: spec.dir.clone(),
            remote_dir: JobDir::new(remote_dir),
            items: spec.items,
            chunk: spec.chunk,
        }
    }

    /// Watches a job submitted by an earlier kernel (ids from the ledger);
    /// `recorded`: what was last recorded (terminal states are kept).
    fn watch_again(
        &self,
        id: JobId,
        place: Placement,
        slices: Vec<Submitted>,
        recorded: &[ElementState],
    ) -> Result<(), SlurmError> {
        let elements = place.items.div_ceil(place.chunk.max(1));
        let mut t = Tracked::new(place, elements, false);
        t.slices = slices;
        for (e, s) in t.states.iter_mut().enumerate() {
            *s = match recorded.get(e) {
                Some(r) if r.is_terminal() => r.clone(),
                _ => ElementState::Pending,
            };
        }
        let mut w = lock(&self.watched)?;
        w.jobs.insert(id, t);
        w.touch(id);
        drop(w);
        let _ = self.wake.send(());
        Ok(())
    }

    /// scancel of every array of the job, on the command runner (never
    /// behind a fetch).
    fn scancel_job(&self, id: JobId) -> Result<(), SlurmError> {
        let ids: Vec<SlurmJobId> = {
            let mut w = lock(&self.watched)?;
            let Some(t) = w.jobs.get_mut(&id) else {
                return Ok(());
            };
            t.cancelled = true;
            let ids = t.slices.iter().map(|s| s.array_id.clone()).collect();
            w.touch(id);
            ids
        };
        let argv = queue::scancel_argv(&ids);
        let out = lock(&self.commands)?.run(&argv)?;
        let _ = self.wake.send(());
        if out.status != 0 {
            return Err(SlurmError::Cluster(ClusterError::Command {
                command: argv.join(" "),
                message: out.stderr.trim().to_string(),
            }));
        }
        Ok(())
    }

    /// scancel of arrays a failed submit already made (best effort: the
    /// submit's own error is what is reported).
    pub(super) fn scancel_quietly(&self, submitted: &[Submitted]) {
        if submitted.is_empty() {
            return;
        }
        let ids: Vec<SlurmJobId> = submitted.iter().map(|s| s.array_id.clone()).collect();
        if let Ok(mut c) = self.commands.lock() {
            let _ = c.run(&queue::scancel_argv(&ids));
        }
    }

    /// Why pending elements wait, and any trouble reaching the cluster.
    fn pending_note(&self, id: JobId) -> String {
        let Ok(w) = self.watched.lock() else {
            return String::new();
        };
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        if let Some(t) = w.jobs.get(&id) {
            for (s, r) in t.states.iter().zip(&t.reasons) {
                // Slurm says `None` while it has not looked at a job yet.
                if *s == ElementState::Pending && !r.is_empty() && r != "None" {
                    *counts
                        .entry(queue::pending_reason(r).unwrap_or(r.as_str()))
                        .or_default() += 1;
                }
            }
        }
        let mut parts: Vec<String> = counts
            .into_iter()
            .map(|(r, n)| format!("{n} pending: {r}"))
            .collect();
        if let Some(t) = &w.trouble {
            parts.push(t.clone());
        }
        parts.join("; ")
    }
}

/// Reads MaxArraySize and the CPUs, checks the architecture (over SSH)
/// and makes the job root.
fn probe(c: &mut dyn CommandRunner, root: PathBuf) -> Result<ClusterInfo, SlurmError> {
    let config = c.run(&["scontrol".into(), "show".into(), "config".into()])?;
    if config.status != 0 {
        return Err(SlurmError::Cluster(ClusterError::Command {
            command: "scontrol show config".into(),
            message: format!(
                "{} (is Slurm installed on {}, and SLURM_CONF set?)",
                config.stderr.trim(),
                c.describe()
            ),
        }));
    }
    let max_array_size = config
        .text()
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "MaxArraySize").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(1001);
    let total_cpus = c
        .run(&["sinfo".into(), "-h".into(), "-o".into(), "%C".into()])
        .ok()
        .and_then(|o| {
            o.text()
                .lines()
                .filter_map(|l| l.trim().rsplit('/').next()?.parse::<usize>().ok())
                .reduce(|a, b| a + b)
        })
        .unwrap_or(1)
        .max(1);
    if c.is_remote() {
        let arch = c.run(&["uname".into(), "-m".into()])?;
        let theirs = arch.text().trim().to_string();
        if theirs != std::env::consts::ARCH {
            return Err(SlurmError::Incompatible(format!(
                "the cluster is {theirs} but this machine builds {} task binaries; run the kernel on the login node (or a machine of the cluster's architecture)",
                std::env::consts::ARCH
            )));
        }
    }
    c.mkdirs(&root.join("jobs"))?;
    c.mkdirs(&root.join("bin"))?;
    Ok(ClusterInfo {
        max_array_size,
        total_cpus,
        root,
    })
}

impl Executor for SlurmExecutor {
    fn submit(&mut self, spec: &JobSpec) -> Result<Option<ClusterJob>, ExecutorError> {
        let arrays = self.submit_arrays(spec)?;
        Ok(Some(ClusterJob {
            arrays,
            remote_dir: self.remote_dir(spec.id),
        }))
    }

    fn snapshot(&self, id: JobId) -> Option<JobSnapshot> {
        let w = self.watched.lock().ok()?;
        let t = w.jobs.get(&id)?;
        Some(JobSnapshot {
            peak_kib: vec![0; t.states.len()],
            states: t.states.clone(),
        })
    }

    fn cancel(&mut self, id: JobId) -> Result<(), ExecutorError> {
        Ok(self.scancel_job(id)?)
    }

    fn reattach(
        &mut self,
        spec: &JobSpec,
        placed: &ClusterJob,
        recorded: &[ElementState],
    ) -> Result<bool, ExecutorError> {
        let place = self.placement(spec, placed.remote_dir.clone());
        self.watch_again(spec.id, place, placed.arrays.clone(), recorded)?;
        Ok(true)
    }

    fn fetch(&mut self, dir: &JobDir, placed: &ClusterJob) -> Result<(), ExecutorError> {
        let mut r = lock(&self.transfers)?;
        if r.is_remote() {
            r.fetch(&placed.remote_dir, &FETCHED, dir.path(), None)
                .map_err(SlurmError::from)?;
            self.stats.fetches.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn forget_status(
        &mut self,
        dir: &JobDir,
        placed: Option<&ClusterJob>,
        items: &[usize],
    ) -> Result<(), ExecutorError> {
        let mut c = lock(&self.commands)?;
        let remote = placed.map(|p| JobDir::new(p.remote_dir.clone()));
        for &i in items {
            if let Some(r) = &remote {
                c.remove(&r.status(i)).map_err(SlurmError::from)?;
            }
            let _ = std::fs::remove_file(dir.status(i));
        }
        Ok(())
    }

    /// About four elements per CPU of the cluster, so scheduling (about one
    /// start per CPU-second) is amortised over many items while every CPU
    /// still gets work.
    fn auto_chunk(&self, count: usize) -> usize {
        count
            .div_ceil(self.info.total_cpus.saturating_mul(4).max(1))
            .max(1)
    }

    fn note(&self, id: JobId) -> String {
        self.pending_note(id)
    }
}
