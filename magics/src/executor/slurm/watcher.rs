//! The watcher thread of the Slurm executor: the IO around
//! [`reconcile`]. Each poll copies the active jobs, asks
//! ONE `squeue` about all of them, fetches the job directories of jobs with
//! elements out of the queue (over SSH: only files newer than the last
//! fetch, less a margin) and reads their status files, asks ONE `sacct`
//! about the elements still without a final state, keeps the run spans
//! sacct gave them, and applies what `reconcile` made of it. [`Backoff`] decides when to poll next.
//!
//! **Invariant:** no transfer runs on the command runner. Fetches go
//! through the transfer runner (its own SSH session), so `scancel` and
//! `sbatch`, which use the command runner, never wait behind a tar stream;
//! squeue and sacct hold the command runner for one short call each.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};

use super::backoff::{Backoff, Polled};
use super::clock::Clock;
use super::queue::{self, Row};
use super::reconcile::{self, Change, StatusFiles, Updates};
use super::tracked::{Tracked, Watched};
use super::{SharedRunner, SlurmError, Stats, lock};
use crate::cluster::ClusterError;
use crate::domain::{ElementUsage, JobId, SlurmJobId};

/// The sub-directories of a job directory that come back from the cluster.
pub const FETCHED: [&str; 3] = crate::jobdir::JobDir::OUTPUTS;

/// Seconds taken off the newest mtime of the last fetch, so files written
/// in the same second as it still come over.
const FETCH_MARGIN_SECS: u64 = 2;

/// The watcher's side of the executor.
pub struct Watcher {
    /// squeue and sacct (shared with submit and cancel; held for one call).
    pub commands: SharedRunner,
    /// Job directory fetches (shared with [`Executor::fetch`]).
    ///
    /// [`Executor::fetch`]: crate::executor::Executor::fetch
    pub transfers: SharedRunner,
    /// The watched jobs (shared with the executor).
    pub watched: Arc<Mutex<Watched>>,
    /// Calls made.
    pub stats: Arc<Stats>,
    /// The time, for how long elements have been out of the queue.
    pub clock: Arc<dyn Clock>,
}

/// Keeps the accounted run span of each element that ended without a
/// status file as its `usage/` record, in the job's directory here (what
/// [`JobDir::run_span`](crate::jobdir::JobDir::run_span) reads for the
/// job's elapsed time). A record that cannot be written only costs that
/// figure; it is logged.
fn record_spans(jobs: &BTreeMap<JobId, Tracked>, spans: &[(JobId, usize, (u64, u64))]) {
    for &(id, element, (start, end)) in spans {
        let Some(t) = jobs.get(&id) else { continue };
        let usage = ElementUsage {
            element,
            start: start as f64,
            end: end as f64,
            ..ElementUsage::default()
        };
        if let Err(e) = t.place.local_dir.write_usage(&usage) {
            tracing::warn!("cannot keep element {element}'s run span: {e}");
        }
    }
}

impl Watcher {
    /// Polls until the executor is dropped (its wake-up sender closes).
    pub fn run(self, wake: Receiver<()>) {
        let mut backoff = Backoff::default();
        loop {
            match wake.recv_timeout(backoff.interval()) {
                Ok(()) => backoff.woken(),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            while wake.try_recv().is_ok() {}
            let polled = self.poll().unwrap_or_else(|e| {
                if let Ok(mut w) = self.watched.lock() {
                    w.trouble = Some(format!("cannot reach the cluster ({e}); retrying"));
                }
                Polled::Failed
            });
            backoff.after(polled);
        }
    }

    /// One poll of every active job.
    ///
    /// # Errors
    /// squeue could not be run, or a fetch or sacct failed midway (what
    /// was learned before is applied).
    pub fn poll(&self) -> Result<Polled, SlurmError> {
        let jobs = lock(&self.watched)?.active();
        let ids = reconcile::active_arrays(&jobs);
        if ids.is_empty() {
            return Ok(Polled::Idle);
        }
        self.stats.polls.fetch_add(1, Ordering::Relaxed);
        let rows = self.squeue(&ids)?;
        let gone = reconcile::gone_elements(&jobs, &rows);
        let (status, acct, trouble) = self.settle(&jobs, &gone);
        let updates =
            reconcile::reconcile(&jobs, &rows, &status, acct.as_deref(), self.clock.now());
        let spans = reconcile::accounted_spans(&jobs, &status, acct.as_deref(), &updates);
        record_spans(&jobs, &spans);
        let changed = self.apply(&jobs, updates)?;
        match trouble {
            Some(e) => Err(e),
            None if changed => Ok(Polled::Changed),
            None => Ok(Polled::Unchanged),
        }
    }

    /// The one squeue of a poll.
    fn squeue(&self, ids: &[SlurmJobId]) -> Result<Vec<Row>, SlurmError> {
        let out = {
            let mut c = lock(&self.commands)?;
            self.stats.squeue.fetch_add(1, Ordering::Relaxed);
            c.run(&queue::squeue_argv(ids))?
        };
        if out.status == 0 {
            Ok(queue::parse_squeue(&out.text()))
        } else if queue::squeue_forgot_them(&out.stderr) {
            Ok(Vec::new())
        } else {
            Err(SlurmError::Cluster(ClusterError::Command {
                command: "squeue".into(),
                message: out.stderr.trim().to_string(),
            }))
        }
    }

    /// Status files of the gone elements (fetched first over SSH), then
    /// one sacct for those without. A failure ends the gathering; what was
    /// gathered before it is returned with it.
    fn settle(
        &self,
        jobs: &BTreeMap<JobId, Tracked>,
        gone: &BTreeMap<JobId, Vec<usize>>,
    ) -> (StatusFiles, Option<Vec<Row>>, Option<SlurmError>) {
        let mut status = StatusFiles::new();
        for (id, t) in gone.keys().filter_map(|id| Some((*id, jobs.get(id)?))) {
            if let Err(e) = self.fetch(id, t) {
                return (status, None, Some(e));
            }
        }
        for (id, elements) in gone {
            let Some(t) = jobs.get(id) else { continue };
            for &e in elements {
                if let Some(st) = t.place.local_dir.element_state(t.place.items, e) {
                    status.insert((*id, e), st);
                }
            }
        }
        let need = reconcile::sacct_arrays(jobs, gone, &status);
        if need.is_empty() {
            return (status, None, None);
        }
        match self.sacct(&need) {
            Ok(rows) => (status, Some(rows), None),
            Err(e) => (status, None, Some(e)),
        }
    }

    /// Brings a job's results, statuses and logs here (over SSH), on the
    /// transfer runner, and notes the newest mtime seen.
    fn fetch(&self, id: JobId, t: &Tracked) -> Result<(), SlurmError> {
        let since = t.fetched.map(|m| m.saturating_sub(FETCH_MARGIN_SECS));
        let newest = {
            let mut r = lock(&self.transfers)?;
            if !r.is_remote() {
                return Ok(());
            }
            r.fetch(
                t.place.remote_dir.path(),
                &FETCHED,
                t.place.local_dir.path(),
                since,
            )?
        };
        self.stats.fetches.fetch_add(1, Ordering::Relaxed);
        if let Some(t) = lock(&self.watched)?.jobs.get_mut(&id) {
            t.fetched = newest;
        }
        Ok(())
    }

    /// The one sacct of a poll. A failed sacct (no accounting on this
    /// cluster) is no records, not an error.
    fn sacct(&self, ids: &[SlurmJobId]) -> Result<Vec<Row>, SlurmError> {
        let out = {
            let mut c = lock(&self.commands)?;
            self.stats.sacct.fetch_add(1, Ordering::Relaxed);
            c.run(&queue::sacct_argv(ids))?
        };
        if out.status == 0 {
            Ok(queue::parse_sacct(&out.text()))
        } else {
            tracing::debug!(stderr = %out.stderr.trim(), "sacct failed; no accounting records");
            Ok(Vec::new())
        }
    }

    /// Applies a poll's updates to the jobs it saw. A job the executor
    /// changed meanwhile (see [`Tracked::generation`]) is left for the next
    /// poll, which comes soon (counted as a change). Clears the trouble.
    pub(super) fn apply(
        &self,
        seen: &BTreeMap<JobId, Tracked>,
        updates: Updates,
    ) -> Result<bool, SlurmError> {
        let mut w = lock(&self.watched)?;
        w.trouble = None;
        let mut changed = updates.changed;
        for u in updates.changes {
            let Some(t) = w.jobs.get_mut(&u.job) else {
                continue;
            };
            if seen.get(&u.job).map(|s| s.generation) != Some(t.generation) {
                changed = true;
                continue;
            }
            let e = u.element;
            let (Some(state), Some(reason)) = (t.states.get_mut(e), t.reasons.get_mut(e)) else {
                continue;
            };
            match u.change {
                Change::Live {
                    state: live,
                    reason: why,
                } => {
                    *state = live;
                    *reason = why;
                    t.gone.remove(&e);
                }
                Change::Gone { since } => {
                    t.gone.entry(e).or_insert(since);
                }
                Change::Final(end) => {
                    // Results of items that did finish are kept (status files).
                    *state = end;
                    t.gone.remove(&e);
                }
            }
        }
        Ok(changed)
    }
}
