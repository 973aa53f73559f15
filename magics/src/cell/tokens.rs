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
