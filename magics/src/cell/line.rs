//! The `%slurm` line magics: config, jobs, status, wait, cancel, logs,
//! retry, load, help; and `%lsmagic`.

use super::jobs::read_number;
use super::{MagicError, Magics};
use crate::catalog;
use crate::executor::{JobSpec, Resources};
use crate::grammar::{LineMagic, USAGE};
use crate::render;
use crate::session::{Display, Rendered, Session};
use crate::state::{Counts, State};

/// `%lsmagic`.
pub(super) fn lsmagic() -> Rendered {
    render::pre(&format!(
        "Cell magics: %%slurm map, %%slurm run\nLine magics: %slurm {}, %lsmagic\n\n{USAGE}",
        catalog::SLURM_LINE.join(" | ")
    ))
}

impl Magics {
    pub(super) fn line(
        &mut self,
        l: LineMagic,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        match l {
            LineMagic::Help => display.show(&render::pre(USAGE), None),
            LineMagic::Config(c) => {
                if let Some(b) = &c.backend {
                    self.check_backend(Some(b))?;
                }
                let before = self.config.clone();
                if let Some(w) = &c.workdir {
                    self.config.workdir = std::path::PathBuf::from(w);
                    self.ledger = None;
                }
                for (value, slot) in [
                    (&c.host, &mut self.config.host),
                    (&c.identity, &mut self.config.identity),
                    (&c.partition, &mut self.config.partition),
                    (&c.account, &mut self.config.account),
                    (&c.remote_workdir, &mut self.config.remote_workdir),
                ] {
                    if let Some(v) = value {
                        // `--host none` goes back to the login node.
                        *slot = (v != "none" && !v.is_empty()).then(|| v.clone());
                    }
                }
                if let Some(b) = &c.backend {
                    self.config.backend = b.clone();
                }
                let moved = before.host != self.config.host
                    || before.identity != self.config.identity
                    || before.remote_workdir != self.config.remote_workdir
                    || before.workdir != self.config.workdir;
                if moved {
                    self.slurm = None;
                }
                let mut text = self.config.describe(&self.sluice_dir());
                if self.config.backend == "slurm" {
                    // Connect now: a wrong host or key is said here, not at
                    // the first job. The old settings stay if it fails.
                    match self.slurm() {
                        Ok(s) => {
                            let i = s.info();
                            text.push_str(&format!(
                                "\ncluster: {} (MaxArraySize {}, {} CPUs); job files on the cluster: {}\nscheduler: {}",
                                s.describe(),
                                i.max_array_size,
                                i.total_cpus,
                                i.root.display(),
                                s.stats_line()
                            ));
                        }
                        Err(e) => {
                            self.config = before;
                            self.slurm = None;
                            return Err(e);
                        }
                    }
                }
                display.show(&render::pre(&text), None);
            }
            LineMagic::Jobs => {
                let rows = self.jobs_with_counts()?;
                display.show(&render::jobs_table(&rows), None);
            }
            LineMagic::Graph { dot, all } => {
                let mut rows = self.jobs_with_counts()?;
                if !all {
                    // This session's jobs: the ones its names refer to now.
                    let ids: Vec<u64> = self.jobs.values().map(|j| j.id).collect();
                    rows.retain(|(j, _)| ids.contains(&j.id));
                }
                let w = crate::graph::Workflow::build(&rows);
                if dot {
                    display.show(&render::pre(&w.dot()), None);
                } else {
                    display.show(
                        &Rendered {
                            text: w.text(),
                            html: None,
                            svg: Some(w.svg()),
                        },
                        None,
                    );
                }
            }
            LineMagic::Status { job } => {
                let names: Vec<String> = match job {
                    Some(j) => vec![j],
                    None => self.ledger()?.jobs()?.into_iter().map(|j| j.name).collect(),
                };
                let mut text = String::new();
                let mut html = String::new();
                for n in names {
                    let j = self.find_job(&n)?;
                    let states = self.states_of(&j)?;
                    let mut note = reasons(&states);
                    let live = self.backend_note(j.id);
                    if !live.is_empty() {
                        if !note.is_empty() {
                            note.push_str("; ");
                        }
                        note.push_str(&live);
                    }
                    let r = render::progress(&j.name, j.id, &Counts::of(states.iter()), 0.0, &note);
                    text.push_str(&r.text);
                    text.push('\n');
                    html.push_str(r.html.as_deref().unwrap_or(""));
                }
                display.show(
                    &Rendered {
                        text,
                        html: Some(html),
                        ..Default::default()
                    },
                    None,
                );
            }
            LineMagic::Wait { job } => {
                let j = self.find_job(&job)?;
                let states = self.wait(&j, display)?;
                let msg = self.finish(&j, &states, session, display)?;
                display.show(&render::pre(&msg), None);
            }
            LineMagic::Cancel { job } => {
                let j = self.find_job(&job)?;
                self.cancel_job(&j)?;
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                let states = loop {
                    let s = self.states_of(&j)?;
                    if s.iter().all(State::is_terminal) || std::time::Instant::now() > deadline {
                        break s;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                };
                let c = Counts::of(states.iter());
                self.ledger()?.record_states(j.id, c.job_state(), &states)?;
                display.show(&render::progress(&j.name, j.id, &c, 0.0, "cancelled"), None);
            }
            LineMagic::Logs { job } => {
                let (name, index) = match job.split_once('[') {
                    Some((n, rest)) => {
                        let idx = rest.trim_end_matches(']').parse::<usize>().map_err(|_| {
                            MagicError::Items(format!(
                                "`{job}`: write logs NAME or logs NAME[INDEX]"
                            ))
                        })?;
                        (n.to_string(), idx)
                    }
                    None => (job.clone(), 0),
                };
                let j = self.find_job(&name)?;
                // Over SSH the logs are on the cluster: bring them over first.
                self.fetch_job_files(&j)?;
                let chunk = read_number(&j.dir.join("chunk")).unwrap_or(1).max(1);
                let element = index / chunk;
                let read = |ext: &str| {
                    std::fs::read_to_string(j.dir.join("logs").join(format!("{element}.{ext}")))
                        .unwrap_or_default()
                };
                let mut text = format!(
                    "== {name}[{index}] (element {element}) stdout ==\n{}\n== stderr ==\n{}",
                    read("out").trim_end(),
                    read("err").trim_end()
                );
                let slurm = slurm_messages(&j.dir.join("logs"), element);
                if !slurm.is_empty() {
                    text.push_str(&format!("\n== Slurm ==\n{}", slurm.trim_end()));
                }
                display.show(&render::pre(&text), None);
            }
            LineMagic::Retry { job } => {
                let j = self.find_job(&job)?;
                let states = self.states_of(&j)?;
                if states.iter().any(|s| !s.is_terminal()) {
                    return Err(MagicError::Submit(format!(
                        "`{job}` is still running; wait for it first"
                    )));
                }
                let failed = self.failed_elements(&j);
                if failed.is_empty() {
                    let msg = self.finish(&j, &states, session, display)?;
                    display.show(&render::pre(&format!("nothing to retry; {msg}")), None);
                    return Ok(());
                }
                let chunk = read_number(&j.dir.join("chunk")).unwrap_or(1).max(1);
                let items: Vec<usize> = failed
                    .iter()
                    .flat_map(|e| e * chunk..((e + 1) * chunk).min(j.items))
                    .collect();
                self.forget_status(&j, &items)?;
                // The same requests as the first time (older jobs: defaults).
                let asked: Resources = std::fs::read_to_string(j.dir.join("resources.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default();
                let spec = JobSpec {
                    id: j.id,
                    name: j.name.clone(),
                    binary: j.binary.clone(),
                    dir: j.dir.clone(),
                    elements: j.items.div_ceil(chunk),
                    run: failed.clone(),
                    cpus: asked.cpus.max(1),
                    mem_mb: asked.mem_mb,
                    time_limit: asked.time_limit,
                    max_concurrent: asked.max_concurrent,
                    deps: Vec::new(),
                    placement: asked.placement,
                };
                display.show(
                    &render::pre(&format!(
                        "retrying {} failed element(s) of `{job}`: {:?}",
                        failed.len(),
                        failed
                    )),
                    None,
                );
                self.submit_to_backend(&j, spec)?;
                self.jobs.insert(j.name.clone(), j.clone());
                let states = self.wait(&j, display)?;
                let msg = self.finish(&j, &states, session, display)?;
                display.show(&render::pre(&msg), None);
            }
            LineMagic::Load { job } => {
                let j = self.find_job(&job)?;
                let states = self.states_of(&j)?;
                let msg = self.finish(&j, &states, session, display)?;
                self.jobs.insert(j.name.clone(), j);
                display.show(&render::pre(&msg), None);
            }
        }
        Ok(())
    }
}

/// Distinct cancellation reasons, for status lines.
fn reasons(states: &[State]) -> String {
    let mut out: Vec<String> = Vec::new();
    for s in states {
        if let State::Cancelled(r) = s
            && !out.contains(r)
        {
            out.push(r.clone());
        }
    }
    out.join("; ")
}

/// What Slurm itself wrote for an element (time limit, memory kills):
/// `logs/slurm-<array>_<task>.out`.
fn slurm_messages(logs: &std::path::Path, element: usize) -> String {
    let suffix = format!("_{element}.out");
    let Ok(entries) = std::fs::read_dir(logs) else {
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
