//! Colours and inline CSS that read well in every front end's theme: light,
//! dark and high-contrast JupyterLab, nbconvert's HTML export and VS Code's
//! notebook view. No IO.
//!
//! The rules every HTML output follows:
//! - text keeps the front end's colour (`inherit`); state colours never
//!   colour text, they fill swatches, bar segments and row tints;
//! - tints are translucent (`rgba(…, .18)`), so they darken a light page and
//!   lighten a dark one without hiding its text;
//! - fonts and borders come from JupyterLab's CSS variables with a fallback
//!   for front ends that do not define them (`var(--jp-…, fallback)`).
//!
//! SVG pictures are shown as images by some front ends (no page CSS reaches
//! them), so each draws its own light [`svg_paper`] and dark ink: they read
//! the same on a light and a dark page.

/// A state or accent colour: a swatch, a bar segment, a translucent tint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Completed, best: green.
    Good,
    /// Running: blue.
    Busy,
    /// Failed: red.
    Bad,
    /// Cancelled, pending: grey.
    Quiet,
}

impl Tone {
    /// The solid colour (mid-tones, visible on white and on near-black).
    pub fn solid(self) -> &'static str {
        match self {
            Tone::Good => "#2e9e5b",
            Tone::Busy => "#3b82c4",
            Tone::Bad => "#d9443f",
            Tone::Quiet => "#8a8a8a",
        }
    }

    /// The same colour as a translucent tint for a row or a block
    /// background: text on it keeps its contrast in light and dark themes.
    pub fn tint(self) -> &'static str {
        match self {
            Tone::Good => "rgba(46,158,91,.18)",
            Tone::Busy => "rgba(59,130,196,.18)",
            Tone::Bad => "rgba(217,68,63,.16)",
            Tone::Quiet => "rgba(138,138,138,.16)",
        }
    }
}

/// The font of prose in outputs: the front end's, else sans-serif.
pub const UI_FONT: &str = "font-family:var(--jp-ui-font-family,system-ui,sans-serif)";

/// The font of code and numbers: the front end's, else monospace.
pub const CODE_FONT: &str = "font-family:var(--jp-code-font-family,monospace)";

/// Secondary text: the front end's colour, a little lighter (never below
/// 4.5:1 on either theme's background).
pub const MUTED: &str = "opacity:.8";

/// A progress bar's empty track: a grey tint, visible on both themes.
pub const TRACK: &str = "rgba(128,128,128,.25)";

/// The attribute and style of a block whose colour is its meaning and that
/// holds no text (a swatch, a bar segment, the bar's track). In forced
/// colours (Windows' contrast themes; CSS `forced-colors: active`) the
/// browser paints every background the page's colour, so these keep their
/// own (`forced-color-adjust: none`); `data-sluice-colour` marks them for
/// the browser test.
pub const KEEPS_COLOUR: &str = "data-sluice-colour style=\"forced-color-adjust:none;";

/// A small square of `tone`'s colour, for legends (carries no text).
pub fn swatch(tone: Tone) -> String {
    format!(
        "<span {KEEPS_COLOUR}display:inline-block;width:.7em;height:.7em;border-radius:2px;margin-right:.3em;vertical-align:baseline;background:{}\"></span>",
        tone.solid()
    )
}

/// The light paper every SVG picture is drawn on (`width` × `height`
/// pixels), with a thin border so it reads as a card on a light page too.
pub fn svg_paper(width: usize, height: usize) -> String {
    format!(
        "<rect class=\"paper\" x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\" rx=\"6\" fill=\"{PAPER}\" stroke=\"#d0d0d0\"/>",
        width.saturating_sub(1),
        height.saturating_sub(1)
    )
}

/// The SVG paper's colour (near-white).
pub const PAPER: &str = "#fdfdfd";

/// Dark ink for text on [`PAPER`] (contrast 12:1).
pub const INK: &str = "#333333";

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG 2 relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).expect("hex colour");
        let ch = |s: u32| {
            let c = f64::from((v >> s) & 0xff) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(16) + 0.7152 * ch(8) + 0.0722 * ch(0)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn ink_reads_on_paper_and_tones_show_on_both_themes() {
        assert!(contrast(INK, PAPER) >= 7.0);
        for tone in [Tone::Good, Tone::Busy, Tone::Bad, Tone::Quiet] {
            // A swatch must stand out (3:1, WCAG's ratio for graphics) from
            // a white page or a near-black one, at least.
            let best = contrast(tone.solid(), "#ffffff").max(contrast(tone.solid(), "#111111"));
            assert!(best >= 3.0, "{tone:?}");
        }
        assert!(svg_paper(100, 50).contains("width=\"99\" height=\"49\""));
        assert!(swatch(Tone::Good).starts_with(
            "<span data-sluice-colour style=\"forced-color-adjust:none;display:inline-block"
        ));
    }
}
