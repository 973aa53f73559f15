//! `%%slurm map ITEMS [-> NAME] [OPTIONS]`: the plan of one array element
//! per item (or `--chunk K` items per element).

use super::Magics;
use super::captures;
use super::items::{self, Items, MAX_ITEMS};
use crate::body::parse_map_body;
use crate::domain::{DependencyKind, JobKind, TaskPlan};
use crate::error::{MagicError, io};
use crate::grammar::MapMagic;
use crate::ledger::JobRecord;
use crate::pipeline::{Prepared, build, plan};
use crate::session::{Display, Session};
use crate::taskgen::TaskKind;

impl Magics {
    /// Builds the task, writes the items and captures, and plans the job.
    pub(super) fn plan_map(
        &mut self,
        m: MapMagic,
        body: &str,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<Prepared, MagicError> {
        let backend = self.ws.backend(m.options.backend)?;
        let mb = parse_map_body(body)?;
        let name = m
            .name
            .clone()
            .or_else(|| mb.fn_name.clone())
            .unwrap_or_else(|| "results".to_string());
        let source = self.resolve_items(&m.items, session)?;

        // Build first: a compile error should not leave a job behind.
        let mut captured = Vec::new();
        let kind = match &mb.fn_name {
            Some(f) if !mb.is_closure => TaskKind::MapFn { fn_name: f.clone() },
            _ => {
                captured = captures::captures_of(body, &captures::closure_params(body), session)?;
                TaskKind::MapClosure {
                    captures: captured.clone(),
                    wrap: Default::default(),
                }
            }
        };
        let build::Built {
            binary,
            item_places,
        } = build::build(&self.ws.build_root(), &self.notebook, &kind, body, display)
            .map_err(|e| captures::explain_build_error(e, &captured))?;
        let result_type = build::output_type(
            mb.result_type.clone(),
            &binary,
            "write the result type: `fn f(x: T) -> R` or `|x: T| -> R { ... }`",
            session,
        )?;

        let items_expr = match &source {
            Items::Expression(e) => Some(e.as_str()),
            _ => None,
        };
        let captures::NewJob {
            id,
            dir,
            resources,
            items: written,
        } = self.new_job(backend, &m.options, &captured, items_expr, session)?;
        let (count, upstream_chunk, mut deps) = match &source {
            Items::Range(a, b) => (items::write_range(&dir, *a, *b)?, None, Vec::new()),
            Items::Expression(_) => (written.unwrap_or(0), None, Vec::new()),
            Items::Upstream(up) => {
                std::fs::write(dir.input(), format!("upstream:{}", up.dir.as_sibling()))
                    .map_err(io("writing the job's input file"))?;
                let dep = plan::dependency_on(&mut self.ws, up, DependencyKind::Aftercorr)?;
                (up.items, Some(up.dir.chunk()), vec![dep])
            }
        };
        if count == 0 || count > MAX_ITEMS {
            let _ = std::fs::remove_dir_all(dir.path());
            return Err(MagicError::Items(if count == 0 {
                format!("`{}` is empty: there is nothing to run", m.items)
            } else {
                format!(
                    "{count} items is more than sluice submits as one array ({MAX_ITEMS}); group them into chunks first"
                )
            }));
        }
        // Element-wise dependencies need the upstream's packing.
        let chunk = match upstream_chunk {
            Some(c) => c,
            None => plan::chunk(&mut self.ws, backend, m.options.chunk.as_deref(), count)?,
        };
        deps.extend(plan::dependencies(&mut self.ws, &m.options)?);
        Ok(Prepared {
            id,
            plan: TaskPlan {
                name,
                kind: JobKind::Map,
                backend,
                items: count,
                chunk,
                result_type,
                deps,
                resources,
                no_wait: m.options.no_wait,
                cache: m.options.cache || self.ws.config.cache,
                retries: m.options.retries,
            },
            binary,
            item_places,
            dir,
        })
    }

    /// ITEMS: a job of this session, a range of integer literals, a job
    /// recorded in the ledger by an earlier session (a bare NAME that is not
    /// a session variable), else a Rust expression for the session.
    fn resolve_items(
        &mut self,
        text: &str,
        session: &mut dyn Session,
    ) -> Result<Items, MagicError> {
        let ident = crate::grammar::is_identifier(text);
        let variable = ident && session.variables().iter().any(|(n, _)| n == text);
        let upstream = |job: JobRecord| {
            if job.kind == JobKind::Run && variable {
                // A run job's one value, bound: the session's variable.
                Ok(Items::Expression(text.to_string()))
            } else if job.kind == JobKind::Run {
                Err(MagicError::Items(format!(
                    "`{}` is a `run` job whose value is not in the session yet: `%slurm wait {}` binds it, then it can be the items",
                    job.name, job.name
                )))
            } else {
                Ok(Items::Upstream(job))
            }
        };
        if let Some(r) = items::parse_range(text) {
            return r.map(|(a, b)| Items::Range(a, b));
        }
        // The newest definition of the name wins: a variable a cell set
        // after the job of that name was submitted is the variable.
        if ident
            && !self.names.is_variable(text, variable)
            && let Some(job) = self.ws.jobs.get(text)
        {
            return upstream(job.clone());
        }
        if ident
            && !variable
            && let Ok(job) = self.ws.find_job(text)
        {
            return upstream(job);
        }
        Ok(Items::Expression(text.to_string()))
    }
}
