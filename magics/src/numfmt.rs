//! Numbers as a person reads them in tables and on axes: a few significant
//! digits, no trailing zeros, scientific notation only for very small or
//! very large magnitudes. No IO.

/// `v` with at most `digits` significant digits (1..=17): `0.8731`,
/// `1200`, `20000`, `1.235e4` (for 12345.678: a whole number is written
/// out only when its digits past `digits` are zeros), `1e-4`, `2.154e-4`,
/// `3.5e7`; `0` only for zero itself (`-0` for negative zero, which a
/// result may hold), `NaN`, `inf`, `-inf` as such.
pub fn sig(v: f64, digits: usize) -> String {
    let digits = digits.clamp(1, 17);
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let magnitude = v.abs().log10().floor();
    // A whole number with more digits than `digits` shows them all only
    // when the rest are zeros (20000, not 12346 for 12345.678).
    let exact_above = magnitude >= digits as f64 && {
        let unit = 10f64.powf(magnitude - digits as f64 + 1.0);
        (v / unit).fract() == 0.0
    };
    if !(-4.0..7.0).contains(&magnitude) || (magnitude >= digits as f64 && !exact_above) {
        let text = format!("{:.*e}", digits - 1, v);
        return match text.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa)),
            None => text,
        };
    }
    let decimals = (digits as f64 - 1.0 - magnitude).max(0.0) as usize;
    trim_zeros(&format!("{v:.decimals$}"))
}

/// A JSON number as `sig` writes it; integers stay whole (`12345678`).
pub fn json_number(n: &serde_json::Number, digits: usize) -> String {
    if n.is_f64() {
        n.as_f64().map_or_else(|| n.to_string(), |f| sig(f, digits))
    } else {
        n.to_string()
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// The fewest significant digits, from `min` up to 17, at which the
/// different finite `values` all read differently with [`sig`] (`1.0001`
/// and `1.0002` need 5, not 4).
pub fn distinguishing_digits(values: impl Iterator<Item = f64>, min: usize) -> usize {
    let mut distinct: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    (min.clamp(1, 17)..=17)
        .find(|&d| {
            let mut texts: Vec<String> = distinct.iter().map(|&v| sig(v, d)).collect();
            texts.dedup();
            texts.len() == distinct.len()
        })
        .unwrap_or(17)
}

/// Significant digits value by value, from `min` up to 17: each finite
/// value gets the fewest at which it reads apart from its nearest
/// different values (the others of a near-tie too), so one near-tie does
/// not print a whole column in full. Sorted by value, for
/// [`ValueDigits::of`].
#[derive(Debug, Clone, Default)]
pub struct ValueDigits {
    sorted: Vec<(f64, usize)>,
    min: usize,
}

impl ValueDigits {
    /// The digits each of `values` needs.
    pub fn new(values: impl Iterator<Item = f64>, min: usize) -> ValueDigits {
        let mut distinct: Vec<f64> = values.filter(|v| v.is_finite()).collect();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        let min = min.clamp(1, 17);
        let apart = |a: f64, b: f64| (min..=17).find(|&d| sig(a, d) != sig(b, d)).unwrap_or(17);
        let sorted = distinct
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let before = i.checked_sub(1).map_or(min, |j| apart(distinct[j], v));
                let after = distinct.get(i + 1).map_or(min, |&w| apart(v, w));
                (v, before.max(after))
            })
            .collect();
        ValueDigits { sorted, min }
    }

    /// The digits `v` needs (`min` for a value not among them).
    pub fn of(&self, v: f64) -> usize {
        self.sorted
            .binary_search_by(|(x, _)| x.total_cmp(&v))
            .map_or(self.min, |i| self.sorted[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_tie_gets_its_digits_and_the_others_keep_theirs() {
        let values = [
            38.072_035_063_204_55,
            38.072_035_063_204_56,
            12.5,
            7.125_678_9,
        ];
        let d = ValueDigits::new(values.iter().copied(), 4);
        assert_eq!(sig(values[0], d.of(values[0])), "38.07203506320455");
        assert_eq!(sig(values[1], d.of(values[1])), "38.07203506320456");
        assert_eq!(sig(12.5, d.of(12.5)), "12.5");
        assert_eq!(sig(7.125_678_9, d.of(7.125_678_9)), "7.126");
        assert_eq!(d.of(f64::NAN), 4);
    }

    #[test]
    fn significant_digits_without_noise() {
        assert_eq!(sig(0.873_145_926_535_9, 4), "0.8731");
        assert_eq!(sig(0.1, 4), "0.1");
        assert_eq!(sig(1200.0, 4), "1200");
        assert_eq!(sig(12_345.678, 4), "1.235e4");
        assert_eq!(sig(123_456.7, 4), "1.235e5");
        assert_eq!(sig(20_000.0, 4), "20000");
        assert_eq!(sig(12_340.0, 4), "12340");
        assert_eq!(sig(9999.0, 4), "9999");
        assert_eq!(sig(1000.0, 3), "1000");
        assert_eq!(sig(-0.0, 4), "-0");
        assert_eq!(sig(18_446_744_073_709_551_615.0, 4), "1.845e19");
        assert_eq!(sig(0.000_215_443_469, 4), "0.0002154");
        assert_eq!(sig(0.000_021_544_346_9, 4), "2.154e-5");
        assert_eq!(sig(1e-4, 4), "0.0001");
        assert_eq!(sig(1e-7, 3), "1e-7");
        assert_eq!(sig(3.5e7, 4), "3.5e7");
        assert_eq!(sig(-2.5, 4), "-2.5");
        assert_eq!(sig(0.0, 4), "0");
        assert_eq!(sig(f64::NAN, 4), "NaN");
        assert_eq!(sig(f64::NEG_INFINITY, 4), "-inf");
        let n: serde_json::Number = serde_json::from_str("12345678").expect("a number");
        assert_eq!(json_number(&n, 4), "12345678");
        let f: serde_json::Number = serde_json::from_str("0.91234567891").expect("a number");
        assert_eq!(json_number(&f, 4), "0.9123");
    }
}
