//! Evaluates one PromQL query over an OpenMetrics file and prints the JSON body Prometheus's
//! `/api/v1/query` or `/api/v1/query_range` would return:
//!
//! `promql-eval --data FILE.om --query EXPR (--time T | --start S --end E --step D) [--stats]`
//!
//! Times are Unix seconds or RFC 3339; the step is a duration (`15s`) or seconds. `--stats`
//! adds `stats.timings.evalTotalTime` (evaluation only, not loading), as `stats=all` does.

use std::process::ExitCode;
use std::time::Instant;

use lookout_promql::{Engine, ErrorKind, QueryRange, parse};

#[path = "shared/api_json.rs"]
mod api_json;
#[path = "shared/load.rs"]
mod load;

struct Args {
    data: String,
    query: String,
    time: Option<i64>,
    range: Option<(i64, i64, i64)>,
    stats: bool,
}

const USAGE: &str = "usage: promql-eval --data FILE.om --query EXPR (--time T | --start S --end E --step D) [--stats]";

/// Unix seconds (possibly fractional) or RFC 3339 (`2024-01-02T03:04:05.5Z`, `+01:00` offsets).
fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(v) = s.parse::<f64>() {
        return Ok((v * 1000.0).round() as i64);
    }
    let bad = || format!("cannot parse {s:?} to a valid timestamp");
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num =
        |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok()).ok_or_else(bad);
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let mut i = 19;
    let mut ms = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &s[start..i];
        let padded: String = frac.chars().chain("000".chars()).take(3).collect();
        ms = padded.parse::<i64>().map_err(|_| bad())?;
    }
    let offset = match &s[i..] {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60)
        }
        _ => return Err(bad()),
    };
    // Days from civil date (Howard Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 86_400 + h * 3600 + mi * 60 + se - offset) * 1000) + ms)
}

fn parse_step(s: &str) -> Result<i64, String> {
    if let Ok(v) = s.parse::<f64>() {
        return Ok((v * 1000.0).round() as i64);
    }
    // A duration is easiest to read through the query parser's range syntax.
    duration_ms(s).ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))
}

fn duration_ms(s: &str) -> Option<i64> {
    let expr = parse(&format!("x[{s}]")).ok()?;
    let lookout_promql::Expr::Matrix(m) = expr else {
        return None;
    };
    match m.range {
        lookout_promql::ast::DurationExpr::Literal(ms) => Some(ms),
        _ => None,
    }
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut data, mut query, mut time, mut start, mut end, mut step, mut stats) =
        (None, None, None, None, None, None, false);
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--data" => data = Some(val()?),
            "--query" => query = Some(val()?),
            "--time" => time = Some(parse_time(&val()?)?),
            "--start" => start = Some(parse_time(&val()?)?),
            "--end" => end = Some(parse_time(&val()?)?),
            "--step" => step = Some(parse_step(&val()?)?),
            "--stats" => stats = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let data = data.ok_or(USAGE)?;
    let query = query.ok_or(USAGE)?;
    let range = match (start, end, step) {
        (Some(s), Some(e), Some(st)) => Some((s, e, st)),
        (None, None, None) => None,
        _ => return Err(format!("--start, --end and --step go together\n{USAGE}")),
    };
    if range.is_some() == time.is_some() {
        return Err(format!(
            "give either --time or --start/--end/--step\n{USAGE}"
        ));
    }
    Ok(Args {
        data,
        query,
        time,
        range,
        stats,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let body = match std::fs::read_to_string(&args.data) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", args.data);
            return ExitCode::from(2);
        }
    };
    let (store, _) = match load::openmetrics(&body) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", args.data);
            return ExitCode::from(2);
        }
    };
    let expr = match parse(&args.query) {
        Ok(e) => e,
        Err(e) => {
            println!("{}", api_json::error("bad_data", &e.to_string()));
            return ExitCode::FAILURE;
        }
    };
    let range = match (args.time, args.range) {
        (Some(t), _) => QueryRange {
            start: t,
            end: t,
            step: 0,
        },
        (None, Some((start, end, step))) => QueryRange { start, end, step },
        (None, None) => unreachable_args(),
    };
    let engine = Engine::default();
    let began = Instant::now();
    let res = engine.query(&store, &expr, range, None);
    let eval_seconds = began.elapsed().as_secs_f64();
    match res {
        Ok(r) => {
            let stats = args.stats.then_some(api_json::Stats {
                eval_seconds,
                samples: r.stats.samples_loaded,
            });
            println!(
                "{}",
                api_json::success(&r.value, &r.annotations, &args.query, stats)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let kind = match e.kind() {
                ErrorKind::Parse(_) => "bad_data",
                ErrorKind::Canceled => "canceled",
                _ => "execution",
            };
            println!("{}", api_json::error(kind, &e.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn unreachable_args() -> QueryRange {
    // parse_args guarantees one of the two; an empty instant at 0 is a harmless fallback.
    QueryRange {
        start: 0,
        end: 0,
        step: 0,
    }
}
