//! The `evcxr.toml` a kernel's evcxr starts from, so that the session
//! crate's first build is already at the cells' opt-level.
//!
//! evcxr reads its settings when its context is made (evcxr's
//! `toml_parse.rs`): `./evcxr.toml` if there is one, else
//! `$EVCXR_CONFIG_DIR/evcxr.toml`, else `evcxr/evcxr.toml` in the user's
//! configuration directory. It builds a first cell at that file's
//! `opt_level`, 2 when none is set. sluice's cells build at 0, and a
//! `:opt 0` run after the context was made changed the manifest right
//! after that first build: the display module's build then took 0.94–1.11 s
//! instead of 0.18–0.23 s, and a fresh kernel was ready in 4.0–4.4 s
//! instead of 3.2–3.3 s (measured side by side, warm slots). Worse, a
//! user's `opt_level = "s"` (or a level Cargo does not have) reached
//! evcxr's own first build as written, unquoted in the manifest, and the
//! kernel did not start at all ("Failed to load the project").
//!
//! So a kernel with a kept session (`kept_session.rs`) points
//! `EVCXR_CONFIG_DIR` at `<slot>/evcxr-config`, which holds the user's
//! `evcxr.toml` (every key kept) with `opt_level` set, and links to the
//! user's `init.evcxr` and `prelude.rs`, which evcxr's `:load_config`
//! reads from there.
//!
//! The cells' level is `SLUICE_CELL_OPT`, else the user's `opt_level`,
//! else 0. A level Cargo does not have means 0, with a warning in the log.
//! When evcxr cannot start from the overlay (no kept slot, or an
//! `evcxr.toml` in the working directory, which evcxr reads first), the
//! kernel runs `:opt LEVEL` after the context is made, as before; there a
//! user's `opt_level = "s"` still stops evcxr's start, as it does in
//! evcxr_jupyter.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::engine::opt_command;

/// Where the overlay lives inside a kept slot.
pub const DIR_NAME: &str = "evcxr-config";
/// evcxr's settings file.
const FILE_NAME: &str = "evcxr.toml";
/// The other files evcxr reads from its configuration directory.
const LINKED: [&str; 2] = ["init.evcxr", "prelude.rs"];

/// How this kernel's cells get their opt-level.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Start {
    /// The level as evcxr takes it (`0`…`3`, `"s"`, `"z"`).
    level: String,
    /// evcxr's first build is already at `level` (the overlay is in place,
    /// or the user's own file sets it).
    evcxr_starts_there: bool,
}

static START: OnceLock<Start> = OnceLock::new();

/// Why the overlay could not be written.
#[derive(Debug, thiserror::Error)]
enum OverlayError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not TOML evcxr can read: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("{path}: `evcxr` is not a table")]
    NotATable { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Decides the cells' level and, with a kept slot, writes the overlay and
/// points `EVCXR_CONFIG_DIR` at it. Never fails: what cannot be done is
/// logged, and the kernel then runs `:opt` after evcxr starts.
///
/// # Safety
/// The process has no other thread yet (it changes the environment).
pub unsafe fn prepare_for_this_kernel(kept_dir: Option<&Path>) {
    let cwd_file = std::env::current_dir()
        .ok()
        .map(|d| d.join(FILE_NAME))
        .filter(|f| f.is_file());
    let user_dir = user_config_dir();
    let start = match (cwd_file, kept_dir) {
        // evcxr reads ./evcxr.toml before any configuration directory.
        (Some(file), _) => Start::after(read_table(&file).ok().as_ref()),
        (None, None) => {
            let table = user_dir.as_deref().and_then(|d| read_user_table(d).ok());
            Start::after(table.as_ref().and_then(|t| t.as_ref()))
        }
        (None, Some(slot)) => match write_overlay(slot, user_dir.as_deref()) {
            Ok((dir, level)) => {
                // SAFETY: single-threaded, per the caller.
                unsafe { std::env::set_var("EVCXR_CONFIG_DIR", &dir) };
                Start {
                    level,
                    evcxr_starts_there: true,
                }
            }
            Err(e) => {
                tracing::warn!("evcxr starts at its own opt-level ({e})");
                Start::after(None)
            }
        },
    };
    let _ = START.set(start);
}

/// The `:opt` command to run once evcxr's context is made: None when evcxr
/// already started at the cells' level.
pub fn opt_after_start() -> Option<String> {
    match START.get() {
        Some(s) if s.evcxr_starts_there => None,
        Some(s) => Some(format!(":opt {}", s.level)),
        None => Some(format!(":opt {}", wanted_level(None))),
    }
}

impl Start {
    /// evcxr starts from `table` (the file it reads, if any); the level is
    /// set afterwards unless the file already says it.
    fn after(table: Option<&toml::Table>) -> Start {
        let user = user_level(table);
        let level = wanted_level(user.as_deref());
        // evcxr took the user's level as written: enough when it is the
        // level wanted, and written as evcxr needs it (`s` is not).
        let evcxr_starts_there = user.as_deref() == Some(level.as_str());
        Start {
            level,
            evcxr_starts_there,
        }
    }
}

/// The cells' level: `SLUICE_CELL_OPT`, else the user's, else 0; checked
/// as a cell's `:opt` is.
fn wanted_level(user: Option<&str>) -> String {
    let (value, from) = match std::env::var("SLUICE_CELL_OPT") {
        Ok(v) => (v, "SLUICE_CELL_OPT"),
        Err(_) => match user {
            Some(u) => (u.to_owned(), "opt_level in evcxr.toml"),
            None => return "0".into(),
        },
    };
    opt_command::level(&value).unwrap_or_else(|why| {
        tracing::warn!("{from}: {why}; cells are built at 0");
        "0".into()
    })
}

/// The `opt_level` string a user's `evcxr.toml` sets.
fn user_level(table: Option<&toml::Table>) -> Option<String> {
    table?
        .get("evcxr")?
        .get("opt_level")?
        .as_str()
        .map(str::to_owned)
}

/// Which settings evcxr starts from when its context is made in `cwd`
/// with the environment `env`, as a BLAKE3 hex digest of the file's place
/// and bytes: `cwd/evcxr.toml` when it exists (evcxr reads it before any
/// configuration directory, `toml_parse.rs`), else `evcxr.toml` in the
/// configuration directory `env` names, else none. Two launches whose
/// evcxr would start with other settings (another file, an edited file)
/// get other digests, so a standby made with one never serves the other
/// (`standby::Place`).
pub fn settings_identity(cwd: &Path, env: &BTreeMap<String, String>) -> String {
    let mut h = blake3::Hasher::new();
    let in_cwd = cwd.join(FILE_NAME);
    let file = if in_cwd.exists() {
        h.update(b"cwd\0");
        Some(in_cwd)
    } else {
        h.update(b"config\0");
        // A relative directory is evcxr's process's: the launch's.
        config_dir_in(env).map(|d| cwd.join(d).join(FILE_NAME))
    };
    match file {
        Some(path) => {
            h.update(path.as_os_str().as_encoded_bytes());
            h.update(b"\0");
            match std::fs::read(&path) {
                Ok(bytes) => {
                    h.update(b"read\0");
                    h.update(&bytes);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    h.update(b"absent");
                }
                Err(e) => {
                    h.update(b"unreadable\0");
                    h.update(e.to_string().as_bytes());
                }
            }
        }
        None => {
            h.update(b"no directory");
        }
    }
    h.finalize().to_hex().to_string()
}

/// Whether `env` names a relative `EVCXR_CONFIG_DIR`, which evcxr
/// resolves against its process's working directory.
pub fn config_dir_is_relative(env: &BTreeMap<String, String>) -> bool {
    env.get("EVCXR_CONFIG_DIR")
        .is_some_and(|d| Path::new(d).is_relative())
}

/// evcxr's configuration directory for the environment `env` (not this
/// process's, whose `EVCXR_CONFIG_DIR` may point at the overlay):
/// `EVCXR_CONFIG_DIR`, else `$XDG_CONFIG_HOME/evcxr` when absolute, else
/// `$HOME/.config/evcxr`, as `dirs::config_dir` finds it on Linux.
fn config_dir_in(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    if let Some(d) = env.get("EVCXR_CONFIG_DIR") {
        return Some(PathBuf::from(d));
    }
    let base = env
        .get("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            env.get("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| Path::new(h).join(".config"))
        })
        .or_else(dirs::config_dir)?;
    Some(base.join("evcxr"))
}

/// evcxr's configuration directory: `EVCXR_CONFIG_DIR`, else `evcxr` in
/// the user's configuration directory (evcxr's `config_dir`).
fn user_config_dir() -> Option<PathBuf> {
    std::env::var_os("EVCXR_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("evcxr")))
}

fn read_table(path: &Path) -> Result<toml::Table, OverlayError> {
    let text = std::fs::read_to_string(path).map_err(|source| OverlayError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|source| OverlayError::Parse {
            path: path.to_owned(),
            source,
        })
}

/// The user's `evcxr.toml` in `dir`: None when there is none.
fn read_user_table(dir: &Path) -> Result<Option<toml::Table>, OverlayError> {
    let path = dir.join(FILE_NAME);
    if !path.is_file() {
        return Ok(None);
    }
    read_table(&path).map(Some)
}

/// Writes `<slot>/evcxr-config`: the user's settings with `opt_level` set
/// to the cells' level, and links to the user's other files. Returns the
/// directory and the level.
fn write_overlay(slot: &Path, user_dir: Option<&Path>) -> Result<(PathBuf, String), OverlayError> {
    let mut table = match user_dir {
        Some(d) => read_user_table(d)?.unwrap_or_default(),
        None => toml::Table::new(),
    };
    let level = wanted_level(user_level(Some(&table)).as_deref());
    let evcxr = table
        .entry("evcxr")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(t) = evcxr {
        t.insert("opt_level".into(), toml::Value::String(level.clone()));
    } else {
        // `evcxr = 3`: not evcxr's shape; keep the user's file as it is
        // and let evcxr say what is wrong with it.
        return Err(OverlayError::NotATable {
            path: user_dir.unwrap_or(slot).join(FILE_NAME),
        });
    }
    let dir = slot.join(DIR_NAME);
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| OverlayError::Write { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(write_err(&dir))?;
    let file = dir.join(FILE_NAME);
    std::fs::write(&file, table.to_string()).map_err(write_err(&file))?;
    for name in LINKED {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        if let Some(target) = user_dir.map(|d| d.join(name)).filter(|t| t.exists()) {
            std::os::unix::fs::symlink(&target, &link).map_err(write_err(&link))?;
        }
    }
    Ok((dir, level))
}

#[cfg(test)]
mod tests;
