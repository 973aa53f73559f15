//! What changes when a standby is adopted, in every process that runs
//! cells: the per-kernel variables (`JPY_SESSION_NAME`, …) and the working
//! directory become the launcher's.
//!
//! The kernel applies it to itself ([`Adoption::apply`]) and writes it to
//! the file named by [`FILE_VAR`], which the standby put in its own
//! environment before evcxr started the session's processes. A session
//! process applies that file once, before the first cell it runs after the
//! file appears (and before that cell's snapshot, so a restored session
//! keeps it); a session process started later (after a lost session)
//! applies it at its first cell too.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Names the adoption file in the standby's processes (never seen by cells).
pub const FILE_VAR: &str = "SLUICE_ADOPTION_FILE";

/// The launcher's per-kernel variables and directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Adoption {
    /// Variables to set.
    pub set: BTreeMap<String, String>,
    /// Per-kernel variables of the standby that the launcher did not have.
    pub remove: Vec<String>,
    /// The working directory.
    pub cwd: PathBuf,
}

impl Adoption {
    /// From this process's per-kernel variables to `set`'s, and to `cwd`.
    pub fn from_here_to(set: BTreeMap<String, String>, cwd: PathBuf) -> Adoption {
        let remove = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| super::is_per_kernel(k) && !set.contains_key(k))
            .collect();
        Adoption { set, remove, cwd }
    }

    /// Changes this process's environment and directory.
    ///
    /// # Safety
    /// No other thread of this process may read or write the environment
    /// while this runs (`std::env::set_var`'s rule).
    ///
    /// # Errors
    /// The directory cannot be entered (the variables are set regardless).
    pub unsafe fn apply(&self) -> io::Result<()> {
        // SAFETY: the caller guarantees no concurrent environment access.
        unsafe {
            for k in &self.remove {
                std::env::remove_var(k);
            }
            for (k, v) in &self.set {
                std::env::set_var(k, v);
            }
            std::env::remove_var(FILE_VAR);
        }
        std::env::set_current_dir(&self.cwd)
    }

    /// Writes the file the session's processes read (whole or not at all).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let text = serde_json::to_vec(self).map_err(io::Error::other)?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }
}

/// The adoption file of this session process, until applied.
static PENDING: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Takes [`FILE_VAR`] out of the environment and remembers it. Call at the
/// start of a session process.
///
/// # Safety
/// The process has no other thread yet.
pub unsafe fn take_file_var() {
    if let Some(path) = std::env::var_os(FILE_VAR) {
        // SAFETY: single-threaded, per the caller.
        unsafe { std::env::remove_var(FILE_VAR) };
        if let Ok(mut p) = PENDING.lock() {
            *p = Some(PathBuf::from(path));
        }
    }
}

/// Whether this session process still waits for an adoption file to apply
/// (it is a standby's, and no cell has run since the file appeared).
pub fn is_pending() -> bool {
    PENDING.lock().map(|p| p.is_some()).unwrap_or(false)
}

/// More than an adoption file ever holds (a directory and Jupyter's
/// per-kernel variables).
const ADOPTION_LIMIT: u64 = 16 << 20;

/// Applies the adoption file if it is there and this process has not yet
/// applied it. Call on the session's main thread before a cell.
pub fn apply_pending() {
    let Ok(mut pending) = PENDING.lock() else {
        return;
    };
    let Some(path) = pending.clone() else { return };
    let Some(text) = crate::state_file::read_at_most(&path, ADOPTION_LIMIT) else {
        return;
    };
    *pending = None;
    match serde_json::from_slice::<Adoption>(&text) {
        // SAFETY: between cells, the session's main thread is the only one
        // that touches the environment (no cell has run since the standby
        // started, or this process was just started).
        Ok(a) => {
            if let Err(e) = unsafe { a.apply() } {
                eprintln!("sluice: cannot enter {}: {e}", a.cwd.display());
            }
        }
        Err(e) => eprintln!("sluice: bad adoption file {}: {e}", path.display()),
    }
}
