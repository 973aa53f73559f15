//! `%slurm jobs`, `%slurm status [JOB]` and `%slurm graph [--dot] [--all]`:
//! what the ledger and the executors know, as tables and the workflow graph.

use super::super::Magics;
use crate::domain::{Counts, ElementState};
use crate::error::MagicError;
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
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let names: Vec<String> = match job {
            Some(j) => vec![j],
            None => self
                .ws
                .ledger()?
                .jobs()?
                .into_iter()
                .map(|j| j.name)
                .collect(),
        };
        let mut text = String::new();
        let mut html = String::new();
        for n in names {
            let j = self.ws.find_job(&n)?;
            let states = watch::states_of(&mut self.ws, &j)?;
            let mut note = reasons(&states);
            let live = self.ws.note(j.id);
            if !live.is_empty() {
                if !note.is_empty() {
                    note.push_str("; ");
                }
                note.push_str(&live);
            }
            let r = render::progress(&j.name, j.id, &Counts::of(states.iter()), 0.0, &note);
            text.push_str(&r.text);
            text.push('\n');
            html.push_str(r.html.as_deref().unwrap_or(""));
        }
        display.show(
            &Rendered {
                text,
                html: Some(html),
                ..Default::default()
            },
            None,
        );
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
