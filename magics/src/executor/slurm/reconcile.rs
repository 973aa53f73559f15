//! The Slurm watcher's rules, with no IO, no locks and no clock: given
//! the watched jobs, one poll's `squeue` rows, the status files read for
//! elements that left the queue, the `sacct` rows (if sacct was asked) and
//! the time, [`reconcile`] says what changed. The watcher (`watcher.rs`)
//! gathers those inputs and applies the [`Updates`].
//!
//! The rules:
//! - An element in the queue with a live state takes it, and its pending
//!   reason, from squeue (newest array first, for retries).
//! - An element out of the queue (or whose queue state is final or
//!   unknown: squeue alone never decides how an element ended) takes its
//!   final state from its status files; else from sacct.
//! - sacct lags the queue: no record yet means ask again next poll, until
//!   the element has been gone for [`LOST_AFTER`]; then it is CANCELLED
//!   with a reason that says so.
//! - After scancel, an element gone without a status file or record was
//!   cancelled, and a CANCELLED record says "cancelled (scancel)".
//! - A CANCELLED record of an element that waited on a dependency (its
//!   queue reason said so, or it was submitted with dependencies and never
//!   started) is DependencyNeverSatisfied: sacct does not always keep the
//!   reason Slurm cancelled it for.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::queue::{self, Index, Row};
use super::tracked::Tracked;
use crate::domain::{ElementState, JobId, SlurmJobId};

/// How long an element may be out of the queue with no status file and no
/// accounting record before it is declared lost.
pub const LOST_AFTER: Duration = Duration::from_secs(60);

/// Final states read from status files, by `(job, element)`.
pub type StatusFiles = BTreeMap<(JobId, usize), ElementState>;

/// What one poll learned about one element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// In the queue, not finished: its state and pending reason.
    Live {
        /// Pending or running (or another live state).
        state: ElementState,
        /// squeue's reason, as Slurm wrote it.
        reason: String,
    },
    /// First seen out of the queue, with no final state yet.
    Gone {
        /// When it was first seen gone.
        since: Instant,
    },
    /// Ended.
    Final(ElementState),
}

/// One element's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The job.
    pub job: JobId,
    /// The element.
    pub element: usize,
    /// What changed.
    pub change: Change,
}

/// Everything one poll changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Updates {
    /// Per element, in job and element order.
    pub changes: Vec<Update>,
    /// Some element's state changed (the poll interval starts over).
    pub changed: bool,
}

/// The arrays of every job with an unfinished element, sorted, once each:
/// what the poll's one `squeue` asks about.
pub fn active_arrays(jobs: &BTreeMap<JobId, Tracked>) -> Vec<SlurmJobId> {
    let ids: BTreeSet<&SlurmJobId> = jobs
        .values()
        .filter(|t| t.is_active())
        .flat_map(|t| t.slices.iter().map(|s| &s.array_id))
        .collect();
    ids.into_iter().cloned().collect()
}

/// The unfinished elements the queue does not show as live, by job: whose
/// status files are read (fetched first over SSH).
pub fn gone_elements(
    jobs: &BTreeMap<JobId, Tracked>,
    queue: &[Row],
) -> BTreeMap<JobId, Vec<usize>> {
    let live = queue::by_element(queue);
    let mut out: BTreeMap<JobId, Vec<usize>> = BTreeMap::new();
    for (id, t) in jobs {
        for (e, s) in t.states.iter().enumerate() {
            if !s.is_terminal() && live_state(t, e, &live).is_none() {
                out.entry(*id).or_default().push(e);
            }
        }
    }
    out
}

/// The arrays to ask `sacct` about (one call for all): those of gone
/// elements without a status file. Empty: no sacct this poll.
pub fn sacct_arrays(
    jobs: &BTreeMap<JobId, Tracked>,
    gone: &BTreeMap<JobId, Vec<usize>>,
    status: &StatusFiles,
) -> Vec<SlurmJobId> {
    let mut ids: BTreeSet<&SlurmJobId> = BTreeSet::new();
    for (id, elements) in gone {
        let Some(t) = jobs.get(id) else { continue };
        for &e in elements {
            if !status.contains_key(&(*id, e))
                && let Some((array, _)) = accounting_key(t, e)
            {
                ids.insert(array);
            }
        }
    }
    ids.into_iter().cloned().collect()
}

/// What changed, from one poll's answers. `acct`: sacct's rows, or None
/// when sacct was not asked (or could not be reached) this poll.
pub fn reconcile(
    jobs: &BTreeMap<JobId, Tracked>,
    queue: &[Row],
    status: &StatusFiles,
    acct: Option<&[Row]>,
    now: Instant,
) -> Updates {
    let live = queue::by_element(queue);
    let acct = acct.map(queue::by_element);
    let mut out = Updates::default();
    for (id, t) in jobs {
        for (e, current) in t.states.iter().enumerate() {
            if current.is_terminal() {
                continue;
            }
            let change = match live_state(t, e, &live) {
                Some((state, reason)) => Some(Change::Live {
                    state,
                    reason: reason.to_string(),
                }),
                None => settle(t, (*id, e), status, acct.as_ref(), now),
            };
            let Some(change) = change else { continue };
            out.changed |= match &change {
                Change::Live { state, .. } => state != current,
                Change::Gone { .. } => false,
                Change::Final(_) => true,
            };
            out.changes.push(Update {
                job: *id,
                element: e,
                change,
            });
        }
    }
    out
}

/// The element's live state and reason in the queue (any of its arrays,
/// newest first); None if the queue does not show it as live.
fn live_state<'a>(t: &Tracked, e: usize, live: &Index<'a>) -> Option<(ElementState, &'a str)> {
    let row = t.slices.iter().rev().find_map(|s| {
        e.checked_sub(s.offset)
            .and_then(|task| live.get(&(&s.array_id, task)).copied())
    })?;
    match &row.state {
        Some(st) if !st.is_terminal() => Some((st.clone(), row.reason.as_str())),
        _ => None,
    }
}

/// Where accounting has the element: its newest array at or below it.
fn accounting_key(t: &Tracked, e: usize) -> Option<(&SlurmJobId, usize)> {
    let s = t.slices.iter().rev().find(|s| e >= s.offset)?;
    Some((&s.array_id, e - s.offset))
}

/// A gone element: its final state if the status files or accounting
/// know it (or it was cancelled, or is lost); else it stays gone.
fn settle(
    t: &Tracked,
    (id, e): (JobId, usize),
    status: &StatusFiles,
    acct: Option<&Index<'_>>,
    now: Instant,
) -> Option<Change> {
    let since = t.gone.get(&e).copied();
    let wait = || since.is_none().then_some(Change::Gone { since: now });
    if let Some(st) = status.get(&(id, e)) {
        return Some(Change::Final(st.clone()));
    }
    let (Some(acct), Some(key)) = (acct, accounting_key(t, e)) else {
        return wait();
    };
    let record = acct.get(&key).and_then(|r| from_record(t, e, r));
    let gone_for = now.saturating_duration_since(since.unwrap_or(now));
    match record {
        Some(st) => Some(Change::Final(st)),
        None if t.cancelled => Some(Change::Final(queue::scancelled())),
        None if gone_for > LOST_AFTER => Some(Change::Final(lost())),
        // Accounting lags the queue: ask again next poll.
        None => wait(),
    }
}

/// The final state an accounting record gives element `e`, if it is final.
fn from_record(t: &Tracked, e: usize, r: &Row) -> Option<ElementState> {
    match &r.state {
        Some(ElementState::Cancelled(_)) if t.cancelled => Some(queue::scancelled()),
        Some(ElementState::Cancelled(_))
            if t.reasons
                .get(e)
                .is_some_and(|r| queue::is_dependency_reason(r))
                || (t.has_deps && !r.started) =>
        {
            Some(queue::dependency_never_satisfied())
        }
        Some(st) if st.is_terminal() => Some(st.clone()),
        _ => None,
    }
}

/// The run spans accounting gave the elements `updates` ended without a
/// status file (killed at a time or memory limit, cancelled while
/// running): `(job, element, (start, end))` in Unix seconds, whole
/// seconds as sacct counts them. The watcher keeps them in the job
/// directory, so how long such a job ran is known.
pub fn accounted_spans(
    jobs: &BTreeMap<JobId, Tracked>,
    status: &StatusFiles,
    acct: Option<&[Row]>,
    updates: &Updates,
) -> Vec<(JobId, usize, (u64, u64))> {
    let Some(acct) = acct.map(queue::by_element) else {
        return Vec::new();
    };
    updates
        .changes
        .iter()
        .filter(|u| matches!(u.change, Change::Final(_)))
        .filter(|u| !status.contains_key(&(u.job, u.element)))
        .filter_map(|u| {
            let key = accounting_key(jobs.get(&u.job)?, u.element)?;
            let span = acct.get(&key)?.span?;
            Some((u.job, u.element, span))
        })
        .collect()
}

/// An element that left the queue with no trace of how it ended.
pub fn lost() -> ElementState {
    ElementState::Cancelled(
        "it left Slurm's queue without writing a status, and Slurm's accounting has no record of how it ended; `%slurm retry` reruns it".into(),
    )
}
