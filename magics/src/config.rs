//! [`Config`]: where jobs run by default, from `%slurm config` and the
//! `SLUICE_*` environment variables.

use std::path::{Path, PathBuf};

use crate::domain::Backend;

/// Where jobs run by default.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The backend of jobs that do not say `--backend`.
    pub backend: Backend,
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
    /// The notebook this kernel runs, as Jupyter Server names its session
    /// (`JPY_SESSION_NAME`); None when the front end does not say
    /// (nbconvert, papermill).
    pub notebook: Option<String>,
    /// The result cache is on for every map, run and sweep cell
    /// (`SLUICE_CACHE=1`, `%slurm config --cache on`); off by default.
    pub cache: bool,
}

/// `on`/`off` (also `1`/`0`, `true`/`false`, `yes`/`no`), for
/// `--cache on|off` and `SLUICE_CACHE`.
///
/// # Errors
/// Anything else, said in words.
pub fn parse_switch(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "1" | "true" | "yes" => Ok(true),
        "off" | "0" | "false" | "no" => Ok(false),
        other => Err(format!("`{other}` is neither on nor off")),
    }
}

/// A `SLUICE_*` variable holds a value sluice cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// `dir` made absolute against the current directory (job directories
/// travel to tasks as absolute paths).
pub fn absolute(dir: &str) -> PathBuf {
    let p = PathBuf::from(dir);
    if p.is_absolute() {
        return p;
    }
    match std::env::current_dir() {
        Ok(cwd) if dir == "." => cwd,
        Ok(cwd) => cwd.join(p),
        Err(_) => p,
    }
}

impl Config {
    /// Defaults from the environment, so one notebook runs unchanged on
    /// `local` and on a cluster: `SLUICE_BACKEND` (else local),
    /// `SLUICE_WORKDIR` (else the current directory), `SLUICE_HOST`,
    /// `SLUICE_IDENTITY`, `SLUICE_PARTITION`, `SLUICE_ACCOUNT`,
    /// `SLUICE_REMOTE_WORKDIR`, `SLUICE_CACHE`. An unknown backend is reported by
    /// [`Config::env_problems`] and falls back to local.
    pub fn from_env() -> Config {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Config {
            backend: var("SLUICE_BACKEND")
                .and_then(|b| b.parse().ok())
                .unwrap_or_default(),
            workdir: absolute(&var("SLUICE_WORKDIR").unwrap_or_else(|| ".".into())),
            host: var("SLUICE_HOST"),
            identity: var("SLUICE_IDENTITY"),
            partition: var("SLUICE_PARTITION"),
            account: var("SLUICE_ACCOUNT"),
            remote_workdir: var("SLUICE_REMOTE_WORKDIR"),
            notebook: var("JPY_SESSION_NAME"),
            cache: var("SLUICE_CACHE")
                .and_then(|v| parse_switch(&v).ok())
                .unwrap_or(false),
        }
    }

    /// Environment values [`Config::from_env`] had to ignore.
    pub fn env_problems() -> Vec<ConfigError> {
        let mut out = Vec::new();
        if let Ok(b) = std::env::var("SLUICE_BACKEND")
            && !b.trim().is_empty()
            && let Err(e) = b.parse::<Backend>()
        {
            out.push(ConfigError {
                variable: "SLUICE_BACKEND",
                message: e.to_string(),
            });
        }
        if let Ok(v) = std::env::var("SLUICE_CACHE")
            && !v.trim().is_empty()
            && let Err(message) = parse_switch(&v)
        {
            out.push(ConfigError {
                variable: "SLUICE_CACHE",
                message,
            });
        }
        out
    }

    /// `.sluice/` under the workdir: the ledger and the job directories.
    pub fn sluice_dir(&self) -> PathBuf {
        self.workdir.join(".sluice")
    }

    /// The host string the ledger records for cluster jobs ("" on the
    /// login node).
    pub fn host_key(&self) -> &str {
        self.host.as_deref().unwrap_or("")
    }

    /// The settings as `%slurm config` shows them.
    pub fn describe(&self, sluice_dir: &Path) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        format!(
            "backend: {}\nworkdir: {}\njobs and ledger: {}\nhost: {}\nidentity: {}\nremote workdir: {}\npartition: {}\naccount: {}\nresult cache: {}{}",
            self.backend,
            self.workdir.display(),
            sluice_dir.display(),
            opt(&self.host),
            opt(&self.identity),
            opt(&self.remote_workdir),
            opt(&self.partition),
            opt(&self.account),
            if self.cache { "on" } else { "off" },
            if self.backend == Backend::Local
                && (self.partition.is_some() || self.account.is_some())
            {
                "\n(the local executor has one partition; partition and account apply on a cluster)"
            } else {
                ""
            }
        )
    }
}
