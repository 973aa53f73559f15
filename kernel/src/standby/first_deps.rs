//! The `:dep` lines notebooks start with, added by a standby ahead of time.
//!
//! A notebook's first cell is usually its `:dep` cell, and it is the most
//! expensive one of a Run All: evcxr checks each new crate (`cargo
//! metadata`), builds the session crate against it, and the next cell with a
//! `let` waits while rust-analyzer reloads the workspace and computes again
//! what it knew of `core`, `std` and every crate (its `FileChange` sets every
//! file's source root again). Measured on 2 cores, `:dep serde` with derive:
//! 1.8 s for the cell and 2.4 s in the first `let` after it.
//!
//! A standby (`waiting.rs`) can do all of it before the launch, for the
//! `:dep` lines it expects, once it is ready for a launch (its warm-up
//! done): a launch that comes meanwhile is taken at once and its first cell
//! waits for the rest, so a launch right after a shutdown (`nbconvert` runs
//! back to back) never waits longer than without it:
//! - **What it expects.** Every kernel records the `:dep` lines its first
//!   cell starts with (none, if it starts otherwise or fails) in
//!   `<root>/<toolchain key>/first-deps`, which keeps the last two. A
//!   standby adds lines only when both are the same and every line names a
//!   registry crate (a version, features, `default-features`, `package`): a
//!   path would be read from the standby's directory, not the notebook's.
//!   And only crates its kept slot built before: a standby that had to build
//!   one would keep the next launch waiting for it (a standby takes a free
//!   slot that built them when there is one, `kept_session.rs`).
//! - **A hit.** The adopted kernel's first cell names every crate the
//!   standby added (its own specification wins: evcxr takes an identical
//!   `:dep` as done, and rebuilds for another one). If evcxr does not keep
//!   that cell (it fails to build, a `:dep` fails, it is interrupted), the
//!   crates are removed after it, as a fresh kernel would not have them.
//! - **The first cell** is the first execute request with code in it (an
//!   empty one is not a notebook's first cell).
//! - **A miss.** Anything else — a first cell that does not name them all —
//!   and the kernel runs evcxr's `:clear` before the cell, which drops the
//!   dependencies, so the notebook never sees a crate it did not ask for.
//!   The miss costs about what the hit saves, which is why a standby waits
//!   for two launches in a row that agree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The lines this process added as a standby, and whether its lock file
/// still has to say so (see `waiting.rs`).
static ADDED: std::sync::Mutex<(Vec<String>, bool)> = std::sync::Mutex::new((Vec::new(), false));

/// Whether this standby is adding lines now (set by the engine).
static ADDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Says which `:dep` lines this standby added (none: `&[]`).
pub fn set_added(lines: &[String]) {
    if let Ok(mut added) = ADDED.lock() {
        *added = (lines.to_vec(), true);
    }
}

/// The `:dep` lines this standby added.
pub fn added() -> Vec<String> {
    ADDED.lock().map(|a| a.0.clone()).unwrap_or_default()
}

/// True once after [`set_added`]: the lock file must be written again.
pub fn take_added_changed() -> bool {
    ADDED
        .lock()
        .map(|mut a| std::mem::replace(&mut a.1, false))
        .unwrap_or(false)
}

/// The engine is adding lines (`true`) or done (`false`, and the lock
/// file must be written again).
pub fn set_adding(now: bool) {
    ADDING.store(now, std::sync::atomic::Ordering::SeqCst);
    if !now && let Ok(mut added) = ADDED.lock() {
        added.1 = true;
    }
}

/// Whether the engine is adding lines now.
pub fn adding() -> bool {
    ADDING.load(std::sync::atomic::Ordering::SeqCst)
}

/// How many first cells the history keeps.
const KEPT: usize = 2;

/// The file's name in the toolchain's directory.
pub const FILE: &str = "first-deps";

/// The most `:dep` lines an entry keeps, and the largest history read (a
/// guess for the next standby needs no more).
const MAX_LINES: usize = 64;
const MAX_FILE: u64 = 64 * 1024;

/// Keys of a dependency's inline table that do not depend on where the
/// kernel runs (Cargo's `[dependencies]` keys for a registry crate).
const REGISTRY_KEYS: [&str; 5] = [
    "version",
    "features",
    "default-features",
    "default_features",
    "package",
];

/// The `:dep` lines a standby added, and the crate names they declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Primed {
    /// The lines, as the notebook wrote them (trimmed).
    pub lines: Vec<String>,
    names: BTreeSet<String>,
    /// Their libraries' names (the package's, `-` as `_`).
    libs: BTreeSet<String>,
}

impl Primed {
    /// The lines as one cell.
    pub fn code(&self) -> String {
        self.lines.join("\n")
    }

    /// True when every crate was built in the kept slot `slot` before
    /// (`target/<triple>/debug/deps/lib<name>-*.rlib`): adding one that was
    /// not would build it while the next launch waits for the standby.
    pub fn built_in(&self, slot: &Path) -> bool {
        let Ok(triples) = std::fs::read_dir(slot.join("target")) else {
            return false;
        };
        let libs: BTreeSet<String> = triples
            .flatten()
            .filter_map(|t| std::fs::read_dir(t.path().join("debug").join("deps")).ok())
            .flatten()
            .flatten()
            .filter_map(|f| f.file_name().into_string().ok())
            .filter_map(|f| {
                let stem = f.strip_prefix("lib")?.strip_suffix(".rlib")?;
                Some(stem.rsplit_once('-')?.0.to_string())
            })
            .collect();
        self.libs.is_subset(&libs)
    }

    /// True when `first_cell` declares every crate the standby added
    /// (with any specification: evcxr replaces a crate's entry).
    pub fn asked_for_by(&self, first_cell: &str) -> bool {
        let declared: BTreeSet<String> = dep_lines(first_cell)
            .iter()
            .filter_map(|l| crate_name(l))
            .collect();
        self.names.is_subset(&declared)
    }
}

/// The history's file, beside the toolchain's kept slots.
pub fn history_file(slot: &Path) -> Option<PathBuf> {
    slot.parent().map(|toolchain| toolchain.join(FILE))
}

/// The registry crates this kernel's own first cell declared (set by
/// [`record`]).
static OWN: std::sync::OnceLock<Option<Primed>> = std::sync::OnceLock::new();

/// The registry crates this kernel's first cell declared, once it ran and
/// evcxr kept it; None otherwise. What a kernel shutting down hands its
/// slot over for (`standby::ensure_at_shutdown`): the same notebook run
/// again needs them.
pub fn declared_here() -> Option<&'static Primed> {
    OWN.get()?.as_ref()
}

/// The lines of `lines` that name registry crates, as a [`Primed`]; None
/// when there is none.
fn registry_part(lines: &[String]) -> Option<Primed> {
    let (lines, specs): (Vec<String>, Vec<(String, String)>) = lines
        .iter()
        .filter_map(|l| Some((l.clone(), registry_dep(l)?)))
        .unzip();
    if specs.is_empty() {
        return None;
    }
    Some(Primed {
        lines,
        names: specs.iter().map(|(name, _)| name.clone()).collect(),
        libs: specs.into_iter().map(|(_, lib)| lib).collect(),
    })
}

/// Records the `:dep` lines `first_cell` starts with (an empty entry when
/// it starts otherwise; the caller passes "" for a cell that failed). Failures are logged: this is a guess for the next
/// standby, never the user's concern.
pub fn record(file: &Path, first_cell: &str) {
    let _ = OWN.set(registry_part(&dep_lines(first_cell)));
    let mut history = read(file);
    history.push(dep_lines(first_cell));
    let drop = history.len().saturating_sub(KEPT);
    history.drain(..drop);
    let text = match serde_json::to_string(&history) {
        Ok(t) => t,
        Err(e) => {
            tracing::debug!("cannot write the first cells' :dep lines: {e}");
            return;
        }
    };
    // Two kernels may record at once: each replaces the file whole.
    let written = file
        .parent()
        .ok_or_else(|| std::io::Error::other("no directory"))
        .and_then(tempfile::NamedTempFile::new_in)
        .and_then(|mut tmp| {
            std::io::Write::write_all(&mut tmp, text.as_bytes())?;
            tmp.persist(file).map_err(|e| e.error)?;
            Ok(())
        });
    if let Err(e) = written {
        tracing::debug!("cannot write {}: {e}", file.display());
    }
}

/// The registry crates the latest first cell that had `:dep` lines
/// declared (lines that are not registry crates left out): where the next
/// notebook's `:dep` cell is most likely to find its crates built. Only a
/// hint for choosing a kept slot; what a standby adds is [`expected`].
pub fn likely(file: &Path) -> Option<Primed> {
    let history = read(file);
    registry_part(history.iter().rev().find(|e| !e.is_empty())?)
}

/// What a standby should add: the lines the last two first cells agree
/// on, when there are some and every one names a registry crate.
pub fn expected(file: &Path) -> Option<Primed> {
    let history = read(file);
    let [a, b] = history.as_slice() else {
        return None;
    };
    if a != b || a.is_empty() {
        return None;
    }
    let specs: Option<Vec<(String, String)>> = a.iter().map(|l| registry_dep(l)).collect();
    let specs = specs?;
    Some(Primed {
        lines: a.clone(),
        names: specs.iter().map(|(name, _)| name.clone()).collect(),
        libs: specs.into_iter().map(|(_, lib)| lib).collect(),
    })
}

fn read(file: &Path) -> Vec<Vec<String>> {
    crate::state_file::read_at_most(file, MAX_FILE)
        .and_then(|t| serde_json::from_slice::<Vec<Vec<String>>>(&t).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|e| if e.len() > MAX_LINES { Vec::new() } else { e })
        .collect()
}

/// The `:dep` lines at the start of a cell (blank lines skipped),
/// trimmed, each once; none past [`MAX_LINES`] (such a cell is not
/// prepared for).
pub fn dep_lines(cell: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in cell
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take_while(|l| l.starts_with(":dep ") || l.starts_with(":dep\t"))
    {
        if lines.len() == MAX_LINES {
            return Vec::new();
        }
        if !lines.iter().any(|l| l == line) {
            lines.push(line.to_string());
        }
    }
    lines
}

/// The crate a `:dep` line declares, split as evcxr splits it (the name
/// runs to the first `=` or blank); None for a local path (`./x`, `/x`).
fn crate_name(line: &str) -> Option<String> {
    let args = line.strip_prefix(":dep")?.trim();
    let name = args.split(['=', ' ', '\t']).next()?;
    if name.is_empty() || name.starts_with('.') || name.starts_with('/') {
        return None;
    }
    Some(name.to_string())
}

/// The crate a line declares and its library's name, when it comes from
/// the registry whatever the working directory: no specification (`"*"`),
/// a version string, or an inline table of [`REGISTRY_KEYS`] only.
fn registry_dep(line: &str) -> Option<(String, String)> {
    let name = crate_name(line)?;
    let valid = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !valid(&name) {
        return None;
    }
    let lib = |package: &str| package.replace('-', "_");
    let args = line.strip_prefix(":dep").unwrap_or_default().trim();
    let spec = args[name.len()..].trim_start();
    let Some(spec) = spec.strip_prefix('=') else {
        return spec.is_empty().then(|| (name.clone(), lib(&name)));
    };
    let table = format!("d = {spec}").parse::<toml::Table>().ok()?;
    match table.get("d")? {
        toml::Value::String(_) => Some((name.clone(), lib(&name))),
        toml::Value::Table(t) if t.keys().all(|k| REGISTRY_KEYS.contains(&k.as_str())) => {
            let package = match t.get("package") {
                Some(toml::Value::String(p)) if valid(p) => p.as_str(),
                Some(_) => return None,
                None => name.as_str(),
            };
            Some((name.clone(), lib(package)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
