//! The note under a sweep's plot naming the configurations it cannot
//! draw: those whose objective is not finite (inf, -inf, NaN), which no
//! axis holds; the table ranks them too, so the plot says where they went.
//! No IO.

use crate::label_fit::fit;
use crate::numfmt::sig;

/// The note naming configurations whose objective is not finite (inf,
/// -inf, NaN), which no axis can hold, the best among them marked as the
/// table ranks it; None when every objective read is finite.
pub fn unplotted_note(ys: &[Option<f64>], best: Option<usize>) -> Option<String> {
    let off: Vec<String> = ys
        .iter()
        .enumerate()
        .filter_map(|(i, y)| y.filter(|v| !v.is_finite()).map(|v| (i, v)))
        .map(|(i, v)| {
            let mark = if Some(i) == best { ", best" } else { "" };
            format!("{i} ({}{mark})", sig(v, 4))
        })
        .collect();
    if off.is_empty() {
        return None;
    }
    let s = if off.len() == 1 { "" } else { "s" };
    let more = if off.len() > 5 {
        format!(" and {} more", off.len() - 5)
    } else {
        String::new()
    };
    let shown = off.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    Some(format!(
        "not drawn (objective not finite): configuration{s} {shown}{more}"
    ))
}

/// `text` in at most two lines of `room` characters, broken at the last
/// space that fits (after a `:` if one fits); the second line cut to fit.
pub fn two_lines(text: &str, room: usize) -> Vec<String> {
    if text.chars().count() <= room {
        return vec![text.to_string()];
    }
    let cut = text
        .char_indices()
        .filter(|(i, c)| *c == ' ' && text[..*i].chars().count() <= room)
        .map(|(i, _)| i)
        .max_by_key(|i| (text[..*i].ends_with(':'), *i));
    match cut {
        Some(i) => vec![text[..i].to_string(), fit(&text[i + 1..], room)],
        None => vec![fit(text, room)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_each_configuration_and_the_best() {
        assert_eq!(unplotted_note(&[Some(1.0), None], None), None);
        assert_eq!(
            unplotted_note(&[Some(f64::NEG_INFINITY)], None).as_deref(),
            Some("not drawn (objective not finite): configuration 0 (-inf)")
        );
        let ys: Vec<Option<f64>> = (0..7).map(|_| Some(f64::NAN)).collect();
        let note = unplotted_note(&ys, Some(2)).expect("a note");
        assert!(
            note.contains("2 (NaN, best)") && note.ends_with(" and 2 more"),
            "{note}"
        );
        assert_eq!(
            two_lines(
                "not drawn (objective not finite): configuration 4 (inf)",
                40
            ),
            ["not drawn (objective not finite):", "configuration 4 (inf)"]
        );
        assert_eq!(two_lines("short", 40), ["short"]);
    }
}
