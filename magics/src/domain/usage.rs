//! [`ElementUsage`]: what one array element used, as an accounting record
//! (the local executor's `usage/<element>.json`, or a Slurm element's sacct
//! line): when it was submitted, started and ended, its CPU time and peak
//! resident memory. `%slurm report` reads these; no IO here.

use serde::{Deserialize, Serialize};

/// One element's accounting. Times are Unix seconds; 0 means unknown.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ElementUsage {
    /// The element's index in the job.
    pub element: usize,
    /// When it was submitted (queued), Unix seconds.
    pub submit: f64,
    /// When its process started, Unix seconds (0: never started).
    pub start: f64,
    /// When its process ended, Unix seconds (0: not ended).
    pub end: f64,
    /// CPU time of the element and its waited-for children, user + system
    /// (getrusage(2), `wait4`; sacct's TotalCPU), seconds.
    pub cpu_s: f64,
    /// Peak resident set size, KiB (locally the RSS sampled while it ran
    /// and the task's own VmHWM; sacct's MaxRSS); 0 if unknown.
    pub max_rss_kib: u64,
}

impl ElementUsage {
    /// True if it started and ended (it has a run to measure).
    pub fn ran(&self) -> bool {
        self.start > 0.0 && self.end >= self.start
    }

    /// Seconds from start to end (0 if it did not run).
    pub fn run_s(&self) -> f64 {
        if self.ran() {
            self.end - self.start
        } else {
            0.0
        }
    }

    /// Seconds from submit to start (0 if either is unknown).
    pub fn queue_wait_s(&self) -> f64 {
        if self.submit > 0.0 && self.start >= self.submit {
            self.start - self.submit
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_and_wait_need_both_ends() {
        let u = ElementUsage {
            element: 0,
            submit: 10.0,
            start: 12.5,
            end: 15.0,
            cpu_s: 2.0,
            max_rss_kib: 100,
        };
        assert_eq!((u.run_s(), u.queue_wait_s()), (2.5, 2.5));
        let never = ElementUsage {
            submit: 10.0,
            ..ElementUsage::default()
        };
        assert!(!never.ran());
        assert_eq!((never.run_s(), never.queue_wait_s()), (0.0, 0.0));
    }
}
