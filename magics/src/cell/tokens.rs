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
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
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
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
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
    let word_at = |i: usize| -> usize {
        let mut j = i;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        j
    };
    while i < bytes.len() {
        let c = bytes[i];
        if !(c.is_ascii_alphabetic() || c == b'_') {
            i += 1;
            continue;
        }
        let end = word_at(i);
        let joined = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if &code[i..end] != "let" || joined {
            i = end;
            continue;
        }
        // The pattern: up to `=`, `;` or a `:` that is not `::`.
        let mut j = end;
        while j < bytes.len() {
            match bytes[j] {
                b'=' | b';' => break,
                b':' if bytes.get(j + 1) != Some(&b':') && (j == 0 || bytes[j - 1] != b':') => {
                    break;
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let e = word_at(j);
                    let w = &code[j..e];
                    if !matches!(w, "mut" | "ref") {
                        out.insert(w);
                    }
                    j = e;
                }
                _ => j += 1,
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
    }

    #[test]
    fn identifiers_leave_out_fields_methods_and_number_suffixes() {
        let words = identifiers("let best = runs.epochs + r#k * 10i64 + x\n    .len()..end");
        let mut words: Vec<&str> = words.into_iter().collect();
        words.sort_unstable();
        assert_eq!(words, ["best", "end", "k", "let", "runs", "x"]);
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
