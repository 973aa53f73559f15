//! `%%slurm map ITEMS [-> NAME] [OPTIONS]`: one array element per item.

use std::io::{BufRead, Write as _};
use std::path::Path;

use super::error::io;
use super::jobs::describe_output_type;
use super::{MagicError, Magics};
use crate::body::parse_map_body;
use crate::grammar::{DependencyKind, MapMagic};
use crate::ledger::JobRecord;
use crate::render;
use crate::session::{Display, Session};
use crate::task_build::{self, BuildError};
use crate::taskgen::{self, TaskKind};

/// Refuse arrays larger than this many items (Slurm's MaxArraySize is far below).
const MAX_ITEMS: usize = 10_000_000;

/// Where the items come from.
enum Items {
    Range(i128, i128),
    Variable(String),
    Upstream(JobRecord),
}

impl Magics {
    pub(super) fn map(
        &mut self,
        m: MapMagic,
        body: &str,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let backend = self.check_backend(m.options.backend.as_deref())?;
        let mb = parse_map_body(body)?;
        let name = m
            .name
            .clone()
            .or_else(|| mb.fn_name.clone())
            .unwrap_or_else(|| "results".to_string());
        let items = self.resolve_items(&m.items, session)?;

        // Build first: a compile error should not leave a job behind.
        let mut captures = Vec::new();
        let kind = match &mb.fn_name {
            Some(f) if !mb.is_closure => TaskKind::MapFn { fn_name: f.clone() },
            _ => {
                captures = super::captures::captures_of(
                    body,
                    &super::captures::closure_params(body),
                    session,
                )?;
                TaskKind::MapClosure {
                    captures: captures.clone(),
                }
            }
        };
        let built = self
            .build_task(&kind, body, display)
            .map_err(|e| super::captures::explain_build_error(e, &captures))?;
        let result_type = match mb.result_type.clone() {
            Some(t) => t,
            None => describe_output_type(&built).ok_or_else(|| {
                MagicError::Build(
                    "cannot learn the closure's result type; write it: `|x: T| -> R { ... }`"
                        .into(),
                )
            })?,
        };

        let (id, dir) = self.new_job_dir()?;
        super::captures::write_captures(&dir, &captures, session)?;
        let (count, chunk, mut deps) = match &items {
            Items::Range(a, b) => (write_range(&dir, *a, *b)?, 1, Vec::new()),
            Items::Variable(var) => (write_variable(&dir, var, session)?, 1, Vec::new()),
            Items::Upstream(up) => {
                // Relative: the same on the cluster, where job directories
                // are siblings too.
                let text = format!("upstream:{}", sibling(&up.dir));
                std::fs::write(dir.join("input"), text)
                    .map_err(io("writing the job's input file"))?;
                let chunk = super::jobs::read_number(&up.dir.join("chunk")).unwrap_or(1);
                let dep = self.dependency_on(up, DependencyKind::Aftercorr)?;
                (up.items, chunk, vec![dep])
            }
        };
        if count == 0 {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(MagicError::Items(format!(
                "`{}` is empty: there is nothing to run",
                m.items
            )));
        }
        if count > MAX_ITEMS {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(MagicError::Items(format!(
                "{count} items is more than sluice submits as one array ({MAX_ITEMS}); group them into chunks first"
            )));
        }
        let chunk = match &items {
            // Element-wise dependencies need the upstream's packing.
            Items::Upstream(_) => chunk,
            _ => match m.options.chunk.as_deref() {
                Some("auto") => self.auto_chunk(&backend, count)?,
                other => chunk_of(other, count)?,
            },
        };
        std::fs::write(dir.join("count"), count.to_string())
            .map_err(io("writing the job's count"))?;
        std::fs::write(dir.join("chunk"), chunk.to_string())
            .map_err(io("writing the job's chunk"))?;
        deps.extend(self.dependencies(&m.options)?);

        let elements = count.div_ceil(chunk);
        let (record, spec) = super::jobs::Planned {
            id,
            name: &name,
            kind: "map",
            backend,
            items: count,
            elements,
            result_type,
            dir,
            binary: built,
            deps,
            options: &m.options,
        }
        .into_parts();
        let shadowed = shadow_note(&name, session, &self.jobs);
        self.submit(record.clone(), spec)?;
        if m.options.no_wait {
            display.show(
                &render::pre(&format!(
                    "queued `{name}` (job {id}, {count} items, {elements} elements); later cells may depend on it; `%slurm wait {name}` binds it"
                )),
                None,
            );
            return Ok(());
        }
        let states = self.wait(&record, display)?;
        let msg = self.bind(&record, &states, session)?;
        display.show(&render::pre(&format!("{msg}{shadowed}")), None);
        Ok(())
    }

    /// ITEMS: a job of this session, a range literal, a session variable,
    /// or (last) a job recorded in the ledger by an earlier session.
    fn resolve_items(
        &mut self,
        items: &str,
        session: &mut dyn Session,
    ) -> Result<Items, MagicError> {
        let ident = crate::grammar::is_identifier(items);
        let upstream = |job: JobRecord| {
            if job.kind == "map" {
                Ok(Items::Upstream(job))
            } else {
                Err(MagicError::Items(format!(
                    "`{}` is a `run` job; only a map job's elements can feed a map element-wise",
                    job.name
                )))
            }
        };
        if ident && let Some(job) = self.jobs.get(items) {
            return upstream(job.clone());
        }
        if let Some(r) = parse_range(items) {
            return r.map(|(a, b)| Items::Range(a, b));
        }
        if ident && session.variables().iter().any(|(n, _)| n == items) {
            return Ok(Items::Variable(items.to_string()));
        }
        if ident && let Ok(job) = self.find_job(items) {
            return upstream(job);
        }
        Err(MagicError::Items(format!(
            "ITEMS `{items}` is not a notebook variable, a range like 0..100, or the name of an earlier map job"
        )))
    }

    /// Builds (or reuses) the task binary, showing a note while cargo runs.
    pub(super) fn build_task(
        &mut self,
        kind: &TaskKind,
        body: &str,
        display: &mut dyn Display,
    ) -> Result<std::path::PathBuf, MagicError> {
        let src = taskgen::generate(
            kind,
            body,
            &self.notebook.items_source(),
            self.notebook.deps(),
        );
        let root = self.build_root();
        if !root.join("bin").join(&src.hash).exists() {
            display.show(&render::pre("compiling the task (release build)..."), None);
        }
        match task_build::build(&src, &root) {
            Ok(b) => Ok(b.binary),
            Err(BuildError::Compile(d)) => Err(MagicError::Compile(d)),
            Err(e) => Err(MagicError::Build(e.to_string())),
        }
    }
}

/// Items per element from `--chunk K|auto` (1 without it).
pub(super) fn chunk_of(option: Option<&str>, count: usize) -> Result<usize, MagicError> {
    match option {
        None => Ok(1),
        Some("auto") => Ok(local_auto_chunk(count)),
        Some(k) => k.parse::<usize>().ok().filter(|&k| k > 0).ok_or_else(|| {
            MagicError::Items(format!("--chunk {k}: use a positive number or auto"))
        }),
    }
}

/// Items per element for `--chunk auto` on this machine: enough elements to
/// keep every core busy a few times over, few enough that process start-up
/// is amortised.
pub(super) fn local_auto_chunk(count: usize) -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    count.div_ceil(cores * 8).max(1)
}

/// `../<id>`: another job's directory as seen from this job's directory.
pub(super) fn sibling(dir: &Path) -> String {
    match dir.file_name() {
        Some(n) => format!("../{}", n.to_string_lossy()),
        None => dir.display().to_string(),
    }
}

/// `a..b` / `a..=b` with integer literals.
fn parse_range(s: &str) -> Option<Result<(i128, i128), MagicError>> {
    let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
        (a, b, true)
    } else {
        let (a, b) = s.split_once("..")?;
        (a, b, false)
    };
    let parse = |x: &str| x.trim().replace('_', "").parse::<i128>();
    Some(match (parse(a), parse(b)) {
        (Ok(a), Ok(b)) => {
            let end = if inclusive { b + 1 } else { b };
            Ok((a, end.max(a)))
        }
        _ => Err(MagicError::Items(format!(
            "`{s}` is not a range of integers like 0..100"
        ))),
    })
}

fn write_range(dir: &Path, a: i128, b: i128) -> Result<usize, MagicError> {
    let count =
        usize::try_from(b - a).map_err(|_| MagicError::Items("the range is too large".into()))?;
    if count > MAX_ITEMS {
        return Ok(count);
    }
    let f = std::fs::File::create(dir.join("items.jsonl")).map_err(io("writing items"))?;
    let mut w = std::io::BufWriter::new(f);
    for i in a..b {
        writeln!(w, "{i}").map_err(io("writing items"))?;
    }
    w.flush().map_err(io("writing items"))?;
    write_index(dir)
}

/// Serializes a session variable's items into `items.jsonl`, inside the session.
fn write_variable(dir: &Path, var: &str, session: &mut dyn Session) -> Result<usize, MagicError> {
    let path = dir.join("items.jsonl");
    let code = format!(
        "{{ use std::io::Write as _; \
let mut __sluice_f = std::io::BufWriter::new(std::fs::File::create(r#\"{p}\"#).expect(\"sluice: cannot create the items file\")); \
let mut __sluice_n: usize = 0; \
for __sluice_it in (&{var}).into_iter() {{ serde_json::to_writer(&mut __sluice_f, &__sluice_it).expect(\"sluice: cannot serialize an item\"); __sluice_f.write_all(b\"\\n\").expect(\"sluice: cannot write an item\"); __sluice_n += 1; }} \
__sluice_f.flush().expect(\"sluice: cannot write the items\"); __sluice_n }}",
        p = path.display()
    );
    let ty = session
        .variables()
        .into_iter()
        .find(|(n, _)| n == var)
        .map(|(_, t)| t)
        .unwrap_or_default();
    session.eval(&code).map_err(|e| {
        if e.contains("Serialize") {
            MagicError::Items(format!(
                "`{var}` ({ty}) cannot be sent to tasks: its items are not serde::Serialize. Add `:dep serde = {{ version = \"1\", features = [\"derive\"] }}` in the first cell and `#[derive(serde::Serialize, serde::Deserialize)]` on the type"
            ))
        } else if e.contains("IntoIterator") || e.contains("is not an iterator") {
            MagicError::Items(format!("`{var}` ({ty}) is not a collection of items (a Vec, slice or array)"))
        } else {
            MagicError::Items(format!("cannot write the items of `{var}`: {}", e.lines().next().unwrap_or("")))
        }
    })?;
    write_index(dir)
}

/// Writes `items.idx` (u64 LE byte offset of each line) and returns the count.
pub(super) fn write_index(dir: &Path) -> Result<usize, MagicError> {
    let f = std::fs::File::open(dir.join("items.jsonl")).map_err(io("reading items"))?;
    let mut r = std::io::BufReader::new(f);
    let mut idx = std::io::BufWriter::new(
        std::fs::File::create(dir.join("items.idx")).map_err(io("writing items.idx"))?,
    );
    let mut offset: u64 = 0;
    let mut count = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(io("reading items"))?;
        if n == 0 {
            break;
        }
        idx.write_all(&offset.to_le_bytes())
            .map_err(io("writing items.idx"))?;
        offset += n as u64;
        count += 1;
    }
    idx.flush().map_err(io("writing items.idx"))?;
    Ok(count)
}

/// What happens to an existing variable of the same name (said, not hidden).
fn shadow_note(
    name: &str,
    session: &dyn Session,
    jobs: &std::collections::HashMap<String, JobRecord>,
) -> String {
    if jobs.contains_key(name) {
        return String::new();
    }
    match session.variables().into_iter().find(|(n, _)| n == name) {
        Some((_, ty)) => {
            format!("; note: this replaces the earlier variable `{name}: {ty}` (Rust shadowing)")
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(matches!(parse_range("0..10"), Some(Ok((0, 10)))));
        assert!(matches!(parse_range("1..=3"), Some(Ok((1, 4)))));
        assert!(matches!(parse_range("5..2"), Some(Ok((5, 5)))));
        assert!(matches!(parse_range("a..b"), Some(Err(_))));
        assert!(parse_range("xs").is_none());
    }

    #[test]
    fn index_offsets() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("items.jsonl"), "1\n22\n333\n").expect("write");
        assert_eq!(write_index(dir.path()).expect("index"), 3);
        let idx = std::fs::read(dir.path().join("items.idx")).expect("read");
        let offs: Vec<u64> = idx
            .chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8")))
            .collect();
        assert_eq!(offs, vec![0, 2, 5]);
    }
}
