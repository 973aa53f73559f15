//! The report's Gantt chart as SVG. The x axis is seconds since the first
//! submit. With few elements each has a lane: its queue wait (submit to
//! start) drawn lighter, then its run (start to end) solid. With many
//! (over [`MAX_LANES`]), elements are packed into worker lanes (an element
//! takes the first lane free when it starts), so 1,000 elements stay
//! readable; waits are left out there, as they would overlap. Each job
//! has a colour, in submission order (the dependency order); runs on the
//! critical path are outlined.
//!
//! Theme-safe: text, axis and outlines use `currentColor` (JupyterLab's
//! light and dark themes set it), the background is transparent, and the
//! job colours are mid-tones that read on both. Labels are cut to the
//! width they are given, so no text leaves its box. No IO.

use std::fmt::Write as _;

use super::job_fill::{self, JobFill};
use super::metrics::Figures;
use super::timeline::JobTimeline;
use crate::render::esc;

/// Most lanes drawn; beyond, elements share worker lanes.
pub const MAX_LANES: usize = 48;
const WIDTH: f64 = 760.0;
const LABEL_W: f64 = 120.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 8.0;
/// Width of a character of the 11 px sans-serif labels, generously.
const CHAR_W: f64 = 7.0;

/// A bar to draw.
struct Bar {
    job: usize,
    element: usize,
    lane: usize,
    submit: f64,
    start: f64,
    end: f64,
    critical: bool,
}

/// The chart of `jobs` whose figures are `f`.
pub fn svg(jobs: &[JobTimeline], f: &Figures) -> String {
    let mut bars = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        // A job the path takes whole is on it through the element that
        // ended last (the one its dependents waited for): only that one is
        // outlined, so a large array stays readable.
        let last = job
            .ran()
            .max_by(|a, b| a.usage.end.total_cmp(&b.usage.end))
            .map(|e| e.usage.element);
        let on_path = |element: usize| {
            let steps = &f.critical_path.steps;
            steps.contains(&(job.id, Some(element)))
                || (steps.contains(&(job.id, None)) && Some(element) == last)
        };
        for e in job.ran() {
            bars.push(Bar {
                job: j,
                element: e.usage.element,
                lane: 0,
                submit: (e.usage.submit - f.origin).max(0.0),
                start: e.usage.start - f.origin,
                end: e.usage.end - f.origin,
                critical: on_path(e.usage.element),
            });
        }
    }
    let per_element = bars.len() <= MAX_LANES;
    let lanes = if per_element {
        for (i, b) in bars.iter_mut().enumerate() {
            b.lane = i;
        }
        bars.len()
    } else {
        pack(&mut bars)
    };
    let lane_h = if per_element {
        16.0
    } else {
        (320.0 / lanes.max(1) as f64).clamp(4.0, 16.0)
    };
    let plot_w = WIDTH - LABEL_W - RIGHT;
    let span = bars
        .iter()
        .map(|b| b.end)
        .fold(f.wall_s, f64::max)
        .max(1e-3);
    let x = |t: f64| LABEL_W + plot_w * (t / span).clamp(0.0, 1.0);
    let plot_h = lanes.max(1) as f64 * lane_h;
    let axis_y = TOP + plot_h + 4.0;
    let (legend, legend_h) = legend(jobs, axis_y + 46.0);
    let height = axis_y + 46.0 + legend_h;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sluice-gantt\" width=\"{WIDTH}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\" font-size=\"11\" style=\"color: var(--jp-ui-font-color1, #333); background: transparent\">"
    );
    s.push_str(&job_fill::defs(jobs.len()));
    s.push_str(&axis(span, x, TOP, axis_y));
    lane_labels(&mut s, jobs, &bars, per_element, lanes, lane_h);
    for b in &bars {
        let colour = JobFill::of(b.job).paint();
        let (y, h) = (TOP + b.lane as f64 * lane_h + 1.0, (lane_h - 2.0).max(1.0));
        let name = jobs.get(b.job).map(|j| j.name.as_str()).unwrap_or("");
        if per_element && b.start > b.submit {
            let _ = write!(
                s,
                "<rect class=\"wait\" x=\"{:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{h:.2}\" fill=\"{colour}\" fill-opacity=\"0.25\"/>",
                x(b.submit),
                (x(b.start) - x(b.submit)).max(0.0)
            );
        }
        let outline = if b.critical {
            " stroke=\"currentColor\" stroke-width=\"1.5\""
        } else {
            ""
        };
        let _ = write!(
            s,
            "<rect class=\"run\" data-job=\"{}\" data-element=\"{}\" x=\"{:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{h:.2}\" fill=\"{colour}\" fill-opacity=\"0.9\"{outline}><title>{}[{}]: ran {:.2} s after waiting {:.2} s{}</title></rect>",
            esc(name),
            b.element,
            x(b.start),
            (x(b.end) - x(b.start)).max(0.5),
            esc(name),
            b.element,
            b.end - b.start,
            (b.start - b.submit).max(0.0),
            if b.critical { " (critical path)" } else { "" }
        );
    }
    s.push_str(&legend);
    s.push_str("</svg>");
    s
}

/// Packs bars into worker lanes by start time; the number of lanes (at
/// most [`MAX_LANES`]: beyond, lanes are shared).
fn pack(bars: &mut [Bar]) -> usize {
    bars.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut free_at: Vec<f64> = Vec::new();
    for b in bars.iter_mut() {
        let lane = match free_at.iter().position(|&t| t <= b.start + 1e-9) {
            Some(l) => l,
            None => {
                free_at.push(0.0);
                free_at.len() - 1
            }
        };
        free_at[lane] = b.end;
        b.lane = lane % MAX_LANES;
    }
    free_at.len().min(MAX_LANES)
}

/// Grid lines and the seconds axis under the lanes.
fn axis(span: f64, x: impl Fn(f64) -> f64, top: f64, axis_y: f64) -> String {
    let step = nice_step(span / 8.0);
    let mut s = format!(
        "<line x1=\"{LABEL_W}\" y1=\"{axis_y:.2}\" x2=\"{:.2}\" y2=\"{axis_y:.2}\" stroke=\"currentColor\" stroke-opacity=\"0.6\"/>",
        WIDTH - RIGHT
    );
    let mut t = 0.0;
    while t <= span * 1.0001 {
        let px = x(t);
        let label = if step < 1.0 {
            format!("{t:.1}")
        } else {
            format!("{t:.0}")
        };
        let _ = write!(
            s,
            "<line x1=\"{px:.2}\" y1=\"{top}\" x2=\"{px:.2}\" y2=\"{axis_y:.2}\" stroke=\"currentColor\" stroke-opacity=\"0.12\"/><text x=\"{px:.2}\" y=\"{:.2}\" text-anchor=\"middle\" fill=\"currentColor\" font-size=\"10\">{label}</text>",
            axis_y + 13.0
        );
        t += step;
    }
    let _ = write!(
        s,
        "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\" fill=\"currentColor\" font-size=\"10\">seconds since the first submit</text>",
        WIDTH - RIGHT,
        axis_y + 26.0
    );
    s
}

/// 1, 2 or 5 × 10^k at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1e-3);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag)
}

/// Lane labels: `name[i]` per element lane (the job's name on its first
/// lane only), or `worker k` per packed lane, cut to the label column.
fn lane_labels(
    s: &mut String,
    jobs: &[JobTimeline],
    bars: &[Bar],
    per_element: bool,
    lanes: usize,
    lane_h: f64,
) {
    let max_chars = ((LABEL_W - 8.0) / CHAR_W) as usize;
    if per_element {
        let mut last_job = usize::MAX;
        for b in bars {
            let name = jobs.get(b.job).map(|j| j.name.as_str()).unwrap_or("");
            let index = format!("[{}]", b.element);
            let label = if b.job != last_job {
                let room = max_chars.saturating_sub(index.chars().count());
                format!("{}{index}", cut(name, room))
            } else {
                index
            };
            last_job = b.job;
            let _ = write!(
                s,
                "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\" fill=\"currentColor\">{}</text>",
                LABEL_W - 6.0,
                TOP + (b.lane as f64 + 0.75) * lane_h,
                esc(&label)
            );
        }
    } else if lane_h >= 10.0 {
        for l in 0..lanes {
            let _ = write!(
                s,
                "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\" fill=\"currentColor\">worker {}</text>",
                LABEL_W - 6.0,
                TOP + (l as f64 + 0.75) * lane_h,
                l + 1
            );
        }
    } else {
        let _ = write!(
            s,
            "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\" fill=\"currentColor\">{lanes} workers</text>",
            LABEL_W - 6.0,
            TOP + 11.0
        );
    }
}

/// The legend: a swatch per job, then the critical path's outline, in
/// rows that fit the width. Returns the markup and its height.
fn legend(jobs: &[JobTimeline], y0: f64) -> (String, f64) {
    let mut s = String::new();
    let (mut x, mut y) = (LABEL_W, y0);
    let max_chars = 24;
    let mut entries: Vec<(Option<String>, String)> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (Some(JobFill::of(i).paint()), cut(&j.name, max_chars)))
        .collect();
    entries.push((None, "critical path".into()));
    entries.push((Some("wait".into()), "queue wait".into()));
    for (colour, label) in entries {
        let w = 18.0 + label.chars().count() as f64 * CHAR_W + 14.0;
        if x + w > WIDTH - RIGHT && x > LABEL_W {
            x = LABEL_W;
            y += 16.0;
        }
        let swatch = match colour.as_deref() {
            Some("wait") => format!(
                "<rect x=\"{x:.2}\" y=\"{:.2}\" width=\"12\" height=\"10\" fill=\"currentColor\" fill-opacity=\"0.25\"/>",
                y - 9.0
            ),
            Some(c) => format!(
                "<rect x=\"{x:.2}\" y=\"{:.2}\" width=\"12\" height=\"10\" fill=\"{c}\"/>",
                y - 9.0
            ),
            None => format!(
                "<rect x=\"{x:.2}\" y=\"{:.2}\" width=\"12\" height=\"10\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\"/>",
                y - 9.0
            ),
        };
        let _ = write!(
            s,
            "{swatch}<text x=\"{:.2}\" y=\"{y:.2}\" fill=\"currentColor\">{}</text>",
            x + 17.0,
            esc(&label)
        );
        x += w;
    }
    (s, y - y0 + 8.0)
}

/// `s` cut to `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::metrics::figures;
    use crate::report::metrics::tests::{el, job};
    use crate::report::timeline::Machine;

    fn machine() -> Machine {
        Machine {
            cpus: Some(2),
            mem_mb: None,
        }
    }

    #[test]
    fn one_bar_per_element_and_the_critical_path_outlined() {
        let a = job(
            1,
            "a_job_with_a_very_long_name_indeed",
            (0..3)
                .map(|i| el(i, 0.0, 1.0, 2.0 + i as f64, 0.5))
                .collect(),
        );
        let jobs = [a];
        let f = figures(&jobs, &machine());
        let s = svg(&jobs, &f);
        assert_eq!(s.matches("class=\"run\"").count(), 3);
        assert_eq!(s.matches("class=\"wait\"").count(), 3, "each waited 1 s");
        assert_eq!(
            s.matches("stroke-width=\"1.5\"").count(),
            2,
            "the run that ended last (the job is on the path whole) + the legend's swatch"
        );
        assert!(
            s.contains("a_job_with_a…[0]"),
            "labels are cut to the column"
        );
        // The legend sits below the axis caption, inside the chart's height.
        let y_of = |text: &str| -> f64 {
            let at = s.find(text).expect("the text is drawn");
            let tag = &s[s[..at].rfind("<text").expect("a text element")..at];
            let y = tag.split("y=\"").nth(1).and_then(|y| y.split('"').next());
            y.and_then(|y| y.parse().ok()).expect("a y coordinate")
        };
        let height: f64 = s
            .split("height=\"")
            .nth(1)
            .and_then(|h| h.split('"').next())
            .and_then(|h| h.parse().ok())
            .expect("a height");
        assert!(y_of(">queue wait<") > y_of(">seconds since the first submit<") + 10.0);
        assert!(y_of(">queue wait<") < height);
        assert!(
            !s.contains("fill=\"#fff\"") && !s.contains("fill=\"white\""),
            "no opaque background"
        );
    }

    #[test]
    fn ten_jobs_have_ten_fills() {
        let jobs: Vec<JobTimeline> = (0..10)
            .map(|j| job(j + 1, &format!("job{j}"), vec![el(0, 0.0, 0.0, 1.0, 0.5)]))
            .collect();
        let f = figures(&jobs, &machine());
        let s = svg(&jobs, &f);
        let fills: std::collections::BTreeSet<&str> = s
            .split("class=\"run\"")
            .skip(1)
            .filter_map(|r| r.split("fill=\"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(fills.len(), 10, "{fills:?}");
        for fill in fills {
            if let Some(id) = fill.strip_prefix("url(#").and_then(|f| f.strip_suffix(')')) {
                assert!(
                    s.contains(&format!("<pattern id=\"{id}\"")),
                    "{id} is defined"
                );
            }
        }
    }

    #[test]
    fn many_elements_share_worker_lanes() {
        // 1,000 elements of 1 s on 2 workers, back to back.
        let els = (0..1000)
            .map(|i| {
                let t = (i / 2) as f64;
                el(i, 0.0, t, t + 1.0, 0.5)
            })
            .collect();
        let jobs = [job(1, "many", els)];
        let f = figures(&jobs, &machine());
        let s = svg(&jobs, &f);
        assert_eq!(s.matches("class=\"run\"").count(), 1000);
        assert_eq!(s.matches("class=\"wait\"").count(), 0);
        assert!(
            s.contains(">worker 2<") && !s.contains(">worker 3<"),
            "two lanes"
        );
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(33.0), 50.0);
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
    }
}
