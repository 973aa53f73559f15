//! The Gantt chart's time axis: which ticks to draw over a span of
//! seconds and in which unit (ms under a second, s under two minutes,
//! min under two hours, then h), so a run of 40 ms reads `0 10 20 30 40`
//! in ms rather than `0.0 0.0 0.0`. Ticks are round (1, 2 or 5 × 10^k of
//! the unit) and distinct; at most about eight. No IO.

/// The unit the axis reads in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Milliseconds: spans under a second.
    Ms,
    /// Seconds: spans under two minutes.
    S,
    /// Minutes: spans under two hours.
    Min,
    /// Hours.
    H,
}

impl TimeUnit {
    /// The unit that fits a span of `span_s` seconds.
    pub fn fitting(span_s: f64) -> TimeUnit {
        if span_s < 1.0 {
            TimeUnit::Ms
        } else if span_s < 120.0 {
            TimeUnit::S
        } else if span_s < 7200.0 {
            TimeUnit::Min
        } else {
            TimeUnit::H
        }
    }

    /// Seconds in one unit.
    pub fn seconds(self) -> f64 {
        match self {
            TimeUnit::Ms => 1e-3,
            TimeUnit::S => 1.0,
            TimeUnit::Min => 60.0,
            TimeUnit::H => 3600.0,
        }
    }

    /// The axis caption: `ms since the first submit`, ….
    pub fn caption(self) -> &'static str {
        match self {
            TimeUnit::Ms => "ms since the first submit",
            TimeUnit::S => "seconds since the first submit",
            TimeUnit::Min => "minutes since the first submit",
            TimeUnit::H => "hours since the first submit",
        }
    }
}

/// One tick: where it is (seconds since the origin) and what it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Seconds since the first submit.
    pub at_s: f64,
    /// Its label in the axis's unit, as many decimals as the step needs.
    pub label: String,
}

/// The ticks over `[0, span_s]` (seconds; a non-finite or non-positive
/// span is read as 1 ms) and their unit.
pub fn ticks(span_s: f64) -> (Vec<Tick>, TimeUnit) {
    let span_s = if span_s.is_finite() && span_s > 0.0 {
        span_s
    } else {
        1e-3
    };
    let unit = TimeUnit::fitting(span_s);
    let span = span_s / unit.seconds();
    let step = nice_step(span / 8.0);
    // Decimals the step needs: 0.5 -> 1, 0.02 -> 2, 5 -> 0.
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let count = (span / step + 1e-6).floor() as usize;
    let ticks = (0..=count)
        .map(|k| {
            let v = k as f64 * step;
            Tick {
                at_s: v * unit.seconds(),
                label: format!("{v:.decimals$}"),
            }
        })
        .collect();
    (ticks, unit)
}

/// 1, 2 or 5 × 10^k at least `raw` (`raw` positive and finite).
pub fn nice_step(raw: f64) -> f64 {
    let raw = if raw.is_finite() && raw > 0.0 {
        raw
    } else {
        1.0
    };
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(span: f64) -> (Vec<String>, TimeUnit) {
        let (t, u) = ticks(span);
        (t.into_iter().map(|t| t.label).collect(), u)
    }

    #[test]
    fn sub_second_runs_read_in_distinct_ms() {
        let (l, u) = labels(0.043);
        assert_eq!(u, TimeUnit::Ms);
        assert_eq!(l, ["0", "10", "20", "30", "40"]);
        let (l, u) = labels(0.0008);
        assert_eq!(u, TimeUnit::Ms);
        let mut d = l.clone();
        d.dedup();
        assert_eq!(d, l, "distinct");
        assert_eq!(l[1], "0.1");
    }

    #[test]
    fn longer_runs_read_in_s_min_h_with_few_ticks() {
        assert_eq!(
            labels(22.0),
            (
                ["0", "5", "10", "15", "20"].map(String::from).to_vec(),
                TimeUnit::S
            )
        );
        assert_eq!(labels(1.5).0[..3], ["0.0", "0.2", "0.4"]);
        assert_eq!(labels(600.0).1, TimeUnit::Min);
        assert_eq!(labels(86_400.0).1, TimeUnit::H);
        for span in [1e-6, 0.3, 7.0, 99.0, 3000.0, 1e6, f64::NAN, 0.0] {
            let (t, _) = ticks(span);
            assert!((2..=10).contains(&t.len()), "{span}: {}", t.len());
        }
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(33.0), 50.0);
    }
}
