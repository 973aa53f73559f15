//! Captured values kept between magic cells, so a magic whose body uses
//! only variables no cell has touched since they were last sent writes
//! them without an evaluation in the session (each costs an evcxr build).
//!
//! A kept value is forgotten when anything that may change the variable
//! runs: a cell that mentions its name at all (as a token, anywhere: an
//! assignment, a `&mut`, a shadowing `let`, a macro, even a comment), the
//! header of a magic cell (the part the session evaluates: ITEMS, sweep
//! values) that mentions it or a prefix of it (`-> runs` binds `runs` and
//! `runs_best`), a bind waiting for the next cell, and any evcxr command
//! (`:clear`, `:restart`, ...: everything is forgotten). Only values of
//! types without interior mutability are kept — numbers, `bool`, `char`,
//! `String` and std's collections, options and tuples of them — because a
//! `Rc<RefCell<_>>` or a struct of the notebook may change through another
//! name.

use std::collections::HashMap;

use super::tokens::identifiers;

/// The identifier tokens of type names whose values cannot change but
/// through their own name.
const PLAIN_TYPE_WORDS: &[&str] = &[
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "f32",
    "f64",
    "bool",
    "char",
    "String",
    "str",
    "Vec",
    "VecDeque",
    "Option",
    "HashMap",
    "BTreeMap",
    "HashSet",
    "BTreeSet",
    "std",
    "alloc",
    "core",
    "collections",
    "vec",
    "string",
    "option",
    "hash",
    "map",
    "set",
    "btree",
    "vec_deque",
    "hash_map",
    "hash_set",
    "btree_map",
    "btree_set",
];

/// Values last sent to tasks, by variable name.
#[derive(Debug, Default)]
pub(super) struct CaptureCache {
    kept: HashMap<String, Kept>,
}

#[derive(Debug)]
struct Kept {
    ty: String,
    text: String,
}

impl CaptureCache {
    /// The text last sent for `name`, if its type is still `ty` and nothing
    /// may have changed it since.
    pub(super) fn get(&self, name: &str, ty: &str) -> Option<&str> {
        self.kept
            .get(name)
            .filter(|k| k.ty == ty)
            .map(|k| k.text.as_str())
    }

    /// Keeps the text the session wrote for `name` of type `ty` (values of
    /// other types are not kept).
    pub(super) fn keep(&mut self, name: &str, ty: &str, text: String) {
        if plain_type(ty) {
            self.kept.insert(
                name.to_string(),
                Kept {
                    ty: ty.to_string(),
                    text,
                },
            );
        }
    }

    /// A plain cell, an evcxr command or a magic's header is about to run
    /// in the session: forget what it may change.
    pub(super) fn before_session_code(&mut self, code: &str) {
        if code.trim_start().starts_with(':') {
            self.kept.clear();
            return;
        }
        let mentioned = identifiers(code);
        self.kept
            .retain(|name, _| !mentioned.contains(name.as_str()));
    }

    /// A magic's header (ITEMS, sweep values, `-> NAME`) is about to run:
    /// forget what it mentions and what it may bind (`NAME`, `NAME_best`,
    /// `NAME_partial`).
    pub(super) fn before_magic_header(&mut self, header: &str) {
        let mentioned = identifiers(header);
        self.kept.retain(|name, _| {
            !mentioned
                .iter()
                .any(|m| name == m || name.starts_with(&format!("{m}_")))
        });
    }

    /// Forgets everything (the session process that held the values ended).
    pub(super) fn clear(&mut self) {
        self.kept.clear();
    }

    /// A bind of `name` waits for the next cell: forget it.
    pub(super) fn forget(&mut self, name: &str) {
        self.kept.remove(name);
    }
}

/// Whether a type, as evcxr names it, has no interior mutability: every
/// identifier in it is a number, `bool`, `char`, `String` or one of std's
/// collections and options.
fn plain_type(ty: &str) -> bool {
    let words = identifiers(ty);
    !words.is_empty() && words.iter().all(|w| PLAIN_TYPE_WORDS.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_types_without_interior_mutability_are_kept() {
        for ty in [
            "i64",
            "f64",
            "String",
            "Vec<f64>",
            "std::collections::HashMap<String, Vec<(u8, bool)>>",
            "Option<[i32; 3]>",
            "(usize, char)",
        ] {
            assert!(plain_type(ty), "{ty}");
        }
        for ty in [
            "std::rc::Rc<std::cell::RefCell<i64>>",
            "Config",
            "std::sync::Arc<std::sync::Mutex<i64>>",
            "Vec<std::cell::Cell<u8>>",
            "",
        ] {
            assert!(!plain_type(ty), "{ty}");
        }
    }

    #[test]
    fn anything_that_mentions_a_name_forgets_it() {
        let mut c = CaptureCache::default();
        c.keep("epochs", "i64", "10".into());
        c.keep("seed_offset", "i64", "0".into());
        c.keep("shared", "std::rc::Rc<std::cell::RefCell<i64>>", "1".into());
        assert_eq!(
            c.get("shared", "std::rc::Rc<std::cell::RefCell<i64>>"),
            None
        );
        c.before_session_code(
            "let best = runs_best.clone(); // 10i64 epochsx\nbest.epochs + best\n  .epochs()",
        );
        assert_eq!(c.get("epochs", "i64"), Some("10"));
        c.before_session_code("for e in 0..epochs {}");
        assert_eq!(c.get("epochs", "i64"), None, "a range over it");
        c.keep("epochs", "i64", "10".into());
        assert_eq!(c.get("epochs", "u64"), None, "another type");
        c.before_session_code("r#epochs += 1;");
        assert_eq!(c.get("epochs", "i64"), None);
        assert_eq!(c.get("seed_offset", "i64"), Some("0"));
        c.before_session_code(":clear");
        assert_eq!(c.get("seed_offset", "i64"), None);
    }

    #[test]
    fn a_magic_header_forgets_what_it_mentions_or_binds() {
        let mut c = CaptureCache::default();
        for n in ["runs", "runs_best", "runsx", "k", "other"] {
            c.keep(n, "u8", "1".into());
        }
        c.before_magic_header("%%sweep x in 0..k -> runs --maximize y");
        assert_eq!(c.get("runs", "u8"), None);
        assert_eq!(c.get("runs_best", "u8"), None);
        assert_eq!(c.get("k", "u8"), None);
        assert_eq!(c.get("runsx", "u8"), Some("1"));
        assert_eq!(c.get("other", "u8"), Some("1"));
        c.forget("other");
        assert_eq!(c.get("other", "u8"), None);
    }
}
