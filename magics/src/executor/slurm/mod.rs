//! The Slurm executor: one `sbatch --array` per job (split only where the
//! cluster's MaxArraySize caps the index), Slurm dependencies between
//! arrays, and one watcher thread that asks the scheduler about every
//! active job with ONE `squeue` per poll. Elements that leave the queue get
//! their final state from the status files the runtime wrote, and from one
//! `sacct` call for those that have none (killed at a limit, cancelled,
//! never started). Over SSH, job files are staged with SFTP before sbatch
//! and fetched back (one tar stream per job) as elements finish.

pub mod queue;
pub mod sbatch;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{ClusterJob, Executor, ExecutorError, JobId, JobSnapshot, JobSpec, Submitted};
use crate::cluster::{Cluster, ClusterError};
use crate::domain::{DependencyKind, ElementState, SlurmJobId};
use crate::jobdir::JobDir;
use sbatch::SlurmDependency;

/// Fastest and slowest poll while jobs are active.
const POLL_MIN: Duration = Duration::from_millis(300);
const POLL_MAX: Duration = Duration::from_secs(3);
/// How long an element may be out of the queue with no status file and no
/// accounting record before it is declared lost.
const LOST_AFTER: Duration = Duration::from_secs(60);

/// Errors of the Slurm executor.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// Reaching the cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// sbatch said no.
    #[error("sbatch refused the job: {0}")]
    Sbatch(String),
    /// An option would not be accepted.
    #[error(transparent)]
    Option(#[from] sbatch::OptionError),
    /// The cluster cannot run what was built here.
    #[error("{0}")]
    Incompatible(String),
    /// Lock poisoned: the watcher died.
    #[error("the Slurm watcher has stopped")]
    Stopped,
}

/// Where one job's files are and how Slurm knows it.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Local copy of the job directory (results are read here).
    pub local_dir: JobDir,
    /// The job directory on the cluster (the same on the login node).
    pub remote_dir: JobDir,
    /// Items and items per element.
    pub items: usize,
    /// Items per element.
    pub chunk: usize,
}

struct Tracked {
    place: Placement,
    slices: Vec<Submitted>,
    states: Vec<ElementState>,
    reasons: Vec<String>,
    /// Elements out of the queue without a final state yet, since when.
    gone: HashMap<usize, Instant>,
    /// scancel was sent: an element gone without a status was cancelled.
    cancelled: bool,
    /// Submitted with a Slurm dependency (a never-started CANCELLED element
    /// was then cancelled by `--kill-on-invalid-dep`).
    has_deps: bool,
    /// Newest cluster mtime of the files fetched so far (over SSH).
    fetched: Option<u64>,
}

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

#[derive(Default)]
struct Watched {
    jobs: BTreeMap<JobId, Tracked>,
    /// Last poll's error, shown with progress until a poll succeeds.
    trouble: Option<String>,
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
    cluster: Arc<Mutex<Cluster>>,
    watched: Arc<Mutex<Watched>>,
    wake: Sender<()>,
    info: ClusterInfo,
    /// Calls made so far.
    pub stats: Arc<Stats>,
    /// Binaries known to be on the cluster and runnable there.
    staged: Vec<PathBuf>,
}

/// Connects to the cluster `config` names (its `--host`, or this login
/// node) and starts the executor. Job files live under
/// `config.remote_workdir` over SSH (absolute, or relative to the remote
/// home; default `.sluice-remote/<machine>-<hash of the workdir>`), and in
/// `.sluice/` beside the notebook on the login node.
///
/// # Errors
/// The cluster cannot be reached, or is not usable (see [`SlurmExecutor::start`]).
pub fn connect(config: &crate::config::Config) -> Result<SlurmExecutor, SlurmError> {
    let mut cluster = Cluster::connect(config.host.as_deref(), config.identity.as_deref())?;
    let root = if cluster.is_remote() {
        match &config.remote_workdir {
            Some(d) if d.starts_with('/') => PathBuf::from(d),
            other => {
                let home = cluster.home()?;
                home.join(
                    other
                        .clone()
                        .unwrap_or_else(|| default_remote_workdir(&config.workdir)),
                )
            }
        }
    } else {
        config.sluice_dir()
    };
    SlurmExecutor::start(cluster, root)
}

/// `.sluice-remote/<this machine>-<hash of the workdir>` under the remote
/// home: one directory per notebook directory and laptop, so job ids of
/// different notebooks never meet. The hash is BLAKE3 (a fixed definition:
/// the same directory on every toolchain).
fn default_remote_workdir(workdir: &Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let mut h = blake3::Hasher::new();
    h.update(host.as_bytes());
    h.update(&[0]);
    h.update(workdir.as_os_str().as_encoded_bytes());
    let safe: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!(".sluice-remote/{safe}-{}", &h.finalize().to_hex()[..8])
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, SlurmError> {
    m.lock().map_err(|_| SlurmError::Stopped)
}

impl SlurmExecutor {
    /// Connects to the login node, reads the cluster's limits, and starts
    /// the watcher. `root`: the job root on the cluster (None: under the
    /// remote home, for SSH; required on the login node).
    pub fn start(mut cluster: Cluster, root: PathBuf) -> Result<SlurmExecutor, SlurmError> {
        let config = cluster.run(&["scontrol".into(), "show".into(), "config".into()])?;
        if config.status != 0 {
            return Err(SlurmError::Cluster(ClusterError::Command {
                command: "scontrol show config".into(),
                message: format!(
                    "{} (is Slurm installed on {}, and SLURM_CONF set?)",
                    config.stderr.trim(),
                    cluster.describe()
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
        let total_cpus = cluster
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
        if cluster.is_remote() {
            let arch = cluster.run(&["uname".into(), "-m".into()])?;
            let theirs = arch.text().trim().to_string();
            if theirs != std::env::consts::ARCH {
                return Err(SlurmError::Incompatible(format!(
                    "the cluster is {theirs} but this machine builds {} task binaries; run the kernel on the login node (or a machine of the cluster's architecture)",
                    std::env::consts::ARCH
                )));
            }
        }
        cluster.mkdirs(&root.join("jobs"))?;
        cluster.mkdirs(&root.join("bin"))?;
        let (tx, rx) = channel();
        let exec = SlurmExecutor {
            cluster: Arc::new(Mutex::new(cluster)),
            watched: Arc::new(Mutex::new(Watched::default())),
            wake: tx,
            info: ClusterInfo {
                max_array_size,
                total_cpus,
                root,
            },
            stats: Arc::new(Stats::default()),
            staged: Vec::new(),
        };
        let watcher = Watcher {
            cluster: exec.cluster.clone(),
            watched: exec.watched.clone(),
            stats: exec.stats.clone(),
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

    /// `this machine` or the SSH target, and SSH sessions opened.
    pub fn describe(&self) -> String {
        match self.cluster.lock() {
            Ok(c) => {
                let n = c.connects();
                if c.is_remote() {
                    format!(
                        "{} ({n} SSH session{})",
                        c.describe(),
                        if n == 1 { "" } else { "s" }
                    )
                } else {
                    c.describe()
                }
            }
            Err(_) => "(stopped)".into(),
        }
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

    /// The job directory on the cluster for job `id`.
    pub fn remote_dir(&self, id: JobId) -> PathBuf {
        self.info.root.join("jobs").join(id.to_string())
    }

    /// Where the cluster keeps job `spec`'s files.
    fn placement(&self, spec: &JobSpec, remote_dir: PathBuf) -> Placement {
        Placement {
            local_dir: spec.dir.clone(),
            remote_dir: JobDir::new(remote_dir),
            items: spec.items,
            chunk: spec.chunk,
        }
    }

    /// Stages the job's files and binary, submits one sbatch per slice, and
    /// watches the job. Returns the Slurm array ids.
    fn submit_arrays(&mut self, spec: &JobSpec) -> Result<Vec<Submitted>, SlurmError> {
        let place = self.placement(spec, self.remote_dir(spec.id));
        let job_name = spec.resources.job_name.as_deref().unwrap_or(&spec.name);
        sbatch::check_options(&spec.resources, job_name)?;
        let remote_bin = self.stage_binary(&spec.binary)?;
        self.stage_job_files(&place)?;
        // Dependencies: Slurm ids of upstream jobs that are still running.
        // An upstream that already ended was checked by the caller; an
        // element-wise one decides here which elements can still run.
        let mut run = spec.run.clone();
        let mut never: Vec<(usize, String)> = Vec::new();
        let mut deps: Vec<(DependencyKind, Vec<Submitted>)> = Vec::new();
        {
            let watched = lock(&self.watched)?;
            for d in &spec.deps {
                let Some(up) = watched.jobs.get(&d.job) else {
                    continue;
                };
                if up.states.iter().all(ElementState::is_terminal) {
                    if d.kind == DependencyKind::Aftercorr {
                        run.retain(|&e| {
                            let ok = matches!(up.states.get(e), Some(ElementState::Completed));
                            if !ok {
                                never.push((
                                    e,
                                    format!(
                                        "DependencyNeverSatisfied: {}[{e}] did not complete",
                                        d.name
                                    ),
                                ));
                            }
                            ok
                        });
                    }
                    continue;
                }
                deps.push((d.kind, up.slices.clone()));
            }
        }
        let mut submitted: Vec<Submitted> = Vec::new();
        let slices = sbatch::slices(&run, self.info.max_array_size);
        for slice in &slices {
            let script = place.remote_dir.batch_script(slice.offset);
            {
                let mut c = lock(&self.cluster)?;
                c.write(
                    &script,
                    sbatch::script(place.remote_dir.path(), &remote_bin, slice.offset).as_bytes(),
                    0o755,
                )?;
            }
            let slurm_deps: Vec<SlurmDependency> = deps
                .iter()
                .map(|(kind, ups)| SlurmDependency {
                    kind: *kind,
                    ids: ups
                        .iter()
                        .filter(|u| *kind != DependencyKind::Aftercorr || u.offset == slice.offset)
                        .map(|u| u.array_id.to_string())
                        .collect(),
                })
                .collect();
            let argv = sbatch::sbatch_argv(
                &spec.resources,
                job_name,
                &sbatch::array_spec(&slice.tasks, spec.resources.max_concurrent),
                sbatch::dependency_spec(&slurm_deps).as_deref(),
                place.remote_dir.path(),
                &script,
            );
            let out = lock(&self.cluster)?.run(&argv);
            let id = match out {
                Ok(o) if o.status == 0 => {
                    o.text().trim().split(';').next().unwrap_or("").to_string()
                }
                Ok(o) => {
                    self.scancel(&submitted);
                    return Err(SlurmError::Sbatch(o.stderr.trim().to_string()));
                }
                Err(e) => {
                    self.scancel(&submitted);
                    return Err(e.into());
                }
            };
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
                self.scancel(&submitted);
                return Err(SlurmError::Sbatch(format!(
                    "unexpected sbatch output `{id}`"
                )));
            }
            submitted.push(Submitted {
                array_id: SlurmJobId(id),
                offset: slice.offset,
            });
        }
        self.track(
            spec.id,
            !deps.is_empty(),
            place,
            spec.elements,
            &run,
            &never,
            &submitted,
        )?;
        let _ = self.wake.send(());
        Ok(submitted)
    }

    #[allow(clippy::too_many_arguments)]
    fn track(
        &self,
        id: JobId,
        has_deps: bool,
        place: Placement,
        elements: usize,
        run: &[usize],
        never: &[(usize, String)],
        submitted: &[Submitted],
    ) -> Result<(), SlurmError> {
        let mut w = lock(&self.watched)?;
        let t = w.jobs.entry(id).or_insert_with(|| Tracked {
            place: place.clone(),
            slices: Vec::new(),
            states: vec![ElementState::Completed; elements],
            reasons: vec![String::new(); elements],
            gone: HashMap::new(),
            cancelled: false,
            has_deps,
            fetched: None,
        });
        t.place = place;
        t.cancelled = false;
        t.has_deps = has_deps;
        t.states.resize(elements, ElementState::Completed);
        t.reasons.resize(elements, String::new());
        for &e in run {
            if let Some(s) = t.states.get_mut(e) {
                *s = ElementState::Pending;
            }
        }
        for (e, why) in never {
            if let Some(s) = t.states.get_mut(*e) {
                *s = ElementState::Cancelled(why.clone());
            }
        }
        t.slices.extend(submitted.iter().cloned());
        Ok(())
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
        let mut w = lock(&self.watched)?;
        let states = (0..elements)
            .map(|e| match recorded.get(e) {
                Some(s) if s.is_terminal() => s.clone(),
                _ => ElementState::Pending,
            })
            .collect();
        w.jobs.insert(
            id,
            Tracked {
                place,
                slices,
                states,
                reasons: vec![String::new(); elements],
                gone: HashMap::new(),
                cancelled: false,
                has_deps: false,
                fetched: None,
            },
        );
        drop(w);
        let _ = self.wake.send(());
        Ok(())
    }

    /// scancel of every array of the job.
    fn scancel_job(&self, id: JobId) -> Result<(), SlurmError> {
        let slices = {
            let mut w = lock(&self.watched)?;
            match w.jobs.get_mut(&id) {
                Some(t) => {
                    t.cancelled = true;
                    t.slices.clone()
                }
                None => return Ok(()),
            }
        };
        let mut argv = vec!["scancel".to_string()];
        argv.extend(slices.iter().map(|s| s.array_id.to_string()));
        let out = lock(&self.cluster)?.run(&argv)?;
        let _ = self.wake.send(());
        if out.status != 0 {
            return Err(SlurmError::Cluster(ClusterError::Command {
                command: argv.join(" "),
                message: out.stderr.trim().to_string(),
            }));
        }
        Ok(())
    }

    fn scancel(&self, submitted: &[Submitted]) {
        if submitted.is_empty() {
            return;
        }
        let mut argv = vec!["scancel".to_string()];
        argv.extend(submitted.iter().map(|s| s.array_id.to_string()));
        if let Ok(mut c) = self.cluster.lock() {
            let _ = c.run(&argv);
        }
    }

    /// The job's element states as last polled.
    fn states_polled(&self, id: JobId) -> Option<JobSnapshot> {
        let w = self.watched.lock().ok()?;
        let t = w.jobs.get(&id)?;
        Some(JobSnapshot {
            peak_kib: vec![0; t.states.len()],
            states: t.states.clone(),
        })
    }

    /// Why pending elements wait, and any trouble reaching the cluster.
    fn pending_note(&self, id: JobId) -> String {
        let Ok(w) = self.watched.lock() else {
            return String::new();
        };
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        if let Some(t) = w.jobs.get(&id) {
            for (s, r) in t.states.iter().zip(&t.reasons) {
                if *s == ElementState::Pending && !r.is_empty() {
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

    /// Copies the task binary to the cluster once (by content hash) and
    /// checks that the cluster can run it.
    fn stage_binary(&mut self, local: &Path) -> Result<PathBuf, SlurmError> {
        let mut c = lock(&self.cluster)?;
        if !c.is_remote() {
            return Ok(local.to_path_buf());
        }
        let name = local
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "task".into());
        let remote = self.info.root.join("bin").join(name);
        if self.staged.contains(&remote) {
            return Ok(remote);
        }
        if !c.exists(&remote)? {
            c.upload(local, &remote, 0o755)?;
        }
        let check = c.run(&[remote.display().to_string(), "--describe".into()])?;
        if check.status != 0 {
            return Err(SlurmError::Incompatible(format!(
                "the cluster cannot run the task built here ({}): {}. Build on a machine like the cluster's, or run the kernel on its login node",
                remote.display(),
                check.stderr.lines().next().unwrap_or("").trim()
            )));
        }
        self.staged.push(remote.clone());
        Ok(remote)
    }

    /// Copies the job directory's input files to the cluster.
    fn stage_job_files(&self, place: &Placement) -> Result<(), SlurmError> {
        let mut c = lock(&self.cluster)?;
        for sub in ["results", "status", "logs", "captures"] {
            c.mkdirs(&place.remote_dir.path().join(sub))?;
        }
        if !c.is_remote() {
            return Ok(());
        }
        for sub in ["", "captures"] {
            let dir = place.local_dir.path().join(sub);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                if e.file_type().map(|t| t.is_file()).unwrap_or(false) {
                    let remote = place.remote_dir.path().join(sub).join(e.file_name());
                    c.upload(&e.path(), &remote, 0o644)?;
                }
            }
        }
        Ok(())
    }
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
        self.states_polled(id)
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
        let mut c = lock(&self.cluster)?;
        if c.is_remote() {
            c.fetch(
                &placed.remote_dir,
                &["results", "status", "logs"],
                dir.path(),
                None,
            )
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
        let mut c = lock(&self.cluster)?;
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

/// The watcher thread's side.
struct Watcher {
    cluster: Arc<Mutex<Cluster>>,
    watched: Arc<Mutex<Watched>>,
    stats: Arc<Stats>,
}

impl Watcher {
    fn run(self, rx: Receiver<()>) {
        let mut interval = POLL_MIN;
        loop {
            match rx.recv_timeout(interval) {
                Ok(()) => interval = POLL_MIN,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            while rx.try_recv().is_ok() {}
            match self.poll() {
                Ok(Some(changed)) => {
                    interval = if changed {
                        POLL_MIN
                    } else {
                        (interval * 3 / 2).min(POLL_MAX)
                    };
                }
                // Nothing active: sleep until a submit wakes us.
                Ok(None) => interval = Duration::from_secs(3600),
                Err(e) => {
                    if let Ok(mut w) = self.watched.lock() {
                        w.trouble = Some(format!("cannot reach the cluster ({e}); retrying"));
                    }
                    interval = POLL_MAX;
                }
            }
        }
    }

    /// One poll of every active job. None when nothing is active.
    fn poll(&self) -> Result<Option<bool>, SlurmError> {
        // Which arrays are active.
        let ids: Vec<String> = {
            let w = lock(&self.watched)?;
            let mut ids: Vec<String> = w
                .jobs
                .values()
                .filter(|t| t.states.iter().any(|s| !s.is_terminal()))
                .flat_map(|t| t.slices.iter().map(|s| s.array_id.to_string()))
                .collect();
            ids.sort();
            ids.dedup();
            ids
        };
        if ids.is_empty() {
            return Ok(None);
        }
        self.stats.polls.fetch_add(1, Ordering::Relaxed);
        let out = {
            let mut c = lock(&self.cluster)?;
            self.stats.squeue.fetch_add(1, Ordering::Relaxed);
            c.run(&queue::squeue_argv(&ids))?
        };
        let rows = if out.status == 0 {
            queue::parse(&out.text(), false)
        } else if out.stderr.contains("Invalid job id") {
            Vec::new()
        } else {
            return Err(SlurmError::Cluster(ClusterError::Command {
                command: "squeue".into(),
                message: out.stderr.trim().to_string(),
            }));
        };
        let by_id = queue::by_element(&rows);

        // Live states from the queue; what left it is "gone".
        let mut changed = false;
        let mut gone_jobs: Vec<(JobId, Placement)> = Vec::new();
        {
            let mut w = lock(&self.watched)?;
            w.trouble = None;
            for (id, t) in w.jobs.iter_mut() {
                let mut any_gone = false;
                for e in 0..t.states.len() {
                    if t.states[e].is_terminal() {
                        continue;
                    }
                    let row = t.slices.iter().rev().find_map(|s| {
                        e.checked_sub(s.offset)
                            .and_then(|task| by_id.get(&(s.array_id.as_str(), task)))
                    });
                    match row.and_then(|r| queue::map_state(r).map(|st| (st, r))) {
                        Some((st, r)) if !st.is_terminal() => {
                            if t.states[e] != st {
                                changed = true;
                                t.states[e] = st;
                            }
                            t.reasons[e] = r.reason.clone();
                            t.gone.remove(&e);
                        }
                        _ => {
                            t.gone.entry(e).or_insert_with(Instant::now);
                            any_gone = true;
                        }
                    }
                }
                if any_gone {
                    gone_jobs.push((*id, t.place.clone()));
                }
            }
        }
        if gone_jobs.is_empty() {
            return Ok(Some(changed));
        }

        // Gone elements: status files first (fetched over SSH: only what
        // changed since this job's last fetch, with a margin of two seconds
        // for files written in the same second).
        for (id, place) in &gone_jobs {
            let since = lock(&self.watched)?
                .jobs
                .get(id)
                .and_then(|t| t.fetched)
                .map(|t| t.saturating_sub(2));
            let mut c = lock(&self.cluster)?;
            if c.is_remote() {
                let newest = c.fetch(
                    place.remote_dir.path(),
                    &["results", "status", "logs"],
                    place.local_dir.path(),
                    since,
                )?;
                drop(c);
                self.stats.fetches.fetch_add(1, Ordering::Relaxed);
                if let Some(t) = lock(&self.watched)?.jobs.get_mut(id) {
                    t.fetched = newest;
                }
            }
        }
        let mut need_sacct: Vec<(JobId, usize, String, usize)> = Vec::new();
        {
            let mut w = lock(&self.watched)?;
            for (id, _) in &gone_jobs {
                let Some(t) = w.jobs.get_mut(id) else {
                    continue;
                };
                let gone: Vec<usize> = t.gone.keys().copied().collect();
                for e in gone {
                    match t.place.local_dir.element_state(t.place.items, e) {
                        Some(st) => {
                            t.states[e] = st;
                            t.gone.remove(&e);
                            changed = true;
                        }
                        None => {
                            if let Some(s) = t.slices.iter().rev().find(|s| e >= s.offset) {
                                need_sacct.push((*id, e, s.array_id.to_string(), e - s.offset));
                            }
                        }
                    }
                }
            }
        }
        if need_sacct.is_empty() {
            return Ok(Some(changed));
        }

        // The rest: one sacct for all.
        let mut ids: Vec<String> = need_sacct.iter().map(|n| n.2.clone()).collect();
        ids.sort();
        ids.dedup();
        let acct = {
            let mut c = lock(&self.cluster)?;
            self.stats.sacct.fetch_add(1, Ordering::Relaxed);
            c.run(&queue::sacct_argv(&ids))?
        };
        let rows = if acct.status == 0 {
            queue::parse(&acct.text(), true)
        } else {
            Vec::new()
        };
        let by_id = queue::by_element(&rows);
        let mut w = lock(&self.watched)?;
        for (id, e, array_id, task) in need_sacct {
            let Some(t) = w.jobs.get_mut(&id) else {
                continue;
            };
            let since = t.gone.get(&e).copied().unwrap_or_else(Instant::now);
            let row = by_id.get(&(array_id.as_str(), task)).map(|r| {
                let mut r = (*r).clone();
                // sacct's Reason of an element Slurm cancelled for its
                // dependency is not always kept; the queue said why it waited.
                if !t.cancelled
                    && r.state == "CANCELLED"
                    && (t.reasons[e].contains("Dependency") || (t.has_deps && !r.started))
                {
                    r.reason = "Dependency".into();
                }
                if t.cancelled && r.state == "CANCELLED" {
                    r.reason.clear();
                }
                r
            });
            let st = match row.as_ref().and_then(queue::map_state) {
                Some(st) if st.is_terminal() => Some(st),
                _ if t.cancelled => Some(ElementState::Cancelled("cancelled (scancel)".into())),
                _ if since.elapsed() > LOST_AFTER => Some(ElementState::Cancelled(
                    "it left Slurm's queue without writing a status, and Slurm's accounting has no record of how it ended; `%slurm retry` reruns it".into(),
                )),
                // Accounting lags the queue: ask again next poll.
                _ => None,
            };
            if let Some(st) = st {
                // Results of items that did finish are kept (status files).
                t.states[e] = st;
                t.gone.remove(&e);
                changed = true;
            }
        }
        Ok(Some(changed))
    }
}
