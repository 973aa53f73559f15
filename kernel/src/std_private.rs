//! The standard library's private methods, so completion does not offer them.
//!
//! evcxr asks rust-analyzer for completions with private items of
//! "editable" crates shown, and rust-analyzer counts the standard library
//! evcxr loads from the toolchain's `rust-src` as editable: `s.push_st`
//! offers `push_str_slice`, which no notebook can call. The names are
//! read from that same source (`$(rustc --print sysroot)/lib/rustlib/src/
//! rust/library/{core,alloc,std}/src`), formatted by rustfmt: an `fn` four
//! spaces inside an inherent `impl` is a method, public only when declared
//! `pub` (`pub(crate)`, `pub(super)` and no keyword are private); methods
//! of traits and trait impls are public with their trait; a method marked
//! `#[unstable(...)]` is nightly-only, which a stable toolchain cannot call
//! either. Struct fields count too (`Vec`'s `buf`, `String`'s `vec`): public
//! only when declared `pub`. A name is private when every method and field
//! of that name is. The scan takes a fraction of a second and runs once, off
//! the request path.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static PRIVATE: OnceLock<HashSet<String>> = OnceLock::new();

/// Starts the scan in the background (at kernel start), so the first
/// completion does not wait for it.
pub fn warm() {
    std::thread::Builder::new()
        .name("std-private-scan".into())
        .spawn(|| {
            private();
        })
        .ok();
}

/// True if `name` is only ever a private method of core, alloc or std.
/// False when the source cannot be read (nothing is filtered then).
pub fn is_private(name: &str) -> bool {
    private().contains(name)
}

fn private() -> &'static HashSet<String> {
    PRIVATE.get_or_init(|| match library_dir() {
        Some(dir) => scan(&dir),
        None => HashSet::new(),
    })
}

/// The toolchain's library sources, where rust-analyzer reads them too.
fn library_dir() -> Option<PathBuf> {
    let out = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let sysroot = String::from_utf8(out.stdout).ok()?;
    let dir = Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library");
    dir.is_dir().then_some(dir)
}

fn scan(library: &Path) -> HashSet<String> {
    let mut public = HashSet::new();
    let mut private = HashSet::new();
    for krate in ["core", "alloc", "std"] {
        let mut stack = vec![library.join(krate).join("src")];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && let Ok(text) = std::fs::read_to_string(&path)
                {
                    methods(&text, &mut public, &mut private);
                }
            }
        }
    }
    private.retain(|n| !public.contains(n));
    private
}

/// What a block opened at some indentation is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    /// `impl Type { ... }`: its methods are as public as they say.
    Inherent,
    /// `trait T { ... }` or `impl T for Type { ... }`: public with the trait.
    Trait,
    /// `struct S { ... }`: its fields are as public as they say.
    Struct,
    Other,
}

/// Sorts the methods and fields of one rustfmt-formatted file into public
/// and private.
fn methods(text: &str, public: &mut HashSet<String>, private: &mut HashSet<String>) {
    // The block each indentation level opened last (index: indent / 4).
    let mut blocks: Vec<Block> = Vec::new();
    // An `#[unstable(...)]` attribute is waiting for the item it marks.
    let mut unstable = false;
    for line in text.lines() {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with("//") {
            continue;
        }
        if body.starts_with('#') {
            unstable |= body.starts_with("#[unstable(");
            continue;
        }
        if continues_attribute(body) {
            continue;
        }
        let marked = std::mem::take(&mut unstable);
        let level = (line.len() - body.len()) / 4;
        blocks.truncate(level + 1);
        blocks.resize(level + 1, Block::Other);
        if let Some(kind) = header(body) {
            blocks[level] = kind;
            continue;
        }
        let parent = level.checked_sub(1).map(|l| blocks[l]);
        let (is_pub, name) = match (parent, function(body)) {
            (_, Some(found)) => found,
            (Some(Block::Struct), None) => match field(body) {
                Some(found) => found,
                None => continue,
            },
            _ => continue,
        };
        let visible = match parent {
            Some(Block::Trait) => !marked,
            Some(Block::Inherent | Block::Struct) => is_pub && !marked,
            _ => continue,
        };
        if visible {
            public.insert(name.to_string());
        } else {
            private.insert(name.to_string());
        }
    }
}

/// A line inside a multi-line attribute (`feature = "x",`, `)]`).
fn continues_attribute(body: &str) -> bool {
    body.starts_with(")]")
        || [
            "feature = ",
            "issue = ",
            "reason = ",
            "since = ",
            "note = ",
            "implied_by = ",
        ]
        .iter()
        .any(|k| body.starts_with(k))
}

/// `pub name: Type,` → (true, "name"); `name: Type,` → (false, "name").
fn field(body: &str) -> Option<(bool, &str)> {
    let (rest, is_pub) = strip_visibility(body);
    let (name, ty) = rest.split_once(':')?;
    let simple = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    (simple && !ty.starts_with(':') && rest.trim_end().ends_with(',')).then_some((is_pub, name))
}

/// The kind of block an `impl` or `trait` line opens.
fn header(body: &str) -> Option<Block> {
    let body = strip_visibility(body).0;
    let body = body.strip_prefix("unsafe ").unwrap_or(body);
    let body = body.strip_prefix("auto ").unwrap_or(body);
    if body.starts_with("trait ") {
        return Some(Block::Trait);
    }
    if body.starts_with("struct ") && body.trim_end().ends_with('{') {
        return Some(Block::Struct);
    }
    if body.starts_with("impl<") || body.starts_with("impl ") {
        // `impl<T> Trait for Type`, `impl !Send for Type`.
        return Some(if body.contains(" for ") {
            Block::Trait
        } else {
            Block::Inherent
        });
    }
    None
}

/// `pub const unsafe fn name(` → (true, "name").
fn function(body: &str) -> Option<(bool, &str)> {
    let (mut rest, is_pub) = strip_visibility(body);
    loop {
        let before = rest;
        for q in ["const ", "async ", "unsafe ", "safe "] {
            rest = rest.strip_prefix(q).unwrap_or(rest);
        }
        if let Some(r) = rest.strip_prefix("extern \"")
            && let Some((_, after)) = r.split_once("\" ")
        {
            rest = after;
        }
        if rest == before {
            break;
        }
    }
    let rest = rest.strip_prefix("fn ")?;
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    (!name.is_empty()).then_some((is_pub, name))
}

/// The line without its visibility, and whether that was plain `pub`.
fn strip_visibility(body: &str) -> (&str, bool) {
    if let Some(rest) = body.strip_prefix("pub(")
        && let Some((_, after)) = rest.split_once(") ")
    {
        return (after, false);
    }
    match body.strip_prefix("pub ") {
        Some(rest) => (rest, true),
        None => (body, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "impl String {
    pub fn push_str(&mut self, s: &str) {}
    fn push_str_slice(&mut self) {}
    pub(crate) fn helper(&self) {}
    pub const unsafe fn from_raw(&self) {}
}

impl<T> Extend<T> for Vec<T> {
    fn extend<I>(&mut self, iter: I) {}
}

pub trait Iterator {
    fn next(&mut self) -> Option<Self::Item>;
}

mod inner {
    impl Thing {
        fn hidden(&self) {}
        pub fn shown(&self) {}
    }
}

fn free_function() {}

pub struct Vecish<T> {
    buf: RawVec<T>,
    len: usize,
    pub(crate) cap: usize,
    pub shown_field: u8,
}

impl<T> Vecish<T> {
    pub fn len(&self) -> usize {}
    #[unstable(feature = \"vec_into_raw_parts\", reason = \"new API\", issue = \"65816\")]
    pub fn into_raw_parts(self) {}
    #[unstable(
        feature = \"push_mut\",
        issue = \"135974\"
    )]
    pub fn push_mut(&mut self) {}
}
";

    #[test]
    fn methods_are_sorted_by_their_impl_and_keyword() {
        let (mut public, mut private) = (HashSet::new(), HashSet::new());
        methods(SOURCE, &mut public, &mut private);
        let mut p: Vec<_> = public.into_iter().collect();
        p.sort();
        assert_eq!(
            p,
            [
                "extend",
                "from_raw",
                "len",
                "next",
                "push_str",
                "shown",
                "shown_field"
            ]
        );
        let mut q: Vec<_> = private.into_iter().collect();
        q.sort();
        assert_eq!(
            q,
            [
                "buf",
                "cap",
                "helper",
                "hidden",
                "into_raw_parts",
                "len",
                "push_mut",
                "push_str_slice"
            ]
        );
    }

    #[test]
    fn the_toolchains_std_has_the_private_methods_completion_offered() {
        // The toolchain that builds sluice has rust-src (evcxr needs it).
        let dir = library_dir().expect("rust-src of the toolchain");
        let private = scan(&dir);
        for name in [
            "push_str_slice",
            "extend_desugared",
            "extend_trusted",
            "base",
            "into_raw_parts_with_alloc",
        ] {
            assert!(private.contains(name), "{name}");
        }
        for name in ["push_str", "extend_from_slice", "len", "next", "map"] {
            assert!(!private.contains(name), "{name}");
        }
    }
}
