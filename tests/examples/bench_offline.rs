//! `cargo xtask bench offline`: the page's offline cache in headless Chromium with a real relay.
//!
//! 1. First panel from cache: a snapshot of 1,000 series × 24 h at 15 s is built natively,
//!    placed in the origin private file system the way the page writes it (a base and the
//!    manifest), and the page is opened with no reachable relay; the time from navigation to the
//!    first panel drawn after the restore (User Timing: `lookout:restore`, then the panel's
//!    `lookout:render:*`) is the row. Median of 5 loads with the app shell cached.
//! 2. Snapshot write cost: the same page live against a relay scraping those 1,000 series every
//!    15 s for a minute; the row is the main-thread time of the writes (`lookout:persist`:
//!    encoding the delta and copying it out to the file API) as a share of the wall time.
//!
//! Prints one JSON row per line. Needs the built app (`LOOKOUT_DIST`) and chromedriver.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::routing::get;
use lookout_tests::client::{lookout_binary, now_ms};
use lookout_tests::webdriver::Browser;
use lookout_tsdb::{Labels, Store};
use serde_json::json;

const SERIES: usize = 1000;
const STEP_MS: i64 = 15_000;
const DAY_MS: i64 = 24 * 3_600_000;
const EXPR: &str = "sum(rate(bench_offline_total[5m]))";

fn counter(i: usize, k: i64) -> f64 {
    // Counters with per-series rates and a little irregularity, as request counters look.
    (k * (i as i64 % 17 + 1) + (k * 7 + i as i64) % 5) as f64
}

/// A target with the bench's 1,000 counters (continuing the snapshot's values), which also
/// serves the snapshot file to the page (CORS: it is another port).
fn serve(l: tokio::net::TcpListener, snapshot: Arc<Vec<u8>>) {
    let scrapes = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route(
            "/metrics",
            get(move |State(n): State<Arc<AtomicU64>>| async move {
                let k = n.fetch_add(1, Ordering::SeqCst) as i64;
                let mut body = String::with_capacity(SERIES * 40);
                for i in 0..SERIES {
                    body.push_str(&format!(
                        "bench_offline_total{{i=\"{i}\"}} {}\n",
                        counter(i, k)
                    ));
                }
                body
            }),
        )
        .route(
            "/snapshot",
            get(move || {
                let s = snapshot.clone();
                async move {
                    (
                        [
                            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                            (header::CONTENT_TYPE, "application/octet-stream"),
                        ],
                        s.as_ref().clone(),
                    )
                }
            }),
        )
        .with_state(scrapes);
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
}

fn snapshot(instance: &str, end: i64) -> (Vec<u8>, usize) {
    let mut store = Store::default();
    let start = end - DAY_MS;
    let n = DAY_MS / STEP_MS;
    for i in 0..SERIES {
        let labels = Labels::new([
            ("__name__", "bench_offline_total".to_owned()),
            ("i", i.to_string()),
            ("instance", instance.to_owned()),
            ("job", "bench".to_owned()),
        ]);
        let id = store.series_id(&labels);
        for k in 0..n {
            let _ = store.append(id, start + k * STEP_MS, counter(i, k - n));
        }
    }
    let samples = store.stats().samples;
    (store.snapshot(), samples)
}

fn row(name: &str, value: f64, unit: &str, target: Option<&str>) {
    let mut r = json!({ "name": name, "value": value, "unit": unit });
    if let Some(t) = target {
        r["target"] = json!(t);
    }
    println!("{r}");
}

const FIRST_DRAW: &str = r#"
const r = performance.getEntriesByName('lookout:restore')[0];
if (!r) return null;
const done = r.startTime + r.duration;
const draws = performance.getEntriesByType('measure')
  .filter(m => m.name.startsWith('lookout:render:') && m.startTime >= done);
if (!draws.length) return null;
const p = document.querySelector('[data-expr]');
return [draws[0].startTime + draws[0].duration, r.duration, p ? Number(p.dataset.seriesCount || 0) : 0];
"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dist = PathBuf::from(
        std::env::var("LOOKOUT_DIST")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../dist").into()),
    );
    anyhow::ensure!(
        dist.join("sw.js").exists(),
        "{} has no built app: run `cargo xtask build-ui`",
        dist.display()
    );
    let bin = lookout_binary()?;
    // The target's address is part of the series' labels: bind first, then build the snapshot.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target = listener.local_addr()?;
    let end = now_ms() / STEP_MS * STEP_MS;
    let (bytes, samples) = snapshot(&target.to_string(), end);
    let base_bytes = bytes.len();
    serve(listener, Arc::new(bytes));

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut relay = tokio::process::Command::new(&bin)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--target",
            &format!("bench=http://{target}/metrics"),
            "--scrape-interval",
            "15s",
            "--dist",
            &dist.to_string_lossy(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let browser = Browser::start().await?;
    let result = measure(&browser, port, target, base_bytes).await;
    browser.close().await;
    let _ = relay.kill().await;
    let m = result?;
    row(
        "snapshot: 1,000 series x 24 h at 15 s",
        samples as f64,
        "samples",
        None,
    );
    row(
        "snapshot size",
        base_bytes as f64 / 1_048_576.0,
        "MiB",
        None,
    );
    row(
        "navigation -> first panel drawn from cache (median of 5)",
        m.first_draw,
        "ms",
        Some("<= 500"),
    );
    row("  of which restore (read + decode)", m.restore, "ms", None);
    row(
        "snapshot writes, main thread, live 1,000 series at 15 s",
        m.share,
        "% of wall time",
        Some("<= 5"),
    );
    row("  deltas alone", m.delta_share, "%", None);
    row("  deltas written per minute", m.writes, "writes", None);
    row(
        "  bytes written per minute",
        m.bytes_per_min / 1024.0,
        "KiB",
        None,
    );
    row(
        "  whole base (compaction), main thread",
        m.base_ms,
        "ms",
        None,
    );
    row(
        "  minutes between compactions",
        m.minutes_between,
        "min",
        None,
    );
    Ok(())
}

/// Writes the snapshot into the page's cache as the page would: base file, then manifest.
const SEED: &str = r#"
const [url, newest] = arguments;
return (async () => {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const root = await navigator.storage.getDirectory();
  await root.removeEntry('lookout-cache', { recursive: true }).catch(() => {});
  const dir = await root.getDirectoryHandle('lookout-cache', { create: true });
  const put = async (name, data) => {
    const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
    await w.write(data); await w.close();
  };
  await put('base-1.lkts', bytes);
  await put('manifest', `lookout-cache 1
generation 1
newest ${newest}
base base-1.lkts ${bytes.length}
`);
  return bytes.length;
})();
"#;

struct Measured {
    first_draw: f64,
    restore: f64,
    delta_share: f64,
    share: f64,
    writes: f64,
    bytes_per_min: f64,
    base_ms: f64,
    minutes_between: f64,
}

async fn measure(
    browser: &Browser,
    port: u16,
    target: std::net::SocketAddr,
    base_bytes: usize,
) -> anyhow::Result<Measured> {
    let origin = format!("http://127.0.0.1:{port}");
    // A same-origin document that does not run the app, to seed its storage.
    lookout_tests::eventually(Duration::from_secs(20), "the relay", || async {
        browser
            .goto(&format!("{origin}/manifest.webmanifest"))
            .await
            .ok()
    })
    .await?;
    let seed = SEED.replace(
        "arguments",
        &format!("[\"http://{target}/snapshot\", {}]", now_ms()),
    );
    let seeded = browser.eval(&seed).await?;
    eprintln!("bench_offline: seeded the cache with {seeded} bytes");
    // Offline: the relay named in the URL is unreachable, so only the cache can draw.
    let offline = format!(
        "{origin}/?expr={}&relay=ws://127.0.0.1:9/api/v1/stream",
        urlencode(EXPR)
    );
    let mut draws = Vec::new();
    let mut restores = Vec::new();
    for i in 0..6 {
        browser.goto(&offline).await?;
        let v = browser
            .wait_for(
                Duration::from_secs(60),
                "the first panel from cache",
                FIRST_DRAW,
            )
            .await?;
        anyhow::ensure!(v[2].as_u64() == Some(1), "the panel drew {:?} series", v[2]);
        // The first load also installs the service worker: not an offline start.
        if i > 0 {
            draws.push(v[0].as_f64().unwrap_or(f64::NAN));
            restores.push(v[1].as_f64().unwrap_or(f64::NAN));
        }
    }
    eprintln!("bench_offline: first draws {draws:?} ms, restores {restores:?} ms");

    // Live for a minute: the relay scrapes the same series every 15 s; the page writes deltas.
    browser
        .goto(&format!("{origin}/?expr={}", urlencode(EXPR)))
        .await?;
    browser
        .wait_for(
            Duration::from_secs(60),
            "live and writing",
            r#"return document.querySelector('.status[data-state="live"]') !== null && document.querySelector('.writer[data-writer="true"]') !== null;"#,
        )
        .await?;
    const WRITTEN: &str = "return Number(document.querySelector('.last-saved').dataset.written);";
    let written0 = browser.eval(WRITTEN).await?.as_f64().unwrap_or(0.0);
    let t0 = browser
        .eval("return performance.now();")
        .await?
        .as_f64()
        .unwrap_or(0.0);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let v = browser
        .eval(&format!(
            "const t0 = {t0}; const now = performance.now(); const m = performance.getEntriesByName('lookout:persist').filter(e => e.startTime >= t0); return [m.reduce((a, e) => a + e.duration, 0), now - t0, m.length];"
        ))
        .await?;
    let (busy, wall, measures) = (
        v[0].as_f64().unwrap_or(0.0),
        v[1].as_f64().unwrap_or(1.0),
        v[2].as_f64().unwrap_or(0.0),
    );
    let written = browser.eval(WRITTEN).await?.as_f64().unwrap_or(0.0) - written0;
    eprintln!(
        "bench_offline: {busy:.1} ms of writes in {wall:.0} ms ({measures} measures), {written} bytes"
    );
    // Two measures per write: the encode and the copy to the file API.
    let writes = measures / 2.0;
    let usage = browser
        .eval("return navigator.storage.estimate().then(e => e.usage);")
        .await?;
    eprintln!("bench_offline: storage usage {usage}");
    let per_min = 60_000.0 / wall;
    // A compaction writes a whole base: the same encode as "Export data", timed around its
    // (synchronous) click handler. It comes every 48 deltas or when the deltas pass half the
    // base, whichever is first; its cost is spread over that many minutes.
    let base_ms = browser
        .eval("const b = document.querySelector('.export'); const t = performance.now(); b.click(); return performance.now() - t;")
        .await?
        .as_f64()
        .unwrap_or(f64::NAN);
    let minutes_between = (48.0 / (writes * per_min).max(1e-9))
        .min(base_bytes as f64 / 2.0 / (written * per_min).max(1.0));
    eprintln!("bench_offline: whole base {base_ms:.1} ms, every {minutes_between:.1} min");
    let share = (busy * per_min + base_ms / minutes_between) / 60_000.0 * 100.0;
    Ok(Measured {
        first_draw: median(&mut draws),
        restore: median(&mut restores),
        delta_share: busy / wall * 100.0,
        share,
        writes: writes * per_min,
        bytes_per_min: written * per_min,
        base_ms,
        minutes_between,
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
