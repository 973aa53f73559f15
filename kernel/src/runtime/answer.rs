//! The kernel's answer to an input request, as one line through evcxr's
//! stdin: a value (JSON, so a pasted newline stays inside it) or
//! end-of-file (the front end does not allow stdin, or the cell was
//! interrupted while it waited).

const VALUE: &str = "\u{1e}v";
const EOF: &str = "\u{1e}eof";

/// The line for `value` (None: end-of-file).
pub fn encode(value: Option<&str>) -> String {
    match value {
        // A string always serializes.
        Some(v) => format!("{VALUE}{}", serde_json::to_string(v).unwrap_or_default()),
        None => EOF.to_string(),
    }
}

/// The answer in `line` (None: end-of-file). A line that is not encoded is
/// the value itself.
pub fn decode(line: &str) -> Option<String> {
    if line == EOF {
        return None;
    }
    match line.strip_prefix(VALUE) {
        Some(json) => serde_json::from_str(json).ok(),
        None => Some(line.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip() {
        for v in ["", "Ada", "two\nlines", "\u{1e}eof"] {
            assert_eq!(decode(&encode(Some(v))), Some(v.to_string()));
            assert!(!encode(Some(v)).contains('\n'));
        }
        assert_eq!(decode(&encode(None)), None);
        assert_eq!(decode("plain"), Some("plain".into()));
    }
}
