//! How sluice reaches a Slurm cluster: on its login node ([`LocalRunner`]:
//! commands run here, job files are local) or over SSH from a laptop
//! ([`SshLink`]: commands and files go through one SSH session). Both are a
//! [`CommandRunner`]; the Slurm executor only talks to that trait and never
//! knows which it has (its tests use a fake that returns canned outputs).
//!
//! **Invariant:** this is the only module that runs cluster commands or
//! touches SSH.

#[cfg(test)]
pub mod fake;
pub mod local;
pub mod ssh;
pub mod target;

use std::path::{Path, PathBuf};

pub use local::LocalRunner;
pub use ssh::{SshLink, SshOptions};
pub use target::{SshTarget, TargetError};

/// What a command printed and how it exited.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit status (-1 if killed by a signal).
    pub status: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Standard output as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Why talking to the cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No TCP connection.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// ssh://...
        target: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An SSH step failed.
    #[error("{target}: {what} failed: {source}")]
    Ssh {
        /// ssh://...
        target: String,
        /// The step.
        what: String,
        /// libssh2's error.
        #[source]
        source: ssh2::Error,
    },
    /// An SSH channel or SFTP file failed mid-transfer.
    #[error("{target}: {what} failed: {source}")]
    SshIo {
        /// ssh://...
        target: String,
        /// The step.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The host key is not in known_hosts: refused.
    #[error(
        "the host key of {host} ({fingerprint}) is not in {known_hosts}, so sluice does not trust it. If the fingerprint is the one your cluster publishes, trust it with:\n    {trust}"
    )]
    UnknownHostKey {
        /// known_hosts name.
        host: String,
        /// SHA256 fingerprint.
        fingerprint: String,
        /// The file checked.
        known_hosts: PathBuf,
        /// The command that trusts it.
        trust: String,
    },
    /// The host key differs from the one in known_hosts: refused.
    #[error(
        "the host key of {host} CHANGED: it is now {fingerprint}, not the key in {known_hosts}. Someone may be intercepting the connection; sluice refuses it. If the cluster's key really changed, remove the old one with `ssh-keygen -f {known_hosts} -R '{host}'` and trust the new one"
    )]
    ChangedHostKey {
        /// known_hosts name.
        host: String,
        /// SHA256 fingerprint.
        fingerprint: String,
        /// The file checked.
        known_hosts: PathBuf,
    },
    /// No key was accepted.
    #[error("{target} refused every key sluice tried: {tried}")]
    Auth {
        /// ssh://...
        target: String,
        /// What was tried.
        tried: String,
    },
    /// A local file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A cluster command failed.
    #[error("`{command}` failed: {message}")]
    Command {
        /// The command.
        command: String,
        /// Its error output.
        message: String,
    },
    /// Refused before anything was sent.
    #[error("{0}")]
    Refused(String),
}

/// Runs commands on a cluster's login node and moves files to and from
/// it. The Slurm executor and its watcher drive: they call a runner for
/// every `sbatch`, `squeue`, `sacct`, `scancel` and file transfer, one call
/// at a time (a runner is not shared between threads without a lock).
pub trait CommandRunner: Send {
    /// `this machine` or `ssh://user@host:port`.
    fn describe(&self) -> String;

    /// True over SSH (job files live on the other side and must be moved).
    fn is_remote(&self) -> bool;

    /// SSH sessions opened so far (0 on the login node).
    fn connects(&self) -> u32;

    /// Runs a program with arguments (never through a local shell; quoted
    /// for a remote one).
    ///
    /// # Errors
    /// The command could not be started or its output not read; a command
    /// that ran and failed is an [`Output`] with a non-zero status.
    fn run(&mut self, argv: &[String]) -> Result<Output, ClusterError>;

    /// The home directory on the cluster.
    ///
    /// # Errors
    /// The cluster could not be asked.
    fn home(&mut self) -> Result<PathBuf, ClusterError>;

    /// Creates a directory and its parents.
    ///
    /// # Errors
    /// A directory could not be made.
    fn mkdirs(&mut self, dir: &Path) -> Result<(), ClusterError>;

    /// True if the file exists on the cluster.
    ///
    /// # Errors
    /// The cluster could not be asked.
    fn exists(&mut self, path: &Path) -> Result<bool, ClusterError>;

    /// Writes a file on the cluster with a Unix mode.
    ///
    /// # Errors
    /// The file could not be written.
    fn write(&mut self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), ClusterError>;

    /// Copies a local file to the cluster (nothing to do on the login node
    /// when the paths are the same).
    ///
    /// # Errors
    /// The local file could not be read or the remote one written.
    fn upload(&mut self, local: &Path, remote: &Path, mode: u32) -> Result<(), ClusterError> {
        if !self.is_remote() && local == remote {
            return Ok(());
        }
        let bytes = std::fs::read(local).map_err(io(format!("reading {}", local.display())))?;
        self.write(remote, &bytes, mode)
    }

    /// Removes a file on the cluster (missing is fine).
    ///
    /// # Errors
    /// The cluster could not be reached.
    fn remove(&mut self, path: &Path) -> Result<(), ClusterError>;

    /// Brings `subdirs` of a job directory on the cluster into the local
    /// copy `into` (nothing to do on the login node: they are the same).
    /// `since`: only files newer than this cluster mtime; returns the
    /// newest mtime seen, for the next call.
    ///
    /// # Errors
    /// The transfer or the unpacking failed.
    fn fetch(
        &mut self,
        dir: &Path,
        subdirs: &[&str],
        into: &Path,
        since: Option<u64>,
    ) -> Result<Option<u64>, ClusterError>;
}

/// A closure that wraps an IO error with what was being done.
pub(crate) fn io(what: String) -> impl FnOnce(std::io::Error) -> ClusterError {
    move |source| ClusterError::Io { what, source }
}

/// The login node for `--host` (none: this machine), connected now so a
/// wrong host or key is reported at once.
///
/// # Errors
/// The target is malformed, or the SSH session could not be opened.
pub fn connect(
    host: Option<&str>,
    identity: Option<&str>,
) -> Result<Box<dyn CommandRunner>, ClusterError> {
    match host {
        None => Ok(Box::new(LocalRunner)),
        Some(h) => {
            let mut link = ssh_link(h, identity)?;
            link.connect()?;
            Ok(Box::new(link))
        }
    }
}

/// Another runner to the same login node, which connects at its first
/// call: a second SSH session, so long transfers on it never hold up
/// commands on the first.
///
/// # Errors
/// The target is malformed.
pub fn second_link(
    host: Option<&str>,
    identity: Option<&str>,
) -> Result<Box<dyn CommandRunner>, ClusterError> {
    match host {
        None => Ok(Box::new(LocalRunner)),
        Some(h) => Ok(Box::new(ssh_link(h, identity)?)),
    }
}

fn ssh_link(host: &str, identity: Option<&str>) -> Result<SshLink, ClusterError> {
    let target = SshTarget::parse(host).map_err(|e| ClusterError::Refused(e.to_string()))?;
    Ok(SshLink::new(target, SshOptions::from_env(identity)))
}
