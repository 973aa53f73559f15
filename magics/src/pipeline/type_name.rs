//! The Rust type of a task's result as a person would write it in the
//! notebook. A task reports `std::any::type_name` of its result, whose paths
//! are where std defines a type (`alloc::collections::btree::map::BTreeMap`),
//! often in private modules; this module parses that text with syn and
//! rewrites every path to the public one the session can name
//! (`std::collections::BTreeMap`), and the task crate's own items to their
//! bare names (they are the notebook's). Paths of other crates are kept and
//! reported as [`Naming::Unverified`], for the caller to check in the session.

use syn::visit_mut::VisitMut;

/// A result type, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Naming {
    /// Only std, primitive and notebook types: nameable as written.
    Known(String),
    /// Names a path of another crate, which may be private there.
    Unverified(String),
}

impl Naming {
    /// The type text.
    pub fn text(&self) -> &str {
        match self {
            Naming::Known(t) | Naming::Unverified(t) => t,
        }
    }
}

/// Where std's types are defined → where a notebook names them.
const STD_PATHS: &[(&str, &str)] = &[
    ("alloc::string::String", "String"),
    ("alloc::vec::Vec", "Vec"),
    ("alloc::boxed::Box", "Box"),
    ("core::option::Option", "Option"),
    ("core::result::Result", "Result"),
    (
        "alloc::collections::btree::map::BTreeMap",
        "std::collections::BTreeMap",
    ),
    (
        "alloc::collections::btree::set::BTreeSet",
        "std::collections::BTreeSet",
    ),
    (
        "alloc::collections::vec_deque::VecDeque",
        "std::collections::VecDeque",
    ),
    (
        "alloc::collections::linked_list::LinkedList",
        "std::collections::LinkedList",
    ),
    (
        "alloc::collections::binary_heap::BinaryHeap",
        "std::collections::BinaryHeap",
    ),
    (
        "std::collections::hash::map::HashMap",
        "std::collections::HashMap",
    ),
    (
        "std::collections::hash::set::HashSet",
        "std::collections::HashSet",
    ),
    ("std::hash::random::RandomState", "std::hash::RandomState"),
    ("core::ops::range::Range", "std::ops::Range"),
    (
        "core::ops::range::RangeInclusive",
        "std::ops::RangeInclusive",
    ),
    ("core::num::nonzero::NonZero", "std::num::NonZero"),
    ("core::net::ip_addr::IpAddr", "std::net::IpAddr"),
    ("core::net::ip_addr::Ipv4Addr", "std::net::Ipv4Addr"),
    ("core::net::ip_addr::Ipv6Addr", "std::net::Ipv6Addr"),
    ("core::net::socket_addr::SocketAddr", "std::net::SocketAddr"),
    ("core::time::Duration", "std::time::Duration"),
    ("core::cmp::Ordering", "std::cmp::Ordering"),
    ("alloc::borrow::Cow", "std::borrow::Cow"),
    ("alloc::rc::Rc", "std::rc::Rc"),
    ("alloc::sync::Arc", "std::sync::Arc"),
    ("core::cell::cell::Cell", "std::cell::Cell"),
    ("core::cell::RefCell", "std::cell::RefCell"),
    ("core::marker::PhantomData", "std::marker::PhantomData"),
    ("serde_json::value::Value", "serde_json::Value"),
    ("serde_json::map::Map", "serde_json::Map"),
];

/// Names `type_name` (from `std::any::type_name`) for the session.
///
/// # Errors
/// The text does not parse as a Rust type (a closure or another type no
/// one can write).
pub fn nameable(type_name: &str) -> Result<Naming, String> {
    let mut ty: syn::Type = syn::parse_str(type_name)
        .map_err(|_| format!("`{type_name}` is not a type a notebook can write"))?;
    let mut v = Rewrite { foreign: false };
    v.visit_type_mut(&mut ty);
    let text = quote::ToTokens::to_token_stream(&ty).to_string();
    let text = tidy(&text);
    Ok(if v.foreign {
        Naming::Unverified(text)
    } else {
        Naming::Known(text)
    })
}

struct Rewrite {
    /// A path of a crate other than std and the task was kept.
    foreign: bool,
}

impl VisitMut for Rewrite {
    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        // Generic arguments first (they are paths too).
        syn::visit_mut::visit_path_mut(self, path);
        let idents: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let joined = idents.join("::");
        let last_args = path.segments.last().map(|s| s.arguments.clone());
        let replace = |text: &str, args: Option<syn::PathArguments>| -> Option<syn::Path> {
            let mut p: syn::Path = syn::parse_str(text).ok()?;
            if let (Some(last), Some(args)) = (p.segments.last_mut(), args) {
                last.arguments = args;
            }
            Some(p)
        };
        let new = if let Some((_, public)) = STD_PATHS.iter().find(|(from, _)| *from == joined) {
            replace(public, last_args)
        } else if idents
            .first()
            .is_some_and(|c| c.starts_with("sluice_task_"))
        {
            // The task crate's items are the notebook's own.
            replace(&idents[1..].join("::"), last_args)
        } else if let Some(first) = idents.first().filter(|_| idents.len() > 1) {
            match first.as_str() {
                "std" => None,
                "alloc" | "core" => replace(&format!("std::{}", idents[1..].join("::")), last_args),
                _ => {
                    self.foreign = true;
                    None
                }
            }
        } else {
            None
        };
        if let Some(p) = new {
            *path = p;
        }
    }
}

/// `Vec < i64 >` (token spacing, as syn prints a type) → `Vec<i64>`.
pub fn tidy(tokens: &str) -> String {
    let mut s = tokens.to_string();
    for (from, to) in [
        (" < ", "<"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        (" :: ", "::"),
        (":: ", "::"),
        (" ::", "::"),
        ("& ", "&"),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        (" ; ", "; "),
    ] {
        s = s.replace(from, to);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(t: &str) -> String {
        match nameable(t) {
            Ok(Naming::Known(s)) => s,
            other => panic!("{t}: {other:?}"),
        }
    }

    #[test]
    fn std_paths_become_public_ones() {
        assert_eq!(
            known("alloc::collections::btree::map::BTreeMap<alloc::string::String, usize>"),
            "std::collections::BTreeMap<String, usize>"
        );
        assert_eq!(
            known("std::collections::hash::set::HashSet<u64>"),
            "std::collections::HashSet<u64>"
        );
        assert_eq!(
            known("alloc::collections::vec_deque::VecDeque<(i32, f64)>"),
            "std::collections::VecDeque<(i32, f64)>"
        );
        assert_eq!(
            known("core::ops::range::Range<i64>"),
            "std::ops::Range<i64>"
        );
        assert_eq!(
            known("core::num::nonzero::NonZero<u32>"),
            "std::num::NonZero<u32>"
        );
        assert_eq!(known("core::net::ip_addr::IpAddr"), "std::net::IpAddr");
        assert_eq!(
            known(
                "alloc::vec::Vec<core::option::Option<std::collections::hash::map::HashMap<alloc::string::String, alloc::collections::btree::set::BTreeSet<i8>>>>"
            ),
            "Vec<Option<std::collections::HashMap<String, std::collections::BTreeSet<i8>>>>"
        );
        assert_eq!(known("(i32, [u8; 4], &str)"), "(i32, [u8; 4], &str)");
        assert_eq!(
            known("alloc::vec::Vec<sluice_task_0123abcd::Point>"),
            "Vec<Point>"
        );
        assert_eq!(
            known("sluice_task_0123abcd::geo::Shape<f32>"),
            "geo::Shape<f32>"
        );
        assert_eq!(known("u128"), "u128");
        assert_eq!(
            known("core::iter::adapters::rev::Rev<i32>"),
            "std::iter::adapters::rev::Rev<i32>"
        );
    }

    #[test]
    fn other_crates_are_unverified_and_closures_refused() {
        assert_eq!(
            nameable("chrono::naive::date::NaiveDate"),
            Ok(Naming::Unverified("chrono::naive::date::NaiveDate".into()))
        );
        assert_eq!(
            nameable("serde_json::value::Value"),
            Ok(Naming::Known("serde_json::Value".into()))
        );
        assert!(nameable("sluice_task_ab::main::{{closure}}").is_err());
    }
}
