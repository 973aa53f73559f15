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
//!   takes the first slot one frees ([`make_room_for_kernel`]).
//! - **At most [`MAX_WAITING`] wait at once.** A new standby asks the ones
//!   that have waited longest to leave ([`cap_waiting`]).
//!
//! Leaving is a request on the standby's own socket ([`request::Request`]
//! with `leave`), so it can never reach a standby that has become a kernel:
//! that one no longer reads its socket. Only standbys that say they are
//! ready are asked; one still warming up is left alone.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::Launch;
use super::request::{self, Request};

/// How many standbys may wait at once (one per environment).
pub const MAX_WAITING: usize = 3;

/// How long a kernel waits for a slot a standby was asked to free.
const SLOT_WAIT: Duration = Duration::from_secs(3);

/// How long a standby has to read a request to leave.
const ASK_LIMIT: Duration = Duration::from_secs(2);

/// A standby that says it is ready, from its lock file.
#[derive(Debug, Clone)]
struct Ready {
    pid: u32,
    socket: PathBuf,
    /// When it became ready (the lock file's modification time).
    since: SystemTime,
}

/// The ready standbys waiting in `root`, longest-waiting first; `except`
/// (a standby's own lock) is left out.
fn ready_standbys(root: &Path, except: Option<&Path>) -> Vec<Ready> {
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
        .filter(|lock| held(lock))
        .filter_map(|lock| {
            let text = std::fs::read_to_string(&lock).ok()?;
            let mut lines = text.lines();
            let pid: u32 = lines.next()?.trim().parse().ok()?;
            if lines.nth(1) != Some("ready") || !alive(pid) {
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
fn held(lock: &Path) -> bool {
    use std::os::fd::AsRawFd as _;
    let Ok(f) = std::fs::File::open(lock) else {
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

/// Asks the standby on `socket` to leave; true when it answered.
fn ask_to_leave(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let req = Request {
        launch: Launch {
            env: Default::default(),
            cwd: PathBuf::from("/"),
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
        let left = ask_to_leave(&r.socket);
        tracing::debug!(
            "asked standby {} to leave (at most {MAX_WAITING} wait): {left}",
            r.pid
        );
    }
}

/// Called by a kernel that found every slot in `base` taken: asks the
/// ready standbys holding one (a slot's lock file names its holder's pid)
/// to leave, longest-waiting first, until one slot is free; returns that
/// slot's lock, or None.
pub fn make_room_for_kernel(
    root: &Path,
    base: &Path,
    slots: usize,
) -> std::io::Result<Option<(usize, std::fs::File)>> {
    let holder = |n: usize| -> Option<u32> {
        std::fs::read_to_string(base.join(format!("slot-{n}.lock")))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let standbys = ready_standbys(root, None);
    tracing::debug!(
        "every kept slot is taken; waiting standbys: {:?}",
        standbys.iter().map(|s| s.pid).collect::<Vec<_>>()
    );
    for standby in standbys {
        let Some(n) = (0..slots).find(|&n| holder(n) == Some(standby.pid)) else {
            continue;
        };
        if !ask_to_leave(&standby.socket) {
            tracing::debug!("standby {} did not answer", standby.pid);
            continue;
        }
        let lock = base.join(format!("slot-{n}.lock"));
        let deadline = Instant::now() + SLOT_WAIT;
        while Instant::now() < deadline {
            if let Some(f) = crate::kept_session::try_lock(&lock)? {
                tracing::info!(
                    "standby {} left; its kept slot {n} is this kernel's",
                    standby.pid
                );
                return Ok(Some((n, f)));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
    Ok(None)
}
