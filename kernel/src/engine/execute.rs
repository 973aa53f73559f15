//! The engine thread's loop: warm-up, then execute/complete/inspect requests
//! in order, turning evcxr's results into Jupyter outputs and replies.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;

use evcxr::{CommandContext, EvalCallbacks};
use jupyter_protocol::{
    ErrorOutput, ExecuteInput, ExecuteReply, ExecuteRequest, ExecuteResult, ExecutionCount,
    JupyterMessage, ReplyError, ReplyStatus,
};
use sluice_magics::diagnostic::{CellSpan, Diagnostic, Label};

use super::compile_cache::CompileCache;
use super::deferred_items::{self, DeferredItems, Source};
use super::fast_display::FastDisplay;
use super::interrupt::Interrupter;
use super::magic_bridge::{EvcxrSession, IopubDisplay};
use super::{Outlets, Request, introspect, pager, session_api};
use crate::display;
use crate::streams::{PanicReport, Streams};
use sluice_magics::cell::Magics;

mod waiting;

use waiting::primary_line;

/// How a cell ended, before it becomes messages.
pub(super) enum Outcome {
    /// Ran to the end; rich outputs by MIME type.
    Ok(HashMap<String, String>),
    /// Failed; what the user sees.
    Err(ErrorOutput),
    /// A `?name` cell: documentation for the pager (`None`: none found).
    Page(String, Option<jupyter_protocol::Media>),
}

pub(super) struct Worker {
    outlets: Outlets,
    interrupter: Interrupter,
    ctx: Result<CommandContext, String>,
    streams: Option<Streams>,
    count: usize,
    magics: Magics,
    cache: CompileCache,
    display: FastDisplay,
    items: DeferredItems,
}

impl Worker {
    pub(super) fn new(outlets: Outlets, interrupter: Interrupter) -> Self {
        Worker {
            outlets,
            interrupter,
            ctx: Err("the Rust engine is still starting".into()),
            streams: None,
            count: 0,
            magics: Magics::default(),
            cache: CompileCache::from_env(),
            display: FastDisplay::from_env(),
            items: DeferredItems::from_env(),
        }
    }

    pub(super) fn run(mut self, rx: Receiver<Request>) {
        self.warm_up();
        while let Ok(req) = rx.recv() {
            match req {
                Request::Execute(msg, req) => {
                    let queued = self.execute(&msg, &req, &rx);
                    self.abort_queued(queued);
                }
                Request::Complete(msg, req) => {
                    self.outlets.iopub.busy(&msg);
                    let reply = self.complete(&req);
                    let _ = self.outlets.shell.send(reply.as_child_of(&msg));
                    self.outlets.iopub.idle(&msg);
                }
                Request::Inspect(msg, req) => {
                    self.outlets.iopub.busy(&msg);
                    let reply = self.inspect(&req);
                    let _ = self.outlets.shell.send(reply.as_child_of(&msg));
                    self.outlets.iopub.idle(&msg);
                }
            }
        }
    }

    /// Completions, with the waiting items as context.
    fn complete(
        &mut self,
        req: &jupyter_protocol::CompleteRequest,
    ) -> jupyter_protocol::CompleteReply {
        let context = self.items.alone().map(|a| a.code).unwrap_or_default();
        match &mut self.ctx {
            Ok(ctx) => introspect::complete(ctx, req, &context),
            Err(_) => introspect::complete_empty(req),
        }
    }

    /// Inspection, with the waiting items as context.
    fn inspect(
        &mut self,
        req: &jupyter_protocol::InspectRequest,
    ) -> jupyter_protocol::InspectReply {
        let context = self.items.alone().map(|a| a.code).unwrap_or_default();
        match &mut self.ctx {
            Ok(ctx) => introspect::inspect(ctx, req, &context),
            Err(_) => introspect::inspect_empty(),
        }
    }

    /// Creates the evcxr context and compiles a first trivial cell, so the
    /// user's first cell does not pay for it.
    fn warm_up(&mut self) {
        let started = std::time::Instant::now();
        match CommandContext::new() {
            Ok((mut ctx, outputs)) => {
                let streams =
                    Streams::start(outputs.stdout, outputs.stderr, self.outlets.iopub.clone());
                self.interrupter.set_child(ctx.process_handle());
                streams.set_child(ctx.process_handle());
                streams.set_parent(None);
                // Neither serde_json nor evcxr's compile cache is set up
                // here: both slow every cell, so they join at the first
                // `:dep` (see magics' serde_dep.rs and compile_cache.rs).
                // SLUICE_CELL_OPT sets the cells' opt-level (evcxr's default
                // is 2; 0 compiles cells fastest, the code they run is slower).
                if let Ok(opt) = std::env::var("SLUICE_CELL_OPT")
                    && let Err(e) = ctx.execute(&format!(":opt {opt}"))
                {
                    tracing::warn!("SLUICE_CELL_OPT={opt}: {e}");
                }
                let context_ready = started.elapsed();
                self.display.install(&mut ctx, &session_api::module());
                tracing::debug!(
                    "evcxr context {context_ready:?}, session items {:?}",
                    started.elapsed() - context_ready
                );
                streams.flush();
                self.streams = Some(streams);
                self.ctx = Ok(ctx);
                tracing::info!("evcxr ready in {:?}", started.elapsed());
            }
            Err(e) => {
                tracing::error!("evcxr failed to start: {e}");
                self.ctx = Err(format!("the Rust engine could not start: {e}"));
            }
        }
    }

    /// Runs one execute request. If it failed with `stop_on_error`, returns
    /// the requests that were queued before its reply went out (to abort).
    fn execute(
        &mut self,
        msg: &JupyterMessage,
        req: &ExecuteRequest,
        rx: &Receiver<Request>,
    ) -> Vec<Request> {
        let iopub = self.outlets.iopub.clone();
        iopub.busy(msg);
        let counts = !req.silent && req.store_history;
        if counts {
            self.count += 1;
        }
        let count = ExecutionCount::new(self.count);
        if !req.silent {
            iopub.send(
                ExecuteInput {
                    code: req.code.clone(),
                    execution_count: count,
                }
                .as_child_of(msg),
            );
        }

        let outcome = match pager::request(&req.code) {
            Some(name) => {
                let reply = self.inspect(&pager::inspect_request(name));
                Outcome::Page(name.to_string(), reply.found.then_some(reply.data))
            }
            None => self.evaluate(msg, req, self.count),
        };
        let mut payload = vec![];
        let (status, error, plain) = match outcome {
            Outcome::Page(_, Some(data)) => {
                payload.push(pager::page(data));
                (ReplyStatus::Ok, None, String::new())
            }
            Outcome::Page(name, None) => {
                if !req.silent {
                    iopub.send(
                        jupyter_protocol::StreamContent::stdout(&format!(
                            "No documentation found for `{name}`.\n"
                        ))
                        .as_child_of(msg),
                    );
                }
                (ReplyStatus::Ok, None, String::new())
            }
            Outcome::Ok(content) => {
                let outputs = display::split(&content, req.code.trim_start().starts_with(':'));
                let plain = content.get("text/plain").cloned().unwrap_or_default();
                if !req.silent {
                    if let Some(data) = outputs.display {
                        iopub.send(jupyter_protocol::DisplayData::new(data).as_child_of(msg));
                    }
                    if let Some(data) = outputs.result {
                        iopub.send(
                            ExecuteResult {
                                execution_count: count,
                                data,
                                metadata: Default::default(),
                                transient: Some(jupyter_protocol::Transient { display_id: None }),
                            }
                            .as_child_of(msg),
                        );
                    }
                }
                (ReplyStatus::Ok, None, plain)
            }
            Outcome::Err(err) => {
                iopub.send(err.clone().as_child_of(msg));
                let reply_err = ReplyError {
                    ename: err.ename,
                    evalue: err.evalue,
                    traceback: err.traceback,
                };
                (ReplyStatus::Error, Some(Box::new(reply_err)), String::new())
            }
        };
        // Only what was sent before the client could see this error is
        // aborted: a request sent after the reply runs normally.
        let queued: Vec<Request> = if status == ReplyStatus::Error && req.stop_on_error {
            rx.try_iter().collect()
        } else {
            Vec::new()
        };
        if counts && let Ok(mut h) = self.outlets.history.lock() {
            h.record(self.count, &req.code, &plain);
        }
        let reply = ExecuteReply {
            status,
            execution_count: count,
            payload,
            user_expressions: Some(HashMap::new()),
            error,
        };
        let _ = self.outlets.shell.send(reply.as_child_of(msg));
        iopub.idle(msg);
        queued
    }

    /// Evaluates the cell's code with evcxr and classifies the result.
    fn evaluate(&mut self, msg: &JupyterMessage, req: &ExecuteRequest, count: usize) -> Outcome {
        if let Err(reason) = &self.ctx {
            return Outcome::Err(simple_error("EngineUnavailable", reason));
        }
        if req.code.trim().is_empty() {
            return Outcome::Ok(HashMap::new());
        }
        // Magic cells, evcxr commands and shell lines see the session as the
        // cells before them left it: waiting items are built first.
        let shape = deferred_items::shape(&req.code);
        if Magics::is_magic(&req.code) || deferred_items::starts_with_command(&req.code) {
            if let Err(e) = self.build_waiting_items() {
                return Outcome::Err(e);
            }
            if Magics::is_magic(&req.code) {
                return self.run_magic(msg, &req.code);
            }
        } else if let Some(sh) = &shape
            && let Some(outcome) = self.try_defer(count, &req.code, sh)
        {
            return outcome;
        }
        let (block, binds) = match self.block_for(&req.code, shape.as_ref()) {
            Ok(b) => b,
            Err(e) => return Outcome::Err(e),
        };
        let ctx = match &mut self.ctx {
            Ok(ctx) => ctx,
            Err(reason) => return Outcome::Err(simple_error("EngineUnavailable", reason)),
        };
        let streams = self.streams.clone();
        if let Some(s) = &streams {
            s.set_parent(Some(msg.clone()));
        }
        let vars_before: Vec<(String, String)> = ctx
            .variables_and_types()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();

        let stdin = self.outlets.stdin.clone();
        let parent = msg.clone();
        let allow_stdin = req.allow_stdin;
        let mut callbacks = EvalCallbacks {
            input_reader: &move |input| {
                if !allow_stdin {
                    return String::new();
                }
                let (tx, rx) = std::sync::mpsc::channel();
                if stdin
                    .send((parent.clone(), input.prompt, input.is_password, tx))
                    .is_err()
                {
                    return String::new();
                }
                rx.recv().unwrap_or_default()
            },
        };

        let offset = block.start_of(Source::Cell).unwrap_or(1) - 1;
        let code = block.code.as_str();

        self.cache.before(ctx, code);
        self.interrupter.set_busy(true);
        let started = std::time::Instant::now();
        let result = ctx.execute_with_callbacks(code, &mut callbacks);
        let evcxr_done = started.elapsed();
        self.interrupter.set_busy(false);
        let panic = streams.as_ref().and_then(Streams::flush);
        tracing::debug!(
            "cell: evcxr {:.1} ms ({}), stream flush {:.1} ms",
            evcxr_done.as_secs_f64() * 1e3,
            result
                .as_ref()
                .map(|o| o
                    .phases
                    .iter()
                    .map(|p| format!("{} {:.1} ms", p.name, p.duration.as_secs_f64() * 1e3))
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            (started.elapsed() - evcxr_done).as_secs_f64() * 1e3
        );
        let interrupted = self.interrupter.was_requested();

        // evcxr keeps a block's items once the block was built and run
        // (also when the run panicked).
        if result.is_ok() {
            self.items.clear();
        }
        match result {
            Ok(outputs) => match panic {
                Some(p) => {
                    // A waiting bind that panics (its results file is gone)
                    // is dropped; one that did not run yet stays waiting.
                    if binds && Magics::is_bind_panic(&p.message) {
                        self.magics.pending_done();
                    }
                    Outcome::Err(panic_error(&p))
                }
                None => {
                    self.magics.pending_done();
                    self.magics.record_cell(&req.code);
                    if req.code.trim_start().starts_with(':') {
                        self.display
                            .after_command(ctx, &req.code, &session_api::module());
                    }
                    // The user's first `:dep` already made evcxr drop what it
                    // drops: add serde_json for the magics right behind it.
                    if !self.magics.serde_json_ready() && starts_with_dep(&req.code) {
                        let mut session = EvcxrSession {
                            ctx: &mut *ctx,
                            streams: streams.as_ref(),
                            cache: &mut self.cache,
                        };
                        let mut display = IopubDisplay {
                            iopub: &self.outlets.iopub,
                            parent: msg,
                            interrupter: &self.interrupter,
                        };
                        if let Err(e) = self.magics.ensure_serde_json(&mut session, &mut display) {
                            tracing::warn!("{e}");
                        }
                    }
                    Outcome::Ok(outputs.content_by_mime_type)
                }
            },
            Err(evcxr::Error::CompilationErrors(errors)) => {
                let sources: Vec<Source> = errors
                    .iter()
                    .filter_map(|e| primary_line(e).and_then(|l| block.source_of(l)))
                    .collect();
                if let Some(cell) = sources.iter().find_map(|s| match s {
                    Source::Deferred(n) => Some(*n),
                    _ => None,
                }) {
                    return Outcome::Err(self.items_failed(&errors, &block, cell));
                }
                if sources.contains(&Source::Prelude) {
                    // A waiting bind no longer compiles (say, its type was
                    // redefined): drop it rather than block every later cell.
                    let names = self.magics.pending_names().join(", ");
                    self.magics.pending_done();
                    let first = errors.first().map(|e| e.message()).unwrap_or_default();
                    return Outcome::Err(simple_error(
                        "BindError",
                        &format!(
                            "the results of {names} could not be bound ({first}); this cell did not run. Run it again; `%slurm load NAME` binds the results once their type compiles"
                        ),
                    ));
                }
                if !self.items.is_empty() && !sources.contains(&Source::Cell) {
                    // No error points into this cell: blame the waiting
                    // items rather than block every later cell.
                    let first = self.items.cells().first().copied().unwrap_or(count);
                    return Outcome::Err(self.items_failed(&errors, &block, first));
                }
                Outcome::Err(compile_error(&errors, &req.code, offset))
            }
            Err(evcxr::Error::SubprocessTerminated(text)) => {
                let lost = lost_list(&vars_before);
                if interrupted {
                    Outcome::Err(ErrorOutput {
                        ename: "Interrupted".into(),
                        evalue: format!("the cell was stopped; {lost}"),
                        traceback: vec![
                            "Interrupted: the cell was stopped by killing the process that ran it.".into(),
                            lost_detail(&vars_before),
                            "Functions, types, `use`s and `:dep`s are kept; re-run the cells that defined the lost variables.".into(),
                        ],
                    })
                } else {
                    Outcome::Err(ErrorOutput {
                        ename: "ProcessDied".into(),
                        evalue: format!("the evaluation process ended unexpectedly; {lost}"),
                        traceback: vec![
                            format!("ProcessDied: {}", text.trim()),
                            lost_detail(&vars_before),
                        ],
                    })
                }
            }
            Err(evcxr::Error::TypeRedefinedVariablesLost(vars)) => Outcome::Err(ErrorOutput {
                ename: "VariablesLost".into(),
                evalue: format!(
                    "a type was redefined; these variables were lost: {}",
                    vars.join(", ")
                ),
                traceback: vec![format!(
                    "VariablesLost: redefining a type dropped the variables that held the old type: {}",
                    vars.join(", ")
                )],
            }),
            Err(e) => Outcome::Err(simple_error("Error", &e.to_string())),
        }
    }

    /// Runs a magic cell through the magics crate.
    fn run_magic(&mut self, msg: &JupyterMessage, code: &str) -> Outcome {
        let ctx = match &mut self.ctx {
            Ok(ctx) => ctx,
            Err(reason) => return Outcome::Err(simple_error("EngineUnavailable", reason)),
        };
        if let Some(s) = &self.streams {
            s.set_parent(Some(msg.clone()));
        }
        self.interrupter.set_magic(true);
        self.interrupter.set_busy(true);
        let mut session = EvcxrSession {
            ctx,
            streams: self.streams.as_ref(),
            cache: &mut self.cache,
        };
        let mut display = IopubDisplay {
            iopub: &self.outlets.iopub,
            parent: msg,
            interrupter: &self.interrupter,
        };
        let result = self.magics.run(code, &mut session, &mut display);
        self.interrupter.set_busy(false);
        self.interrupter.set_magic(false);
        if let Some(s) = &self.streams {
            s.flush();
        }
        match result {
            Ok(()) => Outcome::Ok(HashMap::new()),
            Err(e) => Outcome::Err(ErrorOutput {
                ename: e.ename().to_string(),
                evalue: e.to_string(),
                traceback: e.traceback(code),
            }),
        }
    }

    /// After a failed cell, replies `aborted` to the executes that were
    /// queued behind it (what ipykernel does with stop_on_error) and serves
    /// the other requests.
    fn abort_queued(&mut self, queued: Vec<Request>) {
        let mut keep = Vec::new();
        for req in queued {
            match req {
                Request::Execute(msg, _) => {
                    self.outlets.iopub.busy(&msg);
                    let reply = ExecuteReply {
                        status: ReplyStatus::Aborted,
                        execution_count: ExecutionCount::new(self.count),
                        payload: vec![],
                        user_expressions: Some(HashMap::new()),
                        error: None,
                    };
                    let _ = self.outlets.shell.send(reply.as_child_of(&msg));
                    self.outlets.iopub.idle(&msg);
                }
                other => keep.push(other),
            }
        }
        for req in keep {
            match req {
                Request::Complete(msg, req) => {
                    let reply = self.complete(&req);
                    let _ = self.outlets.shell.send(reply.as_child_of(&msg));
                }
                Request::Inspect(msg, req) => {
                    let reply = self.inspect(&req);
                    let _ = self.outlets.shell.send(reply.as_child_of(&msg));
                }
                Request::Execute(..) => {}
            }
        }
    }
}

fn simple_error(ename: &str, evalue: &str) -> ErrorOutput {
    ErrorOutput {
        ename: ename.into(),
        evalue: evalue.into(),
        traceback: vec![format!("{ename}: {evalue}")],
    }
}

fn panic_error(p: &PanicReport) -> ErrorOutput {
    let message = if p.message.is_empty() {
        "explicit panic".to_string()
    } else {
        p.message.clone()
    };
    ErrorOutput {
        ename: "Panic".into(),
        evalue: message.clone(),
        traceback: vec![format!("Panic: {message}"), format!("  at {}", p.location)],
    }
}

fn lost_list(vars: &[(String, String)]) -> String {
    if vars.is_empty() {
        "no variables were defined, so none were lost".into()
    } else {
        let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
        format!("variables lost: {}", names.join(", "))
    }
}

fn lost_detail(vars: &[(String, String)]) -> String {
    if vars.is_empty() {
        "No variables were defined, so none were lost.".into()
    } else {
        let list: Vec<String> = vars.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        format!("Variables lost: {}", list.join(", "))
    }
}

/// Compile errors rendered against the cell's own lines.
/// True if the cell's first line is an evcxr `:dep` command.
fn starts_with_dep(code: &str) -> bool {
    code.trim_start().starts_with(":dep ")
}

/// `offset`: lines put before the cell's code (pending binds, waiting
/// items); spans are moved back onto the cell's own lines.
fn compile_error(errors: &[evcxr::CompilationError], code: &str, offset: usize) -> ErrorOutput {
    compile_error_in(errors, code, offset, usize::MAX)
}

/// Like [`compile_error`] for code on lines `offset + 1 ..= last` of the
/// evaluated block.
fn compile_error_in(
    errors: &[evcxr::CompilationError],
    code: &str,
    offset: usize,
    last: usize,
) -> ErrorOutput {
    let diags: Vec<Diagnostic> = errors
        .iter()
        .map(|e| {
            let mut d = to_diagnostic(e);
            d.labels
                .retain(|l| l.span.start_line > offset && l.span.start_line <= last);
            for l in &mut d.labels {
                l.span.start_line -= offset;
                l.span.end_line = l
                    .span
                    .end_line
                    .saturating_sub(offset)
                    .max(l.span.start_line);
            }
            d
        })
        .collect();
    let evalue = diags
        .first()
        .map(|d| d.message.clone())
        .unwrap_or_else(|| "compilation failed".into());
    let mut traceback: Vec<String> = diags.iter().map(|d| d.render(code)).collect();
    if traceback.is_empty() {
        traceback.push("error: compilation failed".into());
    }
    ErrorOutput {
        ename: "CompileError".into(),
        evalue,
        traceback,
    }
}

fn to_diagnostic(e: &evcxr::CompilationError) -> Diagnostic {
    let labels = e
        .spanned_messages()
        .iter()
        .filter_map(|m| {
            m.span.map(|s| Label {
                span: CellSpan {
                    start_line: s.start_line,
                    start_column: s.start_column,
                    end_line: s.end_line,
                    end_column: s.end_column,
                },
                text: m.label.clone(),
                primary: m.is_primary,
            })
        })
        .collect();
    let mut notes: Vec<String> = e.help().into_iter().map(|h| format!("help: {h}")).collect();
    notes.extend(
        e.spanned_messages()
            .iter()
            .filter(|m| m.span.is_none() && !m.label.is_empty())
            .map(|m| format!("note: {}", m.label)),
    );
    Diagnostic {
        level: e.level().to_string(),
        code: e.code().map(str::to_string),
        message: e.message(),
        labels,
        notes,
    }
}
