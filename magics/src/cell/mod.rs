//! Running magic cells: the orchestration from a parsed magic to bound
//! results. `Magics` owns the notebook record, the ledger, the executor and
//! the jobs of this session; `map`, `run` and `line` hold one magic each,
//! `jobs` the waiting, binding and job lookup they share.

mod backend;
mod captures;
mod error;
mod jobs;
mod line;
mod map;
mod pending;
mod run;
mod serde_dep;
mod sweep;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use error::{FailedItem, MagicError};

use crate::executor::local::LocalExecutor;
use crate::executor::slurm::SlurmExecutor;
use crate::grammar::{self, LineMagic, Magic};
use crate::ledger::{JobRecord, Ledger};
use crate::notebook::Notebook;
use crate::session::{Display, Session};

/// Where jobs run by default, from `%slurm config` or the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `local` (the only backend this version runs).
    pub backend: String,
    /// Directory holding `.sluice/` (jobs and ledger).
    pub workdir: PathBuf,
    /// `ssh://user@host[:port]` of a remote cluster's login node.
    pub host: Option<String>,
    /// SSH private key for `host`.
    pub identity: Option<String>,
    /// Default `--partition` of jobs.
    pub partition: Option<String>,
    /// Default `--account` of jobs.
    pub account: Option<String>,
    /// Job root on the cluster over SSH (absolute, or relative to the
    /// remote home; default `.sluice-remote/<machine>-<hash>`).
    pub remote_workdir: Option<String>,
}

impl Config {
    /// Defaults from the environment, so one notebook runs unchanged on
    /// `local` and on a cluster: `SLUICE_BACKEND` (else local),
    /// `SLUICE_WORKDIR` (else the current directory), `SLUICE_HOST`,
    /// `SLUICE_IDENTITY`, `SLUICE_PARTITION`, `SLUICE_ACCOUNT`,
    /// `SLUICE_REMOTE_WORKDIR`.
    pub fn from_env() -> Config {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Config {
            backend: var("SLUICE_BACKEND").unwrap_or_else(|| "local".into()),
            workdir: var("SLUICE_WORKDIR")
                .map(PathBuf::from)
                .or_else(|| std::env::current_dir().ok())
                .unwrap_or_else(|| PathBuf::from(".")),
            host: var("SLUICE_HOST"),
            identity: var("SLUICE_IDENTITY"),
            partition: var("SLUICE_PARTITION"),
            account: var("SLUICE_ACCOUNT"),
            remote_workdir: var("SLUICE_REMOTE_WORKDIR"),
        }
    }

    /// The settings as `%slurm config` shows them.
    pub fn describe(&self, sluice_dir: &std::path::Path) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        format!(
            "backend: {}\nworkdir: {}\njobs and ledger: {}\nhost: {}\nidentity: {}\nremote workdir: {}\npartition: {}\naccount: {}{}",
            self.backend,
            self.workdir.display(),
            sluice_dir.display(),
            opt(&self.host),
            opt(&self.identity),
            opt(&self.remote_workdir),
            opt(&self.partition),
            opt(&self.account),
            if self.backend == "local" && (self.partition.is_some() || self.account.is_some()) {
                "\n(the local executor has one partition; partition and account apply on a cluster)"
            } else {
                ""
            }
        )
    }
}

/// The state behind every magic of one kernel session.
pub struct Magics {
    notebook: Notebook,
    config: Config,
    ledger: Option<Ledger>,
    executor: Option<LocalExecutor>,
    /// The Slurm executor, once a job or `%slurm config` needs it.
    slurm: Option<SlurmExecutor>,
    /// Jobs submitted or loaded in this session, by NAME.
    jobs: HashMap<String, JobRecord>,
    /// Binds waiting for the next evaluation (see `pending.rs`).
    pending: Vec<pending::PendingBind>,
    /// serde_json is in the session (see `serde_dep.rs`).
    serde_json: bool,
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
            config,
            ledger: None,
            executor: None,
            slurm: None,
            jobs: HashMap::new(),
            pending: Vec::new(),
            serde_json: false,
        }
    }

    /// Records a plain Rust cell that ran, so tasks can use its items.
    pub fn record_cell(&mut self, code: &str) {
        self.notebook.record(code);
    }

    /// True if `code` is a magic cell this crate handles.
    pub fn is_magic(code: &str) -> bool {
        grammar::is_magic(code)
    }

    /// Runs a magic cell.
    pub fn run(
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
        // task: a waiting bind they mention is evaluated first. (A run body
        // loads earlier jobs from their files; ITEMS naming a job reads its
        // results directory; neither needs the session.)
        if matches!(magic, Magic::Map(_) | Magic::Sweep(_)) && self.mentions_pending(&body) {
            self.flush_pending(session)?;
        }
        match magic {
            Magic::Map(m) => self.map(m, &body, session, display),
            Magic::Run(r) => self.run_job(r, &body, session, display),
            Magic::Line(l) => self.line(l, session, display),
            Magic::Sweep(s) => self.sweep(s, &body, session, display),
            Magic::LsMagic => {
                display.show(&line::lsmagic(), None);
                Ok(())
            }
        }
    }

    fn sluice_dir(&self) -> PathBuf {
        self.config.workdir.join(".sluice")
    }

    /// Where task crates are built: shared by all notebooks of the user, so
    /// dependencies compile once (`SLUICE_BUILD_DIR` overrides).
    fn build_root(&self) -> PathBuf {
        if let Some(d) = std::env::var_os("SLUICE_BUILD_DIR") {
            return PathBuf::from(d);
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")));
        match cache {
            Some(c) => c.join("sluice/build"),
            None => self.sluice_dir().join("build"),
        }
    }

    fn ledger(&mut self) -> Result<&mut Ledger, MagicError> {
        if self.ledger.is_none() {
            let dir = self.sluice_dir();
            std::fs::create_dir_all(&dir)
                .map_err(error::io(format!("creating {}", dir.display())))?;
            self.ledger = Some(Ledger::open(&dir.join("ledger.sqlite"))?);
        }
        match self.ledger.as_mut() {
            Some(l) => Ok(l),
            None => Err(MagicError::Submit("the ledger could not be opened".into())),
        }
    }

    fn executor(&mut self) -> &LocalExecutor {
        self.executor.get_or_insert_with(LocalExecutor::start)
    }

    fn check_backend(&self, requested: Option<&str>) -> Result<String, MagicError> {
        let backend = requested.unwrap_or(&self.config.backend).to_string();
        match backend.as_str() {
            "local" | "slurm" => Ok(backend),
            other => Err(MagicError::Unsupported(format!(
                "unknown backend `{other}`: use local or slurm"
            ))),
        }
    }
}
