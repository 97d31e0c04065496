//! Streaming benchmark: a relay in process scraping the demo fleet, real WebSocket clients
//! driving `lookout_wire::Session` as the page does. Prints one JSON row per line:
//! `{"name", "value", "unit", "target"}` (and `"baseline"` where one was measured alongside).
//!
//! Three phases:
//! 1. the demo fleet (~220 series) scraped every second: live bytes per sample, scrape-to-page
//!    p99 for one page, history bytes per sample of the short window (baseline: live);
//! 2. the demo fleet scraped every 50 ms: history bytes per sample of a fuller window;
//! 3. the demo fleet scaled to about 10k series (46 instances of each service) scraped every
//!    15 s, with `--connections` (1000) subscribed pages open: scrape-to-page p99 of a page
//!    subscribed to everything, live bytes per sample at that scale, connections held, memory
//!    per connection, relay CPU.
//!
//! The relay, the demo targets and the clients run on three separate tokio runtimes (threads
//! named `lk-relay`, `lk-demo`, `lk-client`), so the relay's CPU is read from its own threads.
//! The 1000 held pages of phase 3 run in a child process (this example again, with
//! `LOOKOUT_BENCH_HOLD=url,n`), so the growth of this process's RSS while they connect is the
//! relay's own memory per connection. Scrape-to-page latency runs from the moment a scrape's batch is
//! published (fetched, parsed, stored: the end of the scrape) to its decode in the client.
//!
//! `cargo run --profile fast -p lookout-relay --example bench_stream
//!     [-- --connections N --secs S --replicas R --scale-secs S]`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use lookout_relay::{Relay, RelayConfig};
use lookout_tsdb::MatchOp;
use lookout_wire::{Event, Frame, MatcherSpec, Session};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

fn row(name: &str, value: f64, unit: &str, target: &str) {
    println!(
        "{}",
        serde_json::json!({ "name": name, "value": value, "unit": unit, "target": target })
    );
}

fn row_vs(name: &str, value: f64, unit: &str, target: &str, baseline: f64) {
    println!(
        "{}",
        serde_json::json!({
            "name": name, "value": value, "unit": unit, "target": target,
            "baseline": baseline, "ratio": value / baseline,
        })
    );
}

#[path = "shared/counting.rs"]
mod counting;

fn live_heap() -> usize {
    counting::live_bytes().max(0) as usize
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// CPU seconds (user + system) spent so far by this process's threads whose name starts with
/// `prefix`. Threads that exited are not counted: the runtimes' workers live for the whole run.
fn thread_cpu_seconds(prefix: &str) -> f64 {
    // Clock ticks per second: 100 on every Linux this runs on (USER_HZ).
    const TICKS: f64 = 100.0;
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut ticks = 0u64;
    for task in dir.flatten() {
        let p = task.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        if !comm.trim_end().starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(p.join("stat")).unwrap_or_default();
        // Fields after the `(comm)`: state is field 3, utime 14 and stime 15.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| {
            f.get(n - 3)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        ticks += field(14) + field(15);
    }
    ticks as f64 / TICKS
}

fn runtime(name: &str, threads: usize) -> anyhow::Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()?)
}

fn everything() -> Vec<MatcherSpec> {
    vec![MatcherSpec::new("__name__", MatchOp::RegexMatch, ".+")]
}

/// Wire bytes and samples a client received, by kind, and when each live batch decoded.
#[derive(Debug, Default)]
struct Tally {
    live_bytes: usize,
    live_samples: usize,
    history_bytes: usize,
    history_samples: usize,
    /// Series definitions (and their metadata) sent with history.
    series_bytes: usize,
    decoded_at: HashMap<u64, Instant>,
}

/// Reads frames until `until`, tallying.
async fn read_page(
    url: &str,
    matchers: Vec<MatcherSpec>,
    until: Instant,
    tally: Arc<Mutex<Tally>>,
) -> anyhow::Result<()> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let mut session = Session::new(None);
    session.subscribe(matchers, 0);
    for f in session.connect_frames() {
        ws.send(Message::Binary(f.encode().into())).await?;
    }
    while let Ok(Some(msg)) = tokio::time::timeout_at(until.into(), ws.next()).await {
        let Message::Binary(b) = msg? else { continue };
        let frame = Frame::decode(&b)?;
        let kind = match &frame {
            Frame::Samples { seq, .. } => Some((true, *seq)),
            Frame::History { .. } => Some((false, 0)),
            Frame::Series { .. } => {
                let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
                t.series_bytes += b.len();
                None
            }
            _ => None,
        };
        let event = session.apply(frame)?;
        let now = Instant::now();
        if let (Some((live, seq)), Some(Event::Samples { batch, .. })) = (kind, event) {
            let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
            if live {
                t.live_bytes += b.len();
                t.live_samples += batch.len();
                t.decoded_at.insert(seq, now);
            } else {
                t.history_bytes += b.len();
                t.history_samples += batch.len();
            }
        }
    }
    Ok(())
}

/// Holds a subscribed connection open, reading whatever comes.
async fn hold(url: String, matchers: Vec<MatcherSpec>, stop: Arc<tokio::sync::Notify>) {
    // Small client buffers, so the process's growth is mostly the relay's.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(8 << 10)
        .write_buffer_size(0);
    let Ok((mut ws, _)) =
        tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), false).await
    else {
        return;
    };
    let mut session = Session::new(None);
    session.subscribe(matchers, 0);
    for f in session.connect_frames() {
        if ws.send(Message::Binary(f.encode().into())).await.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            _ = stop.notified() => return,
            m = ws.next() => match m {
                Some(Ok(Message::Binary(b))) => {
                    if let Ok(f) = Frame::decode(&b) {
                        let _ = session.apply(f);
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            }
        }
    }
}

/// Set in the child process that holds the pages: `url,count`.
const HOLD_ENV: &str = "LOOKOUT_BENCH_HOLD";

/// The page a held connection `i` subscribes to: one job's `up` and request counters.
fn held_matchers(i: usize) -> Vec<MatcherSpec> {
    let job = ["gateway", "checkout", "payments", "inventory", "database"][i % 5];
    vec![
        MatcherSpec::new("job", MatchOp::Equal, job),
        MatcherSpec::new("__name__", MatchOp::RegexMatch, "up|http_requests_total"),
    ]
}

/// The child process: holds `count` subscribed pages on `url` until its stdin closes.
fn hold_pages(spec: &str) -> anyhow::Result<()> {
    let (url, count) = spec
        .split_once(',')
        .ok_or_else(|| anyhow::anyhow!("{HOLD_ENV}={spec:?}: want url,count"))?;
    let count: usize = count.parse()?;
    let rt = runtime("lk-client", 2)?;
    let stop = Arc::new(tokio::sync::Notify::new());
    for i in 0..count {
        rt.spawn(hold(url.to_owned(), held_matchers(i), stop.clone()));
    }
    // The parent closes our stdin (or dies) when it is done measuring.
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    stop.notify_waiters();
    Ok(())
}

/// Records when each batch was published (the end of its scrape).
fn watch_feed(relay: &Relay, rt: &Runtime) -> Arc<Mutex<HashMap<u64, Instant>>> {
    let publish = Arc::new(Mutex::new(HashMap::<u64, Instant>::new()));
    let mut feed = relay.hub().subscribe_live();
    let p = publish.clone();
    rt.spawn(async move {
        while let Ok(b) = feed.recv().await {
            if let Some(at) = b.published {
                p.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(b.seq, at);
            }
        }
    });
    publish
}

fn p99_ms(
    publish: &HashMap<u64, Instant>,
    decoded: &HashMap<u64, Instant>,
) -> Option<(f64, usize)> {
    let mut lat: Vec<f64> = decoded
        .iter()
        .filter_map(|(seq, at)| Some(at.duration_since(*publish.get(seq)?).as_secs_f64() * 1e3))
        .collect();
    if lat.is_empty() {
        return None;
    }
    lat.sort_by(f64::total_cmp);
    Some((lat[(lat.len() * 99 / 100).min(lat.len() - 1)], lat.len()))
}

struct Args {
    connections: usize,
    secs: u64,
    replicas: usize,
    scale_secs: u64,
}

fn main() -> anyhow::Result<()> {
    let mut a = Args {
        connections: 1000,
        secs: 20,
        replicas: 46,
        scale_secs: 45,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut num = || -> anyhow::Result<u64> { Ok(args.next().unwrap_or_default().parse()?) };
        match arg.as_str() {
            "--connections" => a.connections = num()? as usize,
            "--secs" => a.secs = num()?,
            "--replicas" => a.replicas = num()? as usize,
            "--scale-secs" => a.scale_secs = num()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    if let Ok(spec) = std::env::var(HOLD_ENV) {
        return hold_pages(&spec);
    }
    let relay_rt = runtime("lk-relay", 2)?;
    let demo_rt = runtime("lk-demo", 1)?;
    let client_rt = runtime("lk-client", 2)?;
    let live = demo_phase(&a, &relay_rt, &demo_rt, &client_rt)?;
    history_phase(&a, &relay_rt, &demo_rt, &client_rt, live)?;
    scale_phase(&a, &relay_rt, &demo_rt, &client_rt)?;
    Ok(())
}

fn start_relay(
    relay_rt: &Runtime,
    demo_rt: &Runtime,
    replicas: usize,
    interval: Duration,
    connections: usize,
) -> anyhow::Result<(Relay, DemoFleet)> {
    let (targets, tasks) = demo_rt.block_on(lookout_relay::demo::start_fleet_scaled(replicas))?;
    let relay = relay_rt.block_on(Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        targets,
        scrape_interval: interval,
        scrape_timeout: interval.min(Duration::from_secs(10)),
        stream: lookout_relay::stream::StreamSettings {
            max_connections: connections + 16,
            ..Default::default()
        },
        ..RelayConfig::default()
    }))?;
    Ok((relay, DemoFleet(tasks)))
}

/// The demo targets of one phase; stopped when the phase ends.
struct DemoFleet(Vec<tokio::task::JoinHandle<()>>);

impl Drop for DemoFleet {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Phase 1; returns the live bytes per sample (the baseline history is compared with).
fn demo_phase(
    a: &Args,
    relay_rt: &Runtime,
    demo_rt: &Runtime,
    client_rt: &Runtime,
) -> anyhow::Result<f64> {
    let (relay, _fleet) = start_relay(relay_rt, demo_rt, 1, Duration::from_secs(1), 16)?;
    let url = format!("ws://{}/api/v1/stream", relay.local_addr());
    let publish = watch_feed(&relay, relay_rt);
    let tally = Arc::new(Mutex::new(Tally::default()));
    client_rt.block_on(read_page(
        &url,
        everything(),
        Instant::now() + Duration::from_secs(a.secs),
        tally.clone(),
    ))?;
    let series = relay.hub().store().num_series();
    eprintln!("demo fleet: {series} series, scraped every 1 s");
    let live = {
        let t = tally.lock().unwrap_or_else(|e| e.into_inner());
        let live = t.live_bytes as f64 / t.live_samples.max(1) as f64;
        row(
            "live bytes/sample (demo fleet, whole frames)",
            live,
            "B",
            "<= 2",
        );
        let p = publish.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((p99, _)) = p99_ms(&p, &t.decoded_at) {
            row("scrape-to-page p99, demo fleet, 1 page", p99, "ms", "<= 50");
        }
        live
    };
    // History: a new page asks for the whole (short) window.
    let tally = Arc::new(Mutex::new(Tally::default()));
    client_rt.block_on(read_page(
        &url,
        everything(),
        Instant::now() + Duration::from_secs(3),
        tally.clone(),
    ))?;
    {
        let t = tally.lock().unwrap_or_else(|e| e.into_inner());
        row_vs(
            &format!(
                "history bytes/sample ({} samples/series, 1 s scrapes)",
                t.history_samples / series.max(1)
            ),
            t.history_bytes as f64 / t.history_samples.max(1) as f64,
            "B",
            "< live",
            live,
        );
    }
    relay.shutdown();
    Ok(live)
}

/// Phase 2: history from a fuller window (the demo scraped every 50 ms for `secs` seconds, so a
/// few hundred samples per series, as a 3 h window at 15 s holds 720).
fn history_phase(
    a: &Args,
    relay_rt: &Runtime,
    demo_rt: &Runtime,
    client_rt: &Runtime,
    live: f64,
) -> anyhow::Result<()> {
    let (relay, _fleet) = start_relay(relay_rt, demo_rt, 1, Duration::from_millis(50), 16)?;
    std::thread::sleep(Duration::from_secs(a.secs));
    let url = format!("ws://{}/api/v1/stream", relay.local_addr());
    let tally = Arc::new(Mutex::new(Tally::default()));
    client_rt.block_on(read_page(
        &url,
        everything(),
        Instant::now() + Duration::from_secs(3),
        tally.clone(),
    ))?;
    let t = tally.lock().unwrap_or_else(|e| e.into_inner());
    let series = relay.hub().store().num_series().max(1);
    row_vs(
        &format!(
            "history bytes/sample ({} samples/series as stored chunks)",
            t.history_samples / series
        ),
        t.history_bytes as f64 / t.history_samples.max(1) as f64,
        "B",
        "< live",
        live,
    );
    relay.shutdown();
    Ok(())
}

/// Phase 3: ~10k series at 15 s with `connections` subscribed pages.
fn scale_phase(
    a: &Args,
    relay_rt: &Runtime,
    demo_rt: &Runtime,
    client_rt: &Runtime,
) -> anyhow::Result<()> {
    let interval = Duration::from_secs(15);
    let (relay, _fleet) = start_relay(relay_rt, demo_rt, a.replicas, interval, a.connections)?;
    let url = format!("ws://{}/api/v1/stream", relay.local_addr());
    let publish = watch_feed(&relay, relay_rt);
    // One full round of scrapes, so every series exists and has history.
    std::thread::sleep(interval + Duration::from_secs(1));
    let series = relay.hub().store().num_series();
    eprintln!(
        "scaled demo fleet: {series} series on {} targets, scraped every 15 s",
        a.replicas * 5 + 1
    );

    let rss_before = rss_bytes();
    let heap_before = live_heap();
    // The held pages live in another process: what this one grows by is the relay's.
    let mut holder = std::process::Command::new(std::env::current_exe()?)
        .env(HOLD_ENV, format!("{url},{}", a.connections))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()?;
    // Wait until every page is connected and has its history (up to a minute), then one full
    // round of scrapes more, so what follows measures the steady state, not the subscribe storm.
    let connected = || {
        relay
            .hub()
            .metrics
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let t0 = Instant::now();
    while (connected() as usize) < a.connections && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "{} connections open after {:.1} s",
        connected(),
        t0.elapsed().as_secs_f64()
    );
    std::thread::sleep(interval);
    let open = connected();

    let cpu_before = thread_cpu_seconds("lk-relay");
    let wall = Instant::now();
    let tally = Arc::new(Mutex::new(Tally::default()));
    client_rt.block_on(read_page(
        &url,
        everything(),
        Instant::now() + Duration::from_secs(a.scale_secs),
        tally.clone(),
    ))?;
    let cpu = (thread_cpu_seconds("lk-relay") - cpu_before) / wall.elapsed().as_secs_f64();
    let rss_after = rss_bytes();
    let heap_after = live_heap();
    {
        let t = tally.lock().unwrap_or_else(|e| e.into_inner());
        let p = publish.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((p99, n)) = p99_ms(&p, &t.decoded_at) {
            row(
                &format!(
                    "scrape-to-page p99, {series} series at 15 s, beside {open} connections ({n} batches)"
                ),
                p99,
                "ms",
                "<= 50",
            );
        }
        row(
            &format!("live bytes/sample ({series} series)"),
            t.live_bytes as f64 / t.live_samples.max(1) as f64,
            "B",
            "<= 2",
        );
    }
    row(
        "subscribed connections held",
        open as f64,
        "conns",
        ">= 1000",
    );
    row(
        "relay heap per connection (live allocations; pages in another process)",
        heap_after.saturating_sub(heap_before) as f64 / 1024.0 / a.connections.max(1) as f64,
        "KiB",
        "<= 100",
    );
    row(
        "  relay RSS growth per connection",
        rss_after.saturating_sub(rss_before) as f64 / 1024.0 / a.connections.max(1) as f64,
        "KiB",
        "report",
    );
    row(
        &format!("relay CPU ({series} series at 15 s, {open} connections)"),
        cpu * 100.0,
        "% of a core",
        "report",
    );
    drop(holder.stdin.take());
    let _ = holder.wait();
    relay.shutdown();
    Ok(())
}
