//! The standby itself (`sluice standby`): warm up the engine, wait for a
//! launcher, check it may serve it, become its kernel.

use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use super::adoption::{self, Adoption};
use super::request::{self, Reply, Request};
use super::{Launch, Place};
use crate::server::Prestart;

/// How often a waiting standby checks that launchers can still reach it.
const REACH_CHECK: Duration = Duration::from_secs(10);
/// How long a standby handed a slot waits for the one it replaces to go.
const PLACE_WAIT: Duration = Duration::from_secs(3);
/// How often the lock file is brought up to date while the engine adds
/// the first cell's `:dep` lines (`first_deps.rs`).
const ADDING_CHECK: Duration = Duration::from_millis(200);

/// How long a connected launcher has to send its request.
const REQUEST_LIMIT: Duration = Duration::from_secs(5);

/// Why a standby ends without serving.
#[derive(Debug, thiserror::Error)]
pub enum StandbyError {
    /// Standbys are off, or this launch cannot be described.
    #[error("standbys are off or the environment is not UTF-8")]
    Off,
    /// Another standby waits for this binary.
    #[error("another standby waits")]
    Taken,
    /// A kernel needed its kept slot, or newer standbys wait
    /// (`eviction.rs`).
    #[error("asked to leave")]
    Asked,
    /// Nobody came within `SLUICE_STANDBY_IDLE`.
    #[error("no launcher came within {0:?}")]
    Idle(Duration),
    /// The binary's place or toolchain cannot be found.
    #[error("cannot place the standby: {0}")]
    Place(String),
    /// A socket or file operation failed.
    #[error("standby I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// What a standby holds while it waits (all released when it is adopted or ends).
pub struct Waiting {
    place: Place,
    listener: UnixListener,
    lock: std::fs::File,
    /// The standby's own launch (the previous kernel's).
    launch: Launch,
    toolchain: String,
    adoption_file: std::path::PathBuf,
    /// The socket file's device and inode, as bound.
    socket_id: Option<(u64, u64)>,
}

impl Waiting {
    /// Whether a launcher can still find this standby: its socket file is
    /// the one it bound, and the binary at its path is still this one.
    fn reachable(&self) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        let bound = std::fs::metadata(&self.place.socket)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        bound.is_some()
            && bound == self.socket_id
            && Place::for_launch(&self.launch).is_some_and(|p| p.socket == self.place.socket)
            && slot_intact()
    }

    /// The lock file says who waits, and that it is warm:
    /// `<pid>\n<binary>\nready\n`, then `adding\n` while it adds the `:dep`
    /// lines notebooks start with and `added <line>\n` for each one it
    /// added (`first_deps.rs`), for people, benchmarks and tests.
    fn mark_ready(&self) {
        use std::io::{Seek as _, Write as _};
        let exe = std::env::current_exe().unwrap_or_default();
        let mut text = format!("{}\n{}\nready\n", std::process::id(), exe.display());
        if super::first_deps::adding() {
            text.push_str("adding\n");
        }
        for line in super::first_deps::added() {
            text.push_str(&format!("added {line}\n"));
        }
        let mut lock = &self.lock;
        let _ = lock
            .set_len(0)
            .and_then(|()| lock.rewind())
            .and_then(|()| lock.write_all(text.as_bytes()));
    }
}

/// More than a lock file ever holds (a pid, a path, the lines added).
const LOCK_TEXT_LIMIT: u64 = 1 << 20;

/// The pid in a standby's lock file when that standby says it is ready
/// (what [`Waiting::mark_ready`] writes).
pub(super) fn ready_pid(lock: &std::path::Path) -> Option<u32> {
    let text = crate::state_file::read_text_at_most(lock, LOCK_TEXT_LIMIT)?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    (lines.nth(1) == Some("ready")).then_some(pid)
}

impl Drop for Waiting {
    fn drop(&mut self) {
        // Before the lock goes: the next standby makes its own socket (and
        // a socket that is not this one's, after the directory was made
        // again, is left alone).
        use std::os::unix::fs::MetadataExt as _;
        let now = std::fs::metadata(&self.place.socket)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        if now.is_some() && now == self.socket_id {
            let _ = std::fs::remove_file(&self.place.socket);
        }
    }
}

/// A launcher this standby accepted, ready to serve.
pub struct Adopted {
    /// Jupyter's connection file.
    pub connection_file: std::path::PathBuf,
    /// The engine, warmed up.
    pub prestart: Prestart,
    /// The adoption file, removed when the kernel ends.
    pub adoption_file: std::path::PathBuf,
}

/// Waits as a standby until a launcher is accepted; then this process is
/// that launcher's kernel (the caller serves it).
///
/// # Errors
/// [`StandbyError`]: nobody came, the toolchain changed, the engine did
/// not start, or I/O.
pub fn wait(mut waiting: Waiting) -> Result<Adopted, StandbyError> {
    super::IS_STANDBY.store(true, std::sync::atomic::Ordering::SeqCst);
    let prestart = Prestart::start()?;
    // Launchers that connect meanwhile wait in the socket's backlog.
    if !prestart.engine().wait_ready() {
        prestart.engine().interrupter().retire();
        return Err(StandbyError::Place("the engine did not start".into()));
    }
    waiting.mark_ready();
    let deadline = Instant::now() + super::idle_limit();
    loop {
        let Some(mut stream) = accept_until(&waiting, deadline)? else {
            prestart.engine().interrupter().retire();
            return Err(StandbyError::Idle(super::idle_limit()));
        };
        if !same_user(&stream) {
            tracing::warn!("a launcher of another user connected; ignored");
            continue;
        }
        let (req, fds) = match read_request(&mut stream) {
            Ok(r) => r,
            Err(e) => {
                tracing::info!("a launcher's request could not be read: {e}");
                continue;
            }
        };
        if req.leave {
            let _ = request::answer(&mut stream, &Reply::Refused("leaving".into()));
            prestart.engine().interrupter().retire();
            return Err(StandbyError::Asked);
        }
        match check(&waiting, &req) {
            Ok(()) => {
                adopt(&mut waiting, &req, fds, &mut stream)?;
                super::ADOPTED.store(true, std::sync::atomic::Ordering::SeqCst);
                prestart.engine().submit(crate::engine::Request::Adopted);
                lifeline(stream, &prestart);
                let adoption_file = waiting.adoption_file.clone();
                drop(waiting);
                return Ok(Adopted {
                    connection_file: req.connection_file,
                    prestart,
                    adoption_file,
                });
            }
            Err(why) => {
                let _ = request::answer(&mut stream, &Reply::Refused(why.clone()));
                if why.starts_with("toolchain") || why == SLOT_GONE {
                    prestart.engine().interrupter().retire();
                    return Err(StandbyError::Place(why));
                }
            }
        }
    }
}

/// Takes the lock, names the adoption file, binds the socket. Call before
/// any other thread exists.
///
/// # Errors
/// [`StandbyError`]: standbys are off, another standby waits, or I/O.
pub fn prepare() -> Result<Waiting, StandbyError> {
    let launch = Launch::capture()
        .filter(|_| super::enabled())
        .ok_or(StandbyError::Off)?;
    let place = Place::for_launch(&launch).ok_or_else(|| StandbyError::Place("no root".into()))?;
    if let Some(dir) = place.socket.parent() {
        std::fs::create_dir_all(dir)?;
        super::prune_adoption_files(dir);
    }
    let lock = match crate::kept_session::try_lock(&place.lock)? {
        Some(lock) => lock,
        // Handed a slot by a kernel shutting down, which asked the standby
        // waiting here to leave: that one goes in a moment.
        None if crate::kept_session::is_handed_over() => {
            crate::kept_session::lock_within(&place.lock, PLACE_WAIT)?.ok_or(StandbyError::Taken)?
        }
        None => return Err(StandbyError::Taken),
    };
    if let Some(root) = place.lock.parent() {
        super::eviction::cap_waiting(root, &place.lock);
    }
    let toolchain =
        crate::kept_session::toolchain_key().map_err(|e| StandbyError::Place(e.to_string()))?;
    let adoption_file = place
        .adoption_stem
        .with_extension(format!("{}.adopt", std::process::id()));
    let _ = std::fs::remove_file(&adoption_file);
    // SAFETY: no other thread exists yet (the engine starts later).
    unsafe { std::env::set_var(adoption::FILE_VAR, &adoption_file) };
    let _ = std::fs::remove_file(&place.socket);
    let listener = UnixListener::bind(&place.socket)?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&place.socket, std::fs::Permissions::from_mode(0o600))?;
    }
    let socket_id = {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(&place.socket)
            .ok()
            .map(|m| (m.dev(), m.ino()))
    };
    Ok(Waiting {
        socket_id,
        place,
        listener,
        lock,
        launch,
        toolchain,
        adoption_file,
    })
}

/// The next connection, or None at `deadline` or once nobody can reach
/// this standby any more (checked every [`REACH_CHECK`]).
fn accept_until(waiting: &Waiting, deadline: Instant) -> std::io::Result<Option<UnixStream>> {
    let listener = &waiting.listener;
    loop {
        if super::first_deps::take_added_changed() {
            waiting.mark_ready();
        }
        // While the engine adds `:dep` lines, the lock file is written
        // again soon after it is done.
        let check = if super::first_deps::adding() {
            ADDING_CHECK
        } else {
            REACH_CHECK
        };
        let left = deadline
            .saturating_duration_since(Instant::now())
            .min(check);
        if left.is_zero() {
            return Ok(None);
        }
        if !waiting.reachable() {
            tracing::debug!(
                "standby unreachable (socket or binary replaced, or kept slot gone); leaving"
            );
            return Ok(None);
        }
        let mut pfd = libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd for the duration of the call.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if rc > 0 {
            let (stream, _) = listener.accept()?;
            return Ok(Some(stream));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
    }
}

/// Whether the connected process runs as this process's user (a standby
/// becomes the kernel of whoever connects: nobody else may).
fn same_user(stream: &UnixStream) -> bool {
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: SO_PEERCRED writes one ucred into `cred`, whose size is `len`.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut libc::ucred as *mut libc::c_void,
            &mut len,
        )
    };
    // SAFETY: getuid has no preconditions.
    rc == 0 && cred.uid == unsafe { libc::getuid() }
}

fn read_request(stream: &mut UnixStream) -> std::io::Result<(Request, Vec<OwnedFd>)> {
    stream.set_read_timeout(Some(REQUEST_LIMIT))?;
    let got = request::receive(stream)?;
    stream.set_read_timeout(None)?;
    Ok(got)
}

/// Whether the kept slot this standby warmed up in is still sound (its
/// ready marker, no FIFO or link where evcxr writes): a slot deleted,
/// emptied or tampered with since would fail or hang the first cell that
/// writes the session crate.
fn slot_intact() -> bool {
    crate::kept_session::current().is_none_or(crate::kept_session::Claim::is_sound)
}

/// Why a standby refuses a launch and leaves (it can serve no other).
const SLOT_GONE: &str =
    "its kept slot was deleted, emptied or given an odd file since it warmed up";

/// Whether this standby may serve `req`: the same environment (but the
/// per-kernel variables), the same toolchain, and its kept slot intact.
fn check(waiting: &Waiting, req: &Request) -> Result<(), String> {
    if !slot_intact() {
        return Err(SLOT_GONE.into());
    }
    if req.launch.fingerprint() != waiting.launch.fingerprint() {
        let differ: Vec<&str> = req
            .launch
            .env
            .iter()
            .filter(|(k, v)| !super::is_per_kernel(k) && waiting.launch.env.get(*k) != Some(v))
            .map(|(k, _)| k.as_str())
            .chain(
                waiting
                    .launch
                    .env
                    .keys()
                    .filter(|k| !super::is_per_kernel(k) && !req.launch.env.contains_key(*k))
                    .map(String::as_str),
            )
            .chain(req.launch.inherited.differences(&waiting.launch.inherited))
            .take(5)
            .collect();
        return Err(format!("environment differs: {}", differ.join(", ")));
    }
    match crate::kept_session::toolchain_key() {
        Ok(key) if key == waiting.toolchain => {}
        _ => return Err("toolchain changed since the standby started".into()),
    }
    Ok(())
}

/// Becomes the launcher's kernel: its variables and directory here and in
/// the session, its stdout and stderr, then the answer.
fn adopt(
    waiting: &mut Waiting,
    req: &Request,
    fds: Vec<OwnedFd>,
    stream: &mut UnixStream,
) -> Result<(), StandbyError> {
    let adoption = Adoption::from_here_to(req.launch.per_kernel(), req.launch.cwd.clone());
    adoption.write(&waiting.adoption_file)?;
    // SAFETY: the engine thread waits on its queue and the other threads
    // (evcxr's and the streams' readers) only read pipes: nothing reads
    // or writes the environment while this runs.
    unsafe { adoption.apply()? };
    for (fd, target) in fds.iter().zip([1, 2]) {
        // SAFETY: dup2 onto the standard descriptors; both are valid.
        unsafe { libc::dup2(fd.as_raw_fd(), target) };
    }
    super::remember_launch(req.launch.clone());
    request::answer(stream, &Reply::Adopted)?;
    tracing::info!(
        "standby {} adopted for {}",
        std::process::id(),
        req.connection_file.display()
    );
    Ok(())
}

/// When the launcher ends (Jupyter killed it), the kernel ends too.
fn lifeline(mut stream: UnixStream, prestart: &Prestart) {
    let interrupter = prestart.engine().interrupter();
    let _ = std::thread::Builder::new()
        .name("sluice-launcher".into())
        .spawn(move || {
            use std::io::Read as _;
            let mut buf = [0u8; 64];
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            tracing::info!("the launcher ended; ending the kernel");
            interrupter.retire();
            std::process::exit(0);
        });
}
