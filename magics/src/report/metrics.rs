//! The figures of `%slurm report`, computed from timelines: per job
//! ([`JobFigures`]) and for the workflow ([`Figures`]), with the guide's
//! definitions (`/work/shared/seeds/002`, "Measuring parallel
//! performance"):
//!
//! - speedup = sequential time ÷ parallel time, where sequential time is
//!   the sum of every element's run time and parallel time the wall time
//!   from the first submit to the last end;
//! - efficiency = speedup ÷ workers, the CPUs the executor could use (the
//!   local executor's capacity; on Slurm the most CPUs allocated at once);
//! - utilization = busy CPU-seconds ÷ (workers × wall).
//!
//! Each is marked against the guide's bars ([`Mark`]). No IO.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::ElementState;

use super::advice;
use super::critical::{self, CriticalPath};
use super::timeline::{JobTimeline, Machine};

/// The guide's bar for efficiency: above 70 %.
pub const EFFICIENCY_BAR: f64 = 0.70;
/// The guide's bar for utilization: above 80 %.
pub const UTILIZATION_BAR: f64 = 0.80;
/// The guide's bar for speedup: above 2×.
pub const SPEEDUP_BAR: f64 = 2.0;

/// The figures of one job (the keys of `--json`'s `jobs` entries).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobFigures {
    /// The NAME it was bound to.
    pub name: String,
    /// Array elements.
    pub elements: usize,
    /// Slurm state name → elements in it.
    pub states: BTreeMap<String, usize>,
    /// First start to last end, seconds.
    pub wall_s: f64,
    /// Sum of the elements' run times, seconds.
    pub busy_s: f64,
    /// Mean element run time, seconds.
    pub mean_s: f64,
    /// Longest element run time, seconds.
    pub max_s: f64,
    /// Mean wait from submit to start, seconds.
    pub queue_wait_mean_s: f64,
    /// CPU time ÷ (run time × CPUs asked); None if nothing ran.
    pub cpu_efficiency: Option<f64>,
    /// Peak RSS ÷ `--mem`; None without `--mem` or a measured peak.
    pub mem_efficiency: Option<f64>,
    /// Longest element ÷ `--time`; None without a time limit.
    pub time_use: Option<f64>,
    /// What to change, computed from the measurements.
    pub advice: Vec<String>,
    /// Longest wait from submit to start, seconds.
    #[serde(skip)]
    pub queue_wait_max_s: f64,
    /// Highest peak RSS of an element, KiB (0: unknown).
    #[serde(skip)]
    pub peak_rss_kib: u64,
    /// Most of its elements running at once.
    #[serde(skip)]
    pub most_at_once: usize,
}

/// The workflow's figures (the top level of `--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// First submit to last end, seconds (the parallel time).
    pub wall_s: f64,
    /// Sum of every element's run time, seconds (the sequential time).
    pub busy_s: f64,
    /// CPUs the executor could use.
    pub workers: u32,
    /// busy ÷ wall.
    pub speedup: f64,
    /// speedup ÷ workers.
    pub efficiency: f64,
    /// busy CPU-seconds ÷ (workers × wall).
    pub utilization: f64,
    /// The longest chain of run times through the dependencies.
    pub critical_path: CriticalPath,
    /// Each job's figures, in the order given.
    pub jobs: Vec<JobFigures>,
    /// First submit, Unix seconds (the Gantt chart's zero).
    #[serde(skip)]
    pub origin: f64,
}

/// A figure against the guide's bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    /// `speedup`, `efficiency` or `utilization`.
    pub name: &'static str,
    /// The figure.
    pub value: f64,
    /// The bar it should be above.
    pub bar: f64,
}

impl Mark {
    /// True if the figure is above the bar.
    pub fn ok(&self) -> bool {
        self.value > self.bar
    }
}

impl Figures {
    /// Speedup, efficiency and utilization against the guide's bars.
    pub fn marks(&self) -> [Mark; 3] {
        [
            Mark {
                name: "speedup",
                value: self.speedup,
                bar: SPEEDUP_BAR,
            },
            Mark {
                name: "efficiency",
                value: self.efficiency,
                bar: EFFICIENCY_BAR,
            },
            Mark {
                name: "utilization",
                value: self.utilization,
                bar: UTILIZATION_BAR,
            },
        ]
    }
}

/// `a ÷ b`, 0 when `b` is not positive.
pub(super) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// The most CPUs (`by_cpus`) or elements of `jobs` running at once: a
/// sweep over starts and ends, an end before a start at the same instant.
pub fn most_at_once<'a>(jobs: impl Iterator<Item = &'a JobTimeline>, by_cpus: bool) -> u64 {
    let mut events: Vec<(f64, i64)> = Vec::new();
    for job in jobs {
        let w = if by_cpus {
            i64::from(job.resources.cpus.max(1))
        } else {
            1
        };
        for e in job.ran() {
            events.push((e.usage.start, w));
            events.push((e.usage.end, -w));
        }
    }
    peak(events)
}

/// Peak of a running sum of `(time, change)` events, ends first on ties.
fn peak(mut events: Vec<(f64, i64)>) -> u64 {
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut top) = (0i64, 0i64);
    for (_, d) in events {
        now += d;
        top = top.max(now);
    }
    u64::try_from(top).unwrap_or(0)
}

/// One job's figures; `workers` and `machine` feed its advice.
pub fn job_figures(job: &JobTimeline, workers: u32, machine: &Machine) -> JobFigures {
    let mut states = BTreeMap::new();
    for e in &job.elements {
        *states.entry(e.state.name().to_string()).or_insert(0) += 1;
    }
    let runs: Vec<f64> = job.ran().map(|e| e.usage.run_s()).collect();
    let waits: Vec<f64> = job.ran().map(|e| e.usage.queue_wait_s()).collect();
    let n = runs.len() as f64;
    let busy: f64 = runs.iter().sum();
    let max_s = runs.iter().copied().fold(0.0, f64::max);
    let measured: Vec<(f64, f64)> = job
        .ran()
        .filter_map(|e| Some((e.usage.cpu_s, e.cpu_wall_s.filter(|&w| w > 0.0)?)))
        .collect();
    let cpu: f64 = measured.iter().map(|&(c, _)| c).sum();
    let cpu_wall: f64 = measured.iter().map(|&(_, w)| w).sum();
    let cpus = f64::from(job.resources.cpus.max(1));
    // An element killed for memory reached its --mem, whatever its record
    // says (sacct's MaxRSS of such a step is often 0).
    let limit_kib = job.resources.mem_mb.map(|m| m.saturating_mul(1024));
    let peak_rss_kib = job
        .elements
        .iter()
        .map(|e| match (&e.state, limit_kib) {
            (ElementState::OutOfMemory, Some(l)) => e.usage.max_rss_kib.max(l),
            _ => e.usage.max_rss_kib,
        })
        .max()
        .unwrap_or(0);
    let mem_efficiency = match job.resources.mem_mb {
        Some(m) if m > 0 && peak_rss_kib > 0 => Some(peak_rss_kib as f64 / (m as f64 * 1024.0)),
        _ => None,
    };
    let time_use = match job.resources.time_limit {
        Some(t) if t > 0 && !runs.is_empty() => Some(max_s / t as f64),
        _ => None,
    };
    let mut f = JobFigures {
        name: job.name.clone(),
        elements: job.elements.len(),
        states,
        wall_s: job.span().map(|(a, b)| b - a).unwrap_or(0.0),
        busy_s: busy,
        mean_s: ratio(busy, n),
        max_s,
        queue_wait_mean_s: ratio(waits.iter().sum(), n),
        // CPU time cannot exceed the CPUs times the wall time: above 100 %
        // is sacct's whole-second Elapsed, rounded down.
        cpu_efficiency: (cpu_wall > 0.0).then(|| (cpu / (cpu_wall * cpus)).min(1.0)),
        mem_efficiency,
        time_use,
        advice: Vec::new(),
        queue_wait_max_s: waits.iter().copied().fold(0.0, f64::max),
        peak_rss_kib,
        most_at_once: usize::try_from(most_at_once(std::iter::once(job), false))
            .unwrap_or(usize::MAX),
    };
    f.advice = advice::advise(job, &f, workers, machine);
    f
}

/// The workflow's figures over `jobs` (each job's dependencies outside
/// `jobs` are left out of the critical path).
pub fn figures(jobs: &[JobTimeline], machine: &Machine) -> Figures {
    let workers = match machine.cpus {
        Some(c) => c.max(1),
        None => u32::try_from(most_at_once(jobs.iter(), true))
            .unwrap_or(u32::MAX)
            .max(1),
    };
    let ran = || jobs.iter().flat_map(JobTimeline::ran);
    let origin = jobs
        .iter()
        .flat_map(|j| j.elements.iter())
        .map(|e| e.usage.submit)
        .filter(|&s| s > 0.0)
        .chain(ran().map(|e| e.usage.start))
        .fold(f64::INFINITY, f64::min);
    let last_end = ran().map(|e| e.usage.end).fold(f64::NEG_INFINITY, f64::max);
    let wall = if origin.is_finite() && last_end >= origin {
        last_end - origin
    } else {
        0.0
    };
    // `+ 0.0`: an empty sum is -0.0 in Rust; the report says 0.
    let busy: f64 = ran().map(|e| e.usage.run_s()).sum::<f64>() + 0.0;
    let busy_cpu: f64 = jobs
        .iter()
        .map(|j| j.ran().map(|e| e.usage.run_s()).sum::<f64>() * f64::from(j.resources.cpus.max(1)))
        .sum();
    let speedup = ratio(busy, wall);
    Figures {
        wall_s: wall,
        busy_s: busy,
        workers,
        speedup,
        efficiency: speedup / f64::from(workers),
        utilization: ratio(busy_cpu, f64::from(workers) * wall),
        critical_path: critical::critical_path(jobs),
        jobs: jobs
            .iter()
            .map(|j| job_figures(j, workers, machine))
            .collect(),
        origin: if origin.is_finite() { origin } else { 0.0 },
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::{ElementState, ElementUsage, Resources};
    use crate::report::timeline::ElementRun;

    /// Where test times start: 0 means "unknown" in an accounting record.
    pub(crate) const T0: f64 = 1000.0;

    /// A completed element submitted at `submit`, running `start..end`
    /// (seconds after [`T0`]) with `cpu` CPU seconds.
    pub(crate) fn el(i: usize, submit: f64, start: f64, end: f64, cpu: f64) -> ElementRun {
        ElementRun {
            state: ElementState::Completed,
            usage: ElementUsage {
                element: i,
                submit: T0 + submit,
                start: T0 + start,
                end: T0 + end,
                cpu_s: cpu,
                max_rss_kib: 0,
            },
            items_s: None,
            items: 1,
            cpu_wall_s: Some(end - start),
        }
    }

    pub(crate) fn job(id: u64, name: &str, elements: Vec<ElementRun>) -> JobTimeline {
        JobTimeline {
            id,
            name: name.into(),
            resources: Resources::default(),
            deps: Vec::new(),
            elements,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn an_element_killed_for_memory_used_all_of_its_mem() {
        let mut oom = el(0, 0.0, 1.0, 2.0, 0.5);
        oom.state = ElementState::OutOfMemory;
        let mut j = job(1, "hungry", vec![el(1, 0.0, 1.0, 2.0, 0.5), oom]);
        j.resources.mem_mb = Some(64);
        j.elements[0].usage.max_rss_kib = 1024;
        let f = job_figures(&j, 2, &Machine::default());
        assert_eq!(f.mem_efficiency, Some(1.0));
    }

    #[test]
    fn cpu_efficiency_counts_only_measured_walls_and_never_passes_100_percent() {
        let machine = Machine::default();
        // A cluster element of 3 ms: sacct's whole seconds measure no wall,
        // so its 3 ms of CPU over the items' 1 ms is no figure (was 300 %).
        let mut quick = el(0, 0.0, 1.0, 1.001, 0.003);
        quick.cpu_wall_s = None;
        let f = job_figures(&job(1, "quick", vec![quick.clone()]), 2, &machine);
        assert_eq!(f.cpu_efficiency, None);
        // 1.5 s of CPU in what sacct counts as 1 s: 100 %, not 150 %.
        let mut busy = el(1, 0.0, 1.0, 2.5, 1.5);
        busy.cpu_wall_s = Some(1.0);
        let f = job_figures(&job(1, "busy", vec![busy.clone()]), 2, &machine);
        assert_eq!(f.cpu_efficiency, Some(1.0));
        // Mixed: only the measured element counts.
        busy.cpu_wall_s = Some(2.0);
        let f = job_figures(&job(1, "mixed", vec![quick, busy]), 2, &machine);
        assert_eq!(f.cpu_efficiency, Some(0.75));
    }

    #[test]
    fn eight_one_second_elements_on_two_cpus() {
        // Submitted at 100; pairs run 100.5–101.5, 101.5–102.5, … 103.5–104.5.
        let els = (0..8)
            .map(|i| {
                let s = 100.5 + (i / 2) as f64;
                el(i, 100.0, s, s + 1.0, 0.5)
            })
            .collect();
        let f = figures(
            &[job(1, "sleepy", els)],
            &Machine {
                cpus: Some(2),
                mem_mb: None,
            },
        );
        // wall: 100 → 104.5 = 4.5 s; busy 8 s; speedup 8/4.5.
        assert!(close(f.wall_s, 4.5) && close(f.busy_s, 8.0), "{f:?}");
        assert!(close(f.speedup, 8.0 / 4.5));
        assert!(close(f.efficiency, 8.0 / 4.5 / 2.0));
        assert!(close(f.utilization, 8.0 / (2.0 * 4.5)));
        let j = &f.jobs[0];
        assert!(close(j.wall_s, 4.0) && close(j.mean_s, 1.0) && close(j.max_s, 1.0));
        // Waits: 0.5, 0.5, 1.5, 1.5, 2.5, 2.5, 3.5, 3.5 → mean 2.
        assert!(close(j.queue_wait_mean_s, 2.0) && close(j.queue_wait_max_s, 3.5));
        assert_eq!(j.cpu_efficiency, Some(0.5));
        assert_eq!(j.most_at_once, 2);
        assert_eq!(j.states.get("COMPLETED"), Some(&8));
        let marks = f.marks();
        assert!(!marks[0].ok(), "speedup 1.78 is not above 2×");
        assert!(
            marks[1].ok() && marks[2].ok(),
            "efficiency and utilization 89 %"
        );
    }

    #[test]
    fn on_slurm_the_workers_are_the_most_cpus_at_once() {
        let mut a = job(
            1,
            "a",
            vec![el(0, 0.5, 1.0, 3.0, 0.0), el(1, 0.5, 1.0, 2.0, 0.0)],
        );
        a.resources.cpus = 2;
        // b starts as a's element 1 ends: the end counts first.
        let b = job(2, "b", vec![el(0, 0.5, 2.0, 4.0, 0.0)]);
        let f = figures(&[a, b], &Machine::default());
        assert_eq!(f.workers, 4, "a's two elements × 2 CPUs, then a0 + b0 = 3");
        // busy CPU-s = (2 + 1) × 2 + 2 × 1 = 8; wall 0.5 → 4 = 3.5.
        assert!(close(f.utilization, 8.0 / (4.0 * 3.5)));
        assert!(close(f.speedup, 5.0 / 3.5));
    }

    #[test]
    fn memory_and_time_use_need_their_limits() {
        let mut e = el(0, 0.0, 1.0, 31.0, 30.0);
        e.usage.max_rss_kib = 512 * 1024;
        let mut j = job(1, "m", vec![e]);
        let f = job_figures(&j, 1, &Machine::default());
        assert_eq!((f.mem_efficiency, f.time_use), (None, None));
        j.resources.mem_mb = Some(1024);
        j.resources.time_limit = Some(120);
        let f = job_figures(&j, 1, &Machine::default());
        assert_eq!((f.mem_efficiency, f.time_use), (Some(0.5), Some(0.25)));
    }

    #[test]
    fn nothing_ran_gives_zeros_not_nan() {
        let mut e = el(0, 5.0, 0.0, 0.0, 0.0);
        (e.usage.start, e.usage.end) = (0.0, 0.0);
        e.state = ElementState::Pending;
        let f = figures(
            &[job(1, "p", vec![e])],
            &Machine {
                cpus: Some(2),
                mem_mb: None,
            },
        );
        assert_eq!(
            (f.wall_s, f.busy_s, f.speedup, f.utilization),
            (0.0, 0.0, 0.0, 0.0)
        );
        assert_eq!(f.jobs[0].cpu_efficiency, None);
        assert_eq!(f.jobs[0].states.get("PENDING"), Some(&1));
    }
}
