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
    let started = Instant::now();
    let mut shown = false;
    let mut last_draw: Option<Instant> = None;
    loop {
        let states = states_of(ws, job)?;
        let counts = Counts::of(states.iter());
        let done = counts.done();
        if done || last_draw.is_none_or(|t| t.elapsed() >= REDRAW) {
            let note = [label.to_string(), ws.note(job.id)]
                .into_iter()
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
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
