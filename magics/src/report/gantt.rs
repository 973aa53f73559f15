//! The report's Gantt chart as SVG. The x axis is seconds since the first
//! submit. With few elements each has a lane: its queue wait (submit to
//! start) drawn lighter, then its run (start to end) solid. With many
//! (over [`MAX_LANES`]), elements are packed into worker lanes (an element
//! takes the first lane free when it starts), so 1,000 elements stay
//! readable; waits are left out there, as they would overlap. Each job
//! has a colour, in submission order (the dependency order); runs on the
//! critical path are outlined.
//!
//! Theme-safe: like every SVG picture here it draws its own light paper
//! and dark ink ([`crate::theme`]), so it reads the same on a light or a
//! dark page, and opts out of forced colours (`forced-color-adjust:
//! none`: a contrast theme would otherwise repaint its text and leave the
//! job colours). Failed elements are outlined red and dashed. Labels are
//! shortened from the middle to the width they are given (names sharing a
//! long prefix keep their distinct ends), so no text leaves its box. The
//! time axis reads in a unit that fits ([`super::time_axis`]). No IO.

use std::fmt::Write as _;

use super::job_fill::{self, JobFill};
use super::metrics::Figures;
use super::time_axis;
use super::timeline::JobTimeline;
use crate::render::{duration, esc};
use crate::theme::{INK, PAPER, Tone, svg_paper};

/// Most lanes drawn; beyond, elements share worker lanes.
pub const MAX_LANES: usize = 48;
const WIDTH: f64 = 760.0;
const LABEL_W: f64 = 190.0;
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
    failed: bool,
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
                failed: e.state.is_failure(),
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
    let any_failed = bars.iter().any(|b| b.failed);
    let (legend, legend_h) = legend(jobs, axis_y + 46.0, any_failed);
    let height = axis_y + 46.0 + legend_h;
    // `color` is the ink every `currentColor` below takes.
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sluice-gantt\" width=\"{WIDTH}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\" font-size=\"11\" style=\"color: {INK}; background: {PAPER}; forced-color-adjust: none\">"
    );
    s.push_str(&svg_paper(WIDTH as usize, height.round() as usize));
    s.push_str(&job_fill::defs(jobs.len()));
    s.push_str(&axis(span, x, TOP, axis_y));
    lane_labels(&mut s, jobs, &bars, per_element, lanes, lane_h);
    for b in &bars {
        bar(&mut s, b, jobs, &x, lane_h, per_element);
    }
    s.push_str(&legend);
    s.push_str("</svg>");
    s
}

/// One bar: its queue wait (per-element lanes only) and its run, with its
/// outline (failed: red, dashed; critical: ink) and tooltip.
fn bar(
    s: &mut String,
    b: &Bar,
    jobs: &[JobTimeline],
    x: &impl Fn(f64) -> f64,
    lane_h: f64,
    per_element: bool,
) {
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
    let outline = match (b.failed, b.critical) {
        (true, _) => format!(
            " stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"3 2\"",
            Tone::Bad.solid()
        ),
        (false, true) => " stroke=\"currentColor\" stroke-width=\"1.5\"".to_string(),
        (false, false) => String::new(),
    };
    let _ = write!(
        s,
        "<rect class=\"run\" data-job=\"{}\" data-element=\"{}\" x=\"{:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{h:.2}\" fill=\"{colour}\" fill-opacity=\"0.9\"{outline}><title>{}[{}]: ran {} after waiting {}{}{}</title></rect>",
        esc(name),
        b.element,
        x(b.start),
        (x(b.end) - x(b.start)).max(0.5),
        esc(name),
        b.element,
        duration(b.end - b.start),
        duration((b.start - b.submit).max(0.0)),
        if b.failed { " (FAILED)" } else { "" },
        if b.critical { " (critical path)" } else { "" }
    );
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

/// Grid lines and the time axis under the lanes.
fn axis(span: f64, x: impl Fn(f64) -> f64, top: f64, axis_y: f64) -> String {
    let (ticks, unit) = time_axis::ticks(span);
    let mut s = format!(
        "<line x1=\"{LABEL_W}\" y1=\"{axis_y:.2}\" x2=\"{:.2}\" y2=\"{axis_y:.2}\" stroke=\"currentColor\" stroke-opacity=\"0.6\"/>",
        WIDTH - RIGHT
    );
    for tick in ticks {
        let px = x(tick.at_s);
        let _ = write!(
            s,
            "<line x1=\"{px:.2}\" y1=\"{top}\" x2=\"{px:.2}\" y2=\"{axis_y:.2}\" stroke=\"currentColor\" stroke-opacity=\"0.12\"/><text x=\"{px:.2}\" y=\"{:.2}\" text-anchor=\"middle\" fill=\"currentColor\" font-size=\"10\">{}</text>",
            axis_y + 13.0,
            tick.label
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\" fill=\"currentColor\" font-size=\"10\">{}</text>",
        WIDTH - RIGHT,
        axis_y + 26.0,
        unit.caption()
    );
    s
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
            let (label, whole) = if b.job != last_job {
                let room = max_chars.saturating_sub(index.chars().count());
                (
                    format!("{}{index}", cut_middle(name, room)),
                    format!("{name}{index}"),
                )
            } else {
                (index.clone(), format!("{name}{index}"))
            };
            last_job = b.job;
            let _ = write!(
                s,
                "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\" fill=\"currentColor\"><title>{}</title>{}</text>",
                LABEL_W - 6.0,
                TOP + (b.lane as f64 + 0.75) * lane_h,
                esc(&whole),
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
fn legend(jobs: &[JobTimeline], y0: f64, any_failed: bool) -> (String, f64) {
    let mut s = String::new();
    let (mut x, mut y) = (LABEL_W, y0);
    let max_chars = 24;
    // (swatch, label, the whole name when the label is cut)
    let mut entries: Vec<(Option<String>, String, Option<String>)> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let label = cut_middle(&j.name, max_chars);
            let whole = (label != j.name).then(|| j.name.clone());
            (Some(JobFill::of(i).paint()), label, whole)
        })
        .collect();
    entries.push((None, "critical path".into(), None));
    if any_failed {
        entries.push((Some("failed".into()), "failed".into(), None));
    }
    entries.push((Some("wait".into()), "queue wait".into(), None));
    for (colour, label, whole) in entries {
        let w = 18.0 + label.chars().count() as f64 * CHAR_W + 14.0;
        if x + w > WIDTH - RIGHT && x > LABEL_W {
            x = LABEL_W;
            y += 16.0;
        }
        let swatch = match colour.as_deref() {
            Some("wait") => format!(
                "<rect x=\"{x:.2}\" y=\"{:.2}\" width=\"12\" height=\"10\" fill=\"currentColor\" fill-opacity=\"0.25\" stroke=\"currentColor\" stroke-opacity=\"0.5\"/>",
                y - 9.0
            ),
            Some("failed") => format!(
                "<rect x=\"{x:.2}\" y=\"{:.2}\" width=\"12\" height=\"10\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/>",
                y - 9.0,
                Tone::Bad.solid()
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
        let title = whole.map_or_else(String::new, |w| format!("<title>{}</title>", esc(&w)));
        let _ = write!(
            s,
            "{swatch}<text x=\"{:.2}\" y=\"{y:.2}\" fill=\"currentColor\">{title}{}</text>",
            x + 17.0,
            esc(&label)
        );
        x += w;
    }
    (s, y - y0 + 8.0)
}

/// A job name cut to `max` characters from the middle, two thirds of the
/// room to its start (names that share a long prefix keep their distinct
/// ends).
fn cut_middle(s: &str, max: usize) -> String {
    crate::label_fit::fit_shared(s, max, crate::label_fit::Share::MostlyHead)
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
            s.contains("a_job_with_a_ve…_indeed[0]"),
            "labels are cut to the column"
        );
        // Hovering a cut label shows the whole name.
        assert!(
            s.contains("<title>a_job_with_a_very_long_name_indeed[0]</title>a_job_with_a_ve…_indeed[0]</text>"),
            "{s}"
        );
        assert!(
            s.contains("<title>a_job_with_a_very_long_name_indeed</title>"),
            "legend: {s}"
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
    fn labels_keep_their_distinct_ends() {
        assert_eq!(cut_middle("abc", 3), "abc");
        assert_eq!(cut_middle("abcd", 3), "a…d");
        let a = cut_middle(
            "a_really_quite_long_job_name_for_the_gantt_chart_number_01",
            22,
        );
        let b = cut_middle(
            "a_really_quite_long_job_name_for_the_gantt_chart_number_14",
            22,
        );
        assert_eq!(a.chars().count(), 22);
        assert!(a.ends_with("_01") && b.ends_with("_14"), "{a} {b}");
        assert!(a.starts_with("a_really_quite"), "{a}");
    }

    #[test]
    fn sub_second_runs_read_in_ms_and_failures_are_outlined() {
        let mut a = job(
            1,
            "fast",
            vec![
                el(0, 0.0, 0.002, 0.030, 0.01),
                el(1, 0.0, 0.004, 0.041, 0.01),
            ],
        );
        a.elements[1].state = crate::domain::ElementState::Failed(1);
        let jobs = [a];
        let f = figures(&jobs, &machine());
        let s = svg(&jobs, &f);
        assert!(s.contains(">ms since the first submit<"), "{s}");
        assert!(s.contains(">10</text>") && s.contains(">40</text>"), "{s}");
        assert!(s.contains("fast[0]: ran 28 ms after waiting 2 ms"), "{s}");
        assert!(
            s.contains("fast[1]: ran 37 ms after waiting 4 ms (FAILED)"),
            "{s}"
        );
        assert_eq!(
            s.matches("stroke-dasharray").count(),
            2,
            "the bar and the legend"
        );
        assert!(s.contains("forced-color-adjust: none"));
    }
}
