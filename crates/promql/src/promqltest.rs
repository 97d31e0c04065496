//! Runner for Prometheus's PromQL test scripts (`promql/promqltest/testdata/*.test`).
//!
//! [`run_script`] takes a script's text (the caller reads the file), loads its data into a
//! `lookout_tsdb::Store`, runs every `eval` and reports each one as passed, failed (with
//! expected vs got) or skipped. Skipped means only: the eval needs native-histogram samples,
//! which the engine does not support yet.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use lookout_tsdb::{Labels, METRIC_NAME, MatchOp, Matcher, STALE_NAN_BITS, SeriesId, Store};

use crate::ast::{Expr, format_go_float};
use crate::engine::{Engine, QueryRange};
use crate::error::{Error, ErrorKind};
use crate::functions::almost_equal;
use crate::lexer::parse_duration;
use crate::storage::{Queryable, SelectedSeries};
use crate::value::{AnnotationKind, Value};

/// What happened to one `eval`.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Passed,
    /// Why it failed: expected vs got.
    Failed(String),
    /// Needs native-histogram samples.
    Skipped,
}

/// One `eval` of a script and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// 1-based line of the `eval` command.
    pub line: usize,
    pub query: String,
    pub status: Status,
}

/// Totals over outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Summary {
    pub fn add(&mut self, outcomes: &[Outcome]) {
        for o in outcomes {
            match o.status {
                Status::Passed => self.passed += 1,
                Status::Failed(_) => self.failed += 1,
                Status::Skipped => self.skipped += 1,
            }
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// A store that also remembers where native-histogram samples would be, so queries touching
/// them are refused (and the eval is counted as skipped).
#[derive(Debug, Default)]
struct TestStorage {
    store: Store,
    histograms: HashMap<SeriesId, Vec<i64>>,
}

impl Queryable for TestStorage {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SelectedSeries>, Error> {
        Queryable::select(&self.store, matchers, mint, maxt)
    }

    fn samples(
        &self,
        id: u64,
        mint: i64,
        maxt: i64,
        out: &mut Vec<(i64, f64)>,
    ) -> Result<(), Error> {
        if let Some(ts) = self.histograms.get(&SeriesId(id as u32))
            && ts.iter().any(|t| *t >= mint && *t <= maxt)
        {
            let series = self
                .store
                .labels(SeriesId(id as u32))
                .map(|l| l.to_string())
                .unwrap_or_default();
            return Err(Error::new(ErrorKind::NativeHistogramsUnsupported {
                series,
            }));
        }
        Queryable::samples(&self.store, id, mint, maxt, out)
    }
}

/// One position of a series' value sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SeqValue {
    Omitted,
    Float(f64),
    Histogram,
}

#[derive(Debug, Default)]
struct Expectation {
    fail: bool,
    fail_msg: Option<String>,
    fail_regex: Option<lookout_tsdb::regex::Regex>,
    warn: Vec<Option<Matchable>>,
    info: Vec<Option<Matchable>>,
    no_warn: bool,
    no_info: bool,
    ordered: bool,
    scalar: Option<f64>,
    string: Option<String>,
    series: Vec<(Labels, Vec<SeqValue>)>,
    range_vector: Option<(i64, i64, i64)>,
    needs_histograms: bool,
}

#[derive(Debug)]
enum Matchable {
    Msg(String),
    Regex(lookout_tsdb::regex::Regex),
}

impl Matchable {
    fn matches(&self, s: &str) -> bool {
        match self {
            Matchable::Msg(m) => m == s,
            Matchable::Regex(r) => r.is_match(s),
        }
    }
}

/// Runs a whole script. `engine` settings are used as given (Prometheus's tests use the
/// defaults: 5m lookback, 1m default subquery step).
pub fn run_script(text: &str, engine: &Engine) -> Vec<Outcome> {
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                String::new()
            } else {
                t.to_string()
            }
        })
        .collect();
    let mut storage = TestStorage::default();
    let mut outcomes = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let word = l
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if word == "clear" {
            storage = TestStorage::default();
            i += 1;
        } else if word.starts_with("load") {
            i = load(&lines, i, &mut storage);
        } else if word.starts_with("eval") {
            let (next, outcome) = eval(&lines, i, &storage, engine);
            outcomes.push(outcome);
            i = next;
        } else {
            outcomes.push(Outcome {
                line: i + 1,
                query: l.clone(),
                status: Status::Failed(format!("invalid command {l:?}")),
            });
            i += 1;
        }
    }
    outcomes
}

fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(d) = parse_duration(s) {
        return Some(d);
    }
    if let Some(rest) = s.strip_prefix('-') {
        return parse_duration(rest).map(|d| -d).or_else(|| {
            rest.parse::<f64>()
                .ok()
                .map(|v| -(v * 1000.0).round() as i64)
        });
    }
    s.parse::<f64>().ok().map(|v| (v * 1000.0).round() as i64)
}

/// Splits a series line into its metric part and value part.
fn split_series(line: &str) -> (&str, &str) {
    let b = line.as_bytes();
    let mut depth = 0;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else if c == b'"' || c == b'\'' || c == b'`' {
            quote = Some(c);
        } else if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth -= 1;
        } else if depth == 0 && c.is_ascii_whitespace() {
            return (&line[..i], line[i..].trim());
        }
        i += 1;
    }
    (line, "")
}

fn parse_metric(s: &str) -> Result<Labels, String> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if compact == "{}" {
        return Ok(Labels::default());
    }
    match crate::parse(s) {
        Ok(Expr::Vector(vs)) => {
            let mut pairs = Vec::new();
            for m in &vs.matchers {
                if m.op() != MatchOp::Equal {
                    return Err(format!("invalid series description {s:?}"));
                }
                pairs.push((m.name().to_string(), m.value().to_string()));
            }
            Ok(Labels::new(pairs))
        }
        Ok(_) => Err(format!("invalid series description {s:?}")),
        Err(e) => Err(format!("invalid series description {s:?}: {e}")),
    }
}

fn parse_number(s: &str) -> Option<f64> {
    let l = s.to_ascii_lowercase();
    match l.as_str() {
        "inf" | "+inf" => return Some(f64::INFINITY),
        "-inf" => return Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => return Some(f64::NAN),
        _ => {}
    }
    if s.is_empty()
        || !s
            .bytes()
            .all(|c| c.is_ascii_digit() || b".eE+-".contains(&c))
    {
        return None;
    }
    s.parse().ok()
}

/// Splits `a+bxn` into (a, Some(b), n) etc. Returns None when not of that shape.
fn parse_expanding(tok: &str) -> Option<Vec<SeqValue>> {
    if tok == "_" {
        return Some(vec![SeqValue::Omitted]);
    }
    if let Some(n) = tok.strip_prefix("_x") {
        let n: usize = n.parse().ok()?;
        return Some(vec![SeqValue::Omitted; n]);
    }
    if tok == "stale" {
        return Some(vec![SeqValue::Float(f64::from_bits(STALE_NAN_BITS))]);
    }
    if let Some(v) = parse_number(tok) {
        return Some(vec![SeqValue::Float(v)]);
    }
    // a[+-b]xn
    let b = tok.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let num_end = |mut i: usize| {
        let lower = tok[i..].to_ascii_lowercase();
        if lower.starts_with("inf") {
            return i + 3;
        }
        if lower.starts_with("nan") {
            return i + 3;
        }
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_digit() || c == b'.' {
                i += 1;
            } else if (c == b'e' || c == b'E')
                && i + 1 < b.len()
                && (b[i + 1].is_ascii_digit() || b[i + 1] == b'+' || b[i + 1] == b'-')
            {
                i += 2;
            } else {
                break;
            }
        }
        i
    };
    let e1 = num_end(i);
    let a = parse_number(&tok[..e1])?;
    let mut step = None;
    let mut j = e1;
    if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
        let e2 = num_end(j + 1);
        step = Some(parse_number(&tok[j..e2])?);
        j = e2;
    }
    if j >= b.len() || b[j] != b'x' {
        return None;
    }
    let n: usize = tok[j + 1..].parse().ok()?;
    let mut out = Vec::with_capacity(n + 1);
    let mut k = a;
    for _ in 0..=n {
        out.push(SeqValue::Float(k));
        if let Some(s) = step {
            k += s;
        }
    }
    Some(out)
}

fn parse_values(s: &str) -> Result<Vec<SeqValue>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if rest.starts_with("{{") {
            // A native histogram, possibly `{{...}}xN` or `{{...}}+{{...}}xN`.
            let mut end = rest.find("}}").ok_or("unterminated histogram")? + 2;
            let mut count = 1;
            let tail = &rest[end..];
            if let Some(t) = tail.strip_prefix('+').or_else(|| tail.strip_prefix('-'))
                && t.starts_with("{{")
            {
                end += 1 + t.find("}}").ok_or("unterminated histogram")? + 2;
            }
            let tail = &rest[end..];
            if let Some(t) = tail.strip_prefix('x') {
                let n_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
                count = t[..n_end]
                    .parse::<usize>()
                    .map_err(|_| "bad histogram repeat")?
                    + 1;
                end += 1 + n_end;
            }
            out.extend(std::iter::repeat_n(SeqValue::Histogram, count));
            rest = rest[end..].trim_start();
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let tok = &rest[..end];
        out.extend(parse_expanding(tok).ok_or_else(|| format!("invalid value {tok:?}"))?);
        rest = rest[end..].trim_start();
    }
    Ok(out)
}

fn load(lines: &[String], start: usize, storage: &mut TestStorage) -> usize {
    let header: Vec<&str> = lines[start].split_whitespace().collect();
    let with_nhcb = header
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("load_with_nhcb"));
    let step = header.get(1).and_then(|s| parse_duration(s)).unwrap_or(0);
    let mut i = start + 1;
    let mut nhcb_bases: HashMap<Labels, HashSet<i64>> = HashMap::new();
    let mut defs: Vec<(Labels, Vec<SeqValue>)> = Vec::new();
    while i < lines.len() && !lines[i].is_empty() {
        let (metric, values) = split_series(&lines[i]);
        i += 1;
        let (Ok(labels), Ok(vals)) = (parse_metric(metric), parse_values(values)) else {
            continue;
        };
        // As in Prometheus, a later line for the same series replaces an earlier one.
        match defs.iter_mut().find(|(l, _)| *l == labels) {
            Some(d) => d.1 = vals,
            None => defs.push((labels, vals)),
        }
    }
    for (labels, vals) in defs {
        let id = storage.store.series_id(&labels);
        let mut hist_ts = Vec::new();
        for (k, v) in vals.iter().enumerate() {
            let t = k as i64 * step;
            match v {
                SeqValue::Omitted => {}
                SeqValue::Float(f) => {
                    let _ = storage.store.append(id, t, *f);
                    if with_nhcb && let Some(base) = nhcb_base(&labels) {
                        nhcb_bases.entry(base).or_default().insert(t);
                    }
                }
                SeqValue::Histogram => hist_ts.push(t),
            }
        }
        if !hist_ts.is_empty() {
            storage.histograms.entry(id).or_default().extend(hist_ts);
        }
    }
    for (base, ts) in nhcb_bases {
        let id = storage.store.series_id(&base);
        storage.histograms.entry(id).or_default().extend(ts);
    }
    i
}

/// The native histogram a classic-histogram series becomes with `load_with_nhcb`.
fn nhcb_base(l: &Labels) -> Option<Labels> {
    let name = l.metric_name()?;
    let base = ["_bucket", "_count", "_sum"]
        .iter()
        .find_map(|s| name.strip_suffix(s))?;
    if name.ends_with("_bucket") && l.get("le").is_none() {
        return None;
    }
    let pairs: Vec<(&str, &str)> = l
        .iter()
        .filter(|(n, _)| *n != "le")
        .map(|(n, v)| if n == METRIC_NAME { (n, base) } else { (n, v) })
        .collect();
    Some(Labels::new(pairs))
}

fn parse_expect(line: &str, exp: &mut Expectation) -> Result<(), String> {
    let rest = line["expect".len()..].trim();
    if let Some(s) = rest.strip_prefix("string") {
        let s = s.trim();
        let unq = if s.len() >= 2
            && ((s.starts_with('"') && s.ends_with('"'))
                || (s.starts_with('`') && s.ends_with('`')))
        {
            match crate::parse(s) {
                Ok(Expr::String(sl)) => sl.value,
                _ => s[1..s.len() - 1].to_string(),
            }
        } else {
            return Err("expected string literal not valid".into());
        };
        exp.string = Some(unq);
        return Ok(());
    }
    if let Some(r) = rest.strip_prefix("range vector") {
        let parts: Vec<&str> = r.split_whitespace().collect();
        if parts.len() != 6 || parts[0] != "from" || parts[2] != "to" || parts[4] != "step" {
            return Err(format!("invalid range vector expectation {line:?}"));
        }
        let s = parse_time(parts[1]).ok_or("bad time")?;
        let e = parse_time(parts[3]).ok_or("bad time")?;
        let st = parse_duration(parts[5]).ok_or("bad step")?;
        exp.range_vector = Some((s, e, st));
        return Ok(());
    }
    let (kind, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let tail = tail.trim();
    let matchable = if tail.is_empty() {
        None
    } else if let Some(m) = tail.strip_prefix("msg:") {
        Some(Matchable::Msg(m.trim().to_string()))
    } else if let Some(r) = tail.strip_prefix("regex:") {
        Some(Matchable::Regex(
            lookout_tsdb::regex::Regex::new(r.trim()).map_err(|e| e.to_string())?,
        ))
    } else {
        return Err(format!("invalid expect line {line:?}"));
    };
    match kind {
        "fail" => {
            exp.fail = true;
            match matchable {
                Some(Matchable::Msg(m)) => exp.fail_msg = Some(m),
                Some(Matchable::Regex(r)) => exp.fail_regex = Some(r),
                None => {}
            }
        }
        "warn" => exp.warn.push(matchable),
        "info" => exp.info.push(matchable),
        "no_warn" => exp.no_warn = true,
        "no_info" => exp.no_info = true,
        "ordered" => exp.ordered = true,
        _ => return Err(format!("invalid expect line {line:?}")),
    }
    Ok(())
}

struct EvalCmd {
    query: String,
    range: Option<QueryRange>,
    at: i64,
}

fn parse_eval_header(l: &str) -> Result<(EvalCmd, Expectation), String> {
    let mut exp = Expectation::default();
    let (cmd, rest) = l
        .split_once(char::is_whitespace)
        .ok_or("invalid eval command")?;
    match cmd.to_ascii_lowercase().as_str() {
        "eval" => {}
        "eval_fail" => exp.fail = true,
        "eval_warn" => exp.warn.push(None),
        "eval_info" => exp.info.push(None),
        "eval_ordered" => exp.ordered = true,
        _ => return Err(format!("invalid eval command {cmd:?}")),
    }
    let rest = rest.trim();
    if let Some(r) = rest.strip_prefix("instant") {
        let r = r.trim();
        let r = r.strip_prefix("at").ok_or("expected 'at'")?.trim();
        let (t, q) = r.split_once(char::is_whitespace).ok_or("missing query")?;
        let at = parse_time(t).ok_or_else(|| format!("invalid time {t:?}"))?;
        return Ok((
            EvalCmd {
                query: q.trim().to_string(),
                range: None,
                at,
            },
            exp,
        ));
    }
    if let Some(r) = rest.strip_prefix("range") {
        let parts: Vec<&str> = r.trim().splitn(7, char::is_whitespace).collect();
        if parts.len() < 7 || parts[0] != "from" || parts[2] != "to" || parts[4] != "step" {
            return Err("invalid range eval".into());
        }
        let s = parse_time(parts[1]).ok_or("bad start")?;
        let e = parse_time(parts[3]).ok_or("bad end")?;
        let st = parse_duration(parts[5]).ok_or("bad step")?;
        return Ok((
            EvalCmd {
                query: parts[6].trim().to_string(),
                range: Some(QueryRange {
                    start: s,
                    end: e,
                    step: st,
                }),
                at: s,
            },
            exp,
        ));
    }
    Err("invalid eval command".into())
}

fn eval(
    lines: &[String],
    start: usize,
    storage: &TestStorage,
    engine: &Engine,
) -> (usize, Outcome) {
    let mut i = start + 1;
    let header = parse_eval_header(&lines[start]);
    let mut body_err = None;
    let (cmd, mut exp) = match header {
        Ok(h) => h,
        Err(e) => {
            while i < lines.len() && !lines[i].is_empty() {
                i += 1;
            }
            return (
                i,
                Outcome {
                    line: start + 1,
                    query: lines[start].clone(),
                    status: Status::Failed(e),
                },
            );
        }
    };
    while i < lines.len() && !lines[i].is_empty() {
        let l = &lines[i];
        i += 1;
        if l.split_whitespace().next() == Some("expect") {
            if let Err(e) = parse_expect(l, &mut exp) {
                body_err = Some(e);
            }
            continue;
        }
        if let Some(v) = parse_number(l) {
            exp.scalar = Some(v);
            continue;
        }
        let (metric, values) = split_series(l);
        match (parse_metric(metric), parse_values(values)) {
            (Ok(labels), Ok(vals)) => {
                if vals.contains(&SeqValue::Histogram) {
                    exp.needs_histograms = true;
                }
                exp.series.push((labels, vals));
            }
            (Err(e), _) | (_, Err(e)) => body_err = Some(e),
        }
    }
    let outcome = |status| Outcome {
        line: start + 1,
        query: cmd.query.clone(),
        status,
    };
    if let Some(e) = body_err {
        return (i, outcome(Status::Failed(format!("bad test: {e}"))));
    }
    let status = match run_eval(&cmd, &exp, storage, engine) {
        Err(e) if matches!(e.kind(), ErrorKind::NativeHistogramsUnsupported { .. }) => {
            Status::Skipped
        }
        _ if exp.needs_histograms => Status::Skipped,
        Ok(()) => Status::Passed,
        Err(e) => Status::Failed(e.to_string()),
    };
    (i, outcome(status))
}

/// Runs one eval; `Err` carries either the engine's error (for skip detection) or the mismatch.
fn run_eval(
    cmd: &EvalCmd,
    exp: &Expectation,
    storage: &TestStorage,
    engine: &Engine,
) -> Result<(), Error> {
    if let Some(range) = cmd.range {
        return run_one(&cmd.query, range, cmd, exp, storage, engine).map(|_| ());
    }
    // As Prometheus's runner: the instant query as written, then with `@ t` pinned on every
    // selector for several other evaluation times, each also checked in range mode.
    let mut queries = vec![(cmd.query.clone(), cmd.at)];
    queries.extend(at_modifier_variants(&cmd.query, cmd.at));
    for (q, t) in queries {
        let instant = QueryRange {
            start: t,
            end: t,
            step: 0,
        };
        let value = run_one(&q, instant, cmd, exp, storage, engine)?;
        let Some(value) = value else { continue };
        let uses_query_funcs = ["start()", "end()", "range()", "step()"]
            .iter()
            .any(|f| q.contains(f));
        if exp.ordered
            || uses_query_funcs
            || !matches!(value, Value::Vector(_) | Value::Scalar { .. })
        {
            continue;
        }
        let Ok(expr) = crate::parse(&q) else { continue };
        let range = QueryRange {
            start: t - 60_000,
            end: t + 60_000,
            step: 60_000,
        };
        let res = engine
            .query(storage, &expr, range, None)
            .map_err(|e| range_mode_error(&q, e))?;
        let Value::Matrix(m) = res.value else {
            return Err(Error::exec(format!(
                "{q}: range mode did not return a matrix"
            )));
        };
        let vec: Vec<crate::value::Sample> = m
            .into_iter()
            .filter_map(|s| {
                let p = s.points.iter().find(|p| p.0 == t)?;
                Some(crate::value::Sample {
                    labels: s.labels,
                    t,
                    v: p.1,
                })
            })
            .collect();
        let as_value = match value {
            Value::Scalar { .. } => Value::Scalar {
                t,
                v: vec.first().map(|s| s.v).unwrap_or(f64::NAN),
            },
            _ => Value::Vector(vec),
        };
        compare(cmd, exp, &as_value).map_err(|m| Error::exec(format!("{q} (range mode): {m}")))?;
    }
    Ok(())
}

fn range_mode_error(q: &str, e: Error) -> Error {
    if matches!(e.kind(), ErrorKind::NativeHistogramsUnsupported { .. }) {
        return e;
    }
    Error::exec(format!("{q} (range mode): unexpected error: {e}"))
}

/// Functions whose result depends on the evaluation time even with `@` on their arguments.
const AT_UNSAFE: [&str; 15] = [
    "start",
    "end",
    "range",
    "step",
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
];

fn pin_at(e: &mut Expr, t: i64) {
    use crate::ast::AtModifier;
    match e {
        Expr::Vector(v) => {
            v.at.get_or_insert(AtModifier::Time(t));
        }
        Expr::Matrix(m) => {
            m.selector.at.get_or_insert(AtModifier::Time(t));
        }
        // Below a subquery with `@` nothing changes (it now has one either way).
        Expr::Subquery(s) => {
            s.at.get_or_insert(AtModifier::Time(t));
        }
        Expr::Number(_) | Expr::String(_) => {}
        Expr::Paren(p) => pin_at(&mut p.expr, t),
        Expr::Unary(u) => pin_at(&mut u.expr, t),
        Expr::Binary(b) => {
            pin_at(&mut b.lhs, t);
            pin_at(&mut b.rhs, t);
        }
        Expr::Call(c) => c.args.iter_mut().for_each(|a| pin_at(a, t)),
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                pin_at(p, t);
            }
            pin_at(&mut a.expr, t);
        }
    }
}

/// The query printed with `@ t` on every selector, and the times to evaluate it at.
fn at_modifier_variants(query: &str, t: i64) -> Vec<(String, i64)> {
    let Ok(mut expr) = crate::parse(query) else {
        return Vec::new();
    };
    let mut unsafe_fn = false;
    expr.walk(&mut |e| {
        if let Expr::Call(c) = e {
            unsafe_fn |= AT_UNSAFE.contains(&c.func.name);
        }
    });
    if unsafe_fn {
        return Vec::new();
    }
    pin_at(&mut expr, t);
    let text = expr.to_string();
    let times = if t == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * t, 0, t / 5, t, 10 * t]
    };
    times.into_iter().map(|et| (text.clone(), et)).collect()
}

/// Runs one query and checks it against the expectations; returns the value when it succeeded.
fn run_one(
    query: &str,
    range: QueryRange,
    cmd: &EvalCmd,
    exp: &Expectation,
    storage: &TestStorage,
    engine: &Engine,
) -> Result<Option<Value>, Error> {
    let mismatch = |m: String| Err(Error::exec(format!("{query}: {m}")));
    let result = crate::parse(query)
        .map_err(Error::from)
        .and_then(|expr| engine.query(storage, &expr, range, None));
    let res = match result {
        Err(e) if matches!(e.kind(), ErrorKind::NativeHistogramsUnsupported { .. }) => {
            return Err(e);
        }
        Err(e) => {
            if !exp.fail {
                return mismatch(format!("unexpected error: {e}"));
            }
            let msg = e.to_string();
            if let Some(m) = &exp.fail_msg
                && *m != msg
            {
                return mismatch(format!("expected error {m:?}, got {msg:?}"));
            }
            if let Some(r) = &exp.fail_regex
                && !r.is_match(&msg)
            {
                return mismatch(format!(
                    "expected error matching {:?}, got {msg:?}",
                    r.as_str()
                ));
            }
            return Ok(None);
        }
        Ok(r) => r,
    };
    if exp.fail {
        return mismatch(format!("expected error, got result:\n{}", res.value));
    }
    let render = |kind| -> Vec<String> {
        res.annotations
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| a.render(query))
            .collect()
    };
    let (warnings, infos) = (
        render(AnnotationKind::Warning),
        render(AnnotationKind::Info),
    );
    check_annos("warn", &exp.warn, &warnings)?;
    check_annos("info", &exp.info, &infos)?;
    if exp.no_warn && !warnings.is_empty() {
        return mismatch(format!("unexpected warnings: {warnings:?}"));
    }
    if exp.no_info && !infos.is_empty() {
        return mismatch(format!("unexpected info annotations: {infos:?}"));
    }
    compare(cmd, exp, &res.value).map_err(|m| Error::exec(format!("{query}: {m}")))?;
    Ok(Some(res.value))
}

fn check_annos(kind: &str, expected: &[Option<Matchable>], actual: &[String]) -> Result<(), Error> {
    if expected.is_empty() {
        return Ok(());
    }
    if actual.is_empty() {
        return Err(Error::exec(format!(
            "expected {kind} annotations but none were found"
        )));
    }
    for e in expected.iter().flatten() {
        if !actual.iter().any(|a| e.matches(a)) {
            return Err(Error::exec(format!(
                "expected {kind} annotation {e:?}, found {actual:?}"
            )));
        }
    }
    for a in actual {
        if !expected
            .iter()
            .any(|e| e.as_ref().is_none_or(|m| m.matches(a)))
        {
            return Err(Error::exec(format!("unexpected {kind} annotation {a:?}")));
        }
    }
    Ok(())
}

fn fmt_points(p: &[(i64, f64)]) -> String {
    let mut s = String::new();
    for (t, v) in p {
        let _ = write!(s, " {}@{}", format_go_float(*v), t);
    }
    s
}

fn compare(cmd: &EvalCmd, exp: &Expectation, got: &Value) -> Result<(), String> {
    match got {
        Value::Matrix(m) => {
            if exp.ordered {
                return Err("expected ordered result, but query returned a matrix".into());
            }
            if exp.scalar.is_some() {
                return Err("expected scalar result, but got matrix".into());
            }
            let (start, step) = match (cmd.range, exp.range_vector) {
                (Some(r), _) => (r.start, r.step),
                (None, Some((s, _, st))) => (s, st),
                (None, None) => (cmd.at, 0),
            };
            let mut seen = HashSet::new();
            for s in m {
                let Some((_, vals)) = exp.series.iter().find(|(l, _)| *l == s.labels) else {
                    return Err(format!(
                        "unexpected metric {} in result, has{}",
                        s.labels,
                        fmt_points(&s.points)
                    ));
                };
                seen.insert(s.labels.clone());
                let expected: Vec<(i64, f64)> = vals
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| match v {
                        SeqValue::Float(f) => Some((start + i as i64 * step, *f)),
                        _ => None,
                    })
                    .collect();
                if expected.len() != s.points.len() {
                    return Err(format!(
                        "expected {} points for {}, got {}:{} (expected{})",
                        expected.len(),
                        s.labels,
                        s.points.len(),
                        fmt_points(&s.points),
                        fmt_points(&expected)
                    ));
                }
                for (e, g) in expected.iter().zip(&s.points) {
                    if e.0 != g.0 || !almost_equal(e.1, g.1, 1e-6) {
                        return Err(format!(
                            "for {}: expected{}, got{}",
                            s.labels,
                            fmt_points(&expected),
                            fmt_points(&s.points)
                        ));
                    }
                }
            }
            for (l, _) in &exp.series {
                if !seen.contains(l) {
                    return Err(format!("expected metric {l} not found"));
                }
            }
            Ok(())
        }
        Value::Vector(v) => {
            if exp.scalar.is_some() {
                return Err(format!(
                    "expected scalar result, but got vector {}",
                    got.to_string().trim()
                ));
            }
            let mut seen = HashSet::new();
            for (pos, s) in v.iter().enumerate() {
                let Some(idx) = exp.series.iter().position(|(l, _)| *l == s.labels) else {
                    return Err(format!(
                        "unexpected metric {} in result, has value {}",
                        s.labels,
                        format_go_float(s.v)
                    ));
                };
                if exp.ordered && idx != pos {
                    return Err(format!(
                        "expected metric {} at position {} but was at {}",
                        s.labels,
                        idx + 1,
                        pos + 1
                    ));
                }
                let want = match exp.series[idx].1.first() {
                    Some(SeqValue::Float(f)) => *f,
                    _ => f64::NAN,
                };
                if !almost_equal(want, s.v, 1e-6) {
                    return Err(format!(
                        "expected {} for {} but got {}",
                        format_go_float(want),
                        s.labels,
                        format_go_float(s.v)
                    ));
                }
                seen.insert(idx);
            }
            for (i, (l, _)) in exp.series.iter().enumerate() {
                if !seen.contains(&i) {
                    return Err(format!("expected metric {l} not found"));
                }
            }
            Ok(())
        }
        Value::Scalar { v, .. } => {
            let Some(want) = exp.scalar else {
                return Err(format!(
                    "expected vector or matrix result, but got scalar {}",
                    format_go_float(*v)
                ));
            };
            if !almost_equal(want, *v, 1e-6) {
                return Err(format!(
                    "expected scalar {} but got {}",
                    format_go_float(want),
                    format_go_float(*v)
                ));
            }
            Ok(())
        }
        Value::String { v, .. } => {
            if exp.string.as_deref() != Some(v.as_str()) {
                return Err(format!(
                    "expected string {:?} but got {v:?}",
                    exp.string.as_deref().unwrap_or("")
                ));
            }
            Ok(())
        }
    }
}
