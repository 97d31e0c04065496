//! Number and time formatting for axes, legends and tooltips.

/// A value with SI prefixes and at most 3 significant decimals: `1.23k`, `45.6M`, `0.012`.
pub fn si(v: f64) -> String {
    si_with(v, None)
}

/// [`si`] with Grafana's `decimals`: exactly that many digits after the point when given.
pub fn si_with(v: f64, decimals: Option<u32>) -> String {
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
    if let Some(d) = decimals {
        return format!("{scaled:.*}{suffix}", d as usize);
    }
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

/// What a panel's values measure, as Grafana's unit ids name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Plain numbers with SI prefixes.
    Short,
    /// Seconds, shown as µs/ms/s/min/h.
    Seconds,
    /// Milliseconds, shown like seconds.
    Milliseconds,
    /// Bytes with IEC prefixes (KiB, MiB, ...).
    Bytes,
    /// A ratio 0..1 shown as a percentage.
    PercentUnit,
    /// Already a percentage (0..100).
    Percent,
    /// Bits per second with SI prefixes.
    BitsPerSecond,
    /// Bytes per second with IEC prefixes.
    BytesPerSecond,
    /// The number as it is, no prefix.
    None,
    RequestsPerSecond,
    /// CPU seconds per second.
    Cores,
}

impl Unit {
    /// Grafana's unit id for it (`fieldConfig.defaults.unit`); unknown ids are `short`.
    pub fn from_id(id: &str) -> Unit {
        match id {
            "s" | "dtdurations" => Unit::Seconds,
            "ms" => Unit::Milliseconds,
            "bytes" | "decbytes" => Unit::Bytes,
            "Bps" | "binBps" => Unit::BytesPerSecond,
            "bps" | "binbps" => Unit::BitsPerSecond,
            "percentunit" => Unit::PercentUnit,
            "percent" => Unit::Percent,
            "reqps" | "rps" | "ops" => Unit::RequestsPerSecond,
            "none" => Unit::None,
            "cores" => Unit::Cores,
            _ => Unit::Short,
        }
    }

    /// Grafana's unit id.
    pub fn id(self) -> &'static str {
        match self {
            Unit::Short => "short",
            Unit::Seconds => "s",
            Unit::Milliseconds => "ms",
            Unit::Bytes => "bytes",
            Unit::PercentUnit => "percentunit",
            Unit::Percent => "percent",
            Unit::BitsPerSecond => "bps",
            Unit::BytesPerSecond => "Bps",
            Unit::None => "none",
            Unit::RequestsPerSecond => "reqps",
            Unit::Cores => "cores",
        }
    }
}

/// A value in its unit, short enough for an axis or a legend.
pub fn value(v: f64, unit: Unit) -> String {
    value_with(v, unit, None)
}

/// A number with `digits` decimals (Grafana's `decimals` when given), trailing zeros trimmed
/// only when it was not.
fn fixed(v: f64, digits: usize, decimals: Option<u32>) -> String {
    match decimals {
        Some(d) => format!("{v:.*}", d as usize),
        None => trim(format!("{v:.digits$}")),
    }
}

/// [`value`] with Grafana's `decimals`: exactly that many digits after the scaled value's point.
pub fn value_with(v: f64, unit: Unit, decimals: Option<u32>) -> String {
    if !v.is_finite() {
        return si(v);
    }
    match unit {
        Unit::Short => si_with(v, decimals),
        Unit::None => match decimals {
            Some(d) => format!("{v:.*}", d as usize),
            None => format!("{v}"),
        },
        Unit::RequestsPerSecond => format!("{} req/s", si_with(v, decimals)),
        Unit::BitsPerSecond => format!("{}b/s", si_with(v, decimals)),
        Unit::Cores => format!("{} cores", si_with(v, decimals)),
        Unit::Milliseconds => value_with(v / 1e3, Unit::Seconds, decimals),
        Unit::Percent => value_with(v / 100.0, Unit::PercentUnit, decimals),
        Unit::BytesPerSecond => format!("{}/s", value_with(v, Unit::Bytes, decimals)),
        Unit::PercentUnit => {
            let p = v * 100.0;
            let digits = if p.abs() >= 10.0 {
                1
            } else if p.abs() >= 1.0 {
                2
            } else {
                3
            };
            format!("{}%", fixed(p, digits, decimals))
        }
        Unit::Bytes => {
            let a = v.abs();
            let (div, suffix) = match a {
                a if a >= (1u64 << 40) as f64 => ((1u64 << 40) as f64, "TiB"),
                a if a >= (1u64 << 30) as f64 => ((1u64 << 30) as f64, "GiB"),
                a if a >= (1u64 << 20) as f64 => ((1u64 << 20) as f64, "MiB"),
                a if a >= 1024.0 => (1024.0, "KiB"),
                _ => (1.0, "B"),
            };
            format!("{} {suffix}", fixed(v / div, 2, decimals))
        }
        Unit::Seconds => {
            let a = v.abs();
            if a == 0.0 {
                "0 s".into()
            } else if a < 1e-3 {
                format!("{} µs", fixed(v * 1e6, 1, decimals))
            } else if a < 1.0 {
                format!("{} ms", fixed(v * 1e3, 1, decimals))
            } else if a < 60.0 {
                format!("{} s", fixed(v, 2, decimals))
            } else if a < 3600.0 {
                format!("{} min", fixed(v / 60.0, 1, decimals))
            } else {
                format!("{} h", fixed(v / 3600.0, 1, decimals))
            }
        }
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
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
    fn units_scale() {
        assert_eq!(value(0.0123, Unit::Seconds), "12.3 ms");
        assert_eq!(value(0.0000042, Unit::Seconds), "4.2 µs");
        assert_eq!(value(90.0, Unit::Seconds), "1.5 min");
        assert_eq!(value(268_435_456.0, Unit::Bytes), "256 MiB");
        assert_eq!(value(0.0525, Unit::PercentUnit), "5.25%");
        assert_eq!(value(87.26, Unit::Percent), "87.3%");
        assert_eq!(value(1500.0, Unit::RequestsPerSecond), "1.5k req/s");
        assert_eq!(value(f64::NAN, Unit::Bytes), "NaN");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn grafana_unit_ids_and_decimals() {
        assert_eq!(value(250.0, Unit::from_id("ms")), "250 ms");
        assert_eq!(value(42.0, Unit::from_id("percent")), "42%");
        assert_eq!(
            value(3.0 * 1024.0 * 1024.0, Unit::from_id("Bps")),
            "3 MiB/s"
        );
        assert_eq!(value(1500.0, Unit::from_id("bps")), "1.5kb/s");
        assert_eq!(Unit::from_id("no-such-unit"), Unit::Short);
        assert_eq!(value_with(0.0525, Unit::PercentUnit, Some(0)), "5%");
        assert_eq!(value_with(1234.0, Unit::Short, Some(2)), "1.23k");
        assert_eq!(value_with(1.0, Unit::Seconds, Some(2)), "1.00 s");
        assert_eq!(value_with(1536.0, Unit::Bytes, Some(1)), "1.5 KiB");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn clock_wraps_days() {
        assert_eq!(clock(0, 0), "00:00:00");
        assert_eq!(clock(3_723_000, 60), "02:02:03");
        assert_eq!(clock(-1000, 0), "23:59:59");
    }
}
