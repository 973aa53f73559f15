//! `%slurm cancel JOB` and `%slurm logs JOB[IDX]`.

use super::super::Magics;
use crate::domain::{Counts, ElementState};
use crate::error::MagicError;
use crate::jobdir::JobDir;
use crate::pipeline::{submit, watch};
use crate::render;
use crate::session::Display;

/// How long `%slurm cancel` waits for the elements to end.
const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl Magics {
    pub(super) fn cancel_line(
        &mut self,
        job: &str,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let j = self.ws.find_job(job)?;
        // A job whose elements all ended has nothing left to cancel.
        let before = watch::states_of(&mut self.ws, &j)?;
        if !before.is_empty() && before.iter().all(ElementState::is_terminal) {
            let c = Counts::of(before.iter());
            display.show(
                &render::message(&format!(
                    "`{}` (job {}) already ended ({}); nothing to cancel",
                    j.name,
                    j.id,
                    c.job_state()
                )),
                None,
            );
            return Ok(());
        }
        submit::cancel(&mut self.ws, &j)?;
        let deadline = std::time::Instant::now() + CANCEL_WAIT;
        let states = loop {
            let s = watch::states_of(&mut self.ws, &j)?;
            if s.iter().all(ElementState::is_terminal) || std::time::Instant::now() > deadline {
                break s;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let c = Counts::of(states.iter());
        self.ws
            .ledger()?
            .record_states(j.id, c.job_state(), &states)?;
        display.show(&render::progress(&j.name, j.id, &c, 0.0, "cancelled"), None);
        Ok(())
    }

    pub(super) fn logs(&mut self, job: &str, display: &mut dyn Display) -> Result<(), MagicError> {
        let (name, index) = match job.split_once('[') {
            Some((n, rest)) => {
                let Some(text) = rest.strip_suffix(']') else {
                    return Err(MagicError::Items(format!(
                        "`{job}` has no closing `]`; for example `%slurm logs {n}[0]`"
                    )));
                };
                let idx = match text.parse::<usize>() {
                    Ok(i) => i,
                    // More digits than any job has elements: past its end.
                    Err(_) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                        usize::MAX
                    }
                    Err(_) => {
                        return Err(MagicError::Items(format!(
                            "`{job}`: the item's index is a whole number 0, 1, 2, ...; for example `%slurm logs NAME[3]`"
                        )));
                    }
                };
                (n.to_string(), idx)
            }
            None => (job.to_string(), 0),
        };
        let j = self.ws.find_job(&name)?;
        if index >= j.items {
            let asked = job
                .split_once('[')
                .map_or("0", |(_, i)| i.trim_end_matches(']'));
            return Err(MagicError::Items(past_the_end(
                &name,
                asked,
                j.items,
                j.dir.chunk(),
            )));
        }
        // Over SSH the logs are on the cluster: bring them over first.
        submit::fetch(&mut self.ws, &j)?;
        let element = index / j.dir.chunk();
        let read = |ext: &str| std::fs::read_to_string(j.dir.log(element, ext)).unwrap_or_default();
        let mut text = format!(
            "== {name}[{index}] (element {element}) stdout ==\n{}\n== stderr ==\n{}",
            read("out").trim_end(),
            read("err").trim_end()
        );
        let slurm = slurm_messages(&j.dir, element);
        if !slurm.is_empty() {
            text.push_str(&format!("\n== Slurm ==\n{}", slurm.trim_end()));
        }
        display.show(&render::pre(&text), None);
        Ok(())
    }
}

/// Why `job[index]` names nothing: how many elements (items, when packed
/// `chunk` to an element) the job has and their indices.
fn past_the_end(job: &str, index: &str, items: usize, chunk: usize) -> String {
    let what = if chunk > 1 { "item" } else { "element" };
    match items.checked_sub(1) {
        None => format!("`{job}` has no {what}s, so `{job}[{index}]` has no logs"),
        Some(0) => format!("`{job}` has 1 {what} (index 0); `{job}[{index}]` is past its end"),
        Some(last) => format!(
            "`{job}` has {items} {what}s (indices 0..{last}); `{job}[{index}]` is past its end"
        ),
    }
}

/// What Slurm itself wrote for an element (time limit, memory kills):
/// `logs/slurm-<array>_<task>.out`.
fn slurm_messages(dir: &JobDir, element: usize) -> String {
    let suffix = format!("_{element}.out");
    let Ok(entries) = std::fs::read_dir(dir.logs_dir()) else {
        return String::new();
    };
    let mut files: Vec<std::path::PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("slurm-") && n.ends_with(&suffix))
        })
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect::<Vec<_>>()
        .join("")
}

#[cfg(test)]
mod tests {
    use super::past_the_end;

    #[test]
    fn an_index_past_the_end_says_how_many_there_are() {
        assert_eq!(
            past_the_end("m3", "999", 3, 1),
            "`m3` has 3 elements (indices 0..2); `m3[999]` is past its end"
        );
        assert_eq!(
            past_the_end("r", "1", 1, 1),
            "`r` has 1 element (index 0); `r[1]` is past its end"
        );
        assert_eq!(
            past_the_end("p", "10", 10, 4),
            "`p` has 10 items (indices 0..9); `p[10]` is past its end"
        );
        assert_eq!(
            past_the_end("e", "0", 0, 1),
            "`e` has no elements, so `e[0]` has no logs"
        );
        assert_eq!(
            past_the_end("m3", "99999999999999999999999", 3, 1),
            "`m3` has 3 elements (indices 0..2); `m3[99999999999999999999999]` is past its end"
        );
    }
}
