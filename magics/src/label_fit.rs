//! Fitting a label into the room a picture gives it: line breaks and tabs
//! shown as one line, then cut from the middle with `…` (both ends of a
//! long name tell it apart best), by an estimate of its width in pixels.
//! The picture keeps the whole text in a `<title>` ([`titled`]). No IO.

use crate::render::esc;

/// About how wide a character of sans-serif text is, in pixels, at
/// `font_px` (an average over the letters of a name: 0.6 em).
pub fn char_px(font_px: f64) -> f64 {
    0.6 * font_px
}

/// How the room of a name cut from the middle is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// Half to the head, half to the tail (labels of values and axes).
    Even,
    /// Two thirds to the head: job names whose start says what they are
    /// and whose end tells them apart (`a_really_qu…_number_01`).
    MostlyHead,
}

/// `text` on one line (a line break reads `↵`, a tab a space) and, when
/// longer than `max_chars` characters (at least 3), cut from the middle:
/// the head and tail kept, `…` between them, the room shared evenly.
pub fn fit(text: &str, max_chars: usize) -> String {
    fit_shared(text, max_chars, Share::Even)
}

/// [`fit`], with the room shared between head and tail as `share` says.
pub fn fit_shared(text: &str, max_chars: usize, share: Share) -> String {
    let flat: String = text
        .chars()
        .map(|c| match c {
            '\n' => '↵',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let max = max_chars.max(3);
    let count = flat.chars().count();
    if count <= max {
        return flat;
    }
    let keep = max - 1;
    let tail = match share {
        Share::Even => keep / 2,
        Share::MostlyHead => (keep + 1) / 3,
    };
    let head = keep - tail;
    let start: String = flat.chars().take(head).collect();
    let end: String = flat.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// How many characters of `font_px` text fit in `width_px` pixels.
pub fn chars_in(width_px: f64, font_px: f64) -> usize {
    (width_px / char_px(font_px)).floor().max(0.0) as usize
}

/// An SVG `<text>` element (`attrs` are its attributes, written as given)
/// showing `shown`, inside a group whose `<title>` holds `full` when the
/// two differ, so hovering the cut label shows the whole text. Both are
/// escaped here.
pub fn titled(attrs: &str, shown: &str, full: &str) -> String {
    let text = format!("<text {attrs}>{}</text>", esc(shown));
    if shown == full {
        text
    } else {
        format!("<g><title>{}</title>{text}</g>", esc(full))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_keep_two_thirds_of_the_room_for_their_start() {
        let name = "a_really_quite_long_job_name_for_the_gantt_chart_number_01";
        let cut = fit_shared(name, 22, Share::MostlyHead);
        assert_eq!(cut, "a_really_quite…mber_01");
        assert_eq!(fit_shared("abcd", 3, Share::MostlyHead), "a…d");
        assert_eq!(
            fit_shared("multi\nline", 40, Share::MostlyHead),
            "multi↵line"
        );
    }

    #[test]
    fn long_labels_are_cut_from_the_middle() {
        assert_eq!(fit("short", 10), "short");
        let long = "a considerably longer configuration name that goes on";
        let cut = fit(long, 15);
        assert_eq!(cut, "a consi…goes on");
        assert_eq!(fit("multi\nline\nname", 40), "multi↵line↵name");
        assert_eq!(fit("abcdef", 1), "a…f");
        assert_eq!(chars_in(66.0, 11.0), 10);
    }

    #[test]
    fn a_cut_label_keeps_the_whole_text_in_its_title() {
        let t = titled(
            "x=\"1\"",
            &fit("<b>html</b> & stuff", 8),
            "<b>html</b> & stuff",
        );
        assert_eq!(
            t,
            "<g><title>&lt;b&gt;html&lt;/b&gt; &amp; stuff</title><text x=\"1\">&lt;b&gt;h…uff</text></g>"
        );
        assert_eq!(titled("y=\"2\"", "ok", "ok"), "<text y=\"2\">ok</text>");
    }
}
