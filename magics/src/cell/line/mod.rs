//! The `%slurm` line magics, one small function per sub-command:
//! `config` (config.rs), `cache clear` (cache.rs), `jobs`/`status`/`graph` (show.rs), `wait`/`load`/
//! `retry` (results.rs), `cancel` and `logs` (control.rs), `report`
//! (report.rs); and `%lsmagic`.

mod cache;
mod config;
mod control;
mod report;
mod results;
mod show;

use super::Magics;
use crate::catalog;
use crate::error::MagicError;
use crate::grammar::{LineMagic, USAGE};
use crate::render;
use crate::session::{Display, Rendered, Session};

/// `%lsmagic`: every magic, from the clap definitions.
pub(super) fn lsmagic() -> Rendered {
    let cells: Vec<String> = catalog::cell_subcommands()
        .iter()
        .map(|s| format!("%%slurm {s}"))
        .chain(["%%sweep".to_string()])
        .collect();
    render::pre(&format!(
        "Cell magics: {}\nLine magics: %slurm {}, %lsmagic\n\n{USAGE}",
        cells.join(", "),
        catalog::line_subcommands().join(" | ")
    ))
}

impl Magics {
    pub(super) fn line(
        &mut self,
        l: LineMagic,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        match l {
            LineMagic::Help { topic } => {
                display.show(&render::pre(&crate::grammar::help(topic.as_deref())?), None);
                Ok(())
            }
            LineMagic::Config(c) => self.config(c, display),
            LineMagic::Jobs => self.jobs(display),
            LineMagic::Cache { action } => self.cache_line(action, display),
            LineMagic::Graph { dot, all } => self.graph(dot, all, display),
            LineMagic::Status { job, all } => self.status(job, all, display),
            LineMagic::Wait { job } => self.wait_line(&job, session, display),
            LineMagic::Cancel { job } => self.cancel_line(&job, display),
            LineMagic::Logs { job } => self.logs(&job, display),
            LineMagic::Retry {
                job,
                mem,
                time,
                cpus_per_task,
            } => {
                let change = |mut r: crate::domain::Resources| {
                    r.mem_mb = mem.or(r.mem_mb);
                    r.time_limit = time.or(r.time_limit);
                    r.cpus = cpus_per_task.unwrap_or(r.cpus);
                    r
                };
                self.retry(&job, &change, session, display)
            }
            LineMagic::Load { job } => self.load(&job, session, display),
            LineMagic::Report { jobs, json, save } => self.report(&jobs, json, save, display),
        }
    }
}
