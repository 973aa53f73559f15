//! The report as people and programs read it: text/plain (readable in
//! nbconvert's text export), HTML tables beside the Gantt SVG, and the
//! `--json` figures with exactly the keys the issue lists. No IO.

use std::fmt::Write as _;

use super::advice::secs;
use super::gantt;
use super::metrics::{Figures, JobFigures};
use super::timeline::JobTimeline;
use crate::render::esc;
use crate::session::Rendered;

/// The `--json` text (pretty-printed).
///
/// # Errors
/// serde_json could not write the figures (a NaN cannot happen: every
/// ratio is guarded).
pub fn json(f: &Figures) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(f)
}

/// The report: text, HTML tables and the Gantt chart. The HTML holds the
/// chart too, so a front end that shows only the richest type of the
/// bundle (HTML) still shows both.
pub fn rendered(jobs: &[JobTimeline], f: &Figures) -> Rendered {
    let svg = gantt::svg(jobs, f);
    Rendered {
        text: text(jobs, f),
        html: Some(html(jobs, f, &svg)),
        svg: Some(svg),
    }
}

fn pct(v: f64) -> String {
    format!("{:.0} %", 100.0 * v)
}

/// `value` with `decimals` decimals, or as many more (up to four) as it
/// takes for the shown number to sit on the same side of `bar` as the
/// value itself (above, on, below): 1.995 against a bar of 2 reads
/// `1.995`, not `2.00`, next to its ✗. Past that, rounded toward the
/// value's side.
fn agreeing(value: f64, bar: f64, decimals: usize) -> String {
    let above = value > bar;
    let side = value.partial_cmp(&bar);
    for d in decimals..=decimals + 4 {
        let shown = format!("{value:.d$}");
        if shown
            .parse::<f64>()
            .is_ok_and(|s| s.partial_cmp(&bar) == side)
        {
            return shown;
        }
    }
    let d = decimals + 4;
    let scale = 10f64.powi(i32::try_from(d).unwrap_or(8));
    let toward = if above {
        (value * scale).ceil()
    } else {
        (value * scale).floor()
    };
    format!("{:.d$}", toward / scale)
}

fn opt_pct(v: Option<f64>) -> String {
    v.map(pct).unwrap_or_else(|| "–".into())
}

/// `✓`/`✗` and the bar, for each of speedup, efficiency, utilization.
fn marks(f: &Figures) -> Vec<(String, String, bool)> {
    f.marks()
        .iter()
        .map(|m| {
            let (value, bar) = if m.name == "speedup" {
                (
                    format!("{}×", agreeing(m.value, m.bar, 2)),
                    format!("> {:.0}×", m.bar),
                )
            } else {
                (
                    format!("{} %", agreeing(100.0 * m.value, 100.0 * m.bar, 0)),
                    format!("> {}", pct(m.bar)),
                )
            };
            (format!("{} {value}", m.name), bar, m.ok())
        })
        .collect()
}

fn headline(jobs: &[JobTimeline], f: &Figures) -> String {
    let elements: usize = jobs.iter().map(|j| j.elements.len()).sum();
    let open = jobs
        .iter()
        .flat_map(|j| j.elements.iter())
        .filter(|e| !e.state.is_terminal())
        .count();
    let mut line = format!(
        "{} job{}, {elements} elements, {} worker{}: wall {} (first submit to last end), busy {}",
        jobs.len(),
        if jobs.len() == 1 { "" } else { "s" },
        f.workers,
        if f.workers == 1 { "" } else { "s" },
        secs(f.wall_s),
        secs(f.busy_s)
    );
    if open > 0 {
        line.push_str(&format!(
            "; {open} element{} still queued or running — the figures cover those that ended",
            if open == 1 { "" } else { "s" }
        ));
    }
    line
}

/// The guide's marks, or a dash while nothing has ended (no figure to mark).
fn mark_symbol(f: &Figures, ok: bool) -> &'static str {
    match (f.busy_s > 0.0, ok) {
        (false, _) => "—",
        (true, true) => "✓",
        (true, false) => "✗",
    }
}

fn critical_line(f: &Figures) -> String {
    if f.critical_path.jobs.is_empty() || f.critical_path.seconds <= 0.0 {
        return "critical path: nothing has ended yet".into();
    }
    format!(
        "critical path: {} — {} of the {} wall",
        f.critical_path.jobs.join(" → "),
        secs(f.critical_path.seconds),
        secs(f.wall_s)
    )
}

fn states(j: &JobFigures) -> String {
    j.states
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row of the jobs table: the cells in column order.
fn row(j: &JobFigures) -> [String; 11] {
    [
        j.name.clone(),
        j.elements.to_string(),
        states(j),
        secs(j.wall_s),
        secs(j.busy_s),
        secs(j.mean_s),
        secs(j.max_s),
        format!(
            "{} / {}",
            secs(j.queue_wait_mean_s),
            secs(j.queue_wait_max_s)
        ),
        opt_pct(j.cpu_efficiency),
        opt_pct(j.mem_efficiency),
        opt_pct(j.time_use),
    ]
}

/// The display columns a job's name gets in the text table (cut from the
/// middle past it; the HTML table shows it whole).
const JOB_COLUMNS: usize = 28;

const HEADERS: [&str; 11] = [
    "job",
    "elements",
    "states",
    "wall",
    "busy",
    "mean",
    "max",
    "wait mean / max",
    "CPU eff.",
    "mem eff.",
    "time use",
];

fn text(jobs: &[JobTimeline], f: &Figures) -> String {
    let mut t = format!("{}\n", headline(jobs, f));
    let m: Vec<String> = marks(f)
        .into_iter()
        .map(|(v, bar, ok)| format!("{v} ({} guide: {bar})", mark_symbol(f, ok)))
        .collect();
    let _ = writeln!(t, "{}", m.join(" · "));
    let _ = writeln!(t, "{}\n", critical_line(f));
    let mut rows: Vec<Vec<String>> = vec![HEADERS.map(String::from).to_vec()];
    rows.extend(f.jobs.iter().map(|j| {
        let mut r = row(j).to_vec();
        r[0] = crate::text_table::fit(&r[0], JOB_COLUMNS);
        r
    }));
    let _ = writeln!(t, "{}", crate::text_table::layout(&rows, &[]));
    let advice: Vec<String> = f
        .jobs
        .iter()
        .flat_map(|j| j.advice.iter().map(move |a| format!("  {}: {a}", j.name)))
        .collect();
    if !advice.is_empty() {
        let _ = write!(t, "\nadvice:\n{}", advice.join("\n"));
    }
    t.trim_end().to_string()
}

/// Keeps a cell on one line: on each cell, since the front ends' own rule
/// for cells (JupyterLab's `td { white-space: normal }`) wins over one the
/// table gives.
const NOWRAP: &str = "white-space:nowrap";

fn html(jobs: &[JobTimeline], f: &Figures, svg: &str) -> String {
    let mut h = format!(
        "<div class=\"sluice-report\"><p>{}</p><table style=\"white-space:nowrap\"><tr>",
        esc(&headline(jobs, f))
    );
    for (v, bar, ok) in marks(f) {
        let _ = write!(
            h,
            "<td style=\"{NOWRAP}\"><b>{}</b> <span title=\"the guide's bar\">{} {}</span></td>",
            esc(&v),
            mark_symbol(f, ok),
            esc(&bar)
        );
    }
    let _ = write!(
        h,
        "</tr></table><p>{}</p><div>{svg}</div><div style=\"overflow-x:auto;max-width:100%\"><table style=\"white-space:nowrap\"><tr>",
        esc(&critical_line(f))
    );
    for c in HEADERS {
        let _ = write!(h, "<th style=\"{NOWRAP}\">{}</th>", esc(c));
    }
    h.push_str("</tr>");
    for j in &f.jobs {
        h.push_str("<tr>");
        for c in row(j) {
            let _ = write!(h, "<td style=\"{NOWRAP}\">{}</td>", esc(&c));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table></div>");
    let advice: Vec<String> = f
        .jobs
        .iter()
        .flat_map(|j| {
            j.advice
                .iter()
                .map(move |a| format!("<li><b>{}</b>: {}</li>", esc(&j.name), esc(a)))
        })
        .collect();
    if !advice.is_empty() {
        let _ = write!(h, "<p>Advice:</p><ul>{}</ul>", advice.concat());
    }
    h.push_str("</div>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::metrics::figures;
    use crate::report::metrics::tests::{el, job};
    use crate::report::timeline::Machine;

    #[test]
    fn a_job_still_running_says_so_and_marks_nothing() {
        let mut running = el(0, 0.0, 1.0, 0.0, 0.0);
        running.state = crate::domain::ElementState::Running;
        running.usage.end = 0.0;
        let mut pending = el(1, 0.0, 0.0, 0.0, 0.0);
        pending.state = crate::domain::ElementState::Pending;
        pending.usage.start = 0.0;
        pending.usage.end = 0.0;
        let jobs = [job(1, "busy", vec![running, pending])];
        let machine = Machine {
            cpus: Some(2),
            mem_mb: None,
        };
        let f = figures(&jobs, &machine);
        assert_eq!(f.busy_s.to_bits(), 0.0f64.to_bits(), "no -0");
        let t = text(&jobs, &f);
        assert!(t.contains("2 elements still queued or running"), "{t}");
        assert!(t.contains("critical path: nothing has ended yet"), "{t}");
        assert!(!t.contains('✗') && !t.contains('✓'), "{t}");
    }

    #[test]
    fn json_has_exactly_the_keys_of_the_issue() {
        let jobs = [job(
            1,
            "a",
            vec![el(0, 0.0, 1.0, 2.0, 0.5), el(1, 0.0, 1.0, 3.0, 0.5)],
        )];
        let f = figures(
            &jobs,
            &Machine {
                cpus: Some(2),
                mem_mb: None,
            },
        );
        let v: serde_json::Value = serde_json::from_str(&json(&f).expect("json")).expect("parse");
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(&v),
            [
                "busy_s",
                "critical_path",
                "efficiency",
                "jobs",
                "speedup",
                "utilization",
                "wall_s",
                "workers"
            ]
        );
        assert_eq!(keys(&v["critical_path"]), ["jobs", "seconds"]);
        assert_eq!(
            keys(&v["jobs"][0]),
            [
                "advice",
                "busy_s",
                "cpu_efficiency",
                "elements",
                "max_s",
                "mean_s",
                "mem_efficiency",
                "name",
                "queue_wait_mean_s",
                "states",
                "time_use",
                "wall_s"
            ]
        );
        assert_eq!(v["jobs"][0]["states"]["COMPLETED"], 2);
        assert_eq!(v["busy_s"], 3.0);
    }

    #[test]
    fn shown_ratios_agree_with_their_verdict() {
        // 8 one-second elements on 2 CPUs that took 4.01 s: speedup 1.995.
        assert_eq!(agreeing(1.995, 2.0, 2), "1.995");
        assert_eq!(agreeing(1.9999999, 2.0, 2), "1.999999");
        assert_eq!(agreeing(2.0, 2.0, 2), "2.00");
        assert_eq!(agreeing(2.004, 2.0, 2), "2.004");
        assert_eq!(agreeing(1.5, 2.0, 2), "1.50");
        assert_eq!(agreeing(69.6, 70.0, 0), "69.6");
        assert_eq!(agreeing(70.2, 70.0, 0), "70.2");
        assert_eq!(agreeing(85.0, 70.0, 0), "85");
    }

    #[test]
    fn text_names_the_figures_and_the_bars() {
        let jobs = [job(1, "a", vec![el(0, 0.0, 0.0, 1.0, 0.5)])];
        let f = figures(
            &jobs,
            &Machine {
                cpus: Some(2),
                mem_mb: None,
            },
        );
        let r = rendered(&jobs, &f);
        assert!(
            r.text.contains("speedup 1.00× (✗ guide: > 2×)"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("efficiency 50 % (✗ guide: > 70 %)"),
            "{}",
            r.text
        );
        assert!(
            r.text
                .contains("critical path: a — 1.0 s of the 1.0 s wall"),
            "{}",
            r.text
        );
        let html = r.html.as_deref().unwrap_or("");
        assert!(html.contains("<th style=\"white-space:nowrap\">CPU eff.</th>"));
        assert!(html.contains("<svg"), "the chart is in the HTML too");
    }
}
