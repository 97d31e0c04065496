//! Prometheus's duration (`1h30m`, `15s`, `500ms`, `2d`) and byte-size (`10MB`, `512KiB`)
//! syntaxes, and their serde adapters for the config structs.

use std::time::Duration;

/// Parses a Prometheus duration: units `y w d h m s ms` in that order, each at most once, e.g.
/// `1h30m`; `0` alone is zero. A year is 365 days, as in Prometheus.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let bad = || format!("not a valid duration string: {s:?}");
    let mut rest = s;
    let mut next_unit = 0;
    let mut ms: u64 = 0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let i = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(bad)?
            + next_unit;
        next_unit = i + 1;
        ms = n
            .checked_mul(UNITS[i].1)
            .and_then(|v| ms.checked_add(v))
            .ok_or_else(|| format!("duration out of range: {s:?}"))?;
    }
    Ok(Duration::from_millis(ms))
}

/// Formats a duration the way Prometheus prints one (`1m30s`, `15s`, `0s`).
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("y", 365 * 86_400_000u64),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// Parses a byte size as Prometheus's `body_size_limit` takes it: a number with an optional
/// unit `B`, `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`, `TB`/`TiB` (all powers of 1024).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let bad = || format!("not a valid byte size: {s:?}");
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..split].parse().map_err(|_| bad())?;
    let mult: u64 = match &s[split..] {
        "" | "B" => 1,
        "KB" | "KiB" => 1 << 10,
        "MB" | "MiB" => 1 << 20,
        "GB" | "GiB" => 1 << 30,
        "TB" | "TiB" => 1 << 40,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

/// Parses a scalar inside the YAML library's visitor, so an error carries the value's line and
/// field path instead of its parent's.
pub(crate) fn parse_scalar<'de, D, T>(
    d: D,
    what: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct V<T> {
        what: &'static str,
        parse: fn(&str) -> Result<T, String>,
    }
    impl<T> serde::de::Visitor<'_> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.what)
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
            (self.parse)(s).map_err(E::custom)
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<T, E> {
            (self.parse)(&n.to_string()).map_err(E::custom)
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<T, E> {
            (self.parse)(&n.to_string()).map_err(E::custom)
        }
    }
    d.deserialize_any(V { what, parse })
}

pub(crate) mod serde_duration {
    use super::*;
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        parse_scalar(d, "a duration such as 15s or 1m30s", parse_duration)
    }
}

pub(crate) mod serde_opt_duration {
    use super::*;
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        parse_scalar(d, "a duration such as 15s or 1m30s", parse_duration).map(Some)
    }
}

pub(crate) mod serde_bytes {
    use super::*;
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        parse_scalar(d, "a size such as 10MB", parse_bytes)
    }
}

pub(crate) mod serde_opt_bytes {
    use super::*;
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        parse_scalar(d, "a size such as 10MB", parse_bytes).map(Some)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_prometheus_writes_them() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "1", "15", "s", "1m1h", "1s1s", "1.5s", "-1s", "1x"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("10MB"), Ok(10 << 20));
        assert_eq!(parse_bytes("512KiB"), Ok(512 << 10));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert!(parse_bytes("10XB").is_err());
    }
}
