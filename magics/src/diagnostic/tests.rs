//! Rendering and rustc-JSON tests of the diagnostics shown on a cell's lines.

use super::place::by_text;
use super::*;

#[test]
fn renders_primary_label_under_the_cell_line() {
    let d = Diagnostic {
        level: "error".into(),
        code: Some("E0308".into()),
        message: "mismatched types".into(),
        labels: vec![Label {
            span: CellSpan {
                start_line: 2,
                start_column: 14,
                end_line: 2,
                end_column: 17,
            },
            text: "expected `i32`, found `&str`".into(),
            primary: true,
        }],
        notes: vec!["help: use a number".into()],
        helps: vec![],
        located: vec![],
    };
    let cell = "let a = 1;\nlet x: i32 = \"a\";";
    let text = d.render(cell);
    let expected = "error[E0308]: mismatched types\n --> cell:2:14\n  |\n2 | let x: i32 = \"a\";\n  |              ^^^ expected `i32`, found `&str`\n  = help: use a number";
    assert_eq!(text, expected);
}

fn label(line: usize, from: usize, to: usize, text: &str, primary: bool) -> Label {
    Label {
        span: CellSpan {
            start_line: line,
            start_column: from,
            end_line: line,
            end_column: to,
        },
        text: text.into(),
        primary,
    }
}

#[test]
fn a_line_with_several_labels_is_shown_once() {
    // E0277 through a generic bound: the call and its argument.
    let d = Diagnostic {
        level: "error".into(),
        code: Some("E0277".into()),
        message: "`P2` doesn't implement `std::fmt::Display`".into(),
        labels: vec![
            label(3, 15, 26, "unsatisfied trait bound", true),
            label(
                3,
                9,
                14,
                "required by a bound introduced by this call",
                false,
            ),
        ],
        ..Diagnostic::default()
    };
    let cell = "struct P2 { y: i32 }\nfn show2() {}\nlet z = show2(P2 { y: 1 });";
    let expected = "error[E0277]: `P2` doesn't implement `std::fmt::Display`
 --> cell:3:15
  |
3 | let z = show2(P2 { y: 1 });
  |         ----- ^^^^^^^^^^^ unsatisfied trait bound
  |         |
  |         required by a bound introduced by this call";
    assert_eq!(d.render(cell), expected);
    // Three labels: texts hang right to left.
    let d = Diagnostic {
        message: "m".into(),
        labels: vec![
            label(1, 1, 2, "a", false),
            label(1, 5, 6, "b", false),
            label(1, 9, 10, "c", true),
        ],
        ..Diagnostic::default()
    };
    let text = d.render("x = y + z");
    assert!(
        text.ends_with("1 | x = y + z\n  | -   -   ^ c\n  | |   |\n  | |   b\n  | |\n  | a"),
        "{text}"
    );
    assert_eq!(text.matches("x = y + z").count(), 1);
}

#[test]
fn message_without_spans_is_just_the_headline() {
    let d = Diagnostic {
        level: "error".into(),
        message: "cannot find crate".into(),
        ..Diagnostic::default()
    };
    assert_eq!(d.render("x"), "error: cannot find crate");
}

/// rustc 1.95's JSON for E0382 (a move, then a borrow) and E0277
/// (`i64 + f32`), from `cargo build --message-format=json`, with the
/// diagnostic's spans on main.rs lines 2..=4.
fn rustc(json: &str) -> serde_json::Value {
    serde_json::from_str(json).expect("rustc's JSON")
}

#[test]
fn suggestions_show_the_changed_line_and_lists_keep_their_items() {
    let cell = "let a = vec![1, 2, 3];\nlet b = a;\nprintln!(\"{:?} {:?}\", a, b);";
    // The task path maps main.rs line N to cell line N - 1.
    let map = |sp: &serde_json::Value| -> Place {
        if sp["file_name"] != "src/main.rs" {
            return Place::Outside;
        }
        Place::Cell(CellSpan {
            start_line: sp["line_start"].as_u64().unwrap_or(0) as usize - 1,
            start_column: sp["column_start"].as_u64().unwrap_or(0) as usize - 4,
            end_line: sp["line_end"].as_u64().unwrap_or(0) as usize - 1,
            end_column: sp["column_end"].as_u64().unwrap_or(0) as usize - 4,
        })
    };
    let children = rustc(
        r#"[{"level":"help","message":"consider cloning the value if the performance cost is acceptable","spans":[{"file_name":"src/main.rs","line_start":3,"line_end":3,"column_start":14,"column_end":14,"label":null,"suggested_replacement":".clone()","text":[{"text":"    let b = a;"}]}],"children":[]}]"#,
    );
    let Children {
        notes,
        helps,
        located,
    } = children_from_json(&children, &map);
    assert!(notes.is_empty() && located.is_empty());
    let d = Diagnostic {
        level: "error".into(),
        code: Some("E0382".into()),
        message: "borrow of moved value: `a`".into(),
        labels: vec![
            Label {
                span: CellSpan {
                    start_line: 3,
                    start_column: 23,
                    end_line: 3,
                    end_column: 24,
                },
                text: "value borrowed here after move".into(),
                primary: true,
            },
            Label {
                span: CellSpan {
                    start_line: 2,
                    start_column: 9,
                    end_line: 2,
                    end_column: 10,
                },
                text: "value moved here".into(),
                primary: false,
            },
        ],
        notes,
        helps,
        located,
    };
    let expected = "error[E0382]: borrow of moved value: `a`
 --> cell:3:23
  |
2 | let b = a;
  |         - value moved here
3 | println!(\"{:?} {:?}\", a, b);
  |                       ^ value borrowed here after move
help: consider cloning the value if the performance cost is acceptable
  |
2 | let b = a.clone();
  |          ++++++++";
    assert_eq!(d.render(cell), expected);

    let e0277 = rustc(
        r#"[{"level":"help","message":"the trait `Add<f32>` is not implemented for `i64`","spans":[],"children":[]},
            {"level":"help","message":"the following other types implement trait `Add<Rhs>`","spans":[
              {"file_name":"/rustc/library/core/src/internal_macros.rs","line_start":22,"line_end":22,"column_start":9,"column_end":36,"label":"`&i64` implements `Add<i64>`","suggested_replacement":null,"text":[]},
              {"file_name":"/rustc/library/core/src/ops/arith.rs","line_start":99,"line_end":99,"column_start":9,"column_end":30,"label":"`i64` implements `Add`","suggested_replacement":null,"text":[]}],"children":[]}]"#,
    );
    let Children { notes, helps, .. } = children_from_json(&e0277, &map);
    assert!(helps.is_empty());
    assert_eq!(
        notes,
        [
            "help: the trait `Add<f32>` is not implemented for `i64`",
            "help: the following other types implement trait `Add<Rhs>`:\n  `&i64` implements `Add<i64>`\n  `i64` implements `Add`",
        ]
    );
    let d = Diagnostic {
        notes,
        ..Diagnostic::default()
    };
    assert!(d.render("").ends_with(
        "= help: the following other types implement trait `Add<Rhs>`:\n      `&i64` implements `Add<i64>`\n      `i64` implements `Add`"
    ), "{}", d.render(""));
}

#[test]
fn spans_are_found_by_their_line_when_the_cell_was_wrapped() {
    let cell = "let a = vec![1];\nlet b = a;";
    // evcxr put the cell in a function, indented by four.
    let span = rustc(
        r#"{"line_start":40,"line_end":40,"column_start":14,"column_end":14,"text":[{"text":"    let b = a;"}]}"#,
    );
    assert_eq!(
        span_by_text(cell, &span),
        Some(CellSpan {
            start_line: 2,
            start_column: 10,
            end_line: 2,
            end_column: 10
        })
    );
    let elsewhere = rustc(
        r#"{"line_start":1,"line_end":1,"column_start":1,"column_end":2,"text":[{"text":"fn main() {"}]}"#,
    );
    assert_eq!(span_by_text(cell, &elsewhere), None);
}

#[test]
fn an_item_that_shared_its_line_is_found_by_its_part() {
    // evcxr moved `fn f()` of the cell's only line to a line of its own.
    let cell = "let y = 5; fn f() -> i32 { 3 }";
    let span = rustc(
        r#"{"line_start":9,"line_end":9,"column_start":1,"column_end":14,"text":[{"text":"fn f() -> i32 { 3 }"}]}"#,
    );
    assert_eq!(span_by_text(cell, &span), None, "not the whole line");
    let found = crate::diagnostic::span_in(cell, &span, crate::diagnostic::Match::Part);
    assert_eq!(
        found,
        Some(CellSpan {
            start_line: 1,
            start_column: 12,
            end_line: 1,
            end_column: 25
        })
    );
    let other = [("cell[1]".to_string(), cell)];
    assert!(matches!(
        crate::diagnostic::place::by_text(&span, None, &other, &[]),
        crate::diagnostic::place::Place::Other { ref name, .. } if name == "cell[1]"
    ));
    // Not inside a longer name, and not when the line has it twice.
    let inside = rustc(
        r#"{"line_start":9,"line_end":9,"column_start":1,"column_end":4,"text":[{"text":"f()"}]}"#,
    );
    let part = crate::diagnostic::Match::Part;
    assert_eq!(
        crate::diagnostic::span_in("let x = ff();", &inside, part),
        None
    );
    assert_eq!(crate::diagnostic::span_in("f() + f()", &inside, part), None);
}

/// A span of rustc's JSON on one line of generated `lib.rs` whose text is `line`.
fn lib_span(
    line: &str,
    from: usize,
    to: usize,
    label: Option<&str>,
    primary: bool,
) -> serde_json::Value {
    serde_json::json!({
        "file_name": "src/lib.rs", "line_start": 40, "line_end": 40,
        "column_start": from, "column_end": to, "is_primary": primary,
        "label": label, "suggested_replacement": null,
        "text": [{"text": line}],
    })
}

#[test]
fn notes_in_earlier_cells_show_their_line_named_by_cell() {
    // E0308 at a call, rustc's "function defined here" at the function,
    // which cell [1] defined.
    let earlier = "fn add_one(x: i32) -> i32 { x + 1 }";
    let cell = "add_one(\"three\")";
    let children = serde_json::json!([{
        "level": "note", "message": "function defined here", "children": [],
        "spans": [
            lib_span(earlier, 4, 11, None, true),
            lib_span(earlier, 12, 18, Some(""), false),
        ],
    }]);
    let others = [("cell[1]".to_string(), earlier)];
    let items = ["add_one".to_string(), "take".to_string()];
    let locate = |sp: &serde_json::Value| by_text(sp, Some(cell), &others, &items);
    let c = children_from_json(&children, &locate);
    assert!(c.notes.is_empty(), "{:?}", c.notes);
    let d = Diagnostic {
        code: Some("E0308".into()),
        message: "mismatched types".into(),
        labels: vec![label(1, 9, 16, "expected `i32`, found `&str`", true)],
        located: c.located,
        ..Diagnostic::default()
    };
    let expected = "error[E0308]: mismatched types
 --> cell:1:9
  |
1 | add_one(\"three\")
  |         ^^^^^^^ expected `i32`, found `&str`
note: function defined here
 --> cell[1]:1:4
  |
1 | fn add_one(x: i32) -> i32 { x + 1 }
  |    ^^^^^^^ ------";
    assert_eq!(d.render(cell), expected);

    // The same note when no cell has the line any more: said where it is.
    let c = children_from_json(&children, &|sp| by_text(sp, Some(cell), &[], &items));
    assert_eq!(
        c.notes,
        ["note: function defined here (in an earlier cell)"]
    );
    // A labelled span of the session's code no cell has: its label, placed.
    let moved = serde_json::json!([{
        "level": "note", "message": "consider borrowing", "children": [],
        "spans": [lib_span("fn take(v: Vec<i32>) {}", 9, 10, Some("this parameter takes ownership"), false)],
    }]);
    let c = children_from_json(&moved, &|sp| by_text(sp, Some(cell), &[], &items));
    assert_eq!(
        c.notes,
        ["note: consider borrowing:\n  this parameter takes ownership (in an earlier cell)"]
    );
    // A line of the code evcxr puts around the cells (its variable store)
    // is no earlier cell's: the note stays as rustc wrote it.
    let store = serde_json::json!([{
        "level": "note", "message": "requirement introduced here", "children": [],
        "spans": [lib_span("    pub fn put_variable<T: 'static>(&mut self, name: &str, value: T) {", 28, 35, None, true)],
    }]);
    let c = children_from_json(&store, &|sp| by_text(sp, Some(cell), &[], &items));
    assert_eq!(c.notes, ["note: requirement introduced here"]);
}

#[test]
fn the_diagnostics_own_spans_in_other_cells_come_after_its_cell_lines() {
    // E0119: the conflicting impl here, the first one in cell [5].
    let first = "impl Clone for P { fn clone(&self) -> P { P } }";
    let d = Diagnostic {
        code: Some("E0119".into()),
        message: "conflicting implementations of trait `Clone` for type `P`".into(),
        labels: vec![label(1, 1, 17, "conflicting implementation for `P`", true)],
        located: vec![Located {
            heading: None,
            snippets: vec![Snippet {
                name: "cell[5]".into(),
                source: format!("struct P;\n{first}"),
                labels: vec![label(2, 1, 17, "first implementation here", false)],
            }],
        }],
        ..Diagnostic::default()
    };
    let expected = "error[E0119]: conflicting implementations of trait `Clone` for type `P`
 --> cell:1:1
  |
1 | impl Clone for P { fn clone(&self) -> P { P } }
  | ^^^^^^^^^^^^^^^^ conflicting implementation for `P`
 ::: cell[5]:2:1
  |
2 | impl Clone for P { fn clone(&self) -> P { P } }
  | ---------------- first implementation here";
    assert_eq!(d.render(first), expected);
}

#[test]
fn suggestions_with_line_breaks_are_shown_as_their_own_lines() {
    // E0046 on a one-line impl: rustc inserts the missing item and a line
    // break before the closing brace.
    let cell = "trait Shape { fn area(&self) -> f64; }\nstruct Sq(f64);\nimpl Shape for Sq { }";
    let help = |replacement: &str, line, col| Help {
        message: "implement the missing item".into(),
        suggestions: vec![Suggestion {
            span: CellSpan {
                start_line: line,
                start_column: col,
                end_line: line,
                end_column: col,
            },
            replacement: replacement.into(),
        }],
    };
    let d = Diagnostic {
        code: Some("E0046".into()),
        message: "not all trait items implemented, missing: `area`".into(),
        helps: vec![help("fn area(&self) -> f64 { todo!() }\n", 3, 21)],
        ..Diagnostic::default()
    };
    let text = d.render(cell);
    assert!(
        text.ends_with(
            "help: implement the missing item\n  |\n3 ~ impl Shape for Sq { fn area(&self) -> f64 { todo!() }\n4 ~ }"
        ),
        "{text}"
    );
    // E0004 on a match over lines: a new arm is a line of its own, all new.
    let cell = "match d {\n    Dir::N => 1,\n}";
    let d = Diagnostic {
        helps: vec![help("\n    Dir::S | Dir::E => todo!(),", 2, 17)],
        ..Diagnostic::default()
    };
    let text = d.render(cell);
    assert!(
        text.ends_with("2 ~     Dir::N => 1,\n3 +     Dir::S | Dir::E => todo!(),"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("}")), "{text}");
}

#[test]
fn a_replacement_shows_the_line_before_and_after_as_rustc_does() {
    // E0425 `g` → `f`: rustc 1.95 prints `2 - …g…` and `2 + …f…`.
    let cell = "let a = 1;\nlet b = g();";
    let d = Diagnostic {
        code: Some("E0425".into()),
        message: "cannot find function `g` in this scope".into(),
        helps: vec![Help {
            message: "a function with a similar name exists".into(),
            suggestions: vec![Suggestion {
                span: CellSpan {
                    start_line: 2,
                    start_column: 9,
                    end_line: 2,
                    end_column: 10,
                },
                replacement: "f".into(),
            }],
        }],
        ..Diagnostic::default()
    };
    let text = d.render(cell);
    assert!(
        text.ends_with(
            "help: a function with a similar name exists\n  |\n2 - let b = g();\n2 + let b = f();"
        ),
        "{text}"
    );
}

#[test]
fn only_error_codes_go_in_brackets_as_rustc_prints_them() {
    let lint = Diagnostic {
        level: "error".into(),
        code: Some("overflowing_literals".into()),
        message: "literal out of range for `u8`".into(),
        notes: vec!["note: `#[deny(overflowing_literals)]` on by default".into()],
        ..Default::default()
    };
    assert_eq!(
        lint.render(""),
        "error: literal out of range for `u8`\n  = note: `#[deny(overflowing_literals)]` on by default"
    );
    let clippy = Diagnostic {
        code: Some("clippy::absurd_extreme_comparisons".into()),
        message: "this comparison involving the minimum or maximum element for this type contains a case that is always true or always false".into(),
        ..Default::default()
    };
    assert!(clippy.render("").starts_with("error: this comparison"));
    for (code, is) in [
        ("E0308", true),
        ("E0001", true),
        ("E030", false),
        ("E03080", false),
        ("Exxxx", false),
        ("unused_must_use", false),
    ] {
        assert_eq!(is_error_code(code), is, "{code}");
    }
}

#[test]
fn a_note_on_a_span_already_shown_is_dropped_and_one_elsewhere_kept() {
    let snippet = |name: &str, line| Snippet {
        name: name.into(),
        source: "a\nb\nc".into(),
        labels: vec![label(line, 1, 2, "", true)],
    };
    let located = |heading: Option<&str>, line| Located {
        heading: heading.map(String::from),
        snippets: vec![snippet("cell[1]", line)],
    };
    let diag = |level: &str, located: Vec<Located>| Diagnostic {
        level: level.into(),
        message: "m".into(),
        located,
        ..Diagnostic::default()
    };
    // E0080 in an earlier cell, then rustc's two notes: one on the same
    // span (dropped), one on another (kept); a note inside a diagnostic on
    // a span shown before is dropped too.
    let error = diag("error", vec![located(None, 2)]);
    let again = diag("note", vec![located(None, 2)]);
    let elsewhere = diag("note", vec![located(None, 3)]);
    let inner = diag(
        "error",
        vec![located(Some("note: x"), 3), located(Some("note: y"), 1)],
    );
    let mut all = vec![error.clone(), again, elsewhere.clone(), inner];
    crate::diagnostic::drop_repeats(&mut all);
    assert_eq!(
        all,
        vec![
            error,
            elsewhere,
            diag("error", vec![located(Some("note: y"), 1)])
        ]
    );
}
