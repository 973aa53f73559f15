//! What `%slurm report` asks Slurm's accounting: ONE sacct call for every
//! array of every job in the report, and its lines turned into
//! [`ElementUsage`] records. Pure: the argv and the parse (sacct(1):
//! `--parsable2`, `--format`, `SLURM_TIME_FORMAT`).
//!
//! The allocation line (`41_0`) gives Submit, Start, End, TotalCPU,
//! ReqMem, AllocCPUS and Timelimit; MaxRSS is only on its steps
//! (`41_0.batch`, `41_0.extern`), so the element's peak is the highest of
//! its steps'. Times come as Unix seconds (`SLURM_TIME_FORMAT=%s`), so
//! the cluster's time zone does not matter.

use std::collections::BTreeMap;

use crate::domain::{ElementState, ElementUsage, SlurmJobId, parse_time};
use crate::executor::slurm::queue::map_state;

/// The sacct fields the report asks for (sacct(1), `--format`).
pub const SACCT_USAGE_FORMAT: &str =
    "JobID,State,Submit,Start,End,TotalCPU,MaxRSS,ReqMem,AllocCPUS,Timelimit";

/// `env SLURM_TIME_FORMAT=%s sacct -n -P -o … -j IDS`: every array of the
/// report in one call, steps included (for MaxRSS).
pub fn sacct_usage_argv(ids: &[SlurmJobId]) -> Vec<String> {
    crate::executor::slurm::queue::sacct_epoch_argv(false, SACCT_USAGE_FORMAT, ids)
}

/// One array element's accounting, as sacct reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct AcctRow {
    /// The array's job id.
    pub array_id: SlurmJobId,
    /// The array task id.
    pub task: usize,
    /// Its state (None: a name sluice does not know).
    pub state: Option<ElementState>,
    /// Submit, start, end, TotalCPU and the steps' highest MaxRSS;
    /// `element` is the task id (the caller adds the slice's offset).
    pub usage: ElementUsage,
    /// AllocCPUS.
    pub alloc_cpus: u32,
    /// ReqMem in MB for the element (per-CPU requests multiplied out).
    pub req_mem_mb: Option<u64>,
    /// Timelimit in seconds (None: UNLIMITED or not given).
    pub time_limit_s: Option<u64>,
}

impl AcctRow {
    /// True when slurmdbd has the element's end: a final state and an End
    /// time. Until then (for a moment after the element leaves the queue)
    /// its TotalCPU and MaxRSS read 0.
    pub fn complete(&self) -> bool {
        self.state.as_ref().is_some_and(ElementState::is_terminal) && self.usage.end > 0.0
    }
}

/// Parses sacct lines of [`SACCT_USAGE_FORMAT`]: allocation lines make the
/// rows, step lines raise their MaxRSS (and give TotalCPU when the
/// allocation's is empty). Lines of non-array jobs and pending ranges
/// (`43_[0-2]`, never started) are skipped.
pub fn parse_sacct_usage(text: &str) -> Vec<AcctRow> {
    let mut rows: BTreeMap<(String, usize), AcctRow> = BTreeMap::new();
    let mut steps: Vec<(String, usize, f64, u64)> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split('|').collect();
        if f.len() < 10 {
            continue;
        }
        let (id, step) = match f[0].split_once('.') {
            Some((id, _)) => (id, true),
            None => (f[0], false),
        };
        let Some((array, task)) = id.split_once('_') else {
            continue;
        };
        let Ok(task) = task.parse::<usize>() else {
            continue;
        };
        let cpu = parse_cpu_time(f[5]).unwrap_or(0.0);
        if step {
            steps.push((array.to_string(), task, cpu, parse_rss_kib(f[6])));
            continue;
        }
        let alloc_cpus = f[8].parse().unwrap_or(1);
        let state_name = f[1].split_whitespace().next().unwrap_or("");
        rows.insert(
            (array.to_string(), task),
            AcctRow {
                array_id: SlurmJobId::from(array),
                task,
                state: map_state(state_name, 0, ""),
                usage: ElementUsage {
                    element: task,
                    submit: parse_epoch(f[2]),
                    start: parse_epoch(f[3]),
                    end: parse_epoch(f[4]),
                    cpu_s: cpu,
                    max_rss_kib: parse_rss_kib(f[6]),
                },
                alloc_cpus,
                req_mem_mb: parse_req_mem_mb(f[7], alloc_cpus),
                time_limit_s: parse_time(f[9]).ok().filter(|&t| t > 0),
            },
        );
    }
    for (array, task, cpu, rss) in steps {
        if let Some(r) = rows.get_mut(&(array, task)) {
            r.usage.max_rss_kib = r.usage.max_rss_kib.max(rss);
            if r.usage.cpu_s == 0.0 {
                r.usage.cpu_s += cpu;
            }
        }
    }
    rows.into_values().collect()
}

/// Unix seconds; 0 for `Unknown`, `None` or anything not a number.
fn parse_epoch(s: &str) -> f64 {
    s.trim().parse::<f64>().unwrap_or(0.0)
}

/// TotalCPU, `[D-][HH:]MM:SS[.mmm]`, in seconds.
pub fn parse_cpu_time(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (d.parse::<f64>().ok()?, r),
        None => (0.0, s),
    };
    let parts: Vec<f64> = rest
        .split(':')
        .map(|p| p.parse::<f64>().ok())
        .collect::<Option<_>>()?;
    let (h, m, sec) = match parts.as_slice() {
        [m, s] => (0.0, *m, *s),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    Some(days * 86400.0 + h * 3600.0 + m * 60.0 + sec)
}

/// MaxRSS (`52344K`, `12M`, `1.2G`, `0`) in KiB; 0 if empty or unreadable.
pub fn parse_rss_kib(s: &str) -> u64 {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('K') => (&s[..s.len() - 1], 1.0),
        Some('M') => (&s[..s.len() - 1], 1024.0),
        Some('G') => (&s[..s.len() - 1], 1024.0 * 1024.0),
        Some('T') => (&s[..s.len() - 1], 1024.0 * 1024.0 * 1024.0),
        _ => (s, 1.0 / 1024.0),
    };
    num.parse::<f64>()
        .map(|v| (v * mult).round().clamp(0.0, 1e18) as u64)
        .unwrap_or(0)
}

/// ReqMem (`256M`, `4G`; older Slurm adds `n` per node or `c` per CPU) in
/// MB for one element; None for `0` or empty.
pub fn parse_req_mem_mb(s: &str, cpus: u32) -> Option<u64> {
    let s = s.trim();
    let (s, per_cpu) = match s.strip_suffix('c') {
        Some(r) => (r, true),
        None => (s.strip_suffix('n').unwrap_or(s), false),
    };
    let (num, mult) = match s.chars().last()? {
        'K' => (&s[..s.len() - 1], 1.0 / 1024.0),
        'M' => (&s[..s.len() - 1], 1.0),
        'G' => (&s[..s.len() - 1], 1024.0),
        'T' => (&s[..s.len() - 1], 1024.0 * 1024.0),
        _ => (s, 1.0),
    };
    let mb = (num.parse::<f64>().ok()? * mult).ceil().clamp(0.0, 1e15) as u64;
    let mb = if per_cpu {
        mb.saturating_mul(u64::from(cpus.max(1)))
    } else {
        mb
    };
    (mb > 0).then_some(mb)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = include_str!("../executor/slurm/fixtures/sacct-usage.txt");

    #[test]
    fn golden_sacct_lines() {
        let rows = parse_sacct_usage(GOLDEN);
        let keys: Vec<(&str, usize)> = rows.iter().map(|r| (r.array_id.as_str(), r.task)).collect();
        assert_eq!(
            keys,
            [("41", 0), ("41", 1), ("41", 2), ("42", 0)],
            "the pending range never ran"
        );
        let r = &rows[0];
        assert_eq!(r.state, Some(ElementState::Completed));
        assert_eq!(
            (r.usage.submit, r.usage.start, r.usage.end),
            (1795964910.0, 1795964911.0, 1795964913.0)
        );
        assert!((r.usage.cpu_s - 1.766).abs() < 1e-9);
        assert_eq!(r.usage.max_rss_kib, 52344, "the highest step");
        assert_eq!(
            (r.alloc_cpus, r.req_mem_mb, r.time_limit_s),
            (1, Some(256), Some(300))
        );
        assert_eq!(rows[1].usage.max_rss_kib, 0, "too short for the gatherer");
        assert!((rows[1].usage.cpu_s - 62.5).abs() < 1e-9);
        assert_eq!(rows[2].state, Some(ElementState::OutOfMemory));
        assert_eq!(rows[2].usage.max_rss_kib, 1258291);
        let long = &rows[3];
        assert_eq!(long.usage.cpu_s, 90000.0, "1-01:00:00");
        assert_eq!(
            (long.alloc_cpus, long.req_mem_mb, long.time_limit_s),
            (2, Some(2000), Some(86400))
        );
    }

    #[test]
    fn units() {
        assert_eq!(parse_cpu_time("00:00.766"), Some(0.766));
        assert_eq!(parse_cpu_time("02:03:04"), Some(7384.0));
        assert_eq!(parse_cpu_time(""), None);
        assert_eq!(parse_rss_kib("12M"), 12288);
        assert_eq!(parse_rss_kib("0"), 0);
        assert_eq!(parse_rss_kib(""), 0);
        assert_eq!(parse_req_mem_mb("4G", 1), Some(4096));
        assert_eq!(parse_req_mem_mb("100Mn", 4), Some(100));
        assert_eq!(parse_req_mem_mb("0", 1), None);
        assert_eq!(
            sacct_usage_argv(&[SlurmJobId::from("5"), SlurmJobId::from("6")]).join(" "),
            "env SLURM_TIME_FORMAT=%s sacct -n -P -o JobID,State,Submit,Start,End,TotalCPU,MaxRSS,ReqMem,AllocCPUS,Timelimit -j 5,6"
        );
    }
}
