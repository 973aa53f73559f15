//! `%slurm jobs`, `%slurm status [JOB]` and `%slurm graph [--dot] [--all]`:
//! what the ledger and the executors know, as tables and the workflow graph.

use super::super::Magics;
use crate::domain::ElementState;
use crate::error::MagicError;
use crate::ledger::JobRecord;
use crate::pipeline::watch;
use crate::render;
use crate::session::{Display, Rendered};

impl Magics {
    pub(super) fn jobs(&mut self, display: &mut dyn Display) -> Result<(), MagicError> {
        let rows = watch::jobs_with_counts(&mut self.ws)?;
        display.show(&render::jobs_table(&rows), None);
        Ok(())
    }

    pub(super) fn graph(
        &mut self,
        dot: bool,
        all: bool,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let mut rows = watch::jobs_with_counts(&mut self.ws)?;
        if !all {
            // This session's jobs: the ones its names refer to now.
            let ids: Vec<u64> = self.ws.jobs.values().map(|j| j.id).collect();
            rows.retain(|(j, _)| ids.contains(&j.id));
        }
        if rows.is_empty() {
            display.show(&render::message(crate::error::NO_JOB_YET), None);
            return Ok(());
        }
        let w = crate::graph::Workflow::build(&rows);
        if dot {
            display.show(&render::pre(&w.dot()), None);
        } else {
            display.show(
                &Rendered {
                    text: w.text(),
                    html: None,
                    svg: Some(w.svg()),
                },
                None,
            );
        }
        Ok(())
    }

    pub(super) fn status(
        &mut self,
        job: Option<String>,
        all: bool,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let jobs: Vec<JobRecord> = match job {
            Some(j) => vec![self.ws.find_job(&j)?],
            None => {
                let notebook = self.ws.config.notebook.clone();
                let mine: Vec<u64> = self.ws.jobs.values().map(|j| j.id).collect();
                // The newest job of each name, like the names the notebook binds.
                let mut newest: Vec<JobRecord> = Vec::new();
                for j in self.ws.ledger()?.jobs()? {
                    // Without a notebook name (a front end that does not
                    // say, as after a restart under jupyter_client or
                    // nbconvert), the folder's unnamed jobs are this
                    // notebook's: a restart must not hide them.
                    let ours = all
                        || mine.contains(&j.id)
                        || match notebook.as_deref() {
                            Some(n) => n == j.notebook,
                            None => j.notebook.is_empty(),
                        };
                    if ours {
                        newest.retain(|k| k.name != j.name);
                        newest.push(j);
                    }
                }
                newest
            }
        };
        let mut rows = Vec::with_capacity(jobs.len());
        for j in jobs {
            let states = watch::states_of(&mut self.ws, &j)?;
            let mut note = reasons(&states);
            let live = self.ws.note(j.id);
            if !live.is_empty() {
                if !note.is_empty() {
                    note.push_str("; ");
                }
                note.push_str(&live);
            }
            let elapsed = watch::elapsed(&j, &states);
            rows.push(render::StatusRow {
                job: j,
                states,
                elapsed,
                note,
            });
        }
        display.show(&render::status_table(&rows), None);
        Ok(())
    }
}

/// Distinct cancellation reasons, for status lines.
fn reasons(states: &[ElementState]) -> String {
    let mut out: Vec<String> = Vec::new();
    for s in states {
        if let ElementState::Cancelled(r) = s
            && !out.contains(r)
        {
            out.push(r.clone());
        }
    }
    out.join("; ")
}
