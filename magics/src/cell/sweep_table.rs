//! What a finished sweep shows: the table ranked by the objective (best row
//! marked), the plot of the objective against each parameter, and the table
//! saved as `.csv` (the csv crate) or `.json`.

use super::sweep_cells::{Digits, NOWRAP, cut, param_text, result_columns, row_cells, td};
use super::sweep_config::params_of;
use std::fmt::Write as _;

use crate::error::{MagicError, io};
use crate::parallel::parallel_svg;
use crate::plot::{Panel, sweep_svg};
use crate::render::esc;
use crate::session::Rendered;
use crate::sweep::{Objective, ParamType, SweepSpec, Value};
use crate::theme::{MUTED, Tone, UI_FONT};

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
    /// The result read by its type, as Debug writes it; None where the
    /// type cannot be resolved (the JSON and RON texts are shown then).
    pub typed: Option<crate::debug_text::Node>,
    /// The objective's value (NaN if it could not be read).
    pub objective: Option<f64>,
    /// `ok`, or the state and the last stderr line.
    pub status: String,
}

/// The pictures of a finished sweep: the objective against each parameter
/// (SVG, or a line saying why not) and, with three or more parameters, the
/// parallel-coordinates picture of every configuration.
pub(super) fn plots(
    m: &SweepSpec,
    configs: &[Vec<usize>],
    rows: &[Row],
    best: Option<usize>,
    objective: &str,
) -> Vec<Rendered> {
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
                integer: param.ty == ParamType::Int,
            }
        })
        .collect();
    let ys: Vec<Option<f64>> = rows.iter().map(|r| r.objective).collect();
    let names: Vec<&str> = m.params.iter().map(|p| p.name.as_str()).collect();
    let best_text = best.map_or("none".into(), |b| b.to_string());
    let mut out = vec![match sweep_svg(objective, &panels, &ys, best) {
        Ok(svg) => Rendered {
            text: format!(
                "[plot: {objective} against {}; best configuration {best_text}]",
                names.join(", "),
            ),
            html: None,
            svg: Some(svg),
        },
        Err(e) => crate::render::message(&format!("no plot: {e}")),
    }];
    let maximize = matches!(m.objective, Some(Objective::Maximize(_)));
    if let Some(svg) = parallel_svg(objective, &panels, &ys, maximize, best) {
        out.push(Rendered {
            text: format!(
                "[parallel coordinates: {}, {objective}; one line per configuration, darker is better; best configuration {best_text}]",
                names.join(", "),
            ),
            html: None,
            svg: Some(svg),
        });
    }
    out
}

pub(super) fn objective_name(m: &SweepSpec) -> Option<String> {
    match &m.objective {
        Some(Objective::Maximize(f)) => Some(format!("{f} (max)")),
        Some(Objective::Minimize(f)) => Some(format!("{f} (min)")),
        None => None,
    }
}

/// A table longer than this folds ...
const FOLD_OVER: usize = 20;
/// ... to its best rows and a count of the others.
const SHOWN: usize = 10;
/// How many failed configurations a folded table still shows below the best.
const FAILED_SHOWN: usize = 10;
/// The header over failed configurations' status when the result has no
/// columns of its own.
const ERROR_COLUMN: &str = "error";

/// The ranked table: parameters, the objective, the result's other
/// fields; best row marked (★, a green tint); failed rows tinted red with
/// their status; longer than [`FOLD_OVER`] rows, the best [`SHOWN`] and a
/// line counting the rest (all of them are in the `--save` file).
pub(super) fn render_table(
    m: &SweepSpec,
    rows: &[Row],
    order: &[usize],
    best: Option<usize>,
) -> Rendered {
    let obj = objective_name(m);
    let mut columns = result_columns(m, rows);
    // Folded: the best rows, then the failed ones (a failure is news
    // wherever it ranks), at most [`FAILED_SHOWN`] of them.
    let shown: Vec<usize> = if order.len() > FOLD_OVER {
        let mut shown = order[..SHOWN].to_vec();
        shown.extend(
            order[SHOWN..]
                .iter()
                .filter(|&&i| rows[i].result.is_none())
                .take(FAILED_SHOWN),
        );
        shown
    } else {
        order.to_vec()
    };
    let shown = shown.as_slice();
    // A failed configuration's status goes under the result columns; with
    // none, under a column of its own.
    if columns.is_empty() && shown.iter().any(|&i| rows[i].result.is_none()) {
        columns.push(ERROR_COLUMN.into());
    }
    let mut head: Vec<String> = vec!["".into(), "#".into()];
    head.extend(m.params.iter().map(|p| p.name.clone()));
    head.extend(obj.iter().cloned());
    head.extend(columns.iter().cloned());
    let hidden = order.len() - shown.len();
    let fold_note = (hidden > 0).then(|| match &m.save {
        Some(path) => format!(
            "… {hidden} more configurations; all {} are in `{path}`",
            order.len()
        ),
        None => format!(
            "… {hidden} more configurations; `--save FILE` writes all {}",
            order.len()
        ),
    });
    let digits = Digits::of(m, rows);
    let mut lines: Vec<Vec<String>> = vec![head.clone()];
    for &i in shown {
        let r = &rows[i];
        let mut line = vec![
            if Some(i) == best { "*" } else { "" }.to_string(),
            i.to_string(),
        ];
        line.extend(
            r.params
                .iter()
                .enumerate()
                .map(|(p, v)| param_text(m, p, v, &digits)),
        );
        // A failed row's status reads whole (it spans the result columns).
        let cells = row_cells(m, r, &columns, &digits);
        if r.result.is_some() {
            line.extend(cells.iter().map(|c| cut(c)));
        } else {
            line.extend(cells);
        }
        lines.push(line);
    }
    let text = text_form(&lines, fold_note.as_deref());
    let html = html_form(
        m,
        rows,
        Shown {
            rows: shown,
            best,
            head: &head,
            columns: &columns,
            fold_note: fold_note.as_deref(),
            digits: &digits,
        },
    );
    Rendered {
        text: text.trim_end().to_string(),
        html: Some(html),
        svg: None,
    }
}

/// The text form: columns padded to their widest cell by display width
/// ([`crate::text_table`]), the fold's line last.
fn text_form(lines: &[Vec<String>], fold_note: Option<&str>) -> String {
    let mut text = crate::text_table::layout(lines, &[]);
    text.push('\n');
    if let Some(n) = fold_note {
        let _ = writeln!(text, "{n}");
    }
    text
}

/// What of the table is shown, and how.
struct Shown<'a> {
    /// The rows shown, in order.
    rows: &'a [usize],
    /// The best row.
    best: Option<usize>,
    /// The header.
    head: &'a [String],
    /// The result columns.
    columns: &'a [String],
    /// The line under a folded table.
    fold_note: Option<&'a str>,
    /// Significant digits per column.
    digits: &'a Digits,
}

/// The HTML form: the best row tinted green and bold, failed rows tinted
/// red with their status across the result columns, the fold's line under
/// the table.
fn html_form(m: &SweepSpec, rows: &[Row], view: Shown<'_>) -> String {
    let Shown {
        rows: shown,
        best,
        head,
        columns,
        fold_note: _,
        digits,
    } = view;
    let obj = m.objective.is_some();
    // A table wider than the output area scrolls inside it, not past it.
    let mut html = String::from(
        "<div style=\"overflow-x:auto;max-width:100%\"><table class=\"sluice-sweep\" style=\"white-space:nowrap\"><thead><tr>",
    );
    for h in head {
        // Statuses read left to right: their header starts where they do.
        if h == ERROR_COLUMN && columns == [ERROR_COLUMN] {
            let _ = write!(
                html,
                "<th style=\"{NOWRAP};text-align:left\">{}</th>",
                esc(h)
            );
        } else {
            let _ = write!(html, "<th style=\"{NOWRAP}\">{}</th>", esc(h));
        }
    }
    html.push_str("</tr></thead><tbody>");
    let fixed = 2 + m.params.len() + usize::from(obj);
    for &i in shown {
        let r = &rows[i];
        let style = if Some(i) == best {
            format!(
                " style=\"background:{};font-weight:bold\"",
                Tone::Good.tint()
            )
        } else if r.result.is_none() {
            format!(" style=\"background:{}\"", Tone::Bad.tint())
        } else {
            String::new()
        };
        let _ = write!(
            html,
            "<tr{style}><td style=\"{NOWRAP}\">{}</td><td style=\"{NOWRAP}\">{i}</td>",
            if Some(i) == best { "★" } else { "" }
        );
        for (p, v) in r.params.iter().enumerate() {
            html.push_str(&td(&param_text(m, p, v, digits)));
        }
        let cells = row_cells(m, r, columns, digits);
        if r.result.is_none() {
            let (objective, status) = cells.split_at(usize::from(obj));
            for c in objective {
                html.push_str(&td(c));
            }
            let span = (head.len() - fixed).max(1);
            let _ = write!(
                html,
                "<td colspan=\"{span}\" style=\"text-align:left;white-space:normal\">{}</td>",
                esc(&status.concat())
            );
        } else {
            for c in &cells {
                html.push_str(&td(c));
            }
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>");
    if let Some(n) = view.fold_note {
        let _ = write!(
            html,
            "<div class=\"sluice-fold\" style=\"{UI_FONT};font-size:12px;{MUTED}\">{}</div>",
            crate::render::inline_code(n)
        );
    }
    html
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
                    .zip(params_of(r))
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
    let columns: Vec<String> = result_columns(m, rows)
        .into_iter()
        .filter(|c| c != "result")
        .collect();
    let mut head: Vec<String> = vec!["config".into()];
    head.extend(m.params.iter().map(|p| p.name.clone()));
    head.push("objective".into());
    head.extend(columns.iter().cloned());
    head.extend(["status".into(), "result".into()]);
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
        cells.extend(columns.iter().map(|c| {
            // Every digit, as Debug writes the field.
            if let Some(f) = r.typed.as_ref().and_then(|t| t.field(c)) {
                return f.text(None);
            }
            match r.result.as_ref().and_then(|v| v.get(c)) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            }
        }));
        cells.push(r.status.trim().to_string());
        cells.push(r.result_text.as_deref().unwrap_or("").trim().to_string());
        w.write_record(&cells).map_err(|e| io(what())(e.into()))?;
    }
    w.flush().map_err(io(what()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(line: &str) -> SweepSpec {
        crate::grammar::sweep::parse(line).expect("parses").spec
    }

    fn row(params: &[&str], json: &str, result: Option<&str>, objective: Option<f64>) -> Row {
        Row {
            params: params.iter().map(|p| p.to_string()).collect(),
            params_json: json.into(),
            result: result.map(|r| serde_json::from_str(r).expect("result JSON")),
            result_text: result.map(str::to_string),
            typed: None,
            objective,
            status: if result.is_some() {
                "ok".into()
            } else {
                "FAILED (exit 1) thread 'main' panicked at cell:2:5".into()
            },
        }
    }

    #[test]
    fn fields_become_columns_with_a_few_digits() {
        let m = spec("lr in [0.001, 0.1], seed in 0..2 -> r --maximize accuracy");
        let rows = vec![
            row(
                &["0.001", "0"],
                "[0.001,0]",
                Some(
                    r#"{"lr":0.001,"seed":0,"accuracy":0.50371234567,"loss":[0.25,0.125],"note":"ok"}"#,
                ),
                Some(0.503_712_345_67),
            ),
            row(&["0.1", "0"], "[0.1,0]", None, None),
            row(
                &["0.001", "1"],
                "[0.001,1]",
                Some(r#"{"lr":0.001,"seed":1,"accuracy":0.91,"loss":[0.5],"note":"fine"}"#),
                Some(0.91),
            ),
        ];
        // `lr` and `seed` only repeat the parameters: not columns.
        assert_eq!(result_columns(&m, &rows), ["loss", "note"]);
        let t = render_table(&m, &rows, &[2, 0, 1], Some(2));
        let lines: Vec<&str> = t.text.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["#", "lr", "seed", "accuracy", "(max)", "loss", "note"]
        );
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["*", "2", "0.001", "1", "0.91", "[0.5]", "fine"]
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["0", "0.001", "0", "0.5037", "[0.25,", "0.125]", "ok"]
        );
        assert!(lines[3].contains("FAILED (exit 1)"), "{}", lines[3]);
        let html = t.html.unwrap_or_default();
        assert!(html.contains(&format!("background:{}", Tone::Good.tint())));
        assert!(html.contains("<td colspan=\"2\""), "{html}");
        assert!(!html.contains("&quot;accuracy&quot;") && !html.contains("\"accuracy\":"));
    }

    #[test]
    fn columns_keep_the_structs_order_and_numbers_read_right() {
        let m = spec("x in [1, 2] -> r --maximize steps");
        let rows = vec![
            row(
                &["1"],
                "[1]",
                Some(
                    r#"{"zeta":-0.0,"steps":18446744073709551615,"huge":123456.7,"round":20000.0,"label":"two\nlines"}"#,
                ),
                Some(1.8446744073709552e19),
            ),
            row(&["2"], "[2]", None, None),
        ];
        assert_eq!(
            result_columns(&m, &rows),
            ["zeta", "huge", "round", "label"]
        );
        let t = render_table(&m, &rows, &[0, 1], Some(0));
        let lines: Vec<&str> = t.text.lines().collect();
        assert_eq!(lines.len(), 3, "{}", t.text);
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            [
                "*",
                "0",
                "1",
                "18446744073709551615",
                "-0",
                "1.235e5",
                "20000",
                "two\\nlines"
            ]
        );
        let html = t.html.unwrap_or_default();
        assert!(
            html.contains("<td style=\"white-space:nowrap\">two\\nlines</td>"),
            "{html}"
        );
        assert!(!html.contains("two\nlines"), "{html}");
    }

    #[test]
    fn a_failed_configuration_sits_under_a_header() {
        let m = spec("n in [1, 10] -> r --maximize value");
        let rows = vec![
            row(&["1"], "[1]", Some("1.0"), Some(1.0)),
            row(&["10"], "[10]", None, None),
        ];
        let t = render_table(&m, &rows, &[0, 1], Some(0));
        let lines: Vec<&str> = t.text.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["#", "n", "value", "(max)", "error"]
        );
        // The status starts where the `error` header does.
        let at = lines[0].find("error").unwrap_or(0);
        assert_eq!(lines[2].find("FAILED"), Some(at), "{}", t.text);
        let html = t.html.unwrap_or_default();
        assert!(
            html.contains("<th style=\"white-space:nowrap;text-align:left\">error</th>"),
            "{html}"
        );
        // Every row has as many cells as the header.
        for tr in html.split("<tr").skip(2) {
            let cells = tr.matches("<td").count()
                + tr.split("colspan=\"")
                    .skip(1)
                    .map(|c| {
                        c.split('"')
                            .next()
                            .and_then(|n| n.parse::<usize>().ok())
                            .unwrap_or(1)
                            - 1
                    })
                    .sum::<usize>();
            assert_eq!(cells, 5, "{tr}");
        }
    }

    #[test]
    fn long_tables_fold_to_the_best_rows_and_a_count() {
        let m = spec("x in 0..30 -> r --minimize value --save all.csv");
        let rows: Vec<Row> = (0..30)
            .map(|i| {
                let v = (i * 7 % 30) as f64;
                row(
                    &[&i.to_string()],
                    &format!("[{i}]"),
                    Some(&v.to_string()),
                    Some(v),
                )
            })
            .collect();
        let order =
            crate::sweep::rank(&rows.iter().map(|r| r.objective).collect::<Vec<_>>(), false);
        let t = render_table(&m, &rows, &order, order.first().copied());
        let lines: Vec<&str> = t.text.lines().collect();
        assert_eq!(lines.len(), 1 + 10 + 1);
        assert_eq!(
            lines[11],
            "… 20 more configurations; all 30 are in `all.csv`"
        );
        // A plain number that is the objective is not repeated as `result`.
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["#", "x", "value", "(min)"]
        );
        assert!(t.html.unwrap_or_default().contains("<code>all.csv</code>"));
    }

    #[test]
    fn a_folded_table_still_shows_the_failed_configurations() {
        let m = spec("x in 0..30 -> r --minimize value");
        let rows: Vec<Row> = (0..30)
            .map(|i| {
                let v = i as f64;
                let ok = i % 7 != 3;
                let text = v.to_string();
                row(
                    &[&i.to_string()],
                    &format!("[{i}]"),
                    ok.then_some(text.as_str()),
                    ok.then_some(v),
                )
            })
            .collect();
        let order =
            crate::sweep::rank(&rows.iter().map(|r| r.objective).collect::<Vec<_>>(), false);
        let t = render_table(&m, &rows, &order, order.first().copied());
        let failed = t.text.lines().filter(|l| l.contains("FAILED")).count();
        assert_eq!(failed, 4, "{}", t.text);
        assert!(t.text.contains("… 16 more configurations"), "{}", t.text);
    }
}
