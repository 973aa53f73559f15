//! A sweep's configurations as the task reads them: each one's parameter
//! values as one text — a JSON array, or a RON tuple (`ron:(NaN,1,)`) when
//! a value is one JSON cannot hold (`sluice_runtime::value`) — and back, for
//! the table and plots.

use super::sweep_table::Row;
use crate::sweep::SweepSpec;

/// The JSON parameter tuple of each configuration, as the task reads it.
pub(crate) fn config_json(m: &SweepSpec, configs: &[Vec<usize>]) -> Vec<String> {
    configs
        .iter()
        .map(|c| {
            let vals: Vec<String> = c
                .iter()
                .enumerate()
                .map(|(p, &v)| m.params[p].value_json(v))
                .collect();
            if vals.iter().any(|v| crate::crossing::is_ron(v)) {
                ron_tuple(&vals)
            } else {
                format!("[{}]", vals.join(","))
            }
        })
        .collect()
}

/// A row's parameter values, for display (JSON or RON configurations).
pub(crate) fn params_of(r: &Row) -> Vec<serde_json::Value> {
    match crate::crossing::display_value(&r.params_json) {
        Some(serde_json::Value::Array(v)) => v,
        _ => Vec::new(),
    }
}

/// A configuration some of whose values JSON cannot hold (NaN, wide
/// integers), as one RON tuple text: `ron:(NaN,1,)`.
fn ron_tuple(vals: &[String]) -> String {
    let parts: Vec<String> = vals
        .iter()
        .map(
            |v| match v.trim().strip_prefix(sluice_runtime::value::RON_PREFIX) {
                Some(r) => r.to_string(),
                None => serde_json::from_str::<serde_json::Value>(v)
                    .ok()
                    .and_then(|j| ron::to_string(&j).ok())
                    .unwrap_or_else(|| v.clone()),
            },
        )
        .collect();
    format!(
        "{}({},)",
        sluice_runtime::value::RON_PREFIX,
        parts.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(line: &str) -> SweepSpec {
        crate::grammar::sweep::parse(line).expect("parses").spec
    }

    #[test]
    fn configurations_json_cannot_hold_are_ron_tuples_that_read_back() {
        let mut m = spec("x in [1.0, 2.0], n in [1, 2]");
        m.params[0].json = Some(vec!["ron:NaN".into(), "0.5".into()]);
        m.params[1].json = Some(vec![
            "ron:-170141183460469231731687303715884105728".into(),
            "2".into(),
        ]);
        let c = config_json(&m, &[vec![0, 0], vec![1, 1]]);
        assert_eq!(c[1], "[0.5,2]");
        assert_eq!(c[0], "ron:(NaN,-170141183460469231731687303715884105728,)");
        let (x, n): (f64, i128) = sluice_runtime::value::decode(&c[0]).expect("reads back");
        assert!(x.is_nan() && n == i128::MIN);
        let one: (f64,) = sluice_runtime::value::decode("ron:(inf,)").expect("1-tuple");
        assert_eq!(one.0, f64::INFINITY);
        // Strings inside a RON configuration stay strings.
        m.params[1].json = Some(vec!["\"a\\tb\"".into(), "2".into()]);
        let c = config_json(&m, &[vec![0, 0]]);
        let (_, s): (f64, String) = sluice_runtime::value::decode(&c[0]).expect("string");
        assert_eq!(s, "a\tb");
    }
}
