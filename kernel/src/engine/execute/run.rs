//! Evaluating a plain cell: the block evcxr runs for it, the run itself
//! (with stdin, interrupts and the runtime's report), and what its result
//! means — ran, panicked, failed to compile, restored by its snapshot, or
//! lost with its process.

use std::collections::HashMap;

use evcxr::EvalCallbacks;
use jupyter_protocol::{ErrorOutput, ExecuteRequest, JupyterMessage, StreamContent};
use sluice_magics::cell::Magics;

use super::super::deferred_items::{self, Assembled, Source};
use super::super::input::Asker;
use super::super::panic_location::{self, Candidate};
use super::super::session_api;
use super::super::{duplicate_items, early_return, unfinished};
use super::aborted::{self, Lost};
use super::errors::{compile_error_in, panic_error, simple_error, starts_with_dep, unreplaced};
use super::waiting::primary_line;
use super::{Outcome, Worker};
use super::{restart, type_imports};
use crate::streams::{CellReport, Ending, PanicReport};

/// How many earlier cells are kept to place panics in their items.
const KEPT_CELLS: usize = 500;
/// How many generated library sources are kept (by build number).
const KEPT_SOURCES: usize = 16;

/// A block's run: evcxr's result and the runtime's report.
struct Ran {
    result: Result<evcxr::EvalOutputs, evcxr::Error>,
    report: CellReport,
    vars_before: Vec<(String, String)>,
    interrupted: bool,
}

impl Worker {
    /// Evaluates the cell's code with evcxr and classifies the result; the
    /// code of a cell that ran is kept (to place panics in its items later).
    pub(super) fn evaluate(
        &mut self,
        msg: &JupyterMessage,
        req: &ExecuteRequest,
        count: usize,
    ) -> Outcome {
        let outcome = self.evaluate_code(msg, req, count);
        if matches!(outcome, Outcome::Ok(_)) && !Magics::is_magic(&req.code) {
            self.executed.push((count, req.code.clone()));
            if self.executed.len() > KEPT_CELLS {
                self.executed.remove(0);
            }
        }
        outcome
    }

    fn evaluate_code(
        &mut self,
        msg: &JupyterMessage,
        req: &ExecuteRequest,
        count: usize,
    ) -> Outcome {
        if let Err(reason) = &self.ctx {
            return Outcome::Err(simple_error("EngineUnavailable", reason));
        }
        if req.code.trim().is_empty() {
            return Outcome::Ok(HashMap::new());
        }
        // Rust refuses one name defined twice in a block; evcxr would keep
        // the second silently.
        let early = (!Magics::is_magic(&req.code))
            .then(|| early_return::top_level_return(&req.code))
            .flatten();
        let refusal = early.and_then(|at| {
            if early_return::returns_a_value(&req.code) {
                Some(early_return::value_refused(at))
            } else {
                early_return::defines_variables(&req.code).then(|| early_return::refused(at))
            }
        });
        if let Some(d) = refusal {
            return Outcome::Err(ErrorOutput {
                ename: "CompileError".into(),
                evalue: d.message.clone(),
                traceback: vec![d.render(&req.code)],
            });
        }
        if !Magics::is_magic(&req.code)
            && let Some(d) =
                unfinished::check(&req.code).or_else(|| duplicate_items::check(&req.code))
        {
            return Outcome::Err(ErrorOutput {
                ename: "CompileError".into(),
                evalue: d.message.clone(),
                traceback: vec![d.render(&req.code)],
            });
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
        if let Some(rest) = restart::without_restart(&req.code) {
            return self.restart_then(msg, req, count, rest);
        }
        let (mut block, mut binds) = match self.block_for(&req.code, shape.as_ref()) {
            Ok(b) => b,
            Err(e) => return Outcome::Err(e),
        };
        let mut ran = match self.run_block(msg, req, &block) {
            Ok(ran) => ran,
            Err(e) => return e,
        };
        // An error outside the cell's own lines, in the block it shared with
        // waiting items: whose it is shows when the items are built alone
        // (their error) and the cell is built after them (the cell's).
        if self.waiting_items_in_question(&ran, &block) {
            if let Err(e) = self.build_waiting_items() {
                return Outcome::Err(e);
            }
            (block, binds) = match self.block_for(&req.code, shape.as_ref()) {
                Ok(b) => b,
                Err(e) => return Outcome::Err(e),
            };
            ran = match self.run_block(msg, req, &block) {
                Ok(ran) => ran,
                Err(e) => return e,
            };
        }
        // evcxr keeps a block's items once the block was built and run
        // (also when the run panicked).
        if ran.result.is_ok() {
            self.items.clear();
        }
        self.remember_source();
        self.show_other_panics(msg, &ran.report.others, &block);
        self.classify(req, ran, &block, binds)
    }

    /// `:restart` (see `restart.rs`), then the rest of the cell, if any.
    fn restart_then(
        &mut self,
        msg: &JupyterMessage,
        req: &ExecuteRequest,
        count: usize,
        rest: String,
    ) -> Outcome {
        if let Err(e) = self.build_waiting_items() {
            return Outcome::Err(e);
        }
        let Ok(ctx) = &mut self.ctx else {
            return Outcome::Err(simple_error(
                "EngineUnavailable",
                "the Rust engine is not running",
            ));
        };
        if let Err(why) = restart::restart(ctx, &self.interrupter) {
            return Outcome::Err(simple_error("RestartFailed", &why));
        }
        if rest.trim().is_empty() {
            return Outcome::Ok(restart::restarted_output());
        }
        let mut rest_req = req.clone();
        rest_req.code = rest;
        self.evaluate_code(msg, &rest_req, count)
    }

    /// Runs the block in evcxr: stdin answered from the front end,
    /// interrupts reaching the runtime, the runtime's report collected.
    fn run_block(
        &mut self,
        msg: &JupyterMessage,
        req: &ExecuteRequest,
        block: &Assembled,
    ) -> Result<Ran, Outcome> {
        let ctx = match &mut self.ctx {
            Ok(ctx) => ctx,
            Err(reason) => return Err(Outcome::Err(simple_error("EngineUnavailable", reason))),
        };
        let block_code = match crate::engine::opt_command::checked(&block.code) {
            Ok(code) => code.into_owned(),
            Err(why) => return Err(Outcome::Err(simple_error("OptLevel", &why))),
        };
        let streams = self.streams.clone();
        if let Some(s) = &streams {
            s.set_parent(Some(msg.clone()));
        }
        let vars_before: Vec<(String, String)> = ctx
            .variables_and_types()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        if restarts_runtime(&req.code) {
            // evcxr kills its process for these; end the session's
            // processes properly first, so none is left behind.
            self.interrupter.retire();
        }
        let asker = Asker {
            stdin: self.outlets.stdin.clone(),
            parent: msg.clone(),
            allowed: req.allow_stdin,
            interrupter: self.interrupter.clone(),
            streams: streams.clone(),
        };
        let mut callbacks = EvalCallbacks {
            input_reader: &move |request| asker.ask(request.prompt, request.is_password),
        };
        // The user's first `:dep` cell brings the magics' serde_json along
        // in the same build (one build, not two).
        let serde = starts_with_dep(&req.code)
            .then(|| self.magics.serde_json_dep_for(&req.code))
            .flatten();
        let code = match &serde {
            Some(dep) => with_commands(&block_code, dep),
            None => block_code,
        };
        let code = code.as_str();
        self.cache.before(ctx, code);
        self.interrupter.set_busy(true);
        let started = std::time::Instant::now();
        let mut result = ctx.execute_with_callbacks(code, &mut callbacks);
        if let Err(evcxr::Error::CompilationErrors(errors)) = &result
            && let Some(uses) = type_imports::suggested(errors)
            && uses.iter().all(|u| ctx.execute(u).is_ok())
        {
            tracing::debug!("imported {uses:?} for evcxr's variable types; building again");
            self.cache.before(ctx, code);
            result = ctx.execute_with_callbacks(code, &mut callbacks);
        }
        if let Err(evcxr::Error::CompilationErrors(errors)) = &result
            && super::damaged_build::says_damaged(errors)
            && let Some(kept) = crate::kept_session::current()
        {
            let said = match super::damaged_build::remove_products(kept.dir()) {
                Ok(dir) => format!(
                    "sluice: the kept session's build products did not load (rustc: {}); \
                     deleted {} and building again, dependencies included\n",
                    errors
                        .iter()
                        .find(|e| super::damaged_build::says_damaged(std::slice::from_ref(e)))
                        .map(|e| e.message())
                        .unwrap_or_default(),
                    dir.display()
                ),
                Err(e) => format!("sluice: cannot delete the kept session's build products: {e}\n"),
            };
            tracing::warn!("{}", said.trim_end());
            self.outlets
                .iopub
                .send(StreamContent::stderr(&said).as_child_of(msg));
            self.cache.before(ctx, code);
            result = ctx.execute_with_callbacks(code, &mut callbacks);
        }
        if let Err(evcxr::Error::CompilationErrors(errors)) = &result
            && let Some(found) = unreplaced(ctx, code, errors)
        {
            result = Err(evcxr::Error::CompilationErrors(found));
        }
        self.evcxr_kept = result.is_ok();
        let evcxr_done = started.elapsed();
        self.interrupter.set_busy(false);
        // The runtime ran the cell (evcxr's `Execution` phase): its ending
        // record says all its text is in.
        let ran = result
            .as_ref()
            .is_ok_and(|o| o.phases.iter().any(|p| p.name == "Execution"));
        let report = streams
            .as_ref()
            .map(|s| {
                if ran {
                    s.flush_ran_cell()
                } else {
                    s.flush_cell()
                }
            })
            .unwrap_or_default();
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
        Ok(Ran {
            result,
            report,
            vars_before,
            interrupted: self.interrupter.was_requested(),
        })
    }

    /// True if the block's build failed with waiting items in it and an
    /// error points into them, or none points into the cell.
    fn waiting_items_in_question(&self, ran: &Ran, block: &Assembled) -> bool {
        let Err(evcxr::Error::CompilationErrors(errors)) = &ran.result else {
            return false;
        };
        if self.items.is_empty() {
            return false;
        }
        let sources: Vec<Source> = errors
            .iter()
            .filter_map(|e| primary_line(e).and_then(|l| block.source_of(l)))
            .collect();
        sources.iter().any(|s| matches!(s, Source::Deferred(_))) || !sources.contains(&Source::Cell)
    }

    /// What the run's result means.
    fn classify(
        &mut self,
        req: &ExecuteRequest,
        ran: Ran,
        block: &Assembled,
        binds: bool,
    ) -> Outcome {
        let Ran {
            result,
            report,
            vars_before,
            interrupted,
        } = ran;
        match result {
            Ok(outputs) => match report.panic {
                Some(p) => {
                    // A waiting bind that panics (its results file is gone)
                    // is dropped; one that did not run yet stays waiting.
                    if binds && Magics::is_bind_panic(&p.message) {
                        self.magics.pending_done();
                    }
                    let location = self.locate(&p, block);
                    Outcome::Err(panic_error(&p, &location))
                }
                // Its binds' variables went with the cell's own: they
                // stay waiting.
                None if report.user_error => Outcome::Err(simple_error(
                    "Error",
                    "a `?` in the cell returned early with the error shown above; the variables this cell defined are not kept",
                )),
                None => self.ran_to_the_end(req, outputs.content_by_mime_type),
            },
            Err(evcxr::Error::CompilationErrors(errors)) => {
                self.compile_failed(&errors, req, block)
            }
            Err(_) if matches!(report.ending, Some(Ending::Restored { .. })) => {
                let Some(Ending::Restored { cause, ran }) = report.ending else {
                    return Outcome::Err(simple_error("Error", "unreachable"));
                };
                Outcome::Err(aborted::restored(&cause, ran))
            }
            Err(evcxr::Error::SubprocessTerminated(text)) => {
                let lost = match &report.ending {
                    Some(Ending::Lost { cause, why }) => Some((cause.as_str(), why)),
                    _ => None,
                };
                Outcome::Err(aborted::lost(&Lost {
                    evcxr_text: &text,
                    lost,
                    died_before: report.died_before.as_deref(),
                    interrupted,
                    vars: &vars_before,
                }))
            }
            Err(evcxr::Error::TypeRedefinedVariablesLost(vars)) => {
                Outcome::Err(jupyter_protocol::ErrorOutput {
                    ename: "VariablesLost".into(),
                    evalue: format!(
                        "a type was redefined; these variables were lost: {}",
                        vars.join(", ")
                    ),
                    traceback: vec![format!(
                        "VariablesLost: redefining a type dropped the variables that held the old type: {}",
                        vars.join(", ")
                    )],
                })
            }
            // The interrupt stopped cargo and rustc (engine/build_stop.rs):
            // evcxr finds no errors to parse in what they left.
            Err(_) if interrupted => Outcome::Err(simple_error(
                "Interrupted",
                "the cell was stopped while it compiled; nothing of it ran, and every variable is as it was",
            )),
            Err(e) => Outcome::Err(simple_error("Error", &e.to_string())),
        }
    }

    /// The cell ran to its end.
    fn ran_to_the_end(
        &mut self,
        req: &ExecuteRequest,
        content: HashMap<String, String>,
    ) -> Outcome {
        let Ok(ctx) = &mut self.ctx else {
            return Outcome::Ok(content);
        };
        self.magics.pending_done();
        self.magics.record_cell(self.count, &req.code);
        if req.code.trim_start().starts_with(':') {
            self.display
                .after_command(ctx, &req.code, &session_api::module());
            // evcxr's `:clear` drops the dependencies too.
            if req.code.lines().any(|l| l.trim() == ":clear") {
                self.cache.cleared();
            }
        }
        // The user's first `:dep` cell built serde_json with it
        // (`run_block`); evcxr already dropped what it drops.
        if !self.magics.serde_json_ready() && starts_with_dep(&req.code) {
            self.magics.serde_json_added();
        }
        Outcome::Ok(content)
    }

    /// Compile errors, blamed on the part of the block they point into
    /// (waiting items were built alone first when one pointed into them:
    /// `waiting_items_in_question`).
    fn compile_failed(
        &mut self,
        errors: &[evcxr::CompilationError],
        req: &ExecuteRequest,
        block: &Assembled,
    ) -> Outcome {
        let offset = block.start_of(Source::Cell).unwrap_or(1) - 1;
        let sources: Vec<Source> = errors
            .iter()
            .filter_map(|e| primary_line(e).and_then(|l| block.source_of(l)))
            .collect();
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
        let others = self.other_cells(Some(block));
        // Spans past the cell's own lines are in the parts after it.
        let last = block.lines_of(Source::Cell).map_or(usize::MAX, |(_, b)| b);
        Outcome::Err(compile_error_in(errors, &req.code, offset, last, &others))
    }

    /// Keeps the library source evcxr generated last, by build number, so
    /// a panic in code built for an earlier cell (a thread it started, a
    /// closure it stored) is found too.
    fn remember_source(&mut self) {
        let Ok(ctx) = &self.ctx else { return };
        let Ok(text) = ctx.last_source() else { return };
        let Some(build) = build_number(&text) else {
            return;
        };
        // A build that failed to compile keeps its number for the next
        // one: the source that ran replaces it.
        if let Some(back) = self.sources.back_mut()
            && back.0 == build
        {
            back.1 = text;
            return;
        }
        self.sources.push_back((build, text));
        if self.sources.len() > KEPT_SOURCES {
            self.sources.pop_front();
        }
    }

    /// A panic's location on the notebook's lines (this cell, a waiting
    /// items-only cell built with it, or an earlier cell's items).
    fn locate(&self, p: &PanicReport, block: &Assembled) -> String {
        let Some((_, lib_rs)) = self
            .sources
            .iter()
            .rev()
            .find(|(b, _)| p.build == 0 || *b == p.build)
        else {
            tracing::debug!("no generated source for build {}", p.build);
            return p.location.clone();
        };
        let parts: Vec<(String, String)> = block
            .ranges
            .iter()
            .filter_map(|(source, _, _)| {
                let label = match source {
                    Source::Cell => "cell".to_string(),
                    Source::Deferred(n) => format!("cell[{n}]"),
                    Source::Prelude => return None,
                };
                block.code_of(*source).map(|code| (label, code))
            })
            .collect();
        let mut candidates: Vec<Candidate<'_>> = parts
            .iter()
            .map(|(label, code)| Candidate {
                label: label.clone(),
                code,
            })
            .collect();
        candidates.extend(self.executed.iter().rev().map(|(n, code)| Candidate {
            label: format!("cell[{n}]"),
            code,
        }));
        let mapped = panic_location::map(&p.location, lib_rs, &candidates);
        tracing::debug!(
            "panic at {} (build {}) → {mapped} ({} candidates)",
            p.location,
            p.build,
            candidates.len()
        );
        mapped
    }

    /// Panics that did not fail the cell (caught by it, or on another
    /// thread): their messages, as stderr, at the cell's lines.
    fn show_other_panics(&self, msg: &JupyterMessage, others: &[PanicReport], block: &Assembled) {
        if others.is_empty() {
            return;
        }
        let text: String = others
            .iter()
            .map(|p| p.as_text(&self.locate(p, block)))
            .collect();
        self.outlets
            .iopub
            .send(StreamContent::stderr(&text).as_child_of(msg));
    }
}

/// `code` with the command lines `commands` (`:dep …`) added after its
/// leading commands: evcxr reads commands only before the cell's Rust code,
/// so a `:dep` cell that goes on with code keeps them in front of it.
pub(super) fn with_commands(code: &str, commands: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.trim_start().starts_with(':'))
        .unwrap_or(0);
    let end = lines[first..]
        .iter()
        .position(|l| !l.trim_start().starts_with(':'))
        .map_or(lines.len(), |n| first + n);
    let mut out: Vec<&str> = lines[..end].to_vec();
    out.extend(commands.lines());
    out.extend(&lines[end..]);
    out.join("\n")
}

/// evcxr's build number in a generated library (`fn run_user_code_7(` → 7).
fn build_number(lib_rs: &str) -> Option<u64> {
    let at = lib_rs.rfind("pub extern \"C\" fn run_user_code_")?;
    let rest = &lib_rs[at + "pub extern \"C\" fn run_user_code_".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether evcxr will restart its process for this cell (`:clear`, `:restart`).
fn restarts_runtime(code: &str) -> bool {
    code.lines().any(|l| {
        let mut words = l.split_whitespace();
        matches!(words.next(), Some(":clear") | Some(":restart"))
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn commands_go_after_the_cells_leading_commands() {
        assert_eq!(
            super::with_commands(":dep a = \"1\"\nlet q = 1;", ":dep b = \"2\""),
            ":dep a = \"1\"\n:dep b = \"2\"\nlet q = 1;"
        );
        assert_eq!(
            super::with_commands("let x = 1;\n:dep a = \"1\"", ":dep b"),
            "let x = 1;\n:dep a = \"1\"\n:dep b"
        );
        assert_eq!(super::with_commands(":dep a", ":dep b"), ":dep a\n:dep b");
    }
    use super::{build_number, restarts_runtime};

    #[test]
    fn build_numbers() {
        assert_eq!(
            build_number("#[unsafe(no_mangle)]\npub extern \"C\" fn run_user_code_12(\nmut x"),
            Some(12)
        );
        assert_eq!(build_number("fn main() {}"), None);
    }

    #[test]
    fn clear_and_restart_lines() {
        assert!(restarts_runtime(":clear"));
        assert!(restarts_runtime("let a = 1;\n  :restart\n"));
        assert!(!restarts_runtime("let s = \":clear\";"));
        assert!(!restarts_runtime(":clearx"));
    }
}
