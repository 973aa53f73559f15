//! Imports for the types evcxr names with a path that is not in scope.
//!
//! evcxr stores a cell's variables under the type rust-analyzer infers,
//! written as source (`Box<dyn Any + Send>` for what
//! `std::panic::catch_unwind` returns). When that name needs an import the
//! session does not have, rustc rejects evcxr's generated code (E0405,
//! E0412, E0433) and suggests the one `use` that fixes it; evcxr then
//! reports that suggestion (a `help`, placed at the top of the cell) in
//! place of the error. Nothing of the cell ran, so the kernel adds the
//! import to the session and builds the cell again, once — what a person
//! would do after reading rustc's help.

/// The `use` items that rustc suggests for every error of a build that
/// failed only in evcxr's generated code, or `None` when any error is the
/// cell's own or has no single import to suggest.
pub(super) fn suggested(errors: &[evcxr::CompilationError]) -> Option<Vec<String>> {
    if errors.is_empty() {
        return None;
    }
    let mut uses: Vec<String> = Vec::new();
    for e in errors {
        let import = if e.level() == "help" {
            // evcxr's stand-in for an error in its own code.
            let replacement = e.json["spans"][0]["suggested_replacement"].as_str()?;
            single_import(&format!("{}\n\n{replacement}", e.message()))?
        } else if e.is_from_generated_code() && !e.is_from_user_code() {
            e.help().into_iter().find_map(|h| single_import(&h))?
        } else {
            return None;
        };
        if !uses.contains(&import) {
            uses.push(import);
        }
    }
    Some(uses)
}

/// `consider importing this trait\n\nuse std::any::Any;` → `use std::any::Any;`
/// (rustc's help for one candidate; "one of these items" is ambiguous).
fn single_import(help: &str) -> Option<String> {
    let (head, replacement) = help.split_once("\n\n")?;
    if !head.starts_with("consider importing this ") {
        return None;
    }
    let line = replacement.trim();
    let path = line.strip_prefix("use ")?.strip_suffix(';')?;
    let valid = !path.is_empty()
        && path
            .split("::")
            .all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_alphanumeric() || c == '_'));
    valid.then(|| line.to_string())
}

#[cfg(test)]
mod tests {
    use super::single_import;

    #[test]
    fn one_import_is_taken_and_anything_else_is_not() {
        assert_eq!(
            single_import("consider importing this trait\n\nuse std::any::Any;"),
            Some("use std::any::Any;".into())
        );
        assert_eq!(
            single_import("consider importing this struct\n\nuse std::collections::HashMap;\n"),
            Some("use std::collections::HashMap;".into())
        );
        assert_eq!(
            single_import("consider importing one of these items\n\nuse a::X;"),
            None
        );
        assert_eq!(single_import("consider importing this trait"), None);
        assert_eq!(
            single_import("consider importing this trait\n\nuse x::{y, z};"),
            None
        );
    }
}
