//! The Prometheus text exposition format (0.0.4) and OpenMetrics 1.0 text: a zero-copy parser.
//!
//! The relay parses scrapes with it and the PromQL tools load OpenMetrics files with it, so it
//! lives once, here, with no I/O.
//!
//! ```
//! use lookout_tsdb::exposition::{Entry, Parser};
//!
//! let body = "# TYPE up gauge\nup{job=\"api\"} 1 1700000000000\n";
//! let mut p = Parser::new(body);
//! assert!(matches!(p.next(), Some(Ok(Entry::Type { .. }))));
//! let Some(Ok(Entry::Sample(s))) = p.next() else { panic!() };
//! assert_eq!((s.name, s.value, s.timestamp), ("up", 1.0, Some(1_700_000_000_000)));
//! ```

use std::borrow::Cow;
use std::fmt;

/// The declared type of a metric family (`# TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

impl MetricType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "gaugehistogram" => MetricType::GaugeHistogram,
            "summary" => MetricType::Summary,
            "info" => MetricType::Info,
            "stateset" => MetricType::StateSet,
            "untyped" | "unknown" => MetricType::Unknown,
            _ => return None,
        })
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    /// The series as written (`name{labels}`, up to the value), a stable key for caches.
    pub series: &'a str,
    /// Label pairs in the order written; values unescaped (borrowed unless they had escapes).
    pub labels: Vec<(&'a str, Cow<'a, str>)>,
    pub value: f64,
    /// Milliseconds. The text format writes milliseconds; OpenMetrics writes seconds (converted).
    pub timestamp: Option<i64>,
    /// An OpenMetrics exemplar written after the sample.
    pub exemplar: Option<Exemplar<'a>>,
}

/// An OpenMetrics exemplar (`# {trace_id="..."} 0.5 1700000000`).
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar<'a> {
    pub labels: Vec<(&'a str, Cow<'a, str>)>,
    pub value: f64,
    /// Milliseconds.
    pub timestamp: Option<i64>,
}

/// One meaningful line of a body.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    Help { family: &'a str, text: Cow<'a, str> },
    Type { family: &'a str, kind: MetricType },
    Unit { family: &'a str, unit: &'a str },
    Sample(Sample<'a>),
}

/// A parse failure: the 1-based line and what was wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub kind: ParseErrorKind,
}

/// What was wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    InvalidMetricName,
    InvalidLabelName,
    UnterminatedLabelValue,
    InvalidEscape,
    ExpectedChar(char),
    InvalidValue(String),
    InvalidTimestamp(String),
    InvalidType(String),
    TrailingGarbage,
    ContentAfterEof,
    InvalidExemplar,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            ParseErrorKind::InvalidMetricName => f.write_str("invalid metric name"),
            ParseErrorKind::InvalidLabelName => f.write_str("invalid label name"),
            ParseErrorKind::UnterminatedLabelValue => f.write_str("unterminated label value"),
            ParseErrorKind::InvalidEscape => f.write_str("invalid escape sequence in label value"),
            ParseErrorKind::ExpectedChar(c) => write!(f, "expected {c:?}"),
            ParseErrorKind::InvalidValue(v) => write!(f, "invalid value {v:?}"),
            ParseErrorKind::InvalidTimestamp(v) => write!(f, "invalid timestamp {v:?}"),
            ParseErrorKind::InvalidType(v) => write!(f, "invalid metric type {v:?}"),
            ParseErrorKind::TrailingGarbage => f.write_str("unexpected text after the sample"),
            ParseErrorKind::ContentAfterEof => f.write_str("content after # EOF"),
            ParseErrorKind::InvalidExemplar => f.write_str("invalid exemplar"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Iterates the entries of a body. Stops after the first error.
#[derive(Debug)]
pub struct Parser<'a> {
    rest: &'a str,
    line: usize,
    openmetrics: bool,
    done: bool,
}

impl<'a> Parser<'a> {
    /// A parser for the Prometheus text format.
    pub fn new(body: &'a str) -> Self {
        Parser {
            rest: body,
            line: 0,
            openmetrics: false,
            done: false,
        }
    }

    /// A parser for OpenMetrics text (timestamps in seconds, `# EOF`).
    pub fn openmetrics(body: &'a str) -> Self {
        Parser {
            openmetrics: true,
            ..Parser::new(body)
        }
    }

    fn err(&mut self, kind: ParseErrorKind) -> Option<Result<Entry<'a>, ParseError>> {
        self.done = true;
        Some(Err(ParseError {
            line: self.line,
            kind,
        }))
    }

    fn parse_comment(&mut self, line: &'a str) -> Option<Result<Entry<'a>, ParseError>> {
        let body = line[1..].trim_start_matches([' ', '\t']);
        let (keyword, rest) = split_word(body);
        match keyword {
            "EOF" if rest.trim().is_empty() => {
                self.done = true;
                if self.rest.trim().is_empty() {
                    None
                } else {
                    self.err(ParseErrorKind::ContentAfterEof)
                }
            }
            "HELP" | "TYPE" | "UNIT" => {
                let (family, text) = split_word(rest.trim_start_matches([' ', '\t']));
                if !is_metric_name(family) {
                    return self.err(ParseErrorKind::InvalidMetricName);
                }
                let text = text.strip_prefix([' ', '\t']).unwrap_or(text);
                Some(Ok(match keyword {
                    "HELP" => Entry::Help {
                        family,
                        text: unescape_help(text),
                    },
                    "TYPE" => match MetricType::parse(text.trim()) {
                        Some(kind) => Entry::Type { family, kind },
                        None => {
                            return self.err(ParseErrorKind::InvalidType(text.trim().to_owned()));
                        }
                    },
                    _ => Entry::Unit {
                        family,
                        unit: text.trim(),
                    },
                }))
            }
            // Any other comment is ignored.
            _ => self.next(),
        }
    }

    fn parse_sample(&mut self, line: &'a str) -> Result<Sample<'a>, ParseErrorKind> {
        let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
        let name = &line[..name_end];
        if !is_metric_name(name) {
            return Err(ParseErrorKind::InvalidMetricName);
        }
        let (labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(r) => parse_labels(r)?,
            None => (Vec::new(), &line[name_end..]),
        };
        let series = &line[..line.len() - rest.len()];
        let rest = rest.trim_start_matches([' ', '\t']);
        let (value_s, rest) = split_word(rest);
        let value =
            parse_value(value_s).ok_or_else(|| ParseErrorKind::InvalidValue(value_s.to_owned()))?;
        let mut rest = rest.trim_start_matches([' ', '\t']);
        let mut timestamp = None;
        if !rest.is_empty() && !(self.openmetrics && rest.starts_with('#')) {
            let (ts_s, r) = split_word(rest);
            timestamp = Some(parse_timestamp(ts_s, self.openmetrics)?);
            rest = r.trim_start_matches([' ', '\t']);
        }
        let mut exemplar = None;
        if !rest.is_empty() {
            // Only OpenMetrics has exemplars: `# {labels} value [timestamp]`.
            let Some(r) = rest.strip_prefix('#').filter(|_| self.openmetrics) else {
                return Err(ParseErrorKind::TrailingGarbage);
            };
            let r = r.trim_start_matches([' ', '\t']);
            let r = r.strip_prefix('{').ok_or(ParseErrorKind::InvalidExemplar)?;
            let (ex_labels, r) = parse_labels(r).map_err(|_| ParseErrorKind::InvalidExemplar)?;
            let (v, r) = split_word(r.trim_start_matches([' ', '\t']));
            let ex_value = parse_value(v).ok_or(ParseErrorKind::InvalidExemplar)?;
            let (t, r) = split_word(r.trim_start_matches([' ', '\t']));
            let ex_ts = if t.is_empty() {
                None
            } else {
                Some(parse_timestamp(t, true).map_err(|_| ParseErrorKind::InvalidExemplar)?)
            };
            if !r.trim().is_empty() {
                return Err(ParseErrorKind::TrailingGarbage);
            }
            exemplar = Some(Exemplar {
                labels: ex_labels,
                value: ex_value,
                timestamp: ex_ts,
            });
        }
        Ok(Sample {
            name,
            series,
            labels,
            value,
            timestamp,
            exemplar,
        })
    }
}

/// Label pairs after the opening `{`; returns them and the text after the closing `}`.
#[allow(clippy::type_complexity)]
fn parse_labels(mut rest: &str) -> Result<(Vec<(&str, Cow<'_, str>)>, &str), ParseErrorKind> {
    let mut labels = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let n_end = rest
            .bytes()
            .position(|c| !(c.is_ascii_alphanumeric() || c == b'_'))
            .unwrap_or(rest.len());
        let lname = &rest[..n_end];
        if !is_label_name(lname) {
            return Err(ParseErrorKind::InvalidLabelName);
        }
        rest = rest[n_end..].trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('=')
            .ok_or(ParseErrorKind::ExpectedChar('='))?;
        rest = rest.trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('"')
            .ok_or(ParseErrorKind::ExpectedChar('"'))?;
        let (value, r) = label_value(rest)?;
        labels.push((lname, value));
        rest = r.trim_start_matches([' ', '\t']);
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err(ParseErrorKind::ExpectedChar('}'));
        }
    }
}

/// Milliseconds from a timestamp: integer ms in the text format, float seconds in OpenMetrics.
fn parse_timestamp(s: &str, openmetrics: bool) -> Result<i64, ParseErrorKind> {
    let bad = || ParseErrorKind::InvalidTimestamp(s.to_owned());
    if openmetrics {
        let secs: f64 = s.parse().map_err(|_| bad())?;
        if !secs.is_finite() || secs.abs() > 9.2e15 {
            return Err(bad());
        }
        Ok((secs * 1000.0).round() as i64)
    } else {
        s.parse().map_err(|_| bad())
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done || self.rest.is_empty() {
                return None;
            }
            let (line, rest) = match self.rest.find('\n') {
                Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
                None => (self.rest, ""),
            };
            self.rest = rest;
            self.line += 1;
            let line = line
                .strip_suffix('\r')
                .unwrap_or(line)
                .trim_start_matches([' ', '\t']);
            if line.is_empty() {
                continue;
            }
            if line.starts_with('#') {
                return self.parse_comment(line);
            }
            return match self.parse_sample(line) {
                Ok(s) => Some(Ok(Entry::Sample(s))),
                Err(kind) => self.err(kind),
            };
        }
    }
}

fn split_word(s: &str) -> (&str, &str) {
    let end = s.find([' ', '\t']).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads a label value after its opening quote; returns it and the text after the closing quote.
fn label_value(s: &str) -> Result<(Cow<'_, str>, &str), ParseErrorKind> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut owned: Option<String> = None;
    let mut start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let value = match owned {
                    Some(mut o) => {
                        o.push_str(&s[start..i]);
                        Cow::Owned(o)
                    }
                    None => Cow::Borrowed(&s[..i]),
                };
                return Ok((value, &s[i + 1..]));
            }
            b'\\' => {
                let o = owned.get_or_insert_with(String::new);
                o.push_str(&s[start..i]);
                match bytes.get(i + 1) {
                    Some(b'n') => o.push('\n'),
                    Some(b'\\') => o.push('\\'),
                    Some(b'"') => o.push('"'),
                    _ => return Err(ParseErrorKind::InvalidEscape),
                }
                i += 2;
                start = i;
            }
            _ => i += 1,
        }
    }
    Err(ParseErrorKind::UnterminatedLabelValue)
}

fn unescape_help(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Go's ParseFloat as Prometheus uses it: also `NaN`, `+Inf`, `-Inf`, `Inf` in any case.
fn parse_value(s: &str) -> Option<f64> {
    // Plain decimals are most values: the slow checks only run for the rest.
    let b = s.as_bytes();
    if !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return s.parse().ok();
    }
    if s.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    if s.eq_ignore_ascii_case("+inf") || s.eq_ignore_ascii_case("inf") {
        return Some(f64::INFINITY);
    }
    if s.eq_ignore_ascii_case("-inf") {
        return Some(f64::NEG_INFINITY);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(body: &str) -> Result<Vec<Sample<'_>>, ParseError> {
        Parser::new(body)
            .filter_map(|e| match e {
                Ok(Entry::Sample(s)) => Some(Ok(s)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect()
    }

    #[test]
    fn parses_labels_escapes_and_special_values() {
        let body = "# HELP x A \\n help\n# TYPE x counter\nx{a=\"1\",b=\"q\\\"\\\\\\n\",} +Inf 12\ny NaN\nz -1.5e3\n";
        let s = samples(body).unwrap();
        assert_eq!(
            s[0].labels,
            vec![
                ("a", Cow::Borrowed("1")),
                ("b", Cow::Owned("q\"\\\n".to_owned()))
            ]
        );
        assert_eq!((s[0].value, s[0].timestamp), (f64::INFINITY, Some(12)));
        assert!(s[1].value.is_nan());
        assert_eq!(s[2].value, -1500.0);
    }

    #[test]
    fn errors_name_the_line() {
        let e = samples("ok 1\nbad{a=1} 2\n").unwrap_err();
        assert_eq!(
            e,
            ParseError {
                line: 2,
                kind: ParseErrorKind::ExpectedChar('"')
            }
        );
        assert!(samples("x 1 2 3\n").is_err());
        assert!(samples("x abc\n").is_err());
        assert!(samples("x{a=\"b} 1\n").is_err());
    }

    #[test]
    fn openmetrics_seconds_exemplars_and_eof() {
        let body = "a_total 3 1.5 # {trace=\"x\"} 1\n# EOF\n";
        let v: Vec<_> = Parser::openmetrics(body).collect::<Result<_, _>>().unwrap();
        let Entry::Sample(s) = &v[0] else {
            panic!("not a sample")
        };
        assert_eq!(s.timestamp, Some(1500));
        assert_eq!(s.exemplar.as_ref().map(|e| e.value), Some(1.0));
        assert!(Parser::openmetrics("# EOF\nx 1\n").any(|e| e.is_err()));
        // An exemplar without a sample timestamp, and `_created` series, are samples too.
        let body = "c_total 3 # {trace_id=\"a\"} 1 1.25\nc_created 1700000000\n# EOF\n";
        let v: Vec<_> = Parser::openmetrics(body).collect::<Result<_, _>>().unwrap();
        let Entry::Sample(s) = &v[0] else {
            panic!("not a sample")
        };
        assert_eq!(
            (s.timestamp, s.exemplar.as_ref().and_then(|e| e.timestamp)),
            (None, Some(1250))
        );
        assert!(matches!(&v[1], Entry::Sample(s) if s.name == "c_created"));
        assert!(Parser::openmetrics("x 1 # nope\n").any(|e| e.is_err()));
        assert!(Parser::new("x 1 # {a=\"b\"} 1\n").any(|e| e.is_err()));
    }

    proptest::proptest! {
        /// What `fuzz/fuzz_targets/exposition.rs` checks, on every `cargo test`: no body makes
        /// the parser panic, it stops at its first error, and the error names a real line.
        #[test]
        fn any_body_parses_or_fails_cleanly(
            body in "(([a-z_]{1,4}(\\{[a-z]{1,3}=\"[^\"\n]{0,4}\"(,[a-z]=\"\\\\?.\"){0,2},?\\})? [-+0-9.eEInfa]{1,6}( [0-9.]{1,4})?( # \\{[a-z]=\"x\"\\} 1)?|# (HELP|TYPE|UNIT|EOF) ?[a-z ]{0,8}|.{0,12})\n){0,8}"
        ) {
            let lines = body.split('\n').count();
            for parser in [Parser::new(&body), Parser::openmetrics(&body)] {
                let mut errors = 0;
                for e in parser {
                    if let Err(e) = e {
                        errors += 1;
                        proptest::prop_assert!(e.line >= 1 && e.line <= lines);
                    }
                }
                proptest::prop_assert!(errors <= 1);
            }
        }
    }
}
