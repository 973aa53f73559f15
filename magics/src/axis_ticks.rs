//! Which ticks a sweep plot's axes get and how they read: round linear
//! ticks (1, 2 or 5 × 10^k), whole numbers, powers of ten on a log axis
//! (every few decades when many, so at most [`MAX_LOG_TICKS`]), when an
//! axis wants a log scale, and compact labels (`-2e6`, not `-2000000`) so
//! tick labels stay short. No IO.

use crate::numfmt::sig;

/// Most ticks on a log axis: over more decades, ticks step by several.
pub const MAX_LOG_TICKS: usize = 8;

/// About `n` round tick values (1, 2 or 5 times a power of ten) in [lo, hi].
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || n == 0 {
        return vec![lo];
    }
    let raw = (hi - lo) / n as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    let (first, last) = ((lo / step).ceil(), (hi / step).floor());
    // Past 2^53 steps from zero, k × step no longer lands on distinct
    // values: the ends only.
    if !(first.abs() < 9.0e15 && last.abs() < 9.0e15) || last < first {
        return vec![lo, hi];
    }
    // Rounded through text at the step's last decimal, so 3 × 0.2 is 0.6,
    // not 0.6000000000000001, and 1000000.0010001 keeps all its digits.
    let decimals = (-step.log10().floor()).clamp(0.0, 340.0) as usize;
    let ticks: Vec<f64> = (first as i64..=last as i64)
        .map(|k| {
            let v = k as f64 * step;
            format!("{v:.decimals$}").parse().unwrap_or(v)
        })
        .filter(|v| (lo..=hi).contains(v))
        .collect();
    if ticks.is_empty() {
        vec![lo, hi]
    } else {
        ticks
    }
}

/// Whole-number ticks in [lo, hi]: every integer when there are at most
/// eight, else round steps.
pub fn integer_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.ceil(), hi.floor());
    if b - a <= 7.0 {
        let (a, b) = (a as i64, b as i64);
        return (a..=b).map(|k| k as f64).collect();
    }
    nice_ticks(lo, hi, 5)
        .into_iter()
        .filter(|t| t.fract() == 0.0)
        .collect()
}

/// Ticks on a log axis over [lo, hi] (lo > 0): the powers of ten inside,
/// with 2× and 5× each power added when fewer than three powers fit; over
/// many decades every 2nd, 5th, 10th, 20th, … power (multiples of the
/// step), so at most [`MAX_LOG_TICKS`].
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return vec![];
    }
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let inside = |v: &f64| *v >= lo && *v <= hi;
    let decades = (a..=b).filter(|&e| inside(&power_of_ten(e))).count();
    if decades >= 3 {
        let step = [1, 2, 5, 10, 20, 50, 100, 200]
            .into_iter()
            .find(|s| decades.div_ceil(*s as usize) <= MAX_LOG_TICKS)
            .unwrap_or(200);
        return (a..=b)
            .filter(|e| e.rem_euclid(step) == 0)
            .map(power_of_ten)
            .filter(inside)
            .collect();
    }
    (a..=b)
        .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * power_of_ten(e)))
        .filter(inside)
        .collect()
}

/// 10^e, exact as its literal (`1e200`), which `powi` is not always.
fn power_of_ten(e: i32) -> f64 {
    format!("1e{e}").parse().unwrap_or_else(|_| 10f64.powi(e))
}

/// Positive values spanning two decades or more read better on a log axis
/// (a parameter's x).
pub fn wants_log(xs: &[f64]) -> bool {
    spans(xs, 100.0)
}

/// Whether the objective (y) is drawn on a log axis: all positive and
/// spanning three decades or more (max/min ≥ 1e3); otherwise linear, as
/// a handful of close values read better that way.
pub fn wants_log_y(ys: &[f64]) -> bool {
    spans(ys, 1e3)
}

fn spans(vs: &[f64], ratio: f64) -> bool {
    let lo = vs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vs.iter().copied().fold(0.0, f64::max);
    lo > 0.0 && hi.is_finite() && hi / lo >= ratio
}

/// A tick label as short as it reads: [`sig`] with 3 digits up to 9999,
/// beyond in scientific notation (`-2e6`, `1.5e5`), so a label never runs
/// into the axis title. `-0` reads `0`.
pub fn compact(v: f64) -> String {
    compact_to(v, 3)
}

/// Labels for `ticks` (ascending) that tell every tick apart, and the
/// offset they are read from, if any: [`compact`] when its labels differ;
/// whole numbers written out (`1000001`) up to eight digits; up to six
/// significant digits (`1.00015`); else each tick less a round offset
/// (`1e-7` for 1000000.0010001 read from 1000000.001), the offset going
/// into the axis title ([`offset_title`]).
pub fn tick_labels(ticks: &[f64]) -> (Vec<String>, Option<f64>) {
    let apart = |labels: &[String]| {
        let mut sorted = labels.to_vec();
        sorted.sort();
        sorted.dedup();
        sorted.len() == labels.len()
    };
    let labels: Vec<String> = ticks.iter().map(|t| compact(*t)).collect();
    if apart(&labels) {
        return (labels, None);
    }
    if ticks.iter().all(|t| t.fract() == 0.0 && t.abs() < 1e8) {
        return (
            ticks.iter().map(|t| format!("{:.0}", t + 0.0)).collect(),
            None,
        );
    }
    for digits in 4..=6 {
        let labels: Vec<String> = ticks.iter().map(|t| compact_to(*t, digits)).collect();
        if apart(&labels) && labels.iter().all(|l| l.chars().count() <= 9) {
            return (labels, None);
        }
    }
    let (first, last) = (ticks[0], ticks[ticks.len() - 1]);
    let unit = 10f64.powf(((last - first) * 1.01).log10().ceil());
    let decimals = (-unit.log10()).clamp(0.0, 340.0) as usize;
    let offset: f64 = format!("{:.decimals$}", (first / unit).floor() * unit)
        .parse()
        .unwrap_or(first);
    let step = if ticks.len() > 1 {
        (last - first) / (ticks.len() - 1) as f64
    } else {
        unit
    };
    let decimals = (-step.log10().floor() + 1.0).clamp(0.0, 340.0) as usize;
    let labels = ticks
        .iter()
        .map(|t| {
            let d: f64 = format!("{:.decimals$}", t - offset)
                .parse()
                .unwrap_or(t - offset);
            compact(d)
        })
        .collect();
    (labels, Some(offset))
}

/// An axis title with the offset its tick labels are read from: `value −
/// 1000000.001` (each label is the value less the offset).
pub fn offset_title(title: &str, offset: f64) -> String {
    let text = crate::numfmt::sig(offset.abs(), 17);
    if offset < 0.0 {
        format!("{title} + {text}")
    } else {
        format!("{title} − {text}")
    }
}

/// [`compact`] with `digits` significant digits.
fn compact_to(v: f64, digits: usize) -> String {
    let v = v + 0.0;
    if v.is_finite() && v.abs() >= 1e4 {
        let text = format!("{v:.*e}", digits - 1);
        return match text.split_once('e') {
            Some((m, e)) => {
                let m = m.trim_end_matches('0').trim_end_matches('.');
                format!("{m}e{e}")
            }
            None => text,
        };
    }
    sig(v, digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_never_read_zero_on_a_log_axis() {
        // logspace(-4, -1, 16), padded as the panel pads it.
        let ticks = log_ticks(1e-4 / 1.5, 0.1 * 1.5);
        assert_eq!(ticks, vec![1e-4, 1e-3, 1e-2, 1e-1]);
        let labels: Vec<String> = ticks.iter().map(|t| compact(*t)).collect();
        assert_eq!(labels, ["0.0001", "0.001", "0.01", "0.1"]);
        assert_eq!(log_ticks(1.0, 30.0), vec![1.0, 2.0, 5.0, 10.0, 20.0]);
        assert_eq!(integer_ticks(-0.08, 1.08), vec![0.0, 1.0]);
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    }

    #[test]
    fn many_decades_step_by_several() {
        // logspace(-12, 12, 7): 25 decades -> every 5th power.
        let t = log_ticks(1e-12 / 1.5, 1e12 * 1.5);
        assert_eq!(t, vec![1e-10, 1e-5, 1.0, 1e5, 1e10]);
        // [1e-300, 1e300]: 601 decades -> every 100th.
        let t = log_ticks(1e-300 / 1.5, 1e300 * 1.5);
        assert!(t.len() <= MAX_LOG_TICKS && t.len() >= 3, "{t:?}");
        assert!(t.contains(&1.0) && t.contains(&1e200));
        for span in 3..300 {
            let n = log_ticks(1.0, 10f64.powi(span)).len();
            assert!((2..=MAX_LOG_TICKS).contains(&n), "{span}: {n}");
        }
        assert_eq!(log_ticks(1e-4, 1e3).len(), 8, "8 decades keep them all");
    }

    #[test]
    fn the_objective_goes_log_over_three_decades() {
        assert!(wants_log_y(&[1e-3, 2.0, 5.0]));
        assert!(!wants_log_y(&[1.0, 500.0]));
        assert!(!wants_log_y(&[-1.0, 1e6]), "not all positive");
        assert!(wants_log(&[0.001, 0.1]) && !wants_log(&[1.0, 5.0]) && !wants_log(&[0.0, 10.0]));
    }

    #[test]
    fn labels_are_compact() {
        assert_eq!(compact(-2_000_000.0), "-2e6");
        assert_eq!(compact(150_000.0), "1.5e5");
        assert_eq!(compact(1234.5), "1.23e3");
        assert_eq!(compact(2000.0), "2000");
        assert_eq!(compact(-0.0), "0");
        assert_eq!(compact(0.25), "0.25");
        assert_eq!(compact(1e-10), "1e-10");
    }

    #[test]
    fn close_values_get_distinct_ticks_and_labels() {
        // Four values differing in the fifth digit, padded as a panel pads.
        let ticks = nice_ticks(1.0001 - 0.000024, 1.0004 + 0.000024, 5);
        assert_eq!(ticks, vec![1.0001, 1.0002, 1.0003, 1.0004]);
        let (labels, offset) = tick_labels(&ticks);
        assert_eq!(labels, ["1.0001", "1.0002", "1.0003", "1.0004"]);
        assert_eq!(offset, None);
        // An objective of 1000000.0010001 … 1000000.0010004.
        let (lo, hi) = (1_000_000.001_000_1 - 2.4e-8, 1_000_000.001_000_4 + 2.4e-8);
        let ticks = nice_ticks(lo, hi, 5);
        assert!(
            ticks.len() >= 3 && ticks.iter().all(|t| (lo..=hi).contains(t)),
            "{ticks:?}"
        );
        let (labels, offset) = tick_labels(&ticks);
        assert_eq!(offset, Some(1_000_000.001));
        assert_eq!(labels, ["1e-7", "2e-7", "3e-7", "4e-7"]);
        assert_eq!(offset_title("v", 1_000_000.001), "v − 1000000.001");
        // Whole numbers close together are written out.
        let (labels, _) = tick_labels(&[1e6, 1e6 + 1.0, 1e6 + 2.0]);
        assert_eq!(labels, ["1000000", "1000001", "1000002"]);
        // Labels that compact tells apart stay compact.
        assert_eq!(tick_labels(&[-2e6, -1e6, 0.0]).0, ["-2e6", "-1e6", "0"]);
    }
}
