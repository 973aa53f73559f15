//! Whether a name that is a job's means the job or a session variable of
//! the same name: the newest definition wins, as it would in Rust.
//!
//! A job's name (`-> sq`) is its results, bound as the variable `sq` once the
//! job ends. A plain cell or evcxr command that mentions `sq` after the job
//! was submitted may have set the variable (`let sq = vec![..]`, `sq.push`),
//! so from then on ITEMS and run bodies read the session's `sq`, not the job
//! directory — until a new job is submitted under that name. Reading the
//! variable when it still equals the job's results gives the same values, so
//! a mere mention errs on the safe side.

use std::collections::HashSet;

use super::tokens;

/// Job names a plain cell or command mentioned since their job's
/// submission.
#[derive(Debug, Default)]
pub(super) struct NameOwner {
    mentioned: HashSet<String>,
}

impl NameOwner {
    /// A plain cell or evcxr command is about to run.
    pub(super) fn before_session_code(&mut self, code: &str) {
        self.mentioned
            .extend(tokens::identifiers(code).into_iter().map(str::to_string));
    }

    /// A job named `name` was submitted: the name is the job's again.
    pub(super) fn submitted(&mut self, name: &str) {
        self.mentioned.remove(name);
    }

    /// Whether `name` means the session's variable, not the job of that
    /// name, given whether the session has a variable `name` at all.
    pub(super) fn is_variable(&self, name: &str, session_has_it: bool) -> bool {
        session_has_it && self.mentioned.contains(name)
    }

    /// `:clear` and a lost session: whatever was set is gone.
    pub(super) fn clear(&mut self) {
        self.mentioned.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::NameOwner;

    #[test]
    fn the_newest_definition_of_a_name_wins() {
        let mut o = NameOwner::default();
        o.submitted("sq");
        assert!(!o.is_variable("sq", true), "bound by its job, untouched");
        o.before_session_code("let sq = vec![10, 20];");
        assert!(o.is_variable("sq", true));
        assert!(!o.is_variable("sq", false), "no such variable: the job");
        o.submitted("sq");
        assert!(!o.is_variable("sq", true), "a new job of that name");
        o.before_session_code("let n = other.sq;");
        assert!(!o.is_variable("sq", true), "a field of the same name");
        o.before_session_code("sq.push(3);");
        o.clear();
        assert!(!o.is_variable("sq", true));
    }
}
