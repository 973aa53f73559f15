//! `%%sweep`: the plan of one array over a parameter grid (or a zip, or a
//! seeded random sample), and its result: a table ranked by the objective
//! with the best row marked, a plot, `NAME` and `NAME_best` bound, and
//! optionally the table saved (see `sweep_table.rs`).

use super::Magics;
use super::captures;
use super::items;
use super::sweep_config::config_json;
use super::sweep_table::{Row, objective_name, plots, render_table, save};
use crate::domain::{ElementState, JobKind, TaskPlan};
use crate::error::{MagicError, io};
use crate::grammar::SweepMagic;
use crate::jobdir::JobDir;
use crate::ledger::JobRecord;
use crate::pipeline::bind::{BIND_PANIC_PREFIX, MISSING};
use crate::pipeline::{Prepared, build, plan};
use crate::session::{Display, Session};
use crate::sweep::{Objective, SweepSpec, expand, objective_of, rank};
use crate::taskgen::TaskKind;

impl Magics {
    /// Builds the task over the parameter tuple, writes one item per
    /// configuration, and plans the job.
    pub(super) fn plan_sweep(
        &mut self,
        mut m: SweepMagic,
        body: &str,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<Prepared, MagicError> {
        let backend = self.ws.backend(m.options.backend)?;
        if body.trim().is_empty() {
            return Err(MagicError::Body(crate::body::BodyError::Syntax(
                "the body is empty: write the expression each configuration computes, using the parameters by name".into(),
            )));
        }
        if !m.expressions.is_empty() {
            let dir = self.ws.sluice_dir();
            std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
            let scratch = dir.join(format!("sweep-values-{}.txt", std::process::id()));
            super::sweep_values::resolve(&mut m, &scratch, session)?;
        }
        let configs = expand(&m.spec).map_err(MagicError::Items)?;
        let name = m.name.clone().unwrap_or_else(|| "sweep".to_string());
        let names: Vec<&str> = m.spec.params.iter().map(|p| p.name.as_str()).collect();
        // The body becomes a closure over the parameter tuple; its header
        // and closing brace sit on the lines around the body, so compile
        // errors and panics keep the cell's lines and columns.
        let open = format!("|({},): {}| {{", names.join(", "), tuple_type(&m.spec));
        let params: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let captured = captures::captures_of(body, &params, session)?;
        let kind = TaskKind::MapClosure {
            captures: captured.clone(),
            wrap: (open, "}".into()),
        };
        let build::Built {
            binary,
            item_places,
        } = build::build(&self.ws.build_root(), &self.notebook, &kind, body, display)
            .map_err(|e| captures::explain_build_error(e, &captured))?;
        let result_type = build::output_type(
            None,
            &binary,
            "give the body's value a type the notebook can name (e.g. a struct defined in the notebook)",
            session,
        )?;
        self.check_objective(&m.spec, &result_type)?;

        let super::captures::NewJob {
            id, dir, resources, ..
        } = self.new_job(backend, &m.options, &captured, None, session)?;
        // The definitions its table reads results by, as built: the
        // notebook may redefine them, or be a new kernel's, when it ends.
        if let Some(reader) = crate::debug_text::Reader::new(&result_type, &self.notebook) {
            std::fs::write(dir.result_types(), reader.definitions(&self.notebook))
                .map_err(io("writing the result's definitions"))?;
        }
        let count = items::write_lines(&dir, &config_json(&m.spec, &configs))?;
        let spec_json =
            serde_json::to_string(&m.spec).map_err(|e| io("writing the sweep's spec")(e.into()))?;
        std::fs::write(dir.sweep_spec(), spec_json).map_err(io("writing the sweep's spec"))?;
        let chunk = plan::chunk(&mut self.ws, backend, m.options.chunk.as_deref(), count)?;
        Ok(Prepared {
            id,
            plan: TaskPlan {
                name,
                kind: JobKind::Sweep,
                backend,
                items: count,
                chunk,
                result_type,
                deps: plan::dependencies(&mut self.ws, &m.options)?,
                resources,
                no_wait: m.options.no_wait,
                cache: m.options.cache || self.ws.config.cache,
                retries: m.options.retries,
            },
            binary,
            item_places,
            dir,
        })
    }

    /// Shows the finished sweep's table, binds `NAME` and `NAME_best`, saves
    /// the table if asked; the spec is read from the job directory, so this
    /// also serves `%slurm wait` and `%slurm load` after a restart.
    pub(super) fn finish_sweep(
        &mut self,
        job: &JobRecord,
        states: &[ElementState],
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<String, MagicError> {
        let m = read_spec(&job.dir)?;
        let configs = expand(&m).map_err(MagicError::Items)?;
        // The definitions the task was built with; a job of an older
        // version has none saved: the notebook's.
        let saved = std::fs::read_to_string(job.dir.result_types())
            .ok()
            .map(|text| {
                let mut n = crate::notebook::Notebook::default();
                n.record(0, &text);
                n
            });
        let reader = crate::debug_text::Reader::new(
            &job.result_type,
            saved.as_ref().unwrap_or(&self.notebook),
        );
        let (rows, objective_error) = rows_of(&m, &configs, job, states, reader.as_ref());
        let maximize = matches!(m.objective, Some(Objective::Maximize(_)));
        let order = if m.objective.is_some() {
            rank(
                &rows.iter().map(|r| r.objective).collect::<Vec<_>>(),
                maximize,
            )
        } else {
            (0..rows.len()).collect()
        };
        let best = order
            .first()
            .copied()
            .filter(|&b| m.objective.is_some() && rows[b].objective.is_some_and(f64::is_finite));
        display.show(&render_table(&m, &rows, &order, best), None);
        if let Some(obj) = objective_name(&m) {
            for picture in plots(&m, &configs, &rows, best, &obj) {
                display.show(&picture, None);
            }
        }
        let mut bound = self.bind_sweep(job, &m, &rows, best, session)?;
        if let Some(path) = &m.save {
            let path = self.ws.config.workdir.join(path);
            save(&path, &m, &rows, &order)?;
            bound.push_str(&format!("; table saved to {}", path.display()));
        }
        if let Some(e) = objective_error {
            display.show(&crate::render::message(&bound), None);
            return Err(MagicError::Items(format!(
                "the objective could not be read: {e}"
            )));
        }
        let failed = rows.iter().filter(|r| r.result.is_none()).count();
        if failed > 0 {
            display.show(&crate::render::message(&bound), None);
            return Err(MagicError::SweepFailed {
                name: job.name.clone(),
                total: job.items,
                failed,
            });
        }
        Ok(bound)
    }

    /// An objective the result cannot have is said before anything runs:
    /// a field the notebook's struct does not declare, or a field of a
    /// plain number (whose objective is `value`).
    fn check_objective(&self, spec: &SweepSpec, result_type: &str) -> Result<(), MagicError> {
        let Some(Objective::Maximize(f) | Objective::Minimize(f)) = &spec.objective else {
            return Ok(());
        };
        const NUMBERS: &[&str] = &[
            "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64",
            "u128", "usize",
        ];
        if NUMBERS.contains(&result_type) && f != "value" {
            return Err(MagicError::Items(format!(
                "the objective `{f}` is not a field of a `{result_type}` result: a plain number is `value` (`--maximize value`)"
            )));
        }
        match self.notebook.struct_fields(result_type) {
            Some(fields) if fields.is_empty() => Err(MagicError::Items(format!(
                "the objective `{f}`: `{result_type}` has no fields; return a struct with a numeric field `{f}`, or a number (`--maximize value`); nothing was submitted"
            ))),
            Some(fields) if !fields.iter().any(|x| x == f) => Err(MagicError::Items(format!(
                "the objective `{f}`: `{result_type}` has no field `{f}` (its fields: {}); nothing was submitted",
                fields.join(", ")
            ))),
            _ => Ok(()),
        }
    }

    /// Binds `NAME` (configurations with results, each row read on its own
    /// so a result the type cannot hold leaves out that row only) and
    /// `NAME_best`; says what was bound.
    fn bind_sweep(
        &mut self,
        job: &JobRecord,
        m: &SweepSpec,
        rows: &[Row],
        best: Option<usize>,
        session: &mut dyn Session,
    ) -> Result<String, MagicError> {
        let (name, count, result_type) = (&job.name, job.items, &job.result_type);
        let tuple_ty = tuple_type(m);
        let ok: Vec<&Row> = rows.iter().filter(|r| r.result_text.is_some()).collect();
        let all_path = job.dir.sweep_table();
        let body: String = ok.iter().map(|r| row_line(r) + "\n").collect();
        std::fs::write(&all_path, body).map_err(io("writing sweep.values"))?;
        let best_name = format!("{name}_best");
        let best_code = match best {
            Some(b) => {
                let best_path = job.dir.sweep_best();
                std::fs::write(&best_path, row_line(&rows[b]) + "\n")
                    .map_err(io("writing best.values"))?;
                Some(format!(
                    "{} let {best_name}: ({tuple_ty}, {result_type}) = {best_name}.into_iter().next().expect(\"{BIND_PANIC_PREFIX}the best configuration's result does not match {result_type}\");",
                    let_rows(&best_name, &tuple_ty, result_type, &best_path)
                ))
            }
            None => None,
        };
        let rows_code = let_rows(name, &tuple_ty, result_type, &all_path);
        let notebook = &self.notebook;
        let known = |n: &str| notebook.derives_deserialize(n);
        let row_type = format!("({tuple_ty}, {result_type})");
        // Every result already read back as its type in the task, so with
        // a row type the session surely holds, the binds wait for the next
        // cell's build like a map's (one session build fewer).
        let kept = if crate::pipeline::plain_type::bindable_unchecked(&row_type, &known) {
            self.pending.defer(name, rows_code);
            match best_code {
                Some(code) => self.pending.defer(&best_name, code),
                None => self.pending.forget(&best_name),
            }
            ok.len().to_string()
        } else {
            // `NAME_best` is bound in the same evaluation (one session build),
            // which also says how many rows the type could hold.
            let mut code = format!("{rows_code}\n");
            if let Some(b) = best_code {
                code.push_str(&b);
                code.push('\n');
                self.pending.forget(&best_name);
            }
            code.push_str(&format!("{name}.len()"));
            self.pending
                .bind_now(name, &code, session)
                .map_err(|source| MagicError::Bind {
                    what: format!("cannot bind `{name}`"),
                    source,
                })?
        };
        let kept: usize = kept.trim().parse().unwrap_or(ok.len());
        let mut bound = format!(
            "bound `{name}: Vec<({tuple_ty}, {result_type})>` ({kept} of {count} configurations)"
        );
        if best.is_some() {
            bound.push_str(&format!(" and `{best_name}`"));
        }
        let unreadable_note = if kept < ok.len() {
            format!(
                "; {} could not be read back as {result_type} and {} only in the table",
                crate::prose::count(ok.len() - kept, "result", "results"),
                if ok.len() - kept == 1 { "is" } else { "are" },
            )
        } else {
            String::new()
        };
        bound.push_str(&unreadable_note);
        Ok(bound)
    }
}

/// The line that says why an element failed, from the end of its stderr:
/// a panic's first message line (the one that names what went wrong; a
/// message of several lines ends with its least telling one), else the
/// last line.
fn failure_line(tail: &str) -> String {
    let lines: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
    if let Some(at) = lines
        .iter()
        .rposition(|l| l.starts_with("thread '") && l.contains("panicked at"))
    {
        let header = lines[at];
        // Old panics keep the message on the header's line.
        let after_location = header
            .split_once("panicked at ")
            .and_then(|(_, rest)| rest.split_once(": "))
            .map(|(_, msg)| msg.trim());
        if let Some(msg) = after_location.filter(|m| !m.is_empty()) {
            return msg.to_string();
        }
        if let Some(msg) = lines.get(at + 1) {
            return msg.trim().to_string();
        }
    }
    lines
        .last()
        .map(|l| l.trim().to_string())
        .unwrap_or_default()
}

/// `(f64, i64,)`: the Rust type of a configuration's parameter tuple.
fn tuple_type(m: &SweepSpec) -> String {
    let types: Vec<&str> = m.params.iter().map(|p| p.rust_type()).collect();
    format!("({},)", types.join(", "))
}

/// A row of `sweep.values`: the parameters' JSON, a tab, the result's
/// value text (JSON escapes tabs in strings, RON too).
fn row_line(r: &Row) -> String {
    format!(
        "{}\t{}",
        r.params_json,
        r.result_text.as_deref().unwrap_or(MISSING).trim()
    )
}

/// `let NAME: Vec<(PARAMS, R)> = <the rows of PATH that read back>;`: a
/// row whose result the type cannot hold is left out (it stays in the table).
fn let_rows(name: &str, tuple_ty: &str, result_ty: &str, path: &std::path::Path) -> String {
    let p = BIND_PANIC_PREFIX;
    let text = std::fs::read_to_string(path).ok();
    let column = |i: usize| match &text {
        Some(t) => crate::crossing::Formats::of(t.lines().filter_map(|l| l.split('\t').nth(i))),
        None => crate::crossing::Formats::Both,
    };
    format!(
        "let {name}: Vec<({tuple_ty}, {result_ty})> = std::fs::read_to_string(r#\"{}\"#).expect(\"{p}cannot read the sweep\").lines().filter_map(|l| {{ let (ps, r) = l.split_once('\\t')?; Some(({}.ok()?, {}.ok()?)) }}).collect();",
        path.display(),
        crate::crossing::decode_expr("ps", tuple_ty, column(0)),
        crate::crossing::decode_expr("r", result_ty, column(1)),
    )
}

/// The sweep's spec as saved with the job (JSON; jobs of older versions
/// kept the magic line itself, which is parsed again).
fn read_spec(dir: &JobDir) -> Result<SweepSpec, MagicError> {
    let text = std::fs::read_to_string(dir.sweep_spec()).map_err(io("reading the sweep's spec"))?;
    match serde_json::from_str(&text) {
        Ok(spec) => Ok(spec),
        Err(_) => crate::grammar::sweep::parse(&text)
            .map(|m| m.spec)
            .map_err(|e| MagicError::Items(e.message)),
    }
}

/// The rows of a finished sweep, and the first objective that could not be read;
/// each result also read by `reader` (its type's, when the type resolves).
fn rows_of(
    m: &SweepSpec,
    configs: &[Vec<usize>],
    job: &JobRecord,
    states: &[ElementState],
    reader: Option<&crate::debug_text::Reader>,
) -> (Vec<Row>, Option<String>) {
    let chunk = job.dir.chunk();
    let rows_json = config_json(m, configs);
    let mut rows = Vec::with_capacity(job.items);
    let mut objective_error = None;
    for (i, c) in configs.iter().enumerate().take(job.items) {
        let text = std::fs::read_to_string(job.dir.result(i)).ok();
        let result: Option<serde_json::Value> =
            text.as_deref().and_then(crate::crossing::display_value);
        let objective = match (&result, &m.objective) {
            (Some(r), Some(Objective::Maximize(f) | Objective::Minimize(f))) => {
                match objective_of(r, f) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        objective_error.get_or_insert(e);
                        Some(f64::NAN)
                    }
                }
            }
            _ => None,
        };
        let status = if result.is_some() {
            "ok".to_string()
        } else {
            let element = i / chunk;
            let tail = failure_line(&job.dir.stderr_tail(element, 20));
            match states.get(element) {
                Some(ElementState::Failed(c)) => {
                    format!("FAILED ({}) {tail}", crate::domain::describe_exit(*c))
                }
                Some(s) => format!("{} {tail}", s.name()),
                None => "missing".into(),
            }
        };
        rows.push(Row {
            params: c
                .iter()
                .enumerate()
                .map(|(p, &v)| m.params[p].shown(v))
                .collect(),
            params_json: rows_json[i].clone(),
            typed: reader
                .zip(text.as_deref())
                .filter(|_| result.is_some())
                .and_then(|(reader, t)| reader.read(t)),
            result,
            result_text: text,
            objective,
            status,
        });
    }
    (rows, objective_error)
}

#[cfg(test)]
mod tests {
    use super::failure_line;

    #[test]
    fn a_failure_is_said_by_its_panics_first_line() {
        let tail = "thread 'main' panicked at cell:2:19:\nconfig a=1 b=2 cannot work\nsecond line of the panic\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(failure_line(tail), "config a=1 b=2 cannot work");
        assert_eq!(
            failure_line("thread 'main' panicked at src/main.rs:3:5: boom\n"),
            "boom"
        );
        assert_eq!(
            failure_line("error: out of memory\n\n"),
            "error: out of memory"
        );
        assert_eq!(failure_line(""), "");
    }
}
