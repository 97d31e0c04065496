//! `cargo xtask bench scrape`: exposition parse throughput on a real node_exporter scrape
//! (captured in this run) and on a large synthetic body, the relay's per-scrape pipeline, and
//! the whole relay scraping a loopback fleet (default 1,000 targets x 1,000 series every 15 s:
//! relay CPU in cores and memory). Prints one JSON object per line:
//! `{"name", "value", "unit", "target", "baseline"?, "ratio"?}`.
//!
//! `--quick` runs a smaller fleet for a shorter time; `--fleet-only` only the full fleet; `--serve N SERIES` is the fleet's own
//! process (the targets live in a child so their CPU is not counted as the relay's).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lookout_relay::scrape::pipeline::{SampleRules, SeriesCache, process};
use lookout_tsdb::exposition::{Entry, Parser};

// Counts live heap bytes, so the fleet rows can tell the relay's own allocations from what the
// allocator keeps besides them. RSS is what the target is about.
#[path = "shared/counting.rs"]
mod counting;

fn live_mb() -> f64 {
    counting::live_bytes() as f64 / (1 << 20) as f64
}

/// Prometheus's text parser on an Apple M2 Max (the anchor), MiB/s.
const PROMETHEUS_PARSE_MIB_S: f64 = 236.0;

fn row(name: &str, value: f64, unit: &str, target: &str, baseline: Option<f64>) {
    let mut v = serde_json::json!({ "name": name, "value": value, "unit": unit, "target": target });
    if let Some(b) = baseline {
        v["baseline"] = b.into();
        v["ratio"] = (value / b).into();
    }
    println!("{v}");
}

/// Best of several timed runs of `f` over at least ~0.3 s each, in seconds per call.
fn per_call(mut f: impl FnMut() -> usize) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < Duration::from_millis(300) || n == 0 {
            std::hint::black_box(f());
            n += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / f64::from(n));
    }
    best
}

fn parse_all(body: &str) -> usize {
    let mut n = 0;
    for e in Parser::new(body) {
        if let Ok(Entry::Sample(s)) = e {
            n += 1;
            std::hint::black_box(&s);
        }
    }
    n
}

fn parse_rows(label: &str, body: &str) {
    let samples = parse_all(body);
    let secs = per_call(|| parse_all(body));
    let mib = body.len() as f64 / (1 << 20) as f64;
    row(
        &format!("parse {label} ({:.1} MiB, {samples} samples)", mib),
        mib / secs,
        "MiB/s",
        ">= 250",
        Some(PROMETHEUS_PARSE_MIB_S),
    );
    row(
        &format!("parse {label}"),
        samples as f64 / secs,
        "samples/s",
        "",
        None,
    );
    let target = [("instance", "127.0.0.1:9100"), ("job", "node")];
    let rules = SampleRules {
        honor_timestamps: true,
        ..SampleRules::default()
    };
    let mut cache = SeriesCache::default();
    process(body, false, &target, &rules, &mut cache).unwrap();
    let mut ids = 0..;
    cache.commit(|_| lookout_tsdb::SeriesId(ids.next().unwrap()));
    let secs = per_call(|| {
        let n = process(body, false, &target, &rules, &mut cache)
            .unwrap()
            .samples
            .len();
        cache.commit(|_| unreachable!("a warm cache meets no new series"));
        n
    });
    row(
        &format!("scrape pipeline {label} (parse+labels, warm cache)"),
        mib / secs,
        "MiB/s",
        "",
        None,
    );
}

fn synthetic_body(series: usize) -> String {
    let mut out = String::with_capacity(series * 110);
    let routes = [
        "/",
        "/api/v1/query",
        "/api/v1/series",
        "/login",
        "/static/app.js",
    ];
    let mut i = 0;
    'outer: for family in 0.. {
        out.push_str(&format!(
            "# HELP http_request_duration_seconds_{family} Request latency.\n# TYPE http_request_duration_seconds_{family} histogram\n"
        ));
        for r in routes {
            for code in ["200", "404", "500"] {
                for le in ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"] {
                    out.push_str(&format!(
                        "http_request_duration_seconds_{family}_bucket{{method=\"GET\",route=\"{r}\",code=\"{code}\",le=\"{le}\"}} {}\n",
                        i * 7 + 3
                    ));
                    i += 1;
                    if i >= series {
                        break 'outer;
                    }
                }
            }
        }
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Captures one real node_exporter scrape, if Debian's node_exporter is installed.
fn node_exporter_body(rt: &tokio::runtime::Runtime) -> Option<String> {
    let bin = "/usr/bin/prometheus-node-exporter";
    if !std::path::Path::new(bin).exists() {
        eprintln!("{bin} not installed: skipping the node_exporter rows");
        return None;
    }
    let port = free_port();
    let mut child = Command::new(bin)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let body = rt.block_on(async {
        for _ in 0..100 {
            if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await
                && let Ok(t) = r.text().await
            {
                return Some(t);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    });
    let _ = child.kill();
    let _ = child.wait();
    body
}

/// utime + stime of this process, seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 of proc(5), in clock ticks (100 per second on Linux).
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|r| r.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0.0)
}

/// The fleet's process: `targets` servers of `series` series each; prints their ports.
fn serve(targets: usize, series: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut ports = Vec::new();
        for t in 0..targets {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            ports.push(l.local_addr().unwrap().port().to_string());
            let hits = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
            let app = axum::Router::new().route(
                "/metrics",
                axum::routing::get(move || {
                    let n = hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    async move {
                        let mut body = String::with_capacity(series * 80);
                        body.push_str("# TYPE bench_requests_total counter\n");
                        for s in 0..series {
                            body.push_str(&format!(
                                "bench_requests_total{{route=\"/r{}\",code=\"{}\",shard=\"{t}\"}} {}\n",
                                s / 4,
                                200 + s % 4,
                                n * (s as u64 % 7 + 1)
                            ));
                        }
                        body
                    }
                }),
            );
            tokio::spawn(async move {
                let _ = axum::serve(l, app).await;
            });
        }
        println!("{}", ports.join(","));
        // Until the parent closes our stdin.
        tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
        })
        .await
        .unwrap();
    });
}

fn fleet(targets: usize, series: usize, warmup: Duration, measure: Duration) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--serve", &targets.to_string(), &series.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ports: Vec<&str> = line.trim().split(',').collect();
    let dir = std::env::temp_dir().join(format!("lookout-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg = String::from(
        "global:\n  scrape_interval: 15s\n  scrape_timeout: 10s\nscrape_configs:\n  - job_name: fleet\n    static_configs:\n      - targets:\n",
    );
    for p in &ports {
        cfg.push_str(&format!("        - 127.0.0.1:{p}\n"));
    }
    let file = dir.join("prometheus.yml");
    std::fs::write(&file, cfg).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rss_before = status_kib("VmRSS:");
    let live_before = live_mb();
    let (cpu, secs, samples, live, hwm, rss) = rt.block_on(async {
        let relay = lookout_relay::Relay::start(lookout_relay::RelayConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            config_file: Some(file),
            ..Default::default()
        })
        .await
        .unwrap();
        tokio::time::sleep(warmup).await;
        let m = &relay.hub().metrics;
        let s0 = m
            .samples_appended_total
            .load(std::sync::atomic::Ordering::Relaxed);
        let (c0, t0) = (cpu_seconds(), Instant::now());
        tokio::time::sleep(measure).await;
        let (c1, t1) = (cpu_seconds(), t0.elapsed().as_secs_f64());
        let s1 = m
            .samples_appended_total
            .load(std::sync::atomic::Ordering::Relaxed);
        let up = relay
            .hub()
            .targets()
            .iter()
            .filter(|t| t.health == lookout_relay::scrape::Health::Up)
            .count();
        eprintln!("fleet: {up} targets up of {}", targets + 1);
        // Memory while scraping; the teardown below (every series marked stale at once) is
        // not part of the steady state the target is about.
        let (hwm, rss) = (status_kib("VmHWM:"), status_kib("VmRSS:"));
        let live = live_mb() - live_before;
        relay.shutdown();
        (c1 - c0, t1, s1 - s0, live, hwm, rss)
    });
    let _ = child.stdin.take();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let label = format!("fleet {targets} targets x {series} series / 15s");
    row(
        &format!("{label}: relay CPU"),
        cpu / secs,
        "cores",
        "<= 0.25",
        None,
    );
    row(
        &format!("{label}: relay memory (peak RSS while scraping)"),
        hwm / 1024.0,
        "MB",
        "<= 500",
        None,
    );
    row(
        &format!("{label}: relay memory growth (RSS)"),
        (rss - rss_before) / 1024.0,
        "MB",
        "",
        None,
    );
    row(
        &format!("{label}: relay live heap (allocations, without the allocator's overhead)"),
        live,
        "MB",
        "",
        None,
    );
    row(
        &format!("{label}: samples stored"),
        samples as f64 / secs,
        "samples/s",
        "",
        None,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
        let s = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
        serve(n, s);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    if args.iter().any(|a| a == "--fleet-only") {
        fleet(1000, 1000, Duration::from_secs(17), Duration::from_secs(30));
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Some(body) = node_exporter_body(&rt) {
        parse_rows("node_exporter scrape", &body);
    }
    drop(rt);
    parse_rows(
        "synthetic",
        &synthetic_body(if quick { 50_000 } else { 200_000 }),
    );
    let _ = std::io::stdout().flush();
    if quick {
        fleet(200, 1000, Duration::from_secs(16), Duration::from_secs(15));
    } else {
        fleet(1000, 1000, Duration::from_secs(17), Duration::from_secs(30));
    }
}
