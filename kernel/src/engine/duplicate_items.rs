//! A cell that defines one name twice in one namespace: rustc's E0428.
//!
//! evcxr files a cell's items by name, so of `fn d() {}` written twice in
//! one cell it silently keeps the second. Rust refuses it ("the name `d` is
//! defined multiple times"), and so does the kernel, before evcxr builds
//! the cell. Redefining a name in a later cell stays allowed: that is how a
//! notebook is edited. The namespaces are the Reference's: types (structs,
//! enums, unions, traits, type aliases, modules) and values (fns, consts,
//! statics, and the constructors of tuple and unit structs). Macros may be
//! redefined (`macro_rules!` shadowing is legal Rust).
//!
//! Parsing is `deferred_items::top_level`'s (rust-analyzer's parser).

use ra_ap_syntax::{AstNode, ast};
use sluice_magics::diagnostic::{CellSpan, Diagnostic, Label};

/// Rust's namespaces an item's name lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Namespace {
    Type,
    Value,
}

impl Namespace {
    fn word(self) -> &'static str {
        match self {
            Namespace::Type => "type",
            Namespace::Value => "value",
        }
    }
}

/// One named item at the cell's top level.
struct Named {
    name: String,
    spaces: Vec<Namespace>,
    /// From the item's start to the end of its name (rustc's span).
    span: CellSpan,
}

/// The E0428 diagnostic for the first name the cell defines twice in one
/// namespace, if any (`None` also when the cell does not parse: evcxr
/// reports that).
pub(super) fn check(code: &str) -> Option<Diagnostic> {
    let items = named_items(code)?;
    for (i, later) in items.iter().enumerate() {
        for earlier in &items[..i] {
            let Some(space) = later
                .spaces
                .iter()
                .find(|s| earlier.name == later.name && earlier.spaces.contains(s))
            else {
                continue;
            };
            let name = &later.name;
            return Some(Diagnostic {
                level: "error".into(),
                code: Some("E0428".into()),
                message: format!("the name `{name}` is defined multiple times"),
                labels: vec![
                    Label {
                        span: earlier.span,
                        text: format!("previous definition of the {} `{name}` here", space.word()),
                        primary: false,
                    },
                    Label {
                        span: later.span,
                        text: format!("`{name}` redefined here"),
                        primary: true,
                    },
                ],
                notes: vec![format!(
                    "note: `{name}` must be defined only once in the {} namespace of this cell",
                    space.word()
                )],
                ..Diagnostic::default()
            });
        }
    }
    None
}

/// The cell's top-level named items, in order.
fn named_items(code: &str) -> Option<Vec<Named>> {
    let (body, prelude) = super::deferred_items::top_level(code)?;
    let mut out = Vec::new();
    for node in body.syntax().children() {
        let Some(item) = ast::Item::cast(node) else {
            continue;
        };
        let (name, spaces) = match &item {
            ast::Item::Const(i) => (ast::HasName::name(i), vec![Namespace::Value]),
            ast::Item::Static(i) => (ast::HasName::name(i), vec![Namespace::Value]),
            ast::Item::Fn(i) => (ast::HasName::name(i), vec![Namespace::Value]),
            ast::Item::Enum(i) => (ast::HasName::name(i), vec![Namespace::Type]),
            ast::Item::Union(i) => (ast::HasName::name(i), vec![Namespace::Type]),
            ast::Item::Trait(i) => (ast::HasName::name(i), vec![Namespace::Type]),
            ast::Item::TypeAlias(i) => (ast::HasName::name(i), vec![Namespace::Type]),
            ast::Item::Module(i) => (ast::HasName::name(i), vec![Namespace::Type]),
            ast::Item::Struct(i) => {
                // A tuple or unit struct's name is also its constructor.
                let record = matches!(i.field_list(), Some(ast::FieldList::RecordFieldList(_)));
                let spaces = if record {
                    vec![Namespace::Type]
                } else {
                    vec![Namespace::Type, Namespace::Value]
                };
                (ast::HasName::name(i), spaces)
            }
            _ => continue,
        };
        let Some(name) = name else { continue };
        // From the keyword (after attributes and docs) to the name's end.
        let start = item
            .syntax()
            .children_with_tokens()
            .find(|t| {
                !matches!(
                    t.kind(),
                    ra_ap_syntax::SyntaxKind::ATTR
                        | ra_ap_syntax::SyntaxKind::COMMENT
                        | ra_ap_syntax::SyntaxKind::WHITESPACE
                )
            })
            .map_or(item.syntax().text_range().start(), |t| {
                t.text_range().start()
            });
        let end = name.syntax().text_range().end();
        let (Some(from), Some(to)) = (
            super::deferred_items::position(code, start.checked_sub(prelude)?),
            super::deferred_items::position(code, end.checked_sub(prelude)?),
        ) else {
            continue;
        };
        out.push(Named {
            name: name.text().to_string(),
            spaces,
            span: CellSpan {
                start_line: from.0,
                start_column: from.1,
                end_line: to.0,
                end_column: to.1,
            },
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn a_name_twice_in_one_namespace_is_e0428() {
        let d = check("fn d() {}\nlet x = 1;\nfn d() -> u8 { 2 }").expect("E0428");
        assert_eq!(d.code.as_deref(), Some("E0428"));
        let text = d.render("fn d() {}\nlet x = 1;\nfn d() -> u8 { 2 }");
        assert!(
            text.starts_with(
                "error[E0428]: the name `d` is defined multiple times\n --> cell:3:1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("1 | fn d() {}\n  | ---- previous definition of the value `d` here"),
            "{text}"
        );
        assert!(
            text.contains("3 | fn d() -> u8 { 2 }\n  | ^^^^ `d` redefined here"),
            "{text}"
        );
        let code = "#[derive(Debug)]\nstruct P(u8);\nconst P: u8 = 1;";
        let d = check(code).expect("constructor");
        assert!(
            d.render(code).contains(
                "2 | struct P(u8);\n  | -------- previous definition of the value `P` here"
            ),
            "{}",
            d.render(code)
        );
        let d = check("  struct Q { a: u8 }\nenum Q { A }").expect("types");
        assert_eq!(d.labels[1].span.start_column, 1);
        assert_eq!(d.labels[0].span.start_column, 3);
    }

    #[test]
    fn different_namespaces_macros_and_later_cells_are_allowed() {
        assert!(check("struct R { a: u8 }\nfn R() -> u8 { 1 }").is_none());
        assert!(check("macro_rules! m { () => {} }\nmacro_rules! m { () => { 1 } }").is_none());
        assert!(check("fn d() {}").is_none());
        assert!(
            check("fn d( {}").is_none(),
            "a syntax error is evcxr's to report"
        );
        assert!(
            check("fn outer() { fn d() {} }\nfn d() {}").is_none(),
            "nested"
        );
    }
}
