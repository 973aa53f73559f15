//! One cell of a finished sweep's table as a person reads it: the
//! objective (a whole number exactly as the task wrote it, a float to four
//! significant digits), each result field (in the struct's order, compact,
//! cut to a width where shown, whole in the HTML cell's `title`), a
//! parameter's value; every cell on one line. No IO.

use super::sweep_config::params_of;
use super::sweep_table::Row;
use crate::debug_text::Node;
use crate::numfmt::{json_number, sig};
use crate::render::esc;
use crate::sweep::{Objective, ParamType, SweepSpec};

/// Significant digits of the numbers shown (the `--save` file has them all).
const DIGITS: usize = 4;
/// The longest text shown in one cell.
const CELL_CHARS: usize = 40;

/// Significant digits per column of floats: [`DIGITS`], or as many more as
/// it takes for different values to read differently (`1.0001` and
/// `1.0002`, not `1` twice): a parameter's for the whole column, the
/// objective's value by value (a near-tie gets its digits, the other rows
/// keep four).
#[derive(Debug, Clone)]
pub(super) struct Digits {
    /// Per parameter.
    pub params: Vec<usize>,
    /// The objective's, value by value.
    pub objective: crate::numfmt::ValueDigits,
}

impl Digits {
    /// The digits the rows' values need.
    pub(super) fn of(m: &SweepSpec, rows: &[Row]) -> Digits {
        let params = (0..m.params.len())
            .map(|p| {
                distinguishing(
                    rows.iter()
                        .filter_map(|r| r.params.get(p).and_then(|v| v.parse::<f64>().ok())),
                )
            })
            .collect();
        Digits {
            params,
            objective: crate::numfmt::ValueDigits::new(
                rows.iter().filter_map(|r| r.objective),
                DIGITS,
            ),
        }
    }
}

/// The fewest significant digits, from [`DIGITS`], at which the different
/// finite `values` all read differently.
fn distinguishing(values: impl Iterator<Item = f64>) -> usize {
    crate::numfmt::distinguishing_digits(values, DIGITS)
}

/// The objective's cell: a whole number as the task wrote it (a `u64`
/// stays exact), a float to `digits` significant digits.
fn objective_text(m: &SweepSpec, r: &Row, digits: &crate::numfmt::ValueDigits) -> String {
    let written = r.result.as_ref().and_then(|v| {
        let f = objective_field(m)?;
        v.get(f).or((f == "value").then_some(v))
    });
    // An integer exactly, at any width (a `u128` past `u64::MAX` too).
    let exact = || {
        let text = r.result_text.as_deref()?;
        crate::crossing::integer_at(text, objective_field(m)?)
    };
    match written {
        Some(v @ serde_json::Value::Number(n)) if !n.is_f64() => v.to_string(),
        _ => exact().unwrap_or_else(|| {
            r.objective
                .map_or_else(String::new, |v| sig(v, digits.of(v)))
        }),
    }
}

/// `s` on one line: line breaks, tabs and other control characters
/// written as Rust escapes (`\n`), so no cell breaks a row of the table.
fn one_line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The objective's field name (`accuracy`; `value` for a plain number).
fn objective_field(m: &SweepSpec) -> Option<&str> {
    match &m.objective {
        Some(Objective::Maximize(f) | Objective::Minimize(f)) => Some(f.as_str()),
        None => None,
    }
}

/// The result's columns besides the objective: each field of the result
/// struct in the order the task wrote them, less fields that only repeat a
/// parameter (same name, same value in every row). A result that is not a
/// struct is one `result` column, unless it is the objective itself.
pub(super) fn result_columns(m: &SweepSpec, rows: &[Row]) -> Vec<String> {
    let objective = objective_field(m);
    let mut fields: Vec<String> = Vec::new();
    let mut plain = false;
    for r in rows {
        // Read by its type: a struct's fields are the columns; a map's
        // keys are, as below; anything else (an enum too) is one column.
        if let Some(t) = &r.typed {
            match t.field_names() {
                Some(names) => {
                    for k in names {
                        if Some(k) != objective && !fields.iter().any(|f| f == k) {
                            fields.push(k.to_string());
                        }
                    }
                    continue;
                }
                None if !matches!(t, Node::Map(_)) => {
                    plain = true;
                    continue;
                }
                None => {}
            }
        }
        match &r.result {
            Some(serde_json::Value::Object(map)) => {
                // The struct's order, as the text has it (the map sorts).
                let mut keys = r
                    .result_text
                    .as_deref()
                    .map(crate::crossing::field_order)
                    .unwrap_or_default();
                keys.retain(|k| map.contains_key(k));
                keys.extend(
                    map.keys()
                        .filter(|k| !keys.contains(k))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                for k in keys {
                    if Some(k.as_str()) != objective && !fields.contains(&k) {
                        fields.push(k);
                    }
                }
            }
            Some(_) => plain = true,
            None => {}
        }
    }
    fields.retain(|f| {
        let Some(p) = m.params.iter().position(|p| &p.name == f) else {
            return true;
        };
        !rows.iter().all(|r| {
            let json = params_of(r);
            match (r.result.as_ref().and_then(|v| v.get(f)), json.get(p)) {
                (Some(a), Some(b)) => a == b || (a.as_f64().is_some() && a.as_f64() == b.as_f64()),
                (None, _) => r.result.is_none(),
                _ => false,
            }
        })
    });
    if plain && objective != Some("value") {
        fields.insert(0, "result".into());
    }
    fields
}

/// One result field: numbers to a few significant digits, text as it is,
/// lists and structs written compactly (no quotes on keys); whole (the
/// table cuts it where it shows it: [`cut`]).
fn field_text(v: &serde_json::Value) -> String {
    fn compact(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Null => "NaN".into(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => json_number(n, DIGITS),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => {
                format!("[{}]", a.iter().map(compact).collect::<Vec<_>>().join(", "))
            }
            serde_json::Value::Object(o) => format!(
                "{{{}}}",
                o.iter()
                    .map(|(k, v)| format!("{k}: {}", compact(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    compact(v)
}

/// `text` as a table shows it: cut at [`CELL_CHARS`] display columns,
/// ending in `…`.
pub(super) fn cut(text: &str) -> String {
    use crate::text_table::width;
    if width(text) > CELL_CHARS {
        // By display width: a wide character takes two of the columns.
        let mut used = 0;
        let cut: String = text
            .chars()
            .take_while(|c| {
                used += width(c.encode_utf8(&mut [0; 4]));
                used < CELL_CHARS
            })
            .collect();
        format!("{cut}…")
    } else {
        text.to_string()
    }
}

/// Keeps a cell's text on one line. On each cell, not the table: the
/// front ends' own rule for cells (JupyterLab's `td { white-space: normal
/// }`) wins over one inherited from the table.
pub(super) const NOWRAP: &str = "white-space:nowrap";

/// An HTML table cell of `text`, on one line ([`NOWRAP`]): cut as [`cut`]
/// does, the whole text in its `title` (shown on hover) when it was cut;
/// both escaped.
pub(super) fn td(text: &str) -> String {
    let shown = cut(text);
    if shown == text {
        format!("<td style=\"{NOWRAP}\">{}</td>", esc(text))
    } else {
        format!(
            "<td style=\"{NOWRAP}\" title=\"{}\">{}</td>",
            esc(text),
            esc(&shown)
        )
    }
}

/// The cells of one row after the parameters: the objective, then each
/// result column; a failed row has its status in the first result column.
/// Whole texts, on one line: the table cuts them ([`cut`], [`td`]).
pub(super) fn row_cells(
    m: &SweepSpec,
    r: &Row,
    columns: &[String],
    digits: &Digits,
) -> Vec<String> {
    let mut cells = Vec::new();
    if m.objective.is_some() {
        cells.push(objective_text(m, r, &digits.objective));
    }
    // Where JSON lost the words (`None`, an enum variant, NaN), the
    // result's RON text has them.
    let ron = r
        .result_text
        .as_deref()
        .map(crate::crossing::ron_fields)
        .unwrap_or_default();
    // A map keeps its compact form (its RON text is JSON-like, with every
    // digit); a named value (`Big(n: 7)`, `None`, `Some(())`) its words.
    let worded = |c: &str, v: &serde_json::Value| match v {
        serde_json::Value::Null | serde_json::Value::Object(_) => ron
            .iter()
            .find(|(k, _)| k == c)
            .map(|(_, t)| t.clone())
            .filter(|t| v.is_null() || !t.starts_with('{')),
        _ => None,
    };
    // An integer past 64 bits, which JSON's reading made a float: exactly.
    let exact = |path: &str, v: &serde_json::Value| match v {
        serde_json::Value::Number(n) if n.is_f64() => r
            .result_text
            .as_deref()
            .and_then(|t| crate::crossing::integer_at(t, path)),
        _ => None,
    };
    match (&r.result, &r.typed) {
        (Some(_), Some(t)) => cells.extend(columns.iter().map(|c| typed_cell(t, c))),
        (Some(v), None) => cells.extend(columns.iter().map(|c| {
            match v {
                serde_json::Value::Object(map) => map
                    .get(c)
                    .map(|f| {
                        worded(c, f)
                            .or_else(|| exact(c, f))
                            .unwrap_or_else(|| field_text(f))
                    })
                    .unwrap_or_default(),
                other if c == "result" => {
                    exact("value", other).unwrap_or_else(|| field_text(other))
                }
                _ => String::new(),
            }
        })),
        (None, _) => cells.push(r.status.trim().to_string()),
    }
    cells.iter().map(|c| one_line(c)).collect()
}

/// The cell of column `c` of a result read by its type: a struct's field,
/// a map's entry under the key `c`, or the whole value (`result`), as
/// Debug writes it with floats to [`DIGITS`] significant digits.
fn typed_cell(t: &Node, c: &str) -> String {
    let found = match t {
        Node::Struct(..) => t.field(c),
        Node::Map(entries) => entries
            .iter()
            .find(|(k, _)| matches!(k, Node::Str(s) if s == c))
            .map(|(_, v)| v),
        _ => (c == "result").then_some(t),
    };
    found.map_or_else(String::new, |v| v.text(Some(DIGITS)))
}

/// A parameter's value as shown (floats to the column's significant
/// digits, integers exact).
pub(super) fn param_text(m: &SweepSpec, p: usize, shown: &str, digits: &Digits) -> String {
    match m.params.get(p).map(|p| p.ty) {
        Some(ParamType::Float) => shown.parse::<f64>().map_or_else(
            |_| one_line(shown),
            |f| sig(f, digits.params.get(p).copied().unwrap_or(DIGITS)),
        ),
        _ => one_line(shown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_values_get_the_digits_that_tell_them_apart() {
        let d = |v: &[f64]| distinguishing(v.iter().copied());
        assert_eq!(d(&[0.1, 0.01, 1e-4]), DIGITS);
        assert_eq!(d(&[1.0001, 1.0002, 1.0003, 1.0004]), 5);
        assert_eq!(d(&[1_000_000.001_000_1, 1_000_000.001_000_2]), 14);
        assert_eq!(d(&[1.0, 1.0, f64::NAN, f64::INFINITY]), DIGITS);
        assert_eq!(d(&[0.1 + 0.2, 0.3]), 17);
        assert_eq!(sig(1_000_000.001_000_1, 14), "1000000.0010001");
    }

    #[test]
    fn float_parameters_keep_their_digits_for_the_table_to_cut() {
        use crate::sweep::{Param, ParamType, Value};
        let x = Param::literal(
            "x",
            vec![
                Value::Float(1_000_000.001),
                Value::Float(1_000_000.002),
                Value::Float(1e300),
            ],
            ParamType::Float,
        );
        let shown: Vec<String> = (0..3).map(|i| x.shown(i)).collect();
        assert_eq!(shown, ["1000000.001", "1000000.002", "1e300"]);
    }

    /// A sweep's rows of results of `ty`, read by the notebook's `items`.
    fn typed_rows(items: &str, ty: &str, results: &[&str]) -> Vec<Row> {
        let mut notebook = crate::notebook::Notebook::default();
        notebook.record(1, items);
        let reader = crate::debug_text::Reader::new(ty, &notebook);
        results
            .iter()
            .enumerate()
            .map(|(i, r)| Row {
                params: vec![i.to_string()],
                params_json: format!("[{i}]"),
                result: crate::crossing::display_value(r),
                result_text: Some(r.to_string()),
                typed: reader.as_ref().and_then(|t| t.read(r)),
                objective: crate::crossing::display_value(r)
                    .and_then(|v| v.get("loss").and_then(serde_json::Value::as_f64)),
                status: "ok".into(),
            })
            .collect()
    }

    #[test]
    fn enum_fields_read_as_debug_writes_them_in_the_table_and_its_file() {
        let items = r#"
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub enum Outcome { Converged(u64), Diverged { at: f64 }, Stalled }
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct Fit { pub loss: f64, pub outcome: Outcome, pub counts: std::collections::HashMap<String, u64> }
"#;
        let m = crate::grammar::sweep::parse("k in [0, 1, 2, 3] -> r --minimize loss")
            .expect("parses")
            .spec;
        let rows = typed_rows(
            items,
            "Fit",
            &[
                r#"{"loss":0.123456,"outcome":{"Converged":7},"counts":{"Converged":7}}"#,
                r#"{"loss":0.5,"outcome":{"Diverged":{"at":2.5}},"counts":{}}"#,
                r#"{"loss":0.75,"outcome":"Stalled","counts":{"a":1}}"#,
                "ron:(loss:NaN,outcome:Diverged(at:0.333333333),counts:{})",
            ],
        );
        assert_eq!(result_columns(&m, &rows), ["outcome", "counts"]);
        let digits = Digits::of(&m, &rows);
        let cells =
            |i: usize| row_cells(&m, &rows[i], &["outcome".into(), "counts".into()], &digits);
        assert_eq!(cells(0), ["0.1235", "Converged(7)", "{\"Converged\": 7}"]);
        assert_eq!(cells(1), ["0.5", "Diverged { at: 2.5 }", "{}"]);
        assert_eq!(cells(2), ["0.75", "Stalled", "{\"a\": 1}"]);
        assert_eq!(cells(3)[1], "Diverged { at: 0.3333 }");
        let t = super::super::sweep_table::render_table(&m, &rows, &[0, 1, 2, 3], Some(0));
        assert!(t.text.contains("Diverged { at: 2.5 }"), "{}", t.text);
        let html = t.html.unwrap_or_default();
        for cell in [
            "Converged(7)",
            "Diverged { at: 2.5 }",
            "Stalled",
            "{&quot;Converged&quot;: 7}",
        ] {
            assert!(html.contains(&format!(">{cell}</td>")), "{cell} in {html}");
        }
        // The file has every digit, as Debug writes them.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fit.csv");
        super::super::sweep_table::save(&path, &m, &rows, &[0, 1, 2, 3]).expect("saved");
        let csv = std::fs::read_to_string(&path).expect("read");
        assert!(csv.contains(",Converged(7),"), "{csv}");
        assert!(csv.contains(",Diverged { at: 0.333333333 },"), "{csv}");
        // The map's column as Debug writes it; the value's text stays last.
        assert!(csv.contains(",\"{\"\"Converged\"\": 7}\",ok,"), "{csv}");
    }

    #[test]
    fn a_result_that_is_an_enum_or_a_map_keeps_its_columns_right() {
        let items = "#[derive(serde::Serialize, serde::Deserialize, Debug)]\npub enum Outcome { Converged(u64), Stalled }\n";
        let m = crate::grammar::sweep::parse("k in [0, 1] -> r")
            .expect("parses")
            .spec;
        // An enum is one column, not one per variant name.
        let rows = typed_rows(items, "Outcome", &[r#"{"Converged":7}"#, r#""Stalled""#]);
        assert_eq!(result_columns(&m, &rows), ["result"]);
        let digits = Digits::of(&m, &rows);
        assert_eq!(
            row_cells(&m, &rows[0], &["result".into()], &digits),
            ["Converged(7)"]
        );
        assert_eq!(
            row_cells(&m, &rows[1], &["result".into()], &digits),
            ["Stalled"]
        );
        // A type that does not resolve keeps today's rendering.
        let rows = typed_rows(items, "Unknown", &[r#"{"Converged":7}"#]);
        assert_eq!(result_columns(&m, &rows), ["Converged"]);
    }

    #[test]
    fn control_characters_are_written_as_escapes() {
        assert_eq!(one_line("plain"), "plain");
        assert_eq!(one_line("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(one_line("bell\u{7}"), "bell\\u{7}");
    }

    #[test]
    fn a_cut_cell_keeps_its_whole_text_in_its_title() {
        assert_eq!(
            td("short & sweet"),
            "<td style=\"white-space:nowrap\">short &amp; sweet</td>"
        );
        let long = format!("<b>{}</b> \"end\"", "x".repeat(50));
        let cell = td(&long);
        assert!(
            cell.starts_with(&format!(
                "<td style=\"white-space:nowrap\" title=\"&lt;b&gt;{}&lt;/b&gt; &quot;end&quot;\">",
                "x".repeat(50)
            )),
            "{cell}"
        );
        assert!(cell.ends_with("…</td>"), "{cell}");
        assert_eq!(cut(&long).chars().count(), CELL_CHARS);
        // Wide characters count two columns each.
        let wide = cut(&"学".repeat(30));
        assert_eq!(crate::text_table::width(&wide), CELL_CHARS - 1, "{wide}");
    }
}
