//! Whether a name that is a job's means the job or a session variable of
//! the same name: the newest definition wins, as it would in Rust.
//!
//! A job's name (`-> sq`) is its results, bound as the variable `sq` once the
//! job ends — by an immutable `let`, so a cell can change it only by binding
//! the name again. A plain cell or evcxr command with a `let` that binds
//! `sq` after the job was submitted makes `sq` the session's variable in
//! ITEMS and run bodies, until a new job is submitted under that name. A
//! cell that only reads `sq` (`sq.iter().sum()`) leaves it the job's, so a
//! run body using it still depends on the job (the workflow graph and the
//! critical path keep their edge).

use std::collections::HashSet;

use super::tokens;

/// Job names a plain cell or command bound with `let` since their job's
/// submission.
#[derive(Debug, Default)]
pub(super) struct NameOwner {
    mentioned: HashSet<String>,
}

impl NameOwner {
    /// A plain cell or evcxr command is about to run.
    pub(super) fn before_session_code(&mut self, code: &str) {
        self.mentioned.extend(
            tokens::let_bound_names(code)
                .into_iter()
                .map(str::to_string),
        );
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
        o.before_session_code("let n = other.sq;\nsq.iter().sum::<u64>()");
        assert!(!o.is_variable("sq", true), "read, not bound again");
        o.before_session_code("let (sq, m) = (vec![1], 2);");
        assert!(o.is_variable("sq", true));
        o.clear();
        assert!(!o.is_variable("sq", true));
    }
}
