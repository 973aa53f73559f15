//! The report's IO: each job's [`JobTimeline`] from its job directory
//! (status files, the local executor's `usage/` records, `resources.json`),
//! its states from the pipeline's watch stage, and — for jobs on a
//! cluster — ONE sacct call for all their arrays, through the Slurm
//! executor's command runner (on the login node or over SSH): Submit,
//! TotalCPU, MaxRSS, and AllocCPUS, ReqMem, Timelimit as granted, from
//! sacct; start and end from the items' status files when they have them
//! (sacct counts whole seconds). A record slurmdbd has not closed yet (the
//! element ended moments ago) is left out, not read as 0 CPU seconds.

use std::collections::HashMap;

use super::sacct::AcctRow;
use super::timeline::{ElementRun, JobTimeline, Machine};
use crate::domain::{Backend, ElementUsage, JobId, Resources, SlurmJobId, items_of};
use crate::error::MagicError;
use crate::executor::ClusterJob;
use crate::executor::local::LocalExecutor;
use crate::ledger::JobRecord;
use crate::pipeline::{Workspace, watch};

/// The timelines of `jobs` and the machine they shared.
///
/// # Errors
/// The ledger cannot be read, the cluster cannot be reached, or sacct
/// failed (a cluster without accounting storage).
pub fn collect(
    ws: &mut Workspace,
    jobs: &[JobRecord],
) -> Result<(Vec<JobTimeline>, Machine), MagicError> {
    let accounting = cluster_accounting(ws, jobs)?;
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let states = watch::states_of(ws, job)?;
        let chunk = job.dir.chunk();
        let from_cluster = accounting.get(&job.id);
        let elements = states
            .into_iter()
            .enumerate()
            .map(|(e, state)| {
                let items = items_of(job.items, chunk, e);
                let statuses: Vec<_> = items.clone().map(|i| job.dir.read_status(i)).collect();
                let items_s = statuses
                    .iter()
                    .map(|s| s.as_ref().filter(|s| s.start > 0.0 && s.end >= s.start))
                    .map(|s| s.map(|s| s.end - s.start))
                    .sum::<Option<f64>>();
                let peak = statuses
                    .iter()
                    .flatten()
                    .map(|s| s.peak_rss_kib)
                    .max()
                    .unwrap_or(0);
                let accounted = from_cluster.and_then(|a| a.elements.get(&e).copied());
                let (mut usage, cpu_wall_s) = match accounted {
                    Some(u) => {
                        let own = from_status_files(job, e, &statuses);
                        let wall = u
                            .run_s()
                            .max(if items_s.is_some() { own.run_s() } else { 0.0 });
                        let usage = if items_s.is_some() { finer(u, &own) } else { u };
                        (usage, (u.run_s() >= 1.0).then_some(wall))
                    }
                    None => match job.dir.read_usage(e) {
                        // The local executor's record: CPU over the process's run.
                        Some(u) if job.backend == Backend::Local => (u, Some(u.run_s())),
                        // A cluster element's span kept by the watcher (no CPU).
                        Some(u) => (u, None),
                        None => (from_status_files(job, e, &statuses), None),
                    },
                };
                // sacct's MaxRSS is 0 for steps shorter than its sampling
                // period: the task's own peak (VmHWM) is then the measure.
                usage.max_rss_kib = usage.max_rss_kib.max(peak);
                ElementRun {
                    state,
                    usage,
                    items_s,
                    items: items.len(),
                    cpu_wall_s,
                }
            })
            .collect();
        out.push(JobTimeline {
            id: job.id,
            name: job.name.clone(),
            resources: match from_cluster {
                Some(a) => a.granted(job.dir.resources()),
                None => job.dir.resources(),
            },
            deps: job.deps.clone(),
            elements,
        });
    }
    let machine = if jobs.iter().all(|j| j.backend == Backend::Local) {
        let (cpus, mem_mb) = LocalExecutor::machine();
        Machine {
            cpus: Some(cpus),
            mem_mb,
        }
    } else {
        Machine::default()
    };
    Ok((out, machine))
}

/// A cluster element's run from its items' own clocks when every item has
/// one: sacct counts whole seconds, too coarse for elements of a second
/// (its Submit, TotalCPU and MaxRSS are kept).
fn finer(acct: ElementUsage, items: &ElementUsage) -> ElementUsage {
    if items.ran() && acct.ran() {
        ElementUsage {
            start: items.start,
            end: items.end,
            ..acct
        }
    } else {
        acct
    }
}

/// An element without an accounting record (a job of an older version):
/// its items' times, submitted when the job was.
fn from_status_files(
    job: &JobRecord,
    element: usize,
    statuses: &[Option<sluice_runtime::Status>],
) -> ElementUsage {
    let timed = || {
        statuses
            .iter()
            .flatten()
            .filter(|s| s.start > 0.0 && s.end >= s.start)
    };
    let start = timed().map(|s| s.start).fold(f64::INFINITY, f64::min);
    let end = timed().map(|s| s.end).fold(0.0, f64::max);
    ElementUsage {
        element,
        submit: job.created,
        start: if start.is_finite() { start } else { 0.0 },
        end,
        cpu_s: 0.0,
        max_rss_kib: 0,
    }
}

/// Element accounting of the cluster jobs among `jobs`, by job and
/// element: one sacct call for every array; the status files fetched
/// first, for the items' own times.
fn cluster_accounting(
    ws: &mut Workspace,
    jobs: &[JobRecord],
) -> Result<HashMap<JobId, Accounted>, MagicError> {
    let mut placed: Vec<(JobId, ClusterJob)> = Vec::new();
    for job in jobs.iter().filter(|j| j.backend == Backend::Slurm) {
        let Some((cluster_job, host)) = ws.cluster_job(job)? else {
            continue;
        };
        ws.check_host(job, &host)?;
        if let Err(e) = ws.executor(Backend::Slurm)?.fetch(&job.dir, &cluster_job) {
            tracing::warn!("report: cannot fetch {}'s status files: {e}", job.name);
        }
        placed.push((job.id, cluster_job));
    }
    if placed.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<SlurmJobId> = placed
        .iter()
        .flat_map(|(_, c)| c.arrays.iter().map(|a| a.array_id.clone()))
        .collect();
    let rows = ws
        .slurm()?
        .accounting(&ids)
        .map_err(|e| MagicError::Executor(e.into()))?;
    Ok(placed
        .into_iter()
        .map(|(id, c)| (id, by_element(&c, &rows)))
        .collect())
}

/// What a cluster job's elements used, and what Slurm granted them.
#[derive(Debug, Default)]
struct Accounted {
    /// By element (task id + the slice's offset).
    elements: HashMap<usize, ElementUsage>,
    /// The most CPUs an element was allocated (AllocCPUS).
    alloc_cpus: Option<u32>,
    /// Memory granted per element, MB (ReqMem: `--mem`, or the partition's
    /// default when the job gave none).
    req_mem_mb: Option<u64>,
    /// Time limit granted, seconds (Timelimit: `--time`, or the
    /// partition's default).
    time_limit_s: Option<u64>,
}

impl Accounted {
    /// Resources as Slurm granted them, where `asked` leaves a gap: the
    /// CPUs allocated, and the partition's default memory and time limit
    /// (so memory efficiency and time-limit use hold without `--mem` or
    /// `--time`).
    fn granted(&self, mut asked: Resources) -> Resources {
        if let Some(c) = self.alloc_cpus {
            asked.cpus = asked.cpus.max(c);
        }
        asked.mem_mb = asked.mem_mb.or(self.req_mem_mb);
        asked.time_limit = asked.time_limit.or(self.time_limit_s);
        asked
    }
}

/// The rows of one job's arrays by element (task id + the slice's
/// offset); a later array (a retry) replaces an earlier one's record.
fn by_element(job: &ClusterJob, rows: &[AcctRow]) -> Accounted {
    let mut out = Accounted::default();
    for a in &job.arrays {
        for r in rows.iter().filter(|r| r.array_id == a.array_id) {
            let element = r.task.saturating_add(a.offset);
            if r.complete() {
                out.elements
                    .insert(element, ElementUsage { element, ..r.usage });
            } else {
                // slurmdbd has not got the end yet (its TotalCPU reads 0):
                // the element's own files speak for it.
                out.elements.remove(&element);
            }
            out.alloc_cpus = out.alloc_cpus.max(Some(r.alloc_cpus));
            out.req_mem_mb = r.req_mem_mb.or(out.req_mem_mb);
            out.time_limit_s = r.time_limit_s.or(out.time_limit_s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::Submitted;
    use crate::report::sacct::parse_sacct_usage;

    #[test]
    fn a_retry_replaces_the_first_attempt_and_slurm_fills_the_gaps() {
        // Array 41 ran elements 0–2; a retry (array 42, offset 2) reran
        // element 2 with 2 CPUs.
        let rows = parse_sacct_usage(include_str!("../executor/slurm/fixtures/sacct-usage.txt"));
        let job = ClusterJob {
            arrays: vec![
                Submitted {
                    array_id: SlurmJobId::from("41"),
                    offset: 0,
                },
                Submitted {
                    array_id: SlurmJobId::from("42"),
                    offset: 2,
                },
            ],
            remote_dir: "/r".into(),
        };
        let a = by_element(&job, &rows);
        assert_eq!(a.elements.len(), 3);
        assert_eq!(a.elements[&2].cpu_s, 90000.0, "the retry's record");
        assert_eq!(a.elements[&2].element, 2);
        let asked = Resources {
            time_limit: Some(600),
            ..Resources::default()
        };
        let r = a.granted(asked);
        assert_eq!(r.cpus, 2, "AllocCPUS");
        assert_eq!(r.time_limit, Some(600), "what was asked stays");
        assert!(r.mem_mb.is_some(), "ReqMem fills a missing --mem");
    }

    #[test]
    fn a_record_slurmdbd_has_not_closed_is_left_to_the_elements_files() {
        // The element left the queue; its record still reads RUNNING with
        // no End and 0 CPU seconds.
        let rows = parse_sacct_usage(
            "77_0|RUNNING|1796014644|1796014644|Unknown|00:00:00||256M|1|00:01:00\n\
             77_1|COMPLETED|1796014644|1796014644|1796014646|00:01.501||256M|1|00:01:00\n",
        );
        assert!(!rows[0].complete() && rows[1].complete());
        let job = ClusterJob {
            arrays: vec![Submitted {
                array_id: SlurmJobId::from("77"),
                offset: 0,
            }],
            remote_dir: "/r".into(),
        };
        let a = by_element(&job, &rows);
        assert!(!a.elements.contains_key(&0));
        assert_eq!(a.elements[&1].cpu_s, 1.501);
    }
}
