//! Submit stage: a fresh job directory, the ledger record, and the job
//! handed to its backend's executor; also resubmitting failed elements
//! (`%slurm retry`), cancelling, and fetching a cluster job's files.

use crate::domain::{Backend, ElementState, JobId, JobState, Resources, within_exec_limit};
use crate::error::{MagicError, io};
use crate::executor::JobSpec;
use crate::jobdir::JobDir;
use crate::ledger::JobRecord;

use super::{Prepared, Workspace};

/// A new ledger id and its job directory (created, with `results/`,
/// `status/` and `logs/`).
///
/// # Errors
/// The ledger cannot be read, or the directory cannot be made.
pub fn new_job(ws: &mut Workspace) -> Result<(JobId, JobDir), MagicError> {
    let id = ws.ledger()?.next_id()?;
    let dir = JobDir::new(ws.sluice_dir().join("jobs").join(id.to_string()));
    dir.create()
        .map_err(io(format!("creating {}", dir.path().display())))?;
    Ok((id, dir))
}

/// Records and submits a prepared job — elements `run` of it (all of them
/// unless the result cache restored some); remembers it under its name.
///
/// # Errors
/// The ledger, the job directory, or the executor failed; nothing runs
/// then, and the ledger says so.
pub fn submit(ws: &mut Workspace, p: &Prepared, run: Vec<usize>) -> Result<JobRecord, MagicError> {
    let plan = &p.plan;
    let record = JobRecord {
        id: p.id,
        name: plan.name.clone(),
        kind: plan.kind,
        backend: plan.backend,
        items: plan.items,
        result_type: plan.result_type.clone(),
        dir: p.dir.clone(),
        binary: p.binary.clone(),
        state: JobState::Pending,
        created: super::unix_now(),
        deps: plan.deps.clone(),
        notebook: ws.config.notebook.clone().unwrap_or_default(),
    };
    p.dir
        .write_item_places(&p.item_places)
        .map_err(io("writing the job's item_places"))?;
    p.dir
        .write_shape(plan.items, plan.chunk)
        .map_err(io("writing the job's count and chunk"))?;
    p.dir
        .write_resources(&plan.resources)
        .map_err(io("writing the job's resources.json"))?;
    p.dir
        .write_retries(plan.retries)
        .map_err(io("writing the job's retries"))?;
    ws.ledger()?.insert(&record)?;
    let spec = JobSpec {
        id: p.id,
        name: plan.name.clone(),
        binary: p.binary.clone(),
        dir: p.dir.clone(),
        items: plan.items,
        chunk: plan.chunk.max(1),
        elements: plan.elements(),
        run,
        resources: plan.resources.clone(),
        deps: plan.deps.clone(),
        submit_dir: ws.config.workdir.clone(),
        environment: environment(ws, &record, &plan.resources),
    };
    if let Err(e) = check_cross_backend(ws, &record).and_then(|()| hand_over(ws, &record, &spec)) {
        // Nothing runs: the record says so, for every element (a record
        // that covers fewer elements would be read as a job in flight).
        let never = ElementState::Cancelled(format!("not submitted: {e}"));
        let _ = ws.ledger()?.record_states(
            record.id,
            JobState::Cancelled,
            &vec![never; spec.elements.max(1)],
        );
        return Err(e);
    }
    ws.jobs.insert(record.name.clone(), record.clone());
    Ok(record)
}

/// Submits elements `run` of a recorded job again, asking for `resources`
/// (`%slurm retry`); their old status files go first.
///
/// # Errors
/// The executor refused, or stale statuses could not be removed.
pub fn resubmit(
    ws: &mut Workspace,
    job: &JobRecord,
    run: Vec<usize>,
    resources: Resources,
) -> Result<(), MagicError> {
    let environment = environment(ws, job, &resources);
    let spec = JobSpec::of_record(job, run, resources, ws.config.workdir.clone(), environment);
    let items: Vec<usize> = spec
        .run
        .iter()
        .flat_map(|&e| crate::domain::items_of(spec.items, spec.chunk, e))
        .collect();
    let placed = ws.cluster_job(job)?.map(|(p, _)| p);
    ws.executor(job.backend)?
        .forget_status(&job.dir, placed.as_ref(), &items)?;
    hand_over(ws, job, &spec)?;
    ws.jobs.insert(job.name.clone(), job.clone());
    Ok(())
}

/// The elements' environment: `--export` resolved against the session's
/// environment kept in the job directory (ALL is the cluster's own over
/// SSH). None when the job needs the session's environment and it was not
/// kept (jobs of older versions): the executor's own then.
/// Variables longer than Linux lets a program start with are left out
/// ([`left_out_of_environment`] names them).
fn environment(ws: &Workspace, job: &JobRecord, r: &Resources) -> Option<Vec<(String, String)>> {
    resolved_environment(ws, job, r).map(|vars| within_exec_limit(vars).kept)
}

/// [`environment`] before the exec limit.
fn resolved_environment(
    ws: &Workspace,
    job: &JobRecord,
    r: &Resources,
) -> Option<Vec<(String, String)>> {
    let over_ssh = job.backend == Backend::Slurm && ws.config.host.is_some();
    let session = match job.dir.environment() {
        Some(env) => env,
        None if super::plan::needs_session_env(ws, job.backend, r) => return None,
        None => Vec::new(),
    };
    Some(r.export.resolve(&session, !over_ssh))
}

/// The variables `--export` gave a job that its elements were started
/// without, with their `NAME=value` size in bytes: longer than Linux's
/// limit for one ([`crate::domain::MAX_ENV_STRING`]), every start would
/// have failed with "Argument list too long".
pub fn left_out_of_environment(ws: &Workspace, job: &JobRecord) -> Vec<(String, usize)> {
    let r = job.dir.resources();
    resolved_environment(ws, job, &r).map_or_else(Vec::new, |vars| within_exec_limit(vars).too_long)
}

/// Gives the spec to the job's executor and records where a cluster keeps it.
fn hand_over(ws: &mut Workspace, record: &JobRecord, spec: &JobSpec) -> Result<(), MagicError> {
    let placed = ws.executor(record.backend)?.submit(spec)?;
    if let Some(placed) = placed {
        let host = ws.config.host_key().to_string();
        ws.ledger()?.record_cluster_job(record.id, &placed, &host)?;
    }
    Ok(())
}

/// A job can wait only for jobs of its own executor, and a job on a
/// cluster over SSH can read only results that are on that cluster.
fn check_cross_backend(ws: &mut Workspace, record: &JobRecord) -> Result<(), MagicError> {
    for d in &record.deps {
        let Some(up) = ws.job_by_id(d.job)? else {
            continue;
        };
        if up.backend == record.backend {
            continue;
        }
        let running = ws
            .live_states(up.id)
            .is_some_and(|s| s.iter().any(|s| !s.is_terminal()));
        let over_ssh = record.backend == Backend::Slurm && ws.config.host.is_some();
        if running || over_ssh {
            return Err(MagicError::Dependency(format!(
                "`{}` depends on `{}`, which runs on the {} backend; a job can only wait for (and, over SSH, read) jobs of its own backend: run `{}` with --backend {} too",
                record.name, up.name, up.backend, record.name, up.backend
            )));
        }
    }
    Ok(())
}

/// Cancels a job wherever it runs (watching a cluster job of an earlier
/// kernel again first, so its arrays are known).
///
/// # Errors
/// The executor could not deliver the cancel.
pub fn cancel(ws: &mut Workspace, job: &JobRecord) -> Result<(), MagicError> {
    if ws.live(job.id).is_none() {
        let recorded = ws.ledger()?.states(job.id)?;
        super::watch::reattach(ws, job, &recorded)?;
    }
    ws.executor(job.backend)?.cancel(job.id)?;
    Ok(())
}

/// Brings a cluster job's files here (a no-op for local jobs and on the
/// login node).
///
/// # Errors
/// The transfer failed.
pub fn fetch(ws: &mut Workspace, job: &JobRecord) -> Result<(), MagicError> {
    if let Some((placed, host)) = ws.cluster_job(job)? {
        if host.is_empty() {
            // Submitted from the login node: its files are here.
            return Ok(());
        }
        ws.check_host(job, &host)?;
        ws.executor(job.backend)?.fetch(&job.dir, &placed)?;
    }
    Ok(())
}
