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
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{JobId, JobSnapshot, JobSpec};
use crate::grammar::DependencyKind;
use crate::state::{Readiness, State, element_readiness, job_readiness};

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
    killed: Option<State>,
}

struct JobRun {
    spec: JobSpec,
    states: Vec<State>,
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

    /// Queues a job (or, for a job id already known, reruns `spec.run`).
    pub fn submit(&self, spec: JobSpec) -> Result<(), LocalError> {
        let (cpus, mem) = self.capacity;
        if spec.cpus > cpus {
            return Err(LocalError::TooBig {
                asked: format!("{} CPUs", spec.cpus),
                have: format!("{cpus} CPUs"),
            });
        }
        if let Some(m) = spec.mem_mb
            && m > mem
        {
            return Err(LocalError::TooBig {
                asked: format!("{m} MB"),
                have: format!("{mem} MB"),
            });
        }
        // Registered before returning, so a snapshot right after submit sees it.
        match self.shared.lock() {
            Ok(mut shared) => register(&mut shared, spec),
            Err(_) => return Err(LocalError::Stopped),
        }
        self.events
            .send(Event::Wake)
            .map_err(|_| LocalError::Stopped)
    }

    /// Cancels a job's pending and running elements.
    pub fn cancel(&self, job: JobId) {
        let _ = self.events.send(Event::Cancel(job));
    }

    /// The job's states, if this executor knows it.
    pub fn snapshot(&self, job: JobId) -> Option<JobSnapshot> {
        let shared = self.shared.lock().ok()?;
        shared.jobs.get(&job).map(|j| JobSnapshot {
            states: j.states.clone(),
            peak_kib: j.peak_kib.clone(),
        })
    }
}

/// Adds a job, or re-queues `spec.run` of a job already known (retry).
fn register(shared: &mut Shared, spec: JobSpec) {
    let n = spec.elements;
    let job = shared.jobs.entry(spec.id).or_insert_with(|| JobRun {
        spec: spec.clone(),
        states: vec![State::Pending; n],
        peak_kib: vec![0; n],
        queue: VecDeque::new(),
        running: HashMap::new(),
    });
    for &i in &spec.run {
        if i < n && !job.running.contains_key(&i) {
            job.states[i] = State::Pending;
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
                        job.states[i] = State::Cancelled("cancelled by the user".into());
                    }
                    for r in job.running.values_mut() {
                        r.killed = Some(State::Cancelled("cancelled by the user".into()));
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
                        (None, Some(0)) => State::Completed,
                        (None, Some(c)) => State::Failed(c),
                        (None, None) => State::Failed(-1),
                    };
                    if let Some(rss) = peak_from_status(&j.spec.dir, index) {
                        j.peak_kib[index] = j.peak_kib[index].max(rss);
                    }
                    self.free_cpus += j.spec.cpus;
                    self.free_mem += j.spec.mem_mb.unwrap_or(0);
                    if !matches!(j.states[index], State::Completed) {
                        write_kill_status(&j.spec.dir, index, &j.states[index]);
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
            let (limit, mem) = (job.spec.time_limit, job.spec.mem_mb);
            for (&i, r) in job.running.iter_mut() {
                if r.killed.is_some() {
                    continue;
                }
                if let Some(rss) = rss_kib(r.pid) {
                    job.peak_kib[i] = job.peak_kib[i].max(rss);
                    if let Some(m) = mem
                        && rss > m * 1024
                    {
                        r.killed = Some(State::OutOfMemory);
                        kill(r.pid);
                        continue;
                    }
                }
                if let Some(t) = limit
                    && r.started.elapsed() >= Duration::from_secs(t)
                {
                    r.killed = Some(State::Timeout);
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
                            j.states[i] = State::Cancelled(why.clone());
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
                let max = job.spec.max_concurrent.unwrap_or(usize::MAX);
                let (cpus, mem) = (job.spec.cpus, job.spec.mem_mb.unwrap_or(0));
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
                let max = job.spec.max_concurrent.unwrap_or(usize::MAX);
                let (cpus, mem) = (job.spec.cpus, job.spec.mem_mb.unwrap_or(0));
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
                job.states[i] = State::Cancelled(why);
            }
            let (cpus, mem) = (job.spec.cpus, job.spec.mem_mb.unwrap_or(0));
            for i in started {
                match spawn(&job.spec, i, self.events.clone()) {
                    Ok(pid) => {
                        job.states[i] = State::Running;
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
                        job.states[i] = State::Failed(-1);
                        let _ = std::fs::write(
                            job.spec.dir.join("logs").join(format!("{i}.err")),
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
    let logs = spec.dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let out = std::fs::File::create(logs.join(format!("{i}.out")))?;
    let err = std::fs::File::create(logs.join(format!("{i}.err")))?;
    let mut cmd = Command::new(&spec.binary);
    cmd.env("SLUICE_JOB_DIR", &spec.dir)
        .env("SLURM_ARRAY_TASK_ID", i.to_string())
        .env("SLURM_ARRAY_JOB_ID", spec.id.to_string())
        .env("SLURM_JOB_ID", (spec.id * 1_000_000 + i as u64).to_string())
        .env("SLURM_ARRAY_TASK_COUNT", spec.elements.to_string())
        .env("SLURM_ARRAY_TASK_MIN", "0")
        .env(
            "SLURM_ARRAY_TASK_MAX",
            spec.elements.saturating_sub(1).to_string(),
        )
        .env("SLURM_CPUS_PER_TASK", spec.cpus.to_string())
        .env("SLURM_JOB_NAME", &spec.name)
        .env("SLURM_NTASKS", "1")
        .env("SLURM_JOB_PARTITION", "local")
        .env("RUST_BACKTRACE", "0")
        .current_dir(&spec.dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if let Some(m) = spec.mem_mb {
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

fn peak_from_status(dir: &Path, i: usize) -> Option<u64> {
    let s = std::fs::read_to_string(dir.join("status").join(format!("{i}.json"))).ok()?;
    let v: serde_json::Value = serde_json::from_str(&s).ok()?;
    v["peak_rss_kib"].as_u64()
}

/// The runtime could not write a status for an element we killed: we do.
fn write_kill_status(dir: &Path, i: usize, state: &State) {
    let path = dir.join("status").join(format!("{i}.json"));
    if path.exists() {
        return;
    }
    let reason = match state {
        State::Cancelled(r) => r.clone(),
        other => other.name().to_string(),
    };
    let v = serde_json::json!({"index": i, "exit": -1, "state": state.name(), "error": reason});
    let _ = std::fs::write(path, v.to_string());
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
