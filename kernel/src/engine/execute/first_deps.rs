//! The engine's side of `standby::first_deps`: a ready standby adds the
//! `:dep` lines notebooks started with, and the kernel's first cell keeps
//! them (it asked for them and evcxr kept it) or has them removed with
//! evcxr's `:clear`, so a notebook never sees a crate it did not ask for.

use evcxr::CommandContext;

use super::Worker;
use crate::engine::session_api;

impl Worker {
    /// A ready standby adds the `:dep` lines notebooks started with; a
    /// launch may take it meanwhile (its requests wait in the queue). When
    /// none did, rust-analyzer loads the new workspace too.
    pub(super) fn prime_while_waiting(&mut self) {
        let Some(kept) = crate::kept_session::current() else {
            return;
        };
        let Ok(mut ctx) = std::mem::replace(&mut self.ctx, Err(String::new())) else {
            return;
        };
        self.prime(&mut ctx, kept);
        if self.primed.is_some() && !crate::standby::is_adopted() {
            super::warm_type_inference(&mut ctx);
        }
        self.ctx = Ok(ctx);
    }

    /// A standby adds the `:dep` lines the last notebooks started with
    /// (`standby::first_deps`), with the magics' serde_json as the user's
    /// first `:dep` cell gets it; a failure leaves the session as it was.
    fn prime(&mut self, ctx: &mut CommandContext, kept: &crate::kept_session::Claim) {
        use crate::standby::first_deps;
        let Some(primed) =
            first_deps::history_file(kept.dir()).and_then(|f| first_deps::expected(&f))
        else {
            return;
        };
        if !primed.built_in(kept.dir()) {
            tracing::debug!(
                "{:?} were not built in this slot yet: not added",
                primed.lines
            );
            return;
        }
        let started = std::time::Instant::now();
        let mut code = primed.code();
        if let Some(serde) = self.magics.serde_json_dep_for(&code) {
            code = super::run::with_commands(&code, &serde);
        }
        self.cache.before(ctx, &code);
        match ctx.execute(&code) {
            Ok(_) => {
                crate::standby::first_deps::set_added(&primed.lines);
                self.primed = Some(primed);
            }
            Err(e) => {
                tracing::warn!("the standby could not add {:?}: {e}", primed.lines);
                self.primed = Some(primed);
                self.unprime_in(ctx);
            }
        }
        tracing::debug!(
            target: "sluice::phase",
            "warm-up: first cell's :dep lines {:.1} ms ({})",
            started.elapsed().as_secs_f64() * 1e3,
            if self.primed.is_some() { "added" } else { "failed" }
        );
    }

    /// The kernel's first cell, before it runs: checked against what this
    /// kernel added as a standby (a notebook that did not ask for those
    /// crates gets a session without them).
    pub(super) fn first_cell(&mut self, code: &str) {
        let Some(primed) = &self.primed else { return };
        let hit = primed.asked_for_by(code);
        tracing::info!(
            "the standby added {:?}; the first cell {}",
            primed.lines,
            if hit {
                "asks for them"
            } else {
                "does not ask for them: removing them (:clear)"
            }
        );
        if !hit {
            self.unprime();
        }
    }

    /// After a first cell that asked for the crates the standby added: if
    /// evcxr did not keep it (a build error, a failed `:dep`, an
    /// interrupt), a fresh kernel would not have them either.
    pub(super) fn after_first_cell(&mut self) {
        if self.primed.is_none() || self.evcxr_kept {
            self.primed = None;
            return;
        }
        tracing::info!("the first cell was not kept: removing the standby's crates (:clear)");
        self.unprime();
    }

    /// The kernel's first cell, after it ran: recorded for later standbys
    /// (`:dep` lines only from a cell that succeeded: a standby must not
    /// retry a crate that does not build).
    pub(super) fn record_first_cell(code: &str, ok: bool) {
        use crate::standby::first_deps;
        if let Some(file) =
            crate::kept_session::current().and_then(|k| first_deps::history_file(k.dir()))
        {
            first_deps::record(&file, if ok { code } else { "" });
        }
    }

    /// [`Worker::unprime_in`] on the session's context.
    fn unprime(&mut self) {
        if let Ok(mut ctx) = std::mem::replace(&mut self.ctx, Err(String::new())) {
            self.unprime_in(&mut ctx);
            self.ctx = Ok(ctx);
        }
    }

    /// Drops what `prime` added: evcxr's `:clear` empties the dependencies
    /// (and restarts the session process, retired first), then the session
    /// items are defined again.
    fn unprime_in(&mut self, ctx: &mut CommandContext) {
        self.primed = None;
        self.interrupter.retire();
        if let Err(e) = ctx.execute(":clear") {
            tracing::warn!("cannot remove the standby's dependencies (:clear): {e}");
        }
        self.display
            .after_command(ctx, ":clear", &session_api::module());
        self.cache.cleared();
        if let Some(s) = &self.streams {
            s.flush();
        }
    }
}
