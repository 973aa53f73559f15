//! `%slurm wait JOB`, `%slurm load JOB` and `%slurm retry JOB`: bind a
//! job's results (after waiting for it, from what is there, or after
//! rerunning only its failed elements with the resources it asked for).

use super::super::Magics;
use crate::domain::{ElementState, Resources};
use crate::error::MagicError;
use crate::ledger::JobRecord;
use crate::pipeline::{bind, retry, submit, watch};
use crate::render;
use crate::session::{Display, Session};

impl Magics {
    pub(super) fn wait_line(
        &mut self,
        job: &str,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let j = self.ws.find_job(job)?;
        let states = retry::wait_with_retries(&mut self.ws, &j, display)?;
        self.finish_and_say(j, &states, "", session, display)
    }

    /// Binds a job (see [`Magics::finish`]), remembers it under its name,
    /// and says what was bound after `prefix`.
    fn finish_and_say(
        &mut self,
        j: JobRecord,
        states: &[ElementState],
        prefix: &str,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let msg = self.finish(&j, states, session, display)?;
        // A job its cell did not see to the end (interrupted, `--no-wait`)
        // keeps its results now, if it was submitted with the cache on.
        crate::cache::ResultCache::new(&self.ws.sluice_dir()).record_saved(&j.dir);
        self.ws.jobs.insert(j.name.clone(), j);
        display.show(&render::message(&format!("{prefix}{msg}")), None);
        Ok(())
    }

    pub(super) fn load(
        &mut self,
        job: &str,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let j = self.ws.find_job(job)?;
        let states = watch::states_of(&mut self.ws, &j)?;
        self.finish_and_say(j, &states, "", session, display)
    }

    pub(super) fn retry(
        &mut self,
        job: &str,
        change: &dyn Fn(Resources) -> Resources,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let j = self.ws.find_job(job)?;
        let states = watch::states_of(&mut self.ws, &j)?;
        if states.iter().any(|s| !s.is_terminal()) {
            return Err(MagicError::Refused(format!(
                "`{job}` is still running; wait for it first"
            )));
        }
        let failed = bind::failed_elements(&j);
        if failed.is_empty() {
            return self.finish_and_say(j, &states, "nothing to retry; ", session, display);
        }
        display.show(
            &render::message(&format!(
                "retrying {} of `{job}`: {:?}",
                crate::prose::count(failed.len(), "failed element", "failed elements"),
                failed
            )),
            None,
        );
        // The same requests as the last attempt (older jobs: defaults),
        // with what the line changes; kept for the next retry.
        let asked = change(j.dir.resources());
        j.dir
            .write_resources(&asked)
            .map_err(crate::error::io("writing the job's resources.json"))?;
        let attempt = self
            .ws
            .ledger()?
            .attempts(j.id)?
            .iter()
            .map(|a| a.0)
            .max()
            .unwrap_or(0)
            + 1;
        self.ws
            .ledger()?
            .record_attempt(j.id, attempt, &states, &failed)?;
        submit::resubmit(&mut self.ws, &j, failed, asked)?;
        let states: Vec<ElementState> = watch::wait(&mut self.ws, &j, display, "")?;
        self.finish_and_say(j, &states, "", session, display)
    }
}
