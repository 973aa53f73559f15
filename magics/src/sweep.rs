//! Sweeps without IO and without text: the parameters of a `%%sweep`
//! ([`SweepSpec`], parsed by `grammar::sweep`), their expansion into
//! configurations (grid, zip, or a seeded random sample of the grid), and
//! ranking results by an objective. The spec is saved with the job as JSON
//! (`sweep.spec`), so the table can be rebuilt when the job is waited for or
//! loaded later.

use serde::{Deserialize, Serialize};

/// One parameter value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A float (stored as its shortest text, so NaN and infinities survive).
    Float(#[serde(with = "float_text")] f64),
    /// A string.
    Str(String),
    /// A bool.
    Bool(bool),
}

impl Value {
    /// JSON text of the value, as the task reads it.
    pub fn json(&self, ty: ParamType) -> String {
        match (self, ty) {
            (Value::Int(i), ParamType::Float) => format!("{:?}", *i as f64),
            (Value::Int(i), _) => i.to_string(),
            (Value::Float(f), _) if f.is_finite() => format!("{f:?}"),
            (Value::Float(_), _) => "null".into(),
            (Value::Str(s), _) => serde_json::Value::String(s.clone()).to_string(),
            (Value::Bool(b), _) => b.to_string(),
        }
    }

    /// Display text.
    pub fn text(&self) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            // Six significant digits: `logspace` values stay readable.
            Value::Float(f) => format!("{:.5e}", f)
                .parse::<f64>()
                .map_or_else(|_| f.to_string(), |short| short.to_string()),
            Value::Str(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

/// The Rust type of a parameter, from its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamType {
    /// i64
    Int,
    /// f64 (ints among floats are promoted)
    Float,
    /// String
    Str,
    /// bool
    Bool,
}

impl ParamType {
    /// The Rust spelling.
    pub fn rust(&self) -> &'static str {
        match self {
            ParamType::Int => "i64",
            ParamType::Float => "f64",
            ParamType::Str => "String",
            ParamType::Bool => "bool",
        }
    }
}

/// A swept parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Its name in the body.
    pub name: String,
    /// Its values, in order (for tables and plots).
    pub values: Vec<Value>,
    /// Its kind of values.
    pub ty: ParamType,
    /// Its Rust type in the body when not the kind's own (`f32`, `u64`,
    /// `usize`: values a notebook expression gave).
    #[serde(default)]
    pub rust: Option<String>,
    /// Each value's JSON as the session wrote it (values a notebook
    /// expression gave): what the task reads, exact for every type.
    #[serde(default)]
    pub json: Option<Vec<String>>,
}

impl Param {
    /// A parameter with literal values of one kind.
    pub fn literal(name: &str, values: Vec<Value>, ty: ParamType) -> Param {
        Param {
            name: name.to_string(),
            values,
            ty,
            rust: None,
            json: None,
        }
    }

    /// Value `i` as a person reads it: an integer exactly as the session
    /// wrote it (also past `i64`: `u64::MAX`, `i128::MIN`), a float with
    /// every digit it has (tables and progress cut it to the digits that
    /// tell the column's values apart: `1000000.001` and `1000000.002`
    /// are not both `1000000`), anything else as [`Value::text`] shows it.
    pub fn shown(&self, i: usize) -> String {
        let exact = self
            .json
            .as_ref()
            .and_then(|texts| texts.get(i))
            .filter(|_| self.ty == ParamType::Int)
            .map(|t| {
                let t = t.trim();
                t.strip_prefix(sluice_runtime::value::RON_PREFIX)
                    .unwrap_or(t)
                    .to_string()
            })
            .filter(|t| t.parse::<i128>().is_ok() || t.parse::<u128>().is_ok());
        match (exact, self.values.get(i)) {
            (Some(t), _) => t,
            (None, Some(Value::Float(f))) => {
                let all = f.to_string();
                if all.len() > 24 {
                    format!("{f:e}")
                } else {
                    all
                }
            }
            (None, Some(v)) => v.text(),
            (None, None) => String::new(),
        }
    }

    /// The parameter's Rust type in the body.
    pub fn rust_type(&self) -> &str {
        self.rust.as_deref().unwrap_or(self.ty.rust())
    }

    /// The JSON of value `i`, as the task reads it.
    pub fn value_json(&self, i: usize) -> String {
        match self.json.as_ref().and_then(|j| j.get(i)) {
            Some(text) => text.clone(),
            None => self
                .values
                .get(i)
                .map_or_else(|| "null".into(), |v| v.json(self.ty)),
        }
    }
}

/// Which way the objective is better.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Objective {
    /// Larger is better; the field (or `value`).
    Maximize(String),
    /// Smaller is better.
    Minimize(String),
}

/// What a sweep runs: its parameters, how they combine, and its objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    /// The parameters.
    pub params: Vec<Param>,
    /// `--maximize` / `--minimize`.
    pub objective: Option<Objective>,
    /// `--random N`.
    pub random: Option<usize>,
    /// `--seed S` for `--random`.
    pub seed: u64,
    /// `--zip`: pair values instead of the cartesian product.
    pub zip: bool,
    /// `--save FILE` (.csv or .json).
    pub save: Option<String>,
}

/// Configurations this many or more are refused (use --random).
pub const MAX_CONFIGS: usize = 100_000;

/// A float as Rust's shortest round-trip text (`0.1`, `NaN`, `inf`).
mod float_text {
    pub fn serialize<S: serde::Serializer>(f: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{f:?}"))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The configurations, as value indices per parameter, in a reproducible order.
pub fn expand(m: &SweepSpec) -> Result<Vec<Vec<usize>>, String> {
    let lens: Vec<usize> = m.params.iter().map(|p| p.values.len()).collect();
    if m.zip {
        let n = lens[0];
        if lens.iter().any(|&l| l != n) {
            return Err(format!(
                "--zip needs parameters with the same number of values; they have {lens:?}"
            ));
        }
        return Ok((0..n).map(|i| vec![i; lens.len()]).collect());
    }
    let total = lens.iter().try_fold(1usize, |acc, &l| acc.checked_mul(l));
    let grid_size = total.unwrap_or(usize::MAX);
    let index = |mut k: usize| -> Vec<usize> {
        let mut out = vec![0; lens.len()];
        for (d, &l) in lens.iter().enumerate().rev() {
            out[d] = k % l;
            k /= l;
        }
        out
    };
    match m.random {
        Some(n) => {
            if n > MAX_CONFIGS {
                return Err(format!(
                    "--random {n}: at most {MAX_CONFIGS} configurations per sweep"
                ));
            }
            if n > grid_size {
                return Err(format!(
                    "--random {n}: the grid has only {grid_size} configuration{}; run it whole without --random",
                    if grid_size == 1 { "" } else { "s" }
                ));
            }
            let mut rng = SplitMix(m.seed);
            if grid_size <= 4 * MAX_CONFIGS {
                // Sample without replacement: a seeded partial shuffle of the grid.
                let mut all: Vec<usize> = (0..grid_size).collect();
                for i in 0..n {
                    let j = i + (rng.next() % (grid_size - i) as u64) as usize;
                    all.swap(i, j);
                }
                Ok(all[..n].iter().map(|&k| index(k)).collect())
            } else {
                Ok((0..n)
                    .map(|_| {
                        lens.iter()
                            .map(|&l| (rng.next() % l as u64) as usize)
                            .collect()
                    })
                    .collect())
            }
        }
        None => {
            if grid_size > MAX_CONFIGS {
                return Err(format!(
                    "the grid has {} configurations, more than {MAX_CONFIGS}; sample it with --random N",
                    total.map_or("too many".to_string(), |t| t.to_string())
                ));
            }
            Ok((0..grid_size).map(index).collect())
        }
    }
}

/// splitmix64: a small, well-known generator; the same seed gives the same sample everywhere.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The objective value of one result (JSON), or why there is none.
pub fn objective_of(result: &serde_json::Value, field: &str) -> Result<f64, String> {
    let v = if field == "value" && !result.is_object() {
        result
    } else {
        let mut cur = result;
        for part in field.split('.') {
            cur = cur.get(part).ok_or_else(|| match cur {
                serde_json::Value::Object(o) if o.is_empty() => {
                    format!("the result has no fields, so no `{field}`")
                }
                serde_json::Value::Object(o) => format!(
                    "the result has no field `{field}` (fields: {})",
                    o.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                // A unit struct (`struct Empty;`) is written as null.
                serde_json::Value::Null => format!("the result has no fields, so no `{field}`"),
                _ => format!("the result has no field `{field}`: it is a plain value, use `value`"),
            })?;
        }
        cur
    };
    match v {
        serde_json::Value::Number(n) => n.as_f64().ok_or_else(|| "not a number".into()),
        serde_json::Value::Null => Ok(f64::NAN),
        // Non-finite floats, as `crossing::display_value` shows them.
        serde_json::Value::String(s) if s == "NaN" => Ok(f64::NAN),
        serde_json::Value::String(s) if s == "inf" => Ok(f64::INFINITY),
        serde_json::Value::String(s) if s == "-inf" => Ok(f64::NEG_INFINITY),
        // A u128/i128 past what JSON numbers hold exactly crosses as its
        // digits: ranked by its nearest f64.
        serde_json::Value::String(s) if s.parse::<i128>().is_ok() || s.parse::<u128>().is_ok() => {
            Ok(s.parse::<f64>().unwrap_or(f64::NAN))
        }
        other => Err(format!("`{field}` is {other}, not a number")),
    }
}

/// Orders configuration indices best first: finite values, then ±inf (a
/// run that diverged is never the best), then NaN, then missing.
pub fn rank(objectives: &[Option<f64>], maximize: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..objectives.len()).collect();
    let key = |i: &usize| -> (u8, f64) {
        match objectives[*i] {
            Some(v) if v.is_finite() => (0, if maximize { -v } else { v }),
            Some(v) if !v.is_nan() => (1, if maximize { -v } else { v }),
            Some(_) => (2, 0.0),
            None => (3, 0.0),
        }
    };
    idx.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(a.cmp(b))
    });
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_through_json_with_any_float() {
        let spec = SweepSpec {
            params: vec![Param {
                name: "lr".into(),
                values: vec![
                    Value::Float(0.1),
                    Value::Float(f64::INFINITY),
                    Value::Float(-0.0),
                ],
                ty: ParamType::Float,
                rust: Some("f32".into()),
                json: Some(vec!["0.1".into(), "1e999".into(), "-0.0".into()]),
            }],
            objective: Some(Objective::Minimize("loss".into())),
            random: None,
            seed: 0,
            zip: false,
            save: Some("t.csv".into()),
        };
        let text = serde_json::to_string(&spec).expect("serializes");
        let back: SweepSpec = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, spec);
        let nan = Value::Float(f64::NAN);
        let text = serde_json::to_string(&nan).expect("serializes");
        assert!(matches!(serde_json::from_str(&text), Ok(Value::Float(f)) if f.is_nan()));
    }

    #[test]
    fn a_random_sample_never_exceeds_its_grid() {
        let m = |random| {
            let mut spec = crate::grammar::sweep::parse("a in 0..3, b in [1, 2]")
                .expect("parses")
                .spec;
            spec.random = Some(random);
            spec.seed = 7;
            spec
        };
        let six = expand(&m(6)).expect("the whole grid");
        let mut sorted = six.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 6, "{six:?}");
        let e = expand(&m(7)).expect_err("more than the grid");
        assert!(e.contains("the grid has only 6 configurations"), "{e}");
    }

    #[test]
    fn objectives_and_ranking() {
        let r = serde_json::json!({"accuracy": 0.9, "loss": 1});
        assert_eq!(objective_of(&r, "accuracy"), Ok(0.9));
        assert!(
            objective_of(&r, "acc")
                .expect_err("missing")
                .contains("accuracy")
        );
        assert_eq!(objective_of(&serde_json::json!(3.5), "value"), Ok(3.5));
        assert!(objective_of(&serde_json::json!("x"), "value").is_err());
        // A struct with no fields (`{}`) or a unit struct (null) says so,
        // never an empty list.
        for empty in [serde_json::json!({}), serde_json::Value::Null] {
            assert_eq!(
                objective_of(&empty, "x"),
                Err("the result has no fields, so no `x`".to_string())
            );
        }
        assert_eq!(
            objective_of(&serde_json::json!({"a": {}}), "a.b"),
            Err("the result has no fields, so no `a.b`".to_string())
        );
        let order = rank(&[Some(0.5), Some(f64::NAN), Some(0.9), None], true);
        assert_eq!(order, vec![2, 0, 1, 3]);
        assert_eq!(rank(&[Some(0.5), Some(0.1)], false), vec![1, 0]);
        let inf = [
            Some(f64::INFINITY),
            Some(0.2),
            Some(f64::NAN),
            Some(0.9),
            Some(f64::NEG_INFINITY),
        ];
        assert_eq!(
            rank(&inf, true),
            vec![3, 1, 0, 4, 2],
            "finite first, then ±inf"
        );
        assert_eq!(rank(&inf, false), vec![1, 3, 4, 0, 2]);
        let wide = serde_json::json!({"big": "340282366920938463463374607431768211455", "low": "-170141183460469231731687303715884105728"});
        assert_eq!(objective_of(&wide, "big"), Ok(u128::MAX as f64));
        assert_eq!(objective_of(&wide, "low"), Ok(i128::MIN as f64));
        assert!(objective_of(&serde_json::json!({"t": "text"}), "t").is_err());
    }
}
