//! The code that runs inside every sluice task binary.
//!
//! A task learns which array element it is from Slurm's environment
//! (`SLURM_ARRAY_TASK_ID`, set by Slurm and by sluice's local executor alike)
//! and where its job lives from `SLUICE_JOB_DIR`. It reads its input, runs
//! the user's function under `catch_unwind`, and writes
//! `results/<i>.json` and `status/<i>.json` (exit, start, end, host, peak
//! memory). It depends on serde, serde_json and ron only, so it compiles
//! fast. Generated task crates call [`run_map`] or [`run_single`]; values
//! cross as [`value`] text.

use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub mod value {
    //! Values as they cross between the notebook and tasks: items, captured
    //! variables and results, one value per text.
    //!
    //! A value is JSON when JSON holds it exactly, else `ron:` and the value
    //! in RON. JSON cannot hold a NaN or infinite float (serde_json writes
    //! `null`), a map key that is not a string or an integer (a tuple), or
    //! tell `Some(None)` from `None`; RON holds all of these, and i128 and
    //! u128. The rule, the same in the session and in tasks: JSON when it
    //! serializes and its text has no `null`, else RON. Floats round-trip
    //! bit for bit both ways (serde_json's `float_roundtrip`, which task
    //! crates and the session turn on; RON writes the shortest text that
    //! reads back to the same bits, `-0.0` kept).

    use serde::Serialize;
    use serde::de::DeserializeOwned;

    /// What a RON text starts with.
    pub const RON_PREFIX: &str = "ron:";

    /// The value's text: JSON, or `ron:` then RON (see the module doc).
    ///
    /// # Errors
    /// Neither format can write it (a serializer's own error, such as a
    /// `Serialize` impl that fails), with both formats' reasons.
    pub fn encode<T: Serialize + ?Sized>(v: &T) -> Result<String, String> {
        let json = serde_json::to_string(v);
        if let Ok(text) = &json
            && !text.contains("null")
        {
            return Ok(text.clone());
        }
        match ron::to_string(v) {
            Ok(text) => Ok(format!("{RON_PREFIX}{text}")),
            Err(e) => Err(match json {
                Ok(_) => format!("cannot write the value as RON: {e}"),
                Err(j) => format!("cannot write the value as JSON ({j}) or RON ({e})"),
            }),
        }
    }

    /// Reads a text [`encode`] wrote (surrounding whitespace ignored).
    ///
    /// # Errors
    /// The text is not the type's JSON or RON, with the parser's reason.
    pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, String> {
        let text = text.trim();
        match text.strip_prefix(RON_PREFIX) {
            Some(ron_text) => ron::from_str(ron_text).map_err(|e| e.to_string()),
            None => serde_json::from_str(text).map_err(|e| e.to_string()),
        }
    }
}

/// `status/<item>.json`: how one item ended. Written by the task for every
/// item it ran, and by an executor for items of an element it killed; read
/// by sluice to decide the element's state. One definition for both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The item's index in the job.
    pub index: usize,
    /// 0 if the item produced a result, else non-zero (-1: killed).
    pub exit: i32,
    /// Unix time (seconds) the item started; 0 if unknown.
    #[serde(default)]
    pub start: f64,
    /// Unix time (seconds) the item ended; 0 if unknown.
    #[serde(default)]
    pub end: f64,
    /// The host it ran on.
    #[serde(default)]
    pub host: String,
    /// Peak resident memory of the element's process so far, KiB.
    #[serde(default)]
    pub peak_rss_kib: u64,
    /// Why it failed (a panic message, a kill reason).
    #[serde(default)]
    pub error: Option<String>,
    /// A Slurm state name an executor decided (TIMEOUT, OUT_OF_MEMORY,
    /// CANCELLED); None when the task itself wrote the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Where an element's input comes from (the `input` file in the job dir).
enum Input {
    /// Line `i` of `items.jsonl`, found through `items.idx` (u64 LE offsets).
    Items,
    /// `results/<i>.json` of an upstream job (element-wise pipeline).
    Upstream(PathBuf),
}

fn job_dir() -> PathBuf {
    std::env::var_os("SLUICE_JOB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn array_index() -> usize {
    std::env::var("SLURM_ARRAY_TASK_ID")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Items per array element (task packing); element `e` runs items `e*chunk ..`.
fn chunk_size(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("chunk"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&c| c > 0)
        .unwrap_or(1)
}

fn item_count(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("count"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Another job's directory: relative paths (`../7`) are read from this
/// job's directory, so they hold wherever the job directories live.
fn resolve(dir: &Path, other: &str) -> PathBuf {
    dir.join(other)
}

fn input_kind(dir: &Path) -> Input {
    match std::fs::read_to_string(dir.join("input")) {
        Ok(s) if s.starts_with("upstream:") => {
            Input::Upstream(resolve(dir, s["upstream:".len()..].trim()))
        }
        _ => Input::Items,
    }
}

fn read_item_text(dir: &Path, kind: &Input, i: usize) -> Result<String, String> {
    match kind {
        Input::Upstream(up) => {
            std::fs::read_to_string(up.join("results").join(format!("{i}.json")))
                .map_err(|e| format!("cannot read upstream result {i}: {e}"))
        }
        Input::Items => {
            let mut idx = std::fs::File::open(dir.join("items.idx"))
                .map_err(|e| format!("items.idx: {e}"))?;
            idx.seek(SeekFrom::Start(8 * i as u64))
                .map_err(|e| e.to_string())?;
            let mut off = [0u8; 8];
            idx.read_exact(&mut off)
                .map_err(|e| format!("item {i} not in items.idx: {e}"))?;
            let mut f = std::fs::File::open(dir.join("items.jsonl"))
                .map_err(|e| format!("items.jsonl: {e}"))?;
            f.seek(SeekFrom::Start(u64::from_le_bytes(off)))
                .map_err(|e| e.to_string())?;
            let mut line = String::new();
            std::io::BufReader::new(f)
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            Ok(line)
        }
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Peak resident memory of this process in KiB (VmHWM).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

/// Where the magic cell's body is in the task's `src/main.rs`: (first
/// line, number of lines). Set by [`from_cell`].
static CELL_BODY: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();

/// The notebook's items in `src/main.rs`: `(first line, lines, cell's
/// execution count, first line in that cell)`, from the job directory's
/// `item_places` (written by the kernel with each job: the counts are not
/// in the binary, which is kept by content).
static ITEM_PLACES: std::sync::OnceLock<Vec<(u32, u32, u32, u32)>> = std::sync::OnceLock::new();

/// Reads `item_places` (`FIRST LINES CELL LINE` a line); lines that do
/// not read as four numbers are skipped, a missing file is no items.
fn read_item_places(dir: &Path) -> Vec<(u32, u32, u32, u32)> {
    let text = std::fs::read_to_string(dir.join("item_places")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let n: Vec<u32> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            match n[..] {
                [first, lines, cell, at] => Some((first, lines, cell, at)),
                _ => None,
            }
        })
        .collect()
}

thread_local! {
    /// Where this thread's last panic happened, as the cell names it.
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Called first in every task's `main`: panics report their location in
/// the magic cell (`cell:3:9`: line 3 of the cell, whose line 1 is the
/// magic line), or in the earlier cell that wrote the item they happened
/// in (`cell[2]:4:13`, by its execution count), instead of in the
/// generated `src/main.rs`.
pub fn from_cell(body: (u32, u32)) {
    let _ = CELL_BODY.set(body);
    let _ = ITEM_PLACES.set(read_item_places(&job_dir()));
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| cell_place(l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "an unknown place".into());
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("<unnamed>");
        eprintln!(
            "thread '{name}' panicked at {place}:\n{}",
            panic_text(info.payload())
        );
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(place));
    }));
}

/// `file:line:col` of a panic, mapped into the cell when it is in the body,
/// into an earlier cell when it is in one of the notebook's items.
fn cell_place(file: &str, line: u32, col: u32) -> String {
    let items = ITEM_PLACES.get().map(Vec::as_slice).unwrap_or_default();
    place_in_cells(file, (line, col), CELL_BODY.get().copied(), items)
}

/// [`cell_place`] with the body's and the items' places given.
fn place_in_cells(
    file: &str,
    (line, col): (u32, u32),
    body: Option<(u32, u32)>,
    items: &[(u32, u32, u32, u32)],
) -> String {
    let within = |first: u32, lines: u32| line >= first && line - first < lines;
    if file == "src/main.rs" {
        if let Some((first, lines)) = body
            && within(first, lines)
        {
            return format!("cell:{}:{col}", line - first + 2);
        }
        if let Some(&(first, _, cell, at)) = items.iter().find(|p| within(p.0, p.1)) {
            return format!("cell[{cell}]:{}:{col}", (line - first).saturating_add(at));
        }
    }
    format!("{file}:{line}:{col}")
}

/// "panicked at cell:3:9: message" for a caught panic of this thread.
fn panicked(p: &(dyn std::any::Any + Send)) -> String {
    match LAST_PANIC.with(|l| l.borrow_mut().take()) {
        Some(place) => format!("panicked at {place}: {}", panic_text(p)),
        None => format!("panicked: {}", panic_text(p)),
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".into()
    }
}

/// Runs one item; Ok(result text) or Err(message). `checked`: the result
/// must read back as its own type (map and run jobs; a sweep's table shows
/// what each configuration returned, and binds what reads back).
fn run_item<T, R>(f: &(impl Fn(T) -> R + Sync), text: &str, checked: bool) -> Result<String, String>
where
    T: DeserializeOwned,
    R: Serialize + DeserializeOwned,
{
    let item: T = value::decode(text).map_err(|e| format!("cannot read the item: {e}"))?;
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)))
        .map_err(|p| panicked(&*p))?;
    if checked {
        crossing(&out)
    } else {
        value::encode(&out).map_err(|e| format!("cannot write the result: {e}"))
    }
}

/// The result's text, checked to read back as its own type: a result that
/// would not survive the trip to the notebook (a `Serialize` impl whose
/// output its own `Deserialize` rejects) fails its item here, with the
/// reason, instead of failing the bind later.
fn crossing<R: Serialize + DeserializeOwned>(out: &R) -> Result<String, String> {
    let text = value::encode(out).map_err(|e| format!("cannot write the result: {e}"))?;
    match value::decode::<R>(&text) {
        Ok(_) => Ok(text),
        Err(e) => Err(format!(
            "the result cannot be read back as its own type ({e}): its Serialize and Deserialize disagree"
        )),
    }
}

fn write_status(dir: &Path, i: usize, ok: bool, start: f64, error: Option<&str>) {
    let status = Status {
        index: i,
        exit: if ok { 0 } else { 1 },
        start,
        end: now(),
        host: hostname(),
        peak_rss_kib: peak_rss_kib(),
        error: error.map(str::to_string),
        state: None,
    };
    if let Ok(text) = serde_json::to_string(&status) {
        let _ = write_atomic(&dir.join("status").join(format!("{i}.json")), &text);
    }
}

/// Entry point of a map task: runs this element's items through `f`.
/// Exits non-zero if any item failed (Slurm then marks the element FAILED).
pub fn run_map<T, R, F>(f: F)
where
    T: DeserializeOwned,
    R: Serialize + DeserializeOwned,
    F: Fn(T) -> R + Sync,
{
    if describe::<T, R>() {
        return;
    }
    let dir = job_dir();
    let element = array_index();
    let chunk = chunk_size(&dir);
    let count = item_count(&dir).max(1);
    let kind = input_kind(&dir);
    let first = element * chunk;
    let last = (first + chunk).min(count);
    let threads = std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let checked = !dir.join("sweep.spec").exists();
    let failed = std::sync::atomic::AtomicBool::new(false);
    let next = std::sync::atomic::AtomicUsize::new(first);
    let worker = || {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if i >= last {
                break;
            }
            let start = now();
            let result =
                read_item_text(&dir, &kind, i).and_then(|text| run_item(&f, &text, checked));
            match result {
                Ok(json) => {
                    if let Err(e) =
                        write_atomic(&dir.join("results").join(format!("{i}.json")), &json)
                    {
                        eprintln!("sluice: item {i}: cannot write result: {e}");
                        failed.store(true, std::sync::atomic::Ordering::SeqCst);
                        write_status(&dir, i, false, start, Some(&e.to_string()));
                    } else {
                        write_status(&dir, i, true, start, None);
                    }
                }
                Err(e) => {
                    eprintln!("sluice: item {i}: {e}");
                    failed.store(true, std::sync::atomic::Ordering::SeqCst);
                    write_status(&dir, i, false, start, Some(&e));
                }
            }
        }
    };
    let threads = threads.min(last.saturating_sub(first)).max(1);
    if threads == 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(worker);
            }
        });
    }
    if failed.load(std::sync::atomic::Ordering::SeqCst) {
        std::process::exit(1);
    }
}

/// Like [`run_map`], for a closure that uses notebook variables: `make`
/// loads them and returns the closure; it is not called for `--describe`.
pub fn run_map_with<T, R, F, M>(make: M)
where
    T: DeserializeOwned,
    R: Serialize + DeserializeOwned,
    F: Fn(T) -> R + Sync,
    M: FnOnce() -> F,
{
    if describe::<T, R>() {
        return;
    }
    run_map(make());
}

/// A notebook variable the cell uses, sent as `captures/<name>.json`.
pub fn load_capture<T: DeserializeOwned>(name: &str) -> T {
    let path = job_dir().join("captures").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("sluice: missing notebook variable {}: {e}", path.display()));
    value::decode(&text).unwrap_or_else(|e| {
        panic!(
            "sluice: unreadable notebook variable {}: {e}",
            path.display()
        )
    })
}

/// Entry point of a single-job task (`%%slurm run`).
pub fn run_single<R, F>(f: F)
where
    R: Serialize + DeserializeOwned,
    F: Fn() -> R + Sync,
{
    if describe::<(), R>() {
        return;
    }
    let dir = job_dir();
    let start = now();
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&f))
        .map_err(|p| panicked(&*p))
        .and_then(|r| crossing(&r));
    match out {
        Ok(json) => match write_atomic(&dir.join("results").join("0.json"), &json) {
            Ok(()) => write_status(&dir, 0, true, start, None),
            Err(e) => {
                write_status(&dir, 0, false, start, Some(&e.to_string()));
                std::process::exit(1);
            }
        },
        Err(e) => {
            eprintln!("sluice: {e}");
            write_status(&dir, 0, false, start, Some(&e));
            std::process::exit(1);
        }
    }
}

/// Loads all results of the upstream job a run body names `name`, index
/// order: its directory is the line `NAME DIR` of the job directory's
/// `upstream` file (written at submit), so the task binary names no job
/// directory and a cached one serves every run of the cell.
pub fn load_input<R: DeserializeOwned>(name: &str) -> Vec<R> {
    let file = job_dir().join("upstream");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("sluice: cannot read {}: {e}", file.display()));
    let dir = text
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("sluice: {} names no job `{name}`", file.display()));
    load_results(dir)
}

/// Loads all results of an upstream job (fan-in), index order.
pub fn load_results<R: DeserializeOwned>(upstream_dir: &str) -> Vec<R> {
    let dir = &resolve(&job_dir(), upstream_dir);
    let count = item_count(dir);
    (0..count)
        .map(|i| {
            let path = dir.join("results").join(format!("{i}.json"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!("sluice: missing upstream result {}: {e}", path.display())
            });
            value::decode(&text).unwrap_or_else(|e| {
                panic!("sluice: unreadable upstream result {}: {e}", path.display())
            })
        })
        .collect()
}

/// `task --describe` prints the input and output types and exits.
fn describe<T, R>() -> bool {
    if std::env::args().nth(1).as_deref() == Some("--describe") {
        println!(
            "{}",
            serde_json::json!({"input": std::any::type_name::<T>(), "output": std::any::type_name::<R>()})
        );
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_are_placed_in_the_body_or_the_item_cells() {
        let dir = std::env::temp_dir().join(format!("sluice-places-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("item_places"), "3 4 1 1\n7 3 2 5\nnot a line\n").expect("write");
        let items = read_item_places(&dir);
        assert_eq!(items, [(3, 4, 1, 1), (7, 3, 2, 5)]);
        assert!(read_item_places(&dir.join("missing")).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
        let body = Some((12, 2));
        let at = |file, line, col| place_in_cells(file, (line, col), body, &items);
        assert_eq!(at("src/main.rs", 13, 9), "cell:3:9");
        assert_eq!(at("src/main.rs", 3, 1), "cell[1]:1:1");
        assert_eq!(at("src/main.rs", 6, 5), "cell[1]:4:5");
        assert_eq!(at("src/main.rs", 8, 13), "cell[2]:6:13");
        assert_eq!(at("src/main.rs", 10, 1), "src/main.rs:10:1");
        assert_eq!(at("src/main.rs", 2, 1), "src/main.rs:2:1");
        assert_eq!(at("src/lib.rs", 3, 1), "src/lib.rs:3:1");
    }
}
