//! Build products in the kept session that no longer load: a crash, a
//! full disk or a killed build can leave a dependency's `.rlib` or
//! `.rmeta` truncated, and cargo, which goes by modification times, never
//! rebuilds it. Every later build of the session then fails with rustc's
//! E0786 ("found invalid metadata files for crate"), on every launch,
//! whatever the cell says.
//!
//! rustc's errors for such files name the files, never the user's code:
//! E0786 (invalid metadata), E0514 (a crate compiled by another rustc)
//! and E0460 (a crate found in two versions that disagree). When a
//! cell's build fails with one of them, the kernel deletes the kept
//! slot's `target/` directory, says so on the cell's stderr, and builds
//! the cell once more, which rebuilds the dependencies from scratch.

use std::path::{Path, PathBuf};

/// rustc's codes for crate files that cannot be used (rustc's error
/// index: E0786, E0514, E0460).
const DAMAGED_CODES: [&str; 3] = ["E0786", "E0514", "E0460"];

/// Whether `errors` say the session's build products are damaged.
pub(super) fn says_damaged(errors: &[evcxr::CompilationError]) -> bool {
    errors
        .iter()
        .any(|e| e.code().is_some_and(|c| DAMAGED_CODES.contains(&c)))
}

/// Deletes the build products under the kept slot `slot` (its `target/`);
/// returns the directory deleted.
///
/// # Errors
/// The directory exists and cannot be deleted.
pub(super) fn remove_products(slot: &Path) -> std::io::Result<PathBuf> {
    let target = slot.join("target");
    match std::fs::remove_dir_all(&target) {
        Ok(()) => Ok(target),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(target),
        Err(e) => Err(e),
    }
}
