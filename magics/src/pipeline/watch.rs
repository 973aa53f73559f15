//! Watch stage: a job's element states — live from the executor that
//! watches it, as the ledger recorded them, from a cluster job of an
//! earlier kernel watched again, or from the status files — and waiting
//! with one progress display redrawn in place.

use std::time::{Duration, Instant};

use crate::domain::{Counts, ElementState};
use crate::error::MagicError;
use crate::executor::JobSpec;
use crate::ledger::JobRecord;
use crate::render;
use crate::session::Display;

use super::Workspace;

/// How often a waiting cell looks at its job, and redraws the progress.
const POLL: Duration = Duration::from_millis(50);
const REDRAW: Duration = Duration::from_millis(250);

/// A job's element states: live from the executor, else as recorded.
///
/// # Errors
/// The ledger cannot be read, or a cluster job cannot be watched again.
pub fn states_of(ws: &mut Workspace, job: &JobRecord) -> Result<Vec<ElementState>, MagicError> {
    if let Some(states) = ws.live_states(job.id) {
        return Ok(states);
    }
    let elements = job.items.div_ceil(job.dir.chunk());
    let recorded = ws.ledger()?.states(job.id)?;
    if recorded.len() == elements && recorded.iter().all(ElementState::is_terminal) {
        return Ok(recorded);
    }
    // A cluster job of an earlier kernel: the cluster knows how it is.
    if reattach(ws, job, &recorded)?
        && let Some(states) = ws.live_states(job.id)
    {
        return Ok(states);
    }
    // Not watched by this kernel (a `--no-wait` job nobody waited for, or a
    // job of an earlier kernel): the status files tell.
    let states = states_from_status_files(job);
    let overall = Counts::of(states.iter()).job_state();
    ws.ledger()?.record_states(job.id, overall, &states)?;
    Ok(states)
}

/// Watches again a cluster job of an earlier kernel that had not finished
/// (its arrays are in the ledger). False if it is not one.
///
/// # Errors
/// The job was submitted through another host, or the cluster is down.
pub fn reattach(
    ws: &mut Workspace,
    job: &JobRecord,
    recorded: &[ElementState],
) -> Result<bool, MagicError> {
    let Some((placed, host)) = ws.cluster_job(job)? else {
        return Ok(false);
    };
    ws.check_host(job, &host)?;
    let spec = JobSpec::of_record(
        job,
        Vec::new(),
        job.dir.resources(),
        ws.config.workdir.clone(),
        None,
    );
    Ok(ws
        .executor(job.backend)?
        .reattach(&spec, &placed, recorded)?)
}

/// Element states from the status files, for a job no executor watches: an
/// element with items that have no status was stopped with the kernel that
/// ran it.
pub fn states_from_status_files(job: &JobRecord) -> Vec<ElementState> {
    (0..job.items.div_ceil(job.dir.chunk()))
        .map(|e| {
            job.dir.element_state(job.items, e).unwrap_or_else(|| {
                ElementState::Cancelled(
                    "the kernel that ran it stopped before it finished; `%slurm retry` reruns it"
                        .into(),
                )
            })
        })
        .collect()
}

/// Waits for the job to finish, redrawing one progress display in place
/// (with `label`, e.g. the attempt, in its note); records the final states.
///
/// # Errors
/// [`MagicError::Interrupted`] when the user stops waiting (the job goes
/// on); ledger or executor failures.
pub fn wait(
    ws: &mut Workspace,
    job: &JobRecord,
    display: &mut dyn Display,
    label: &str,
) -> Result<Vec<ElementState>, MagicError> {
    let id = format!("sluice-progress-{}-{}", job.id, unique());
    // A sweep also shows how many configurations finished and the best so far.
    let mut sweep = (job.kind == crate::domain::JobKind::Sweep)
        .then(|| super::sweep_progress::SweepProgress::of(&job.dir, job.items))
        .flatten();
    let mut shown = false;
    let mut last_draw: Option<Instant> = None;
    loop {
        let states = states_of(ws, job)?;
        let counts = Counts::of(states.iter());
        let done = counts.done();
        if done || last_draw.is_none_or(|t| t.elapsed() >= REDRAW) {
            let found = sweep
                .as_mut()
                .map_or_else(String::new, |p| p.refresh(&job.dir));
            let note = [label.to_string(), found, ws.note(job.id)]
                .into_iter()
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            let r = render::progress(
                &job.name,
                job.id,
                &counts,
                elapsed(job, &states).unwrap_or(0.0),
                &note,
            );
            if shown {
                display.update(&r, &id);
            } else {
                display.show(&r, Some(&id));
                shown = true;
            }
            last_draw = Some(Instant::now());
        }
        if done {
            let overall = counts.job_state();
            ws.ledger()?.record_states(job.id, overall, &states)?;
            if let Some(j) = ws.jobs.get_mut(&job.name) {
                j.state = overall;
            }
            return Ok(states);
        }
        if display.interrupted() {
            let r = render::progress(
                &job.name,
                job.id,
                &counts,
                elapsed(job, &states).unwrap_or(0.0),
                "stopped waiting; the job keeps running",
            );
            display.update(&r, &id);
            return Err(MagicError::Interrupted(job.name.clone()));
        }
        std::thread::sleep(POLL);
    }
}

/// How long a job has run, in seconds, as `sacct`'s Elapsed counts it for
/// an array: from its first element's start to its last element's end once
/// every element has ended (the items' status files hold both times, on
/// either executor); while it runs, since it was submitted. None for a
/// finished job none of whose items ran.
pub fn elapsed(job: &JobRecord, states: &[ElementState]) -> Option<f64> {
    elapsed_at(job, states, crate::pipeline::unix_now())
}

fn elapsed_at(job: &JobRecord, states: &[ElementState], now: f64) -> Option<f64> {
    if !states.is_empty() && states.iter().all(ElementState::is_terminal) {
        job.dir.run_span(job.items).map(|(start, end)| end - start)
    } else {
        Some((now - job.created).max(0.0))
    }
}

/// Every job of the ledger (oldest first) with its element counts.
///
/// # Errors
/// The ledger cannot be read.
pub fn jobs_with_counts(ws: &mut Workspace) -> Result<Vec<(JobRecord, Counts)>, MagicError> {
    let mut rows = Vec::new();
    for j in ws.ledger()?.jobs()? {
        let states = states_of(ws, &j)?;
        rows.push((j, Counts::of(states.iter())));
    }
    Ok(rows)
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Backend, JobKind, JobState};
    use crate::jobdir::JobDir;

    fn job(dir: &std::path::Path, items: usize, created: f64) -> JobRecord {
        JobRecord {
            id: 1,
            name: "slow".into(),
            kind: JobKind::Map,
            backend: Backend::Local,
            items,
            result_type: "u64".into(),
            dir: JobDir::new(dir),
            binary: dir.join("task"),
            state: JobState::Completed,
            created,
            deps: Vec::new(),
            notebook: String::new(),
        }
    }

    fn ran(dir: &std::path::Path, index: usize, start: f64, end: f64) {
        let status = sluice_runtime::Status {
            index,
            exit: 0,
            start,
            end,
            host: String::new(),
            peak_rss_kib: 0,
            error: None,
            state: None,
        };
        std::fs::create_dir_all(dir.join("status")).expect("status dir");
        std::fs::write(
            dir.join("status").join(format!("{index}.json")),
            serde_json::to_string(&status).expect("status as JSON"),
        )
        .expect("status written");
    }

    #[test]
    fn a_finished_job_ran_from_its_first_start_to_its_last_end() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let j = job(tmp.path(), 3, 1000.0);
        ran(tmp.path(), 0, 1002.0, 1004.5);
        ran(tmp.path(), 1, 1003.0, 1008.0);
        ran(tmp.path(), 2, 1002.5, 1006.0);
        let done = vec![ElementState::Completed; 3];
        // Asked long after it ended: still 6 s, not the time since.
        assert_eq!(elapsed_at(&j, &done, 5000.0), Some(6.0));
        // Still running: the time since it was submitted.
        let running = vec![ElementState::Completed, ElementState::Running];
        assert_eq!(elapsed_at(&j, &running, 1010.0), Some(10.0));
        // Finished without any item having run (cancelled while pending).
        let empty = tempfile::tempdir().expect("tempdir");
        let never = job(empty.path(), 2, 1000.0);
        let cancelled = vec![ElementState::Cancelled("x".into()); 2];
        assert_eq!(elapsed_at(&never, &cancelled, 5000.0), None);
    }
}
