//! The session's environment, published for the magics: the session
//! process writes its variables to a file when it starts and after every
//! cell whose run changed them, so a magic cell that sends the notebook's
//! environment to its tasks (`--export=ALL`, sbatch's default, or
//! `--export=NAME` without a value) reads it here instead of evaluating code
//! in the session, which costs an evcxr build.
//!
//! The kernel names the file ([`choose_for_this_kernel`], before any
//! thread), in the kept-session directory it claimed for itself, and the
//! session's processes inherit the name through [`FILE_VAR`], which the
//! session takes out of its environment ([`take_file_var`]) so cells and
//! tasks never see it.
//!
//! The file holds what the session had after its last cell that ended; a
//! cell that crashed or was interrupted is undone by the snapshot that takes
//! over, whose environment is that of the same moment. A standby's session
//! writes before its adoption is applied, so it says so
//! (`adoption_pending`), and the kernel reads such a file as unknown.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Names the file in the kernel and its runtime (never seen by cells).
pub const FILE_VAR: &str = "SLUICE_ENVIRONMENT_FILE";
/// The file's name in the kernel's kept-session directory.
const FILE_NAME: &str = "session-environment.json";

/// What the file holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Published {
    /// The session has not yet applied a standby's adoption: its
    /// per-kernel variables are the standby's, not the launcher's.
    adoption_pending: bool,
    /// `(name, value)`, in the environment's order; names and values that
    /// are not UTF-8 are converted lossily (as the task side reads them).
    vars: Vec<(String, String)>,
}

/// Names the file for this kernel's session, in `kept_dir` (the kept-session
/// directory this kernel holds, so no other kernel writes there), and
/// removes what an earlier kernel left there. Without a kept directory
/// nothing is published and the magics evaluate the environment in the
/// session.
///
/// # Safety
/// No other thread exists yet (it sets an environment variable).
pub unsafe fn choose_for_this_kernel(kept_dir: &Path) {
    let path = kept_dir.join(FILE_NAME);
    let _ = std::fs::remove_file(&path);
    // SAFETY: single-threaded, per the caller.
    unsafe { std::env::set_var(FILE_VAR, &path) };
}

/// The session process's file and what it last wrote there.
struct Publisher {
    path: PathBuf,
    /// What was last written: the adoption flag and the variables.
    last: Option<(bool, Vec<(OsString, OsString)>)>,
}

static PUBLISHER: Mutex<Option<Publisher>> = Mutex::new(None);

/// Takes [`FILE_VAR`] out of the environment and remembers it. Call at the
/// start of a session process.
///
/// # Safety
/// The process has no other thread yet.
pub unsafe fn take_file_var() {
    if let Some(path) = std::env::var_os(FILE_VAR) {
        // SAFETY: single-threaded, per the caller.
        unsafe { std::env::remove_var(FILE_VAR) };
        if let Ok(mut p) = PUBLISHER.lock() {
            *p = Some(Publisher {
                path: PathBuf::from(path),
                last: None,
            });
        }
    }
}

/// Writes the environment if it differs from what was last written (or
/// nothing was). Call on the session's main thread after a cell and once at
/// the start. A write that fails removes the file, so the magics fall back to
/// asking the session.
pub fn publish(adoption_pending: bool) {
    let Ok(mut guard) = PUBLISHER.lock() else {
        return;
    };
    let Some(publisher) = guard.as_mut() else {
        return;
    };
    let now: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    if let Some((pending, vars)) = &publisher.last
        && *pending == adoption_pending
        && *vars == now
        && publisher.path.exists()
    {
        return;
    }
    let published = Published {
        adoption_pending,
        vars: now
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect(),
    };
    match write_whole(&publisher.path, &published) {
        Ok(()) => publisher.last = Some((adoption_pending, now)),
        Err(e) => {
            let _ = std::fs::remove_file(&publisher.path);
            publisher.last = None;
            eprintln!(
                "sluice: cannot publish the session's environment to {}: {e}",
                publisher.path.display()
            );
        }
    }
}

/// Writes `published` to a temporary file beside `path` and renames it.
fn write_whole(path: &Path, published: &Published) -> std::io::Result<()> {
    let text = serde_json::to_vec(published).map_err(std::io::Error::other)?;
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The session's environment as it last published it: `(name, value)`
/// pairs, or None when it is not known here (no file, a file from before a
/// standby's adoption took effect, or an unreadable one): then ask the
/// session.
pub fn read_published() -> Option<Vec<(String, String)>> {
    read_from(Path::new(&std::env::var_os(FILE_VAR)?))
}

/// Forgets what the session published (the session process it came from
/// ended between cells): until a session process publishes again, the
/// magics ask the session, which says what was lost.
pub fn forget_published() {
    if let Some(path) = std::env::var_os(FILE_VAR) {
        let _ = std::fs::remove_file(path);
    }
}

fn read_from(path: &Path) -> Option<Vec<(String, String)>> {
    let text = std::fs::read(path).ok()?;
    let published: Published = serde_json::from_slice(&text).ok()?;
    (!published.adoption_pending).then_some(published.vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_before_adoption_is_unknown_and_after_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        let vars = vec![("A".to_string(), "1".to_string())];
        let mut p = Published {
            adoption_pending: true,
            vars: vars.clone(),
        };
        write_whole(&path, &p).expect("write");
        assert_eq!(read_from(&path), None);
        p.adoption_pending = false;
        write_whole(&path, &p).expect("write");
        assert_eq!(read_from(&path), Some(vars));
        std::fs::write(&path, b"{trunc").expect("write");
        assert_eq!(read_from(&path), None, "an unreadable file is unknown");
        assert_eq!(read_from(&dir.path().join("none")), None);
    }
}
