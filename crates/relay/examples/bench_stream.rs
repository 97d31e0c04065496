//! Streaming benchmark: a relay in process scraping the demo fleet, real WebSocket clients
//! driving `lookout_wire::Session` as the page does. Prints one JSON row per line:
//! `{"name", "value", "unit", "target"}`.
//!
//! Rows: bytes per sample on the wire (live blocks, history chunks), publish-to-decode latency
//! p99 with one page and with many connections open, connections held, and process memory per
//! connection (relay and clients share the process, so it is an upper bound for the relay).
//!
//! `cargo run --profile fast -p lookout-relay --example bench_stream [-- --connections N --secs S]`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use lookout_relay::{Relay, RelayConfig};
use lookout_tsdb::MatchOp;
use lookout_wire::{Event, Frame, MatcherSpec, Session};
use tokio_tungstenite::tungstenite::Message;

fn row(name: &str, value: f64, unit: &str, target: &str) {
    println!(
        "{}",
        serde_json::json!({ "name": name, "value": value, "unit": unit, "target": target })
    );
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

fn p99_ms(publish: &HashMap<u64, Instant>, decoded: &HashMap<u64, Instant>) -> Option<f64> {
    let mut lat: Vec<f64> = decoded
        .iter()
        .filter_map(|(seq, at)| Some(at.duration_since(*publish.get(seq)?).as_secs_f64() * 1e3))
        .collect();
    if lat.is_empty() {
        return None;
    }
    lat.sort_by(f64::total_cmp);
    Some(lat[(lat.len() * 99 / 100).min(lat.len() - 1)])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut connections = 1000usize;
    let mut secs = 20u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--connections" => connections = args.next().unwrap_or_default().parse()?,
            "--secs" => secs = args.next().unwrap_or_default().parse()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        demo: true,
        scrape_interval: Duration::from_secs(1),
        scrape_timeout: Duration::from_secs(1),
        stream: lookout_relay::stream::StreamSettings {
            max_connections: connections + 16,
            ..Default::default()
        },
        ..RelayConfig::default()
    })
    .await?;
    let url = format!("ws://{}/api/v1/stream", relay.local_addr());

    // When each batch left the relay's scrape loop (published to the feed).
    let publish = Arc::new(Mutex::new(HashMap::<u64, Instant>::new()));
    {
        let mut feed = relay.hub().subscribe_live();
        let publish = publish.clone();
        tokio::spawn(async move {
            while let Ok(b) = feed.recv().await {
                publish
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(b.seq, Instant::now());
            }
        });
    }

    // One page subscribed to everything, live for `secs`.
    let tally = Arc::new(Mutex::new(Tally::default()));
    read_page(
        &url,
        everything(),
        Instant::now() + Duration::from_secs(secs),
        tally.clone(),
    )
    .await?;
    let series = relay.hub().store().num_series();
    eprintln!("demo fleet: {series} series, scraped every 1 s");
    {
        let t = tally.lock().unwrap_or_else(|e| e.into_inner());
        row(
            "live bytes/sample (demo fleet, whole frames)",
            t.live_bytes as f64 / t.live_samples.max(1) as f64,
            "B",
            "<= 2",
        );
        let p = publish.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p99) = p99_ms(&p, &t.decoded_at) {
            row("publish-to-decode p99, 1 page", p99, "ms", "<= 50");
        }
    }

    // History: a new page asks for the whole window.
    let tally = Arc::new(Mutex::new(Tally::default()));
    read_page(
        &url,
        everything(),
        Instant::now() + Duration::from_secs(3),
        tally.clone(),
    )
    .await?;
    {
        let t = tally.lock().unwrap_or_else(|e| e.into_inner());
        row(
            &format!(
                "history bytes/sample ({} samples as stored chunks)",
                t.history_samples
            ),
            t.history_bytes as f64 / t.history_samples.max(1) as f64,
            "B",
            "<= 2",
        );
    }

    // Many connections, each subscribed to one job's `up` and request counters.
    let rss_before = rss_bytes();
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut held = Vec::new();
    for i in 0..connections {
        let job = ["gateway", "checkout", "payments", "inventory", "database"][i % 5];
        let m = vec![
            MatcherSpec::new("job", MatchOp::Equal, job),
            MatcherSpec::new("__name__", MatchOp::RegexMatch, "up|http_requests_total"),
        ];
        held.push(tokio::spawn(hold(url.clone(), m, stop.clone())));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let open = relay
        .hub()
        .metrics
        .connections
        .load(std::sync::atomic::Ordering::Relaxed);
    row(
        "subscribed connections held",
        open as f64,
        "conns",
        ">= 1000",
    );
    let tally = Arc::new(Mutex::new(Tally::default()));
    read_page(
        &url,
        everything(),
        Instant::now() + Duration::from_secs(secs / 2),
        tally.clone(),
    )
    .await?;
    let rss_after = rss_bytes();
    row(
        "memory per connection (relay + client, upper bound)",
        rss_after.saturating_sub(rss_before) as f64 / 1024.0 / connections.max(1) as f64,
        "KiB",
        "<= 100",
    );
    {
        let t = tally.lock().unwrap_or_else(|e| e.into_inner());
        let p = publish.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p99) = p99_ms(&p, &t.decoded_at) {
            row(
                &format!("publish-to-decode p99, 1 page beside {connections} connections"),
                p99,
                "ms",
                "<= 50",
            );
        }
    }
    stop.notify_waiters();
    for h in held {
        h.abort();
    }
    relay.shutdown();

    // History from a fuller window: the demo scraped every 50 ms for `secs` seconds, so each
    // series has a few hundred samples (a 3 h window at 15 s holds 720).
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        demo: true,
        scrape_interval: Duration::from_millis(50),
        scrape_timeout: Duration::from_millis(50),
        ..RelayConfig::default()
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let url = format!("ws://{}/api/v1/stream", relay.local_addr());
    let tally = Arc::new(Mutex::new(Tally::default()));
    read_page(
        &url,
        everything(),
        Instant::now() + Duration::from_secs(3),
        tally.clone(),
    )
    .await?;
    {
        let t = tally.lock().unwrap_or_else(|e| e.into_inner());
        let series = relay.hub().store().num_series().max(1);
        row(
            &format!(
                "history bytes/sample ({} samples/series as stored chunks)",
                t.history_samples / series
            ),
            t.history_bytes as f64 / t.history_samples.max(1) as f64,
            "B",
            "<= 2",
        );
    }
    relay.shutdown();
    Ok(())
}
