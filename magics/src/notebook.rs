//! What the notebook has defined so far, for task crates: the items
//! (structs, enums, fns, impls, uses, consts...) of cells that ran, and their
//! `:dep` lines. A later definition of the same name replaces the earlier
//! one, as in the evcxr session. No IO.

use quote::ToTokens;

/// Items and dependencies recorded from executed cells.
#[derive(Debug, Default, Clone)]
pub struct Notebook {
    items: Vec<(String, String)>,
    deps: Vec<(String, String)>,
}

impl Notebook {
    /// Records a cell that ran successfully.
    pub fn record(&mut self, code: &str) {
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
        let Ok(block) = syn::parse_str::<syn::Block>(&format!("{{\n{rust}\n}}")) else {
            return;
        };
        for stmt in block.stmts {
            if let syn::Stmt::Item(item) = stmt
                && let Some(key) = item_key(&item)
            {
                let src = item.to_token_stream().to_string();
                self.items.retain(|(k, _)| *k != key);
                self.items.push((key, src));
            }
        }
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

    /// The items, in definition order, as Rust source.
    pub fn items_source(&self) -> String {
        self.items
            .iter()
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether the notebook's current definition of `name` is a struct or
    /// enum without generics that derives serde's `Deserialize` (its cell
    /// compiled, so the derive holds in the session).
    pub fn derives_deserialize(&self, name: &str) -> bool {
        let key = format!("type {name}");
        let Some((_, src)) = self.items.iter().rev().find(|(k, _)| *k == key) else {
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
        let key = format!("type {name}");
        let (_, src) = self.items.iter().rev().find(|(k, _)| *k == key)?;
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
        nb.record("use serde::{Deserialize, Serialize};\n#[derive(Debug, Clone, Serialize, Deserialize)]\npub struct R { x: f64 }\n#[derive(serde::Deserialize)] enum E { A }\n#[derive(Debug)] struct N;\n#[derive(Deserialize)] struct G<T> { t: T }\nlet a = 1;");
        assert!(nb.derives_deserialize("R"));
        assert!(nb.derives_deserialize("E"));
        assert!(!nb.derives_deserialize("N"));
        assert!(!nb.derives_deserialize("G"));
        assert!(!nb.derives_deserialize("Missing"));
        assert_eq!(nb.struct_fields("R"), Some(vec!["x".to_string()]));
        assert_eq!(nb.struct_fields("E"), None);
        assert_eq!(nb.struct_fields("N"), Some(Vec::new()), "a unit struct");
        nb.record("struct B {}\nstruct T(u8);");
        assert_eq!(nb.struct_fields("B"), Some(Vec::new()));
        assert_eq!(nb.struct_fields("T"), None);
        // A later definition without the derive replaces it.
        nb.record("struct R { y: i32 }");
        assert!(!nb.derives_deserialize("R"));
    }

    #[test]
    fn items_are_kept_and_replaced_by_name() {
        let mut nb = Notebook::default();
        nb.record(":dep itoa = \"1\"\nuse std::collections::HashMap;\nstruct P { x: i32 }\nlet a = 1;\nfn f() -> i32 { 1 }");
        nb.record("fn f() -> i32 { 2 }\nimpl P { fn get(&self) -> i32 { self.x } }");
        let src = nb.items_source();
        assert!(src.contains("struct P"));
        assert!(src.contains("use std :: collections :: HashMap"));
        assert!(src.contains("2"));
        assert!(!src.contains("{ 1 }"), "{src}");
        assert!(!src.contains("let a"));
        assert_eq!(nb.deps(), &[("itoa".to_string(), "\"1\"".to_string())]);
    }

    #[test]
    fn unparsable_cells_are_ignored() {
        let mut nb = Notebook::default();
        nb.record("fn broken( {");
        assert_eq!(nb.items_source(), "");
    }
}
