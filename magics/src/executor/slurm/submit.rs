//! Submitting a job to Slurm: which elements can still run given their
//! upstream jobs, one batch script and one `sbatch` per slice (with the
//! upstream arrays as Slurm dependencies), and what the watcher tracks
//! afterwards. A slice sbatch refuses scancels the slices already
//! submitted, so a job is never half on the cluster.

use std::path::{Path, PathBuf};

use super::sbatch::{self, Slice, SlurmDependency};
use super::tracked::{Placement, Tracked};
use super::{SlurmError, SlurmExecutor, lock};
use crate::domain::{DependencyKind, ElementState, JobId};
use crate::executor::{JobSpec, Submitted};

/// What a job's dependencies leave to run.
#[derive(Debug, Default)]
struct Upstream {
    /// Elements to submit.
    run: Vec<usize>,
    /// Elements that can never run (an element-wise upstream element did
    /// not complete), with why.
    never: Vec<(usize, String)>,
    /// Slurm dependencies on upstream arrays still running.
    deps: Vec<(DependencyKind, Vec<Submitted>)>,
}

impl SlurmExecutor {
    /// Where elements start, as sbatch's `--chdir`: on the login node the
    /// spec's working directory (the notebook's, or `--chdir`); over SSH
    /// `--chdir` as given (sbatch resolves a relative one in the remote
    /// home), else the job root on the cluster (the remote workdir).
    fn working_dir(&self, spec: &JobSpec) -> Result<PathBuf, SlurmError> {
        if !lock(&self.commands)?.is_remote() {
            return Ok(spec.working_dir());
        }
        Ok(match &spec.resources.chdir {
            Some(d) => PathBuf::from(d),
            None => self.info.root.clone(),
        })
    }

    /// Stages the job's files and binary, submits one sbatch per slice, and
    /// watches the job. Returns the Slurm array ids.
    pub(super) fn submit_arrays(&mut self, spec: &JobSpec) -> Result<Vec<Submitted>, SlurmError> {
        let place = self.placement(spec, self.remote_dir(spec.id));
        let job_name = spec.resources.job_name.as_deref().unwrap_or(&spec.name);
        sbatch::check_options(&spec.resources, job_name)?;
        let remote_bin = self.stage_binary(&spec.binary)?;
        self.stage_job_files(&place)?;
        let up = self.upstream(spec)?;
        let mut submitted: Vec<Submitted> = Vec::new();
        for slice in sbatch::slices(&up.run, self.info.max_array_size) {
            match self.submit_slice(spec, job_name, &place, &remote_bin, &slice, &up.deps) {
                Ok(s) => submitted.push(s),
                Err(e) => {
                    self.scancel_quietly(&submitted);
                    return Err(e);
                }
            }
        }
        self.track(spec, place, &up, &submitted)?;
        let _ = self.wake.send(());
        Ok(submitted)
    }

    /// Dependencies: Slurm ids of upstream jobs that are still running. An
    /// upstream that already ended was checked by the caller; an
    /// element-wise one decides here which elements can still run.
    fn upstream(&self, spec: &JobSpec) -> Result<Upstream, SlurmError> {
        let mut up = Upstream {
            run: spec.run.clone(),
            ..Upstream::default()
        };
        let watched = lock(&self.watched)?;
        for d in &spec.deps {
            let Some(t) = watched.jobs.get(&d.job) else {
                continue;
            };
            if t.is_active() {
                up.deps.push((d.kind, t.slices.clone()));
                continue;
            }
            if d.kind == DependencyKind::Aftercorr {
                let never = &mut up.never;
                up.run.retain(|&e| {
                    let ok = matches!(t.states.get(e), Some(ElementState::Completed));
                    if !ok {
                        never.push((
                            e,
                            format!("DependencyNeverSatisfied: {}[{e}] did not complete", d.name),
                        ));
                    }
                    ok
                });
            }
        }
        Ok(up)
    }

    /// Writes the slice's batch script and runs its sbatch.
    fn submit_slice(
        &self,
        spec: &JobSpec,
        job_name: &str,
        place: &Placement,
        remote_bin: &Path,
        slice: &Slice,
        deps: &[(DependencyKind, Vec<Submitted>)],
    ) -> Result<Submitted, SlurmError> {
        let script = place.remote_dir.batch_script(slice.offset);
        lock(&self.commands)?.write(
            &script,
            sbatch::script(
                place.remote_dir.path(),
                remote_bin,
                slice.offset,
                spec.environment.as_deref().unwrap_or(&[]),
            )
            .as_bytes(),
            0o755,
        )?;
        let slurm_deps: Vec<SlurmDependency> = deps
            .iter()
            .map(|(kind, ups)| SlurmDependency {
                kind: *kind,
                ids: ups
                    .iter()
                    .filter(|u| *kind != DependencyKind::Aftercorr || u.offset == slice.offset)
                    .map(|u| u.array_id.clone())
                    .collect(),
            })
            .collect();
        let argv = sbatch::sbatch_argv(
            &spec.resources,
            job_name,
            &sbatch::array_spec(&slice.tasks, spec.resources.max_concurrent),
            sbatch::dependency_spec(&slurm_deps).as_deref(),
            place.remote_dir.path(),
            &self.working_dir(spec)?,
            &script,
        );
        let out = lock(&self.commands)?.run(&argv)?;
        if out.status != 0 {
            return Err(SlurmError::Sbatch(out.stderr.trim().to_string()));
        }
        let text = out.text();
        let array_id = sbatch::parse_job_id(&text).ok_or_else(|| {
            SlurmError::Sbatch(format!("unexpected sbatch output `{}`", text.trim()))
        })?;
        Ok(Submitted {
            array_id,
            offset: slice.offset,
        })
    }

    /// Records what was submitted: `run` elements pending, `never` ones
    /// cancelled, the rest as they were (a retry keeps its finished ones).
    fn track(
        &self,
        spec: &JobSpec,
        place: Placement,
        up: &Upstream,
        submitted: &[Submitted],
    ) -> Result<(), SlurmError> {
        let id: JobId = spec.id;
        let has_deps = !up.deps.is_empty();
        let mut w = lock(&self.watched)?;
        let t = w
            .jobs
            .entry(id)
            .or_insert_with(|| Tracked::new(place.clone(), spec.elements, has_deps));
        t.place = place;
        t.cancelled = false;
        t.has_deps = has_deps;
        t.states.resize(spec.elements, ElementState::Completed);
        t.reasons.resize(spec.elements, String::new());
        for &e in &up.run {
            if let Some(s) = t.states.get_mut(e) {
                *s = ElementState::Pending;
            }
        }
        for (e, why) in &up.never {
            if let Some(s) = t.states.get_mut(*e) {
                *s = ElementState::Cancelled(why.clone());
            }
        }
        t.slices.extend(submitted.iter().cloned());
        w.touch(id);
        Ok(())
    }
}
