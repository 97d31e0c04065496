//! Prometheus HTTP API JSON (`/api/v1/query`, `/api/v1/query_range`) for the command-line tools.
//! Written by hand to match Prometheus byte for byte: Go's string escaping (including `<`, `>`,
//! `&`), timestamps as seconds with up to three decimals, values as strings in Go's `'f'` format.

use std::fmt::Write as _;

use lookout_promql::{Annotation, AnnotationKind, Value};
use lookout_tsdb::Labels;

/// A JSON string literal as Go's `encoding/json` writes it.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Milliseconds as Prometheus's `MarshalTimestamp`: `1700000000`, `1.5` written `1.500`.
pub fn timestamp(out: &mut String, t: i64) {
    let mut t = t;
    if t < 0 {
        out.push('-');
        t = -t;
    }
    let _ = write!(out, "{}", t / 1000);
    let frac = t % 1000;
    if frac != 0 {
        let _ = write!(out, ".{frac:03}");
    }
}

/// A sample value as Prometheus writes it: `strconv.FormatFloat(v, 'f', -1, 64)`, quoted.
pub fn value(out: &mut String, v: f64) {
    out.push('"');
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
    out.push('"');
}

fn point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    timestamp(out, t);
    out.push(',');
    value(out, v);
    out.push(']');
}

fn metric(out: &mut String, l: &Labels) {
    out.push('{');
    for (i, (n, v)) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, n);
        out.push(':');
        string(out, v);
    }
    out.push('}');
}

/// `"resultType":...,"result":...` for a value.
pub fn result(out: &mut String, v: &Value) {
    out.push_str("\"resultType\":");
    string(out, v.type_name());
    out.push_str(",\"result\":");
    match v {
        // Scalars and strings marshal their time as a plain JSON float, unlike samples.
        Value::Scalar { t, v } => {
            let _ = write!(out, "[{},", *t as f64 / 1000.0);
            value(out, *v);
            out.push(']');
        }
        Value::String { t, v } => {
            let _ = write!(out, "[{}", *t as f64 / 1000.0);
            out.push(',');
            string(out, v);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                metric(out, &s.labels);
                out.push_str(",\"value\":");
                point(out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                metric(out, &s.labels);
                out.push_str(",\"values\":[");
                for (k, (t, v)) in s.points.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    point(out, *t, *v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
}

/// Timing and sample counters for `--stats` (Prometheus's `stats=all` shape).
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub eval_seconds: f64,
    pub samples: usize,
}

/// The whole success body.
pub fn success(v: &Value, annotations: &[Annotation], query: &str, stats: Option<Stats>) -> String {
    let mut out = String::from("{\"status\":\"success\",\"data\":{");
    result(&mut out, v);
    if let Some(s) = stats {
        let _ = write!(
            out,
            ",\"stats\":{{\"timings\":{{\"evalTotalTime\":{e},\"resultSortTime\":0,\"queryPreparationTime\":0,\"innerEvalTime\":{e},\"execQueueTime\":0,\"execTotalTime\":{e}}},\"samples\":{{\"totalQueryableSamples\":{n},\"peakSamples\":{n}}}}}",
            e = s.eval_seconds,
            n = s.samples
        );
    }
    out.push('}');
    for (kind, key) in [
        (AnnotationKind::Warning, "warnings"),
        (AnnotationKind::Info, "infos"),
    ] {
        let texts: Vec<String> = annotations
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| a.render(query))
            .collect();
        if texts.is_empty() {
            continue;
        }
        let _ = write!(out, ",\"{key}\":[");
        for (i, t) in texts.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            string(&mut out, t);
        }
        out.push(']');
    }
    out.push('}');
    out
}

/// An error body: `errorType` is `bad_data` for parse errors, `execution` otherwise.
pub fn error(kind: &str, message: &str) -> String {
    let mut out = String::from("{\"status\":\"error\",\"errorType\":");
    string(&mut out, kind);
    out.push_str(",\"error\":");
    string(&mut out, message);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings_as_prometheus_writes_them() {
        let mut s = String::new();
        timestamp(&mut s, 1_700_000_000_120);
        s.push(' ');
        timestamp(&mut s, 5_000);
        s.push(' ');
        value(&mut s, 1e-7);
        s.push(' ');
        value(&mut s, f64::NEG_INFINITY);
        s.push(' ');
        string(&mut s, "a<b>&\"\n");
        assert_eq!(
            s,
            r#"1700000000.120 5 "0.0000001" "-Inf" "a\u003cb\u003e\u0026\"\n""#
        );
    }
}
