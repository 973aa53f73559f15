//! Answers `is_complete_request`: is this Rust text ready to run?
//!
//! A token scan, not a parse: open brackets, unterminated strings (plain, byte
//! and raw) and unterminated block comments mean "incomplete" (with an indent
//! hint); a closing bracket that does not match means "invalid"; anything else
//! is "complete" and goes to the compiler, which reports real syntax errors
//! against the cell's lines.

/// What the scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    /// Ready to execute.
    Complete,
    /// More input needed; the string is the suggested indent of the next line.
    Incomplete(String),
    /// Cannot become valid by adding text (a mismatched closing bracket).
    Invalid,
}

/// Scans `code` and classifies it.
pub fn check(code: &str) -> Completeness {
    let trimmed = code.trim_start();
    if let Some(rest) = trimmed.strip_prefix("%%") {
        // A cell magic: its first line is arguments, the rest is Rust.
        return match rest.split_once('\n') {
            Some((_, body)) => check(body),
            None => Completeness::Complete,
        };
    }
    if trimmed.starts_with('%') || trimmed.starts_with(':') {
        // Line magics and evcxr commands are one line.
        return Completeness::Complete;
    }
    let chars: Vec<char> = code.chars().collect();
    let mut stack: Vec<char> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                let mut depth = 1;
                i += 2;
                while i < chars.len() && depth > 0 {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                if depth > 0 {
                    return Completeness::Incomplete(String::new());
                }
                continue;
            }
            '"' => match skip_string(&chars, i + 1) {
                Some(end) => {
                    i = end;
                    continue;
                }
                None => return Completeness::Incomplete(String::new()),
            },
            'r' | 'b' | 'c' if starts_raw_string(&chars, i) => match skip_raw_string(&chars, i) {
                Some(end) => {
                    i = end;
                    continue;
                }
                None => return Completeness::Incomplete(String::new()),
            },
            '\'' => {
                i = skip_char_or_lifetime(&chars, i);
                continue;
            }
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(want) {
                    return Completeness::Invalid;
                }
            }
            _ if c.is_alphanumeric() || c == '_' => {
                // Skip a whole identifier so `br"` inside `abr"` is not misread.
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if stack.is_empty() {
        Completeness::Complete
    } else {
        Completeness::Incomplete("    ".repeat(stack.len()))
    }
}

/// Index just past the closing quote of a string whose body starts at `i`.
fn skip_string(chars: &[char], mut i: usize) -> Option<usize> {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn starts_raw_string(chars: &[char], i: usize) -> bool {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return false;
    }
    let mut j = i;
    if matches!(chars.get(j), Some('b') | Some('c')) {
        j += 1;
    }
    match chars.get(j) {
        Some('r') => {
            j += 1;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            chars.get(j) == Some(&'"')
        }
        Some('"') => j > i,
        _ => false,
    }
}

fn skip_raw_string(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if matches!(chars.get(j), Some('b') | Some('c')) {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        // b"..." or c"...": an ordinary escaped string.
        return skip_string(chars, j + 1);
    }
    j += 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    j += 1; // the opening quote
    while j < chars.len() {
        if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    None
}

/// Skips `'x'`, `'\n'`, `'\u{..}'` or a lifetime `'a`.
fn skip_char_or_lifetime(chars: &[char], i: usize) -> usize {
    match (chars.get(i + 1), chars.get(i + 2)) {
        (Some('\\'), _) => {
            let mut j = i + 2;
            while j < chars.len() && chars[j] != '\'' && chars[j] != '\n' {
                j += 1;
            }
            j + 1
        }
        (Some(_), Some('\'')) => i + 3,
        _ => i + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incomplete(code: &str) -> bool {
        matches!(check(code), Completeness::Incomplete(_))
    }

    #[test]
    fn open_fn_is_incomplete() {
        assert!(incomplete("fn f() {"));
        assert_eq!(check("fn f() {"), Completeness::Incomplete("    ".into()));
        assert!(incomplete("let v = vec![1,\n 2,"));
    }

    #[test]
    fn balanced_code_is_complete() {
        assert_eq!(check("fn f() {}"), Completeness::Complete);
        assert_eq!(check("let x = 1;\nx + 1"), Completeness::Complete);
        assert_eq!(check("let s = \"{\";"), Completeness::Complete);
        assert_eq!(check("let c = '{';"), Completeness::Complete);
        assert_eq!(
            check("fn f<'a>(x: &'a str) -> &'a str { x }"),
            Completeness::Complete
        );
        assert_eq!(check("// {\nlet a = 1;"), Completeness::Complete);
        assert_eq!(check("let r = r#\"a \" { \"#;"), Completeness::Complete);
        assert_eq!(check("let b = b'{';"), Completeness::Complete);
    }

    #[test]
    fn unterminated_strings_and_comments_are_incomplete() {
        assert!(incomplete("let s = \"abc"));
        assert!(incomplete("let s = r#\"abc\"  "));
        assert!(incomplete("/* open /* nested */ still"));
    }

    #[test]
    fn mismatched_closer_is_invalid() {
        assert_eq!(check("fn f() { )"), Completeness::Invalid);
        assert_eq!(check("}"), Completeness::Invalid);
    }

    #[test]
    fn magics_are_complete() {
        assert_eq!(
            check("%%slurm map xs\nfn f(x: i32) -> i32 { x }"),
            Completeness::Complete
        );
        assert!(incomplete("%%slurm map xs\nfn f(x: i32) -> i32 {"));
        assert_eq!(check(":dep serde"), Completeness::Complete);
    }
}
