//! Deferred binding. Every evaluation in the evcxr session compiles a crate
//! (a quarter of a second here), so a map or run cell does not bind `NAME`
//! itself: the `let` waits and is compiled together with the next plain
//! Rust cell (the kernel prepends [`Magics::pending_prelude`]), which is
//! where `NAME` is first used. Magic cells that read session variables, and
//! evcxr commands, flush it first. A later bind of the same name replaces a
//! waiting one, so the session always ends up with the newest results.

use super::{MagicError, Magics};
use crate::session::Session;

/// One `let` waiting to be evaluated.
#[derive(Debug, Clone)]
pub(super) struct PendingBind {
    /// The variable it binds.
    name: String,
    /// The statement, on one line.
    code: String,
}

impl Magics {
    /// Queues `code` (a one-line `let NAME ...;`) for the next evaluation.
    pub(super) fn defer_bind(&mut self, name: &str, code: String) {
        self.pending.retain(|p| p.name != name);
        self.pending.push(PendingBind {
            name: name.to_string(),
            code: code.replace('\n', " "),
        });
    }

    /// Evaluates `code` binding `name` now, dropping a waiting bind of the
    /// same name (it would otherwise overwrite this one later).
    pub(super) fn bind_now(
        &mut self,
        name: &str,
        code: &str,
        session: &mut dyn Session,
    ) -> Result<String, String> {
        self.pending.retain(|p| p.name != name);
        session.eval(code)
    }

    /// The waiting binds as one line to put before the next cell's code
    /// (None when nothing waits). Call [`Magics::pending_done`] once that
    /// evaluation succeeded.
    pub fn pending_prelude(&self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        Some(
            self.pending
                .iter()
                .map(|p| p.code.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// Names whose binds are waiting.
    pub fn pending_names(&self) -> Vec<String> {
        self.pending.iter().map(|p| p.name.clone()).collect()
    }

    /// The prelude was evaluated (or given up): nothing waits any more.
    pub fn pending_done(&mut self) {
        self.pending.clear();
    }

    /// Evaluates the waiting binds now (before evcxr commands, and before
    /// magic cells that read the session's variables).
    pub fn flush_pending(&mut self, session: &mut dyn Session) -> Result<(), MagicError> {
        let Some(code) = self.pending_prelude() else {
            return Ok(());
        };
        let names: Vec<String> = self.pending.iter().map(|p| p.name.clone()).collect();
        self.pending.clear();
        session.eval(&code).map(|_| ()).map_err(|e| {
            MagicError::Bind(format!(
                "could not bind {}: {}",
                names.join(", "),
                e.lines().next().unwrap_or("")
            ))
        })
    }

    /// True if the body uses (as a value) a name whose bind is waiting;
    /// a body that does not parse counts as using them.
    pub(super) fn mentions_pending(&self, body: &str) -> bool {
        match crate::body::names_used(body) {
            Ok(used) => self.pending.iter().any(|p| used.contains(&p.name)),
            Err(_) => !self.pending.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_bind_wins_and_mentions_are_whole_words() {
        let mut m = Magics::default();
        assert_eq!(m.pending_prelude(), None);
        m.defer_bind("a", "let a = 1;".into());
        m.defer_bind("b", "let b =\n2;".into());
        m.defer_bind("a", "let a = 3;".into());
        assert_eq!(
            m.pending_prelude().as_deref(),
            Some("let b = 2; let a = 3;")
        );
        assert!(m.mentions_pending("x + a"));
        assert!(m.mentions_pending("|x: i64| format!(\"{b}{x}\")"));
        assert!(!m.mentions_pending("abc + ba"));
        assert!(!m.mentions_pending("fn a(x: u64) -> u64 { x * 3 }"));
        m.pending_done();
        assert_eq!(m.pending_prelude(), None);
    }
}
