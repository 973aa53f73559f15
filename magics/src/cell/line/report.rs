//! `%slurm report [JOB ...] [--json] [--save FILE]`: the named jobs, or
//! every job of this notebook's session, measured (`crate::report`): a
//! Gantt chart, the guide's figures and advice, or the figures as JSON.

use super::super::Magics;
use crate::error::{MagicError, io};
use crate::ledger::JobRecord;
use crate::render;
use crate::report::{self, collect::collect, tables};
use crate::session::Display;

impl Magics {
    pub(super) fn report(
        &mut self,
        names: &[String],
        json: bool,
        save: Option<String>,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let mut jobs = if names.is_empty() {
            self.session_jobs()?
        } else {
            names
                .iter()
                .map(|n| self.ws.find_job(n))
                .collect::<Result<Vec<_>, _>>()?
        };
        if jobs.is_empty() {
            // Nothing measured: the same line as every line magic, with
            // `--json` too (a notebook reader, not a parser, reads it), and
            // no file saved.
            // After a restart the notebook's earlier jobs are in the
            // ledger, not in this session.
            let earlier = self.ws.ledger()?.jobs()?;
            let text = match earlier.last() {
                Some(last) if names.is_empty() => format!(
                    "no job has run in this session yet; `%slurm report {}` reports one of the notebook's earlier jobs (`%slurm jobs` lists them)",
                    last.name
                ),
                _ => crate::error::NO_JOB_YET.to_string(),
            };
            display.show(&render::message(&text), None);
            return Ok(());
        }
        jobs.sort_by_key(|j| j.id);
        jobs.dedup_by_key(|j| j.id);
        let (timelines, machine) = collect(&mut self.ws, &jobs)?;
        let figures = report::figures(&timelines, &machine);
        let text = tables::json(&figures).map_err(|e| MagicError::Results(e.to_string()))?;
        if let Some(file) = save {
            let path = self.ws.config.workdir.join(&file);
            std::fs::write(&path, format!("{text}\n"))
                .map_err(io(format!("saving the report to {}", path.display())))?;
        }
        if json {
            display.show(&render::pre(&text), None);
        } else {
            display.show(&tables::rendered(&timelines, &figures), None);
        }
        Ok(())
    }

    /// Every job of this notebook's session: the jobs its names refer to
    /// now, and the ledger's jobs of the same notebook (the newest of each
    /// name), oldest first.
    fn session_jobs(&mut self) -> Result<Vec<JobRecord>, MagicError> {
        let notebook = self.ws.config.notebook.clone();
        let mine: Vec<u64> = self.ws.jobs.values().map(|j| j.id).collect();
        let mut newest: Vec<JobRecord> = Vec::new();
        for j in self.ws.ledger()?.jobs()? {
            let ours = mine.contains(&j.id) || notebook.as_deref().is_some_and(|n| n == j.notebook);
            if ours {
                newest.retain(|k| k.name != j.name);
                newest.push(j);
            }
        }
        Ok(newest)
    }
}
