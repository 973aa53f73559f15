//! What the magics share: finding jobs by name, dependencies, submitting,
//! waiting with live progress, and binding results into the session.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::{FailedItem, io};
use super::{MagicError, Magics};
use crate::executor::{Dependency, JobSpec};
use crate::grammar::{DependencyKind, JobOptions};
use crate::ledger::JobRecord;
use crate::render;
use crate::session::{Display, Session};
use crate::state::{Counts, Readiness, State, job_readiness};

/// How often a waiting cell looks at its job, and redraws the progress.
const POLL: Duration = Duration::from_millis(50);
const REDRAW: Duration = Duration::from_millis(250);

/// What a cell decided to submit: turned into the ledger record and the
/// executor's spec in one place.
pub(super) struct Planned<'a> {
    pub id: u64,
    pub name: &'a str,
    /// map, run or sweep.
    pub kind: &'a str,
    pub backend: String,
    pub items: usize,
    pub elements: usize,
    pub result_type: String,
    pub dir: PathBuf,
    pub binary: PathBuf,
    pub deps: Vec<Dependency>,
    pub options: &'a JobOptions,
}

impl Planned<'_> {
    /// The ledger record and the executor spec (all elements to run).
    pub(super) fn into_parts(self) -> (JobRecord, JobSpec) {
        let record = JobRecord {
            id: self.id,
            name: self.name.to_string(),
            kind: self.kind.to_string(),
            backend: self.backend,
            items: self.items,
            result_type: self.result_type,
            dir: self.dir.clone(),
            binary: self.binary.clone(),
            state: "PENDING".into(),
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            deps: self
                .deps
                .iter()
                .map(|d| format!("{}:{}", d.kind, d.name))
                .collect::<Vec<_>>()
                .join(","),
        };
        let spec = JobSpec {
            id: self.id,
            name: self.name.to_string(),
            binary: self.binary,
            dir: self.dir,
            elements: self.elements,
            run: (0..self.elements).collect(),
            cpus: self.options.cpus_per_task.max(1),
            mem_mb: self.options.mem,
            time_limit: self.options.time,
            max_concurrent: self.options.max_concurrent,
            deps: self.deps,
            placement: crate::executor::SlurmPlacementOptions {
                job_name: self.options.job_name.clone(),
                partition: self.options.partition.clone(),
                account: self.options.account.clone(),
                qos: self.options.qos.clone(),
                gres: self.options.gres.clone(),
            },
        };
        (record, spec)
    }
}

impl Magics {
    /// The job called `name`: from this session, else the ledger.
    pub(super) fn find_job(&mut self, name: &str) -> Result<JobRecord, MagicError> {
        if let Some(j) = self.jobs.get(name) {
            return Ok(j.clone());
        }
        match self.ledger()?.find(name)? {
            Some(j) => Ok(j),
            None => Err(MagicError::UnknownJob(name.to_string())),
        }
    }

    /// A job's element states: live from the executor, else as recorded.
    pub(super) fn states_of(&mut self, job: &JobRecord) -> Result<Vec<State>, MagicError> {
        if let Some(states) = self.live_states(job.id) {
            return Ok(states);
        }
        let elements = job
            .items
            .div_ceil(read_number(&job.dir.join("chunk")).unwrap_or(1).max(1));
        let recorded = self.ledger()?.states(job.id)?;
        if recorded.len() == elements && recorded.iter().all(State::is_terminal) {
            return Ok(recorded);
        }
        // A Slurm job of an earlier kernel: the cluster knows how it is.
        if self.reattach(job, &recorded)?
            && let Some(states) = self.live_states(job.id)
        {
            return Ok(states);
        }
        // Not watched by this kernel (a `--no-wait` job nobody waited for,
        // or a job of an earlier kernel): the status files tell.
        let states = states_from_status_files(&job.dir, job.items);
        let overall = crate::state::Counts::of(states.iter()).job_state();
        self.ledger()?.record_states(job.id, overall, &states)?;
        Ok(states)
    }

    /// Turns `--after` names into dependencies, refusing unknown jobs and
    /// dependencies that can already never be satisfied.
    pub(super) fn dependencies(
        &mut self,
        opts: &JobOptions,
    ) -> Result<Vec<Dependency>, MagicError> {
        let mut deps = Vec::new();
        for name in &opts.after {
            let job = self.find_job(name)?;
            deps.push(self.dependency_on(&job, opts.dependency)?);
        }
        Ok(deps)
    }

    /// A dependency on `job`; errors at once if it can never be satisfied.
    pub(super) fn dependency_on(
        &mut self,
        job: &JobRecord,
        kind: DependencyKind,
    ) -> Result<Dependency, MagicError> {
        let states = self.states_of(job)?;
        let live = self.live_states(job.id).is_some();
        if !live && states.iter().any(|s| !s.is_terminal()) {
            return Err(MagicError::Dependency(format!(
                "`{}` is not watched by this kernel (it was submitted before a restart and never finished here); resubmit it",
                job.name
            )));
        }
        if kind != DependencyKind::Aftercorr
            && let Readiness::Never(why) = job_readiness(kind, &states, &job.name)
        {
            return Err(MagicError::Dependency(format!(
                "{why}: this job could never start"
            )));
        }
        Ok(Dependency {
            job: job.id,
            name: job.name.clone(),
            kind,
        })
    }

    /// Creates a fresh job directory with its sub-directories.
    pub(super) fn new_job_dir(&mut self) -> Result<(u64, PathBuf), MagicError> {
        let id = self.ledger()?.next_id()?;
        let dir = self.sluice_dir().join("jobs").join(id.to_string());
        for sub in ["results", "status", "logs"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).map_err(io(format!("creating {}", d.display())))?;
        }
        Ok((id, dir))
    }

    /// Records and submits a job; remembers it under its name.
    pub(super) fn submit(&mut self, record: JobRecord, spec: JobSpec) -> Result<(), MagicError> {
        self.ledger()?.insert(&record)?;
        if let Ok(text) = serde_json::to_string(&spec.resources()) {
            std::fs::write(record.dir.join("resources.json"), text)
                .map_err(io("writing the job's resources.json"))?;
        }
        if let Err(e) = self.submit_to_backend(&record, spec) {
            // Nothing runs: the record says so.
            let _ = self.ledger()?.record_states(
                record.id,
                "CANCELLED",
                &[State::Cancelled(format!("not submitted: {e}"))],
            );
            return Err(e);
        }
        self.jobs.insert(record.name.clone(), record);
        Ok(())
    }

    /// Waits for the job to finish, redrawing one progress display in place.
    pub(super) fn wait(
        &mut self,
        job: &JobRecord,
        display: &mut dyn Display,
    ) -> Result<Vec<State>, MagicError> {
        let id = format!("sluice-progress-{}-{}", job.id, unique());
        let started = Instant::now();
        let mut shown = false;
        let mut last_draw = Instant::now() - REDRAW;
        loop {
            let states = self.states_of(job)?;
            let counts = Counts::of(states.iter());
            let done = counts.done();
            if done || last_draw.elapsed() >= REDRAW {
                let note = self.backend_note(job.id);
                let r = render::progress(
                    &job.name,
                    job.id,
                    &counts,
                    started.elapsed().as_secs_f64(),
                    &note,
                );
                if shown {
                    display.update(&r, &id);
                } else {
                    display.show(&r, Some(&id));
                    shown = true;
                }
                last_draw = Instant::now();
            }
            if done {
                let overall = counts.job_state();
                self.ledger()?.record_states(job.id, overall, &states)?;
                if let Some(j) = self.jobs.get_mut(&job.name) {
                    j.state = overall.to_string();
                }
                return Ok(states);
            }
            if display.interrupted() {
                let r = render::progress(
                    &job.name,
                    job.id,
                    &counts,
                    started.elapsed().as_secs_f64(),
                    "stopped waiting; the job keeps running",
                );
                display.update(&r, &id);
                return Err(MagicError::Interrupted(job.name.clone()));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Every job of the ledger (oldest first) with its element counts.
    pub(super) fn jobs_with_counts(&mut self) -> Result<Vec<(JobRecord, Counts)>, MagicError> {
        let mut rows = Vec::new();
        for j in self.ledger()?.jobs()? {
            let states = self.states_of(&j)?;
            rows.push((j, Counts::of(states.iter())));
        }
        Ok(rows)
    }

    /// Binds a finished job's results the way its kind does: a sweep shows
    /// its table and binds `NAME`/`NAME_best`, the others go through `bind`.
    pub(super) fn finish(
        &mut self,
        job: &JobRecord,
        states: &[State],
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<String, MagicError> {
        if job.kind == "sweep" {
            self.finish_sweep(job, states, session, display)
        } else {
            self.bind(job, states, session)
        }
    }

    /// Binds a finished job's results: `NAME` if every item succeeded,
    /// else `NAME_partial` and a TaskFailed error naming the failures.
    pub(super) fn bind(
        &mut self,
        job: &JobRecord,
        states: &[State],
        session: &mut dyn Session,
    ) -> Result<String, MagicError> {
        let results = job.dir.join("results");
        let chunk = read_number(&job.dir.join("chunk")).unwrap_or(1).max(1);
        let mut texts: Vec<Option<String>> = Vec::with_capacity(job.items);
        for i in 0..job.items {
            texts.push(std::fs::read_to_string(results.join(format!("{i}.json"))).ok());
        }
        let ok = texts.iter().filter(|t| t.is_some()).count();
        let is_run = job.kind == "run";
        let ty = &job.result_type;
        if ok == job.items {
            // Bound together with the next cell that runs (see pending.rs).
            let code = if is_run {
                format!(
                    "let {name}: {ty} = serde_json::from_str(&std::fs::read_to_string(r#\"{p}\"#).expect(\"sluice: cannot read the result of `{name}`\")).expect(\"sluice: the result of `{name}` does not match its type\");",
                    name = job.name,
                    p = results.join("0.json").display()
                )
            } else {
                let path = job.dir.join("results.json");
                write_array(&path, texts.iter().map(|t| t.as_deref().unwrap_or("null")))?;
                format!(
                    "let {name}: Vec<{ty}> = serde_json::from_str(&std::fs::read_to_string(r#\"{p}\"#).expect(\"sluice: cannot read the results of `{name}`\")).expect(\"sluice: the results of `{name}` do not match their type\");",
                    name = job.name,
                    p = path.display()
                )
            };
            self.defer_bind(&job.name, code);
            let shape = if is_run {
                ty.clone()
            } else {
                format!("Vec<{ty}>")
            };
            return Ok(format!(
                "bound `{}: {shape}` ({} item{})",
                job.name,
                job.items,
                if job.items == 1 { "" } else { "s" }
            ));
        }
        // Some failed: keep every result we have.
        let partial = format!("{}_partial", job.name);
        let path = job.dir.join("partial.json");
        write_array(&path, texts.iter().map(|t| t.as_deref().unwrap_or("null")))?;
        let code = format!(
            "let {partial}: Vec<Option<{ty}>> = serde_json::from_str(&std::fs::read_to_string(r#\"{p}\"#).expect(\"sluice: cannot read results\")).expect(\"sluice: the results do not match the type\");",
            p = path.display()
        );
        let bound = self.bind_now(&partial, &code, session);
        let failed_items: Vec<FailedItem> = texts
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_none())
            .take(10)
            .map(|(i, _)| {
                let element = i / chunk;
                let state = states.get(element).cloned().unwrap_or(State::Failed(-1));
                FailedItem {
                    index: i,
                    state: describe_state(&state),
                    stderr_tail: tail(&job.dir.join("logs").join(format!("{element}.err")), 6),
                }
            })
            .collect();
        if let Err(e) = bound {
            return Err(MagicError::Bind(format!(
                "{} of {} items failed, and the partial results (in {}) could not be bound: {}",
                job.items - ok,
                job.items,
                path.display(),
                e.lines().next().unwrap_or("")
            )));
        }
        Err(MagicError::TaskFailed {
            name: job.name.clone(),
            total: job.items,
            failed: job.items - ok,
            ok,
            partial,
            items: failed_items,
        })
    }

    /// Items that have no result (to retry), as element indices.
    pub(super) fn failed_elements(&self, job: &JobRecord) -> Vec<usize> {
        let chunk = read_number(&job.dir.join("chunk")).unwrap_or(1).max(1);
        let mut out: Vec<usize> = (0..job.items)
            .filter(|i| !job.dir.join("results").join(format!("{i}.json")).exists())
            .map(|i| i / chunk)
            .collect();
        out.dedup();
        out
    }
}

fn describe_state(s: &State) -> String {
    match s {
        State::Failed(c) => format!("FAILED (exit {c})"),
        State::Cancelled(r) => format!("CANCELLED ({r})"),
        State::Timeout => "TIMEOUT (killed at its --time limit)".into(),
        State::OutOfMemory => "OUT_OF_MEMORY (killed above its --mem limit)".into(),
        State::NodeFail => "NODE_FAIL (its node failed; `%slurm retry` reruns it)".into(),
        State::Preempted => "PREEMPTED (a higher-priority job took its place)".into(),
        other => other.name().to_string(),
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Element states from the status files, for a job no executor watches:
/// an element with items that have no status was stopped with the kernel
/// that ran it.
pub(super) fn states_from_status_files(dir: &Path, items: usize) -> Vec<State> {
    let chunk = read_number(&dir.join("chunk")).unwrap_or(1).max(1);
    (0..items.div_ceil(chunk))
        .map(|e| {
            crate::executor::status::element_state(dir, items, chunk, e).unwrap_or_else(|| {
                State::Cancelled(
                    "the kernel that ran it stopped before it finished; `%slurm retry` reruns it"
                        .into(),
                )
            })
        })
        .collect()
}

/// Reads a small number file (count, chunk).
pub(super) fn read_number(path: &Path) -> Option<usize> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The last `n` lines of a file ("" if missing).
pub(super) fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Writes `[a,b,...]` from already-serialized JSON values, without parsing them.
fn write_array<'a>(path: &Path, items: impl Iterator<Item = &'a str>) -> Result<(), MagicError> {
    let f = std::fs::File::create(path).map_err(io(format!("writing {}", path.display())))?;
    let mut w = std::io::BufWriter::new(f);
    let write = || -> std::io::Result<()> {
        w.write_all(b"[")?;
        for (i, t) in items.enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            w.write_all(t.trim().as_bytes())?;
        }
        w.write_all(b"]")?;
        w.flush()
    };
    write().map_err(io(format!("writing {}", path.display())))
}

/// Asks a task binary for its input and output types (`--describe`), and
/// rewrites `std::any::type_name` paths into names the session understands.
pub(super) fn describe_output_type(binary: &Path) -> Option<String> {
    let out = std::process::Command::new(binary)
        .arg("--describe")
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["output"].as_str().map(normalize_type_name)
}

/// `alloc::vec::Vec<sluice_task_ab12::Point>` → `std::vec::Vec<Point>`.
pub fn normalize_type_name(t: &str) -> String {
    let mut s = t.to_string();
    for (from, to) in [
        ("std::collections::hash::map::", "std::collections::"),
        ("std::collections::hash::set::", "std::collections::"),
        ("std::collections::btree::map::", "std::collections::"),
        ("std::collections::btree::set::", "std::collections::"),
        ("alloc::", "std::"),
        ("core::", "std::"),
    ] {
        s = s.replace(from, to);
    }
    // Items of the task crate are the notebook's own: drop the crate path.
    while let Some(start) = s.find("sluice_task_") {
        match s[start..].find("::") {
            Some(end) => s.replace_range(start..start + end + 2, ""),
            None => break,
        }
    }
    s.replace("std::collections::hash::map::", "std::collections::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_become_session_names() {
        assert_eq!(
            normalize_type_name("alloc::vec::Vec<i64>"),
            "std::vec::Vec<i64>"
        );
        assert_eq!(
            normalize_type_name(
                "std::collections::hash::map::HashMap<alloc::string::String, sluice_task_0123abcd::Point>"
            ),
            "std::collections::HashMap<std::string::String, Point>"
        );
        assert_eq!(normalize_type_name("(i32, f64)"), "(i32, f64)");
    }
}
