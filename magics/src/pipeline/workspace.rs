//! [`Workspace`]: what every stage of the pipeline works in — the
//! configuration, the ledger, the executors and the jobs this session
//! knows by NAME. Opened lazily: nothing touches disk or a cluster until a
//! magic needs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError};
use crate::domain::{Backend, ElementState, JobId};
use crate::error::{MagicError, io};
use crate::executor::local::LocalExecutor;
use crate::executor::slurm::{SlurmError, SlurmExecutor};
use crate::executor::{ClusterJob, Executor, JobSnapshot};
use crate::ledger::{JobRecord, Ledger};

/// The state behind the jobs of one kernel session.
pub struct Workspace {
    /// Where jobs run by default.
    pub config: Config,
    /// A `SLUICE_*` value that could not be used: reported by the first job.
    pub config_problem: Option<ConfigError>,
    ledger: Option<Ledger>,
    local: Option<LocalExecutor>,
    /// The Slurm executor, once a job or `%slurm config` needs it; dropped
    /// when the host, key or workdir change.
    slurm: Option<SlurmExecutor>,
    /// Jobs submitted or loaded in this session, by NAME (the newest wins).
    pub jobs: HashMap<String, JobRecord>,
}

impl Workspace {
    /// A workspace for `config`; nothing is opened yet.
    pub fn new(config: Config) -> Workspace {
        Workspace {
            config,
            config_problem: Config::env_problems().into_iter().next(),
            ledger: None,
            local: None,
            slurm: None,
            jobs: HashMap::new(),
        }
    }

    /// `.sluice/` beside the notebook.
    pub fn sluice_dir(&self) -> PathBuf {
        self.config.sluice_dir()
    }

    /// Where task crates are built: shared by all notebooks of the user, so
    /// dependencies compile once (`SLUICE_BUILD_DIR` overrides).
    pub fn build_root(&self) -> PathBuf {
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

    /// The ledger, opened on first use.
    ///
    /// # Errors
    /// `.sluice/` cannot be created, or SQLite cannot open the ledger.
    pub fn ledger(&mut self) -> Result<&mut Ledger, MagicError> {
        if self.ledger.is_none() {
            let dir = self.sluice_dir();
            std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
            self.ledger = Some(Ledger::open(&dir.join("ledger.sqlite"))?);
        }
        self.ledger
            .as_mut()
            .ok_or(MagicError::NotOpen("the ledger"))
    }

    /// Closes the ledger (the workdir changed); the next use reopens it.
    pub fn close_ledger(&mut self) {
        self.ledger = None;
    }

    /// Drops the Slurm executor (host, key or workdir changed).
    pub fn disconnect(&mut self) {
        self.slurm = None;
    }

    /// The backend a job runs on: the one it asks for, else the default.
    ///
    /// # Errors
    /// The default came from an unusable `SLUICE_BACKEND`.
    pub fn backend(&self, requested: Option<Backend>) -> Result<Backend, MagicError> {
        match (requested, &self.config_problem) {
            (Some(b), _) => Ok(b),
            (None, Some(problem)) => Err(MagicError::Config(problem.clone())),
            (None, None) => Ok(self.config.backend),
        }
    }

    /// The executor of `backend`, started (or connected) on first use.
    ///
    /// # Errors
    /// The cluster cannot be reached or is not usable.
    pub fn executor(&mut self, backend: Backend) -> Result<&mut dyn Executor, MagicError> {
        match backend {
            Backend::Local => Ok(self.local.get_or_insert_with(LocalExecutor::start)),
            Backend::Slurm => Ok(self.slurm()?),
        }
    }

    /// The Slurm executor for the current `--host`, connecting on first use.
    ///
    /// # Errors
    /// The cluster cannot be reached or is not usable.
    pub fn slurm(&mut self) -> Result<&mut SlurmExecutor, MagicError> {
        if self.slurm.is_none() {
            let exec = crate::executor::slurm::connect(&self.config)
                .map_err(|e| MagicError::Executor(e.into()))?;
            self.slurm = Some(exec);
        }
        self.slurm
            .as_mut()
            .ok_or(MagicError::NotOpen("the Slurm executor"))
    }

    /// The job's states from whichever executor watches it now.
    pub fn live(&self, id: JobId) -> Option<JobSnapshot> {
        if let Some(s) = self.local.as_ref().and_then(|e| e.snapshot(id)) {
            return Some(s);
        }
        self.slurm.as_ref().and_then(|s| s.snapshot(id))
    }

    /// Element states from whichever executor watches the job now.
    pub fn live_states(&self, id: JobId) -> Option<Vec<ElementState>> {
        self.live(id).map(|s| s.states)
    }

    /// Pending reasons and cluster trouble for a job's progress line.
    pub fn note(&self, id: JobId) -> String {
        self.slurm.as_ref().map(|s| s.note(id)).unwrap_or_default()
    }

    /// The job called `name`: from this session, else the ledger.
    ///
    /// # Errors
    /// [`MagicError::UnknownJob`] if neither knows it.
    pub fn find_job(&mut self, name: &str) -> Result<JobRecord, MagicError> {
        if let Some(j) = self.jobs.get(name) {
            return Ok(j.clone());
        }
        let ledger = self.ledger()?;
        if let Some(j) = ledger.find(name)? {
            return Ok(j);
        }
        let mut known: Vec<String> = ledger.jobs()?.into_iter().map(|j| j.name).collect();
        known.extend(self.jobs.keys().cloned());
        known.sort();
        known.dedup();
        Err(MagicError::unknown_job(name, &known))
    }

    /// The job with ledger id `id`, from this session or the ledger.
    ///
    /// # Errors
    /// The ledger cannot be read.
    pub fn job_by_id(&mut self, id: JobId) -> Result<Option<JobRecord>, MagicError> {
        if let Some(j) = self.jobs.values().find(|j| j.id == id) {
            return Ok(Some(j.clone()));
        }
        Ok(self.ledger()?.jobs()?.into_iter().find(|j| j.id == id))
    }

    /// Where a cluster keeps the job, if it ran on one.
    ///
    /// # Errors
    /// The ledger cannot be read.
    pub fn cluster_job(
        &mut self,
        job: &JobRecord,
    ) -> Result<Option<(ClusterJob, String)>, MagicError> {
        Ok(self.ledger()?.cluster_job(job.id)?)
    }

    /// Refuses to watch or fetch a cluster job through another host than
    /// the one that submitted it.
    ///
    /// # Errors
    /// [`SlurmError::Incompatible`] naming both hosts.
    pub fn check_host(&self, job: &JobRecord, host: &str) -> Result<(), MagicError> {
        if host == self.config.host_key() {
            return Ok(());
        }
        let shown = |h: &str| {
            if h.is_empty() {
                "the login node".to_string()
            } else {
                h.to_string()
            }
        };
        Err(MagicError::Executor(
            SlurmError::Incompatible(format!(
                "`{}` runs on {}, but this kernel is set to {}: `%slurm config --host {}` to watch it",
                job.name,
                shown(host),
                shown(self.config.host_key()),
                if host.is_empty() { "none" } else { host },
            ))
            .into(),
        ))
    }
}
