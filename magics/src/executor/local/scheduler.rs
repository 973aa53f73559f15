//! The local executor's scheduler thread and the state it owns.
//!
//! [`Shared`] holds every job's element states; [`LocalExecutor`] registers
//! jobs in it and reads snapshots, the scheduler changes everything else.
//! The scheduler reacts to [`Event`]s (submit, cancel, an element exited)
//! and to a tick (time limits, memory), then admits what may start: a job
//! whose job-level dependencies allow it, its elements in order while the
//! job is under `--max-concurrent` and its `--cpus-per-task` and `--mem`
//! fit in what is left; with aftercorr, element i only after element i
//! upstream completed. A dependent that can never run is CANCELLED with
//! Slurm's DependencyNeverSatisfied reason. Every element that ran gets an
//! accounting record, `usage/<element>.json` ([`ElementUsage`]): when it
//! was submitted, started and ended, its CPU time from the reap's rusage,
//! its peak RSS.
//!
//! [`LocalExecutor`]: super::LocalExecutor

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_runtime::Status;

use super::process::{self, ElementProcess, Reaped, unix_now};
use crate::domain::{
    Dependency, DependencyKind, ElementState, ElementUsage, Readiness, Resources,
    element_readiness, items_of, job_readiness,
};
use crate::executor::{JobId, JobSpec};
use crate::jobdir::JobDir;

const TICK: Duration = Duration::from_millis(50);

/// What the scheduler reacts to.
pub(super) enum Event {
    /// Something was submitted: schedule.
    Wake,
    /// Stop every pending and running element of the job.
    Cancel(JobId),
    /// An element's process exited and was reaped.
    Exited {
        job: JobId,
        index: usize,
        reaped: Reaped,
    },
}

/// CPUs and megabytes of memory: what the machine has, what is left, or
/// what one element asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Capacity {
    /// CPUs.
    pub cpus: u32,
    /// Megabytes of memory.
    pub mem_mb: u64,
}

impl Capacity {
    fn of(r: &Resources) -> Capacity {
        Capacity {
            cpus: r.cpus,
            mem_mb: r.mem_mb.unwrap_or(0),
        }
    }

    fn fits(self, need: Capacity) -> bool {
        need.cpus <= self.cpus && need.mem_mb <= self.mem_mb
    }

    fn take(&mut self, need: Capacity) {
        self.cpus -= need.cpus;
        self.mem_mb -= need.mem_mb;
    }

    fn give(&mut self, need: Capacity) {
        self.cpus += need.cpus;
        self.mem_mb += need.mem_mb;
    }
}

/// A running element, from its start until the scheduler handles its exit.
#[derive(Debug)]
struct Running {
    process: ElementProcess,
    started: Instant,
    /// When it started, Unix seconds (for its accounting record).
    started_unix: f64,
    /// Why we killed it, if we did.
    killed: Option<ElementState>,
}

impl Running {
    /// Kills the element's process group and records why, unless it has
    /// already been reaped (then it ended on its own and keeps its state).
    fn kill(&mut self, why: ElementState) {
        if self.process.kill() {
            self.killed = Some(why);
        }
    }
}

/// One job as the scheduler sees it.
pub(super) struct JobRun {
    spec: JobSpec,
    states: Vec<ElementState>,
    peak_kib: Vec<u64>,
    /// When each element was last queued, Unix seconds.
    submitted: Vec<f64>,
    /// Elements waiting to start, in order.
    queue: VecDeque<usize>,
    running: HashMap<usize, Running>,
}

impl JobRun {
    /// Element states, by index.
    pub(super) fn states(&self) -> &[ElementState] {
        &self.states
    }

    /// Peak RSS per element in KiB.
    pub(super) fn peak_kib(&self) -> &[u64] {
        &self.peak_kib
    }
}

/// The state the scheduler owns and the handle reads.
#[derive(Default)]
pub(super) struct Shared {
    pub(super) jobs: BTreeMap<JobId, JobRun>,
}

/// Adds a job, or re-queues `spec.run` of a job already known (retry).
///
/// A job this executor has not seen before whose `run` is not every element
/// (a retry after a kernel restart) starts its other elements in the state
/// their status files say, so they do not wait for ever.
pub(super) fn register(shared: &mut Shared, spec: JobSpec) {
    let n = spec.elements;
    let job = shared.jobs.entry(spec.id).or_insert_with(|| JobRun {
        spec: spec.clone(),
        states: (0..n)
            .map(|e| {
                if spec.run.contains(&e) {
                    ElementState::Pending
                } else {
                    spec.dir.element_state(spec.items, e).unwrap_or_else(|| {
                        ElementState::Cancelled("not rerun: it ended with an earlier kernel".into())
                    })
                }
            })
            .collect(),
        peak_kib: vec![0; n],
        submitted: vec![0.0; n],
        queue: VecDeque::new(),
        running: HashMap::new(),
    });
    let now = unix_now();
    for &i in &spec.run {
        if i < n && !job.running.contains_key(&i) {
            job.states[i] = ElementState::Pending;
            job.submitted[i] = now;
            job.queue.push_back(i);
        }
    }
    job.spec = spec;
}

/// What a job's job-level dependencies say now.
enum Gate {
    /// Some upstream job has not finished.
    Wait,
    /// It can never run: why.
    Never(String),
    /// It may run; element i also waits for element i of these (aftercorr).
    Open(Vec<(JobId, String)>),
}

/// Elements leaving a job's queue in one scheduling pass.
#[derive(Default)]
struct Picked {
    /// To start now (capacity already taken).
    start: Vec<usize>,
    /// Never to run (aftercorr upstream element failed): why.
    never: Vec<(usize, String)>,
}

/// The scheduler thread's state.
pub(super) struct Scheduler {
    shared: Arc<Mutex<Shared>>,
    events: Sender<Event>,
    free: Capacity,
}

impl Scheduler {
    pub(super) fn new(
        shared: Arc<Mutex<Shared>>,
        events: Sender<Event>,
        capacity: Capacity,
    ) -> Self {
        Scheduler {
            shared,
            events,
            free: capacity,
        }
    }

    /// The loop: events, then limits every tick, then scheduling.
    pub(super) fn run(mut self, rx: Receiver<Event>) {
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
        let shared = Arc::clone(&self.shared);
        let Ok(mut shared) = shared.lock() else {
            return;
        };
        match ev {
            Event::Wake => {}
            Event::Cancel(id) => {
                if let Some(job) = shared.jobs.get_mut(&id) {
                    cancel(job);
                }
            }
            Event::Exited { job, index, reaped } => {
                if let Some(j) = shared.jobs.get_mut(&job) {
                    self.exited(j, index, reaped);
                }
            }
        }
    }

    /// Records how element `index` ended and frees what it held.
    fn exited(&mut self, job: &mut JobRun, index: usize, reaped: Reaped) {
        let Some(r) = job.running.remove(&index) else {
            return;
        };
        job.states[index] = match (r.killed, reaped.code) {
            (Some(why), _) => why,
            (None, Some(0)) => ElementState::Completed,
            (None, Some(c)) => ElementState::Failed(c),
            // Killed by a signal (SIGABRT, SIGSEGV, ...): minus its number.
            (None, None) => ElementState::Failed(reaped.signal.map_or(1, |s| -s)),
        };
        let items = items_of(job.spec.items, job.spec.chunk, index);
        if let Some(rss) = items
            .clone()
            .filter_map(|i| job.spec.dir.read_status(i))
            .map(|s| s.peak_rss_kib)
            .max()
        {
            job.peak_kib[index] = job.peak_kib[index].max(rss);
        }
        // Peak memory: the RSS sampled every tick and the task's own VmHWM,
        // not wait4's ru_maxrss, which on Linux also counts the forked
        // kernel's image before the exec.
        let usage = ElementUsage {
            element: index,
            submit: job.submitted[index],
            start: r.started_unix,
            end: reaped.end,
            cpu_s: reaped.cpu_s,
            max_rss_kib: job.peak_kib[index],
        };
        if let Err(e) = job.spec.dir.write_usage(&usage) {
            tracing::warn!("cannot record {}[{index}]'s usage: {e}", job.spec.name);
        }
        self.free.give(Capacity::of(&job.spec.resources));
        if !matches!(job.states[index], ElementState::Completed) {
            for i in items {
                write_kill_status(&job.spec.dir, i, &job.states[index]);
            }
        }
    }

    /// Kills elements over their `--mem` (OUT_OF_MEMORY) or `--time`
    /// (TIMEOUT), and records peak memory.
    fn enforce_limits(&mut self) {
        let Ok(mut shared) = self.shared.lock() else {
            return;
        };
        for job in shared.jobs.values_mut() {
            let (limit, mem) = (
                job.spec.resources.enforced_time_limit(),
                job.spec.resources.enforced_mem_mb(),
            );
            for (&i, r) in job.running.iter_mut() {
                if r.killed.is_some() {
                    continue;
                }
                if let Some(rss) = r.process.rss_kib() {
                    job.peak_kib[i] = job.peak_kib[i].max(rss);
                    if mem.is_some_and(|m| rss > m.saturating_mul(1024)) {
                        r.kill(ElementState::OutOfMemory);
                        continue;
                    }
                }
                if limit.is_some_and(|t| r.started.elapsed() >= Duration::from_secs(t)) {
                    r.kill(ElementState::Timeout);
                }
            }
        }
    }

    /// One pass over the jobs with queued elements: starts what may start,
    /// cancels what never can.
    fn schedule(&mut self) {
        let shared = Arc::clone(&self.shared);
        let Ok(mut guard) = shared.lock() else {
            return;
        };
        let shared = &mut *guard;
        let queued: Vec<JobId> = shared
            .jobs
            .iter()
            .filter(|(_, j)| !j.queue.is_empty())
            .map(|(&id, _)| id)
            .collect();
        for id in queued {
            let Some(job) = shared.jobs.get(&id) else {
                continue;
            };
            let picked = match gate(shared, &job.spec.deps) {
                Gate::Wait => continue,
                Gate::Never(why) => {
                    tracing::info!("{}: {why}", job.spec.name);
                    Picked {
                        start: Vec::new(),
                        never: job.queue.iter().map(|&i| (i, why.clone())).collect(),
                    }
                }
                Gate::Open(corr) if corr.is_empty() => self.pick_in_order(job),
                Gate::Open(corr) => self.pick_element_wise(shared, job, &corr),
            };
            if let Some(job) = shared.jobs.get_mut(&id) {
                self.start(job, picked);
            }
        }
    }

    /// Without aftercorr, elements leave from the front of the queue (O(1)
    /// each: 100,000-element arrays stay cheap) while there is room.
    fn pick_in_order(&mut self, job: &JobRun) -> Picked {
        let need = Capacity::of(&job.spec.resources);
        let room = room(job);
        let mut picked = Picked::default();
        for &i in job.queue.iter().take(room) {
            if !self.free.fits(need) {
                break;
            }
            self.free.take(need);
            picked.start.push(i);
        }
        picked
    }

    /// With aftercorr, each element is checked against element i upstream:
    /// a waiting one is skipped, a later ready one may start before it.
    fn pick_element_wise(
        &mut self,
        shared: &Shared,
        job: &JobRun,
        corr: &[(JobId, String)],
    ) -> Picked {
        let need = Capacity::of(&job.spec.resources);
        let mut room = room(job);
        let mut picked = Picked::default();
        for &i in &job.queue {
            match corr_readiness(shared, corr, i) {
                Readiness::Wait => continue,
                Readiness::Never(why) => {
                    picked.never.push((i, why));
                    continue;
                }
                Readiness::Ready => {}
            }
            if room == 0 || !self.free.fits(need) {
                break;
            }
            self.free.take(need);
            room -= 1;
            picked.start.push(i);
        }
        picked
    }

    /// Takes the picked elements off the queue: cancels those that never
    /// run and starts the others (an element that cannot start FAILS).
    fn start(&mut self, job: &mut JobRun, picked: Picked) {
        let from_front = picked.never.is_empty()
            && picked.start.len() <= job.queue.len()
            && job.queue.iter().zip(&picked.start).all(|(q, s)| q == s);
        if from_front {
            // The common case, elements in order: O(1) each.
            job.queue.drain(..picked.start.len());
        } else {
            let leaving: HashSet<usize> = picked
                .start
                .iter()
                .copied()
                .chain(picked.never.iter().map(|(i, _)| *i))
                .collect();
            job.queue.retain(|q| !leaving.contains(q));
        }
        for (i, why) in picked.never {
            job.states[i] = ElementState::Cancelled(why);
        }
        for i in picked.start {
            self.start_element(job, i);
        }
    }

    fn start_element(&mut self, job: &mut JobRun, i: usize) {
        let events = self.events.clone();
        let id = job.spec.id;
        let on_exit = move |reaped| {
            let _ = events.send(Event::Exited {
                job: id,
                index: i,
                reaped,
            });
        };
        let started_unix = unix_now();
        match process::spawn(&job.spec, i, on_exit) {
            Ok(process) => {
                job.states[i] = ElementState::Running;
                let started = Instant::now();
                let running = Running {
                    process,
                    started,
                    started_unix,
                    killed: None,
                };
                job.running.insert(i, running);
            }
            Err(e) => {
                tracing::warn!("cannot start {}[{i}]: {e}", job.spec.name);
                self.free.give(Capacity::of(&job.spec.resources));
                // The shell's code for a command it cannot run.
                job.states[i] = ElementState::Failed(127);
                let _ = std::fs::write(
                    job.spec.dir.log(i, "err"),
                    format!("sluice: cannot start the task: {e}\n"),
                );
            }
        }
    }
}

/// Cancels every queued element and kills every running one.
fn cancel(job: &mut JobRun) {
    let why = || ElementState::Cancelled("cancelled by the user".into());
    for i in job.queue.drain(..) {
        job.states[i] = why();
    }
    for r in job.running.values_mut() {
        r.kill(why());
    }
}

/// How many more elements of `job` `--max-concurrent` lets run.
fn room(job: &JobRun) -> usize {
    let max = job.spec.resources.max_concurrent.unwrap_or(usize::MAX);
    max.saturating_sub(job.running.len())
}

/// The job-level rules of `deps` (afterok, afterany, afternotok); aftercorr
/// dependencies are left for each element.
fn gate(shared: &Shared, deps: &[Dependency]) -> Gate {
    let mut wait = false;
    let mut corr = Vec::new();
    for d in deps {
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
            Readiness::Wait => wait = true,
            Readiness::Never(why) => return Gate::Never(why),
        }
    }
    if wait { Gate::Wait } else { Gate::Open(corr) }
}

/// Element `i`'s aftercorr rules: element i of every upstream job.
fn corr_readiness(shared: &Shared, corr: &[(JobId, String)], i: usize) -> Readiness {
    for (up, up_name) in corr {
        let r = match shared.jobs.get(up) {
            Some(u) => element_readiness(u.states.get(i), up_name, i),
            None => Readiness::Ready,
        };
        if r != Readiness::Ready {
            return r;
        }
    }
    Readiness::Ready
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
        exit: state.detail().0,
        start: 0.0,
        end: 0.0,
        host: String::new(),
        peak_rss_kib: 0,
        error: Some(reason),
        state: Some(state.name().to_string()),
    });
}
