//! The `%%sweep` line: `PARAM in VALUES, ... [-> NAME] [--maximize F |
//! --minimize F] [--random N --seed S] [--zip] [--save FILE] [OPTIONS]`, with
//! VALUES a list, a range, `linspace(..)` or `logspace(..)`. No IO.

use super::options::JobOptions;
use super::{GrammarError, binding_name_problem};
use crate::sweep::{MAX_CONFIGS, Objective, Param, ParamType, SweepSpec, Value};

/// Values given as a Rust expression of the notebook (`lrs`, `[base, base
/// * 10.0]`, `0..n`): evaluated in the session before the sweep expands.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuesExpression {
    /// Index of the parameter in `spec.params` (its values are empty until
    /// the expression is evaluated).
    pub param: usize,
    /// The expression.
    pub text: String,
    /// Why the text is not literal values, for when it does not compile
    /// either.
    pub literal_error: String,
}

/// A parsed `%%sweep` line.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepMagic {
    /// What to sweep.
    pub spec: SweepSpec,
    /// Parameters whose values the session gives.
    pub expressions: Vec<ValuesExpression>,
    /// `-> NAME` (default `sweep`).
    pub name: Option<String>,
    /// Shared job options.
    pub options: JobOptions,
}

/// The `%%sweep` options as clap defines them (help, completion).
pub fn command() -> clap::Command {
    <SweepFlags as clap::CommandFactory>::command()
}

#[derive(clap::Parser, Debug)]
#[command(
    name = "%%sweep",
    no_binary_name = true,
    about = "One array over a parameter grid: %%sweep PARAM in VALUES, ... [-> NAME] [OPTIONS]; VALUES: [1, 2, 3] | 0..4 | 1..=3 | linspace(0, 1, 5) | logspace(-3, -1, 3)"
)]
struct SweepFlags {
    /// Rank by this field of the result, highest first (`value` for a plain number).
    #[arg(long, conflicts_with = "minimize", value_name = "FIELD")]
    maximize: Option<String>,
    /// Rank by this field of the result, lowest first (`value` for a plain number).
    #[arg(long, value_name = "FIELD")]
    minimize: Option<String>,
    /// Run N configurations drawn at random from the grid (at most its size).
    #[arg(long, value_name = "N", value_parser = parse_random, allow_hyphen_values = true)]
    random: Option<usize>,
    /// The seed of `--random`'s draw (the same seed draws the same configurations).
    #[arg(long, default_value_t = 0, value_name = "S", value_parser = parse_seed, allow_hyphen_values = true)]
    seed: u64,
    /// Pair the parameters' values position by position instead of crossing them.
    #[arg(long)]
    zip: bool,
    /// Write every configuration and its result to FILE (CSV).
    #[arg(long, value_name = "FILE")]
    save: Option<String>,
    #[command(flatten)]
    options: JobOptions,
}

/// `--random N`: 1 to [`MAX_CONFIGS`] configurations.
fn parse_random(s: &str) -> Result<usize, String> {
    let max = u64::try_from(MAX_CONFIGS).unwrap_or(u64::MAX);
    let n = super::options::whole_number("--random", s, 1, max)?;
    usize::try_from(n).map_err(|e| e.to_string())
}

/// `--seed S`: any u64.
fn parse_seed(s: &str) -> Result<u64, String> {
    super::options::whole_number("--seed", s, 0, u64::MAX)
}

/// A correct `%%sweep` line, shown after what is wrong.
const EXAMPLE: &str = "%%sweep lr in [0.1, 0.01] -> fit";

/// One line: what is wrong with the `%%sweep` line, and a correct line to
/// copy (the grammar tests parse it).
fn err(m: impl Into<String>) -> GrammarError {
    GrammarError::new(format!("{}; for example `{EXAMPLE}`", m.into()))
}

/// Parses everything after `%%sweep` on the first line.
pub fn parse(line: &str) -> Result<SweepMagic, GrammarError> {
    let (spec, rest) = super::split_at_options(line);
    let (params, expressions) = parse_params(spec)?;
    let words = shlex::split(rest).ok_or_else(|| err("unbalanced quotes"))?;
    let mut name = None;
    let mut flags = Vec::new();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        if w == "->" {
            name = Some(it.next().ok_or_else(|| err("`->` needs a NAME after it"))?);
        } else if let Some(n) = w.strip_prefix("->") {
            name = Some(n.to_string());
        } else {
            flags.push(w);
        }
    }
    if let Some(n) = &name
        && let Some(why) = binding_name_problem(n)
    {
        return Err(err(format!("`-> {n}`: {why}")).at(n.as_str()));
    }
    let f = <SweepFlags as clap::Parser>::try_parse_from(flags)
        .map_err(|e| super::clap_err(e, "%%sweep", Some("%%sweep")))?;
    let objective = match (f.maximize, f.minimize) {
        (Some(m), _) => Some(Objective::Maximize(m)),
        (_, Some(m)) => Some(Objective::Minimize(m)),
        _ => None,
    };
    Ok(SweepMagic {
        expressions,
        spec: SweepSpec {
            params,
            objective,
            random: f.random,
            seed: f.seed,
            zip: f.zip,
            save: f.save,
        },
        name,
        options: f.options,
    })
}

/// `PARAM in VALUES` split at its `in`, or what is missing.
fn split_param(part: &str) -> Result<(&str, &str), GrammarError> {
    if part.is_empty() {
        return Err(err("a parameter is missing between two commas"));
    }
    let (name, values) = if part == "in" {
        ("", "")
    } else if let Some(values) = part.strip_prefix("in ") {
        ("", values)
    } else if let Some(name) = part.strip_suffix(" in") {
        (name, "")
    } else if let Some(split) = part.split_once(" in ") {
        split
    } else {
        let name = part.split_whitespace().next().unwrap_or(part);
        return Err(err(format!(
            "`{part}` has no `in`: write PARAM in VALUES (`{name} in [..]`)"
        ))
        .at(part));
    };
    let (name, values) = (name.trim(), values.trim());
    if name.is_empty() {
        return Err(err(format!(
            "`{part}` has no parameter name before `in`: write PARAM in VALUES"
        )));
    }
    if values.is_empty() {
        return Err(err(format!(
            "parameter `{name}` has no values after `in`: give a list, a range, linspace(..) or logspace(..)"
        ))
        .at(name));
    }
    Ok((name, values))
}

fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote = false;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '"' => quote = !quote,
            '[' | '(' if !quote => depth += 1,
            ']' | ')' if !quote => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 && !quote {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn parse_params(spec: &str) -> Result<(Vec<Param>, Vec<ValuesExpression>), GrammarError> {
    if spec.trim().is_empty() {
        return Err(err(
            "`%%sweep` needs a parameter and its values: PARAM in VALUES",
        ));
    }
    let mut params: Vec<Param> = Vec::new();
    let mut expressions = Vec::new();
    for part in split_top(spec, ',') {
        let part = part.trim();
        let (name, values) = split_param(part)?;
        if let Some(why) = binding_name_problem(name) {
            return Err(err(format!("parameter {why}")).at(name));
        }
        if params.iter().any(|p| p.name == name) {
            return Err(err(format!("parameter `{name}` is given twice")));
        }
        let values = match parse_values(values.trim()) {
            Ok(v) => v,
            Err(Unparsed::Invalid(m)) => return Err(err(format!("{name}: {m}"))),
            Err(Unparsed::NotLiteral(why)) => {
                // A Rust expression of the notebook: the session gives the values.
                expressions.push(ValuesExpression {
                    param: params.len(),
                    text: values.trim().to_string(),
                    literal_error: format!("{name}: {why}"),
                });
                params.push(Param::literal(name, Vec::new(), ParamType::Int));
                continue;
            }
        };
        if values.is_empty() {
            return Err(err(format!("parameter `{name}` has no values")));
        }
        let ty = type_of(&values).map_err(|m| err(format!("{name}: {m}")))?;
        params.push(Param::literal(name, values, ty));
    }
    Ok((params, expressions))
}

/// Why VALUES are not literal values.
enum Unparsed {
    /// A literal form written wrong (`linspace(0, 1)`, a huge range).
    Invalid(String),
    /// Not literal values at all: perhaps a Rust expression.
    NotLiteral(String),
}

impl From<String> for Unparsed {
    fn from(m: String) -> Unparsed {
        Unparsed::Invalid(m)
    }
}

fn parse_values(s: &str) -> Result<Vec<Value>, Unparsed> {
    let num = |x: &str| -> Result<f64, String> {
        x.trim()
            .replace('_', "")
            .parse::<f64>()
            .map_err(|_| format!("`{}` is not a number", x.trim()))
    };
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        if inner.trim().is_empty() {
            return Ok(Vec::new());
        }
        return split_top(inner, ',')
            .iter()
            .map(|v| literal(v.trim()))
            .collect::<Result<Vec<Value>, String>>()
            .map_err(Unparsed::NotLiteral);
    }
    for (fname, log) in [("linspace", false), ("logspace", true)] {
        if let Some(args) = s
            .strip_prefix(fname)
            .and_then(|r| r.trim().strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
        {
            let a: Vec<&str> = args.split(',').collect();
            if a.len() != 3 {
                return Err(format!("{fname}(start, stop, n) takes three arguments").into());
            }
            let (lo, hi) = (
                num(a[0]).map_err(Unparsed::NotLiteral)?,
                num(a[1]).map_err(Unparsed::NotLiteral)?,
            );
            let count = a[2].trim();
            let n = match count.parse::<usize>() {
                Ok(n) if (1..=MAX_CONFIGS).contains(&n) => n,
                // A number, but negative, zero, a fraction or too big.
                _ if looks_numeric(count) || count.parse::<usize>().is_ok() => {
                    return Err(format!(
                        "{fname}(start, stop, n): n is a whole number from 1 to {MAX_CONFIGS}, not `{count}`"
                    )
                    .into());
                }
                _ => {
                    return Err(Unparsed::NotLiteral(format!("`{count}` is not a count")));
                }
            };
            return Ok((0..n)
                .map(|i| {
                    let t = if n == 1 {
                        lo
                    } else {
                        lo + (hi - lo) * i as f64 / (n - 1) as f64
                    };
                    Value::Float(if log { 10f64.powf(t) } else { t })
                })
                .collect());
        }
    }
    if let Some((a, b)) = s.split_once("..") {
        let (b, inclusive) = match b.strip_prefix('=') {
            Some(b) => (b, true),
            None => (b, false),
        };
        let parse = |x: &str| {
            x.trim()
                .replace('_', "")
                .parse::<i64>()
                .map_err(|_| format!("`{}` is not an integer", x.trim()))
        };
        let (a, b) = match (parse(a), parse(b)) {
            (Ok(a), Ok(b)) => (a, b),
            // `0..n`: bounds from the notebook.
            (Err(e), _) | (_, Err(e)) if !looks_numeric(s) => return Err(Unparsed::NotLiteral(e)),
            (Err(e), _) | (_, Err(e)) => return Err(e.into()),
        };
        // i128: no bound of an i64 range can overflow here.
        let end = i128::from(b) + i128::from(inclusive);
        if end - i128::from(a) > MAX_CONFIGS as i128 {
            return Err(format!("the range {s} has more than {MAX_CONFIGS} values").into());
        }
        return Ok((i128::from(a)..end)
            .filter_map(|v| i64::try_from(v).ok())
            .map(Value::Int)
            .collect());
    }
    Err(Unparsed::NotLiteral(format!(
        "`{s}` is not a list [..], a range a..b, linspace(..) or logspace(..)"
    )))
}

/// A range written with digits only (`0..99999999999999999999`): too big,
/// not an expression.
fn looks_numeric(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_digit() || "-_.=+ ".contains(c))
}

fn literal(v: &str) -> Result<Value, String> {
    if let Some(s) = v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return Ok(Value::Str(s.to_string()));
    }
    match v {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    let clean = v.replace('_', "");
    if let Ok(i) = clean.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    clean
        .trim_end_matches("f64")
        .parse::<f64>()
        .map(Value::Float)
        .map_err(|_| format!("`{v}` is not a number, string or bool"))
}

fn type_of(values: &[Value]) -> Result<ParamType, String> {
    let mut ty: Option<ParamType> = None;
    for v in values {
        let t = match v {
            Value::Int(_) => ParamType::Int,
            Value::Float(_) => ParamType::Float,
            Value::Str(_) => ParamType::Str,
            Value::Bool(_) => ParamType::Bool,
        };
        ty = Some(match (ty, t) {
            (None, t) => t,
            (Some(a), b) if a == b => a,
            (Some(ParamType::Int), ParamType::Float) | (Some(ParamType::Float), ParamType::Int) => {
                ParamType::Float
            }
            (Some(a), b) => return Err(format!("mixes {} and {} values", a.rust(), b.rust())),
        });
    }
    ty.ok_or_else(|| "no values".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::expand;

    #[test]
    fn parses_the_seed_sweep() {
        let m = parse(
            " lr in [1e-3, 1e-2, 1e-1], bs in [32, 64], seed in 0..2 -> runs --maximize accuracy",
        )
        .expect("parses");
        assert_eq!(m.spec.params.len(), 3);
        assert_eq!(m.spec.params[0].ty, ParamType::Float);
        assert_eq!(
            m.spec.params[1].values,
            vec![Value::Int(32), Value::Int(64)]
        );
        assert_eq!(m.spec.params[2].values, vec![Value::Int(0), Value::Int(1)]);
        assert_eq!(m.name.as_deref(), Some("runs"));
        assert_eq!(
            m.spec.objective,
            Some(Objective::Maximize("accuracy".into()))
        );
        assert_eq!(expand(&m.spec).expect("grid").len(), 12);
    }

    #[test]
    fn grid_order_is_row_major() {
        let m = parse("a in [1, 2], b in [\"x\", \"y\"]").expect("parses");
        assert_eq!(
            expand(&m.spec).expect("grid"),
            vec![vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]]
        );
    }

    #[test]
    fn spacing_helpers() {
        let m = parse("x in linspace(0, 1, 5), y in logspace(-2, 0, 3)").expect("parses");
        assert_eq!(m.spec.params[0].values[2], Value::Float(0.5));
        assert_eq!(Value::Float(0.039810717055349734).text(), "0.0398107");
        assert_eq!(Value::Float(0.001).text(), "0.001");
        match &m.spec.params[1].values[0] {
            Value::Float(f) => assert!((f - 0.01).abs() < 1e-12),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn values_from_the_notebook_are_expressions() {
        let m = parse("lr in lrs, bs in [32, 64], x in [base, base * 10.0], n in 0..k -> r")
            .expect("parses");
        let texts: Vec<(usize, &str)> = m
            .expressions
            .iter()
            .map(|e| (e.param, e.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            vec![(0, "lrs"), (2, "[base, base * 10.0]"), (3, "0..k")]
        );
        assert_eq!(
            m.spec.params[1].values,
            vec![Value::Int(32), Value::Int(64)]
        );
        assert!(
            parse("lr in linspace(0, 1)").is_err(),
            "a literal form written wrong stays an error"
        );
    }

    #[test]
    fn zip_and_random_are_reproducible() {
        let m = parse("a in [1, 2, 3], b in [4, 5, 6] --zip").expect("parses");
        assert_eq!(
            expand(&m.spec).expect("zip"),
            vec![vec![0, 0], vec![1, 1], vec![2, 2]]
        );
        let r = parse("a in 0..100, b in 0..100 --random 7 --seed 42").expect("parses");
        let s1 = expand(&r.spec).expect("random");
        let s2 = expand(&r.spec).expect("random");
        assert_eq!(s1, s2);
        assert_eq!(s1.len(), 7);
        let mut uniq = s1.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), 7);
        let other = parse("a in 0..100, b in 0..100 --random 7 --seed 43").expect("parses");
        assert_ne!(expand(&other.spec).expect("random"), s1);
    }

    #[test]
    fn bad_sweeps() {
        assert!(parse("lr in []").is_err());
        assert!(
            parse("lr in [1], lr in [2]")
                .expect_err("dup")
                .message
                .contains("twice")
        );
        assert!(parse("lr in [1, \"a\"]").is_err());
        let e = parse("lr in [one, two]").expect("an expression for the session");
        assert_eq!(e.expressions.len(), 1);
        assert!(e.expressions[0].literal_error.contains("not a number"));
        assert!(parse("").is_err());
        let big = parse("a in 0..1000, b in 0..1000").expect("parses");
        assert!(expand(&big.spec).expect_err("too big").contains("--random"));
        // Extreme bounds are refused, never overflow.
        assert!(parse("a in -9223372036854775808..9223372036854775807").is_err());
        assert!(parse("a in 9223372036854775807..=9223372036854775807").is_ok());
        assert!(parse("a in 0..99999999999999999999").is_err());
        assert!(parse("a in linspace(0, 1, 18446744073709551615)").is_err());
        // A count that is a number but out of range is said, not taken for
        // an expression of the notebook.
        for n in ["-3", "0", "2.5", "100001", "99999999999999999999999"] {
            let e = parse(&format!("a in linspace(0, 1, {n})")).expect_err(n);
            assert!(
                e.message.starts_with(&format!(
                    "a: linspace(start, stop, n): n is a whole number from 1 to 100000, not `{n}`"
                )),
                "{n}: {}",
                e.message
            );
        }
        let zip = parse("a in [1, 2], b in [1] --zip").expect("parses");
        assert!(expand(&zip.spec).is_err());
    }
}
