//! evcxr's session crate kept across kernel starts: its build directory
//! (`Cargo.lock`, the dependencies' build products, rustc's incremental
//! state) lives in a *slot* on this machine instead of a fresh
//! temporary directory, so a kernel's `:dep serde` after the first run on a
//! machine is cargo finding everything fresh, and the session's first
//! builds reuse the previous run's incremental state.
//!
//! Layout: `<root>/<toolchain>/slot-<n>/` with `slot-<n>.lock` beside it.
//! - `<root>`: `SLUICE_SESSION_DIR`, else `/var/tmp/sluice-<uid>/sessions`
//!   (see [`root`] for why not the home directory). `SLUICE_KEEP_SESSION=0` switches the
//!   whole mechanism off (evcxr's own temporary directory, as before).
//! - `<toolchain>`: 16 hex digits of BLAKE3 over `rustc -vV` (the `rustc`
//!   evcxr finds on `PATH`), evcxr's and sluice's versions. A toolchain
//!   change gets a new directory; directories of other toolchains that no
//!   kernel holds are deleted when a kernel claims a slot.
//! - Two kernels never share a slot: a kernel holds an exclusive `flock`
//!   on its slot's lock file for its whole life (the lock dies with the
//!   process, however it ends), and takes the first free slot of
//!   [`SLOTS`]; with all taken it falls back to a temporary directory.
//! - A slot is trusted only with its `sluice-ready` marker, written once
//!   the session's warm-up built in it and removed while a kernel warms it
//!   up: a slot without it (a kernel died mid-build, a half-copied
//!   directory) is emptied first; one whose warm-up still fails is emptied
//!   and warmed up again from nothing ([`Claim::reset`]).
//! - `<root>/<toolchain>/.cargo/config.toml` ([`DEPENDENCY_PROFILE`]):
//!   cargo reads the configuration of every directory above the one it
//!   builds in, so this file gives the session's dependencies (`:dep`)
//!   opt-level 2 while the cells keep the opt-level evcxr's `:opt` sets
//!   (0 by default, see `evcxr_config.rs`). Changing `:opt` then rebuilds
//!   only the cell, never the dependencies.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};

/// How many kernels at once can keep their session.
pub const SLOTS: usize = 8;
/// Written in a slot once a warm-up succeeded there.
const MARKER: &str = "sluice-ready";
/// The cargo configuration above the slots: every package that is not the
/// session crate itself (Cargo's `profile.<name>.package."*"` override,
/// which configuration files may set and which wins over the manifest's
/// `[profile.dev]` that evcxr writes) is built at opt-level 2.
pub const DEPENDENCY_PROFILE: &str = "\
# Written by sluice (kept_session.rs): the notebook's dependencies are built
# optimized whatever opt-level the cells are built at (evcxr's `:opt`).
[profile.dev.package.\"*\"]
opt-level = 2
";

/// A slot this kernel holds (the lock is released when it is dropped,
/// or when the process ends).
#[derive(Debug)]
pub struct Claim {
    dir: PathBuf,
    _lock: File,
}

impl Claim {
    /// The session crate's directory (what evcxr's `EVCXR_TMPDIR` names).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the slot holds a previous run's state (its marker is there).
    pub fn is_warm(&self) -> bool {
        self.dir.join(MARKER).exists()
    }

    /// Whether the slot is warm and holds no odd file where evcxr writes
    /// ([`odd_file`]).
    pub fn is_sound(&self) -> bool {
        self.is_warm() && odd_file(&self.dir).is_none()
    }

    /// The warm-up is starting: until [`Claim::ready`], the slot is not
    /// trusted by a later kernel.
    pub fn warming(&self) {
        let _ = std::fs::remove_file(self.dir.join(MARKER));
    }

    /// The warm-up succeeded: later kernels may trust the slot.
    pub fn ready(&self) {
        if let Err(e) = std::fs::write(self.dir.join(MARKER), "") {
            tracing::warn!("cannot mark the kept session {}: {e}", self.dir.display());
        }
    }

    /// Empties the slot (stale or corrupted state) so the next build starts
    /// from nothing.
    ///
    /// # Errors
    /// The directory could not be emptied or made again.
    pub fn reset(&self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir_all(&self.dir)
    }
}

/// Who claims a slot: a kernel may ask waiting standbys to make room; a
/// standby takes only a free slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `sluice kernel`, started by Jupyter.
    Kernel,
    /// `sluice standby`, waiting for the next launch.
    Standby,
}

/// The slot this kernel holds, if any (set once, at start-up).
static CLAIMED: std::sync::OnceLock<Claim> = std::sync::OnceLock::new();

/// A standby started by a kernel that is shutting down: that kernel's
/// slot (`sluice standby --slot DIR`), which it frees in a moment.
static HANDED_OVER: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// How long a standby waits for the slot a shutting-down kernel hands it.
const HAND_OVER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// This standby was started by a kernel shutting down in `slot`, which
/// built the crates its notebook started with: it waits for that slot.
pub fn handed_over(slot: PathBuf) {
    let _ = HANDED_OVER.set(slot);
}

/// Whether this standby was handed a slot ([`handed_over`]).
pub fn is_handed_over() -> bool {
    HANDED_OVER.get().is_some()
}

/// Whether the kept slot `slot` is trusted and has built the crates the
/// latest notebook's first cell declared (`standby::first_deps::likely`);
/// false when no notebook declared any.
pub fn has_likely_crates(slot: &Path) -> bool {
    let Some(toolchain) = slot.parent() else {
        return false;
    };
    crate::standby::first_deps::likely(&toolchain.join(crate::standby::first_deps::FILE))
        .is_some_and(|l| slot.join(MARKER).exists() && l.built_in(slot))
}

/// The slot of this toolchain whose lock file names `pid` (a standby's).
pub fn slot_of(pid: u32) -> Option<PathBuf> {
    let base = root()?.join(toolchain_key().ok()?);
    (0..SLOTS)
        .find(|&n| holder(&base, n) == Some(pid))
        .map(|n| slot_dir(&base, n))
}

/// Waits up to [`HAND_OVER_WAIT`] for the slot `dir` of `base` to be
/// free and claims it.
fn claim_handed_over(root: &Path, key: &str, dir: &Path) -> std::io::Result<Option<Claim>> {
    let base = root.join(key);
    match (0..SLOTS).find(|&n| slot_dir(&base, n) == dir) {
        Some(n) => claim_slot_within(root, key, n, HAND_OVER_WAIT),
        None => Ok(None),
    }
}

/// Claims slot `n` once its holder lets go, waiting at most `wait`.
fn claim_slot_within(
    root: &Path,
    key: &str,
    n: usize,
    wait: std::time::Duration,
) -> std::io::Result<Option<Claim>> {
    let base = root.join(key);
    let Some(lock) = lock_within(&slot_lock(&base, n), wait)? else {
        return Ok(None);
    };
    let claim = Claim {
        dir: slot_dir(&base, n),
        _lock: lock,
    };
    prepare_claimed(root, key, claim).map(Some)
}

/// [`try_lock`] again every 25 ms until it succeeds or `wait` is over
/// (a holder that was asked to leave, or is ending).
pub(crate) fn lock_within(path: &Path, wait: std::time::Duration) -> std::io::Result<Option<File>> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        if let Some(lock) = try_lock(path)? {
            return Ok(Some(lock));
        }
        if std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// The pid slot `n`'s lock file names (its holder's, see [`try_lock`]).
fn holder(base: &Path, n: usize) -> Option<u32> {
    crate::state_file::read_text_at_most(&slot_lock(base, n), 64)?
        .trim()
        .parse()
        .ok()
}

/// Claims a slot for this kernel when keeping is [`enabled`] and returns
/// its directory (for `EVCXR_TMPDIR`); None (evcxr's own temporary
/// directory) when keeping is off, every slot is taken (a kernel first asks waiting
/// standbys to make room, a standby does not), or the cache
/// cannot be used — said in the log, never an error for the user.
pub fn claim_for_this_kernel(role: Role) -> Option<PathBuf> {
    if !enabled() {
        return None;
    }
    let started = std::time::Instant::now();
    let root = root()?;
    let key = toolchain_key()
        .inspect_err(|e| tracing::warn!("not keeping the session (no toolchain key): {e}"))
        .ok()?;
    let claimed = match role {
        Role::Kernel => claim_for_kernel(&root, &key),
        // The crates notebooks start with were built in some slots, not in
        // others (`standby/first_deps.rs`): a standby takes one of those,
        // waiting for the one a kernel shutting down hands it, so that the
        // next launch's `:dep` cell finds them built.
        Role::Standby => match HANDED_OVER.get() {
            Some(slot) => match claim_handed_over(&root, &key, slot) {
                Ok(Some(c)) => Ok(Some(c)),
                _ => claim_preferring(&root, &key, has_likely_crates),
            },
            None => claim_preferring(&root, &key, has_likely_crates),
        },
    };
    let claim = claimed
        .inspect_err(|e| tracing::warn!("not keeping the session ({}): {e}", root.display()))
        .ok()??;
    let dir = claim.dir().to_path_buf();
    tracing::debug!(
        target: "sluice::phase",
        "kept session {} claimed in {:.1} ms (warm: {})",
        dir.display(),
        started.elapsed().as_secs_f64() * 1e3,
        claim.is_warm()
    );
    CLAIMED.set(claim).ok()?;
    Some(dir)
}

/// The slot this kernel holds.
pub fn current() -> Option<&'static Claim> {
    CLAIMED.get()
}

/// Whether the session is kept (`SLUICE_KEEP_SESSION`, default on) and
/// the user did not choose evcxr's directory themselves (`EVCXR_TMPDIR`).
pub fn enabled() -> bool {
    let off = std::env::var("SLUICE_KEEP_SESSION")
        .map(|v| matches!(v.trim(), "0" | "off" | "false" | "no"))
        .unwrap_or(false);
    !off && std::env::var_os("EVCXR_TMPDIR").is_none()
}

/// The root of the kept sessions: `SLUICE_SESSION_DIR`, else
/// `/var/tmp/sluice-<uid>/sessions` (machine-local and kept across
/// reboots), else the same under the temporary directory.
///
/// Not under the home directory: evcxr loads each cell's library from
/// `target/<triple>/debug/`, one level above the `deps/` directory whose
/// relative rpath (`$ORIGIN/../..`) cargo computed to reach the toolchain's
/// `libstd`. That rpath still resolves when the only directory the session
/// shares with the toolchain is `/` (one `..` too many stays at `/`), which
/// is why evcxr's own `/tmp/.tmpXXXX` works, but not from a directory
/// beside `~/.rustup`. A `SLUICE_SESSION_DIR` must follow the same rule.
pub fn root() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SLUICE_SESSION_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let var_tmp = Path::new("/var/tmp");
    let base = if var_tmp.is_dir() {
        var_tmp.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    Some(base.join(format!("sluice-{uid}")).join("sessions"))
}

/// The toolchain key: BLAKE3 of `rustc -vV` and the engine's versions.
///
/// # Errors
/// `rustc` could not be run.
pub fn toolchain_key() -> std::io::Result<String> {
    let out = std::process::Command::new("rustc").arg("-vV").output()?;
    if !out.status.success() {
        return Err(std::io::Error::other("`rustc -vV` failed"));
    }
    let mut h = blake3::Hasher::new();
    h.update(&out.stdout);
    h.update(b"\0evcxr 0.22\0sluice ");
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    Ok(h.finalize().to_hex()[..16].to_string())
}

/// Claims the first free slot of this toolchain under `root`, emptying it
/// if its last warm-up did not finish, and deletes other toolchains' kept
/// sessions that no kernel holds. None when every slot is taken.
///
/// # Errors
/// The directories cannot be made or locked.
pub fn claim(root: &Path, key: &str) -> std::io::Result<Option<Claim>> {
    claim_preferring(root, key, |_| false)
}

/// [`claim`], taking a free slot whose directory `preferred` accepts
/// before the first free one.
///
/// # Errors
/// As [`claim`].
pub fn claim_preferring(
    root: &Path,
    key: &str,
    preferred: impl Fn(&Path) -> bool,
) -> std::io::Result<Option<Claim>> {
    let base = root.join(key);
    std::fs::create_dir_all(&base)?;
    write_dependency_profile(&base)?;
    let mut claimed = None;
    let order = (0..SLOTS)
        .filter(|&n| preferred(&slot_dir(&base, n)))
        .chain(0..SLOTS);
    for n in order {
        if let Some(lock) = try_lock(&slot_lock(&base, n))? {
            claimed = Some(Claim {
                dir: slot_dir(&base, n),
                _lock: lock,
            });
            break;
        }
    }
    let Some(claim) = claimed else {
        return Ok(None);
    };
    prepare_claimed(root, key, claim).map(Some)
}

/// [`claim`] for a kernel: when every slot is taken, waiting standbys that
/// hold one are asked to leave (`standby/eviction.rs`) and the first slot
/// freed is taken.
///
/// # Errors
/// As [`claim`].
pub fn claim_for_kernel(root: &Path, key: &str) -> std::io::Result<Option<Claim>> {
    if let Some(c) = claim(root, key)? {
        return Ok(Some(c));
    }
    use crate::standby::eviction;
    let base = root.join(key);
    let standbys = eviction::ready_standbys(root, None);
    tracing::debug!(
        "every kept slot is taken; waiting standbys: {:?}",
        standbys.iter().map(|s| s.pid).collect::<Vec<_>>()
    );
    for standby in standbys {
        let Some(n) = (0..SLOTS).find(|&n| holder(&base, n) == Some(standby.pid)) else {
            continue;
        };
        if !eviction::ask_to_leave(&standby) {
            tracing::debug!("standby {} did not answer", standby.pid);
            continue;
        }
        if let Some(claim) = claim_slot_within(root, key, n, SLOT_WAIT)? {
            tracing::info!(
                "standby {} left; its kept slot {n} is this kernel's",
                standby.pid
            );
            return Ok(Some(claim));
        }
    }
    Ok(None)
}

/// How long a kernel waits for a slot a standby was asked to free.
const SLOT_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// `base/slot-N`: a kept session crate.
fn slot_dir(base: &Path, n: usize) -> PathBuf {
    base.join(format!("slot-{n}"))
}

/// `base/slot-N.lock`: held by the process using `slot-N`, and naming it.
fn slot_lock(base: &Path, n: usize) -> PathBuf {
    base.join(format!("slot-{n}.lock"))
}

/// A file in the slot `dir` where evcxr and cargo write (the slot's own
/// entries and `src/`, not `target/` or the settings overlay, which holds
/// links) that is not a regular file or a directory: a FIFO there blocks
/// evcxr's write of the session crate for good, and a link writes
/// elsewhere.
pub fn odd_file(dir: &Path) -> Option<PathBuf> {
    let entries = |d: &Path| {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect::<Vec<_>>()
    };
    let skip = |p: &Path| {
        p.file_name()
            .is_some_and(|n| n == "target" || n == crate::evcxr_config::DIR_NAME)
    };
    entries(dir)
        .into_iter()
        .filter(|p| !skip(p))
        .chain(entries(&dir.join("src")))
        .find(|p| {
            std::fs::symlink_metadata(p)
                .map(|m| !(m.file_type().is_file() || m.file_type().is_dir()))
                .unwrap_or(false)
        })
}

/// A slot just locked: emptied unless its last warm-up finished or when
/// it holds an odd file ([`odd_file`]), created, and other toolchains'
/// unheld directories pruned.
fn prepare_claimed(root: &Path, key: &str, claim: Claim) -> std::io::Result<Claim> {
    if claim.dir.exists() && !claim.is_warm() {
        tracing::info!(
            "kept session {} was not left ready: starting it afresh",
            claim.dir.display()
        );
        claim.reset()?;
    } else if let Some(odd) = odd_file(&claim.dir) {
        tracing::warn!(
            "kept session {} holds {}, neither a file nor a directory: starting it afresh",
            claim.dir.display(),
            odd.display()
        );
        claim.reset()?;
    }
    std::fs::create_dir_all(&claim.dir)?;
    prune_other_toolchains(root, key);
    Ok(claim)
}

/// Writes [`DEPENDENCY_PROFILE`] as `base/.cargo/config.toml` unless it is
/// there already (a new file renamed into place, so a kernel starting at
/// the same time reads either the old file or the whole new one).
fn write_dependency_profile(base: &Path) -> std::io::Result<()> {
    let dir = base.join(".cargo");
    let path = dir.join("config.toml");
    if crate::state_file::read_text_at_most(&path, DEPENDENCY_PROFILE.len() as u64)
        .is_some_and(|s| s == DEPENDENCY_PROFILE)
    {
        return Ok(());
    }
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!("config.toml.{}", std::process::id()));
    std::fs::write(&tmp, DEPENDENCY_PROFILE)?;
    std::fs::rename(&tmp, &path)
}

/// An exclusive, non-blocking `flock` on `path` (created if missing); None
/// if another process holds it.
pub(crate) fn try_lock(path: &Path) -> std::io::Result<Option<File>> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)?;
    // SAFETY: flock on a descriptor this function owns; no memory is shared.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        // Who holds it, for people looking at the directory.
        let _ = f.set_len(0);
        let _ = writeln!(f, "{}", std::process::id());
        return Ok(Some(f));
    }
    let err = std::io::Error::last_os_error();
    if err.kind() == std::io::ErrorKind::WouldBlock {
        Ok(None)
    } else {
        Err(err)
    }
}

/// Deletes the kept sessions of other toolchains, unless some kernel still
/// holds one of their slots.
fn prune_other_toolchains(root: &Path, key: &str) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if e.file_name().to_string_lossy() == key || !path.is_dir() {
            continue;
        }
        // Hold every slot lock of that toolchain while deleting it.
        let mut held = Vec::new();
        let all_free = (0..SLOTS).all(|n| match try_lock(&slot_lock(&path, n)) {
            Ok(Some(lock)) => {
                held.push(lock);
                true
            }
            _ => false,
        });
        if all_free {
            tracing::info!(
                "deleting the kept sessions of another toolchain: {}",
                path.display()
            );
            if let Err(err) = std::fs::remove_dir_all(&path) {
                tracing::warn!("cannot delete {}: {err}", path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_claims_get_two_slots_and_a_released_one_is_reused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let a = claim(tmp.path(), "k").expect("claim").expect("slot");
        let b = claim(tmp.path(), "k").expect("claim").expect("slot");
        assert_ne!(a.dir(), b.dir());
        let a_dir = a.dir().to_path_buf();
        drop(a);
        let c = claim(tmp.path(), "k").expect("claim").expect("slot");
        assert_eq!(c.dir(), a_dir);
    }

    #[test]
    fn the_dependency_profile_is_written_above_the_slots_and_mended() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let config = tmp.path().join("k/.cargo/config.toml");
        let a = claim(tmp.path(), "k").expect("claim").expect("slot");
        assert!(a.dir().starts_with(tmp.path().join("k")));
        assert_eq!(
            std::fs::read_to_string(&config).expect("config"),
            DEPENDENCY_PROFILE
        );
        drop(a);
        std::fs::write(&config, "[profile.dev]\nopt-level = 1\n").expect("write");
        let _b = claim(tmp.path(), "k").expect("claim").expect("slot");
        assert_eq!(
            std::fs::read_to_string(&config).expect("config"),
            DEPENDENCY_PROFILE
        );
        let left: Vec<_> = std::fs::read_dir(config.parent().expect("dir"))
            .expect("read_dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, [std::ffi::OsString::from("config.toml")]);
    }

    #[test]
    fn a_preferred_free_slot_is_taken_before_the_first_free_one() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let wants_2 = |dir: &Path| dir.ends_with("slot-2");
        let a = claim_preferring(tmp.path(), "k", wants_2)
            .expect("claim")
            .expect("slot");
        assert!(a.dir().ends_with("slot-2"));
        // Taken: the first free one comes next.
        let b = claim_preferring(tmp.path(), "k", wants_2)
            .expect("claim")
            .expect("slot");
        assert!(b.dir().ends_with("slot-0"));
    }

    #[test]
    fn a_slot_left_without_its_marker_is_emptied() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let a = claim(tmp.path(), "k").expect("claim").expect("slot");
        std::fs::write(a.dir().join("leftover"), "x").expect("write");
        let dir = a.dir().to_path_buf();
        drop(a);
        let b = claim(tmp.path(), "k").expect("claim").expect("slot");
        assert_eq!(b.dir(), dir);
        assert!(!dir.join("leftover").exists());
        std::fs::write(b.dir().join("kept"), "x").expect("write");
        b.ready();
        drop(b);
        let c = claim(tmp.path(), "k").expect("claim").expect("slot");
        assert!(c.is_warm() && c.dir().join("kept").exists());
    }

    #[test]
    fn other_toolchains_are_pruned_unless_held() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let old = claim(tmp.path(), "old").expect("claim").expect("slot");
        let _new = claim(tmp.path(), "new").expect("claim").expect("slot");
        assert!(tmp.path().join("old").exists(), "held by a kernel");
        drop(old);
        let _again = claim(tmp.path(), "new").expect("claim").expect("slot");
        assert!(!tmp.path().join("old").exists());
    }
}
