//! The kernel's side of the magics seam: `Session` over the evcxr context
//! and `Display` over iopub, for the duration of one magic cell.

use std::collections::HashMap;

use evcxr::CommandContext;
use jupyter_protocol::{DisplayData, JupyterMessage, Transient, UpdateDisplayData};
use sluice_magics::session::{CompileDiagnostic, Display, EvalError, Rendered, Session};

use super::interrupt::Interrupter;
use crate::display;
use crate::iopub::Iopub;
use crate::streams::{Ending, Streams};

/// Evaluates magic-generated code in the user's session.
pub(super) struct EvcxrSession<'a> {
    pub ctx: &'a mut CommandContext,
    pub streams: Option<&'a Streams>,
    pub cache: &'a mut super::compile_cache::CompileCache,
}

impl Session for EvcxrSession<'_> {
    fn eval(&mut self, code: &str) -> Result<String, EvalError> {
        self.cache.before(self.ctx, code);
        let result = self.ctx.execute(code);
        let report = self.streams.map(Streams::flush_cell).unwrap_or_default();
        match (result, report.panic, report.ending) {
            (_, _, Some(Ending::Restored { cause, .. })) => Err(EvalError::ProcessEnded {
                cause,
                restored: true,
            }),
            (_, _, Some(Ending::Lost { cause, .. })) => Err(EvalError::ProcessEnded {
                cause,
                restored: false,
            }),
            (_, Some(p), None) => Err(EvalError::Panic {
                message: p.message,
                // The magic's own code, generated around the cell's
                // expression: a line the notebook does not have.
                location: if p.location.starts_with("src/lib.rs:") {
                    String::new()
                } else {
                    p.location
                },
            }),
            (Ok(out), None, None) => Ok(out.get("text/plain").unwrap_or_default().to_string()),
            (Err(evcxr::Error::CompilationErrors(errs)), None, None) => {
                Err(EvalError::Compile(errs.iter().map(diagnostic).collect()))
            }
            (Err(evcxr::Error::SubprocessTerminated(text)), None, None) => {
                Err(EvalError::ProcessEnded {
                    cause: text,
                    restored: false,
                })
            }
            (Err(e), None, None) => Err(EvalError::Other(e.to_string())),
        }
    }

    fn check(&mut self, code: &str) -> Result<(), EvalError> {
        match self.ctx.check(code) {
            Ok(errors) if errors.is_empty() => Ok(()),
            Ok(errors) => Err(EvalError::Compile(errors.iter().map(diagnostic).collect())),
            Err(e) => Err(EvalError::Other(e.to_string())),
        }
    }

    /// `:dep NAME = SPEC` for each crate, then an empty statement so the
    /// session is rebuilt (and evcxr drops what it drops) right away.
    fn add_dependencies(&mut self, deps: &[(&str, &str)]) -> Result<(), EvalError> {
        let mut code: String = deps
            .iter()
            .map(|(name, spec)| format!(":dep {name} = {spec}\n"))
            .collect();
        code.push_str("()");
        self.eval(&code).map(|_| ())
    }

    fn variables(&self) -> Vec<(String, String)> {
        self.ctx
            .variables_and_types()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    fn environment(&self) -> Option<Vec<(String, String)>> {
        crate::runtime::environment::read_published()
    }
}

/// rustc's headline with its primary label (`mismatched types: expected
/// `u64`, found `i32``), then the rest of its message.
fn diagnostic(e: &evcxr::CompilationError) -> CompileDiagnostic {
    let message = e.message();
    let label = e
        .primary_spanned_message()
        .map(|m| m.label.trim())
        .filter(|l| !l.is_empty());
    let message = match (label, message.split_once('\n')) {
        (Some(l), Some((head, rest))) => format!("{head}: {l}\n{rest}"),
        (Some(l), None) => format!("{message}: {l}"),
        (None, _) => message,
    };
    CompileDiagnostic {
        code: e.code().map(str::to_string),
        message,
    }
}

/// Shows magic outputs as children of the executing request.
pub(super) struct IopubDisplay<'a> {
    pub iopub: &'a Iopub,
    pub parent: &'a JupyterMessage,
    pub interrupter: &'a Interrupter,
}

fn bundle(out: &Rendered) -> jupyter_protocol::Media {
    let mut map = HashMap::new();
    map.insert("text/plain".to_string(), out.text.clone());
    if let Some(html) = &out.html {
        map.insert("text/html".to_string(), html.clone());
    }
    if let Some(svg) = &out.svg {
        map.insert("image/svg+xml".to_string(), svg.clone());
    }
    display::split(&map, true).result.unwrap_or_default()
}

impl Display for IopubDisplay<'_> {
    fn show(&mut self, out: &Rendered, id: Option<&str>) {
        let mut d = DisplayData::new(bundle(out));
        if let Some(id) = id {
            d.transient = Some(Transient {
                display_id: Some(id.to_string()),
            });
        }
        self.iopub.send(d.as_child_of(self.parent));
    }

    fn update(&mut self, out: &Rendered, id: &str) {
        self.iopub
            .send(UpdateDisplayData::new(bundle(out), id).as_child_of(self.parent));
    }

    fn interrupted(&self) -> bool {
        self.interrupter.was_requested()
    }
}
