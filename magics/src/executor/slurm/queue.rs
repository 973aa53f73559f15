//! Reading Slurm's answers: `squeue -h -r -o %i|%T|%r` lines for the active
//! elements, `sacct -n -P -X -o JobID,State,ExitCode,Reason,Start,End` lines
//! (times as Unix seconds, `SLURM_TIME_FORMAT=%s`) for the final state and
//! run span of elements that ended without a status file, and the
//! mapping of every Slurm state name to an [`ElementState`]. The only place
//! that reads Slurm's state names and reasons as text.

use std::collections::HashMap;

use crate::domain::{ElementState, SlurmJobId};

/// The squeue format sluice asks for.
pub const SQUEUE_FORMAT: &str = "%i|%T|%r";
/// The sacct fields sluice asks for (sacct(1), `--format`).
pub const SACCT_FORMAT: &str = "JobID,State,ExitCode,Reason,Start,End";

/// `squeue` for these array ids, one line per element (`-r`).
pub fn squeue_argv(ids: &[SlurmJobId]) -> Vec<String> {
    let mut a: Vec<String> = ["squeue", "-h", "-r", "-o", SQUEUE_FORMAT, "-j"]
        .map(String::from)
        .to_vec();
    a.push(joined(ids));
    a
}

/// `env SLURM_TIME_FORMAT=%s sacct` for these array ids, allocations only,
/// parsable, times as Unix seconds (sacct(1), ENVIRONMENT VARIABLES), so
/// the cluster's time zone does not matter.
pub fn sacct_argv(ids: &[SlurmJobId]) -> Vec<String> {
    sacct_epoch_argv(true, SACCT_FORMAT, ids)
}

/// `env SLURM_TIME_FORMAT=%s sacct -n -P [-X] -o FORMAT -j IDS`: sacct's
/// parsable lines without a header, times as Unix seconds; with
/// `allocations_only`, no job steps (`-X`).
pub fn sacct_epoch_argv(allocations_only: bool, format: &str, ids: &[SlurmJobId]) -> Vec<String> {
    let mut a: Vec<String> = ["env", "SLURM_TIME_FORMAT=%s", "sacct", "-n", "-P"]
        .map(String::from)
        .to_vec();
    if allocations_only {
        a.push("-X".into());
    }
    a.extend([
        "-o".to_string(),
        format.to_string(),
        "-j".to_string(),
        joined(ids),
    ]);
    a
}

fn joined(ids: &[SlurmJobId]) -> String {
    ids.iter()
        .map(SlurmJobId::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// `scancel` of these arrays.
pub fn scancel_argv(ids: &[SlurmJobId]) -> Vec<String> {
    let mut a = vec!["scancel".to_string()];
    a.extend(ids.iter().map(|s| s.as_str().to_string()));
    a
}

/// True when squeue failed only because it knows none of the ids (every
/// array ended longer than MinJobAge ago): an empty queue, not an error.
pub fn squeue_forgot_them(stderr: &str) -> bool {
    stderr.contains("Invalid job id")
}

/// Rows by `(array id, task id)`.
pub type Index<'a> = HashMap<(&'a SlurmJobId, usize), &'a Row>;

/// Rows by `(array id, task id)`.
pub fn by_element(rows: &[Row]) -> Index<'_> {
    rows.iter().map(|r| ((&r.array_id, r.task), r)).collect()
}

/// One array element as Slurm reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The array's job id.
    pub array_id: SlurmJobId,
    /// The array task id.
    pub task: usize,
    /// What Slurm's state means; None for a state name sluice does not
    /// know (not known to be finished).
    pub state: Option<ElementState>,
    /// Pending reason (squeue) or sacct Reason, as Slurm wrote it.
    pub reason: String,
    /// sacct: it started (Start is a time, not None/Unknown); squeue: true.
    pub started: bool,
    /// sacct: its Start and End as Unix seconds, when it started and ended
    /// (whole seconds); squeue: None.
    pub span: Option<(u64, u64)>,
}

/// Parses squeue lines of `ARRAY_TASK|STATE|REASON`; other lines (a
/// non-array job, a header) are skipped.
pub fn parse_squeue(text: &str) -> Vec<Row> {
    parse(text, false)
}

/// Parses sacct lines of `ARRAY_TASK|STATE|EXIT|REASON|START|END`; other lines
/// (a job step, a non-array job) are skipped.
pub fn parse_sacct(text: &str) -> Vec<Row> {
    parse(text, true)
}

fn parse(text: &str, sacct: bool) -> Vec<Row> {
    text.lines()
        .flat_map(|line| {
            let f: Vec<&str> = line.trim().split('|').collect();
            let Some((id, tasks)) = f.first().and_then(|x| x.split_once('_')) else {
                return Vec::new();
            };
            let Some(name) = f.get(1).and_then(|s| s.split_whitespace().next()) else {
                return Vec::new();
            };
            let (exit, reason, started, span) = if sacct {
                // ExitCode is `code:signal`; a signal reads as minus its number.
                let code = |i: usize| {
                    f.get(2)
                        .and_then(|e| e.split(':').nth(i))
                        .and_then(|e| e.parse::<i32>().ok())
                        .unwrap_or(0)
                };
                let exit = match (code(0), code(1)) {
                    (0, signal) if signal > 0 => -signal,
                    (exit, _) => exit,
                };
                let start = f.get(4).copied().unwrap_or("");
                let started = !matches!(start, "" | "None" | "Unknown");
                let epoch = |i: usize| {
                    f.get(i)
                        .and_then(|t| t.trim().parse::<u64>().ok())
                        .filter(|t| *t > 0)
                };
                let span = epoch(4).zip(epoch(5)).filter(|(start, end)| end >= start);
                (exit, f.get(3).unwrap_or(&"").to_string(), started, span)
            } else {
                (0, f.get(2).unwrap_or(&"").to_string(), true, None)
            };
            let state = map_state(name, exit, &reason);
            task_ids(tasks)
                .into_iter()
                .map(|task| Row {
                    array_id: SlurmJobId::from(id),
                    task,
                    state: state.clone(),
                    reason: reason.clone(),
                    started,
                    span,
                })
                .collect()
        })
        .collect()
}

/// `4`, or `[0-2,5%2]` (a pending array's elements that never started are
/// one record): the task ids. A job step (`4.batch`) has none.
fn task_ids(s: &str) -> Vec<usize> {
    if let Ok(t) = s.parse::<usize>() {
        return vec![t];
    }
    let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return Vec::new();
    };
    let inner = inner.split('%').next().unwrap_or("");
    let mut out = Vec::new();
    for part in inner.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    out.extend(a..=b.min(a + 10_000_000));
                }
            }
            None => out.extend(part.parse::<usize>().ok()),
        }
    }
    out
}

/// What a Slurm state name means for the notebook. None: a name sluice
/// does not know (so not known to be finished).
pub fn map_state(name: &str, exit: i32, reason: &str) -> Option<ElementState> {
    Some(match name {
        "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD" => {
            ElementState::Pending
        }
        "RUNNING" | "COMPLETING" | "CONFIGURING" | "SUSPENDED" | "RESIZING" | "SIGNALING"
        | "STAGE_OUT" | "STOPPED" => ElementState::Running,
        "COMPLETED" => ElementState::Completed,
        "FAILED" => ElementState::Failed(if exit == 0 { 1 } else { exit }),
        "TIMEOUT" | "DEADLINE" => ElementState::Timeout,
        "OUT_OF_MEMORY" => ElementState::OutOfMemory,
        "NODE_FAIL" | "BOOT_FAIL" => ElementState::NodeFail,
        "PREEMPTED" => ElementState::Preempted,
        "CANCELLED" | "REVOKED" if is_dependency_reason(reason) => dependency_never_satisfied(),
        "CANCELLED" | "REVOKED" => scancelled(),
        _ => return None,
    })
}

/// True if a pending reason (or sacct Reason) says the element waited for
/// a dependency (`Dependency`, `DependencyNeverSatisfied`).
pub fn is_dependency_reason(reason: &str) -> bool {
    reason.contains("Dependency")
}

/// An element someone cancelled with scancel.
pub fn scancelled() -> ElementState {
    ElementState::Cancelled("cancelled (scancel)".into())
}

/// An element Slurm cancelled because its dependency can never be
/// satisfied (`--kill-on-invalid-dep=yes`).
pub fn dependency_never_satisfied() -> ElementState {
    ElementState::Cancelled(
        "DependencyNeverSatisfied: a job it depends on did not end as required".into(),
    )
}

/// A pending element's reason as people read it. The reasons that mean the
/// job can never start as it asked (Slurm keeps such a job pending rather
/// than refusing it; squeue(1), "JOB REASON CODES") say so, with what to do.
pub fn pending_reason(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "PartitionConfig" | "PartitionNodeLimit" => {
            "it asks for more CPUs, memory or nodes than the partition's nodes have, so it can never start as asked (compare --cpus-per-task and --mem with `sinfo -o '%P %c %m'`; `%slurm cancel` it and submit again)"
        }
        "PartitionTimeLimit" => {
            "its --time is above the partition's time limit, so it can never start as asked (see `sinfo -o '%P %l'`; `%slurm cancel` it and submit again)"
        }
        "BadConstraints" => {
            "its constraints can never be met, so it can never start as asked (`%slurm cancel` it and submit again)"
        }
        r if r.ends_with("PerJobLimit")
            || r.ends_with("PerJob")
            || r.ends_with("MinCpuNotSatisfied") =>
        {
            "it asks for more than its QOS or account allows one job, so it can never start as asked (`%slurm cancel` it and submit again with less)"
        }
        "Dependency" => "waiting for a job it depends on",
        "DependencyNeverSatisfied" => "its dependency can never be satisfied",
        "Resources" => "waiting for free CPUs or memory",
        "Priority" => "other jobs are ahead in the queue",
        "JobArrayTaskLimit" => "held by --max-concurrent",
        "QOSMaxJobsPerUserLimit" | "AssocMaxJobsLimit" | "AssocGrpCpuLimit" => {
            "held by an account or QOS limit"
        }
        "ReqNodeNotAvail" | "PartitionDown" | "PartitionInactive" | "NodeDown" => {
            "the partition's nodes are not available"
        }
        "BeginTime" => "waiting for its begin time",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_that_never_clear_say_so() {
        for r in [
            "PartitionConfig",
            "PartitionNodeLimit",
            "PartitionTimeLimit",
            "BadConstraints",
            "QOSMaxCpuPerJobLimit",
            "AssocMaxWallDurationPerJobLimit",
            "QOSMaxMemoryPerJob",
        ] {
            let text = pending_reason(r).unwrap_or_default();
            assert!(text.contains("can never start as asked"), "{r}: {text}");
        }
        assert_eq!(
            pending_reason("Resources"),
            Some("waiting for free CPUs or memory")
        );
        assert_eq!(pending_reason("SomethingNew"), None);
    }

    #[test]
    fn squeue_lines() {
        let rows = parse_squeue("6_2|PENDING|Dependency\n6_0|RUNNING|None\n7|PENDING|Dependency\n");
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].array_id.as_str(), rows[0].task), ("6", 2));
        assert_eq!(rows[0].state, Some(ElementState::Pending));
        assert_eq!(rows[1].state, Some(ElementState::Running));
        assert_eq!(
            pending_reason(&rows[0].reason),
            Some("waiting for a job it depends on")
        );
    }

    #[test]
    fn sacct_lines() {
        let rows = parse_sacct(
            "5_1|FAILED|3:0|None|2026-11-23T13:50:33\n5_2|CANCELLED by 0|0:15|None|None\n6_1|CANCELLED|0:0|Dependency|None\n5_3|TIMEOUT|0:0|None\n5_4|OUT_OF_MEMORY|0:125|None\n5_5|NODE_FAIL|0:0|None\n5_6|PREEMPTED|0:0|None\n5_7|RUNNING|0:0|None\n5_8|SPECIAL_EXIT|0:0|None\n5_1.batch|FAILED|3:0|\n",
        );
        let states: Vec<Option<ElementState>> = rows.iter().map(|r| r.state.clone()).collect();
        assert_eq!(states[0], Some(ElementState::Failed(3)));
        assert_eq!(states[1], Some(scancelled()));
        assert_eq!(states[2], Some(dependency_never_satisfied()));
        assert_eq!(states[3], Some(ElementState::Timeout));
        assert_eq!(states[4], Some(ElementState::OutOfMemory));
        assert_eq!(states[5], Some(ElementState::NodeFail));
        assert_eq!(states[6], Some(ElementState::Preempted));
        assert_eq!(states[7], Some(ElementState::Running));
        assert_eq!(states[8], None, "an unknown name is not taken for another");
        assert_eq!(rows.len(), 9, "the .batch step is not an element");
        assert!(rows[0].started && !rows[1].started);
        let never_started = parse_sacct("12_[0-2,5%2]|CANCELLED by 0|0:0|Dependency\n");
        assert!(never_started.iter().all(|r| r.span.is_none()));
        let tasks: Vec<usize> = never_started.iter().map(|r| r.task).collect();
        assert_eq!(tasks, vec![0, 1, 2, 5]);
        assert_eq!(never_started[3].state, Some(dependency_never_satisfied()));
    }

    #[test]
    fn sacct_spans_are_unix_seconds_of_elements_that_ran() {
        let rows = parse_sacct(
            "7_0|TIMEOUT|0:0|None|1796007187|1796007248\n7_1|CANCELLED by 0|0:0|None|None|1796007190\n7_2|CANCELLED by 0|0:0|None|Unknown|Unknown\n7_3|FAILED|1:0|None|1796007190|1796007100\n",
        );
        assert_eq!(rows[0].span, Some((1796007187, 1796007248)));
        assert_eq!(rows[1].span, None, "never started");
        assert_eq!(rows[2].span, None);
        assert_eq!(rows[3].span, None, "an end before its start is no span");
    }

    #[test]
    fn argv_asks_for_real_sacct_fields() {
        let ids = [SlurmJobId::from("5"), SlurmJobId::from("6")];
        assert_eq!(
            sacct_argv(&ids).join(" "),
            "env SLURM_TIME_FORMAT=%s sacct -n -P -X -o JobID,State,ExitCode,Reason,Start,End -j 5,6"
        );
        assert_eq!(
            squeue_argv(&ids).join(" "),
            "squeue -h -r -o %i|%T|%r -j 5,6"
        );
        assert_eq!(scancel_argv(&ids).join(" "), "scancel 5 6");
    }
}
