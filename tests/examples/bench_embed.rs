//! `cargo xtask bench embed`: an embedded panel on a cold host page, in headless Chromium with a
//! real relay (the demo fleet) and a host page on another loopback port (another origin).
//!
//! Each of 7 loads starts with the browser's cache cleared and the host page opened afresh; the
//! row is the time from the host page's navigation to the embedded panel's first draw with data
//! (the frame's User Timing mark `lookout:drawn-data:*`, put on the host's clock through
//! `performance.timeOrigin`), median of the loads after the first. It also prints the files the
//! frame downloaded (`{"resources": [...]}`, paths and transferred bytes) for the xtask to size
//! gzipped against the app's own bundle.
//!
//! The same for a `<lookout-panel>` element on a host page (`embed.js`, no frame): navigation
//! to the element's first draw with data, on the host's own clock, and what the host page
//! downloaded from the relay (`{"resources": [...], "variant": "element"}`).
//!
//! Prints one JSON row per line. Needs the built app (`LOOKOUT_DIST`) and chromedriver.

use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use lookout_relay::{Relay, RelayConfig};
use lookout_tests::webdriver::Browser;
use serde_json::{Value, json};

const LOADS: usize = 7;
const EXPR: &str = "sum by (service) (rate(http_requests_total[1m]))";

fn row(name: &str, value: f64, unit: &str, target: Option<&str>) {
    let mut r = json!({ "name": name, "value": value, "unit": unit });
    if let Some(t) = target {
        r["target"] = json!(t);
    }
    println!("{r}");
}

/// In the frame: when the panel first drew with data, on the frame's clock made absolute.
const DRAWN: &str = r#"
const m = performance.getEntriesByType('mark').find(m => m.name.startsWith('lookout:drawn-data:'));
return m ? performance.timeOrigin + m.startTime : null;
"#;

/// In the frame, ms from its navigation: document, wasm and first render done, data drawn.
const PHASES: &str = r#"
const r = n => { const e = performance.getEntriesByType('resource').find(e => e.name.endsWith(n)); return e ? Math.round(e.responseEnd) : null; };
const nav = performance.getEntriesByType('navigation')[0];
const first = performance.getEntriesByType('measure').find(m => m.name.startsWith('lookout:render:'));
const data = performance.getEntriesByType('mark').find(m => m.name.startsWith('lookout:drawn-data:'));
return JSON.stringify({ doc: Math.round(nav.responseEnd), js: r('.js'), wasm: r('.wasm'), first_render: first ? Math.round(first.startTime) : null, data: data ? Math.round(data.startTime) : null });
"#;

/// In the frame: what it downloaded (the document and every resource), path and bytes.
const RESOURCES: &str = r#"
const all = performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'));
return all.map(e => [new URL(e.name).pathname, e.transferSize, e.encodedBodySize]);
"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dist = lookout_tests::dist()?;
    let host = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let host_addr = host.local_addr()?;
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        dist: Some(dist),
        demo: true,
        scrape_interval: Duration::from_secs(1),
        scrape_timeout: Duration::from_millis(900),
        embed_origins: vec![format!("http://{host_addr}")],
        ..RelayConfig::default()
    })
    .await?;
    let q = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let src = format!(
        "http://{}/embed?expr={}&amp;panel=2&amp;from=now-5m",
        relay.local_addr(),
        q(EXPR)
    );
    let page = format!(
        "<!doctype html><html><head><title>status</title></head><body><h1>Status</h1>\
         <iframe src=\"{src}\" width=\"800\" height=\"300\" style=\"border:0\"></iframe></body></html>"
    );
    let element_page = format!(
        "<!doctype html><html><head><title>status</title>\
         <script type=\"module\" src=\"http://{relay}/embed.js\"></script></head><body><h1>Status</h1>\
         <lookout-panel expr=\"{expr}\" panel=\"2\" from=\"now-5m\" style=\"width:800px\"></lookout-panel></body></html>",
        relay = relay.local_addr(),
        expr = EXPR.replace('"', "&quot;")
    );
    let app = Router::new()
        .route("/", get(move || std::future::ready(Html(page.clone()))))
        .route(
            "/element",
            get(move || std::future::ready(Html(element_page.clone()))),
        );
    tokio::spawn(async move {
        let _ = axum::serve(host, app).await;
    });
    // Let the relay scrape a few times: the panel needs two samples for a rate.
    tokio::time::sleep(Duration::from_secs(4)).await;

    let browser = Browser::start().await?;
    let result = async {
        let frame = measure(&browser, &format!("http://{host_addr}/")).await?;
        let element = measure_element(&browser, &format!("http://{host_addr}/element")).await?;
        anyhow::Ok((frame, element))
    }
    .await;
    browser.close().await;
    let ((draws, resources), (element_draws, element_resources)) = result?;
    for (what, draws) in [("iframe", &draws), ("<lookout-panel>", &element_draws)] {
        let mut later: Vec<f64> = draws[1..].to_vec();
        later.sort_by(f64::total_cmp);
        eprintln!("bench_embed: {what} first draws {draws:?} ms");
        row(
            &format!("cold host page -> {what} panel drawn with data (median of 6)"),
            later[later.len() / 2],
            "ms",
            Some("<= 400"),
        );
        row("  the very first load", draws[0], "ms", None);
    }
    println!("{}", json!({ "resources": resources }));
    println!(
        "{}",
        json!({ "resources": element_resources, "variant": "element" })
    );
    Ok(())
}

/// Loads the host page with a `<lookout-panel>` [`LOADS`] times, cache cleared: ms from its
/// navigation to the element's first draw with data, and what the page fetched from the relay.
async fn measure_element(browser: &Browser, host: &str) -> anyhow::Result<(Vec<f64>, Value)> {
    let mut draws = Vec::new();
    let mut resources = Value::Null;
    for _ in 0..LOADS {
        browser.goto("about:blank").await?;
        browser.cdp("Network.clearBrowserCache", json!({})).await?;
        browser.goto(host).await?;
        let drawn = browser
            .wait_for(
                Duration::from_secs(30),
                "the element's panel to draw data",
                "const m = performance.getEntriesByType('mark').find(m => m.name.startsWith('lookout:drawn-data:')); return m ? m.startTime : null;",
            )
            .await?
            .as_f64()
            .unwrap_or(f64::NAN);
        draws.push(drawn);
        // The relay's files only: the host's own page is not the embed's cost.
        resources = browser
            .eval("return performance.getEntriesByType('resource').filter(e => new URL(e.name).origin !== location.origin).map(e => [new URL(e.name).pathname, e.transferSize, e.encodedBodySize]);")
            .await?;
    }
    Ok((draws, resources))
}

async fn measure(browser: &Browser, host: &str) -> anyhow::Result<(Vec<f64>, Value)> {
    browser.set_window_size(1280, 800).await?;
    let mut draws = Vec::new();
    let mut resources = Value::Null;
    for _ in 0..LOADS {
        browser.goto("about:blank").await?;
        browser.cdp("Network.clearBrowserCache", json!({})).await?;
        browser.goto(host).await?;
        let origin = browser
            .eval("return performance.timeOrigin;")
            .await?
            .as_f64()
            .unwrap_or(0.0);
        browser.switch_to_frame(0).await?;
        let drawn = browser
            .wait_for(
                Duration::from_secs(30),
                "the embedded panel to draw data",
                DRAWN,
            )
            .await?
            .as_f64()
            .unwrap_or(f64::NAN);
        draws.push(drawn - origin);
        let phases = browser.eval(PHASES).await?;
        eprintln!(
            "bench_embed: frame opened at {:.0} ms; in the frame: {phases}",
            browser
                .eval("return performance.timeOrigin;")
                .await?
                .as_f64()
                .unwrap_or(0.0)
                - origin
        );
        resources = browser.eval(RESOURCES).await?;
        browser.switch_to_top().await?;
    }
    Ok((draws, resources))
}
