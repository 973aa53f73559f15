//! The axes of a sweep plot's panels as plotters sees them: an axis with
//! the ticks this crate chose ([`Ticked`]) and the objective's axis shared
//! by every panel ([`YAxis`]), its tick labels told apart. No IO.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

use crate::axis_ticks::{compact, log_ticks, nice_ticks, tick_labels, wants_log_y};
use crate::plot_spread::padded;

/// An axis (linear or log) with the ticks this module chose: round
/// values, powers of ten, whole numbers or categories. Labels are written
/// by the panel's formatters, never by plotters' defaults.
pub struct Ticked<R> {
    /// The plotters axis it maps values with.
    pub inner: R,
    /// The tick values, ascending.
    pub ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
}

/// The objective's axis, shared by every panel: its range, ticks, their
/// labels ([`tick_labels`]: told apart, from an offset if need be), and
/// whether it is a log axis ([`wants_log_y`]: all positive over three
/// decades or more).
pub struct YAxis {
    /// The axis's low end.
    pub lo: f64,
    /// The axis's high end.
    pub hi: f64,
    /// The tick values, ascending.
    pub ticks: Vec<f64>,
    /// A label per tick.
    pub labels: Vec<String>,
    /// The value the labels are read from, if they are offsets.
    pub offset: Option<f64>,
    /// Whether the axis is logarithmic.
    pub log: bool,
}

impl YAxis {
    /// The axis for the finite objective values `ys` (not empty).
    pub fn of(ys: &[f64]) -> YAxis {
        let (lo, hi, ticks, log) = if wants_log_y(ys) {
            let lo = ys.iter().copied().fold(f64::INFINITY, f64::min) / 1.5;
            let hi = (ys.iter().copied().fold(0.0, f64::max) * 1.5).min(f64::MAX);
            (lo, hi, log_ticks(lo, hi), true)
        } else {
            let (lo, hi) = padded(ys);
            (lo, hi, nice_ticks(lo, hi, 5), false)
        };
        let (labels, offset) = if log {
            (ticks.iter().map(|t| compact(*t)).collect(), None)
        } else {
            tick_labels(&ticks)
        };
        YAxis {
            lo,
            hi,
            ticks,
            labels,
            offset,
            log,
        }
    }

    /// Width of the label area left of the axis, pixels: the widest tick
    /// label (11 px sans-serif, about 7 px a character), a gap, and the
    /// rotated title (12 px) clear of it.
    pub fn label_area(&self) -> u32 {
        let widest = self
            .labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(1);
        (widest as u32 * 7 + 30).clamp(44, 110)
    }
}

/// The label of tick `v` among `ticks` (labelled `labels`); [`compact`]
/// for a value that is not one of them.
pub fn label_of(v: f64, ticks: &[f64], labels: &[String]) -> String {
    ticks
        .iter()
        .position(|t| *t == v)
        .and_then(|i| labels.get(i).cloned())
        .unwrap_or_else(|| compact(v))
}
