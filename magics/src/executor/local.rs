//! The embedded local executor: runs array elements as processes of the
//! task binary, with Slurm's semantics and environment.
//!
//! One scheduler thread owns the state and reacts to events (submit, cancel,
//! a child exited) and to a 50 ms tick (time limits, memory). It admits an
//! element when its dependencies allow, its job is under `--max-concurrent`,
//! and its `--cpus-per-task` and `--mem` fit in what the machine has left.
//! Each child has a small waiter thread that reports its exit. Elements that
//! exceed `--time` are killed and marked TIMEOUT; those whose resident memory
//! exceeds `--mem` are killed and marked OUT_OF_MEMORY; a dependent that can
//! never run is CANCELLED with Slurm's DependencyNeverSatisfied reason.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_runtime::Status;

use super::{ClusterJob, Executor, ExecutorError, JobId, JobSnapshot, JobSpec};
use crate::domain::{
    DependencyKind, ElementState, Readiness, element_readiness, items_of, job_readiness,
};
use crate::jobdir::JobDir;

const TICK: Duration = Duration::from_millis(50);

enum Event {
    /// Something was submitted: schedule.
    Wake,
    Cancel(JobId),
    Exited {
        job: JobId,
        index: usize,
        code: Option<i32>,
    },
}

#[derive(Debug)]
struct Running {
    pid: u32,
    started: Instant,
    /// Why we killed it, if we did.
    killed: Option<ElementState>,
}

struct JobRun {
    spec: JobSpec,
    states: Vec<ElementState>,
    peak_kib: Vec<u64>,
    queue: VecDeque<usize>,
    running: HashMap<usize, Running>,
}

#[derive(Default)]
struct Shared {
    jobs: BTreeMap<JobId, JobRun>,
}

/// Handle to the local executor (cheap to clone).
#[derive(Clone)]
pub struct LocalExecutor {
    events: Sender<Event>,
    shared: Arc<Mutex<Shared>>,
    /// CPUs and MB of memory elements may use.
    capacity: (u32, u64),
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
    /// Starts the scheduler thread.
    pub fn start() -> LocalExecutor {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
        let mem = total_memory_mb().unwrap_or(u64::MAX / 4);
        let (tx, rx) = channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let exec = LocalExecutor {
            events: tx.clone(),
            shared: shared.clone(),
            capacity: (cpus, mem),
        };
        let spawn = std::thread::Builder::new()
            .name("sluice-local-executor".into())
            .spawn(move || Scheduler::new(shared, tx, (cpus, mem)).run(rx));
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
        let (cpus, mem) = self.capacity;
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
            states: j.states.clone(),
            peak_kib: j.peak_kib.clone(),
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
            .div_ceil((self.capacity.0 as usize).saturating_mul(8).max(1))
            .max(1)
    }

    fn note(&self, _id: JobId) -> String {
        String::new()
    }
}

/// Adds a job, or re-queues `spec.run` of a job already known (retry).
fn register(shared: &mut Shared, spec: JobSpec) {
    let n = spec.elements;
    let job = shared.jobs.entry(spec.id).or_insert_with(|| JobRun {
        spec: spec.clone(),
        states: vec![ElementState::Pending; n],
        peak_kib: vec![0; n],
        queue: VecDeque::new(),
        running: HashMap::new(),
    });
    for &i in &spec.run {
        if i < n && !job.running.contains_key(&i) {
            job.states[i] = ElementState::Pending;
            job.queue.push_back(i);
        }
    }
    job.spec = spec;
}

struct Scheduler {
    shared: Arc<Mutex<Shared>>,
    events: Sender<Event>,
    free_cpus: u32,
    free_mem: u64,
}

impl Scheduler {
    fn new(shared: Arc<Mutex<Shared>>, events: Sender<Event>, (cpus, mem): (u32, u64)) -> Self {
        Scheduler {
            shared,
            events,
            free_cpus: cpus,
            free_mem: mem,
        }
    }

    fn run(mut self, rx: Receiver<Event>) {
        let mut last_tick = Instant::now();
        loop {
            match rx.recv_timeout(TICK) {
                Ok(ev) => self.handle(ev),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            // Drain whatever else arrived before scheduling once.
            while let Ok(ev) = rx.try_recv() {
                self.handle(ev);
            }
            if last_tick.elapsed() >= TICK {
                self.enforce_limits();
                last_tick = Instant::now();
            }
            self.schedule();
        }
    }

    fn handle(&mut self, ev: Event) {
        let Ok(mut shared) = self.shared.lock() else {
            return;
        };
        match ev {
            Event::Wake => {}
            Event::Cancel(id) => {
                if let Some(job) = shared.jobs.get_mut(&id) {
                    for i in job.queue.drain(..) {
                        job.states[i] = ElementState::Cancelled("cancelled by the user".into());
                    }
                    for r in job.running.values_mut() {
                        r.killed = Some(ElementState::Cancelled("cancelled by the user".into()));
                        kill(r.pid);
                    }
                }
            }
            Event::Exited { job, index, code } => {
                if let Some(j) = shared.jobs.get_mut(&job)
                    && let Some(r) = j.running.remove(&index)
                {
                    j.states[index] = match (r.killed, code) {
                        (Some(why), _) => why,
                        (None, Some(0)) => ElementState::Completed,
                        (None, Some(c)) => ElementState::Failed(c),
                        (None, None) => ElementState::Failed(-1),
                    };
                    let items = items_of(j.spec.items, j.spec.chunk, index);
                    if let Some(rss) = items
                        .clone()
                        .filter_map(|i| j.spec.dir.read_status(i))
                        .map(|s| s.peak_rss_kib)
                        .max()
                    {
                        j.peak_kib[index] = j.peak_kib[index].max(rss);
                    }
                    self.free_cpus += j.spec.resources.cpus;
                    self.free_mem += j.spec.resources.mem_mb.unwrap_or(0);
                    if !matches!(j.states[index], ElementState::Completed) {
                        for i in items {
                            write_kill_status(&j.spec.dir, i, &j.states[index]);
                        }
                    }
                }
            }
        }
    }

    fn enforce_limits(&mut self) {
        let Ok(mut shared) = self.shared.lock() else {
            return;
        };
        for job in shared.jobs.values_mut() {
            let (limit, mem) = (job.spec.resources.enforced_time_limit(), job.spec.resources.mem_mb);
            for (&i, r) in job.running.iter_mut() {
                if r.killed.is_some() {
                    continue;
                }
                if let Some(rss) = rss_kib(r.pid) {
                    job.peak_kib[i] = job.peak_kib[i].max(rss);
                    if let Some(m) = mem
                        && rss > m * 1024
                    {
                        r.killed = Some(ElementState::OutOfMemory);
                        kill(r.pid);
                        continue;
                    }
                }
                if let Some(t) = limit
                    && r.started.elapsed() >= Duration::from_secs(t)
                {
                    r.killed = Some(ElementState::Timeout);
                    kill(r.pid);
                }
            }
        }
    }

    fn schedule(&mut self) {
        let Ok(mut guard) = self.shared.lock() else {
            return;
        };
        let shared = &mut *guard;
        let ids: Vec<JobId> = shared.jobs.keys().copied().collect();
        for id in ids {
            // Dependencies: job-level rules first.
            let (deps, name) = match shared.jobs.get(&id) {
                Some(j) if !j.queue.is_empty() => (j.spec.deps.clone(), j.spec.name.clone()),
                _ => continue,
            };
            let mut job_ready = Readiness::Ready;
            let mut corr: Vec<(JobId, String)> = Vec::new();
            for d in &deps {
                if d.kind == DependencyKind::Aftercorr {
                    corr.push((d.job, d.name.clone()));
                    continue;
                }
                let r = match shared.jobs.get(&d.job) {
                    Some(up) => job_readiness(d.kind, &up.states, &d.name),
                    None => Readiness::Ready,
                };
                match r {
                    Readiness::Ready => {}
                    Readiness::Wait => job_ready = Readiness::Wait,
                    never @ Readiness::Never(_) => {
                        job_ready = never;
                        break;
                    }
                }
            }
            match job_ready {
                Readiness::Wait => continue,
                Readiness::Never(why) => {
                    if let Some(j) = shared.jobs.get_mut(&id) {
                        for i in j.queue.drain(..) {
                            j.states[i] = ElementState::Cancelled(why.clone());
                        }
                    }
                    tracing::info!("{name}: {why}");
                    continue;
                }
                Readiness::Ready => {}
            }
            // Elements in order. Without aftercorr they leave from the front
            // of the queue (O(1) each: 100,000-element arrays stay cheap);
            // with it, each is checked against element i upstream.
            let mut started = Vec::new();
            let mut never = Vec::new();
            if corr.is_empty() {
                let Some(job) = shared.jobs.get_mut(&id) else {
                    continue;
                };
                let max = job.spec.resources.max_concurrent.unwrap_or(usize::MAX);
                let (cpus, mem) = (
                    job.spec.resources.cpus,
                    job.spec.resources.mem_mb.unwrap_or(0),
                );
                let mut running = job.running.len();
                while running < max && cpus <= self.free_cpus && mem <= self.free_mem {
                    let Some(i) = job.queue.pop_front() else {
                        break;
                    };
                    self.free_cpus -= cpus;
                    self.free_mem -= mem;
                    running += 1;
                    started.push(i);
                }
            } else {
                let Some(job) = shared.jobs.get(&id) else {
                    continue;
                };
                let max = job.spec.resources.max_concurrent.unwrap_or(usize::MAX);
                let (cpus, mem) = (
                    job.spec.resources.cpus,
                    job.spec.resources.mem_mb.unwrap_or(0),
                );
                let mut running = job.running.len();
                for &i in &job.queue {
                    let mut ready = Readiness::Ready;
                    for (up, up_name) in &corr {
                        let r = match shared.jobs.get(up) {
                            Some(u) => element_readiness(u.states.get(i), up_name, i),
                            None => Readiness::Ready,
                        };
                        if r != Readiness::Ready {
                            ready = r;
                            break;
                        }
                    }
                    match ready {
                        Readiness::Wait => continue,
                        Readiness::Never(why) => {
                            never.push((i, why));
                            continue;
                        }
                        Readiness::Ready => {}
                    }
                    if running >= max || cpus > self.free_cpus || mem > self.free_mem {
                        break;
                    }
                    self.free_cpus -= cpus;
                    self.free_mem -= mem;
                    running += 1;
                    started.push(i);
                }
                let leaving: std::collections::HashSet<usize> = started
                    .iter()
                    .copied()
                    .chain(never.iter().map(|(i, _)| *i))
                    .collect();
                if !leaving.is_empty()
                    && let Some(job) = shared.jobs.get_mut(&id)
                {
                    job.queue.retain(|q| !leaving.contains(q));
                }
            }
            let Some(job) = shared.jobs.get_mut(&id) else {
                continue;
            };
            for (i, why) in never {
                job.states[i] = ElementState::Cancelled(why);
            }
            let (cpus, mem) = (
                job.spec.resources.cpus,
                job.spec.resources.mem_mb.unwrap_or(0),
            );
            for i in started {
                match spawn(&job.spec, i, self.events.clone()) {
                    Ok(pid) => {
                        job.states[i] = ElementState::Running;
                        job.running.insert(
                            i,
                            Running {
                                pid,
                                started: Instant::now(),
                                killed: None,
                            },
                        );
                    }
                    Err(e) => {
                        tracing::warn!("cannot start {}[{i}]: {e}", job.spec.name);
                        self.free_cpus += cpus;
                        self.free_mem += mem;
                        job.states[i] = ElementState::Failed(-1);
                        let _ = std::fs::write(
                            job.spec.dir.log(i, "err"),
                            format!("sluice: cannot start the task: {e}\n"),
                        );
                    }
                }
            }
        }
    }
}

/// Starts element `i`: the task binary with Slurm's environment, logs to files.
fn spawn(spec: &JobSpec, i: usize, events: Sender<Event>) -> std::io::Result<u32> {
    std::fs::create_dir_all(spec.dir.logs_dir())?;
    let out = std::fs::File::create(spec.dir.log(i, "out"))?;
    let err = std::fs::File::create(spec.dir.log(i, "err"))?;
    let mut cmd = Command::new(&spec.binary);
    cmd.env("SLUICE_JOB_DIR", spec.dir.path())
        .env("SLURM_ARRAY_TASK_ID", i.to_string())
        .env("SLURM_ARRAY_JOB_ID", spec.id.to_string())
        .env("SLURM_JOB_ID", (spec.id * 1_000_000 + i as u64).to_string())
        .env("SLURM_ARRAY_TASK_COUNT", spec.elements.to_string())
        .env("SLURM_ARRAY_TASK_MIN", "0")
        .env(
            "SLURM_ARRAY_TASK_MAX",
            spec.elements.saturating_sub(1).to_string(),
        )
        .env("SLURM_CPUS_PER_TASK", spec.resources.cpus.to_string())
        .env("SLURM_JOB_NAME", &spec.name)
        .env("SLURM_NTASKS", "1")
        .env("SLURM_JOB_PARTITION", "local")
        .env("RUST_BACKTRACE", "0")
        .current_dir(spec.dir.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if let Some(m) = spec.resources.mem_mb {
        cmd.env("SLURM_MEM_PER_NODE", m.to_string());
    }
    let mut child = cmd.spawn()?;
    let pid = child.id();
    let (job, index) = (spec.id, i);
    std::thread::Builder::new()
        .name("sluice-wait".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let code = child.wait().ok().and_then(|s| s.code());
            let _ = events.send(Event::Exited { job, index, code });
        })?;
    Ok(pid)
}

fn kill(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) with a pid we spawned and have not reaped; at worst ESRCH.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// The runtime could not write a status for an item of an element we
/// killed: we do, with the state we decided.
fn write_kill_status(dir: &JobDir, item: usize, state: &ElementState) {
    let reason = match state {
        ElementState::Cancelled(r) => r.clone(),
        other => other.name().to_string(),
    };
    dir.write_status_if_missing(&Status {
        index: item,
        exit: -1,
        start: 0.0,
        end: 0.0,
        host: String::new(),
        peak_rss_kib: 0,
        error: Some(reason),
        state: Some(state.name().to_string()),
    });
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
