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
    let code = format!(
        "{{ fn __sluice_type_of<T>(_: &[T]) -> &'static str {{ std::any::type_name::<T>() }} \
let __sluice_v: Vec<_> = {iter}.collect(); \
std::fs::write(r#\"{path}\"#, format!(\"{{}}\\n{{}}\", __sluice_type_of(&__sluice_v), serde_json::to_string(&__sluice_v).expect(\"{p}cannot serialize the values\"))).expect(\"{p}cannot write the values\"); }}",
        path = scratch.display()
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
    let (type_name, json) = text.split_once('\n').unwrap_or((text.as_str(), "[]"));
    param_of(name, &e.text, type_name, json)
}

/// The parameter from the element type (`std::any::type_name`) and the
/// JSON array the session wrote.
fn param_of(name: &str, expr: &str, type_name: &str, json: &str) -> Result<Param, MagicError> {
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
    let items: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|e| {
        MagicError::Items(format!(
            "{name}: the values of `{expr}` did not read back: {e}"
        ))
    })?;
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
    let values = items.iter().map(value_of).collect();
    Ok(Param {
        name: name.to_string(),
        values,
        ty,
        rust: rust.filter(|r| r != ty.rust()),
        json: Some(items.iter().map(|v| v.to_string()).collect()),
    })
}

/// A value for tables and plots (the JSON is what the task reads).
fn value_of(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
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
        let p = param_of("lr", "lrs", "&f32", "[0.001,0.1]").expect("floats");
        assert_eq!(p.ty, ParamType::Float);
        assert_eq!(p.rust_type(), "f32");
        assert_eq!(p.values, vec![Value::Float(0.001), Value::Float(0.1)]);
        assert_eq!(p.value_json(1), "0.1");
        let p = param_of("n", "0..k", "u64", "[0,18446744073709551615]").expect("ints");
        assert_eq!((p.ty, p.rust_type()), (ParamType::Int, "u64"));
        assert_eq!(p.value_json(1), "18446744073709551615");
        let p = param_of("x", "xs", "i64", "[1]").expect("i64");
        assert_eq!((p.rust.as_deref(), p.rust_type()), (None, "i64"));
        let p = param_of("s", "names", "&alloc::string::String", "[\"a\"]").expect("strings");
        assert_eq!(p.rust_type(), "String");
        assert!(param_of("p", "points", "Point", "[{}]").is_err());
        assert!(param_of("e", "v", "i64", "[]").is_err());
    }
}
