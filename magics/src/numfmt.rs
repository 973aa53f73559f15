//! Numbers as a person reads them in tables and on axes: a few significant
//! digits, no trailing zeros, scientific notation only for very small or
//! very large magnitudes. No IO.

/// `v` with at most `digits` significant digits (1..=17): `0.8731`,
/// `1200`, `1e-4`, `2.154e-4`, `3.5e7`; `0` only for zero itself, `NaN`,
/// `inf`, `-inf` as such.
pub fn sig(v: f64, digits: usize) -> String {
    let digits = digits.clamp(1, 17);
    if v == 0.0 {
        return "0".into();
    }
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let magnitude = v.abs().log10().floor();
    if !(-4.0..7.0).contains(&magnitude) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits_without_noise() {
        assert_eq!(sig(0.873_145_926_535_9, 4), "0.8731");
        assert_eq!(sig(0.1, 4), "0.1");
        assert_eq!(sig(1200.0, 4), "1200");
        assert_eq!(sig(12_345.678, 4), "12346");
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
