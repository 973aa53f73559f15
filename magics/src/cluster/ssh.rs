//! One SSH session to a cluster's login node (the ssh2 crate): host key
//! checked against known_hosts, key authentication (an `--identity` file or
//! the agent), commands run with every argument shell-quoted, files moved
//! with SFTP, job directories fetched as one tar stream. A broken session is
//! dropped and the next call connects again, so a poll resumes after sshd
//! comes back.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ssh2::{CheckResult, HashType, KnownHostFileKind, OpenFlags, OpenType, Session, Sftp};

use super::target::SshTarget;
use super::{ClusterError, CommandRunner, Output};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a single blocking SSH operation may take.
const OP_TIMEOUT_MS: u32 = 60_000;

/// Where to find keys and known hosts.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// Private key file; else the agent, then `~/.ssh/id_ed25519`, `id_rsa`.
    pub identity: Option<PathBuf>,
    /// known_hosts file (`SLUICE_KNOWN_HOSTS`, else `~/.ssh/known_hosts`).
    pub known_hosts: PathBuf,
}

impl SshOptions {
    /// The defaults, from the environment.
    pub fn from_env(identity: Option<&str>) -> SshOptions {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let known_hosts = std::env::var_os("SLUICE_KNOWN_HOSTS")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".ssh/known_hosts"));
        SshOptions {
            identity: identity.map(|i| expand_home(i, &home)),
            known_hosts,
        }
    }
}

fn expand_home(p: &str, home: &Path) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(p),
    }
}

/// A failed step on a live session: libssh2's error or an I/O error of
/// a channel or SFTP file.
enum StepError {
    Ssh(ssh2::Error),
    Io(std::io::Error),
}

impl From<ssh2::Error> for StepError {
    fn from(e: ssh2::Error) -> Self {
        StepError::Ssh(e)
    }
}

impl From<std::io::Error> for StepError {
    fn from(e: std::io::Error) -> Self {
        StepError::Io(e)
    }
}

struct Connected {
    session: Session,
    sftp: Sftp,
}

/// A (re)connecting SSH link.
pub struct SshLink {
    target: SshTarget,
    options: SshOptions,
    live: Option<Connected>,
    /// Sessions opened so far (1 unless the connection dropped).
    connects: u32,
}

impl SshLink {
    /// A link; nothing is opened until the first call.
    pub fn new(target: SshTarget, options: SshOptions) -> SshLink {
        SshLink {
            target,
            options,
            live: None,
            connects: 0,
        }
    }

    /// The target, for messages.
    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    /// Connects now (checking the host key and authenticating) if needed.
    pub fn connect(&mut self) -> Result<(), ClusterError> {
        if self.live.is_none() {
            self.live = Some(self.open()?);
            self.connects += 1;
        }
        Ok(())
    }

    fn open(&self) -> Result<Connected, ClusterError> {
        let t = &self.target;
        let ssh = |what: &str| {
            let target = t.to_string();
            let what = what.to_string();
            move |source: ssh2::Error| ClusterError::Ssh {
                target,
                what,
                source,
            }
        };
        let addr = (t.host.as_str(), t.port)
            .to_socket_addrs()
            .map_err(|source| ClusterError::Connect {
                target: t.to_string(),
                source,
            })?
            .next()
            .ok_or_else(|| ClusterError::Connect {
                target: t.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
            })?;
        let tcp = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|source| {
            ClusterError::Connect {
                target: t.to_string(),
                source,
            }
        })?;
        let mut session = Session::new().map_err(ssh("starting a session"))?;
        session.set_timeout(OP_TIMEOUT_MS);
        session.set_tcp_stream(tcp);
        session.handshake().map_err(ssh("the SSH handshake"))?;
        self.check_host_key(&session)?;
        self.authenticate(&session)?;
        let sftp = session.sftp().map_err(ssh("starting SFTP"))?;
        Ok(Connected { session, sftp })
    }

    fn check_host_key(&self, session: &Session) -> Result<(), ClusterError> {
        let t = &self.target;
        let fingerprint = session
            .host_key_hash(HashType::Sha256)
            .map(|h| format!("SHA256:{}", base64_nopad(h)))
            .unwrap_or_else(|| "(unknown)".into());
        let (key, _) = session.host_key().ok_or_else(|| ClusterError::Ssh {
            target: t.to_string(),
            what: "reading the host key".into(),
            source: ssh2::Error::unknown(),
        })?;
        let mut known = session.known_hosts().map_err(|source| ClusterError::Ssh {
            target: t.to_string(),
            what: "reading known hosts".into(),
            source,
        })?;
        let file = &self.options.known_hosts;
        if file.exists() {
            known
                .read_file(file, KnownHostFileKind::OpenSSH)
                .map_err(|source| ClusterError::Ssh {
                    target: t.to_string(),
                    what: format!("reading {}", file.display()),
                    source,
                })?;
        }
        let trust = format!("ssh-keyscan -p {} {} >> {}", t.port, t.host, file.display());
        match known.check_port(&t.host, t.port, key) {
            CheckResult::Match => Ok(()),
            CheckResult::Mismatch => Err(ClusterError::ChangedHostKey {
                host: t.known_hosts_name(),
                fingerprint,
                known_hosts: file.clone(),
            }),
            CheckResult::NotFound | CheckResult::Failure => Err(ClusterError::UnknownHostKey {
                host: t.known_hosts_name(),
                fingerprint,
                known_hosts: file.clone(),
                trust,
            }),
        }
    }

    fn authenticate(&self, session: &Session) -> Result<(), ClusterError> {
        let t = &self.target;
        let mut tried = Vec::new();
        if let Some(id) = &self.options.identity {
            if let Err(e) = session.userauth_pubkey_file(&t.user, None, id, None) {
                tried.push(format!("key {} ({})", id.display(), e.message()));
            }
        } else {
            if std::env::var_os("SSH_AUTH_SOCK").is_some() {
                match session.userauth_agent(&t.user) {
                    Ok(()) => return Ok(()),
                    Err(e) => tried.push(format!("the SSH agent ({})", e.message())),
                }
            }
            let home = std::env::var_os("HOME").map(PathBuf::from);
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                let Some(key) = home.as_ref().map(|h| h.join(".ssh").join(name)) else {
                    break;
                };
                if !key.exists() {
                    continue;
                }
                match session.userauth_pubkey_file(&t.user, None, &key, None) {
                    Ok(()) => return Ok(()),
                    Err(e) => tried.push(format!("key {} ({})", key.display(), e.message())),
                }
            }
        }
        if session.authenticated() {
            return Ok(());
        }
        if tried.is_empty() {
            tried.push(
                "no key: give one with `%slurm config --identity FILE` or start an SSH agent"
                    .into(),
            );
        }
        Err(ClusterError::Auth {
            target: t.to_string(),
            tried: tried.join("; "),
        })
    }

    /// Runs a command line built by sluice from quoted parts.
    fn run_raw(&mut self, cmd: &str) -> Result<Output, ClusterError> {
        let (status, stdout, stderr) = self.with(
            |c| {
                let mut ch = c.session.channel_session()?;
                ch.exec(cmd)?;
                let mut stdout = Vec::new();
                ch.read_to_end(&mut stdout)?;
                let mut stderr = Vec::new();
                ch.stderr().read_to_end(&mut stderr)?;
                ch.wait_close()?;
                Ok((ch.exit_status()?, stdout, stderr))
            },
            "running a command",
        )?;
        Ok(Output {
            status,
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    /// Runs `f` on the live session; a failure drops the session so the
    /// next call reconnects.
    fn with<T>(
        &mut self,
        f: impl FnOnce(&Connected) -> Result<T, StepError>,
        what: &str,
    ) -> Result<T, ClusterError> {
        self.connect()?;
        let Some(c) = self.live.as_ref() else {
            return Err(ClusterError::Refused("the SSH session is gone".into()));
        };
        match f(c) {
            Ok(v) => Ok(v),
            Err(e) => {
                // Any transport error: start over next time.
                self.live = None;
                let target = self.target.to_string();
                let what = what.to_string();
                Err(match e {
                    StepError::Ssh(source) => ClusterError::Ssh {
                        target,
                        what,
                        source,
                    },
                    StepError::Io(source) => ClusterError::SshIo {
                        target,
                        what,
                        source,
                    },
                })
            }
        }
    }
}

impl CommandRunner for SshLink {
    fn describe(&self) -> String {
        self.target.to_string()
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn connects(&self) -> u32 {
        self.connects
    }

    /// Runs `argv` on the login node; every argument is shell-quoted.
    fn run(&mut self, argv: &[String]) -> Result<Output, ClusterError> {
        let cmd = shlex::try_join(argv.iter().map(String::as_str)).map_err(|_| {
            ClusterError::Refused(format!(
                "an argument of `{}` contains a NUL byte",
                argv.first().map(String::as_str).unwrap_or("")
            ))
        })?;
        self.run_raw(&cmd)
    }

    /// The remote home directory (absolute).
    fn home(&mut self) -> Result<PathBuf, ClusterError> {
        self.with(
            |c| Ok(c.sftp.realpath(Path::new("."))?),
            "finding the home directory",
        )
    }

    /// Creates `dir` and its parents.
    fn mkdirs(&mut self, dir: &Path) -> Result<(), ClusterError> {
        let mut partial = PathBuf::new();
        for part in dir.components() {
            partial.push(part);
            if partial.as_os_str() == "/" {
                continue;
            }
            let p = partial.clone();
            self.with(
                |c| match c.sftp.stat(&p) {
                    Ok(_) => Ok(()),
                    Err(_) => Ok(c.sftp.mkdir(&p, 0o755).or_else(|e| {
                        // Made meanwhile by someone else is fine.
                        c.sftp.stat(&p).map(|_| ()).map_err(|_| e)
                    })?),
                },
                &format!("creating {}", p.display()),
            )?;
        }
        Ok(())
    }

    /// True if `path` exists.
    fn exists(&mut self, path: &Path) -> Result<bool, ClusterError> {
        self.connect()?;
        match self.live.as_ref().map(|c| c.sftp.stat(path)) {
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) if e.code() == ssh2::ErrorCode::SFTP(2) => Ok(false),
            Some(Err(source)) => {
                self.live = None;
                Err(ClusterError::Ssh {
                    target: self.target.to_string(),
                    what: format!("looking at {}", path.display()),
                    source,
                })
            }
            None => Ok(false),
        }
    }

    /// Writes `bytes` to `path` (through a temporary name, then renamed).
    fn write(&mut self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), ClusterError> {
        let tmp = path.with_extension("sluice-part");
        self.with(
            |c| {
                let mut f = c.sftp.open_mode(
                    &tmp,
                    OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE,
                    mode as i32,
                    OpenType::File,
                )?;
                f.write_all(bytes)?;
                drop(f);
                let _ = c.sftp.unlink(path);
                Ok(c.sftp.rename(&tmp, path, None)?)
            },
            &format!("writing {}", path.display()),
        )
    }

    /// Removes a file (missing is fine).
    fn remove(&mut self, path: &Path) -> Result<(), ClusterError> {
        self.connect()?;
        if let Some(c) = self.live.as_ref() {
            let _ = c.sftp.unlink(path);
        }
        Ok(())
    }

    /// Copies the sub-directories `subdirs` of remote `dir` into local
    /// `into`, as one tar stream (one command, however many files). With
    /// `since` (a cluster mtime from an earlier fetch) only files changed
    /// after it come over. Returns the newest mtime seen, for the next call.
    fn fetch(
        &mut self,
        dir: &Path,
        subdirs: &[&str],
        into: &Path,
        since: Option<u64>,
    ) -> Result<Option<u64>, ClusterError> {
        let mut argv = vec![
            "tar".to_string(),
            "-C".into(),
            dir.display().to_string(),
            "--ignore-failed-read".into(),
        ];
        if let Some(t) = since {
            argv.push(format!("--newer-mtime=@{t}"));
        }
        argv.extend(["-cf".into(), "-".into()]);
        argv.extend(subdirs.iter().map(|s| s.to_string()));
        let out = self.run(&argv)?;
        if out.status != 0 && out.stdout.is_empty() {
            return Err(ClusterError::Command {
                command: format!("tar -C {} ...", dir.display()),
                message: out.stderr.trim().to_string(),
            });
        }
        let unpack = |source| ClusterError::Io {
            what: format!("unpacking job files into {}", into.display()),
            source,
        };
        let mut newest = since;
        let mut archive = tar::Archive::new(&out.stdout[..]);
        for entry in archive.entries().map_err(unpack)? {
            let mut entry = entry.map_err(unpack)?;
            if let Ok(m) = entry.header().mtime() {
                newest = Some(newest.map_or(m, |n| n.max(m)));
            }
            // unpack_in refuses paths that would leave `into`.
            entry.unpack_in(into).map_err(unpack)?;
        }
        Ok(newest)
    }
}

/// Standard base64 without padding, as OpenSSH prints fingerprints.
fn base64_nopad(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}
