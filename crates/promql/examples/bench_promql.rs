//! Benchmark: Lookout's PromQL engine against Debian's `prometheus` on the same data, same run.
//!
//! Generates an OpenMetrics file (counters, gauges, classic histograms; by default 10k series,
//! 2 hours at 15 s), backfills it with `promtool tsdb create-blocks-from openmetrics`, starts
//! Prometheus on 127.0.0.1 with a temporary data directory, and for each query class compares
//! Prometheus's own `stats=all` evaluation time (`evalTotalTime`) with Lookout's evaluation time
//! over the same range and step. It also checks both engines return the same series and values.
//!
//! Prints one JSON object per line:
//! `{"name", "value", "unit", "target", "baseline", "ratio"}` where for timings `value` is
//! Lookout's median milliseconds, `baseline` Prometheus's, `ratio` = baseline / value (the
//! speed-up) and `target` the speed-up asked for (2). A `.../same_result` line per class has
//! value 1 when the answers agree.
//!
//! Then it runs the in-browser half (`tests/web_bench.rs`: the engine compiled to wasm, in
//! headless Chromium, on the same data and range) and prints `promql/<class>/wasm` rows whose
//! `baseline` is the native time and `ratio` wasm/native (target: at most 1.6).
//!
//! Run: `cargo run --profile fast -p lookout-promql --example bench_promql`
//! Size: `LOOKOUT_BENCH_SERIES` (default 10000), `LOOKOUT_BENCH_HOURS` (default 2),
//! `LOOKOUT_BENCH_RUNS` (default 5); `LOOKOUT_BENCH_CLASS` runs one class only and
//! `LOOKOUT_BENCH_BASELINE=0` skips Prometheus (for profiling), `LOOKOUT_BENCH_WASM=0` the
//! in-browser half. Without `prometheus`/`promtool` on PATH only Lookout's
//! timings are printed (baseline null).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lookout_promql::{Engine, Value, parse};

#[path = "../src/bin/shared/load.rs"]
mod load;
// The direct-to-store sink is for the in-browser half.
#[allow(dead_code)]
#[path = "shared/bench_data.rs"]
mod bench_data;

use bench_data::{CLASSES, QUERY_STEP_S, STEP_S};

#[path = "../../tsdb/examples/shared/wasm_half.rs"]
mod wasm_half;

fn env_num(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes the OpenMetrics file; returns (series, samples).
fn generate(
    path: &Path,
    series: i64,
    start_s: i64,
    points: i64,
) -> std::io::Result<(usize, usize)> {
    let mut out = bench_data::Text(std::io::BufWriter::new(std::fs::File::create(path)?));
    let n = bench_data::generate(&mut out, series, start_s, points)?;
    writeln!(out.0, "# EOF")?;
    out.0.flush()?;
    Ok(n)
}

/// Prometheus, stopped (by its own pid) when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(300)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn start_prometheus(dir: &Path, om: &Path) -> Result<Server, String> {
    let data = dir.join("data");
    let st = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(om)
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("promtool: {e}"))?;
    if !st.status.success() {
        return Err(format!(
            "promtool failed: {}",
            String::from_utf8_lossy(&st.stderr)
        ));
    }
    let cfg = dir.join("prometheus.yml");
    std::fs::write(
        &cfg,
        "global:\n  scrape_interval: 15s\nscrape_configs: []\n",
    )
    .map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=100y")
        .arg("--query.max-samples=500000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("prometheus: {e}"))?;
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok((200, _)) = http_get(port, "/-/ready") {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err("prometheus did not become ready".into())
}

/// Prometheus's answer as (labels text, points), sorted, and its evalTotalTime in seconds.
/// Series as (labels text, points), sorted by labels.
type Answer = Vec<(String, Vec<(i64, f64)>)>;

fn prometheus_query(
    port: u16,
    q: &str,
    start: i64,
    end: i64,
    step: i64,
) -> Result<(Answer, f64), String> {
    let path = format!(
        "/api/v1/query_range?query={}&start={start}&end={end}&step={step}&stats=all",
        urlencode(q)
    );
    let (status, body) = http_get(port, &path).map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("HTTP {status}: {body}"));
    }
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let eval = v["data"]["stats"]["timings"]["evalTotalTime"]
        .as_f64()
        .ok_or("no evalTotalTime")?;
    let mut out = Vec::new();
    for s in v["data"]["result"].as_array().ok_or("no result")? {
        let mut labels: Vec<(String, String)> = s["metric"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        labels.sort();
        let key = labels
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(",");
        let points = s["values"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        let t = (p[0].as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
                        let v = match p[1].as_str().unwrap_or("NaN") {
                            "+Inf" => f64::INFINITY,
                            "-Inf" => f64::NEG_INFINITY,
                            x => x.parse().unwrap_or(f64::NAN),
                        };
                        (t, v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push((key, points));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((out, eval))
}

fn lookout_series(v: &Value) -> Vec<(String, Vec<(i64, f64)>)> {
    let Value::Matrix(m) = v else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<(i64, f64)>)> = m
        .iter()
        .map(|s| {
            (
                s.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect::<Vec<_>>()
                    .join(","),
                s.points.clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-6 * a.abs().max(b.abs())
}

fn same(a: &[(String, Vec<(i64, f64)>)], b: &[(String, Vec<(i64, f64)>)]) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} series vs {}", a.len(), b.len()));
    }
    for (x, y) in a.iter().zip(b) {
        if x.0 != y.0 {
            return Err(format!("series {} vs {}", x.0, y.0));
        }
        if x.1.len() != y.1.len() {
            return Err(format!("{}: {} points vs {}", x.0, x.1.len(), y.1.len()));
        }
        for (p, q) in x.1.iter().zip(&y.1) {
            if p.0 != q.0 || !close(p.1, q.1) {
                return Err(format!("{}: {:?} vs {:?}", x.0, p, q));
            }
        }
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

fn line(
    name: &str,
    value: f64,
    unit: &str,
    target: Option<f64>,
    baseline: Option<f64>,
    ratio: Option<f64>,
) {
    let opt = |x: Option<f64>| {
        x.map(|v| format!("{v:.4}"))
            .unwrap_or_else(|| "null".into())
    };
    println!(
        "{{\"name\":\"{name}\",\"value\":{value:.4},\"unit\":\"{unit}\",\"target\":{},\"baseline\":{},\"ratio\":{}}}",
        opt(target),
        opt(baseline),
        opt(ratio)
    );
}

fn main() {
    let series = env_num("LOOKOUT_BENCH_SERIES", 10_000);
    let hours = env_num("LOOKOUT_BENCH_HOURS", 2);
    let runs = env_num("LOOKOUT_BENCH_RUNS", 5).max(1) as usize;
    let points = hours * 3600 / STEP_S;
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    // Finished well before "now" so Prometheus treats it as ordinary history. Samples sit one
    // second past the minute grid: Prometheus 2.42 (the baseline) closes range windows on the
    // left where 3.x leaves them open, and off-grid samples never fall on a window edge, so
    // both semantics give the same answers.
    let start_s = (now_s - hours * 3600 - 3600) / 3600 * 3600 + 1;
    let end_s = start_s + (points - 1) * STEP_S;

    let dir: PathBuf =
        std::env::temp_dir().join(format!("lookout-bench-promql-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        std::process::exit(1);
    }
    let om = dir.join("bench.om");
    let t0 = Instant::now();
    let (n_series, n_samples) = match generate(&om, series, start_s, points) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("generating data: {e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "generated {n_series} series, {n_samples} samples in {:.1}s",
        t0.elapsed().as_secs_f64()
    );

    let t0 = Instant::now();
    let body = std::fs::read_to_string(&om).unwrap_or_default();
    let (store, loaded) = match load::openmetrics(&body) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("loading: {e}");
            std::process::exit(1);
        }
    };
    drop(body);
    eprintln!(
        "lookout loaded {loaded} samples in {:.1}s",
        t0.elapsed().as_secs_f64()
    );

    let t0 = Instant::now();
    let want_baseline = std::env::var("LOOKOUT_BENCH_BASELINE")
        .map(|v| v != "0")
        .unwrap_or(true);
    let only = std::env::var("LOOKOUT_BENCH_CLASS").ok();
    let prom = match if want_baseline {
        start_prometheus(&dir, &om)
    } else {
        Err("disabled".into())
    } {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("prometheus baseline unavailable: {e}");
            None
        }
    };
    if prom.is_some() {
        eprintln!(
            "prometheus backfilled and ready in {:.1}s",
            t0.elapsed().as_secs_f64()
        );
    }

    let engine = Engine::default();
    let mut table: Vec<(String, f64, Option<f64>, Option<bool>)> = Vec::new();
    let (q_start, q_end) = bench_data::query_range(start_s, end_s);
    for (class, q) in CLASSES {
        if only.as_deref().is_some_and(|o| o != *class) {
            continue;
        }
        let expr = match parse(q) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("{class}: {e}");
                continue;
            }
        };
        let mut ours = Vec::new();
        let mut result = None;
        for _ in 0..runs {
            let t = Instant::now();
            let r = engine.range(
                &store,
                &expr,
                q_start * 1000,
                q_end * 1000,
                QUERY_STEP_S * 1000,
            );
            ours.push(t.elapsed().as_secs_f64() * 1000.0);
            match r {
                Ok(r) => result = Some(r.value),
                Err(e) => {
                    eprintln!("{class}: lookout error: {e}");
                    break;
                }
            }
        }
        let ours_ms = median(ours);
        let mut baseline = None;
        let mut agree = None;
        if let Some(p) = &prom {
            let mut theirs = Vec::new();
            let mut answer = None;
            for _ in 0..runs {
                match prometheus_query(p.port, q, q_start, q_end, QUERY_STEP_S) {
                    Ok((a, secs)) => {
                        theirs.push(secs * 1000.0);
                        answer = Some(a);
                    }
                    Err(e) => {
                        eprintln!("{class}: prometheus error: {e}");
                        break;
                    }
                }
            }
            if !theirs.is_empty() {
                baseline = Some(median(theirs));
            }
            if let (Some(a), Some(r)) = (answer, &result) {
                let check = same(&lookout_series(r), &a);
                if let Err(e) = &check {
                    eprintln!("{class}: results differ: {e}");
                }
                agree = Some(check.is_ok());
            }
        }
        let ratio = baseline.map(|b| b / ours_ms);
        table.push((class.to_string(), ours_ms, baseline, agree));
        line(
            &format!("promql/{class}/native"),
            ours_ms,
            "ms",
            Some(2.0),
            baseline,
            ratio,
        );
        if let Some(a) = agree {
            line(
                &format!("promql/{class}/same_result"),
                if a { 1.0 } else { 0.0 },
                "bool",
                Some(1.0),
                None,
                None,
            );
        }
    }
    drop(prom);
    let _ = std::fs::remove_dir_all(&dir);
    drop(store);
    let mut wasm: Vec<(String, f64)> = Vec::new();
    match wasm_half::rows("lookout-promql") {
        Ok(rows) => {
            for (class, native_ms, _, _) in &table {
                let name = format!("promql/{class}/wasm");
                let Some(&(_, ms)) = rows.iter().find(|r| r.0 == name) else {
                    continue;
                };
                line(
                    &name,
                    ms,
                    "ms",
                    Some(1.6),
                    Some(*native_ms),
                    Some(ms / native_ms),
                );
                wasm.push((class.clone(), ms));
            }
        }
        Err(e) => eprintln!("wasm half: {e}"),
    }
    // A table for people (stdout stays one JSON object per line for tools).
    eprintln!(
        "{:<20} {:>12} {:>14} {:>9} {:>7} {:>9} {:>10}",
        "class", "lookout ms", "prometheus ms", "speed-up", "same", "wasm ms", "wasm/nat"
    );
    for (class, ours, base, agree) in table {
        let base_s = base
            .map(|b| format!("{b:.2}"))
            .unwrap_or_else(|| "-".into());
        let ratio_s = base
            .map(|b| format!("{:.2}x", b / ours))
            .unwrap_or_else(|| "-".into());
        let same_s = match agree {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        let (wasm_s, wasm_ratio) = match wasm.iter().find(|w| w.0 == class) {
            Some(&(_, ms)) => (format!("{ms:.2}"), format!("{:.2}x", ms / ours)),
            None => ("-".into(), "-".into()),
        };
        eprintln!(
            "{class:<20} {ours:>12.2} {base_s:>14} {ratio_s:>9} {same_s:>7} {wasm_s:>9} {wasm_ratio:>10}"
        );
    }
}
