//! Number and time formatting for axes, legends and tooltips.

/// A value with SI prefixes and at most 3 significant decimals: `1.23k`, `45.6M`, `0.012`.
pub fn si(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let a = v.abs();
    let (scaled, suffix) = match a {
        a if a >= 1e12 => (v / 1e12, "T"),
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let s = if scaled.fract() == 0.0 {
        format!("{scaled}")
    } else if scaled.abs() >= 100.0 {
        format!("{scaled:.1}")
    } else if scaled.abs() >= 1.0 {
        format!("{scaled:.2}")
    } else {
        format!("{scaled:.3}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    format!("{s}{suffix}")
}

/// `HH:MM:SS` of a timestamp (ms), in UTC shifted by `offset_minutes` (the page's local offset).
pub fn clock(t_ms: i64, offset_minutes: i64) -> String {
    let secs = (t_ms / 1000 + offset_minutes * 60).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn si_scales_and_trims() {
        assert_eq!(si(0.0), "0");
        assert_eq!(si(1234.0), "1.23k");
        assert_eq!(si(-2_500_000.0), "-2.5M");
        assert_eq!(si(0.01234), "0.012");
        assert_eq!(si(42.0), "42");
        assert_eq!(si(f64::NAN), "NaN");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn clock_wraps_days() {
        assert_eq!(clock(0, 0), "00:00:00");
        assert_eq!(clock(3_723_000, 60), "02:02:03");
        assert_eq!(clock(-1000, 0), "23:59:59");
    }
}
