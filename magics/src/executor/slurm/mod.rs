//! The Slurm executor: one `sbatch --array` per job (split only where the
//! cluster's MaxArraySize caps the index), Slurm dependencies between
//! arrays, and one watcher thread that asks the scheduler about every
//! active job with ONE `squeue` per poll. Elements that leave the queue get
//! their final state from the status files the runtime wrote, and from one
//! `sacct` call for those that have none (killed at a limit, cancelled,
//! never started). Over SSH, job files are staged with SFTP before sbatch
//! and fetched back (one tar stream per job) as elements finish.
//!
//! The files:
//! - `executor.rs`: [`SlurmExecutor`], the [`Executor`](super::Executor)
//!   (start, cancel, snapshots, fetch); `submit.rs`: sbatch of each slice
//!   and what is tracked; `stage.rs`: job files and the binary to the
//!   cluster.
//! - `watcher.rs`: the watcher thread's IO; `reconcile.rs`: its rules, pure;
//!   `backoff.rs`: when it polls; `clock.rs`: the time it reads.
//! - `tracked.rs`: what is known of each job, shared by both threads.
//! - `queue.rs`, `sbatch.rs`: Slurm's text (squeue/sacct lines, sbatch
//!   argv and batch scripts), pure.
//!
//! Cluster calls go through a [`CommandRunner`]: one for commands and
//! staging (sbatch, scancel, squeue, sacct) and one for fetching job
//! directories, so a cancel never waits behind a transfer.

mod backoff;
mod clock;
mod executor;
pub mod queue;
mod reconcile;
pub mod sbatch;
mod stage;
mod submit;
mod tracked;
mod watcher;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub use clock::{Clock, SystemClock};
pub use executor::{ClusterInfo, SlurmExecutor, Stats};
pub use tracked::Placement;

use crate::cluster::{self, ClusterError, CommandRunner};

/// A runner shared by the executor and its watcher thread; each holds it
/// for one call at a time.
pub type SharedRunner = Arc<Mutex<Box<dyn CommandRunner>>>;

/// Errors of the Slurm executor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlurmError {
    /// Reaching the cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// sbatch said no.
    #[error("sbatch refused the job: {0}")]
    Sbatch(String),
    /// An option would not be accepted.
    #[error(transparent)]
    Option(#[from] sbatch::OptionError),
    /// The cluster cannot run what was built here.
    #[error("{0}")]
    Incompatible(String),
    /// Lock poisoned: the watcher died.
    #[error("the Slurm watcher has stopped")]
    Stopped,
}

/// Connects to the cluster `config` names (its `--host`, or this login
/// node) and starts the executor. Job files live under
/// `config.remote_workdir` over SSH (absolute, or relative to the remote
/// home; default `.sluice-remote/<machine>-<hash of the workdir>`), and in
/// `.sluice/` beside the notebook on the login node.
///
/// # Errors
/// The cluster cannot be reached, or is not usable (see [`SlurmExecutor::start`]).
pub fn connect(config: &crate::config::Config) -> Result<SlurmExecutor, SlurmError> {
    let (host, identity) = (config.host.as_deref(), config.identity.as_deref());
    let mut commands = cluster::connect(host, identity)?;
    let root = if commands.is_remote() {
        match &config.remote_workdir {
            Some(d) if d.starts_with('/') => PathBuf::from(d),
            other => {
                let home = commands.home()?;
                home.join(
                    other
                        .clone()
                        .unwrap_or_else(|| default_remote_workdir(&config.workdir)),
                )
            }
        }
    } else {
        config.sluice_dir()
    };
    let transfers = cluster::second_link(host, identity)?;
    SlurmExecutor::start(commands, transfers, root)
}

/// `.sluice-remote/<this machine>-<hash of the workdir>` under the remote
/// home: one directory per notebook directory and laptop, so job ids of
/// different notebooks never meet. The hash is BLAKE3 (a fixed definition:
/// the same directory on every toolchain).
fn default_remote_workdir(workdir: &Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let mut h = blake3::Hasher::new();
    h.update(host.as_bytes());
    h.update(&[0]);
    h.update(workdir.as_os_str().as_encoded_bytes());
    let safe: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!(".sluice-remote/{safe}-{}", &h.finalize().to_hex()[..8])
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, SlurmError> {
    m.lock().map_err(|_| SlurmError::Stopped)
}
