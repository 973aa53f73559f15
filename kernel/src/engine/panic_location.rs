//! Panic locations on the notebook's own lines.
//!
//! Rust reports a panic at `src/lib.rs:L:C`, a line of the library evcxr
//! generated for the cell. evcxr copies the cell's lines into that file
//! unchanged (columns included), among lines of its own. A location is
//! mapped back by finding the generated line among the lines of the code
//! that was evaluated — the running cell (`cell:3:9`), a waiting
//! items-only cell evaluated with it, or an earlier cell whose items were
//! built again (`cell[4]:2:5`, by execution count) — choosing, when the
//! same text occurs more than once, the occurrence whose neighbouring
//! lines match best. evcxr starts each statement on a line of its own,
//! without the whitespace before it, so the first line of an indented
//! statement matches the cell's line without its indentation, and the
//! column is moved by that indentation. A line found nowhere is generated
//! code and says so.

/// Code that may hold the panicking line: its label and text.
pub(super) struct Candidate<'a> {
    /// `cell` or `cell[N]`.
    pub label: String,
    /// Its code.
    pub code: &'a str,
}

/// `src/lib.rs:131:5` → `cell:3:5` (or `cell[N]:…`, or the location
/// marked as generated code).
pub(super) fn map(location: &str, lib_rs: &str, candidates: &[Candidate<'_>]) -> String {
    let Some((line, column)) = parse(location) else {
        return location.to_string();
    };
    let lib: Vec<&str> = lib_rs.lines().collect();
    let Some(at) = line.checked_sub(1).filter(|&i| i < lib.len()) else {
        return location.to_string();
    };
    let mut best: Option<(usize, &str, usize, usize)> = None;
    for c in candidates {
        let code: Vec<&str> = c.code.lines().collect();
        if let Some((i, score)) = find(&lib, at, &code)
            && best.is_none_or(|(s, _, _, _)| score > s)
        {
            let column = column
                .saturating_sub(indent(lib[at]))
                .saturating_add(start_in(lib[at], code[i]).unwrap_or(0));
            best = Some((score, &c.label, i, column));
        }
    }
    match best {
        Some((_, label, i, column)) => format!("{label}:{}:{column}", i + 1),
        None => format!("{location} (code generated around the cell)"),
    }
}

/// The number of characters of whitespace a line starts with (rustc's
/// columns count characters, starting at 1).
fn indent(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).count()
}

/// Whether a generated line is this line of the cell: the same text, the
/// same text without the indentation evcxr drops at a statement's start, or
/// one of several statements the cell wrote on one line (evcxr puts each on
/// a line of its own).
fn same_line(generated: &str, cell: &str) -> bool {
    start_in(generated, cell).is_some()
}

/// How many characters of `cell` come before the text of `generated`
/// (without its indentation), when `generated` is (part of) that line.
fn start_in(generated: &str, cell: &str) -> Option<usize> {
    if generated == cell {
        return Some(indent(cell));
    }
    let text = generated.trim_start();
    // Short fragments (`}`, `)`) would match anywhere.
    if text.trim_end().len() < 4 && cell.trim() != text.trim_end() {
        return None;
    }
    let at = cell.find(text)?;
    let before = &cell[..at];
    // The fragment starts a statement: nothing before it, or a `;`/`{`/`}`.
    let boundary = before.trim_end();
    (boundary.is_empty() || boundary.ends_with([';', '{', '}'])).then(|| before.chars().count())
}

/// `src/lib.rs:L:C` → (L, C).
fn parse(location: &str) -> Option<(usize, usize)> {
    let rest = location.strip_prefix("src/lib.rs:")?;
    let (line, column) = rest.split_once(':')?;
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// The line of `code` that `lib[at]` is, with the number of neighbouring
/// lines that also match (a higher score is a surer match).
fn find(lib: &[&str], at: usize, code: &[&str]) -> Option<(usize, usize)> {
    let target = lib[at];
    if target.trim().is_empty() {
        return None;
    }
    code.iter()
        .enumerate()
        .filter(|(_, l)| same_line(target, l))
        .map(|(i, l)| {
            // An exact match is surer than one that differs in indentation.
            let exact = usize::from(*l == target);
            (i, 2 * context(lib, at, code, i) + exact)
        })
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
}

/// How many non-blank lines around `lib[at]` and `code[i]` agree (up to
/// 3 each way; the blank lines evcxr puts between statements are skipped).
fn context(lib: &[&str], at: usize, code: &[&str], i: usize) -> usize {
    fn solid(l: &&&str) -> bool {
        !l.trim().is_empty()
    }
    let lib_before = lib[..at].iter().rev().filter(solid);
    let code_before = code[..i].iter().rev().filter(solid);
    let lib_after = lib[at + 1..].iter().filter(solid);
    let code_after = code[i + 1..].iter().filter(solid);
    let before = lib_before
        .zip(code_before)
        .take(3)
        .take_while(|(a, b)| same_line(a, b))
        .count();
    let after = lib_after
        .zip(code_after)
        .take(3)
        .take_while(|(a, b)| same_line(a, b))
        .count();
    before + after
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = "#![allow(unused)]\nfn helper(a: i32) -> i32 {\n    if a > 100 { panic!(\"too big\"); }\n    a * 2\n}\npub extern \"C\" fn run_user_code_2() {\nlet x = 5;\n(\nif x > 3 {\n    panic!(\"boom\");\n}\n).evcxr_display();\n}\n";

    #[test]
    fn the_running_cell_and_an_earlier_one() {
        let cell = "let x = 5;\nif x > 3 {\n    panic!(\"boom\");\n}";
        let earlier =
            "fn helper(a: i32) -> i32 {\n    if a > 100 { panic!(\"too big\"); }\n    a * 2\n}";
        let candidates = [
            Candidate {
                label: "cell".into(),
                code: cell,
            },
            Candidate {
                label: "cell[1]".into(),
                code: earlier,
            },
        ];
        assert_eq!(map("src/lib.rs:10:5", LIB, &candidates), "cell:3:5");
        assert_eq!(map("src/lib.rs:3:18", LIB, &candidates), "cell[1]:2:18");
        assert_eq!(
            map("src/lib.rs:1:1", LIB, &candidates),
            "src/lib.rs:1:1 (code generated around the cell)"
        );
        assert_eq!(
            map("elsewhere.rs:1:1", LIB, &candidates),
            "elsewhere.rs:1:1"
        );
    }

    #[test]
    fn an_indented_statement_keeps_its_column() {
        // What evcxr 0.22 generates for `let x = 1;\n  panic!(\"p\");` and
        // for a final expression `    v[3]` (wrapped in `(` … `)`).
        let lib = "||{\nlet x = 1;\n  \npanic!(\"p\");\nput(x);\n";
        let cell = "let x = 1;\n  panic!(\"p\");";
        let candidates = [Candidate {
            label: "cell".into(),
            code: cell,
        }];
        assert_eq!(map("src/lib.rs:4:1", lib, &candidates), "cell:2:3");
        let lib = "let v: Vec<i32> = vec![];\n    \n(\nv[3]\n).evcxr_display();\n";
        let cell = "let v: Vec<i32> = vec![];\n    v[3]";
        let candidates = [Candidate {
            label: "cell".into(),
            code: cell,
        }];
        assert_eq!(map("src/lib.rs:4:2", lib, &candidates), "cell:2:6");
    }

    #[test]
    fn statements_sharing_a_line() {
        // evcxr 0.22 puts `eprint!("x");` and `let z = v[1];` on lines of
        // their own.
        let lib = "let v: Vec<u8> = vec![];\neprint!(\"x\"); \nlet z = v[1];\nput(z);\n";
        let cell = "let v: Vec<u8> = vec![];\neprint!(\"x\"); let z = v[1];";
        let candidates = [Candidate {
            label: "cell".into(),
            code: cell,
        }];
        assert_eq!(map("src/lib.rs:3:10", lib, &candidates), "cell:2:24");
        assert_eq!(start_in("}", "    }"), Some(4));
        assert_eq!(start_in(")", "f(a)"), None);
        assert_eq!(start_in("z = v[1];", "let z = v[1];"), None);
    }

    #[test]
    fn repeated_lines_are_told_apart_by_their_neighbours() {
        let lib = "a\n}\nb\npanic!()\n}\nc\n";
        let code = "x\n}\nb\npanic!()\n}\nc";
        let candidates = [Candidate {
            label: "cell".into(),
            code,
        }];
        assert_eq!(map("src/lib.rs:5:1", lib, &candidates), "cell:5:1");
        assert_eq!(map("src/lib.rs:2:1", lib, &candidates), "cell:2:1");
    }
}
