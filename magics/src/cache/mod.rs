//! The opt-in result cache (`--cache` on a map, run or sweep cell,
//! `%slurm config --cache on`, `SLUICE_CACHE=1`): a finished item's
//! result is kept under its key (`key.rs`), and a later job whose item has
//! the same key gets that result without running it. Only elements with an
//! item the cache does not hold are submitted; failed items are never kept,
//! so they run again.
//!
//! Entries live beside the ledger, `.sluice/cache/<key>.json` (the result's
//! JSON as the task wrote it), on the kernel's machine: over SSH the
//! results come back as usual and are kept here, so both backends share
//! one cache. `%slurm cache clear` empties it. A restored item gets the
//! results file and a status file (`host: "cache"`, exit 0) as if it had
//! run, so binding, tables and `%slurm retry` treat it like any other.

pub mod key;

use std::path::{Path, PathBuf};

use crate::domain::{Dependency, items_of};
use crate::jobdir::JobDir;
use key::JobInputs;
use sluice_runtime::Status;

/// The host a restored item's status names.
pub const CACHE_HOST: &str = "cache";

/// The cache directory of one workdir.
#[derive(Debug, Clone)]
pub struct ResultCache {
    dir: PathBuf,
}

/// What the cache did for a job about to be submitted.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    /// Each item's key (to keep its result once the job ends).
    pub keys: Vec<String>,
    /// Items whose results came from the cache.
    pub hits: usize,
    /// Elements that must run (an element runs if any of its items missed).
    pub run: Vec<usize>,
}

impl ResultCache {
    /// The cache of the workdir whose `.sluice/` is `sluice_dir`.
    pub fn new(sluice_dir: &Path) -> ResultCache {
        ResultCache {
            dir: sluice_dir.join("cache"),
        }
    }

    fn entry(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The kept result of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.entry(key)).ok()
    }

    /// Keeps `result` under `key` (written whole, then renamed into place,
    /// so a reader never sees half an entry).
    ///
    /// # Errors
    /// The directory or the file cannot be written.
    pub fn put(&self, key: &str, result: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(".{key}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, result)?;
        std::fs::rename(&tmp, self.entry(key))
    }

    /// Deletes every entry; returns how many there were.
    ///
    /// # Errors
    /// The directory cannot be read or an entry cannot be deleted.
    pub fn clear(&self) -> std::io::Result<usize> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut n = 0;
        for e in entries {
            let path = e?.path();
            if path.extension().is_some_and(|x| x == "json") {
                n += 1;
            }
            std::fs::remove_file(&path)?;
        }
        Ok(n)
    }

    /// Computes every item's key and restores the items the cache holds
    /// into `dir` (results and statuses) — for whole elements only: an
    /// element with one missing item runs all of its items.
    ///
    /// # Errors
    /// The job directory cannot be read or written.
    pub fn restore(
        &self,
        dir: &JobDir,
        inputs: &JobInputs,
        items: usize,
        chunk: usize,
    ) -> std::io::Result<Restored> {
        let lines = item_lines(dir, items)?;
        let keys: Vec<String> = lines.iter().map(|l| inputs.key(l)).collect();
        let chunk = chunk.max(1);
        let elements = items.div_ceil(chunk);
        let mut out = Restored {
            keys,
            ..Restored::default()
        };
        for e in 0..elements {
            let range = items_of(items, chunk, e);
            let found: Option<Vec<String>> =
                range.clone().map(|i| self.get(&out.keys[i])).collect();
            let Some(found) = found else {
                out.run.push(e);
                continue;
            };
            for (i, result) in range.zip(found) {
                std::fs::write(dir.result(i), result)?;
                let status = Status {
                    index: i,
                    exit: 0,
                    start: 0.0,
                    end: 0.0,
                    host: CACHE_HOST.into(),
                    peak_rss_kib: 0,
                    error: None,
                    state: None,
                };
                let text = serde_json::to_string(&status).map_err(std::io::Error::other)?;
                std::fs::write(dir.status(i), text)?;
                out.hits += 1;
            }
        }
        Ok(out)
    }

    /// Writes the job's keys (`cache.keys`), so that its results are kept
    /// whenever it is bound: by its cell, or after an interrupt or
    /// `--no-wait` by `%slurm wait`, `load` or `retry` ([`Self::record_saved`]).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save_keys(dir: &JobDir, keys: &[String]) -> std::io::Result<()> {
        let mut text = keys.join("\n");
        text.push('\n');
        std::fs::write(dir.cache_keys(), text)
    }

    /// [`Self::record`] with the keys [`Self::save_keys`] wrote; 0 for a
    /// job submitted without the cache.
    pub fn record_saved(&self, dir: &JobDir) -> usize {
        match std::fs::read_to_string(dir.cache_keys()) {
            Ok(text) => {
                let keys: Vec<String> = text.lines().map(str::to_owned).collect();
                self.record(dir, &keys)
            }
            Err(_) => 0,
        }
    }

    /// Keeps the result of every item of `dir` that ended well (exit 0, no
    /// state an executor imposed, a results file); returns how many.
    pub fn record(&self, dir: &JobDir, keys: &[String]) -> usize {
        let mut kept = 0;
        for (i, key) in keys.iter().enumerate() {
            let ok = dir
                .read_status(i)
                .is_some_and(|s| s.exit == 0 && s.state.is_none());
            if !ok || self.entry(key).exists() {
                continue;
            }
            let Ok(result) = std::fs::read_to_string(dir.result(i)) else {
                continue;
            };
            match self.put(key, &result) {
                Ok(()) => kept += 1,
                Err(e) => tracing::warn!("cannot keep a result in the cache: {e}"),
            }
        }
        kept
    }
}

/// The job's inputs besides its items (see `key.rs`); None while a job it
/// depends on has items without a final status (`--after` a job still
/// running): its results are not known yet, so neither is the key.
///
/// # Errors
/// A captured value or an upstream result cannot be read.
pub fn job_inputs(
    dir: &JobDir,
    binary: &Path,
    deps: &[Dependency],
    jobs_root: &Path,
) -> std::io::Result<Option<JobInputs>> {
    let mut captures = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir.captures_dir()) {
        for e in entries {
            let path = e?.path();
            let Some(name) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
                continue;
            };
            captures.push((name, std::fs::read_to_string(&path)?));
        }
    }
    captures.sort();
    let mut ids: Vec<_> = deps.iter().map(|d| d.job).collect();
    ids.sort();
    ids.dedup();
    let mut upstream = Vec::new();
    for id in ids {
        let up = JobDir::new(jobs_root.join(id.to_string()));
        let count = std::fs::read_to_string(up.path().join("count"))
            .ok()
            .and_then(|t| t.trim().parse::<usize>().ok());
        let finished = count.is_some_and(|n| (0..n).all(|i| up.read_status(i).is_some()));
        if !finished {
            return Ok(None);
        }
        let mut results: Vec<(usize, String)> = Vec::new();
        if let Ok(entries) = std::fs::read_dir(up.results_dir()) {
            for e in entries {
                let path = e?.path();
                let index = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse::<usize>().ok());
                if let Some(i) = index {
                    results.push((i, std::fs::read_to_string(&path)?));
                }
            }
        }
        results.sort();
        upstream.push(results.into_iter().map(|(_, r)| r).collect());
    }
    Ok(Some(JobInputs {
        task: key::task_hash(binary),
        captures,
        upstream,
        environment: std::fs::read_to_string(dir.environment_file())
            .ok()
            .map(|text| key::environment_part(&text)),
    }))
}

/// Line `i` of `items.jsonl` for every item (empty strings when the job
/// has no items file: a run job, or items read from an upstream job).
fn item_lines(dir: &JobDir, items: usize) -> std::io::Result<Vec<String>> {
    let text = match std::fs::read_to_string(dir.items()) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.resize(items, String::new());
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(tmp: &Path, items: &[&str]) -> JobDir {
        let dir = JobDir::new(tmp.join("jobs").join("1"));
        dir.create().expect("create");
        std::fs::write(dir.items(), items.join("\n") + "\n").expect("items");
        dir
    }

    #[test]
    fn only_missing_elements_run_and_failures_are_not_kept() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cache = ResultCache::new(&tmp.path().join(".sluice"));
        let inputs = JobInputs {
            task: "t".into(),
            ..JobInputs::default()
        };
        let dir = job(tmp.path(), &["1", "2", "3"]);
        let first = cache.restore(&dir, &inputs, 3, 1).expect("restore");
        assert_eq!((first.hits, first.run.clone()), (0, vec![0, 1, 2]));
        // Items 0 and 1 succeed, 2 fails.
        for (i, exit) in [(0, 0), (1, 0), (2, 1)] {
            std::fs::write(dir.result(i), format!("{}", i * 10)).expect("result");
            let s = Status {
                index: i,
                exit,
                start: 1.0,
                end: 2.0,
                host: "h".into(),
                peak_rss_kib: 0,
                error: None,
                state: None,
            };
            std::fs::write(dir.status(i), serde_json::to_string(&s).expect("json"))
                .expect("status");
        }
        assert_eq!(cache.record(&dir, &first.keys), 2);
        let again = job(&tmp.path().join("again"), &["1", "2", "3"]);
        let second = cache.restore(&again, &inputs, 3, 1).expect("restore");
        assert_eq!((second.hits, second.run.clone()), (2, vec![2]));
        assert_eq!(
            std::fs::read_to_string(again.result(1)).expect("restored"),
            "10"
        );
        assert_eq!(
            again.read_status(0).map(|s| s.host),
            Some(CACHE_HOST.into())
        );
        // Chunked: an element with one miss runs whole.
        let chunked = job(&tmp.path().join("chunked"), &["1", "2", "3"]);
        let third = cache.restore(&chunked, &inputs, 3, 2).expect("restore");
        assert_eq!((third.hits, third.run), (2, vec![1]));
        assert_eq!(cache.clear().expect("clear"), 2);
        let cleared = job(&tmp.path().join("cleared"), &["1", "2", "3"]);
        assert_eq!(
            cache
                .restore(&cleared, &inputs, 3, 1)
                .expect("restore")
                .hits,
            0
        );
    }
}
