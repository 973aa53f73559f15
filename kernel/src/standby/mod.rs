//! A kernel kept warm for the next launch: the *standby*.
//!
//! evcxr's start (rust-analyzer loading the standard library, the session
//! crate's first build) takes seconds on every kernel start. A standby is a
//! `sluice standby` process that did all of it ahead of time and waits on a
//! Unix socket. When Jupyter launches `sluice kernel -f FILE`, that process
//! (the *launcher*, `launcher.rs`) offers itself to the standby; if the
//! standby accepts, it becomes the kernel for FILE and the launcher stays
//! as Jupyter's handle on it (`waiting.rs`).
//!
//! # The rules
//! - **Same binary, same toolchain, same environment, same settings.** The
//!   socket's name holds the binary's identity (path, size, modification
//!   time); the standby checks `rustc -vV` again when it is asked; every
//!   environment variable must be equal but the ones Jupyter sets per
//!   kernel ([`is_per_kernel`]: `JPY_*`, `KERNEL_ID`, `PWD`, `OLDPWD`,
//!   `SHLVL`, `_`), and so must the umask, resource limits, nice value
//!   and CPU affinity (`inherited.rs`) and the `evcxr.toml` evcxr reads
//!   (`evcxr_config::settings_identity`). The per-kernel variables, and
//!   the working directory, are the launcher's afterwards, in the kernel
//!   and in the session's process (`adoption.rs`). Anything else
//!   differing is a refusal and the launcher starts the kernel itself, as
//!   without a standby.
//! - **One standby per binary, environment and settings.** The key in its
//!   files' names covers them all, so a launch only ever meets a standby made for
//!   its own environment (papermill's launches differ from nbconvert's).
//!   It holds an exclusive `flock` on `standby-<key>.lock` while it waits;
//!   a second one exits at once. A standby that can no longer be reached
//!   (its socket deleted, its binary replaced) leaves.
//! - **Only its own user.** The socket is `0600`, and a connection from
//!   another uid (`SO_PEERCRED`) is ignored: a standby becomes the kernel
//!   of whoever it accepts.
//! - **Jupyter keeps its handle.** The launcher's stdout and stderr become
//!   the kernel's (passed with `SCM_RIGHTS`); the launcher waits on the
//!   socket and exits when the kernel does; when the launcher dies (Jupyter's
//!   `SIGKILL` to its process group), the kernel ends its session and exits.
//! - **When one is made.** A kernel starts the next standby once it has
//!   warmed up and has had no request for a second, and again when it
//!   shuts down if none waits then: never while its own cells need the CPU.
//! - **Kernels come first.** A kernel that finds every kept slot taken
//!   asks waiting standbys to leave and takes the slot one frees; at most
//!   three standbys wait at once (`eviction.rs`).
//! - **How long it waits.** `SLUICE_STANDBY_IDLE` seconds (default 900),
//!   then it exits. `SLUICE_STANDBY=0` turns the mechanism off: no standby
//!   is made or used.
//!
//! Files live beside the kept sessions (`kept_session::root`).

pub mod adoption;
pub mod eviction;
mod fd_pass;
pub mod first_deps;
pub mod inherited;
pub mod launcher;
mod request;
pub mod waiting;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// How long a standby waits for a launcher by default, in seconds.
const DEFAULT_IDLE_SECS: u64 = 900;

/// Whether standbys are made and used (`SLUICE_STANDBY`, default on).
pub fn enabled() -> bool {
    !std::env::var("SLUICE_STANDBY")
        .map(|v| matches!(v.trim(), "0" | "off" | "false" | "no"))
        .unwrap_or(false)
}

/// How long a standby waits for a launcher (`SLUICE_STANDBY_IDLE`, seconds).
pub fn idle_limit() -> std::time::Duration {
    let secs = std::env::var("SLUICE_STANDBY_IDLE")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_IDLE_SECS);
    std::time::Duration::from_secs(secs)
}

/// Variables Jupyter sets per kernel (they may differ between the standby
/// and the launcher, and are the launcher's afterwards).
pub fn is_per_kernel(name: &str) -> bool {
    name.starts_with("JPY_")
        || matches!(name, "KERNEL_ID" | "PWD" | "OLDPWD" | "SHLVL" | "_")
        || name == adoption::FILE_VAR
}

/// The environment and working directory a kernel was launched with,
/// captured before the kernel changes either.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Launch {
    /// Every variable (a launch with a variable that is not UTF-8 has no
    /// `Launch`: it never uses a standby).
    pub env: BTreeMap<String, String>,
    /// The working directory.
    pub cwd: PathBuf,
    /// The umask, resource limits, nice value and CPU affinity
    /// (`inherited.rs`).
    #[serde(default)]
    pub inherited: inherited::Inherited,
}

impl Launch {
    /// This process's environment and directory now; None when either is
    /// not UTF-8 or the directory is gone.
    pub fn capture() -> Option<Launch> {
        let mut env = BTreeMap::new();
        for (k, v) in std::env::vars_os() {
            env.insert(k.into_string().ok()?, v.into_string().ok()?);
        }
        let cwd = std::env::current_dir().ok()?;
        Some(Launch {
            env,
            cwd,
            inherited: inherited::Inherited::capture(),
        })
    }

    /// BLAKE3 over every variable that must be equal (all but
    /// [`is_per_kernel`]), the mask and the resource limits, as hex.
    pub fn fingerprint(&self) -> String {
        let mut h = blake3::Hasher::new();
        for (k, v) in self.env.iter().filter(|(k, _)| !is_per_kernel(k)) {
            h.update(k.as_bytes());
            h.update(b"=");
            h.update(v.as_bytes());
            h.update(b"\0");
        }
        h.update(b"\0inherited\0");
        h.update(&self.inherited.fingerprint_bytes());
        h.finalize().to_hex().to_string()
    }

    /// The per-kernel variables of this launch.
    pub fn per_kernel(&self) -> BTreeMap<String, String> {
        self.env
            .iter()
            .filter(|(k, _)| is_per_kernel(k) && k.as_str() != adoption::FILE_VAR)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Where the standby of this binary waits: `<root>/standby-<key>.sock`,
/// and `.lock` (which also holds the waiting standby's pid, as text).
#[derive(Debug, Clone)]
pub struct Place {
    /// The socket launchers connect to.
    pub socket: PathBuf,
    /// The lock the waiting standby holds.
    pub lock: PathBuf,
    /// The adoption file of a standby with this pid (see `adoption`).
    pub adoption_stem: PathBuf,
}

impl Place {
    /// The place for the running binary, `launch`'s environment and the
    /// evcxr settings a kernel launched there starts from
    /// ([`crate::evcxr_config::settings_identity`]: `./evcxr.toml`, or the
    /// configuration directory's, and their contents): a standby made with
    /// another environment or other settings waits elsewhere, so each gets
    /// its own, and one whose settings file changed is out of reach and
    /// leaves. None when the binary or the root cannot be found.
    pub fn for_launch(launch: &Launch) -> Option<Place> {
        let root = crate::kept_session::root()?;
        let exe = std::env::current_exe().ok()?;
        let meta = std::fs::metadata(&exe).ok()?;
        let modified = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        let mut h = blake3::Hasher::new();
        h.update(exe.as_os_str().as_encoded_bytes());
        h.update(&meta.len().to_le_bytes());
        h.update(&modified.as_nanos().to_le_bytes());
        h.update(launch.fingerprint().as_bytes());
        h.update(crate::evcxr_config::settings_identity(&launch.cwd, &launch.env).as_bytes());
        let key = &h.finalize().to_hex()[..16];
        Some(Place {
            socket: root.join(format!("standby-{key}.sock")),
            lock: root.join(format!("standby-{key}.lock")),
            adoption_stem: root.join(format!("standby-{key}")),
        })
    }
}

/// The binary to start a standby from: this one, or the file that
/// replaced it at the same path (a rebuild or reinstall while it ran;
/// Linux then names this one `PATH (deleted)`).
fn binary_path() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    if exe.exists() {
        return Some(exe);
    }
    let text = exe.to_str()?;
    let path = PathBuf::from(text.strip_suffix(" (deleted)")?);
    path.exists().then_some(path)
}

/// Removes the adoption files of kernels that are gone (a killed kernel
/// cannot remove its own): `standby-<key>.<pid>.adopt` under `root`.
pub fn prune_adoption_files(root: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(pid) = name
            .strip_suffix(".adopt")
            .and_then(|n| n.rsplit('.').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only checks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Set in a `sluice standby` process before its engine starts.
static IS_STANDBY: AtomicBool = AtomicBool::new(false);

/// Set when this standby took a launch.
static ADOPTED: AtomicBool = AtomicBool::new(false);

/// Whether this process was a standby that a launch took.
pub fn is_adopted() -> bool {
    ADOPTED.load(Ordering::SeqCst)
}

/// Whether this process was started as a standby (its warm-up may do more:
/// nobody waits for it).
pub fn is_standby() -> bool {
    IS_STANDBY.load(Ordering::SeqCst)
}

/// Set once this kernel has started (or decided not to start) the next standby.
static NEXT_STARTED: AtomicBool = AtomicBool::new(false);

/// The launch this kernel serves (the launcher's, for an adopted kernel).
static LAUNCH: std::sync::OnceLock<Launch> = std::sync::OnceLock::new();

/// Records the launch the next standby copies (first call wins).
pub fn remember_launch(launch: Launch) {
    let _ = LAUNCH.set(launch);
}

/// Starts the next standby, once per kernel (when its warm-up is done or
/// it was adopted, so the next launch finds one ready): a detached
/// `sluice standby` with this kernel's launch environment. Quiet when
/// standbys are off or it cannot start.
pub fn start_next() {
    if LAUNCH.get().is_none() || NEXT_STARTED.swap(true, Ordering::SeqCst) {
        return;
    }
    spawn(None);
}

/// At shutdown: a standby for the next launch, also when the one this
/// kernel started has been adopted or has left (`SLUICE_STANDBY_IDLE`)
/// since. One that finds another waiting exits at once.
///
/// When this kernel's notebook started with `:dep` crates built in its
/// slot (`first_deps::declared_here`), and the standby waiting for its
/// launches holds a slot without them (the one a kernel starts while it
/// runs cannot have its slot), that standby is asked to leave, and the
/// new one is handed this slot (it waits for the waiting one to go and
/// for this kernel to free the slot): the same notebook run again would
/// build every crate again otherwise. Shutting down never waits for it.
pub fn ensure_at_shutdown() {
    NEXT_STARTED.store(true, Ordering::SeqCst);
    let handed = first_deps::declared_here().and_then(|crates| {
        let own = crate::kept_session::current()?.dir();
        crates.built_in(own).then_some(())?;
        send_away_standby_without(crates).then(|| own.to_path_buf())
    });
    spawn(handed.as_deref());
}

/// Asks the standby waiting for this kernel's launches to leave when its
/// slot has not built `crates`; true when none waits or it was asked.
fn send_away_standby_without(crates: &first_deps::Primed) -> bool {
    let Some(place) = LAUNCH.get().and_then(Place::for_launch) else {
        return false;
    };
    let Some(root) = place.lock.parent() else {
        return false;
    };
    let Some(waiting) = eviction::ready_standbys(root, None)
        .into_iter()
        .find(|r| r.socket() == place.socket.as_path())
    else {
        // None waits, or one still warms up (it keeps its place).
        return !eviction::is_held(&place.lock);
    };
    if crate::kept_session::slot_of(waiting.pid).is_some_and(|s| crates.built_in(&s)) {
        return false;
    }
    let asked = eviction::ask_to_leave(&waiting);
    tracing::debug!(
        "standby {} holds a slot without this notebook's crates: asked it to leave ({asked})",
        waiting.pid
    );
    asked
}

/// Where a standby for `launch` runs: the launch's directory when it has
/// an `evcxr.toml` or `EVCXR_CONFIG_DIR` is relative (evcxr reads
/// `./evcxr.toml`, and a relative directory, from its working directory,
/// so the standby starts from the same settings as a kernel launched
/// there), else `/`, which holds no directory a user may want to remove.
fn standby_dir(launch: &Launch) -> &std::path::Path {
    if launch.cwd.join("evcxr.toml").exists()
        || crate::evcxr_config::config_dir_is_relative(&launch.env)
    {
        &launch.cwd
    } else {
        std::path::Path::new("/")
    }
}

/// Starts `sluice standby` for this kernel's launch; `slot` is this
/// kernel's slot, handed over at shutdown.
fn spawn(slot: Option<&std::path::Path>) {
    let Some(launch) = LAUNCH.get() else { return };
    if !enabled() {
        return;
    }
    let Some(exe) = binary_path() else {
        tracing::info!("no standby: this kernel's binary is gone");
        return;
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("standby");
    if let Some(slot) = slot {
        cmd.arg("--slot").arg(slot);
    }
    cmd.env_clear()
        .envs(&launch.env)
        .current_dir(standby_dir(launch))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // Its own session: Jupyter's signals to this kernel's process group
    // must not reach it. The launch's mask and limits, whatever this
    // kernel changed since.
    // SAFETY: setsid is async-signal-safe and has no preconditions.
    unsafe {
        use std::os::unix::process::CommandExt as _;
        let inherited = launch.inherited.clone();
        cmd.pre_exec(move || {
            libc::setsid();
            // Between fork and exec, as apply_in_child requires.
            inherited.apply_in_child();
            Ok(())
        });
    }
    match cmd.spawn() {
        Ok(mut child) => {
            tracing::debug!("standby {} started", child.id());
            // Reaped here if it ends first (another standby already
            // waits); otherwise it outlives this kernel and init reaps it.
            let _ = std::thread::Builder::new()
                .name("sluice-standby-reaper".into())
                .spawn(move || child.wait());
        }
        Err(e) => tracing::warn!("cannot start a standby kernel: {e}"),
    }
}
