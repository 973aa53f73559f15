//! Where a sweep panel's points go on x: the distinct values, the padded
//! range, and the sideways spread (jitter) of points that share an x, so
//! none hides another: on a category, a whole number, a repeated float,
//! and on a log axis in log space. No IO.

/// A point of a panel: x, the objective, whether it is the best.
pub type Point = (f64, f64, bool);

/// The distinct values of `xs`, sorted (never empty when `xs` is not).
pub fn distinct(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// The smallest gap between distinct values (1 for a single value).
pub fn step_of(distinct: &[f64]) -> f64 {
    let gap = distinct
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    if gap.is_finite() && gap > 0.0 {
        gap
    } else {
        1.0
    }
}

/// The range of `v` with some room at both ends (never empty).
pub fn padded(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        lo.abs().max(1.0) * 0.1
    };
    (lo - pad, hi + pad)
}

/// The spread for points of a float parameter on a linear axis: the
/// smallest gap between its distinct values, as for whole numbers; with a
/// single value, a quarter of the axis (`lo..hi`).
pub fn float_step(distinct: &[f64], lo: f64, hi: f64) -> f64 {
    if distinct.len() > 1 {
        step_of(distinct)
    } else {
        (0.25 * (hi - lo)).max(0.0)
    }
}

/// [`jitter`] on a log axis: spread in log10 space by up to a fifth of
/// the smallest gap there (at most a tenth of a decade), back to x.
pub fn jitter_log(points: Vec<Point>) -> Vec<Point> {
    let logs: Vec<Point> = points.iter().map(|&(x, y, b)| (x.log10(), y, b)).collect();
    let xs: Vec<f64> = logs.iter().map(|p| p.0).collect();
    let d = distinct(&xs);
    let step = if d.len() > 1 {
        step_of(&d).min(0.5)
    } else {
        0.5
    };
    jitter(logs, step)
        .into_iter()
        .map(|(x, y, b)| (10f64.powf(x), y, b))
        .collect()
}

/// Spreads points that share an x (`step` apart from their neighbours)
/// sideways by up to a fifth of a step each way, in a fixed pattern, so
/// none hides another; the best point stays put. `step` 0: no spread.
pub fn jitter(points: Vec<Point>, step: f64) -> Vec<Point> {
    if step <= 0.0 || !step.is_finite() {
        return points;
    }
    let mut seen: Vec<(f64, usize)> = Vec::new();
    let mut counts: Vec<(f64, usize)> = Vec::new();
    for p in &points {
        match counts.iter_mut().find(|(x, _)| *x == p.0) {
            Some((_, n)) => *n += 1,
            None => counts.push((p.0, 1)),
        }
    }
    points
        .into_iter()
        .map(|(x, y, best)| {
            let total = counts.iter().find(|(v, _)| *v == x).map_or(1, |c| c.1);
            let k = match seen.iter_mut().find(|(v, _)| *v == x) {
                Some((_, k)) => {
                    *k += 1;
                    *k
                }
                None => {
                    seen.push((x, 0));
                    0
                }
            };
            if total < 2 || best {
                return (x, y, best);
            }
            let offset = 0.4 * step * (k as f64 / (total - 1) as f64 - 0.5);
            (x + offset, y, best)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discrete_points_spread_sideways() {
        let j = jitter(
            vec![(0.0, 1.0, false), (0.0, 2.0, false), (1.0, 3.0, false)],
            1.0,
        );
        assert_eq!(
            j,
            vec![(-0.2, 1.0, false), (0.2, 2.0, false), (1.0, 3.0, false)]
        );
        assert_eq!(step_of(&distinct(&[64.0, 32.0, 32.0])), 32.0);
        assert_eq!(step_of(&[5.0]), 1.0);
    }

    #[test]
    fn repeated_floats_spread_too() {
        // 0.1 twice and 0.3: spread by a fifth of the 0.2 gap each way.
        let xs = [0.1, 0.1, 0.3];
        let (lo, hi) = padded(&xs);
        let step = float_step(&distinct(&xs), lo, hi);
        assert!((step - 0.2).abs() < 1e-12, "{step}");
        let j = jitter(
            vec![(0.1, 1.0, false), (0.1, 2.0, false), (0.3, 0.0, false)],
            step,
        );
        assert!(j[0].0 < 0.1 && j[1].0 > 0.1 && j[2].0 == 0.3, "{j:?}");
        // One value only: a quarter of the padded axis.
        assert!(float_step(&[2.0], 1.8, 2.2) > 0.0);
        // On a log axis, in log space: 1e-3 twice spreads around 1e-3.
        let j = jitter_log(vec![
            (1e-3, 1.0, false),
            (1e-3, 2.0, false),
            (1.0, 0.0, true),
        ]);
        assert!(
            j[0].0 < 1e-3 && j[1].0 > 1e-3 && j[0].0 > 5e-4 && j[1].0 < 2e-3,
            "{j:?}"
        );
        assert_eq!(j[2].0, 1.0);
    }
}
