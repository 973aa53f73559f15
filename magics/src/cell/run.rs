//! `%%slurm run [-> NAME[: TYPE]] [OPTIONS]`: one job; every earlier job
//! whose NAME the body uses is loaded inside the task and waited for
//! (afterok): fan-in.

use super::error::io;
use super::jobs::describe_output_type;
use super::{MagicError, Magics};
use crate::body::names_used;
use crate::grammar::{DependencyKind, RunMagic};
use crate::render;
use crate::session::{Display, Session};
use crate::taskgen::TaskKind;

impl Magics {
    pub(super) fn run_job(
        &mut self,
        r: RunMagic,
        body: &str,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let backend = self.check_backend(r.options.backend.as_deref())?;
        if body.trim().is_empty() {
            return Err(MagicError::Body(crate::body::BodyError::Syntax(
                "the body is empty: write the expression or block the job computes".into(),
            )));
        }
        let name = r.name.clone().unwrap_or_else(|| "result".to_string());
        // Jobs the body uses: loaded in the task, and afterok dependencies.
        let mut inputs = Vec::new();
        let mut deps = Vec::new();
        for used in names_used(body)? {
            let Ok(job) = self.find_job(&used) else {
                continue;
            };
            let ty = if job.kind == "run" {
                return Err(MagicError::Items(format!(
                    "`{used}` is a `run` job; a run body can use map jobs' results (a Vec)"
                )));
            } else {
                job.result_type.clone()
            };
            deps.push(self.dependency_on(&job, DependencyKind::Afterok)?);
            inputs.push((used.clone(), ty, super::map::sibling(&job.dir)));
        }
        deps.extend(self.dependencies(&r.options)?);
        let loaded: Vec<String> = inputs.iter().map(|(n, _, _)| n.clone()).collect();
        let captures = super::captures::captures_of(body, &loaded, session)?;
        let kind = TaskKind::Run {
            inputs,
            captures: captures.clone(),
        };
        let built = self
            .build_task(&kind, body, display)
            .map_err(|e| super::captures::explain_build_error(e, &captures))?;
        let result_type = match r.result_type.clone() {
            Some(t) => t,
            None => describe_output_type(&built).ok_or_else(|| {
                MagicError::Build(
                    "cannot learn the result type; write it as `-> NAME: TYPE`".into(),
                )
            })?,
        };
        let (id, dir) = self.new_job_dir()?;
        super::captures::write_captures(&dir, &captures, session)?;
        std::fs::write(dir.join("count"), "1").map_err(io("writing the job's count"))?;
        let (record, spec) = super::jobs::Planned {
            id,
            name: &name,
            kind: "run",
            backend,
            items: 1,
            elements: 1,
            result_type,
            dir,
            binary: built,
            deps,
            options: &r.options,
        }
        .into_parts();
        self.submit(record.clone(), spec)?;
        if r.options.no_wait {
            display.show(
                &render::pre(&format!(
                    "queued `{name}` (job {id}); `%slurm wait {name}` binds it"
                )),
                None,
            );
            return Ok(());
        }
        let states = self.wait(&record, display)?;
        let msg = self.bind(&record, &states, session)?;
        display.show(&render::pre(&msg), None);
        Ok(())
    }
}
