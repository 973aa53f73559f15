//! Advice for one job, computed from what its elements measured, never
//! canned. Each rule follows the guide (`/work/shared/seeds/002`, "Task
//! Sizing", "Memory Considerations", "Poor Task Division"):
//!
//! - elements far below the sweet spot of 30 s – 5 min per task, where
//!   launch overhead dominates: `--chunk K`, K from the measured time per
//!   item, keeping at least one element per worker;
//! - `--mem` from the peak RSS plus [`MEM_MARGIN`];
//! - Max_Parallel = available RAM ÷ (base + data per task), the measured
//!   peak RSS of an element being its base plus its data;
//! - `--time` from the longest element times [`TIME_MARGIN`];
//! - stragglers: the longest element against the mean ([`STRAGGLER`]);
//!   with one, no `--chunk` advice (packing uneven items makes it worse).

use super::metrics::JobFigures;
use super::timeline::{JobTimeline, Machine};
use crate::domain::{ElementState, format_time};

/// The low end of the guide's sweet spot, seconds per task.
pub const SWEET_SPOT_LOW_S: f64 = 30.0;
/// "Far below" the sweet spot: under a third of its low end.
pub const FAR_BELOW_S: f64 = SWEET_SPOT_LOW_S / 3.0;
/// `--mem` advice: the peak RSS plus 25 %.
pub const MEM_MARGIN: f64 = 1.25;
/// `--time` advice: the longest element plus 50 %.
pub const TIME_MARGIN: f64 = 1.5;
/// A straggler: an element over 1.5 × the mean (and a second longer).
pub const STRAGGLER: f64 = 1.5;

/// The advice for `job`, whose figures are `f`, run with `workers` CPUs on
/// `machine`.
pub fn advise(job: &JobTimeline, f: &JobFigures, workers: u32, machine: &Machine) -> Vec<String> {
    let mut out = Vec::new();
    let straggler = stragglers(job, f);
    if straggler.is_none() {
        // Packing uneven items would only make the imbalance worse.
        out.extend(chunk(job, f, workers));
    }
    // `--mem` and `--time` suggested for a job that gave neither are one line.
    match (mem(job, f), time(job, f)) {
        (Some(m), Some(t)) if m.unset && t.unset => {
            out.push(format!("{} {}: {}; {}", m.flag, t.flag, m.why, t.why))
        }
        (m, t) => out.extend(
            [m, t]
                .into_iter()
                .flatten()
                .map(|a| format!("{}: {}", a.flag, a.why)),
        ),
    }
    out.extend(max_parallel(job, f, machine, workers));
    out.extend(straggler);
    out
}

/// A `--mem` or `--time` suggestion.
struct Resource {
    /// `--mem 128M`, `--time 00:03:00`.
    flag: String,
    /// Why, from the measurements.
    why: String,
    /// The job did not give the option at all.
    unset: bool,
}

/// `--chunk K` when elements are far below the sweet spot.
fn chunk(job: &JobTimeline, f: &JobFigures, workers: u32) -> Option<String> {
    let ran: Vec<_> = job.ran().collect();
    if ran.is_empty() || f.mean_s >= FAR_BELOW_S {
        return None;
    }
    let items: usize = ran.iter().map(|e| e.items).sum();
    let item_s: f64 = ran
        .iter()
        .map(|e| e.items_s.unwrap_or(e.usage.run_s()))
        .sum::<f64>()
        / items.max(1) as f64;
    let chunk_now = ran.iter().map(|e| e.items).max().unwrap_or(1).max(1);
    // Enough items per element to reach the sweet spot, but at least one
    // element per worker.
    let per_worker = (job.items() / workers.max(1) as usize).max(1);
    let wanted = if item_s > 0.0 {
        (SWEET_SPOT_LOW_S / item_s).ceil().min(1e9) as usize
    } else {
        per_worker
    };
    let k = wanted.min(per_worker).max(1);
    if k <= chunk_now {
        return None;
    }
    let overhead: Vec<f64> = ran
        .iter()
        .filter_map(|e| e.items_s.map(|s| (e.usage.run_s() - s).max(0.0)))
        .collect();
    let overhead_note = if overhead.is_empty() {
        String::new()
    } else {
        let o = overhead.iter().sum::<f64>() / overhead.len() as f64;
        format!(
            "; launch overhead was {} per element ({:.0} % of its run)",
            secs(o),
            100.0 * o / f.mean_s.max(1e-9)
        )
    };
    Some(format!(
        "--chunk {k}: elements ran {} on average, far below the guide's 30 s – 5 min per task{overhead_note}; \
         {k} items of {} each make elements of about {}",
        secs(f.mean_s),
        secs(item_s),
        secs(item_s * k as f64),
    ))
}

/// `--mem` from the peak RSS with a margin (more after OUT_OF_MEMORY).
fn mem(job: &JobTimeline, f: &JobFigures) -> Option<Resource> {
    let asked = job.resources.mem_mb.filter(|&m| m > 0);
    let oom = job
        .elements
        .iter()
        .filter(|e| e.state == ElementState::OutOfMemory)
        .count();
    if oom > 0 {
        let base = (f.peak_rss_kib / 1024).max(asked.unwrap_or(0));
        return Some(Resource {
            flag: format!("--mem {}M", round_mb(base as f64 * 2.0)),
            why: format!(
                "{} ran OUT_OF_MEMORY{}; give {} more and retry",
                crate::prose::count(oom, "element", "elements"),
                asked.map(|m| format!(" at --mem {m}M")).unwrap_or_default(),
                if oom == 1 { "it" } else { "them" }
            ),
            unset: false,
        });
    }
    if f.peak_rss_kib == 0 {
        return None;
    }
    let peak_mb = f.peak_rss_kib as f64 / 1024.0;
    let flag = format!("--mem {}M", round_mb(peak_mb * MEM_MARGIN));
    let why = format!("the peak RSS was {peak_mb:.1} MB, plus 25 %");
    let eff = f.mem_efficiency.unwrap_or(0.0);
    match asked {
        None => Some(Resource {
            flag,
            why,
            unset: true,
        }),
        Some(m) if eff < 0.5 => Some(Resource {
            flag,
            why: format!("{why}; the {m} MB asked was {:.0} % used", 100.0 * eff),
            unset: false,
        }),
        Some(m) if eff > 0.9 => Some(Resource {
            flag,
            why: format!("{why}; {m} MB is too close to the peak"),
            unset: false,
        }),
        Some(_) => None,
    }
}

/// Max_Parallel = available RAM ÷ (base + data per task), when memory
/// could hold fewer elements at once than the job has.
fn max_parallel(
    job: &JobTimeline,
    f: &JobFigures,
    machine: &Machine,
    workers: u32,
) -> Option<String> {
    let ram = machine.mem_mb?;
    if f.peak_rss_kib == 0 {
        return None;
    }
    let per_task_mb = f.peak_rss_kib as f64 / 1024.0;
    let fit = (ram as f64 / per_task_mb).floor().min(1e12) as u64;
    if fit >= job.elements.len() as u64 {
        return None;
    }
    let limit = if fit < u64::from(workers) {
        format!("; memory, not CPUs, limits it: --max-concurrent {fit}")
    } else {
        String::new()
    };
    Some(format!(
        "Max_Parallel = {ram} MB RAM ÷ {per_task_mb:.1} MB per element (peak RSS: base + data) = {fit} at once; {} ran at once{limit}",
        f.most_at_once
    ))
}

/// `--time` from the longest element with a margin, when the limit is
/// missing, far too generous, or was hit.
fn time(job: &JobTimeline, f: &JobFigures) -> Option<Resource> {
    if f.max_s <= 0.0 {
        return None;
    }
    // A cancelled element was cut short: its run says nothing about the
    // time the work needs, so no limit is suggested from it.
    if job
        .elements
        .iter()
        .any(|e| matches!(e.state, ElementState::Cancelled(_)))
    {
        return None;
    }
    let timeouts = job
        .elements
        .iter()
        .filter(|e| e.state == ElementState::Timeout)
        .count();
    let want = (f.max_s * TIME_MARGIN).ceil().max(60.0) as u64;
    let want = want.div_ceil(60) * 60;
    if timeouts > 0 {
        return Some(Resource {
            flag: format!("--time {}", format_time(want.saturating_mul(2))),
            why: format!(
                "{} hit TIMEOUT after {}; give {} more",
                crate::prose::count(timeouts, "element", "elements"),
                secs(f.max_s),
                if timeouts == 1 { "it" } else { "them" }
            ),
            unset: false,
        });
    }
    let flag = format!("--time {}", format_time(want));
    match f.time_use {
        None => Some(Resource {
            flag,
            why: format!("the longest element ran {}, plus 50 %", secs(f.max_s)),
            unset: true,
        }),
        Some(u) if u < 0.1 && want < job.resources.time_limit.unwrap_or(0) => Some(Resource {
            flag,
            why: format!(
                "the longest element used {:.1} % of its limit; a tighter limit schedules sooner",
                100.0 * u
            ),
            unset: false,
        }),
        Some(_) => None,
    }
}

/// The longest element against the mean: uneven task sizes.
fn stragglers(job: &JobTimeline, f: &JobFigures) -> Option<String> {
    let ran: Vec<_> = job.ran().collect();
    if ran.len() < 2 || f.max_s < STRAGGLER * f.mean_s || f.max_s - f.mean_s < 1.0 {
        return None;
    }
    let slow = ran
        .iter()
        .filter(|e| e.usage.run_s() >= STRAGGLER * f.mean_s)
        .map(|e| e.usage.element.to_string())
        .collect::<Vec<_>>();
    Some(format!(
        "straggler: element {} ran {} ({:.1}× the mean {}); split uneven items so elements take about the same time",
        slow.join(", "),
        secs(f.max_s),
        f.max_s / f.mean_s.max(1e-9),
        secs(f.mean_s)
    ))
}

/// Megabytes rounded up to a multiple of 16 (at least 16).
fn round_mb(mb: f64) -> u64 {
    let mb = mb.ceil().clamp(1.0, 1e15) as u64;
    mb.div_ceil(16).max(1) * 16
}

/// Seconds as people read them: `850 ms`, `3.2 s`, `4.0 min`. A sum of
/// no runs is `-0.0` in Rust; it reads `0 ms`.
pub fn secs(s: f64) -> String {
    let s = s.max(0.0) + 0.0;
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 120.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.1} min", s / 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::metrics::job_figures;

    #[test]
    fn no_time_reads_zero_not_minus_zero() {
        assert_eq!(secs(Vec::<f64>::new().iter().sum()), "0 ms");
        assert_eq!(secs(-0.0), "0 ms");
        assert_eq!(crate::render::duration(-0.0), "0 ms");
    }
    use crate::report::metrics::tests::{el, job};
    use crate::report::timeline::ElementRun;

    fn figures(j: &JobTimeline, workers: u32, m: &Machine) -> JobFigures {
        job_figures(j, workers, m)
    }

    fn find<'a>(advice: &'a [String], start: &str) -> Option<&'a String> {
        advice.iter().find(|a| a.starts_with(start))
    }

    #[test]
    fn tiny_elements_get_a_chunk_from_the_measured_item_time() {
        // 100 elements of 0.5 s, of which 0.2 s is the item and 0.3 s launch.
        let els: Vec<ElementRun> = (0..100)
            .map(|i| {
                let mut e = el(i, 0.0, i as f64, i as f64 + 0.5, 0.1);
                e.items_s = Some(0.2);
                e
            })
            .collect();
        let j = job(1, "tiny", els);
        let f = figures(&j, 4, &Machine::default());
        // 30 s ÷ 0.2 s = 150 items, but 100 items ÷ 4 workers = 25 keeps
        // every worker busy: K = 25.
        let a = find(&f.advice, "--chunk 25:").expect("chunk advice");
        assert!(a.contains("300 ms per element (60 %"), "{a}");
        let f1 = figures(&j, 1, &Machine::default());
        assert!(
            find(&f1.advice, "--chunk 100:").is_some(),
            "{:?}",
            f1.advice
        );
    }

    #[test]
    fn cancelled_elements_suggest_no_time_limit() {
        let mut j = job(1, "cut", vec![el(0, 0.0, 0.0, 5.0, 0.1)]);
        j.resources.time_limit = Some(3600);
        j.elements[0].state = crate::domain::ElementState::Cancelled("by the user".into());
        let f = figures(&j, 2, &Machine::default());
        assert!(find(&f.advice, "--time").is_none(), "{:?}", f.advice);
        assert!(
            !f.advice.iter().any(|a| a.contains("--time")),
            "{:?}",
            f.advice
        );
    }

    #[test]
    fn elements_in_the_sweet_spot_get_no_chunk() {
        let j = job(
            1,
            "ok",
            vec![el(0, 0.0, 0.0, 40.0, 1.0), el(1, 0.0, 0.0, 40.0, 1.0)],
        );
        assert!(find(&figures(&j, 2, &Machine::default()).advice, "--chunk").is_none());
    }

    #[test]
    fn mem_from_the_peak_with_a_margin() {
        let mut e = el(0, 0.0, 0.0, 40.0, 1.0);
        e.usage.max_rss_kib = 100 * 1024;
        let mut j = job(1, "m", vec![e]);
        let f = figures(&j, 1, &Machine::default());
        // 100 MB × 1.25 = 125 → 128 (a multiple of 16); 40 s × 1.5 → 1 min.
        assert!(
            find(
                &f.advice,
                "--mem 128M --time 00:01:00: the peak RSS was 100.0 MB, plus 25 %; the longest"
            )
            .is_some(),
            "{:?}",
            f.advice
        );
        j.resources.time_limit = Some(60);
        j.resources.mem_mb = Some(1024);
        let f = figures(&j, 1, &Machine::default());
        let a = find(&f.advice, "--mem 128M").expect("lower it");
        assert!(a.contains("the 1024 MB asked was 10 % used"), "{a}");
        j.resources.mem_mb = Some(150);
        assert!(
            find(&figures(&j, 1, &Machine::default()).advice, "--mem").is_none(),
            "67 % used is fine"
        );
        j.elements[0].state = ElementState::OutOfMemory;
        let f = figures(&j, 1, &Machine::default());
        assert!(
            find(
                &f.advice,
                "--mem 304M: 1 element ran OUT_OF_MEMORY at --mem 150M"
            )
            .is_some(),
            "{:?}",
            f.advice
        );
    }

    #[test]
    fn max_parallel_is_ram_over_the_peak_per_element() {
        let els = (0..4)
            .map(|i| {
                let mut e = el(i, 0.0, 0.0, 40.0, 1.0);
                e.usage.max_rss_kib = 300 * 1024;
                e
            })
            .collect();
        let j = job(1, "big", els);
        let f = figures(
            &j,
            8,
            &Machine {
                cpus: Some(8),
                mem_mb: Some(1000),
            },
        );
        // 1000 ÷ 300 = 3.33 → 3, under 8 workers.
        let a = find(&f.advice, "Max_Parallel = 1000 MB RAM ÷ 300.0 MB").expect("formula");
        assert!(
            a.contains(
                "= 3 at once; 4 ran at once; memory, not CPUs, limits it: --max-concurrent 3"
            ),
            "{a}"
        );
        let roomy = figures(
            &j,
            8,
            &Machine {
                cpus: Some(8),
                mem_mb: Some(1200),
            },
        );
        assert!(
            find(&roomy.advice, "Max_Parallel").is_none(),
            "all 4 fit: {:?}",
            roomy.advice
        );
    }

    #[test]
    fn time_from_the_longest_element() {
        let mut j = job(
            1,
            "t",
            vec![el(0, 0.0, 0.0, 100.0, 1.0), el(1, 0.0, 0.0, 50.0, 1.0)],
        );
        let f = figures(&j, 2, &Machine::default());
        // 100 s × 1.5 = 150 s → 3 whole minutes.
        assert!(
            find(
                &f.advice,
                "--time 00:03:00: the longest element ran 100.0 s"
            )
            .is_some(),
            "{:?}",
            f.advice
        );
        j.resources.time_limit = Some(3600);
        let f = figures(&j, 2, &Machine::default());
        assert!(
            find(
                &f.advice,
                "--time 00:03:00: the longest element used 2.8 % of its limit"
            )
            .is_some()
        );
        j.resources.time_limit = Some(200);
        assert!(find(&figures(&j, 2, &Machine::default()).advice, "--time").is_none());
        j.elements[0].state = ElementState::Timeout;
        let f = figures(&j, 2, &Machine::default());
        assert!(
            find(&f.advice, "--time 00:06:00: 1 element hit TIMEOUT").is_some(),
            "{:?}",
            f.advice
        );
    }

    #[test]
    fn the_straggler_is_named() {
        let j = job(
            1,
            "uneven",
            vec![
                el(0, 0.0, 0.0, 40.0, 1.0),
                el(1, 0.0, 0.0, 40.0, 1.0),
                el(2, 0.0, 0.0, 160.0, 1.0),
            ],
        );
        let f = figures(&j, 3, &Machine::default());
        // mean 80 s, max 160 s = 2.0×.
        let a = find(
            &f.advice,
            "straggler: element 2 ran 2.7 min (2.0× the mean 80.0 s)",
        )
        .expect("straggler");
        assert!(a.contains("split uneven items"));
        // Short elements, but uneven: packing them would not help.
        let short = job(
            1,
            "short",
            vec![
                el(0, 0.0, 0.0, 1.0, 1.0),
                el(1, 0.0, 0.0, 1.0, 1.0),
                el(2, 0.0, 0.0, 1.0, 1.0),
                el(3, 0.0, 0.0, 5.0, 1.0),
            ],
        );
        let f = figures(&short, 2, &Machine::default());
        assert!(
            find(&f.advice, "straggler: element 3").is_some(),
            "{:?}",
            f.advice
        );
        assert!(find(&f.advice, "--chunk").is_none(), "{:?}", f.advice);
        let even = job(
            1,
            "even",
            vec![el(0, 0.0, 0.0, 40.0, 1.0), el(1, 0.0, 0.0, 41.0, 1.0)],
        );
        assert!(find(&figures(&even, 2, &Machine::default()).advice, "straggler").is_none());
    }
}
