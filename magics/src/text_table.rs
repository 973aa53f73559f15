//! Plain-text tables, the text/plain twin of the HTML ones: columns padded
//! by display width as a terminal or a monospace front end draws it (a CJK
//! character or most emoji take two columns, a combining mark none, per
//! Unicode's East Asian Width, UAX #11), and long cells cut from the
//! middle so one long name cannot push the other columns out. No IO.

use unicode_width::UnicodeWidthStr;

/// How a column's cells sit in its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// The columns `text` takes in a monospace font.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` on one line (see [`crate::label_fit::fit`]) and, when wider than
/// `max` columns (at least 3), cut from the middle with `…`: the head and
/// the tail kept, which tell long names apart best.
pub fn fit(text: &str, max: usize) -> String {
    let flat = crate::label_fit::fit(text, usize::MAX);
    let max = max.max(3);
    if width(&flat) <= max {
        return flat;
    }
    let keep = max - 1;
    let (head_room, tail_room) = (keep.div_ceil(2), keep / 2);
    let mut head = String::new();
    let mut used = 0;
    for c in flat.chars() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w > head_room {
            break;
        }
        head.push(c);
        used += w;
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in flat.chars().rev() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w > tail_room {
            break;
        }
        tail.push(c);
        used += w;
    }
    let tail: String = tail.into_iter().rev().collect();
    format!("{head}…{tail}")
}

/// `text` padded with spaces to `columns` display columns.
pub fn pad(text: &str, columns: usize, align: Align) -> String {
    let fill = " ".repeat(columns.saturating_sub(width(text)));
    match align {
        Align::Left => format!("{text}{fill}"),
        Align::Right => format!("{fill}{text}"),
    }
}

/// The rows (the header first) as lines, each column as wide as its widest
/// cell, columns two spaces apart, no trailing spaces; a column past the
/// end of `align` is left-aligned.
pub fn layout(rows: &[Vec<String>], align: &[Align]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c).map(|s| width(s)))
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(c, s)| pad(s, widths[c], align.get(c).copied().unwrap_or(Align::Left)))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("学习率"), 6);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(pad("学习", 6, Align::Left), "学习  ");
        assert_eq!(pad("7", 3, Align::Right), "  7");
    }

    #[test]
    fn long_cells_are_cut_from_the_middle_by_width() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("a_very_long_job_name_indeed", 11), "a_ver…ndeed");
        let cut = fit("训练训练训练训练训练", 9);
        assert!(width(&cut) <= 9, "{cut}");
        assert!(cut.starts_with("训练") && cut.ends_with("训练"), "{cut}");
        assert_eq!(fit("two\nlines", 20), "two↵lines");
    }

    #[test]
    fn columns_line_up_whatever_the_characters() {
        let rows = vec![
            vec!["name".to_string(), "n".to_string()],
            vec!["学习率".to_string(), "12".to_string()],
            vec!["lr".to_string(), "3".to_string()],
        ];
        assert_eq!(
            layout(&rows, &[Align::Left, Align::Right]),
            "name     n\n学习率  12\nlr       3"
        );
    }
}
