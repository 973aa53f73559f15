//! How sluice reaches a Slurm cluster: on its login node (commands run
//! here, job files are local) or over SSH from a laptop (commands and files
//! go through one SSH session). The Slurm executor only talks to a
//! [`Cluster`]; it never knows which.

pub mod ssh;
pub mod target;

use std::path::{Path, PathBuf};

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

/// The login node: this machine, or over SSH.
pub enum Cluster {
    /// Commands run here; the job directory is the cluster's.
    Local,
    /// Commands and files over one SSH session.
    Ssh(Box<SshLink>),
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> ClusterError {
    move |source| ClusterError::Io { what, source }
}

impl Cluster {
    /// The login node for `--host` (none: this machine).
    pub fn connect(host: Option<&str>, identity: Option<&str>) -> Result<Cluster, ClusterError> {
        match host {
            None => Ok(Cluster::Local),
            Some(h) => {
                let target =
                    SshTarget::parse(h).map_err(|e| ClusterError::Refused(e.to_string()))?;
                let mut link = SshLink::new(target, SshOptions::from_env(identity));
                link.connect()?;
                Ok(Cluster::Ssh(Box::new(link)))
            }
        }
    }

    /// `this machine` or `ssh://user@host:port`.
    pub fn describe(&self) -> String {
        match self {
            Cluster::Local => "this machine".into(),
            Cluster::Ssh(l) => l.target().to_string(),
        }
    }

    /// True over SSH (job files live on the other side).
    pub fn is_remote(&self) -> bool {
        matches!(self, Cluster::Ssh(_))
    }

    /// SSH sessions opened so far (0 on the login node).
    pub fn connects(&self) -> u32 {
        match self {
            Cluster::Local => 0,
            Cluster::Ssh(l) => l.connects,
        }
    }

    /// Runs a program with arguments (never through a local shell; quoted
    /// for the remote one).
    pub fn run(&mut self, argv: &[String]) -> Result<Output, ClusterError> {
        match self {
            Cluster::Local => {
                let (prog, args) = argv
                    .split_first()
                    .ok_or_else(|| ClusterError::Refused("empty command".into()))?;
                let out = std::process::Command::new(prog)
                    .args(args)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .map_err(io(format!("running {prog}")))?;
                Ok(Output {
                    status: out.status.code().unwrap_or(-1),
                    stdout: out.stdout,
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                })
            }
            Cluster::Ssh(l) => l.run(argv),
        }
    }

    /// The home directory on the cluster.
    pub fn home(&mut self) -> Result<PathBuf, ClusterError> {
        match self {
            Cluster::Local => Ok(std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/"))),
            Cluster::Ssh(l) => l.home(),
        }
    }

    /// Creates a directory and its parents.
    pub fn mkdirs(&mut self, dir: &Path) -> Result<(), ClusterError> {
        match self {
            Cluster::Local => {
                std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))
            }
            Cluster::Ssh(l) => l.mkdirs(dir),
        }
    }

    /// True if the file exists on the cluster.
    pub fn exists(&mut self, path: &Path) -> Result<bool, ClusterError> {
        match self {
            Cluster::Local => Ok(path.exists()),
            Cluster::Ssh(l) => l.exists(path),
        }
    }

    /// Writes a file on the cluster with a Unix mode.
    pub fn write(&mut self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), ClusterError> {
        match self {
            Cluster::Local => {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::write(path, bytes).map_err(io(format!("writing {}", path.display())))?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                    .map_err(io(format!("setting the mode of {}", path.display())))
            }
            Cluster::Ssh(l) => l.write(path, bytes, mode as i32),
        }
    }

    /// Copies a local file to the cluster (nothing to do on the login node
    /// when the paths are the same).
    pub fn upload(&mut self, local: &Path, remote: &Path, mode: u32) -> Result<(), ClusterError> {
        if !self.is_remote() && local == remote {
            return Ok(());
        }
        let bytes = std::fs::read(local).map_err(io(format!("reading {}", local.display())))?;
        self.write(remote, &bytes, mode)
    }

    /// Removes a file on the cluster (missing is fine).
    pub fn remove(&mut self, path: &Path) -> Result<(), ClusterError> {
        match self {
            Cluster::Local => {
                let _ = std::fs::remove_file(path);
                Ok(())
            }
            Cluster::Ssh(l) => l.remove(path),
        }
    }

    /// Brings `subdirs` of a job directory on the cluster into the local
    /// copy (nothing to do on the login node: they are the same). `since`:
    /// only files newer than this cluster mtime; returns the newest seen.
    pub fn fetch(
        &mut self,
        dir: &Path,
        subdirs: &[&str],
        into: &Path,
        since: Option<u64>,
    ) -> Result<Option<u64>, ClusterError> {
        match self {
            Cluster::Local if dir == into => Ok(since),
            Cluster::Local => Err(ClusterError::Refused(format!(
                "job directory {} is not {}",
                dir.display(),
                into.display()
            ))),
            Cluster::Ssh(l) => l.fetch(dir, subdirs, into, since),
        }
    }
}
