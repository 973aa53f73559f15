//! What the notebook has defined so far, for task crates: the items
//! (structs, enums, fns, impls, uses, consts...) of cells that ran, each as
//! the user wrote it with the cell it came from, and their `:dep` lines. A
//! later definition of the same name replaces the earlier one, as in the
//! evcxr session. No IO.

use std::sync::Arc;

use quote::ToTokens;
use syn::spanned::Spanned;

/// Where an item of the notebook was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The cell's execution count (it is named `cell[N]`).
    pub cell: usize,
    /// 1-based line of the cell where the item starts (its attributes and
    /// doc comments included).
    pub line: usize,
    /// The whole cell's source text, as the user wrote it.
    pub source: Arc<str>,
}

/// One item of an executed cell.
#[derive(Debug, Clone)]
struct Item {
    /// Identity: a later item with the same key replaces this one.
    key: String,
    /// The item's own text, its first line preceded by as many spaces as
    /// columns came before it on the cell's line, so every line and column
    /// of it is the cell's.
    text: String,
    /// Where it was written.
    origin: Origin,
}

/// Items and dependencies recorded from executed cells.
#[derive(Debug, Default, Clone)]
pub struct Notebook {
    items: Vec<Item>,
    deps: Vec<(String, String)>,
}

impl Notebook {
    /// Records a cell that ran successfully; `count` is its execution count.
    /// Ends by invalidating the spans of everything syn parsed on this
    /// thread: call it with no syn value alive.
    pub fn record(&mut self, count: usize, code: &str) {
        let mut rust = String::new();
        for line in code.lines() {
            let t = line.trim_start();
            if let Some(dep) = t.strip_prefix(":dep ") {
                self.record_dep(dep);
                rust.push('\n');
            } else if t.starts_with(':') {
                rust.push('\n');
            } else {
                rust.push_str(line);
                rust.push('\n');
            }
        }
        // The block's `{` is on a line of its own: line L + 1 of this text
        // is line L of the cell.
        let wrapped = format!("{{\n{rust}\n}}");
        let Ok(block) = syn::parse_str::<syn::Block>(&wrapped) else {
            return;
        };
        let lines: Vec<&str> = wrapped.lines().collect();
        let source: Arc<str> = Arc::from(code);
        for stmt in block.stmts {
            if let syn::Stmt::Item(item) = stmt
                && let Some(key) = item_key(&item)
            {
                let (start, end) = (item.span().start(), item.span().end());
                let Some(text) = text_between(&lines, start, end) else {
                    continue;
                };
                self.items.retain(|i| i.key != key);
                self.items.push(Item {
                    key,
                    text,
                    origin: Origin {
                        cell: count,
                        line: start.line.saturating_sub(1).max(1),
                        source: Arc::clone(&source),
                    },
                });
            }
        }
        // With span locations, every parse on this thread keeps its text
        // in proc-macro2's thread-local source map; nothing holds a span
        // between cells (no syn value outlives the call that parsed it),
        // so the map is emptied after each cell instead of growing with
        // the session.
        proc_macro2::extra::invalidate_current_thread_spans();
    }

    fn record_dep(&mut self, spec: &str) {
        let (name, version) = match spec.split_once('=') {
            Some((n, v)) => (n.trim().to_string(), v.trim().to_string()),
            None => (spec.trim().to_string(), "\"*\"".to_string()),
        };
        if name.is_empty() {
            return;
        }
        self.deps.retain(|(n, _)| *n != name);
        self.deps.push((name, version));
    }

    /// The items in definition order: each one's text (lines and columns
    /// as in its cell, see [`Origin`]) and where it was written.
    pub fn items(&self) -> Vec<(&str, &Origin)> {
        self.items
            .iter()
            .map(|i| (i.text.as_str(), &i.origin))
            .collect()
    }

    /// The text of the notebook's current item with key `key`.
    fn current(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .rev()
            .find(|i| i.key == key)
            .map(|i| i.text.as_str())
    }

    /// The notebook's current definition of the type `name` (a struct, an
    /// enum, a union or a type alias), parsed; None when it defines none.
    pub fn type_item(&self, name: &str) -> Option<syn::Item> {
        syn::parse_str::<syn::Item>(self.type_text(name)?).ok()
    }

    /// The text of the notebook's current definition of the type `name`,
    /// as written.
    pub fn type_text(&self, name: &str) -> Option<&str> {
        self.current(&format!("type {name}"))
    }

    /// Whether the notebook's current definition of `name` is a struct or
    /// enum without generics that derives serde's `Deserialize` (its cell
    /// compiled, so the derive holds in the session).
    pub fn derives_deserialize(&self, name: &str) -> bool {
        let Some(src) = self.current(&format!("type {name}")) else {
            return false;
        };
        let Ok(item) = syn::parse_str::<syn::Item>(src) else {
            return false;
        };
        let (attrs, generics) = match &item {
            syn::Item::Struct(s) => (&s.attrs, &s.generics),
            syn::Item::Enum(e) => (&e.attrs, &e.generics),
            _ => return false,
        };
        generics.params.is_empty()
            && attrs.iter().any(|a| {
                a.path().is_ident("derive")
                    && a.parse_args_with(
                        syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                    )
                    .is_ok_and(|paths| {
                        paths
                            .iter()
                            .any(|p| p.segments.last().is_some_and(|s| s.ident == "Deserialize"))
                    })
            })
    }

    /// The named fields of the notebook's current struct `name`, in their
    /// order; None for anything else (an enum, a tuple struct, unknown).
    pub fn struct_fields(&self, name: &str) -> Option<Vec<String>> {
        let src = self.current(&format!("type {name}"))?;
        match syn::parse_str::<syn::Item>(src).ok()? {
            syn::Item::Struct(s) => match s.fields {
                syn::Fields::Named(f) => Some(
                    f.named
                        .iter()
                        .filter_map(|f| f.ident.as_ref().map(|i| i.to_string()))
                        .collect(),
                ),
                // `struct Empty;` serializes as null: no field to read.
                syn::Fields::Unit => Some(Vec::new()),
                syn::Fields::Unnamed(_) => None,
            },
            _ => None,
        }
    }

    /// The `:dep`s as `(name, cargo spec)` pairs.
    pub fn deps(&self) -> &[(String, String)] {
        &self.deps
    }
}

/// The text from `start` to `end` (proc-macro2's 1-based lines, columns
/// in chars) of `lines`, its first line preceded by a space for each char
/// before `start` on its line. None if the places are not in `lines`.
fn text_between(
    lines: &[&str],
    start: proc_macro2::LineColumn,
    end: proc_macro2::LineColumn,
) -> Option<String> {
    let byte = |line: &str, column: usize| -> Option<usize> {
        line.char_indices()
            .map(|(b, _)| b)
            .chain([line.len()])
            .nth(column)
    };
    let first = lines.get(start.line.checked_sub(1)?)?;
    let mut text = " ".repeat(start.column);
    if start.line == end.line {
        text.push_str(first.get(byte(first, start.column)?..byte(first, end.column)?)?);
        return Some(text);
    }
    text.push_str(first.get(byte(first, start.column)?..)?);
    for line in lines.get(start.line..end.line.checked_sub(1)?)? {
        text.push('\n');
        text.push_str(line);
    }
    let last = lines.get(end.line.checked_sub(1)?)?;
    text.push('\n');
    text.push_str(last.get(..byte(last, end.column)?)?);
    Some(text)
}

/// Identity of an item: later items with the same key replace earlier ones.
fn item_key(item: &syn::Item) -> Option<String> {
    use syn::Item;
    Some(match item {
        Item::Fn(f) => format!("fn {}", f.sig.ident),
        Item::Struct(s) => format!("type {}", s.ident),
        Item::Enum(e) => format!("type {}", e.ident),
        Item::Type(t) => format!("type {}", t.ident),
        Item::Union(u) => format!("type {}", u.ident),
        Item::Trait(t) => format!("trait {}", t.ident),
        Item::Const(c) => format!("value {}", c.ident),
        Item::Static(s) => format!("value {}", s.ident),
        Item::Mod(m) => format!("mod {}", m.ident),
        Item::Macro(m) => match &m.ident {
            Some(i) => format!("macro {i}"),
            None => return None,
        },
        Item::Impl(i) => format!(
            "impl {} for {}",
            i.trait_
                .as_ref()
                .map(|(_, p, _)| p.to_token_stream().to_string())
                .unwrap_or_default(),
            i.self_ty.to_token_stream()
        ),
        Item::Use(u) => format!("use {}", u.tree.to_token_stream()),
        Item::ExternCrate(e) => format!("extern crate {}", e.ident),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_struct_deriving_deserialize_is_known() {
        let mut nb = Notebook::default();
        nb.record(1, "use serde::{Deserialize, Serialize};\n#[derive(Debug, Clone, Serialize, Deserialize)]\npub struct R { x: f64 }\n#[derive(serde::Deserialize)] enum E { A }\n#[derive(Debug)] struct N;\n#[derive(Deserialize)] struct G<T> { t: T }\nlet a = 1;");
        assert!(nb.derives_deserialize("R"));
        assert!(nb.derives_deserialize("E"));
        assert!(!nb.derives_deserialize("N"));
        assert!(!nb.derives_deserialize("G"));
        assert!(!nb.derives_deserialize("Missing"));
        assert_eq!(nb.struct_fields("R"), Some(vec!["x".to_string()]));
        assert_eq!(nb.struct_fields("E"), None);
        assert_eq!(nb.struct_fields("N"), Some(Vec::new()), "a unit struct");
        nb.record(2, "struct B {}\nstruct T(u8);");
        assert_eq!(nb.struct_fields("B"), Some(Vec::new()));
        assert_eq!(nb.struct_fields("T"), None);
        // A later definition without the derive replaces it.
        nb.record(2, "struct R { y: i32 }");
        assert!(!nb.derives_deserialize("R"));
    }

    #[test]
    fn items_are_kept_and_replaced_by_name() {
        let mut nb = Notebook::default();
        nb.record(1, ":dep itoa = \"1\"\nuse std::collections::HashMap;\nstruct P { x: i32 }\nlet a = 1;\nfn f() -> i32 { 1 }");
        nb.record(
            2,
            "fn f() -> i32 { 2 }\nimpl P { fn get(&self) -> i32 { self.x } }",
        );
        let texts: Vec<&str> = nb.items().iter().map(|(t, _)| *t).collect();
        assert_eq!(
            texts,
            [
                "use std::collections::HashMap;",
                "struct P { x: i32 }",
                "fn f() -> i32 { 2 }",
                "impl P { fn get(&self) -> i32 { self.x } }"
            ]
        );
        assert_eq!(nb.deps(), &[("itoa".to_string(), "\"1\"".to_string())]);
    }

    /// (text, cell, line) of each item.
    fn places(nb: &Notebook) -> Vec<(String, usize, usize)> {
        nb.items()
            .iter()
            .map(|(t, o)| (t.to_string(), o.cell, o.line))
            .collect()
    }

    #[test]
    fn items_keep_their_lines_columns_and_cell() {
        let mut nb = Notebook::default();
        let cell = "// helpers\n:dep itoa = \"1\"\nmacro_rules! twice {\n    ($e:expr) => { $e * 2 };\n}\n#[derive(Debug, Clone)]\n/// A point.\nstruct P {\n    x: u32, // é\n}\nlet a = 1; fn f(v: &str) -> u32 {\n    v.len() as u32\n}\n    impl P { fn get(&self) -> u32 { self.x } }";
        nb.record(4, cell);
        assert_eq!(
            places(&nb),
            [
                (
                    "macro_rules! twice {\n    ($e:expr) => { $e * 2 };\n}".to_string(),
                    4,
                    3
                ),
                (
                    "#[derive(Debug, Clone)]\n/// A point.\nstruct P {\n    x: u32, // é\n}"
                        .to_string(),
                    4,
                    6
                ),
                (
                    "           fn f(v: &str) -> u32 {\n    v.len() as u32\n}".to_string(),
                    4,
                    11
                ),
                (
                    "    impl P { fn get(&self) -> u32 { self.x } }".to_string(),
                    4,
                    14
                ),
            ]
        );
        assert_eq!(&*nb.items()[0].1.source, cell);
        // Redefined in a later cell: the later one, in its place, wins.
        nb.record(6, "let b = 2;\nfn f(v: &str) -> u32 { 7 }");
        let now = places(&nb);
        assert_eq!(now.len(), 4);
        assert_eq!(now[3], ("fn f(v: &str) -> u32 { 7 }".to_string(), 6, 2));
        // Multi-byte chars before an item on its line count as one column each.
        nb.record(7, "let s = \"é\"; struct Q;");
        assert_eq!(places(&nb)[4], ("             struct Q;".to_string(), 7, 1));
    }

    #[test]
    fn unparsable_cells_are_ignored() {
        let mut nb = Notebook::default();
        nb.record(1, "fn broken( {");
        assert!(nb.items().is_empty());
    }
}
