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
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    // Rounded through text, so 3 × 0.2 is 0.6, not 0.6000000000000001.
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            format!("{v:.12e}").parse().unwrap_or(v)
        })
        .collect()
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
    let v = v + 0.0;
    if v.is_finite() && v.abs() >= 1e4 {
        let text = format!("{v:.2e}");
        return match text.split_once('e') {
            Some((m, e)) => {
                let m = m.trim_end_matches('0').trim_end_matches('.');
                format!("{m}e{e}")
            }
            None => text,
        };
    }
    sig(v, 3)
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
}
