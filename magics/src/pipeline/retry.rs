//! `--retries N`: a job's failed elements are resubmitted, up to N times,
//! each attempt asking for twice the memory when an element ran out of it
//! and twice the time when one hit its limit (sbatch has no such option;
//! this is what the design promises). Every attempt's final states stay in
//! the ledger.

use crate::domain::{ElementState, Resources};
use crate::error::MagicError;
use crate::ledger::JobRecord;
use crate::pipeline::{bind, submit, watch};
use crate::render;
use crate::session::Display;

use super::Workspace;

/// What the next attempt asks for: twice the memory if an element ended
/// OUT_OF_MEMORY, twice the time if one ended TIMEOUT (saturating; a job
/// with no memory or time limit keeps none).
pub fn escalate(r: &Resources, failed: &[ElementState]) -> Resources {
    let mut next = r.clone();
    if failed.contains(&ElementState::OutOfMemory) {
        next.mem_mb = r.mem_mb.map(|m| m.saturating_mul(2));
    }
    if failed.contains(&ElementState::Timeout) {
        next.time_limit = r.time_limit.filter(|&t| t > 0).map(|t| t.saturating_mul(2));
    }
    next
}

/// Waits for the job; while elements failed and attempts are left (the
/// job's `--retries`), records the attempt and resubmits only them.
///
/// # Errors
/// As [`watch::wait`]; a resubmission the executor refuses.
pub fn wait_with_retries(
    ws: &mut Workspace,
    job: &JobRecord,
    display: &mut dyn Display,
) -> Result<Vec<ElementState>, MagicError> {
    let retries = job.dir.retries();
    let mut attempt = ws
        .ledger()?
        .attempts(job.id)?
        .iter()
        .map(|a| a.0)
        .max()
        .unwrap_or(0)
        + 1;
    let label = |attempt: u32| {
        if retries == 0 {
            String::new()
        } else {
            format!("attempt {attempt} of {}", retries.saturating_add(1))
        }
    };
    let mut states = watch::wait(ws, job, display, &label(attempt))?;
    while attempt <= retries {
        let failed = bind::failed_elements(job);
        if failed.is_empty() {
            break;
        }
        let failed_states: Vec<ElementState> = failed
            .iter()
            .filter_map(|&e| states.get(e).cloned())
            .collect();
        ws.ledger()?
            .record_attempt(job.id, attempt, &states, &failed)?;
        let asked = escalate(&job.dir.resources(), &failed_states);
        display.show(
            &render::message(&format!(
                "`{}`: {} failed in attempt {attempt} ({}); retrying {}{}",
                job.name,
                crate::prose::count(failed.len(), "element", "elements"),
                summary(&failed_states),
                if failed.len() == 1 { "it" } else { "them" },
                changes(&job.dir.resources(), &asked),
            )),
            None,
        );
        job.dir
            .write_resources(&asked)
            .map_err(crate::error::io("writing the job's resources.json"))?;
        submit::resubmit(ws, job, failed, asked)?;
        attempt += 1;
        states = watch::wait(ws, job, display, &label(attempt))?;
    }
    Ok(states)
}

/// `2 OUT_OF_MEMORY, 1 FAILED`.
fn summary(states: &[ElementState]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for s in states {
        match counts.iter_mut().find(|(n, _)| *n == s.name()) {
            Some((_, c)) => *c += 1,
            None => counts.push((s.name(), 1)),
        }
    }
    counts
        .iter()
        .map(|(n, c)| format!("{c} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ` with --mem 1024M` / ` with --time 00:02:00` when the request grew.
fn changes(before: &Resources, after: &Resources) -> String {
    let mut out = Vec::new();
    if before.mem_mb != after.mem_mb
        && let Some(m) = after.mem_mb
    {
        out.push(format!("--mem {m}M"));
    }
    if before.time_limit != after.time_limit
        && let Some(t) = after.time_limit
    {
        out.push(format!("--time {}", crate::domain::format_time(t)));
    }
    if out.is_empty() {
        String::new()
    } else {
        format!(" with {}", out.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_memory_doubles_memory_and_timeout_doubles_time() {
        let r = Resources {
            mem_mb: Some(512),
            time_limit: Some(60),
            ..Resources::default()
        };
        let oom = escalate(&r, &[ElementState::OutOfMemory, ElementState::Failed(1)]);
        assert_eq!((oom.mem_mb, oom.time_limit), (Some(1024), Some(60)));
        let slow = escalate(&r, &[ElementState::Timeout]);
        assert_eq!((slow.mem_mb, slow.time_limit), (Some(512), Some(120)));
        let plain = escalate(&r, &[ElementState::Failed(3)]);
        assert_eq!(plain, r);
        let none = escalate(
            &Resources::default(),
            &[ElementState::OutOfMemory, ElementState::Timeout],
        );
        assert_eq!((none.mem_mb, none.time_limit), (None, None));
        let huge = Resources {
            mem_mb: Some(u64::MAX),
            ..Resources::default()
        };
        assert_eq!(
            escalate(&huge, &[ElementState::OutOfMemory]).mem_mb,
            Some(u64::MAX)
        );
        assert_eq!(changes(&r, &oom), " with --mem 1024M");
        assert_eq!(
            summary(&[ElementState::Timeout, ElementState::Timeout]),
            "2 TIMEOUT"
        );
    }
}
