//! [`JobDir`]: a job's directory, `<workdir>/.sluice/jobs/<id>/`, and every
//! path in it. The one place that knows the layout shared by the kernel,
//! the executors and the task runtime:
//!
//! ```text
//! items.jsonl, items.idx   one JSON item per line; u64 LE byte offsets
//! input                    `items`, or `upstream:../<id>` (element-wise)
//! count, chunk, retries    items, items per array element, `--retries N`
//! resources.json           what each element asked for (a retry asks the same)
//! upstream                 a run job's inputs: `NAME ../<id>` a line
//! item_places              the notebook's items in the task's main.rs: `FIRST LINES CELL LINE` a line
//! environment.json         the session's environment at submission (--export)
//! captures/<name>.json     notebook variables the body uses
//! results/<i>.json         item i's result          status/<i>.json  how it ended
//! logs/<element>.{out,err} the element's output     logs/slurm-*.out Slurm's own
//! usage/<element>.json     what a local element used (submit, start, end, CPU, RSS);
//!                           for a cluster element killed before it wrote a status,
//!                           the start and end sacct gave it
//! results.values, partial.values  the bound arrays, a value text per line
//! sweep.values, best.values  a sweep's rows and best row (params JSON, tab, result); sweep.spec its grid
//! result_types.rs          the notebook's definitions a sweep's result type reaches, as built
//! job-<offset>.sh          the batch script of each Slurm slice
//! ```

use std::path::{Path, PathBuf};

use sluice_runtime::Status;

use crate::domain::{ElementState, ElementUsage, Resources, items_of};

/// The directory of one job. Cheap to clone; no IO until a method reads or
/// writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDir {
    root: PathBuf,
}

impl JobDir {
    /// The sub-directories a job writes while it runs (fetched back from a
    /// cluster).
    pub const OUTPUTS: [&'static str; 3] = ["results", "status", "logs"];

    /// The sub-directory of inputs besides the files at the top
    /// (`captures/`), staged to a cluster with them.
    pub const INPUTS: &'static str = "captures";

    /// The job directory at `root` (which need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> JobDir {
        JobDir { root: root.into() }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// `../<id>`: this directory as seen from a sibling job directory (the
    /// same on the cluster, where job directories are siblings too).
    pub fn as_sibling(&self) -> String {
        match self.root.file_name() {
            Some(n) => format!("../{}", n.to_string_lossy()),
            None => self.root.display().to_string(),
        }
    }

    /// Creates the directory with `results/`, `status/`, `logs/`.
    ///
    /// # Errors
    /// The IO error of the first directory that could not be made.
    pub fn create(&self) -> std::io::Result<()> {
        for d in JobDir::OUTPUTS {
            std::fs::create_dir_all(self.root.join(d))?;
        }
        Ok(())
    }

    /// `items.jsonl`.
    pub fn items(&self) -> PathBuf {
        self.root.join("items.jsonl")
    }
    /// `items.idx`.
    pub fn items_index(&self) -> PathBuf {
        self.root.join("items.idx")
    }
    /// `input`.
    pub fn input(&self) -> PathBuf {
        self.root.join("input")
    }
    /// `results/`.
    pub fn results_dir(&self) -> PathBuf {
        self.root.join("results")
    }
    /// `results/<item>.json`.
    pub fn result(&self, item: usize) -> PathBuf {
        self.results_dir().join(format!("{item}.json"))
    }
    /// `status/`.
    pub fn status_dir(&self) -> PathBuf {
        self.root.join("status")
    }
    /// `status/<item>.json`.
    pub fn status(&self, item: usize) -> PathBuf {
        self.status_dir().join(format!("{item}.json"))
    }
    /// `logs/`.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }
    /// `logs/<element>.<ext>` (`out` or `err`).
    pub fn log(&self, element: usize, ext: &str) -> PathBuf {
        self.logs_dir().join(format!("{element}.{ext}"))
    }
    /// `usage/`: the local executor's accounting, one file per element;
    /// on a cluster, the run span of elements that wrote no status.
    pub fn usage_dir(&self) -> PathBuf {
        self.root.join("usage")
    }
    /// `usage/<element>.json`.
    pub fn usage(&self, element: usize) -> PathBuf {
        self.usage_dir().join(format!("{element}.json"))
    }

    /// Element `element`'s accounting record, if there is a readable one.
    pub fn read_usage(&self, element: usize) -> Option<ElementUsage> {
        let text = std::fs::read_to_string(self.usage(element)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes element `u.element`'s accounting record (replacing an
    /// earlier attempt's).
    ///
    /// # Errors
    /// The IO error of the write.
    pub fn write_usage(&self, u: &ElementUsage) -> std::io::Result<()> {
        std::fs::create_dir_all(self.usage_dir())?;
        let text = serde_json::to_string(u).map_err(std::io::Error::other)?;
        let tmp = self.usage_dir().join(format!("{}.tmp", u.element));
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, self.usage(u.element))
    }

    /// `captures/`.
    pub fn captures_dir(&self) -> PathBuf {
        self.root.join("captures")
    }
    /// `captures/<name>.json`.
    pub fn capture(&self, name: &str) -> PathBuf {
        self.captures_dir().join(format!("{name}.json"))
    }
    /// `environment.json`: the notebook session's environment when the job
    /// was submitted (`[[name, value], ...]`), for `--export`.
    pub fn environment_file(&self) -> PathBuf {
        self.root.join("environment.json")
    }

    /// The session's environment as written at submission; None if it was
    /// not (not needed, or a job of an older version).
    pub fn environment(&self) -> Option<Vec<(String, String)>> {
        let text = std::fs::read_to_string(self.environment_file()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// `cache.keys`: each item's result-cache key, one per line, when the
    /// job was submitted with the cache on (its results are kept when it
    /// is bound, also later by `%slurm wait`).
    pub fn cache_keys(&self) -> PathBuf {
        self.root.join("cache.keys")
    }

    /// `resources.json`.
    pub fn resources_file(&self) -> PathBuf {
        self.root.join("resources.json")
    }
    /// `results.values`: every result, one value text per line (bound as `NAME`).
    pub fn results_array(&self) -> PathBuf {
        self.root.join("results.values")
    }
    /// `partial.values`: every result or `-` (bound as `NAME_partial`).
    pub fn partial_array(&self) -> PathBuf {
        self.root.join("partial.values")
    }
    /// `sweep.spec`: the sweep's grid as JSON.
    pub fn sweep_spec(&self) -> PathBuf {
        self.root.join("sweep.spec")
    }
    /// `sweep.values`: the sweep's rows with a result, one per line: the
    /// parameters as JSON, a tab, the result's value text.
    pub fn sweep_table(&self) -> PathBuf {
        self.root.join("sweep.values")
    }
    /// `result_types.rs`: the notebook's struct and enum definitions that
    /// a sweep's result type reaches, as the task was built with them
    /// (its table reads results by them after a restart or a redefinition).
    pub fn result_types(&self) -> PathBuf {
        self.root.join("result_types.rs")
    }
    /// `best.values`: the sweep's best row, as a line of `sweep.values`.
    pub fn sweep_best(&self) -> PathBuf {
        self.root.join("best.values")
    }
    /// `job-<offset>.sh`: the batch script of the Slurm slice at `offset`.
    pub fn batch_script(&self, offset: usize) -> PathBuf {
        self.root.join(format!("job-{offset}.sh"))
    }

    /// `--retries N` of the job (0 if it has none).
    pub fn retries(&self) -> u32 {
        read_number(&self.root.join("retries"))
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    }

    /// Writes `retries`.
    ///
    /// # Errors
    /// The IO error of the write.
    pub fn write_retries(&self, retries: u32) -> std::io::Result<()> {
        std::fs::write(self.root.join("retries"), retries.to_string())
    }

    /// Writes `upstream`: a line `NAME DIR` per job a run body reads
    /// (`DIR` relative to this one, `../<id>`), read by the task runtime's
    /// `load_input`.
    ///
    /// # Errors
    /// The IO error of the write.
    pub fn write_upstream(&self, inputs: &[(String, String)]) -> std::io::Result<()> {
        let text: String = inputs
            .iter()
            .map(|(name, dir)| format!("{name} {dir}\n"))
            .collect();
        std::fs::write(self.root.join("upstream"), text)
    }

    /// Writes `item_places`: where the notebook's items are in the task's
    /// `main.rs` and the cells they came from
    /// ([`crate::taskgen::TaskSource::item_places`]), read by the task
    /// runtime to name a panic in an item `cell[N]:L:C`.
    ///
    /// # Errors
    /// The IO error of the write.
    pub fn write_item_places(&self, places: &str) -> std::io::Result<()> {
        std::fs::write(self.root.join("item_places"), places)
    }

    /// Items per element, from `chunk` (1 if missing or unreadable).
    pub fn chunk(&self) -> usize {
        read_number(&self.root.join("chunk")).unwrap_or(1).max(1)
    }

    /// Writes `count` and `chunk`.
    ///
    /// # Errors
    /// The IO error of the write.
    pub fn write_shape(&self, count: usize, chunk: usize) -> std::io::Result<()> {
        std::fs::write(self.root.join("count"), count.to_string())?;
        std::fs::write(self.root.join("chunk"), chunk.max(1).to_string())
    }

    /// What each element asked for (defaults for jobs older than the file).
    pub fn resources(&self) -> Resources {
        std::fs::read_to_string(self.resources_file())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// Writes `resources.json`.
    ///
    /// # Errors
    /// The IO error of the write.
    pub fn write_resources(&self, r: &Resources) -> std::io::Result<()> {
        let text = serde_json::to_string(r).map_err(std::io::Error::other)?;
        std::fs::write(self.resources_file(), text)
    }

    /// Item `item`'s status file, if it is there and readable.
    pub fn read_status(&self, item: usize) -> Option<Status> {
        let text = std::fs::read_to_string(self.status(item)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes item `item`'s status unless the task already wrote one.
    pub fn write_status_if_missing(&self, status: &Status) {
        let path = self.status(status.index);
        if path.exists() {
            return;
        }
        if let Ok(text) = serde_json::to_string(status) {
            let _ = std::fs::write(path, text);
        }
    }

    /// The state of array element `element` of a job of `items` items, if
    /// every one of its items has a status file; None if any has none (the
    /// element was killed or never ran). An item that failed makes the
    /// element FAILED; an executor's state (TIMEOUT, ...) wins.
    pub fn element_state(&self, items: usize, element: usize) -> Option<ElementState> {
        let mut state = ElementState::Completed;
        for i in items_of(items, self.chunk(), element) {
            let s = self.read_status(i)?;
            if let Some(name) = &s.state {
                let reason = s.error.as_deref().unwrap_or("");
                return ElementState::from_parts(name, s.exit, reason).ok();
            }
            if s.exit != 0 {
                state = ElementState::Failed(s.exit);
            }
        }
        Some(state)
    }

    /// The first start and the last end (Unix seconds) of the job's items
    /// that have a status with times, and of its elements the local
    /// executor accounted for (`usage/`: also elements it killed, whose
    /// items wrote no times); None if there are none.
    pub fn run_span(&self, items: usize) -> Option<(f64, f64)> {
        let statuses = (0..items)
            .filter_map(|i| self.read_status(i))
            .map(|s| (s.start, s.end));
        let elements = (0..items.div_ceil(self.chunk()))
            .filter_map(|e| self.read_usage(e))
            .map(|u| (u.start, u.end));
        statuses
            .chain(elements)
            .filter(|&(start, end)| start > 0.0 && end >= start)
            .fold(None, |span, (start, end)| {
                Some(match span {
                    Some((a, b)) => (f64::min(a, start), f64::max(b, end)),
                    None => (start, end),
                })
            })
    }

    /// The last `n` lines of element `element`'s stderr ("" if missing).
    pub fn stderr_tail(&self, element: usize, n: usize) -> String {
        let text = std::fs::read_to_string(self.log(element, "err")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// Reads a small number file.
fn read_number(path: &Path) -> Option<usize> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(index: usize, exit: i32, state: Option<&str>) -> Status {
        Status {
            index,
            exit,
            start: 0.0,
            end: 0.0,
            host: String::new(),
            peak_rss_kib: 0,
            error: None,
            state: state.map(str::to_string),
        }
    }

    #[test]
    fn every_item_needs_a_status() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = JobDir::new(tmp.path());
        dir.create().expect("create");
        dir.write_shape(5, 2).expect("shape");
        for (i, exit, state) in [
            (0, 0, None),
            (1, 3, None),
            (2, 0, None),
            (4, -1, Some("TIMEOUT")),
        ] {
            dir.write_status_if_missing(&status(i, exit, state));
        }
        assert_eq!(dir.element_state(5, 0), Some(ElementState::Failed(3)));
        assert_eq!(dir.element_state(5, 1), None, "item 3 has no status");
        assert_eq!(dir.element_state(5, 2), Some(ElementState::Timeout));
        assert_eq!(dir.run_span(5), None, "no item has times");
        let mut timed = status(5, 0, None);
        (timed.start, timed.end) = (100.0, 106.5);
        std::fs::write(dir.status(0), serde_json::to_string(&timed).expect("json")).expect("write");
        assert_eq!(dir.run_span(5), Some((100.0, 106.5)));
        // Old status files (written before `Status` had every field) still read.
        std::fs::write(dir.status(3), r#"{"exit":0,"index":3}"#).expect("write");
        assert_eq!(dir.element_state(5, 1), Some(ElementState::Completed));
    }

    #[test]
    fn paths_and_siblings() {
        let dir = JobDir::new("/w/.sluice/jobs/7");
        assert_eq!(dir.as_sibling(), "../7");
        assert_eq!(dir.result(3), Path::new("/w/.sluice/jobs/7/results/3.json"));
        assert_eq!(dir.log(2, "err"), Path::new("/w/.sluice/jobs/7/logs/2.err"));
        assert_eq!(JobDir::new("/tmp/none").chunk(), 1);
    }
}
