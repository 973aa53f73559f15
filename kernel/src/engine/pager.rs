//! `?name` cells: the documentation of `name` in the front end's pager (an
//! execute reply with a `page` payload), as IPython does for `name?`. Only
//! the leading form is taken: `name?` is Rust's `?` operator.

use jupyter_protocol::{InspectRequest, Media, Payload};

/// `?Vec::new` → `Vec::new`. A single word or path (`::` and `.` allowed),
/// nothing else on the cell.
pub(super) fn request(code: &str) -> Option<&str> {
    let name = code.trim().strip_prefix('?')?.trim();
    let is_path = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == ':' || c == '.')
        && !name.starts_with(['.', ':']);
    is_path.then_some(name)
}

/// The inspect request the pager answers with the cursor at the name's end.
pub(super) fn inspect_request(name: &str) -> InspectRequest {
    InspectRequest {
        code: name.to_string(),
        cursor_pos: name.chars().count(),
        detail_level: Some(0),
    }
}

/// The payload that opens the pager on `data`.
pub(super) fn page(data: Media) -> Payload {
    Payload::Page { data, start: 0 }
}

#[cfg(test)]
mod tests {
    use super::request;

    #[test]
    fn leading_question_mark_on_a_name_or_path() {
        assert_eq!(request("?Vec"), Some("Vec"));
        assert_eq!(
            request("  ? std::collections::HashMap \n"),
            Some("std::collections::HashMap")
        );
        assert_eq!(request("?v.len"), Some("v.len"));
        for code in [
            "Vec?",
            "?",
            "?a b",
            "?f(1)",
            "let x = 1;\n?Vec",
            "?.len",
            "x?",
        ] {
            assert_eq!(request(code), None, "{code:?}");
        }
    }
}
