//! Sentences as the reports write them: a count with its noun in the
//! right number (`no items`, `1 item`, `3 items`), and prose wrapped at
//! word boundaries so a front end never has to break a line inside an
//! identifier. No IO.

/// `n` with `noun` (singular) or `nouns` (plural) as English counts them:
/// `0 elements`, `1 element`, `2 elements`.
pub fn count(n: usize, noun: &str, nouns: &str) -> String {
    format!("{n} {}", if n == 1 { noun } else { nouns })
}

/// `text` wrapped at spaces into lines of at most `width` characters
/// (a word longer than `width` stays whole on a line of its own: an
/// identifier, a path or a URL is never cut; a `` `code span` `` is one
/// word, so `` `%slurm retry NAME` `` stays on one line). Every line after the first
/// starts with `indent`, counted in the width. Existing line breaks are
/// kept.
pub fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let indent_len = indent.chars().count();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut len = 0usize;
        for (i, word) in units(para).iter().enumerate() {
            let w = word.chars().count();
            if i > 0 && len + 1 + w > width {
                lines.push(std::mem::replace(&mut line, indent.to_string()));
                len = indent_len;
            } else if i > 0 {
                line.push(' ');
                len += 1;
            }
            line.push_str(word);
            len += w;
        }
        lines.push(line);
    }
    lines
}

/// The words of `para`, a backtick-quoted span (spaces and all) as one.
fn units(para: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in para.split(' ') {
        match out.last_mut() {
            Some(open) if open.matches('`').count() % 2 == 1 => {
                open.push(' ');
                open.push_str(word);
            }
            _ => out.push(word.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_in_the_right_number() {
        assert_eq!(count(0, "item", "items"), "0 items");
        assert_eq!(count(1, "item", "items"), "1 item");
        assert_eq!(count(2, "element", "elements"), "2 elements");
    }

    #[test]
    fn lines_break_between_words_never_inside_one() {
        let text = "3 of 4 items of `flaky` failed; `flaky_partial` holds the 1 that succeeded";
        let lines = wrap(text, 30, "  ");
        assert_eq!(
            lines,
            [
                "3 of 4 items of `flaky`",
                "  failed; `flaky_partial`",
                "  holds the 1 that succeeded"
            ]
        );
        let long = "see a_very_long_identifier_name_that_goes_on_and_on here";
        assert_eq!(
            wrap(long, 10, ""),
            [
                "see",
                "a_very_long_identifier_name_that_goes_on_and_on",
                "here"
            ]
        );
        assert_eq!(wrap("a\nb c", 80, " "), ["a", "b c"]);
        assert_eq!(
            wrap("then `%slurm retry some_job` reruns them", 20, ""),
            ["then", "`%slurm retry some_job`", "reruns them"]
        );
        assert_eq!(wrap("", 80, " "), [""]);
    }
}
