//! The `%slurm` line magics, one small function per sub-command:
//! `config` (config.rs), `jobs`/`status`/`graph` (show.rs), `wait`/`load`/
//! `retry` (results.rs), `cancel` and `logs` (control.rs); and `%lsmagic`.

mod config;
mod control;
mod results;
mod show;

use super::Magics;
use crate::catalog;
use crate::error::MagicError;
use crate::grammar::{LineMagic, USAGE};
use crate::render;
use crate::session::{Display, Rendered, Session};

/// `%lsmagic`.
pub(super) fn lsmagic() -> Rendered {
    render::pre(&format!(
        "Cell magics: %%slurm map, %%slurm run\nLine magics: %slurm {}, %lsmagic\n\n{USAGE}",
        catalog::SLURM_LINE.join(" | ")
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
            LineMagic::Help => {
                display.show(&render::pre(USAGE), None);
                Ok(())
            }
            LineMagic::Config(c) => self.config(c, display),
            LineMagic::Jobs => self.jobs(display),
            LineMagic::Graph { dot, all } => self.graph(dot, all, display),
            LineMagic::Status { job } => self.status(job, display),
            LineMagic::Wait { job } => self.wait_line(&job, session, display),
            LineMagic::Cancel { job } => self.cancel_line(&job, display),
            LineMagic::Logs { job } => self.logs(&job, display),
            LineMagic::Retry { job } => self.retry(&job, session, display),
            LineMagic::Load { job } => self.load(&job, session, display),
        }
    }
}
