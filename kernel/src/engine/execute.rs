//! The engine thread's loop: warm-up, then execute/complete/inspect requests
//! in order, turning evcxr's results into Jupyter outputs and replies.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;

use evcxr::CommandContext;
use jupyter_protocol::{
    ErrorOutput, ExecuteInput, ExecuteReply, ExecuteRequest, ExecuteResult, ExecutionCount,
    JupyterMessage, ReplyError, ReplyStatus,
};

use super::compile_cache::CompileCache;
use super::deferred_items::DeferredItems;
use super::fast_display::FastDisplay;
use super::interrupt::Interrupter;
use super::magic_bridge::{EvcxrSession, IopubDisplay};
use super::{Outlets, Request, introspect, pager, session_api};
use crate::display;
use crate::streams::Streams;
use sluice_magics::cell::Magics;

mod aborted;
mod damaged_build;
mod errors;
mod first_deps;
mod restart;
mod run;
mod shown_value;
mod type_imports;
mod waiting;

use errors::{OtherCells, compile_error_in, simple_error};

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
    /// Code of the cells that ran, by execution count (newest last), to
    /// place panics inside their items.
    executed: Vec<(usize, String)>,
    /// Recent generated library sources by evcxr build number, to place
    /// panics in code built for earlier cells.
    sources: std::collections::VecDeque<(u64, String)>,
    /// The `:dep` lines this kernel added as a standby, until its first
    /// cell says whether the notebook asked for them (`standby::first_deps`).
    primed: Option<crate::standby::first_deps::Primed>,
    /// Whether an execute request with code came yet.
    first_cell_seen: bool,
    /// Whether evcxr kept the running cell (its build and run returned
    /// without an error, so evcxr committed its state, `:dep`s included).
    evcxr_kept: bool,
}

/// How long a kernel must go without a request before it starts the next
/// standby (see `standby`'s rules).
const STANDBY_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

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
            executed: Vec::new(),
            sources: std::collections::VecDeque::new(),
            primed: None,
            first_cell_seen: false,
            evcxr_kept: false,
        }
    }

    pub(super) fn run(mut self, rx: Receiver<Request>, ready: super::Ready) {
        self.warm_up();
        // A standby says it is adding `:dep` lines from the moment it is
        // ready (its lock file), until it is done.
        let standby = crate::standby::is_standby();
        crate::standby::first_deps::set_adding(standby);
        ready.set(self.ctx.is_ok());
        if standby {
            self.prime_while_waiting();
            crate::standby::first_deps::set_adding(false);
        }
        // The next launch (a restart, the next notebook of a CI run) finds
        // a warm standby: it is started once this kernel has had no request
        // for STANDBY_AFTER_IDLE, so its warm-up never takes the CPU from
        // this kernel's cells (a Run All sends them back to back), or at
        // shutdown (server.rs).
        let mut standby_due = !crate::standby::is_standby();
        loop {
            let req = if standby_due {
                match rx.recv_timeout(STANDBY_AFTER_IDLE) {
                    Ok(req) => req,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        crate::standby::start_next();
                        standby_due = false;
                        continue;
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                }
            } else {
                let Ok(req) = rx.recv() else { break };
                req
            };
            match req {
                Request::Adopted => {
                    self.magics = Magics::default();
                    standby_due = true;
                }
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
        let executed = &self.executed;
        let user_defines = |name: &str| {
            let def = format!("fn {name}");
            context.contains(&def)
                || req.code.contains(&def)
                || executed.iter().any(|(_, c)| c.contains(&def))
        };
        match &mut self.ctx {
            Ok(ctx) => introspect::complete(ctx, req, &context, &user_defines),
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
        let kept = crate::kept_session::current();
        if let Some(k) = kept {
            k.warming();
        }
        match new_context(kept) {
            Ok((mut ctx, outputs)) => {
                let streams =
                    Streams::start(outputs.stdout, outputs.stderr, self.outlets.iopub.clone());
                self.interrupter.set_child(ctx.process_handle());
                streams.set_child(ctx.process_handle());
                streams.set_parent(None);
                // Neither serde_json nor evcxr's compile cache is set up
                // here: both slow every cell, so they join at the first
                // `:dep` (see magics' serde_dep.rs and compile_cache.rs).
                // The cells' opt-level: 0 unless SLUICE_CELL_OPT or the
                // user's evcxr.toml says (evcxr's default is 2, which
                // doubles the build of most cells). evcxr usually starts
                // there already (evcxr_config.rs); a kept session builds
                // the dependencies at 2 whatever this is
                // (kept_session::DEPENDENCY_PROFILE).
                if let Some(opt) = crate::evcxr_config::opt_after_start()
                    && let Err(e) = ctx.execute(&opt)
                {
                    tracing::warn!("{opt}: {e}");
                }
                let context_ready = started.elapsed();
                self.display.install(&mut ctx, &session_api::module());
                // Free in a standby (nobody waits); a fresh kernel's first
                // cell would wait for it, so there the first `let` pays.
                if crate::standby::is_standby() {
                    warm_type_inference(&mut ctx);
                }
                tracing::debug!(
                    target: "sluice::phase",
                    "warm-up: EvalContext::new {:.1} ms, first build (session items) {:.1} ms",
                    context_ready.as_secs_f64() * 1e3,
                    (started.elapsed() - context_ready).as_secs_f64() * 1e3
                );
                streams.flush();
                if let Some(k) = kept {
                    k.ready();
                }
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

        let started = std::time::Instant::now();
        // Records of a session that ended since the last cell are read
        // first: what the magics kept of it must go.
        if let Some(s) = &self.streams {
            s.publish();
        }
        if crate::streams::take_session_died() {
            self.magics.session_lost();
        }
        let first = !self.first_cell_seen && !req.code.trim().is_empty();
        self.evcxr_kept = false;
        if first {
            self.first_cell_seen = true;
            self.first_cell(&req.code);
        }
        self.magics.before_cell(&req.code);
        let outcome = match pager::request(&req.code) {
            _ if self.interrupter.take_before_start() => Outcome::Err(errors::simple_error(
                "Interrupted",
                "the cell was interrupted before it started (it waited for the kernel to be ready): nothing of it ran",
            )),
            Some(name) => {
                let reply = self.inspect(&pager::inspect_request(name));
                Outcome::Page(name.to_string(), reply.found.then_some(reply.data))
            }
            None => self.evaluate(msg, req, self.count),
        };
        tracing::debug!(
            target: "sluice::phase",
            "cell {:.1} ms: {}",
            started.elapsed().as_secs_f64() * 1e3,
            req.code.lines().next().unwrap_or_default()
        );
        let (status, error, plain, payload) = self.publish(msg, req, count, outcome);
        if first {
            Self::record_first_cell(&req.code, status == ReplyStatus::Ok);
            self.after_first_cell();
        }
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

    /// Publishes what a cell produced (its page, result, display or
    /// error) and returns what its reply says.
    fn publish(
        &self,
        msg: &JupyterMessage,
        req: &ExecuteRequest,
        count: ExecutionCount,
        outcome: Outcome,
    ) -> (
        ReplyStatus,
        Option<Box<ReplyError>>,
        String,
        Vec<jupyter_protocol::Payload>,
    ) {
        let iopub = &self.outlets.iopub;
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
        (status, error, plain, payload)
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
                    self.interrupter.take_before_start();
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
                Request::Adopted => self.magics = Magics::default(),
                Request::Execute(..) => {}
            }
        }
    }
}

/// rust-analyzer answers its first type question about the session's code
/// in seconds (it reads std's impls then), and evcxr asks one for a
/// cell's first `let`: a completion after a variable asks it here, during
/// a standby's warm-up, so the user's first `let` does not pay for it
/// (measured: 3.2 s → 0.4 s for `let a = 1;` as the first `let`).
fn warm_type_inference(ctx: &mut CommandContext) {
    const PROBE: &str = "let __sluice_warm = vec![1u64]; __sluice_warm.it";
    let started = std::time::Instant::now();
    let _ = ctx.completions(PROBE, PROBE.len());
    tracing::debug!(
        target: "sluice::phase",
        "warm-up: type inference {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
}

/// evcxr's context; in a kept session whose state does not build (stale or
/// corrupted), the slot is emptied and the context made again from nothing.
fn new_context(
    kept: Option<&crate::kept_session::Claim>,
) -> Result<(CommandContext, evcxr::EvalContextOutputs), evcxr::Error> {
    match (CommandContext::new(), kept) {
        (Err(e), Some(k)) => {
            tracing::warn!(
                "the kept session {} did not start ({e}); starting it afresh",
                k.dir().display()
            );
            if let Err(e) = k.reset() {
                tracing::warn!("cannot empty {}: {e}", k.dir().display());
            }
            CommandContext::new()
        }
        (result, _) => result,
    }
}
