//! Completion helpers: cursor conversions, cleaning evcxr's completions into
//! bare names, and completions for magic names and their options.

use jupyter_protocol::{CompleteReply, ReplyStatus};

/// Byte offset of the `chars`-th character (Jupyter cursors count characters).
pub fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(b, _)| b)
}

/// Character count of the first `bytes` bytes.
pub fn byte_to_char(text: &str, bytes: usize) -> usize {
    let bytes = bytes.min(text.len());
    text.char_indices().take_while(|(b, _)| *b < bytes).count()
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifier around byte offset `pos`, if any.
pub fn word_at(text: &str, pos: usize) -> Option<&str> {
    let pos = pos.min(text.len());
    let start = text[..pos]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident(*c))
        .last()
        .map_or(pos, |(i, _)| i);
    let end = word_end(text, pos);
    let word = &text[start..end];
    (!word.is_empty()).then_some(word)
}

/// Byte offset of the end of the identifier that starts before or at `pos`.
pub fn word_end(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text[pos..]
        .char_indices()
        .find(|(_, c)| !is_ident(*c))
        .map_or(text.len(), |(i, _)| pos + i)
}

/// Bare names from evcxr's completion snippets (`drain(range)` → `drain`,
/// `println!(…)` → `println!`), deduplicated, order kept.
pub fn clean<'a>(snippets: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for s in snippets {
        let name: String = s
            .chars()
            .take_while(|c| is_ident(*c) || *c == '!' || *c == ':')
            .collect();
        let name = name.trim_end_matches(':').to_string();
        if !name.is_empty() && seen.insert(name.clone()) {
            out.push(name);
        }
    }
    out
}

/// Names completed after `%` / `%%` at the start of a cell.
const MAGICS: &[&str] = &["%%slurm", "%%sweep", "%slurm", "%lsmagic"];

/// Completes magic names on a cell's first line; None when not in a magic.
pub fn magic_completions(code: &str, cursor_chars: usize) -> Option<CompleteReply> {
    let cursor = char_to_byte(code, cursor_chars);
    let first_line_end = code.find('\n').unwrap_or(code.len());
    if !code.starts_with('%') || cursor > first_line_end {
        return None;
    }
    let before = &code[..cursor];
    let start = before
        .rfind(|c: char| c.is_whitespace())
        .map_or(0, |i| i + 1);
    let word = &before[start..];
    let candidates: Vec<String> = if start == 0 {
        MAGICS
            .iter()
            .filter(|m| m.starts_with(word))
            .map(|m| m.to_string())
            .collect()
    } else {
        sluice_magics::catalog::completions(&code[..first_line_end], word)
    };
    Some(CompleteReply {
        matches: candidates,
        cursor_start: byte_to_char(code, start),
        cursor_end: cursor_chars,
        metadata: Default::default(),
        status: ReplyStatus::Ok,
        error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_become_names() {
        let got = clean(
            [
                "drain(range)",
                "dedup()",
                "drain(range)",
                "println!($0)",
                "len()",
            ]
            .into_iter(),
        );
        assert_eq!(got, vec!["drain", "dedup", "println!", "len"]);
    }

    #[test]
    fn char_byte_round_trip() {
        let s = "é = 1; v.dr";
        assert_eq!(char_to_byte(s, 1), 2);
        assert_eq!(byte_to_char(s, 2), 1);
        assert_eq!(char_to_byte(s, 100), s.len());
    }

    #[test]
    fn word_under_cursor() {
        let s = "let total = items.len();";
        assert_eq!(word_at(s, 7), Some("total"));
        assert_eq!(word_at(s, 12), Some("items"));
        assert_eq!(word_at(s, 3), Some("let"));
    }

    #[test]
    fn magic_names_complete() {
        let r = magic_completions("%%sl", 4).expect("magic");
        assert_eq!(r.matches, vec!["%%slurm"]);
        assert_eq!(r.cursor_start, 0);
        assert!(magic_completions("let x = 1;", 3).is_none());
    }
}
