//! Notebook variables a task body uses (`epochs` in a sweep body, a
//! threshold in a map closure): found by name, serialized inside the session
//! into the job directory, and loaded by the task when it starts. Their
//! values are not part of the task's hash, so changing one never rebuilds.

use crate::body::names_used;
use crate::crossing::Formats;
use crate::error::MagicError;
use crate::jobdir::JobDir;
use crate::pipeline::bind::BIND_PANIC_PREFIX;
use crate::session::{EvalError, Session};

/// `(name, type)` of the session variables `body` uses, except `exclude`
/// (parameters, closure arguments, jobs a run body loads as results).
pub(super) fn captures_of(
    body: &str,
    exclude: &[String],
    session: &dyn Session,
) -> Result<Vec<(String, String)>, MagicError> {
    let vars = session.variables();
    let mut out = Vec::new();
    for name in names_used(body)? {
        if exclude.contains(&name) {
            continue;
        }
        if let Some((_, ty)) = vars.iter().find(|(n, _)| *n == name) {
            out.push((name, ty.clone()));
        }
    }
    Ok(out)
}

/// The session code that writes each capture as `captures/<name>.json` in
/// `dir` and, with `environment`, the session's environment as
/// `environment.json` (for `--export`): one block for all, None when there
/// is nothing to write.
fn captures_code(
    dir: &JobDir,
    captures: &[(String, String)],
    environment: bool,
    formats: Formats,
) -> Option<String> {
    if captures.is_empty() && !environment {
        return None;
    }
    let p = BIND_PANIC_PREFIX;
    let mut code = format!(
        "{{ std::fs::create_dir_all(r#\"{}\"#).expect(\"{p}cannot create the captures directory\");",
        dir.captures_dir().display()
    );
    for (name, _) in captures {
        code.push_str(&format!(
            " std::fs::write(r#\"{}\"#, {}).expect(\"{p}cannot write `{name}`\");",
            dir.capture(name).display(),
            crate::crossing::encode_expr(
                &format!("&{name}"),
                p,
                &format!("\"the notebook variable `{name}`\""),
                formats,
            ),
        ));
    }
    if environment {
        code.push_str(&format!(
            " std::fs::write(r#\"{}\"#, serde_json::to_string(&std::env::vars_os().map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned())).collect::<Vec<_>>()).expect(\"{p}cannot serialize the environment\")).expect(\"{p}cannot write the environment\");",
            dir.environment_file().display()
        ));
    }
    code.push_str(" }");
    Some(code)
}

/// What a failed evaluation of [`captures_code`] means for the person.
fn captures_error(captures: &[(String, String)], source: EvalError) -> MagicError {
    let list = captures
        .iter()
        .map(|(n, t)| format!("`{n}` ({t})"))
        .collect::<Vec<_>>()
        .join(", ");
    if source.unsatisfied_trait("Serialize") {
        return MagicError::Items(format!(
            "the body uses the notebook variables {list}, which are sent to the task as JSON, but: a type that is not serde::Serialize; derive Serialize and Deserialize on it, or compute the value inside the cell"
        ));
    }
    MagicError::ItemsEval {
        what: format!(
            "the body uses the notebook variables {list}, which are sent to the task as JSON, but"
        ),
        source,
    }
}

/// Writes what a new job needs from the session: its captures, the
/// environment (unless the kernel already knows it) and, with
/// `items_expr`, the items of an ITEMS expression (their count returned).
/// Values are written as JSON first, so the session compiles no RON
/// serializer for their types; the parts holding a value JSON cannot hold
/// (NaN, `None`, ...) are then written again with both formats. An ITEMS
/// expression that is not a place (it may run the person's code) is
/// written with both formats at once, so it runs once.
fn write_from_session(
    dir: &JobDir,
    captures: &[(String, String)],
    environment: bool,
    items_expr: Option<&str>,
    session: &mut dyn Session,
) -> Result<Option<usize>, MagicError> {
    // The environment the session published needs no evaluation.
    let environment = environment && !write_published_environment(dir, session)?;
    let items_formats = match items_expr {
        Some(e) if super::items::is_place(e)? => Formats::Json,
        _ => Formats::Both,
    };
    let first = Parts {
        captures,
        environment,
        items_expr,
        captures_formats: Formats::Json,
        items_formats,
    };
    let count = first.write(dir, session)?;
    let needs_both = |path: &std::path::Path| {
        std::fs::read_to_string(path).is_ok_and(|t| crate::crossing::needs_both(&t))
    };
    let again: Vec<(String, String)> = captures
        .iter()
        .filter(|(name, _)| needs_both(&dir.capture(name)))
        .cloned()
        .collect();
    let items_again = items_formats == Formats::Json && needs_both(&dir.items());
    if again.is_empty() && !items_again {
        return Ok(count);
    }
    // What was marked goes, so a failure below is blamed on the right part.
    for (name, _) in &again {
        let _ = std::fs::remove_file(dir.capture(name));
    }
    let second = Parts {
        captures: &again,
        environment: false,
        items_expr: items_expr.filter(|_| items_again),
        captures_formats: Formats::Both,
        items_formats: Formats::Both,
    };
    let recount = second.write(dir, session)?;
    Ok(if items_again { recount } else { count })
}

/// One evaluation's worth of what a job needs from the session.
struct Parts<'a> {
    captures: &'a [(String, String)],
    environment: bool,
    items_expr: Option<&'a str>,
    captures_formats: Formats,
    items_formats: Formats,
}

impl Parts<'_> {
    /// Writes the parts with one evaluation in the session; when that fails
    /// to compile (nothing ran), each part is evaluated alone so the error
    /// names its part.
    fn write(&self, dir: &JobDir, session: &mut dyn Session) -> Result<Option<usize>, MagicError> {
        let captures = self.captures;
        let captures_code = captures_code(dir, captures, self.environment, self.captures_formats);
        let items = self
            .items_expr
            .map(|e| {
                super::items::expression_code(dir, e, self.items_formats).map(|code| (e, code))
            })
            .transpose()?;
        match (captures_code, items) {
            (None, None) => Ok(None),
            (Some(code), None) => crate::phase::timed("captures (session)", || session.eval(&code))
                .map(|_| None)
                .map_err(|source| captures_error(captures, source)),
            (None, Some((expr, code))) => {
                super::items::eval_expression(dir, expr, &code, session).map(Some)
            }
            (Some(captures_code), Some((expr, items_code))) => {
                let both = format!("{{ {captures_code} {items_code} }}");
                match crate::phase::timed("captures and items (session)", || session.eval(&both)) {
                    Ok(_) => super::items::write_index(dir).map(Some),
                    Err(EvalError::Compile(_)) => {
                        crate::phase::timed("captures (session)", || session.eval(&captures_code))
                            .map_err(|source| captures_error(captures, source))?;
                        super::items::eval_expression(dir, expr, &items_code, session).map(Some)
                    }
                    // Captures are written first: the items failed if all are there.
                    Err(source) => Err(
                        if captures.iter().all(|(name, _)| dir.capture(name).exists()) {
                            super::items::expression_error(expr, session, source)
                        } else {
                            captures_error(captures, source)
                        },
                    ),
                }
            }
        }
    }
}

/// Writes the session's environment as the kernel knows it, in the format
/// of the evaluated one (a JSON list of `[name, value]`); false when the
/// kernel does not know it.
fn write_published_environment(dir: &JobDir, session: &dyn Session) -> Result<bool, MagicError> {
    let Some(vars) = session.environment() else {
        return Ok(false);
    };
    let text = serde_json::to_string(&vars).map_err(|e| MagicError::Items(e.to_string()))?;
    std::fs::write(dir.environment_file(), text)
        .map_err(crate::error::io("writing the environment"))?;
    Ok(true)
}

/// A job directory made for a cell, with what the session wrote there.
pub(super) struct NewJob {
    pub id: crate::domain::JobId,
    pub dir: JobDir,
    pub resources: crate::domain::Resources,
    /// How many items an ITEMS expression yielded (None without one).
    pub items: Option<usize>,
}

impl super::Magics {
    /// A new job directory with the captured variables, the session's
    /// environment (for `--export`) and, with `items_expr`, the items of an
    /// ITEMS expression written by the session; the resources the job asks
    /// for; and the number of items written.
    pub(super) fn new_job(
        &mut self,
        backend: crate::domain::Backend,
        options: &crate::grammar::JobOptions,
        captured: &[(String, String)],
        items_expr: Option<&str>,
        session: &mut dyn Session,
    ) -> Result<NewJob, MagicError> {
        use crate::pipeline::{plan, submit};
        let (id, dir) = submit::new_job(&mut self.ws)?;
        let resources = plan::resources(&self.ws, options);
        let environment = plan::needs_session_env(&self.ws, backend, &resources);
        let fresh = self.write_kept_captures(&dir, captured)?;
        let items = write_from_session(&dir, &fresh, environment, items_expr, session)
            .inspect_err(|_| {
                let _ = std::fs::remove_dir_all(dir.path());
            })?;
        for (name, ty) in &fresh {
            if let Ok(text) = std::fs::read_to_string(dir.capture(name)) {
                self.captured.keep(name, ty, text);
            }
        }
        Ok(NewJob {
            id,
            dir,
            resources,
            items,
        })
    }
}

impl super::Magics {
    /// Writes the captures whose values are kept ([`super::capture_cache`])
    /// and returns the others, for the session to write.
    fn write_kept_captures(
        &self,
        dir: &JobDir,
        captured: &[(String, String)],
    ) -> Result<Vec<(String, String)>, MagicError> {
        let mut fresh = Vec::new();
        for (name, ty) in captured {
            match self.captured.get(name, ty) {
                Some(text) => {
                    std::fs::create_dir_all(dir.captures_dir())
                        .and_then(|()| std::fs::write(dir.capture(name), text))
                        .map_err(crate::error::io("writing a captured value"))?;
                }
                None => fresh.push((name.clone(), ty.clone())),
            }
        }
        Ok(fresh)
    }
}

/// A task that does not compile because a captured variable's type is not
/// serde-able gets the same clear error as one that cannot be serialized.
pub(super) fn explain_build_error(err: MagicError, captures: &[(String, String)]) -> MagicError {
    let MagicError::Compile(diags) = &err else {
        return err;
    };
    let unsendable: Vec<String> = captures
        .iter()
        .filter(|(_, ty)| {
            diags.iter().any(|d| {
                d.message.contains("serde")
                    && (d.message.contains(&format!("`{ty}:"))
                        || d.message.contains(&format!("`{ty}`")))
            })
        })
        .map(|(n, t)| format!("`{n}` ({t})"))
        .collect();
    if unsendable.is_empty() {
        return err;
    }
    MagicError::Items(format!(
        "the body uses the notebook variables {}, which are sent to the task as JSON, but their type is not serde::Serialize + Deserialize; derive both on it, or compute the value inside the cell",
        unsendable.join(", ")
    ))
}

/// The argument names of a closure body (`|x: T|`, `|(a, b): (A, B)|`).
pub(super) fn closure_params(body: &str) -> Vec<String> {
    struct Idents(Vec<String>);
    impl<'a> syn::visit::Visit<'a> for Idents {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            self.0.push(p.ident.to_string());
        }
    }
    let mut ids = Idents(Vec::new());
    if let Ok(c) = syn::parse_str::<syn::ExprClosure>(body.trim().trim_end_matches(';')) {
        for input in &c.inputs {
            syn::visit::Visit::visit_pat(&mut ids, input);
        }
    }
    ids.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closure_params_are_found() {
        assert_eq!(closure_params("|x: i64| x * k"), vec!["x"]);
        assert_eq!(closure_params("|(a, b): (i64, i64)| a + b"), vec!["a", "b"]);
        assert!(closure_params("fn f(x: i64) -> i64 { x }").is_empty());
    }
}
