//! Plan stage: what a magic's options mean for its [`TaskPlan`] — the
//! dependencies (`--after`, `--dependency`, jobs a body uses), the packing
//! (`--chunk K|auto`) and the resources (`--time`, `--mem`, ... with the
//! `%slurm config` defaults).
//!
//! [`TaskPlan`]: crate::domain::TaskPlan

use crate::domain::{Backend, Dependency, DependencyKind, Readiness, Resources, job_readiness};
use crate::error::MagicError;
use crate::grammar::JobOptions;
use crate::ledger::JobRecord;

use super::Workspace;
use super::watch;

/// Turns `--after` names into dependencies of kind `--dependency`,
/// refusing unknown jobs and dependencies that can already never be
/// satisfied.
///
/// # Errors
/// [`MagicError::UnknownJob`], [`MagicError::Dependency`].
pub fn dependencies(ws: &mut Workspace, opts: &JobOptions) -> Result<Vec<Dependency>, MagicError> {
    let mut deps = Vec::new();
    for name in &opts.after {
        let job = ws.find_job(name)?;
        deps.push(dependency_on(ws, &job, opts.dependency)?);
    }
    Ok(deps)
}

/// A dependency on `job`; errors at once if it can never be satisfied
/// (Slurm would leave the dependent pending with DependencyNeverSatisfied).
///
/// # Errors
/// [`MagicError::Dependency`] when `job` already ended in a way `kind`
/// cannot accept, or is not watched by this kernel and never finished.
pub fn dependency_on(
    ws: &mut Workspace,
    job: &JobRecord,
    kind: DependencyKind,
) -> Result<Dependency, MagicError> {
    let states = watch::states_of(ws, job)?;
    let live = ws.live(job.id).is_some();
    if !live && states.iter().any(|s| !s.is_terminal()) {
        return Err(MagicError::Dependency(format!(
            "`{}` is not watched by this kernel (it was submitted before a restart and never finished here); resubmit it",
            job.name
        )));
    }
    if !kind.is_element_wise()
        && let Readiness::Never(why) = job_readiness(kind, &states, &job.name)
    {
        let why = why.trim_start_matches("DependencyNeverSatisfied: ");
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

/// Items per element from `--chunk K|auto` (1 without it); `auto` asks the
/// backend's executor.
///
/// # Errors
/// [`MagicError::Items`] for a K that is not a positive number.
pub fn chunk(
    ws: &mut Workspace,
    backend: Backend,
    option: Option<&str>,
    count: usize,
) -> Result<usize, MagicError> {
    match option {
        None => Ok(1),
        Some("auto") => Ok(ws.executor(backend)?.auto_chunk(count)),
        Some(k) => k.parse::<usize>().ok().filter(|&k| k > 0).ok_or_else(|| {
            MagicError::Items(format!("--chunk {k}: use a positive number or auto"))
        }),
    }
}

/// Whether the job needs the notebook session's environment written with
/// it: `--export` ALL on this machine or a login node (over SSH, ALL is the
/// cluster's own environment), or a variable named without a value.
pub fn needs_session_env(ws: &Workspace, backend: Backend, r: &Resources) -> bool {
    let over_ssh = backend == Backend::Slurm && ws.config.host.is_some();
    r.export.vars.iter().any(|(_, v)| v.is_none()) || (r.export.all && !over_ssh)
}

/// What each element asks for: the options as given, with `%slurm config`'s
/// partition and account where the options name none.
pub fn resources(ws: &Workspace, opts: &JobOptions) -> Resources {
    let mut r = opts.resources();
    if r.partition.is_none() {
        r.partition = ws.config.partition.clone();
    }
    if r.account.is_none() {
        r.account = ws.config.account.clone();
    }
    r
}
