//! What `%slurm report` measures from: each job's elements as they ran
//! ([`JobTimeline`], [`ElementRun`]) and the machine they shared
//! ([`Machine`]). Filled from the job directories and the executors'
//! accounting (`collect.rs`); pure data here.

use crate::domain::{Dependency, ElementState, ElementUsage, JobId, Resources};

/// One array element as it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementRun {
    /// How it ended (or that it has not).
    pub state: ElementState,
    /// Its accounting: submit, start, end (Unix seconds), CPU time, peak RSS.
    pub usage: ElementUsage,
    /// The sum of its items' own run times (their status files), seconds;
    /// None if unknown. The rest of the element's run time is launch
    /// overhead: starting the process, reading input, writing results.
    pub items_s: Option<f64>,
    /// How many items it ran (`--chunk`).
    pub items: usize,
    /// The wall time, seconds, over which `usage.cpu_s` was measured; None
    /// when the CPU time is unknown or was not measurable. Locally the
    /// process's own run; on a cluster sacct's End − Start, which counts
    /// whole seconds, so an element under a second has none (as for
    /// seff(1), whose CPU efficiency is TotalCPU ÷ (Elapsed × CPUs)).
    pub cpu_wall_s: Option<f64>,
}

/// One job of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTimeline {
    /// Ledger id.
    pub id: JobId,
    /// The NAME it was bound to.
    pub name: String,
    /// What each element asked for (`--cpus-per-task`, `--mem`, `--time`).
    pub resources: Resources,
    /// The jobs it waited for.
    pub deps: Vec<Dependency>,
    /// Its elements, by index.
    pub elements: Vec<ElementRun>,
}

impl JobTimeline {
    /// Elements that started and ended.
    pub fn ran(&self) -> impl Iterator<Item = &ElementRun> {
        self.elements.iter().filter(|e| e.usage.ran())
    }

    /// First start and last end of its elements (Unix seconds), if any ran.
    pub fn span(&self) -> Option<(f64, f64)> {
        self.ran().fold(None, |acc, e| {
            let (s, t) = (e.usage.start, e.usage.end);
            Some(match acc {
                Some((a, b)) => (f64::min(a, s), f64::max(b, t)),
                None => (s, t),
            })
        })
    }

    /// Total items over its elements.
    pub fn items(&self) -> usize {
        self.elements.iter().map(|e| e.items).sum()
    }
}

/// What the elements shared.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Machine {
    /// CPUs the executor could use: the local executor's capacity; None on
    /// Slurm, where the workers are the most CPUs allocated at once.
    pub cpus: Option<u32>,
    /// Memory elements could share, MB (the machine's, or the cluster's
    /// nodes'); None if unknown.
    pub mem_mb: Option<u64>,
}
