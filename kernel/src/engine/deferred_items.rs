//! Items-only cells, built together with the next cell.
//!
//! A cell that only defines new items (structs, enums, fns, traits, impls,
//! consts, `use`s) has nothing to run, yet evcxr builds and loads a whole library
//! for it. Here such a cell is type-checked at once (`cargo check`, so its
//! errors stay on its own lines) and waits; its items are built with the
//! next cell's code, one build instead of two.
//!
//! evcxr files the items of one block by name, and files an item without a
//! name (an `impl`, say) under the last named item before it in the block,
//! or on its own when none came before. The parts of a combined block are
//! ordered so every item lands where it would have landed cell by cell:
//! parts that begin with an unnamed item come before every named item, the
//! running cell comes last (its last expression is the one displayed). When
//! no such order exists, the waiting items are built on their own first.
//!
//! Parsing uses rust-analyzer's parser, the one evcxr splits cells with.

use ra_ap_syntax::{AstNode, Edition, SourceFile, TextSize, ast};

/// What a block's first item does to evcxr's filing of items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lead {
    /// The block has no items that evcxr files by position.
    None,
    /// Its first such item has a name.
    Named,
    /// Its first such item has no name (`impl`, `extern` block, macro call).
    Unnamed,
}

/// A cell's code as evcxr will see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Shape {
    pub lead: Lead,
    /// Whether any item evcxr files by position has a name.
    pub has_named: bool,
    /// Names of the items that have one, and those `use`s bring in.
    pub names: Vec<String>,
    /// Only items that can wait: no statements, `extern crate`,
    /// `macro_rules!`, macro calls, glob or `_` imports, inner attributes,
    /// evcxr commands or shell lines.
    pub can_wait: bool,
}

/// A cell's top-level statements, parsed as a function's body (the way
/// evcxr splits a cell), and where the cell's first byte is in the parsed
/// text. None when the code does not parse.
pub(super) fn top_level(code: &str) -> Option<(ast::StmtList, TextSize)> {
    let (parsed, prelude) = parse_as_body(code);
    if !parsed.errors().is_empty() {
        return None;
    }
    let stmts = parsed
        .tree()
        .syntax()
        .children()
        .next()
        .and_then(ast::Fn::cast)
        .and_then(|f| f.body())
        .and_then(|b| b.stmt_list())?;
    Some((stmts, prelude))
}

/// The cell parsed as a function's body, errors and all, and where the
/// cell's first byte is in the parsed text.
pub(super) fn parse_as_body(code: &str) -> (ra_ap_syntax::Parse<SourceFile>, TextSize) {
    const PRELUDE: &str = "fn f(){";
    let parsed = SourceFile::parse(&format!("{PRELUDE}{code}\n}}"), Edition::Edition2024);
    (parsed, TextSize::of(PRELUDE))
}

/// The 1-based line and character column of byte `offset` in `code`.
pub(super) fn position(code: &str, offset: TextSize) -> Option<(usize, usize)> {
    let offset = usize::from(offset);
    let before = code.get(..offset)?;
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Some((line, before[line_start..].chars().count() + 1))
}

/// Reads `code`'s top-level statements the way evcxr splits a cell. `None`
/// when the code does not parse (evcxr will report that) or starts with an
/// evcxr command or shell line.
pub(super) fn shape(code: &str) -> Option<Shape> {
    if starts_with_command(code) {
        return None;
    }
    let (stmts, _) = top_level(code)?;
    let mut shape = Shape {
        lead: Lead::None,
        has_named: false,
        names: Vec::new(),
        can_wait: true,
    };
    let mut any = false;
    for node in stmts.syntax().children() {
        any = true;
        let Some(item) = ast::Item::cast(node.clone()) else {
            // A `let`, an expression statement, the final expression or
            // an inner attribute: something to run or to keep in order.
            shape.can_wait = false;
            continue;
        };
        let name = match &item {
            // evcxr files `use`s by the names they bring in, apart from the
            // other items: they take no part in the ordering.
            ast::Item::Use(u) => {
                let named = u
                    .use_tree()
                    .is_some_and(|t| use_names(&t, None, &mut shape.names));
                shape.can_wait &= named;
                continue;
            }
            ast::Item::ExternCrate(_) | ast::Item::MacroRules(_) => {
                shape.can_wait = false;
                continue;
            }
            ast::Item::Const(i) => ast::HasName::name(i),
            ast::Item::Enum(i) => ast::HasName::name(i),
            ast::Item::Fn(i) => ast::HasName::name(i),
            ast::Item::MacroDef(i) => ast::HasName::name(i),
            ast::Item::Module(i) => ast::HasName::name(i),
            ast::Item::Static(i) => ast::HasName::name(i),
            ast::Item::Struct(i) => ast::HasName::name(i),
            ast::Item::Trait(i) => ast::HasName::name(i),
            ast::Item::TypeAlias(i) => ast::HasName::name(i),
            ast::Item::Union(i) => ast::HasName::name(i),
            _ => None,
        };
        if matches!(item, ast::Item::MacroCall(_) | ast::Item::ExternBlock(_)) {
            shape.can_wait = false;
        }
        match name {
            Some(n) => {
                if shape.lead == Lead::None {
                    shape.lead = Lead::Named;
                }
                shape.has_named = true;
                shape.names.push(n.text().to_string());
            }
            None => {
                if shape.lead == Lead::None {
                    shape.lead = Lead::Unnamed;
                }
            }
        }
    }
    shape.can_wait &= any;
    Some(shape)
}

/// Adds the names a `use` tree brings in; false for what cannot be named
/// (a glob, `as _`, `super`): such a `use` is built at once.
fn use_names(tree: &ast::UseTree, parent: Option<&str>, names: &mut Vec<String>) -> bool {
    if tree.star_token().is_some() {
        return false;
    }
    let last = tree
        .path()
        .and_then(|p| p.segment())
        .and_then(|seg| match seg.kind()? {
            ast::PathSegmentKind::Name(n) => Some(n.text().to_string()),
            ast::PathSegmentKind::SelfKw => parent.map(str::to_string),
            _ => None,
        });
    if let Some(list) = tree.use_tree_list() {
        let prefix = last.as_deref().or(parent);
        return list.use_trees().all(|t| use_names(&t, prefix, names));
    }
    let name = match tree.rename() {
        Some(rename) => ast::HasName::name(&rename).map(|n| n.text().to_string()),
        None => last,
    };
    match name {
        Some(n) => {
            names.push(n);
            true
        }
        None => false,
    }
}

/// True if the cell's first code line is an evcxr command (`:dep`) or a
/// shell line (`!ls`): evcxr only reads those at the top of a cell.
pub(super) fn starts_with_command(code: &str) -> bool {
    code.lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with("//"))
        .is_some_and(|l| l.starts_with(':') || l.starts_with('!'))
}

/// One waiting cell.
#[derive(Clone, Debug)]
struct Part {
    /// Its execution count, for messages.
    cell: usize,
    code: String,
    shape: Shape,
}

/// Where a line of a combined block came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// The binds of finished magic cells.
    Prelude,
    /// A waiting items-only cell (its execution count).
    Deferred(usize),
    /// The cell being run.
    Cell,
}

/// A combined block and the line range (1-based, inclusive) of each part.
#[derive(Debug, Default)]
pub(super) struct Assembled {
    pub code: String,
    pub ranges: Vec<(Source, usize, usize)>,
}

impl Assembled {
    /// Which part `line` (1-based) belongs to.
    pub fn source_of(&self, line: usize) -> Option<Source> {
        self.ranges
            .iter()
            .find(|(_, a, b)| (*a..=*b).contains(&line))
            .map(|(s, _, _)| *s)
    }

    /// First and last line of a part.
    pub fn lines_of(&self, source: Source) -> Option<(usize, usize)> {
        self.ranges
            .iter()
            .find(|(s, _, _)| *s == source)
            .map(|(_, a, b)| (*a, *b))
    }

    /// First line of a part.
    pub fn start_of(&self, source: Source) -> Option<usize> {
        self.lines_of(source).map(|(a, _)| a)
    }

    /// A part's own code.
    pub fn code_of(&self, source: Source) -> Option<String> {
        let (first, last) = self.lines_of(source)?;
        let lines: Vec<&str> = self
            .code
            .lines()
            .skip(first - 1)
            .take(last + 1 - first)
            .collect();
        Some(lines.join("\n"))
    }

    /// Appends waiting parts in an order evcxr files as cell by cell.
    fn push_waiting(&mut self, parts: &[&Part]) -> Option<()> {
        for i in arrange(parts)? {
            self.push(Source::Deferred(parts[i].cell), &parts[i].code);
        }
        Some(())
    }

    fn push(&mut self, source: Source, code: &str) {
        let start = self.code.lines().count() + 1;
        let lines = code.lines().count().max(1);
        self.code.push_str(code);
        if !code.ends_with('\n') {
            self.code.push('\n');
        }
        self.ranges.push((source, start, start + lines - 1));
    }
}

/// The waiting items-only cells of a session.
pub(super) struct DeferredItems {
    enabled: bool,
    parts: Vec<Part>,
}

impl DeferredItems {
    /// On unless `SLUICE_DEFER_ITEMS=0`.
    pub fn from_env() -> DeferredItems {
        DeferredItems {
            enabled: std::env::var("SLUICE_DEFER_ITEMS").map_or(true, |v| v.trim() != "0"),
            parts: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Execution counts of the waiting cells.
    pub fn cells(&self) -> Vec<usize> {
        self.parts.iter().map(|p| p.cell).collect()
    }

    /// Whether `code` (of shape `shape`) may wait: it only defines items,
    /// none of whose names is defined already (`defined`) or waiting.
    pub fn may_wait(&self, shape: &Shape, defined: &dyn Fn(&str) -> bool) -> bool {
        self.enabled
            && shape.can_wait
            && shape
                .names
                .iter()
                .all(|n| !defined(n) && !self.parts.iter().any(|p| p.shape.names.contains(n)))
    }

    /// The waiting parts followed by a new waiting part, in a valid order;
    /// `None` if they cannot share a block.
    pub fn with_candidate(&self, cell: usize, code: &str, shape: &Shape) -> Option<Assembled> {
        let mut parts: Vec<&Part> = self.parts.iter().collect();
        let candidate = Part {
            cell,
            code: code.to_string(),
            shape: shape.clone(),
        };
        parts.push(&candidate);
        let mut out = Assembled::default();
        out.push_waiting(&parts)?;
        Some(out)
    }

    /// Adds a checked items-only cell.
    pub fn push(&mut self, cell: usize, code: &str, shape: Shape) {
        self.parts.push(Part {
            cell,
            code: code.to_string(),
            shape,
        });
    }

    /// The block to evaluate: magic binds, the waiting items, then the cell
    /// (`cell_shape` `None` when the cell's shape is unknown). `None` if the
    /// waiting items cannot precede this cell: build them on their own first.
    pub fn combine(
        &self,
        prelude: Option<&str>,
        cell: &str,
        cell_shape: Option<&Shape>,
    ) -> Option<Assembled> {
        let mut out = Assembled::default();
        if let Some(p) = prelude {
            out.push(Source::Prelude, p);
        }
        if !self.parts.is_empty() {
            let shape = cell_shape?;
            // The cell comes last, so what evcxr files under "the last
            // named item" must not find one of ours.
            if shape.lead == Lead::Unnamed && self.parts.iter().any(|p| p.shape.has_named) {
                return None;
            }
            out.push_waiting(&self.parts.iter().collect::<Vec<_>>())?;
        }
        out.push(Source::Cell, cell);
        Some(out)
    }

    /// The waiting items alone, in a valid order (for a build of their own
    /// or as context for completions).
    pub fn alone(&self) -> Option<Assembled> {
        if self.parts.is_empty() {
            return None;
        }
        let mut out = Assembled::default();
        out.push_waiting(&self.parts.iter().collect::<Vec<_>>())?;
        Some(out)
    }

    /// The items were built (or given up): nothing waits any more.
    pub fn clear(&mut self) {
        self.parts.clear();
    }
}

/// An order of `parts` in which evcxr files every item as it would cell by
/// cell: parts with only unnamed items, then at most one that begins
/// unnamed and names something later, then the rest in cell order.
fn arrange(parts: &[&Part]) -> Option<Vec<usize>> {
    let pure: Vec<usize> = (0..parts.len())
        .filter(|&i| parts[i].shape.lead == Lead::Unnamed && !parts[i].shape.has_named)
        .collect();
    let mixed: Vec<usize> = (0..parts.len())
        .filter(|&i| parts[i].shape.lead == Lead::Unnamed && parts[i].shape.has_named)
        .collect();
    if mixed.len() > 1 {
        return None;
    }
    let rest = (0..parts.len()).filter(|&i| parts[i].shape.lead != Lead::Unnamed);
    Some(pure.into_iter().chain(mixed).chain(rest).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(code: &str) -> Shape {
        shape(code).expect("parses")
    }

    #[test]
    fn items_only_cells_can_wait() {
        let sh = s(
            "#[derive(Debug)]\npub struct P { x: i32 }\nimpl P { fn x(&self) -> i32 { self.x } }",
        );
        assert!(sh.can_wait);
        assert_eq!(sh.lead, Lead::Named);
        assert_eq!(sh.names, vec!["P"]);
        let sh = s("impl P { fn y(&self) {} }\nfn helper() {}");
        assert_eq!(sh.lead, Lead::Unnamed);
        assert!(sh.has_named && sh.can_wait);
        let sh =
            s("// just a comment\nconst N: usize = 3;\nenum E { A }\ntrait T {}\ntype U = u8;");
        assert!(sh.can_wait);
        assert_eq!(sh.names, vec!["N", "E", "T", "U"]);
    }

    #[test]
    fn cells_with_statements_or_special_items_do_not_wait() {
        for code in [
            "let x = 1;",
            "struct A; A",
            "fn f() {}\nf();",
            "use std::io::*;",
            "use std::fmt::Write as _;",
            "extern crate serde;",
            "macro_rules! m { () => {} }",
            "#![allow(unused)]\nstruct A;",
            "println!(\"hi\");",
            "thread_local! { static X: u8 = 1; }",
            "",
            "// only a comment",
        ] {
            assert!(!shape(code).is_some_and(|s| s.can_wait), "{code:?}");
        }
        assert!(shape(":dep rand = \"0.8\"\nstruct A;").is_none());
        assert!(shape("!ls\nstruct A;").is_none());
        assert!(shape("struct A {").is_none());
    }

    #[test]
    fn uses_can_wait_with_the_names_they_bring_in() {
        let sh = s(
            "use std::collections::HashMap;\nuse std::io::{self, Write as W, BufRead};\npub struct Index(HashMap<String, u32>);",
        );
        assert!(sh.can_wait);
        assert_eq!(sh.names, vec!["HashMap", "io", "W", "BufRead", "Index"]);
        assert_eq!(sh.lead, Lead::Named, "a use does not lead");
        let sh = s(
            "use std::fmt;\nimpl fmt::Display for X { fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { Ok(()) } }",
        );
        assert_eq!(sh.lead, Lead::Unnamed);
        assert!(sh.can_wait && !sh.has_named);
    }

    #[test]
    fn statements_after_an_impl_make_an_unnamed_lead() {
        let sh = s("let v = 1;\nimpl P { fn z(&self) {} }\nv");
        assert_eq!(sh.lead, Lead::Unnamed);
        assert!(!sh.can_wait);
        assert_eq!(s("1 + 1").lead, Lead::None);
    }

    #[test]
    fn new_names_only() {
        let mut d = DeferredItems {
            enabled: true,
            parts: vec![],
        };
        let a = s("struct A;");
        assert!(d.may_wait(&a, &|_| false));
        assert!(!d.may_wait(&a, &|n| n == "A"));
        d.push(1, "struct A;", a.clone());
        assert!(!d.may_wait(&a, &|_| false));
        d.enabled = false;
        assert!(!d.may_wait(&s("struct B;"), &|_| false));
    }

    #[test]
    fn unnamed_leads_go_first_and_the_cell_last() {
        let mut d = DeferredItems {
            enabled: true,
            parts: vec![],
        };
        d.push(1, "struct P { x: i32 }", s("struct P { x: i32 }"));
        let imp = "impl P { fn x(&self) -> i32 { self.x } }";
        let a = d.with_candidate(2, imp, &s(imp)).expect("orderable");
        assert_eq!(
            a.code,
            "impl P { fn x(&self) -> i32 { self.x } }\nstruct P { x: i32 }\n"
        );
        d.push(2, imp, s(imp));
        let cell = "let p = P { x: 3 };\np.x()";
        let c = d
            .combine(Some("let r = 1;"), cell, Some(&s(cell)))
            .expect("combines");
        assert_eq!(
            c.code,
            "let r = 1;\nimpl P { fn x(&self) -> i32 { self.x } }\nstruct P { x: i32 }\nlet p = P { x: 3 };\np.x()\n"
        );
        assert_eq!(c.source_of(1), Some(Source::Prelude));
        assert_eq!(c.source_of(2), Some(Source::Deferred(2)));
        assert_eq!(c.source_of(3), Some(Source::Deferred(1)));
        assert_eq!(c.source_of(5), Some(Source::Cell));
        assert_eq!(c.start_of(Source::Cell), Some(4));
        assert_eq!(
            c.code_of(Source::Deferred(1)).as_deref(),
            Some("struct P { x: i32 }")
        );
        assert_eq!(c.lines_of(Source::Cell), Some((4, 5)));
        // A running cell that begins with an impl cannot follow a named item.
        let cell = "impl P { fn w(&self) {} }\nP { x: 1 }.w()";
        assert!(d.combine(None, cell, Some(&s(cell))).is_none());
        assert!(d.combine(None, "struct {", None).is_none());
        // Two parts that begin unnamed and name something: no valid order.
        let mixed = "impl P { fn v(&self) {} }\nstruct Q;";
        d.push(3, mixed, s(mixed));
        let mixed2 = "impl P { fn u(&self) {} }\nstruct R;";
        assert!(d.with_candidate(4, mixed2, &s(mixed2)).is_none());
        d.clear();
        assert!(d.is_empty() && d.alone().is_none());
        let c = d.combine(None, "1", None).expect("nothing waits");
        assert_eq!(c.code, "1\n");
    }
}
