//! `return` at a cell's top level.
//!
//! evcxr keeps a cell's variables with code it puts after the cell's last
//! line. A `return` outside any function or closure of the cell skips that
//! code, yet evcxr records the variables the cell defined as kept; the next
//! cell asks for one of them, and the session aborts ("Variable 'q' has
//! gone missing") in every cell after. (Its `?` path drops the new
//! variables; its `return` path does not.) So a cell that defines variables
//! and returns early is refused before it is built, and a cell that only
//! returns early is built apart from the binds the magics queued for it.
//!
//! Parsing is `deferred_items::top_level`'s (rust-analyzer's parser).

use ra_ap_syntax::{AstNode, SyntaxKind, TextSize, ast};
use sluice_magics::diagnostic::{CellSpan, Diagnostic, Label};

/// Where the cell's first top-level `return` is, as a cell span (1-based
/// line and character columns), if it has one.
pub(super) fn top_level_return(code: &str) -> Option<CellSpan> {
    let (found, prelude) = first_top_level_return(code)?;
    let range = found.syntax().text_range();
    let keyword_end = range.start() + TextSize::of("return");
    let from = super::deferred_items::position(code, range.start().checked_sub(prelude)?)?;
    let to = super::deferred_items::position(code, keyword_end.checked_sub(prelude)?)?;
    Some(CellSpan {
        start_line: from.0,
        start_column: from.1,
        end_line: to.0,
        end_column: to.1,
    })
}

/// The cell's first `return` outside its functions and closures, and where
/// the cell starts in the text parsed.
fn first_top_level_return(code: &str) -> Option<(ast::ReturnExpr, TextSize)> {
    let (stmts, prelude) = super::deferred_items::top_level(code)?;
    let found = stmts
        .syntax()
        .descendants()
        .filter_map(ast::ReturnExpr::cast)
        .find(|r| {
            !r.syntax()
                .ancestors()
                .take_while(|a| a != stmts.syntax())
                .any(|a| inner_body(a.kind()))
        })?;
    Some((found, prelude))
}

/// Nodes whose `return` leaves them, not the cell.
fn inner_body(kind: SyntaxKind) -> bool {
    matches!(
        kind,
        SyntaxKind::FN | SyntaxKind::CLOSURE_EXPR | SyntaxKind::CONST | SyntaxKind::STATIC
    )
}

/// Whether the cell's first top-level `return` gives a value (`return 5;`).
pub(super) fn returns_a_value(code: &str) -> bool {
    first_top_level_return(code).is_some_and(|(r, _)| r.expr().is_some())
}

/// Whether the cell has a `let` at its top level (a variable evcxr keeps).
pub(super) fn defines_variables(code: &str) -> bool {
    super::deferred_items::top_level(code).is_some_and(|(stmts, _)| {
        stmts
            .syntax()
            .children()
            .any(|n| n.kind() == SyntaxKind::LET_STMT)
    })
}

/// The error for a cell whose top-level `return` gives a value: a cell's
/// value is its last expression (`at`: the `return`).
pub(super) fn value_refused(at: CellSpan) -> Diagnostic {
    Diagnostic {
        level: "error".into(),
        message: "`return` with a value at the top level of a cell".into(),
        labels: vec![Label {
            span: at,
            text: "a cell is not a function".into(),
            primary: true,
        }],
        notes: vec![
            "help: a cell's value is its last expression, written without `return` or `;`".into(),
        ],
        ..Diagnostic::default()
    }
}

/// The error for a cell that defines variables and returns at its top
/// level (`at`: the `return`).
pub(super) fn refused(at: CellSpan) -> Diagnostic {
    Diagnostic {
        level: "error".into(),
        message: "`return` at the top level of a cell that defines variables".into(),
        labels: vec![Label {
            span: at,
            text: "the cell's variables would be lost here".into(),
            primary: true,
        }],
        notes: vec![
            "note: the notebook keeps a cell's variables after its last line; a `return` skips that".into(),
            "help: put the rest of the cell in an `if`/`else`, or the early exit in a block or function of its own".into(),
        ],
        ..Diagnostic::default()
    }
}

#[cfg(test)]
mod tests {
    use super::{defines_variables, top_level_return};

    #[test]
    fn returns_that_leave_the_cell() {
        let at =
            top_level_return("let q = vec![1];\nif q.len() == 1 {\n    return;\n}").expect("found");
        assert_eq!((at.start_line, at.start_column, at.end_column), (3, 5, 11));
        assert!(top_level_return("return;").is_some());
        assert!(top_level_return("let x = loop { return 5; };").is_some());
    }

    #[test]
    fn returns_inside_functions_and_closures_stay_there() {
        assert!(top_level_return("fn f() -> u8 { return 1; }\nf()").is_none());
        assert!(top_level_return("let g = |x: u8| { return x; };").is_none());
        assert!(top_level_return("impl S { fn m(&self) { return; } }").is_none());
        assert!(top_level_return("let s = \"return\"; // return").is_none());
    }

    #[test]
    fn a_value_returned_from_the_top_level() {
        assert!(super::returns_a_value("return 5;"));
        assert!(!super::returns_a_value("return;"));
        assert!(!super::returns_a_value("let f = || return 5;"));
    }

    #[test]
    fn variables_are_top_level_lets() {
        assert!(defines_variables("let q = 1;\nreturn;"));
        assert!(!defines_variables("if true { let q = 1; }\nreturn;"));
    }
}
