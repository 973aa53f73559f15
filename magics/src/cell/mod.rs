//! Running magic cells: from the text of a cell to bound results.
//! [`Magics`] owns what a kernel session keeps between cells — the notebook
//! record, the [`Workspace`] (ledger, executors, jobs) and the waiting
//! binds — and dispatches each magic. `map`, `run` and `sweep` only make a
//! plan and render their result; the one tail they share, submit → watch
//! → bind, is [`Magics::launch`]. `line` has one function per `%slurm`
//! sub-command.

mod capture_cache;
mod captures;
mod items;
mod line;
mod map;
mod name_owner;
mod run;
mod serde_dep;
mod sweep;
mod sweep_cells;
mod sweep_config;
mod sweep_table;
mod sweep_values;
mod tokens;

pub use crate::error::{FailedItem, MagicError};

use crate::cache::{self, Restored, ResultCache};
use crate::config::Config;
use crate::domain::{ElementState, JobKind};
use crate::grammar::{self, LineMagic, Magic};
use crate::ledger::JobRecord;
use crate::notebook::Notebook;
use crate::pipeline::bind::{self, BIND_PANIC_PREFIX, Pending};
use crate::pipeline::{Prepared, Workspace, retry, submit};
use crate::render;
use crate::session::{Display, Session};

/// The state behind every magic of one kernel session.
pub struct Magics {
    notebook: Notebook,
    ws: Workspace,
    pending: Pending,
    /// serde_json is in the session (see `serde_dep.rs`).
    serde_json: bool,
    /// Captured values no cell has touched since they were sent.
    captured: capture_cache::CaptureCache,
    /// Job names a cell may have set as variables since.
    names: name_owner::NameOwner,
}

impl Default for Magics {
    fn default() -> Self {
        Magics::new(Config::from_env())
    }
}

impl Magics {
    /// A fresh session; nothing is opened until the first magic needs it.
    pub fn new(config: Config) -> Magics {
        Magics {
            notebook: Notebook::default(),
            ws: Workspace::new(config),
            pending: Pending::default(),
            serde_json: false,
            captured: capture_cache::CaptureCache::default(),
            names: name_owner::NameOwner::default(),
        }
    }

    /// Records a plain Rust cell that ran, so tasks can use its items;
    /// `count` is its execution count (compile errors and panics in its
    /// items are shown as `cell[count]:L:C`).
    pub fn record_cell(&mut self, count: usize, code: &str) {
        self.notebook.record(count, code);
    }

    /// Call before any cell runs (plain, command or magic): the captured
    /// values it may change are sent again by the next magic that uses
    /// them (a plain cell or command as a whole; of a magic, only its first
    /// line, which the session evaluates — the body runs in tasks).
    pub fn before_cell(&mut self, code: &str) {
        // `:clear` empties the session, its crates too.
        if code.trim_start().starts_with(":clear") {
            self.serde_json = false;
            self.names.clear();
        }
        for name in self.pending.names() {
            self.captured.forget(&name);
        }
        if grammar::is_magic(code) {
            let header = code.trim_start().lines().next().unwrap_or("");
            self.captured.before_magic_header(header);
        } else {
            self.captured.before_session_code(code);
            self.names.before_session_code(code);
        }
    }

    /// The session process ended between cells: nothing kept of its
    /// variables is sent to tasks any more.
    pub fn session_lost(&mut self) {
        self.captured.clear();
        self.names.clear();
    }

    /// True if `code` is a magic cell this crate handles.
    pub fn is_magic(code: &str) -> bool {
        grammar::is_magic(code)
    }

    /// True if a panic with this message came from a bind the magics
    /// queued (its results file is gone or does not match), not from the
    /// user's own code.
    pub fn is_bind_panic(message: &str) -> bool {
        message.starts_with(BIND_PANIC_PREFIX)
    }

    /// The waiting binds as one line to put before the next cell's code
    /// (None when nothing waits). Call [`Magics::pending_done`] once that
    /// evaluation succeeded.
    pub fn pending_prelude(&self) -> Option<String> {
        self.pending.prelude()
    }

    /// Whether `code` (a plain cell) defines a type the waiting binds name
    /// (a struct redefined after the sweep that returned it): the binds
    /// must then be evaluated before it, against the type they were made
    /// for ([`Magics::flush_pending`]), not in its block.
    pub fn binds_use_types_defined_in(&self, code: &str) -> bool {
        let Some(prelude) = self.pending.prelude() else {
            return false;
        };
        let used = tokens::identifiers(&prelude);
        tokens::defined_type_names(code)
            .iter()
            .any(|n| used.contains(n))
    }

    /// Names whose binds are waiting.
    pub fn pending_names(&self) -> Vec<String> {
        self.pending.names()
    }

    /// The prelude was evaluated (or given up): nothing waits any more.
    pub fn pending_done(&mut self) {
        self.pending.clear();
    }

    /// Evaluates the waiting binds now (before evcxr commands, and before
    /// magic cells that read the session's variables).
    ///
    /// # Errors
    /// [`MagicError::Bind`] naming the binds that failed.
    pub fn flush_pending(&mut self, session: &mut dyn Session) -> Result<(), MagicError> {
        self.pending.flush(session)
    }

    /// Runs a magic cell. A panic inside a magic is caught here, at the
    /// seam, and reported as [`MagicError::Internal`]: the kernel's thread
    /// and the notebook's session survive anything a magic does.
    ///
    /// # Errors
    /// Whatever stops the magic; the cell shows it as an error.
    pub fn run(
        &mut self,
        code: &str,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let run = std::panic::AssertUnwindSafe(|| {
            crate::phase::timed("whole cell", || self.run_magic(code, session, display))
        });
        std::panic::catch_unwind(run).unwrap_or_else(|payload| {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            Err(MagicError::Internal(message))
        })
    }

    fn run_magic(
        &mut self,
        code: &str,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let (magic, body) = grammar::parse(code)?;
        // Everything that moves values between the session and tasks needs
        // serde_json there.
        if matches!(
            magic,
            Magic::Map(_)
                | Magic::Run(_)
                | Magic::Sweep(_)
                | Magic::Line(
                    LineMagic::Wait { .. } | LineMagic::Retry { .. } | LineMagic::Load { .. }
                )
        ) {
            self.ensure_serde_json(session, display)?;
        }
        // Map and sweep bodies send the session variables they use to the
        // task, and ITEMS and sweep VALUES are evaluated in the session: a
        // waiting bind they mention is evaluated first. (A run body loads
        // earlier jobs from their files; ITEMS naming a job reads its results
        // directory; neither needs the session.)
        let line_exprs: Vec<&str> = match &magic {
            Magic::Map(m) => vec![m.items.as_str()],
            Magic::Sweep(s) => s.expressions.iter().map(|e| e.text.as_str()).collect(),
            _ => Vec::new(),
        };
        let mentioned = matches!(magic, Magic::Map(_) | Magic::Sweep(_))
            && (self.pending.mentioned_in(&body)
                || line_exprs.iter().any(|e| self.pending.mentioned_in(e)));
        // A run body captures a run job's bound value like any variable; a
        // map job's results it loads from their files (no flush for those).
        let run_value_used = matches!(magic, Magic::Run(_))
            && self.pending.names().iter().any(|n| {
                self.ws.jobs.get(n).is_some_and(|j| j.kind == JobKind::Run)
                    && crate::cell::tokens::identifiers(&body).contains(n.as_str())
            });
        if mentioned || run_value_used {
            self.pending.flush(session)?;
        }
        match magic {
            Magic::Map(m) => {
                let p = self.plan_map(m, &body, session, display)?;
                self.launch(p, session, display)
            }
            Magic::Run(r) => {
                let p = self.plan_run(r, &body, session, display)?;
                self.launch(p, session, display)
            }
            Magic::Sweep(s) => {
                let p = self.plan_sweep(s, &body, session, display)?;
                self.launch(p, session, display)
            }
            Magic::Line(l) => self.line(l, session, display),
            Magic::LsMagic => {
                display.show(&line::lsmagic(), None);
                Ok(())
            }
            Magic::Help(text) => {
                display.show(&render::pre(&text), None);
                Ok(())
            }
        }
    }

    /// The tail every cell magic shares: submit; with `--no-wait` say where
    /// the job is and return; else watch it to the end and bind it.
    fn launch(
        &mut self,
        p: Prepared,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let shadowed = shadow_note(&p.plan.name, session, &self.ws);
        let cached = self.restore_from_cache(&p, display)?;
        if let Some(c) = &cached
            && let Err(e) = ResultCache::save_keys(&p.dir, &c.keys)
        {
            tracing::warn!("cannot write the job's cache keys: {e}");
        }
        let run = match &cached {
            Some(c) => c.run.clone(),
            None => (0..p.plan.elements()).collect(),
        };
        let record = crate::phase::timed("submit", || submit::submit(&mut self.ws, &p, run))?;
        self.names.submitted(&p.plan.name);
        let left_out = submit::left_out_of_environment(&self.ws, &record);
        if !left_out.is_empty() {
            display.show(&render::message(&left_out_note(&left_out)), None);
        }
        if p.plan.no_wait {
            display.show(
                &render::message(&queued_note(&record, p.plan.elements())),
                None,
            );
            return Ok(());
        }
        let states = crate::phase::timed("elements (submit to last state)", || {
            retry::wait_with_retries(&mut self.ws, &record, display)
        })?;
        let from_cache = match &cached {
            Some(c) => {
                ResultCache::new(&self.ws.sluice_dir()).record(&p.dir, &c.keys);
                format!("; {} of {} from the cache", c.hits, p.plan.items)
            }
            None => String::new(),
        };
        let msg = self.finish(&record, &states, session, display)?;
        display.show(
            &render::message(&format!("{msg}{from_cache}{shadowed}")),
            None,
        );
        Ok(())
    }

    /// Binds a finished job's results the way its kind does: a sweep shows
    /// its table and binds `NAME`/`NAME_best`; map and run bind `NAME`.
    fn finish(
        &mut self,
        job: &JobRecord,
        states: &[ElementState],
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<String, MagicError> {
        match job.kind {
            JobKind::Sweep => self.finish_sweep(job, states, session, display),
            JobKind::Map | JobKind::Run => {
                let notebook = &self.notebook;
                let known = |name: &str| notebook.derives_deserialize(name);
                bind::bind(&mut self.pending, job, states, session, &known)
            }
        }
    }
}

impl Magics {
    /// With the result cache on for this job: restores the items it holds
    /// and says how many came from it (and how many elements still run).
    fn restore_from_cache(
        &mut self,
        p: &Prepared,
        display: &mut dyn Display,
    ) -> Result<Option<Restored>, MagicError> {
        if !p.plan.cache {
            return Ok(None);
        }
        let jobs_root = self.ws.sluice_dir().join("jobs");
        let cache = ResultCache::new(&self.ws.sluice_dir());
        let restored = crate::phase::timed("result cache lookup", || {
            cache::job_inputs(&p.dir, &p.binary, &p.plan.deps, &jobs_root).and_then(|inputs| {
                inputs
                    .map(|i| cache.restore(&p.dir, &i, p.plan.items, p.plan.chunk))
                    .transpose()
            })
        })
        .map_err(crate::error::io("reading the result cache"))?;
        let Some(restored) = restored else {
            display.show(
                &render::pre(&format!(
                    "`{}`: a job it depends on has not finished, so its results are unknown: the result cache is not used for this job",
                    p.plan.name
                )),
                None,
            );
            return Ok(None);
        };
        if restored.hits > 0 {
            display.show(
                &render::pre(&format!(
                    "`{}`: {} of {} from the cache; {} submitted",
                    p.plan.name,
                    restored.hits,
                    crate::prose::count(p.plan.items, "result", "results"),
                    crate::prose::count(restored.run.len(), "element", "elements")
                )),
                None,
            );
        }
        Ok(Some(restored))
    }
}

/// What `--no-wait` says: the job is queued, and how to bind it later.
fn queued_note(job: &JobRecord, elements: usize) -> String {
    let (name, id, items) = (&job.name, job.id, job.items);
    match job.kind {
        JobKind::Map => format!(
            "queued `{name}` (job {id}, {items} items, {elements} elements); later cells may depend on it; `%slurm wait {name}` binds it"
        ),
        JobKind::Run => format!("queued `{name}` (job {id}); `%slurm wait {name}` binds it"),
        JobKind::Sweep => format!(
            "queued sweep `{name}` (job {id}, {items} configurations); `%slurm wait {name}` shows the table and binds it"
        ),
    }
}

/// What happens to an existing variable of the same name (said, not hidden).
/// Which variables the elements were started without, and why.
fn left_out_note(left_out: &[(String, usize)]) -> String {
    let names: Vec<String> = left_out
        .iter()
        .map(|(n, bytes)| format!("`{n}` ({} KiB)", bytes.div_ceil(1024)))
        .collect();
    format!(
        "note: the elements run without {}: Linux starts no program with a variable longer than {} KiB (`NAME=value`), so with it every element would fail with \"Argument list too long\"; pass the value in a file, or as a captured variable",
        names.join(", "),
        crate::domain::MAX_ENV_STRING / 1024
    )
}

fn shadow_note(name: &str, session: &dyn Session, ws: &Workspace) -> String {
    if ws.jobs.contains_key(name) {
        return String::new();
    }
    match session.variables().into_iter().find(|(n, _)| n == name) {
        Some((_, ty)) => {
            format!("; note: this replaces the earlier variable `{name}: {ty}` (Rust shadowing)")
        }
        None => String::new(),
    }
}
