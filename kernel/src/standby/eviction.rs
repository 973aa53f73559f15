//! Standbys make room for kernels.
//!
//! Each environment gets its own standby, about half a gigabyte of memory,
//! and each holds a kept slot (`kept_session.rs`) while it waits. A user
//! whose launches differ in a variable or two (nbconvert, papermill,
//! JupyterLab, a CI matrix) would soon have standbys holding every slot,
//! so that their kernels fell back to a temporary directory and rebuilt
//! every dependency. Two rules keep that from happening:
//! - **A kernel comes first.** A kernel that finds every slot taken asks
//!   the waiting standbys that hold one in its directory to leave, and
//!   takes the first slot one frees (`kept_session::claim_for_kernel`,
//!   with [`ready_standbys`] and [`ask_to_leave`]).
//! - **At most [`MAX_WAITING`] wait at once.** A new standby asks the ones
//!   that have waited longest to leave ([`cap_waiting`]).
//!
//! Leaving is a request on the standby's own socket ([`request::Request`]
//! with `leave`), so it can never reach a standby that has become a kernel:
//! that one no longer reads its socket. Only standbys that say they are
//! ready are asked; one still warming up is left alone.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Launch;
use super::request::{self, Request};

/// How many standbys may wait at once (one per environment).
pub const MAX_WAITING: usize = 3;

/// How long a standby has to read a request to leave.
const ASK_LIMIT: Duration = Duration::from_secs(2);

/// A standby that says it is ready, from its lock file.
#[derive(Debug, Clone)]
pub struct Ready {
    /// Its process (also what its kept slot's lock file names).
    pub pid: u32,
    socket: PathBuf,
    /// When it became ready (the lock file's modification time).
    since: SystemTime,
}

/// The ready standbys waiting in `root`, longest-waiting first; `except`
/// (a standby's own lock) is left out.
pub fn ready_standbys(root: &Path, except: Option<&Path>) -> Vec<Ready> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<Ready> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| Some(p.as_path()) != except)
        .filter(|p| {
            p.extension().is_some_and(|x| x == "lock")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("standby-"))
        })
        .filter(|lock| is_held(lock))
        .filter_map(|lock| {
            let pid = super::waiting::ready_pid(&lock)?;
            if !alive(pid) {
                return None;
            }
            let since = std::fs::metadata(&lock).and_then(|m| m.modified()).ok()?;
            Some(Ready {
                pid,
                socket: lock.with_extension("sock"),
                since,
            })
        })
        .collect();
    found.sort_by_key(|r| r.since);
    found
}

/// Whether a process holds `lock` (a waiting standby's `flock`; an adopted
/// one let go of it, though its pid and "ready" stay in the file).
pub fn is_held(lock: &Path) -> bool {
    use std::os::fd::AsRawFd as _;
    let Some(f) = crate::state_file::open_regular(lock) else {
        return false;
    };
    // SAFETY: flock on a descriptor this function owns; a shared lock that
    // is granted is released when `f` closes.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) != 0 }
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

impl Ready {
    /// The socket it waits on.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

/// Asks `standby` to leave; true when it answered (it then exits, and its
/// locks go with it).
pub fn ask_to_leave(standby: &Ready) -> bool {
    let Ok(mut stream) = UnixStream::connect(&standby.socket) else {
        return false;
    };
    let req = Request {
        launch: Launch {
            env: Default::default(),
            cwd: PathBuf::from("/"),
            inherited: Default::default(),
        },
        connection_file: PathBuf::new(),
        leave: true,
    };
    // The protocol passes descriptors with every request (a launcher's
    // stdout and stderr); this one passes the socket's own, which the
    // standby drops.
    let own = std::os::fd::AsRawFd::as_raw_fd(&stream);
    stream
        .set_write_timeout(Some(ASK_LIMIT))
        .and_then(|()| request::send(&mut stream, &req, &[own]))
        .and_then(|()| stream.set_read_timeout(Some(ASK_LIMIT)))
        .and_then(|()| request::read_answer(&stream))
        .is_ok()
}

/// Called by a new standby holding `own_lock`: asks the longest-waiting
/// standbys to leave so that at most [`MAX_WAITING`] wait, this one
/// included.
pub fn cap_waiting(root: &Path, own_lock: &Path) {
    let others = ready_standbys(root, Some(own_lock));
    let extra = (others.len() + 1).saturating_sub(MAX_WAITING);
    for r in others.iter().take(extra) {
        let left = ask_to_leave(r);
        tracing::debug!(
            "asked standby {} to leave (at most {MAX_WAITING} wait): {left}",
            r.pid
        );
    }
}
