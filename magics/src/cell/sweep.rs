//! `%%sweep`: one array over a parameter grid (or a zip, or a seeded random
//! sample), then a table ranked by the objective with the best row marked,
//! `NAME` and `NAME_best` bound, and optionally the table saved.

use std::fmt::Write as _;
use std::io::Write as _;

use super::error::io;
use super::jobs::describe_output_type;
use super::{MagicError, Magics};
use crate::ledger::JobRecord;
use crate::plot::{Panel, sweep_svg};
use crate::render::esc;
use crate::session::{Display, Rendered, Session};
use crate::state::State;
use crate::sweep::{Objective, ParamType, SweepMagic, Value, expand, objective_of, rank};
use crate::taskgen::TaskKind;

/// One row of the finished sweep.
struct Row {
    params: Vec<String>,
    params_json: String,
    result: Option<serde_json::Value>,
    result_text: Option<String>,
    objective: Option<f64>,
    status: String,
}

impl Magics {
    pub(super) fn sweep(
        &mut self,
        m: SweepMagic,
        body: &str,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let backend = self.check_backend(m.options.backend.as_deref())?;
        if body.trim().is_empty() {
            return Err(MagicError::Body(crate::body::BodyError::Syntax(
                "the body is empty: write the expression each configuration computes, using the parameters by name".into(),
            )));
        }
        let configs = expand(&m).map_err(MagicError::Items)?;
        let name = m.name.clone().unwrap_or_else(|| "sweep".to_string());
        let names: Vec<&str> = m.params.iter().map(|p| p.name.as_str()).collect();
        let types: Vec<&str> = m.params.iter().map(|p| p.ty.rust()).collect();
        let tuple_ty = format!("({},)", types.join(", "));
        // The body becomes a closure over the parameter tuple; the header sits
        // on the body's first line so compile errors keep the cell's lines.
        let closure = format!("|({},): {tuple_ty}| {{ {body}\n}}", names.join(", "));
        let params: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let captures = super::captures::captures_of(body, &params, session)?;
        let kind = TaskKind::MapClosure {
            captures: captures.clone(),
        };
        let built = self
            .build_task(&kind, &closure, display)
            .map_err(|e| super::captures::explain_build_error(e, &captures))?;
        let result_type = describe_output_type(&built).ok_or_else(|| {
            MagicError::Build("cannot learn the result type of the sweep body".into())
        })?;

        let (id, dir) = self.new_job_dir()?;
        super::captures::write_captures(&dir, &captures, session)?;
        let rows_json = config_json(&m, &configs);
        {
            let f = std::fs::File::create(dir.join("items.jsonl"))
                .map_err(io("writing the configurations"))?;
            let mut w = std::io::BufWriter::new(f);
            for r in &rows_json {
                writeln!(w, "{r}").map_err(io("writing the configurations"))?;
            }
            w.flush().map_err(io("writing the configurations"))?;
        }
        super::map::write_index(&dir)?;
        let count = configs.len();
        let chunk = super::map::chunk_of(m.options.chunk.as_deref(), count)?;
        std::fs::write(dir.join("count"), count.to_string())
            .map_err(io("writing the job's count"))?;
        std::fs::write(dir.join("chunk"), chunk.to_string())
            .map_err(io("writing the job's chunk"))?;
        let deps = self.dependencies(&m.options)?;
        let elements = count.div_ceil(chunk);
        let (record, spec) = super::jobs::Planned {
            id,
            name: &name,
            kind: "sweep",
            backend,
            items: count,
            elements,
            result_type: result_type.clone(),
            dir: dir.clone(),
            binary: built,
            deps,
            options: &m.options,
        }
        .into_parts();
        std::fs::write(dir.join("sweep.spec"), &m.spec).map_err(io("writing the sweep's spec"))?;
        self.submit(record.clone(), spec)?;
        if m.options.no_wait {
            display.show(
                &crate::render::pre(&format!(
                    "queued sweep `{name}` (job {id}, {count} configurations); `%slurm wait {name}` shows the table and binds it"
                )),
                None,
            );
            return Ok(());
        }
        let states = self.wait(&record, display)?;
        let msg = self.finish_sweep(&record, &states, session, display)?;
        display.show(&crate::render::pre(&msg), None);
        Ok(())
    }

    /// Shows the finished sweep's table, binds `NAME` and `NAME_best`, saves
    /// the table if asked; the spec is re-read from the job directory, so this
    /// also serves `%slurm wait` and `%slurm load` after a restart.
    pub(super) fn finish_sweep(
        &mut self,
        job: &JobRecord,
        states: &[State],
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<String, MagicError> {
        let dir = &job.dir;
        let name = &job.name;
        let count = job.items;
        let result_type = &job.result_type;
        let spec = std::fs::read_to_string(dir.join("sweep.spec"))
            .map_err(io("reading the sweep's spec"))?;
        let m = crate::sweep::parse(&spec).map_err(|e| MagicError::Items(e.message))?;
        let configs = expand(&m).map_err(MagicError::Items)?;
        let types: Vec<&str> = m.params.iter().map(|p| p.ty.rust()).collect();
        let tuple_ty = format!("({},)", types.join(", "));
        let chunk = super::jobs::read_number(&dir.join("chunk"))
            .unwrap_or(1)
            .max(1);
        let rows_json = config_json(&m, &configs);

        // Rows, objectives, ranking.
        let mut rows = Vec::with_capacity(count);
        let mut objective_error = None;
        for (i, c) in configs.iter().enumerate().take(count) {
            let text = std::fs::read_to_string(dir.join("results").join(format!("{i}.json"))).ok();
            let result: Option<serde_json::Value> =
                text.as_deref().and_then(|t| serde_json::from_str(t).ok());
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
                let tail = super::jobs::tail(&dir.join("logs").join(format!("{element}.err")), 1);
                match states.get(element) {
                    Some(State::Failed(c)) => format!("FAILED (exit {c}) {tail}"),
                    Some(s) => format!("{} {tail}", s.name()),
                    None => "missing".into(),
                }
            };
            rows.push(Row {
                params: c
                    .iter()
                    .enumerate()
                    .map(|(p, &v)| m.params[p].values[v].text())
                    .collect(),
                params_json: rows_json[i].clone(),
                result,
                result_text: text,
                objective,
                status,
            });
        }
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
            .filter(|&b| m.objective.is_some() && rows[b].objective.is_some_and(|v| !v.is_nan()));
        let table = render_table(&m, &rows, &order, best);
        display.show(&table, None);
        if let Some(obj) = objective_name(&m) {
            display.show(&plot(&m, &configs, &rows, best, &obj), None);
        }

        // Bind NAME (configurations with results) and NAME_best.
        let ok: Vec<&Row> = rows.iter().filter(|r| r.result_text.is_some()).collect();
        let all_path = dir.join("sweep.json");
        let body: Vec<String> = ok
            .iter()
            .map(|r| {
                format!(
                    "[{},{}]",
                    r.params_json,
                    r.result_text.as_deref().unwrap_or("null").trim()
                )
            })
            .collect();
        std::fs::write(&all_path, format!("[{}]", body.join(",")))
            .map_err(io("writing sweep.json"))?;
        // Rows are read one by one so that a result the type cannot hold
        // (NaN and infinities are written as JSON null) leaves out that row only.
        let code = format!(
            "let {name}: Vec<({tuple_ty}, {result_type})> = serde_json::from_str::<Vec<serde_json::Value>>(&std::fs::read_to_string(r#\"{}\"#).expect(\"sluice: cannot read the sweep\")).expect(\"sluice: the sweep file is not JSON\").into_iter().filter_map(|row| serde_json::from_value(row).ok()).collect();\n{name}.len()",
            all_path.display()
        );
        let kept = self.bind_now(name, &code, session).map_err(|e| {
            MagicError::Bind(format!(
                "cannot bind `{name}`: {}",
                e.lines().next().unwrap_or("")
            ))
        })?;
        let kept: usize = kept.trim().parse().unwrap_or(ok.len());
        let mut bound = format!(
            "bound `{name}: Vec<({tuple_ty}, {result_type})>` ({kept} of {count} configurations)"
        );
        let mut unreadable_note = String::new();
        if kept < ok.len() {
            let unreadable: Vec<String> = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| r.result_text.as_deref().is_some_and(|t| t.contains("null")))
                .map(|(i, _)| i.to_string())
                .collect();
            unreadable_note = format!(
                "; {} result(s) could not be read back as {result_type} (NaN or infinite values are stored as JSON null; configurations {}) and are only in the table",
                ok.len() - kept,
                unreadable.join(", ")
            );
        }
        if let Some(b) = best {
            let best_path = dir.join("best.json");
            std::fs::write(
                &best_path,
                format!(
                    "[{},{}]",
                    rows[b].params_json,
                    rows[b].result_text.as_deref().unwrap_or("null").trim()
                ),
            )
            .map_err(io("writing best.json"))?;
            let code = format!(
                "let {name}_best: ({tuple_ty}, {result_type}) = serde_json::from_str(&std::fs::read_to_string(r#\"{}\"#).expect(\"sluice: cannot read the best row\")).expect(\"sluice: the best row does not match the type\");",
                best_path.display()
            );
            self.bind_now(&format!("{name}_best"), &code, session)
                .map_err(|e| {
                    MagicError::Bind(format!(
                        "cannot bind `{name}_best`: {}",
                        e.lines().next().unwrap_or("")
                    ))
                })?;
            bound.push_str(&format!(" and `{name}_best`"));
        }
        bound.push_str(&unreadable_note);
        if let Some(path) = &m.save {
            let path = self.config.workdir.join(path);
            save(&path, &m, &rows, &order)?;
            bound.push_str(&format!("; table saved to {}", path.display()));
        }
        if let Some(e) = objective_error {
            display.show(&crate::render::pre(&bound), None);
            return Err(MagicError::Items(format!(
                "the objective could not be read: {e}"
            )));
        }
        let failed = rows.iter().filter(|r| r.result.is_none()).count();
        if failed > 0 {
            display.show(&crate::render::pre(&bound), None);
            return Err(MagicError::SweepFailed {
                name: name.clone(),
                total: count,
                failed,
            });
        }
        Ok(bound)
    }
}

/// The objective against each parameter (SVG), or a line saying why not.
fn plot(
    m: &SweepMagic,
    configs: &[Vec<usize>],
    rows: &[Row],
    best: Option<usize>,
    objective: &str,
) -> Rendered {
    let panels: Vec<Panel> = m
        .params
        .iter()
        .enumerate()
        .map(|(p, param)| {
            let numeric = matches!(param.ty, ParamType::Int | ParamType::Float);
            let xs = configs
                .iter()
                .map(|c| match &param.values[c[p]] {
                    Value::Int(i) if numeric => *i as f64,
                    Value::Float(f) if numeric => *f,
                    _ => c[p] as f64,
                })
                .collect();
            Panel {
                name: param.name.clone(),
                xs,
                labels: (!numeric).then(|| param.values.iter().map(Value::text).collect()),
            }
        })
        .collect();
    let ys: Vec<Option<f64>> = rows.iter().map(|r| r.objective).collect();
    let names: Vec<&str> = m.params.iter().map(|p| p.name.as_str()).collect();
    match sweep_svg(objective, &panels, &ys, best) {
        Ok(svg) => Rendered {
            text: format!(
                "[plot: {objective} against {}; best configuration {}]",
                names.join(", "),
                best.map_or("none".into(), |b| b.to_string())
            ),
            html: None,
            svg: Some(svg),
        },
        Err(e) => crate::render::pre(&format!("no plot: {e}")),
    }
}

/// The JSON parameter tuple of each configuration, as the task reads it.
fn config_json(m: &SweepMagic, configs: &[Vec<usize>]) -> Vec<String> {
    configs
        .iter()
        .map(|c| {
            let vals: Vec<String> = c
                .iter()
                .enumerate()
                .map(|(p, &v)| m.params[p].values[v].json(m.params[p].ty))
                .collect();
            format!("[{}]", vals.join(","))
        })
        .collect()
}

fn objective_name(m: &SweepMagic) -> Option<String> {
    match &m.objective {
        Some(Objective::Maximize(f)) => Some(format!("{f} (max)")),
        Some(Objective::Minimize(f)) => Some(format!("{f} (min)")),
        None => None,
    }
}

fn fmt_obj(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_nan() => "NaN".into(),
        Some(v) => format!("{v:.6}"),
        None => String::new(),
    }
}

fn render_table(m: &SweepMagic, rows: &[Row], order: &[usize], best: Option<usize>) -> Rendered {
    let obj = objective_name(m);
    let mut text = String::new();
    let mut head: Vec<String> = vec!["".into(), "#".into()];
    head.extend(m.params.iter().map(|p| p.name.clone()));
    if let Some(o) = &obj {
        head.push(o.clone());
    }
    head.push("result".into());
    let mut lines: Vec<Vec<String>> = vec![head.clone()];
    for &i in order {
        let r = &rows[i];
        let mut line = vec![
            if Some(i) == best {
                "*".into()
            } else {
                "".into()
            },
            i.to_string(),
        ];
        line.extend(r.params.iter().cloned());
        if obj.is_some() {
            line.push(fmt_obj(r.objective));
        }
        line.push(match &r.result_text {
            Some(t) => t.trim().chars().take(60).collect(),
            None => r.status.clone(),
        });
        lines.push(line);
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(text, "{}", cells.join("  ").trim_end());
    }
    let mut html = String::from("<table class=\"sluice-sweep\"><thead><tr>");
    for h in &head {
        let _ = write!(html, "<th>{}</th>", esc(h));
    }
    html.push_str("</tr></thead><tbody>");
    for &i in order {
        let r = &rows[i];
        let style = if Some(i) == best {
            " style=\"background:#e6f4ea;font-weight:bold\""
        } else if r.result.is_none() {
            " style=\"color:#c33\""
        } else {
            ""
        };
        let _ = write!(
            html,
            "<tr{style}><td>{}</td><td>{i}</td>",
            if Some(i) == best { "★" } else { "" }
        );
        for p in &r.params {
            let _ = write!(html, "<td>{}</td>", esc(p));
        }
        if obj.is_some() {
            let _ = write!(html, "<td>{}</td>", fmt_obj(r.objective));
        }
        let cell = match &r.result_text {
            Some(t) => format!(
                "<code>{}</code>",
                esc(&t.trim().chars().take(120).collect::<String>())
            ),
            None => esc(&r.status),
        };
        let _ = write!(html, "<td>{cell}</td></tr>");
    }
    html.push_str("</tbody></table>");
    Rendered {
        text: text.trim_end().to_string(),
        html: Some(html),
        svg: None,
    }
}

fn save(
    path: &std::path::Path,
    m: &SweepMagic,
    rows: &[Row],
    order: &[usize],
) -> Result<(), MagicError> {
    let text = if path.extension().and_then(|e| e.to_str()) == Some("json") {
        let arr: Vec<serde_json::Value> = order
            .iter()
            .map(|&i| {
                let r = &rows[i];
                let params: serde_json::Map<String, serde_json::Value> = m
                    .params
                    .iter()
                    .zip(
                        serde_json::from_str::<Vec<serde_json::Value>>(&r.params_json)
                            .unwrap_or_default(),
                    )
                    .map(|(p, v)| (p.name.clone(), v))
                    .collect();
                serde_json::json!({
                    "config": i,
                    "params": params,
                    "objective": r.objective.filter(|v| !v.is_nan()),
                    "status": r.status,
                    "result": r.result,
                })
            })
            .collect();
        serde_json::to_string_pretty(&arr).unwrap_or_default()
    } else {
        let mut w = String::new();
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut head: Vec<String> = vec!["config".into()];
        head.extend(m.params.iter().map(|p| p.name.clone()));
        head.extend(["objective".into(), "status".into(), "result".into()]);
        let _ = writeln!(w, "{}", head.join(","));
        for &i in order {
            let r = &rows[i];
            let mut cells = vec![i.to_string()];
            cells.extend(r.params.iter().map(|p| quote(p)));
            cells.push(
                r.objective
                    .filter(|v| !v.is_nan())
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            );
            cells.push(quote(r.status.trim()));
            cells.push(quote(r.result_text.as_deref().unwrap_or("").trim()));
            let _ = writeln!(w, "{}", cells.join(","));
        }
        w
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    }
    std::fs::write(path, text).map_err(io(format!("writing {}", path.display())))
}
