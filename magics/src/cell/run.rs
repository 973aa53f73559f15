//! `%%slurm run [-> NAME[: TYPE]] [OPTIONS]`: the plan of one job; every
//! earlier job whose NAME the body uses is loaded inside the task and
//! waited for (afterok): fan-in.

use super::Magics;
use super::captures;
use crate::body::names_used;
use crate::domain::{DependencyKind, JobKind, TaskPlan};
use crate::error::{MagicError, io};
use crate::grammar::RunMagic;
use crate::pipeline::{Prepared, build, plan};
use crate::session::{Display, Session};
use crate::taskgen::TaskKind;

impl Magics {
    /// Builds the task, writes the captures, and plans the job.
    pub(super) fn plan_run(
        &mut self,
        r: RunMagic,
        body: &str,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<Prepared, MagicError> {
        let backend = self.ws.backend(r.options.backend)?;
        if body.trim().is_empty() {
            return Err(MagicError::Body(crate::body::BodyError::Syntax(
                "the body is empty: write the expression or block the job computes".into(),
            )));
        }
        let name = r.name.clone().unwrap_or_else(|| "result".to_string());
        // Jobs the body uses: loaded in the task, and afterok dependencies.
        let mut inputs = Vec::new();
        let mut deps = Vec::new();
        let variables: Vec<String> = session.variables().into_iter().map(|(n, _)| n).collect();
        for used in names_used(body)? {
            // A variable a cell set after the job of that name was
            // submitted is the variable (captured below), not the job.
            if self.names.is_variable(&used, variables.contains(&used)) {
                continue;
            }
            let Ok(job) = self.ws.find_job(&used) else {
                continue;
            };
            if job.kind == JobKind::Run && variables.contains(&used) {
                // Its one value is bound: captured like any variable.
                continue;
            }
            if job.kind == JobKind::Run {
                return Err(MagicError::Items(format!(
                    "`{used}` is a `run` job whose value is not in the session yet: `%slurm wait {used}` binds it, then a run body can use it"
                )));
            }
            deps.push(plan::dependency_on(
                &mut self.ws,
                &job,
                DependencyKind::Afterok,
            )?);
            inputs.push((used.clone(), job.result_type.clone(), job.dir.as_sibling()));
        }
        deps.extend(plan::dependencies(&mut self.ws, &r.options)?);
        let loaded: Vec<String> = inputs.iter().map(|(n, _, _)| n.clone()).collect();
        let upstream: Vec<(String, String)> = inputs
            .iter()
            .map(|(n, _, dir)| (n.clone(), dir.clone()))
            .collect();
        let captured = captures::captures_of(body, &loaded, session)?;
        let kind = TaskKind::Run {
            inputs,
            captures: captured.clone(),
            result_type: r.result_type.clone(),
        };
        let build::Built {
            binary,
            item_places,
        } = build::build(&self.ws.build_root(), &self.notebook, &kind, body, display)
            .map_err(|e| captures::explain_build_error(e, &captured))?;
        let result_type = build::output_type(
            r.result_type.clone(),
            &binary,
            "write it as `-> NAME: TYPE`",
            session,
        )?;
        let super::captures::NewJob {
            id, dir, resources, ..
        } = self.new_job(backend, &r.options, &captured, None, session)?;
        dir.write_upstream(&upstream)
            .map_err(io("writing the run job's upstream file"))?;
        Ok(Prepared {
            id,
            plan: TaskPlan {
                name,
                kind: JobKind::Run,
                backend,
                items: 1,
                chunk: 1,
                result_type,
                deps,
                resources,
                no_wait: r.options.no_wait,
                cache: r.options.cache || self.ws.config.cache,
                retries: r.options.retries,
            },
            binary,
            item_places,
            dir,
        })
    }
}
