//! What a finished sweep shows: the table ranked by the objective (best row
//! marked), the plot of the objective against each parameter, and the table
//! saved as `.csv` (the csv crate) or `.json`.

use std::fmt::Write as _;

use crate::error::{MagicError, io};
use crate::plot::{Panel, sweep_svg};
use crate::render::esc;
use crate::session::Rendered;
use crate::sweep::{Objective, ParamType, SweepSpec, Value};

/// One row of the finished sweep.
pub(super) struct Row {
    /// Parameter values as shown.
    pub params: Vec<String>,
    /// The parameter tuple as the task read it (JSON).
    pub params_json: String,
    /// The result, parsed.
    pub result: Option<serde_json::Value>,
    /// The result as the task wrote it.
    pub result_text: Option<String>,
    /// The objective's value (NaN if it could not be read).
    pub objective: Option<f64>,
    /// `ok`, or the state and the last stderr line.
    pub status: String,
}

/// The objective against each parameter (SVG), or a line saying why not.
pub(super) fn plot(
    m: &SweepSpec,
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
pub(super) fn config_json(m: &SweepSpec, configs: &[Vec<usize>]) -> Vec<String> {
    configs
        .iter()
        .map(|c| {
            let vals: Vec<String> = c
                .iter()
                .enumerate()
                .map(|(p, &v)| m.params[p].value_json(v))
                .collect();
            format!("[{}]", vals.join(","))
        })
        .collect()
}

pub(super) fn objective_name(m: &SweepSpec) -> Option<String> {
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

pub(super) fn render_table(
    m: &SweepSpec,
    rows: &[Row],
    order: &[usize],
    best: Option<usize>,
) -> Rendered {
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

/// Writes the table, best first: `.json` (one object per configuration)
/// or anything else as CSV.
pub(super) fn save(
    path: &std::path::Path,
    m: &SweepSpec,
    rows: &[Row],
    order: &[usize],
) -> Result<(), MagicError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    }
    let what = || format!("writing {}", path.display());
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
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
        let text = serde_json::to_string_pretty(&arr).map_err(|e| io(what())(e.into()))?;
        return std::fs::write(path, text).map_err(io(what()));
    }
    let mut w = csv::Writer::from_path(path).map_err(|e| io(what())(e.into()))?;
    let mut head: Vec<String> = vec!["config".into()];
    head.extend(m.params.iter().map(|p| p.name.clone()));
    head.extend(["objective".into(), "status".into(), "result".into()]);
    w.write_record(&head).map_err(|e| io(what())(e.into()))?;
    for &i in order {
        let r = &rows[i];
        let mut cells = vec![i.to_string()];
        cells.extend(r.params.iter().cloned());
        cells.push(
            r.objective
                .filter(|v| !v.is_nan())
                .map(|v| v.to_string())
                .unwrap_or_default(),
        );
        cells.push(r.status.trim().to_string());
        cells.push(r.result_text.as_deref().unwrap_or("").trim().to_string());
        w.write_record(&cells).map_err(|e| io(what())(e.into()))?;
    }
    w.flush().map_err(io(what()))
}
