//! How the Gantt chart tells jobs apart: eight mid-tone colours (readable on
//! light and dark backgrounds, none of them red: red is the failed outline),
//! then the same colours again marked with a
//! pattern — stripes one way, stripes the other way, dots, bands,
//! cross-hatching — so 48 jobs get 48 different fills before any repeats.
//! The patterns' marks are translucent white over the job's colour, so they
//! read on either theme. No IO.

use std::fmt::Write as _;

/// Job colours, in order (mid-tones for light and dark backgrounds). No
/// red: a failed element's outline is red ([`crate::theme::Tone::Bad`]), and
/// a red job would look failed; indigo takes the place red had.
const COLOURS: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#6b6ecf", "#76b7b2", "#b07aa1", "#edc948", "#9c755f",
];

/// The marks over a colour, in the order they are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Solid,
    Stripes,
    BackStripes,
    Dots,
    Bands,
    Cross,
}

const MARKS: [Mark; 6] = [
    Mark::Solid,
    Mark::Stripes,
    Mark::BackStripes,
    Mark::Dots,
    Mark::Bands,
    Mark::Cross,
];

/// Number of jobs with a fill of their own.
pub const DISTINCT: usize = COLOURS.len() * MARKS.len();

/// The fill of the job at position `job` (0-based) in the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobFill {
    colour: usize,
    mark: Mark,
}

impl JobFill {
    /// The fill of job `job`; it repeats only after [`DISTINCT`] jobs.
    pub fn of(job: usize) -> JobFill {
        let job = job % DISTINCT;
        JobFill {
            colour: job % COLOURS.len(),
            mark: MARKS[job / COLOURS.len()],
        }
    }

    /// The value of an SVG `fill` attribute: the colour, or the pattern.
    pub fn paint(&self) -> String {
        match self.mark {
            Mark::Solid => COLOURS[self.colour].to_string(),
            _ => format!("url(#{})", self.id()),
        }
    }

    /// The job's colour (without its pattern).
    pub fn colour(&self) -> &'static str {
        COLOURS[self.colour]
    }

    fn id(&self) -> String {
        let mark = MARKS.iter().position(|m| *m == self.mark).unwrap_or(0);
        format!("sluice-job-fill-{mark}-{}", self.colour)
    }

    /// The `<pattern>` this fill refers to (none for a plain colour). Two
    /// charts in one page define the same id with the same content.
    fn pattern(&self) -> Option<String> {
        const MARK: &str = "fill=\"#fff\" fill-opacity=\"0.6\"";
        let (transform, marks) = match self.mark {
            Mark::Solid => return None,
            Mark::Stripes => (
                "rotate(45)",
                format!("<rect width=\"2.5\" height=\"6\" {MARK}/>"),
            ),
            Mark::BackStripes => (
                "rotate(-45)",
                format!("<rect width=\"2.5\" height=\"6\" {MARK}/>"),
            ),
            Mark::Dots => ("", format!("<circle cx=\"3\" cy=\"3\" r=\"1.5\" {MARK}/>")),
            Mark::Bands => ("", format!("<rect width=\"6\" height=\"2\" {MARK}/>")),
            Mark::Cross => (
                "rotate(45)",
                format!(
                    "<rect width=\"1.5\" height=\"6\" {MARK}/><rect width=\"6\" height=\"1.5\" {MARK}/>"
                ),
            ),
        };
        let transform = if transform.is_empty() {
            String::new()
        } else {
            format!(" patternTransform=\"{transform}\"")
        };
        Some(format!(
            "<pattern id=\"{}\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\"{transform}><rect width=\"6\" height=\"6\" fill=\"{}\"/>{marks}</pattern>",
            self.id(),
            self.colour()
        ))
    }
}

/// The `<defs>` holding the patterns of the first `jobs` jobs' fills
/// (empty when all of them are plain colours).
pub fn defs(jobs: usize) -> String {
    let mut s = String::new();
    for j in 0..jobs.min(DISTINCT) {
        if let Some(p) = JobFill::of(j).pattern() {
            s.push_str(&p);
        }
    }
    if s.is_empty() {
        return s;
    }
    let mut out = String::new();
    let _ = write!(out, "<defs>{s}</defs>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_up_to_the_limit_has_its_own_fill() {
        let fills: Vec<JobFill> = (0..DISTINCT).map(JobFill::of).collect();
        for (i, a) in fills.iter().enumerate() {
            for b in &fills[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(JobFill::of(0).paint(), "#4e79a7");
        assert_eq!(JobFill::of(8).paint(), "url(#sluice-job-fill-1-0)");
        assert_eq!(JobFill::of(8).colour(), JobFill::of(0).colour());
        assert_eq!(JobFill::of(DISTINCT), JobFill::of(0));
        // Eight jobs need no patterns; ten define the two they use.
        assert_eq!(defs(8), "");
        let d = defs(10);
        assert_eq!(d.matches("<pattern ").count(), 2);
        assert!(d.contains("id=\"sluice-job-fill-1-1\""), "{d}");
    }

    /// Hue in degrees of `#rrggbb`, with its saturation (0..=1).
    fn hue(hex: &str) -> (f64, f64) {
        let c = |i: usize| f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
        let (r, g, b) = (c(1), c(3), c(5));
        let (max, min) = (r.max(g).max(b), r.min(g).min(b));
        let d = max - min;
        let h = if d == 0.0 {
            0.0
        } else if max == r {
            60.0 * ((g - b) / d).rem_euclid(6.0)
        } else if max == g {
            60.0 * ((b - r) / d + 2.0)
        } else {
            60.0 * ((r - g) / d + 4.0)
        };
        (h, if max == 0.0 { 0.0 } else { d / max })
    }

    #[test]
    fn no_job_colour_is_the_failed_outlines_red() {
        let (failed, _) = hue(crate::theme::Tone::Bad.solid());
        for c in COLOURS {
            let (h, saturation) = hue(c);
            let apart = (h - failed).abs().min(360.0 - (h - failed).abs());
            // Orange is 28° away; brown (#9c755f) 20°, but greyed (saturation 0.39).
            assert!(
                apart >= 25.0 || (apart >= 15.0 && saturation < 0.5),
                "{c} is {apart:.0}° from the failed red"
            );
        }
    }
}
