//! Sweep VALUES given as Rust expressions of the notebook (`lr in lrs`,
//! `x in [base, base * 10.0]`, `n in 0..k`): evaluated in the session,
//! which writes their element type and their JSON, and turned into the
//! parameter's values before the sweep expands.

use std::path::Path;

use super::items::iteration;
use crate::error::{MagicError, io};
use crate::grammar::sweep::{SweepMagic, ValuesExpression};
use crate::pipeline::bind::BIND_PANIC_PREFIX;
use crate::session::Session;
use crate::sweep::{MAX_CONFIGS, Param, ParamType, Value};

/// Evaluates every values expression of `m` in the session and fills in
/// its parameter; `scratch` is a file the session may write.
///
/// # Errors
/// An expression that does not evaluate (with the literal reading's error
/// too), gives no values, too many, or values that are not numbers,
/// strings or bools.
pub(super) fn resolve(
    m: &mut SweepMagic,
    scratch: &Path,
    session: &mut dyn Session,
) -> Result<(), MagicError> {
    for e in std::mem::take(&mut m.expressions) {
        let Some(param) = m.spec.params.get_mut(e.param) else {
            continue;
        };
        *param = evaluate(&param.name, &e, scratch, session)?;
    }
    Ok(())
}

fn evaluate(
    name: &str,
    e: &ValuesExpression,
    scratch: &Path,
    session: &mut dyn Session,
) -> Result<Param, MagicError> {
    let iter = iteration(&e.text).map_err(|_| MagicError::Items(e.literal_error.clone()))?;
    let p = BIND_PANIC_PREFIX;
    // The element type on the first line, then each value's text
    // (`crossing`: JSON, or RON for NaN, infinities, wide integers).
    let code = format!(
        "{{ fn __sluice_type_of<T>(_: &[T]) -> &'static str {{ std::any::type_name::<T>() }} \
let __sluice_all: Vec<_> = {iter}.collect(); \
let mut __sluice_out = String::from(__sluice_type_of(&__sluice_all)); \
for __sluice_x in &__sluice_all {{ __sluice_out.push('\\n'); __sluice_out.push_str(&{enc}); }} \
std::fs::write(r#\"{path}\"#, __sluice_out).expect(\"{p}cannot write the values\"); }}",
        path = scratch.display(),
        enc = crate::crossing::encode_expr(
            "__sluice_x",
            p,
            "\"a sweep value\"",
            crate::crossing::Formats::Both
        ),
    );
    crate::phase::timed("sweep values (session)", || session.eval(&code)).map_err(|source| {
        MagicError::ItemsEval {
            what: format!(
                "{}; read as a Rust expression of the notebook, `{}` does not give values either",
                e.literal_error, e.text
            ),
            source,
        }
    })?;
    let text = std::fs::read_to_string(scratch).map_err(io("reading the sweep's values"))?;
    let _ = std::fs::remove_file(scratch);
    let mut lines = text.lines();
    let type_name = lines.next().unwrap_or_default();
    param_of(name, &e.text, type_name, &lines.collect::<Vec<_>>())
}

/// The parameter from the element type (`std::any::type_name`) and the
/// value texts the session wrote (JSON, or `ron:` and RON).
fn param_of(name: &str, expr: &str, type_name: &str, texts: &[&str]) -> Result<Param, MagicError> {
    let elem = type_name.trim().trim_start_matches('&').trim();
    let (ty, rust) = match elem {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => (ParamType::Int, Some(elem.to_string())),
        "f32" | "f64" => (ParamType::Float, Some(elem.to_string())),
        "alloc::string::String" | "str" => (ParamType::Str, None),
        "bool" => (ParamType::Bool, None),
        other => {
            return Err(MagicError::Items(format!(
                "{name}: sweep values must be numbers, strings or bools; `{expr}` gives {other}"
            )));
        }
    };
    let items: Vec<serde_json::Value> = texts
        .iter()
        .map(|t| {
            crate::crossing::display_value(t).ok_or_else(|| {
                MagicError::Items(format!(
                    "{name}: a value of `{expr}` did not read back: {t}"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    if items.is_empty() {
        return Err(MagicError::Items(format!(
            "parameter `{name}` has no values (`{expr}` is empty)"
        )));
    }
    if items.len() > MAX_CONFIGS {
        return Err(MagicError::Items(format!(
            "parameter `{name}`: `{expr}` gives {} values, more than {MAX_CONFIGS}",
            items.len()
        )));
    }
    let values = items.iter().map(|v| value_of(v, ty)).collect();
    Ok(Param {
        name: name.to_string(),
        values,
        ty,
        rust: rust.filter(|r| r != ty.rust()),
        json: Some(texts.iter().map(|t| t.trim().to_string()).collect()),
    })
}

/// A value for tables and plots (the text is what the task reads).
fn value_of(v: &serde_json::Value, ty: ParamType) -> Value {
    match v {
        // An integer wider than i64 (shown as its digits): a number still.
        serde_json::Value::String(s) if ty == ParamType::Int && s.parse::<i128>().is_ok() => {
            Value::Float(s.parse().unwrap_or(f64::NAN))
        }
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        // Non-finite floats, as `crossing::display_value` shows them.
        serde_json::Value::String(s) if s == "NaN" => Value::Float(f64::NAN),
        serde_json::Value::String(s) if s == "inf" => Value::Float(f64::INFINITY),
        serde_json::Value::String(s) if s == "-inf" => Value::Float(f64::NEG_INFINITY),
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Bool(b) => Value::Bool(*b),
        _ => Value::Float(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_types_become_parameter_types() {
        let p = param_of("lr", "lrs", "&f32", &["0.001", "0.1"]).expect("floats");
        assert_eq!(p.ty, ParamType::Float);
        assert_eq!(p.rust_type(), "f32");
        assert_eq!(p.values, vec![Value::Float(0.001), Value::Float(0.1)]);
        assert_eq!(p.value_json(1), "0.1");
        let p = param_of("n", "0..k", "u64", &["0", "18446744073709551615"]).expect("ints");
        assert_eq!((p.ty, p.rust_type()), (ParamType::Int, "u64"));
        assert_eq!(p.value_json(1), "18446744073709551615");
        let p = param_of("x", "xs", "i64", &["1"]).expect("i64");
        assert_eq!((p.rust.as_deref(), p.rust_type()), (None, "i64"));
        let p = param_of("s", "names", "&alloc::string::String", &["\"a\""]).expect("strings");
        assert_eq!(p.rust_type(), "String");
        assert!(param_of("p", "points", "Point", &["{}"]).is_err());
        assert!(param_of("e", "v", "i64", &[]).is_err());
    }

    #[test]
    fn values_json_cannot_hold_keep_their_text() {
        let p = param_of("x", "xs", "f64", &["ron:NaN", "ron:inf", "-0.0"]).expect("floats");
        assert!(matches!(p.values[0], Value::Float(v) if v.is_nan()));
        assert_eq!(p.values[1], Value::Float(f64::INFINITY));
        assert_eq!(p.value_json(0), "ron:NaN");
        assert_eq!(p.value_json(2), "-0.0");
        let p = param_of(
            "b",
            "bs",
            "i128",
            &["ron:-170141183460469231731687303715884105728"],
        )
        .expect("i128");
        assert_eq!(
            p.value_json(0),
            "ron:-170141183460469231731687303715884105728"
        );
    }
}
