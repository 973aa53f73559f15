//! A token scanner for Rust text: the names a cell (or magic line)
//! mentions and the type names it defines. No parsing: a name in a comment
//! or a string counts too, which errs on the side of "mentioned".

use std::collections::HashSet;

/// Whether `before` ends with one `.` (then spaces): what follows is a
/// field or a method (`best.epochs`), not a variable; `..epochs` is a range
/// over the variable.
fn after_one_dot(before: &[u8]) -> bool {
    let trimmed = before.trim_ascii_end();
    trimmed.ends_with(b".") && !trimmed.ends_with(b"..")
}

/// The identifier tokens of `code` (`r#name` read as `name`), leaving out
/// fields and methods (`x.name`, `x\n    .name()`).
pub(crate) fn identifiers(code: &str) -> HashSet<&str> {
    let mut out = HashSet::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(c) = code[i..].chars().next() {
        if starts_name(c) {
            let start = i;
            i = word_end(code, i);
            let word = &code[start..i];
            if word == "r" && bytes.get(i) == Some(&b'#') {
                i += 1;
                continue;
            }
            if !after_one_dot(&bytes[..start]) {
                out.insert(word);
            }
        } else if c.is_ascii_digit() {
            // A number's suffix (`10i64`) is not a name.
            i = word_end(code, i);
        } else {
            i += c.len_utf8();
        }
    }
    out
}

/// Whether `c` can start a Rust name (Unicode XID_Start, or `_`).
fn starts_name(c: char) -> bool {
    c == '_' || unicode_ident::is_xid_start(c)
}

/// Where the word that starts at byte `i` of `code` ends (XID_Continue).
fn word_end(code: &str, i: usize) -> usize {
    code[i..]
        .char_indices()
        .find(|&(_, c)| !unicode_ident::is_xid_continue(c))
        .map_or(code.len(), |(at, _)| i + at)
}

/// The names `code`'s `let` statements bind (`let x`, `let mut x: T`,
/// `let (a, b) = ..`, `let Some(v) = .. else`): the identifiers between a
/// `let` and its first `=`, `;` or type annotation. Names bound inside
/// closures and blocks count too (a token scanner cannot tell scopes apart),
/// which errs on the side of "bound".
pub(crate) fn let_bound_names(code: &str) -> HashSet<&str> {
    let mut out = HashSet::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(c) = code[i..].chars().next() {
        if !(starts_name(c) || c.is_ascii_digit()) {
            i += c.len_utf8();
            continue;
        }
        let end = word_end(code, i);
        if &code[i..end] != "let" {
            i = end;
            continue;
        }
        // The pattern: up to `=`, `;` or a `:` that is not `::`.
        let mut j = end;
        while let Some(c) = code[j..].chars().next() {
            match c {
                '=' | ';' => break,
                ':' if bytes.get(j + 1) != Some(&b':') && (j == 0 || bytes[j - 1] != b':') => break,
                c if starts_name(c) => {
                    let e = word_end(code, j);
                    let w = &code[j..e];
                    if !matches!(w, "mut" | "ref") {
                        out.insert(w);
                    }
                    j = e;
                }
                c => j += c.len_utf8(),
            }
        }
        i = j;
    }
    out
}

/// The names `code` defines as types, traits or modules (`struct W`,
/// `enum E`, `type T`, `union U`, `trait Tr`, `mod m`), by token.
pub(crate) fn defined_type_names(code: &str) -> Vec<&str> {
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| matches!(w[0], "struct" | "enum" | "type" | "union" | "trait" | "mod"))
        .map(|w| w[1])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_let_statements_bind() {
        let mut names: Vec<&str> = let_bound_names(
            "let sq: Vec<u64> = vec![];\nlet mut n = sq.len();\nlet (a, ref b) = (1, 2);\nlet Some(v) = x else { return };\nlet letter = 1; outlet = 2;\nsq.iter().sum::<u64>()",
        )
        .into_iter()
        .collect();
        names.sort_unstable();
        assert_eq!(names, ["Some", "a", "b", "letter", "n", "sq", "v"]);
        assert!(let_bound_names("chunk_results.iter().map(|r| r.sum)").is_empty());
        assert!(let_bound_names("let p: std::path::PathBuf = x;").contains("p"));
        assert!(let_bound_names("let 数据 = 5;").contains("数据"));
        assert!(let_bound_names("outlet = 2;").is_empty());
    }

    #[test]
    fn identifiers_leave_out_fields_methods_and_number_suffixes() {
        let words = identifiers("let best = runs.epochs + r#k * 10i64 + x\n    .len()..end");
        let mut words: Vec<&str> = words.into_iter().collect();
        words.sort_unstable();
        assert_eq!(words, ["best", "end", "k", "let", "runs", "x"]);
        let words = identifiers("数据 += 1; élément.len(); x数");
        assert!(words.contains("数据") && words.contains("x数") && words.contains("élément"));
    }

    #[test]
    fn type_names_a_cell_defines() {
        assert_eq!(
            defined_type_names(
                "#[derive(Debug)]\npub struct W { a: u8 }\nenum E { A }\nlet struct_x = 1;"
            ),
            ["W", "E"]
        );
    }
}
