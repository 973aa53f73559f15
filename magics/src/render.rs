//! Rendering progress and job tables as HTML with a text/plain twin. No IO.

use crate::domain::Counts;
use crate::ledger::JobRecord;
use crate::session::Rendered;

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
        "{name} (job {job}) {} [{bar}] {done}/{} | pending {} running {} completed {} failed {} cancelled {} | {elapsed_s:.1}s{}",
        c.job_state(),
        c.total(),
        c.pending,
        c.running,
        c.completed,
        c.failed,
        c.cancelled,
        if note.is_empty() {
            String::new()
        } else {
            format!(" | {note}")
        }
    );
    let seg = |n: usize, color: &str| {
        format!(
            "<div style=\"width:{:.3}%;background:{color}\"></div>",
            100.0 * n as f64 / total as f64
        )
    };
    let html = format!(
        "<div class=\"sluice-progress\" style=\"font-family:monospace;font-size:12px\">\
<b>{}</b> <span style=\"color:#666\">job {job} · {} · {elapsed_s:.1}s</span>\
<div style=\"display:flex;height:10px;width:360px;background:#eee;margin:3px 0\">{}{}{}{}</div>\
<span style=\"color:#2a7\">{} completed</span> · <span style=\"color:#38c\">{} running</span> · {} pending · \
<span style=\"color:#c33\">{} failed</span> · <span style=\"color:#999\">{} cancelled</span> · {pct:.0}%{}</div>",
        esc(name),
        c.job_state(),
        seg(c.completed, "#2a7"),
        seg(c.failed, "#c33"),
        seg(c.cancelled, "#999"),
        seg(c.running, "#38c"),
        c.completed,
        c.running,
        c.pending,
        c.failed,
        c.cancelled,
        if note.is_empty() {
            String::new()
        } else {
            format!(" · {}", esc(note))
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
        return Rendered {
            text: "no jobs yet".into(),
            html: Some("<i>no jobs yet</i>".into()),
            ..Default::default()
        };
    }
    let mut text = format!(
        "{:>5}  {:<16} {:<5} {:<7} {:<10} {:>7} {:>7} {:>7}  {}\n",
        "id", "name", "kind", "backend", "state", "items", "done", "failed", "result type"
    );
    let mut html = String::from(
        "<table><tr><th>id</th><th>name</th><th>kind</th><th>backend</th><th>state</th><th>items</th><th>done</th><th>failed</th><th>result type</th></tr>",
    );
    for (j, c) in jobs {
        let state = if c.total() > 0 {
            c.job_state()
        } else {
            j.state
        };
        text.push_str(&format!(
            "{:>5}  {:<16} {:<5} {:<7} {:<10} {:>7} {:>7} {:>7}  {}\n",
            j.id, j.name, j.kind, j.backend, state, j.items, c.completed, c.failed, j.result_type
        ));
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
    Rendered {
        text: text.trim_end().to_string(),
        html: Some(html),
        ..Default::default()
    }
}

/// Plain text shown as-is (help, logs), in a <pre>.
pub fn pre(text: &str) -> Rendered {
    Rendered {
        text: text.to_string(),
        html: Some(format!("<pre>{}</pre>", esc(text))),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
