//! Rendering progress and job tables as HTML with a text/plain twin. No IO.

use crate::domain::{Counts, ElementState};
use crate::ledger::JobRecord;
use crate::session::Rendered;
use crate::text_table::{Align, fit, layout};
use crate::theme::{KEEPS_COLOUR, MUTED, TRACK, Tone, UI_FONT, swatch};

/// The display columns a job's name gets in the text form of the tables
/// (a longer one is cut from the middle; the HTML form shows it whole).
const NAME_COLUMNS: usize = 28;

/// `s` safe inside HTML/SVG text and attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The live progress of one job.
pub fn progress(name: &str, job: u64, c: &Counts, elapsed_s: f64, note: &str) -> Rendered {
    let total = c.total().max(1);
    let done = c.completed + c.failed + c.cancelled;
    let pct = 100.0 * done as f64 / total as f64;
    let width = 30;
    let filled = (width * done) / total;
    let bar = format!("{}{}", "#".repeat(filled), ".".repeat(width - filled));
    let text = format!(
        "{name} (job {job}) {} [{bar}] {done}/{} | pending {} running {} completed {} failed {} cancelled {} | {}{}",
        c.job_state(),
        c.total(),
        c.pending,
        c.running,
        c.completed,
        c.failed,
        c.cancelled,
        duration(elapsed_s),
        if note.is_empty() {
            String::new()
        } else {
            format!(" | {note}")
        }
    );
    let seg = |n: usize, tone: Tone| {
        format!(
            "<div {KEEPS_COLOUR}width:{:.3}%;background:{}\"></div>",
            100.0 * n as f64 / total as f64,
            tone.solid()
        )
    };
    let count = |n: usize, tone: Tone, what: &str| format!("{}{n} {what}", swatch(tone));
    let html = format!(
        "<div class=\"sluice-progress\" style=\"{UI_FONT};font-size:12px;line-height:1.5\">\
<b>{}</b> <span style=\"{MUTED}\">job {job} · {} · {}</span>\
<div {KEEPS_COLOUR}display:flex;height:10px;width:360px;max-width:100%;background:{TRACK};border-radius:3px;overflow:hidden;margin:3px 0\">{}{}{}{}</div>\
{} · {} · {} · {} · {} · {pct:.0}%{}</div>",
        esc(name),
        c.job_state(),
        duration(elapsed_s),
        seg(c.completed, Tone::Good),
        seg(c.failed, Tone::Bad),
        seg(c.cancelled, Tone::Quiet),
        seg(c.running, Tone::Busy),
        count(c.completed, Tone::Good, "completed"),
        count(c.running, Tone::Busy, "running"),
        count(c.pending, Tone::Quiet, "pending"),
        count(c.failed, Tone::Bad, "failed"),
        count(c.cancelled, Tone::Quiet, "cancelled"),
        if note.is_empty() {
            String::new()
        } else {
            format!("<div>{}</div>", inline_code(note))
        }
    );
    Rendered {
        text,
        html: Some(html),
        ..Default::default()
    }
}

/// `%slurm jobs`: one row per job.
pub fn jobs_table(jobs: &[(JobRecord, Counts)]) -> Rendered {
    if jobs.is_empty() {
        return message(crate::error::NO_JOB_YET);
    }
    let mut text_rows = vec![
        [
            "id",
            "name",
            "kind",
            "backend",
            "state",
            "items",
            "done",
            "failed",
            "result type",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut html = String::from(
        "<table><tr><th>id</th><th>name</th><th>kind</th><th>backend</th><th>state</th><th>items</th><th>done</th><th>failed</th><th>result type</th></tr>",
    );
    for (j, c) in jobs {
        let state = if c.total() > 0 {
            c.job_state()
        } else {
            j.state
        };
        text_rows.push(vec![
            j.id.to_string(),
            fit(&j.name, NAME_COLUMNS),
            j.kind.to_string(),
            j.backend.to_string(),
            state.to_string(),
            j.items.to_string(),
            c.completed.to_string(),
            c.failed.to_string(),
            fit(&j.result_type, usize::MAX),
        ]);
        html.push_str(&format!(
            "<tr><td>{}</td><td><b>{}</b></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            j.id,
            esc(&j.name),
            j.kind,
            j.backend,
            state,
            j.items,
            c.completed,
            c.failed,
            esc(&j.result_type)
        ));
    }
    html.push_str("</table>");
    use Align::{Left, Right};
    Rendered {
        text: layout(
            &text_rows,
            &[Right, Left, Left, Left, Left, Right, Right, Right, Left],
        ),
        html: Some(html),
        ..Default::default()
    }
}

/// One row of `%slurm status`.
#[derive(Debug, Clone)]
pub struct StatusRow {
    /// The job.
    pub job: JobRecord,
    /// Its element states now.
    pub states: Vec<ElementState>,
    /// Seconds from its first start to its last end (finished), or since it
    /// was submitted (still running); None if nothing ran.
    pub elapsed: Option<f64>,
    /// Pending reasons, cancellation reasons, cluster trouble.
    pub note: String,
}

/// `2 completed, 1 TIMEOUT, 3 cancelled`: how many elements are in each
/// state, Slurm's states that say why an element ended named as Slurm does.
pub fn state_breakdown(states: &[ElementState]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for s in states {
        let name = match s {
            ElementState::Pending
            | ElementState::Running
            | ElementState::Completed
            | ElementState::Failed(_)
            | ElementState::Cancelled(_) => s.name().to_ascii_lowercase(),
            other => other.name().to_string(),
        };
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push((name, 1)),
        }
    }
    counts
        .iter()
        .map(|(n, c)| format!("{c} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `%slurm status`: one row per job — state, elements by state, elapsed
/// time, why pending elements wait.
pub fn status_table(rows: &[StatusRow]) -> Rendered {
    if rows.is_empty() {
        let text = format!(
            "{} (`%slurm status --all` lists the folder's)",
            crate::error::NO_JOB_YET
        );
        return message(&text);
    }
    let elapsed = |e: Option<f64>| e.map_or_else(|| "-".to_string(), duration);
    let mut text_rows = vec![
        [
            "id", "name", "state", "elements", "by state", "elapsed", "reason",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut html = String::from(
        "<table class=\"sluice-status\"><tr><th>id</th><th>name</th><th>state</th><th>elements</th><th>by state</th><th>elapsed</th><th>reason</th></tr>",
    );
    for r in rows {
        let c = Counts::of(r.states.iter());
        let state = if c.total() > 0 {
            c.job_state()
        } else {
            r.job.state
        };
        let by = state_breakdown(&r.states);
        text_rows.push(vec![
            r.job.id.to_string(),
            fit(&r.job.name, NAME_COLUMNS),
            state.to_string(),
            r.states.len().to_string(),
            by.clone(),
            elapsed(r.elapsed),
            fit(&r.note, usize::MAX),
        ]);
        html.push_str(&format!(
            "<tr><td>{}</td><td><b>{}</b></td><td>{state}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.job.id,
            esc(&r.job.name),
            r.states.len(),
            esc(&by),
            elapsed(r.elapsed),
            esc(&r.note)
        ));
    }
    html.push_str("</table>");
    use Align::{Left, Right};
    Rendered {
        text: layout(&text_rows, &[Right, Left, Left, Right, Left, Right, Left]),
        html: Some(html),
        ..Default::default()
    }
}

/// Plain text shown as-is (help, logs, DOT), in a <pre>.
pub fn pre(text: &str) -> Rendered {
    Rendered {
        text: text.to_string(),
        html: Some(format!("<pre>{}</pre>", esc(text))),
        ..Default::default()
    }
}

/// A status message (what was bound, queued, retried): prose that wraps at
/// word boundaries, names written `` `like_this` `` shown in `<code>`,
/// lines kept; the text/plain form is the message itself.
pub fn message(text: &str) -> Rendered {
    let body = text
        .lines()
        .map(inline_code)
        .collect::<Vec<_>>()
        .join("<br>");
    Rendered {
        text: text.to_string(),
        html: Some(format!(
            "<div class=\"sluice-message\" style=\"{UI_FONT};font-size:13px;line-height:1.5;white-space:normal;overflow-wrap:break-word\">{body}</div>"
        )),
        ..Default::default()
    }
}

/// `text` escaped for HTML, with each `` `name` `` in `<code>` (an
/// unpaired backtick stays as it is).
pub fn inline_code(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return esc(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", esc(p))
            } else {
                esc(p)
            }
        })
        .collect()
}

/// A duration as a person reads it: `53 ms`, `0.4 s`, `6.2 s`,
/// `2 min 5 s`, `1 h 3 min` (a job of 53 ms never reads `0.0 s`).
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "-".into();
    }
    // -0.0 (a sum of nothing) reads 0, not -0.
    let seconds = seconds + 0.0;
    if seconds < 0.0995 {
        return format!("{:.0} ms", seconds * 1e3);
    }
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    let (h, m, s) = (whole / 3600, (whole % 3600) / 60, whole % 60);
    if h > 0 {
        format!("{h} h {m} min")
    } else {
        format!("{m} min {s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations_are_never_zero_seconds() {
        assert_eq!(duration(0.053), "53 ms");
        assert_eq!(duration(0.0004), "0 ms");
        assert_eq!(duration(0.0996), "0.1 s");
        assert_eq!(duration(6.2), "6.2 s");
        assert_eq!(duration(125.0), "2 min 5 s");
        assert_eq!(duration(f64::NAN), "-");
    }

    #[test]
    fn states_are_counted_with_slurm_names_for_why_they_ended() {
        let s = [
            ElementState::Completed,
            ElementState::Timeout,
            ElementState::Completed,
            ElementState::Cancelled("x".into()),
            ElementState::OutOfMemory,
            ElementState::NodeFail,
        ];
        assert_eq!(
            state_breakdown(&s),
            "2 completed, 1 TIMEOUT, 1 cancelled, 1 OUT_OF_MEMORY, 1 NODE_FAIL"
        );
    }

    #[test]
    fn progress_has_counts_in_both_forms() {
        let c = Counts {
            pending: 1,
            running: 2,
            completed: 3,
            failed: 1,
            cancelled: 0,
        };
        let r = progress("parts", 7, &c, 1.5, "");
        assert!(r.text.contains("4/7"), "{}", r.text);
        assert!(r.text.contains("running 2"));
        assert!(r.html.as_deref().unwrap_or("").contains("3 completed"));
    }
}
