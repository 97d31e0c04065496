//! Targets that misbehave, served over real loopback HTTP: each gets Prometheus's behaviour
//! (the whole scrape fails, `up` = 0, nothing partial stored) and a clear reason in
//! `/api/v1/targets`.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write as _;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use common::*;

fn config(addr: std::net::SocketAddr, extra: &str) -> String {
    format!(
        "global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\nscrape_configs:\n  - job_name: t\n    static_configs:\n      - targets: ['{addr}']\n{extra}"
    )
}

fn text(body: impl Into<String>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body.into(),
    )
}

/// Scrapes a target serving `body` with `extra` job config; returns its targets entry.
async fn scrape_once(
    body: String,
    extra: &str,
) -> (lookout_relay::Relay, serde_json::Value, TempDir) {
    let addr = serve(Router::new().route("/metrics", get(move || async move { text(body) }))).await;
    let dir = TempDir::new("misbehave");
    let relay = relay_with(&dir, &config(addr, extra)).await;
    let t = scraped_target(&relay, "t").await;
    (relay, t, dir)
}

fn up(relay: &lookout_relay::Relay, t: &serde_json::Value) -> Vec<f64> {
    let instance = t["labels"]["instance"].as_str().unwrap().to_owned();
    samples(
        relay,
        &[("__name__", "up"), ("instance", &instance), ("job", "t")],
    )
    .into_iter()
    .map(|(_, v)| v)
    .collect()
}

/// The last value of one of the target's synthetic series (`scrape_samples_scraped`, ...).
fn synthetic(relay: &lookout_relay::Relay, t: &serde_json::Value, name: &str) -> Option<f64> {
    let instance = t["labels"]["instance"].as_str().unwrap().to_owned();
    samples(
        relay,
        &[("__name__", name), ("instance", &instance), ("job", "t")],
    )
    .last()
    .map(|(_, v)| *v)
}

#[tokio::test]
async fn a_gzip_bomb_stops_at_the_body_size_limit() {
    // 64 MiB of zeros compress to about 64 KiB.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = bytes::Bytes::from(enc.finish().unwrap());
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let bomb = bomb.clone();
            async move { ([(header::CONTENT_ENCODING, "gzip")], Body::from(bomb)) }
        }),
    );
    let addr = serve(app).await;
    let dir = TempDir::new("bomb");
    let relay = relay_with(&dir, &config(addr, "    body_size_limit: 1MB\n")).await;
    let t = scraped_target(&relay, "t").await;
    assert_eq!(t["health"], "down");
    assert!(
        t["lastError"]
            .as_str()
            .unwrap()
            .contains("body size limit exceeded"),
        "{t}"
    );
    assert_eq!(up(&relay, &t).last(), Some(&0.0));
}

#[tokio::test]
async fn gzip_bodies_are_accepted() {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(b"zipped_metric 42\n").unwrap();
    let gz = bytes::Bytes::from(enc.finish().unwrap());
    let app = Router::new().route(
        "/metrics",
        get(move |headers: axum::http::HeaderMap| {
            let gz = gz.clone();
            async move {
                // Only compress for clients that asked for it, as real exporters do.
                let asked = headers
                    .get(header::ACCEPT_ENCODING)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("gzip"));
                assert!(asked, "the relay must ask for gzip");
                ([(header::CONTENT_ENCODING, "gzip")], Body::from(gz))
            }
        }),
    );
    let addr = serve(app).await;
    let dir = TempDir::new("gzip");
    let relay = relay_with(&dir, &config(addr, "")).await;
    let t = scraped_target(&relay, "t").await;
    assert_eq!(t["health"], "up", "{t}");
    let inst = addr.to_string();
    let s = samples(
        &relay,
        &[
            ("__name__", "zipped_metric"),
            ("instance", &inst),
            ("job", "t"),
        ],
    );
    assert_eq!(s.last().map(|x| x.1), Some(42.0));
}

#[tokio::test]
async fn an_oversized_body_fails_the_scrape() {
    let body = "x 1\n".repeat(300_000);
    let (relay, t, _d) = scrape_once(body, "    body_size_limit: 1MB\n").await;
    assert_eq!(t["health"], "down");
    assert!(
        t["lastError"]
            .as_str()
            .unwrap()
            .contains("body size limit exceeded")
    );
    assert!(
        series_with(&relay, "__name__", "x").is_empty(),
        "nothing partial"
    );
    // The body was never parsed: nothing counted, as Prometheus reports a failed fetch.
    assert_eq!(synthetic(&relay, &t, "scrape_samples_scraped"), Some(0.0));
    assert!(synthetic(&relay, &t, "scrape_duration_seconds").unwrap() > 0.0);
}

#[tokio::test]
async fn a_trickling_target_times_out() {
    let app = Router::new().route(
        "/metrics",
        get(|| async {
            let stream = futures_util::stream::unfold(0u32, |i| async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                (i < 600).then(|| {
                    (
                        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"a")),
                        i + 1,
                    )
                })
            });
            Body::from_stream(stream)
        }),
    );
    let addr = serve(app).await;
    let dir = TempDir::new("trickle");
    let relay = relay_with(&dir, &config(addr, "")).await;
    let t = scraped_target(&relay, "t").await;
    assert_eq!(t["health"], "down");
    assert!(t["lastError"].as_str().unwrap().contains("deadline"), "{t}");
    assert!(t["lastScrapeDuration"].as_f64().unwrap() < 1.0, "{t}");
}

#[tokio::test]
async fn a_malformed_line_stores_nothing_of_the_scrape() {
    let (relay, t, _d) = scrape_once("good 1\nbad{a=\"1\" 2\n".into(), "").await;
    assert_eq!(t["health"], "down");
    let e = t["lastError"].as_str().unwrap();
    assert!(e.contains("line 2"), "{e}");
    assert!(series_with(&relay, "__name__", "good").is_empty());
    assert_eq!(up(&relay, &t).last(), Some(&0.0));
    // What was parsed before the error is reported, as Prometheus's scrape loop does.
    assert_eq!(synthetic(&relay, &t, "scrape_samples_scraped"), Some(1.0));
    assert_eq!(
        synthetic(&relay, &t, "scrape_samples_post_metric_relabeling"),
        Some(1.0)
    );
    assert!(synthetic(&relay, &t, "scrape_duration_seconds").unwrap() > 0.0);
}

#[tokio::test]
async fn duplicate_series_keep_the_first_sample_and_the_target_up() {
    let (relay, t, _d) = scrape_once("d 1\nd 2\n".into(), "").await;
    assert_eq!(t["health"], "up", "{t}");
    let inst = t["labels"]["instance"].as_str().unwrap().to_owned();
    let s = samples(
        &relay,
        &[("__name__", "d"), ("instance", &inst), ("job", "t")],
    );
    assert!(!s.is_empty() && s.iter().all(|x| x.1 == 1.0), "{s:?}");
}

#[tokio::test]
async fn ten_kilobyte_label_values_pass_or_fail_by_the_limit() {
    let body = format!("big{{v=\"{}\"}} 1\n", "x".repeat(10 * 1024));
    let (relay, t, _d) = scrape_once(body.clone(), "").await;
    assert_eq!(t["health"], "up");
    assert_eq!(series_with(&relay, "__name__", "big").len(), 1);
    let (relay, t, _d) = scrape_once(body, "    label_value_length_limit: 1024\n").await;
    assert_eq!(t["health"], "down");
    let e = t["lastError"].as_str().unwrap();
    assert!(e.starts_with("label_value_length_limit exceeded"), "{e}");
    assert!(
        e.len() < 400,
        "the reason quotes at most 50 characters of the value"
    );
    assert!(series_with(&relay, "__name__", "big").is_empty());
}

#[tokio::test]
async fn more_samples_than_the_limit_fail_the_scrape() {
    let body: String = (0..20).map(|i| format!("s{{i=\"{i}\"}} 1\n")).collect();
    let (relay, t, _d) = scrape_once(body, "    sample_limit: 10\n").await;
    assert_eq!(t["health"], "down");
    assert_eq!(t["lastError"], "sample limit exceeded");
    assert!(series_with(&relay, "__name__", "s").is_empty());
    // Prometheus parses on past the limit to report the full count; series only up to it.
    assert_eq!(synthetic(&relay, &t, "scrape_samples_scraped"), Some(20.0));
    assert_eq!(
        synthetic(&relay, &t, "scrape_samples_post_metric_relabeling"),
        Some(20.0)
    );
    assert_eq!(synthetic(&relay, &t, "scrape_series_added"), Some(10.0));
}

#[tokio::test]
async fn other_limits_fail_the_scrape_with_prometheus_wording() {
    let (_r, t, _d) = scrape_once("m{a=\"1\",b=\"2\"} 1\n".into(), "    label_limit: 3\n").await;
    assert!(
        t["lastError"]
            .as_str()
            .unwrap()
            .starts_with("label_limit exceeded"),
        "{t}"
    );
    let (_r, t, _d) = scrape_once(
        "m{a_very_long_label_name=\"1\"} 1\n".into(),
        "    label_name_length_limit: 10\n",
    )
    .await;
    assert!(
        t["lastError"]
            .as_str()
            .unwrap()
            .starts_with("label_name_length_limit exceeded"),
        "{t}"
    );
}

#[tokio::test]
async fn a_target_setting_job_and_instance_gets_them_exported() {
    let body = "m{job=\"mine\",instance=\"me\"} 1\n".to_owned();
    let (relay, t, _d) = scrape_once(body.clone(), "").await;
    assert_eq!(t["health"], "up");
    let l = &series_with(&relay, "__name__", "m")[0];
    assert_eq!(l.get("job"), Some("t"));
    assert_eq!(l.get("exported_job"), Some("mine"));
    assert_eq!(l.get("exported_instance"), Some("me"));
    let (relay, _t, _d) = scrape_once(body, "    honor_labels: true\n").await;
    let l = &series_with(&relay, "__name__", "m")[0];
    assert_eq!(
        (l.get("job"), l.get("instance")),
        (Some("mine"), Some("me"))
    );
    assert_eq!(l.get("exported_job"), None);
}

#[tokio::test]
async fn openmetrics_is_negotiated_and_parsed() {
    let app = Router::new().route(
        "/metrics",
        get(|headers: axum::http::HeaderMap| async move {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert!(
                accept.starts_with("application/openmetrics-text"),
                "{accept}"
            );
            (
                [(
                    header::CONTENT_TYPE,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )],
                "# TYPE c counter\nc_total 3 # {trace_id=\"a\"} 1\nc_created 1700000000\n# EOF\n",
            )
        }),
    );
    let addr = serve(app).await;
    let dir = TempDir::new("om");
    let relay = relay_with(&dir, &config(addr, "")).await;
    let t = scraped_target(&relay, "t").await;
    assert_eq!(t["health"], "up", "{t}");
    assert_eq!(series_with(&relay, "__name__", "c_total").len(), 1);
}

#[tokio::test]
async fn metric_relabeling_and_target_relabeling_apply() {
    let body = "keep_me 1\ndrop_me 2\n".to_owned();
    let extra = "    relabel_configs:\n      - target_label: team\n        replacement: core\n    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: 'drop_.*'\n        action: drop\n";
    let (relay, t, _d) = scrape_once(body, extra).await;
    assert_eq!(t["labels"]["team"], "core");
    assert_eq!(series_with(&relay, "__name__", "drop_me").len(), 0);
    let l = &series_with(&relay, "__name__", "keep_me")[0];
    assert_eq!(l.get("team"), Some("core"));
    let inst = t["labels"]["instance"].as_str().unwrap().to_owned();
    let post = samples(
        &relay,
        &[
            ("__name__", "scrape_samples_post_metric_relabeling"),
            ("instance", &inst),
            ("job", "t"),
            ("team", "core"),
        ],
    );
    assert_eq!(post.last().map(|x| x.1), Some(1.0));
}

#[tokio::test]
async fn a_target_limit_fails_every_target_of_the_job() {
    let addr = serve(Router::new().route("/metrics", get(|| async { text("a 1\n") }))).await;
    let dir = TempDir::new("tlimit");
    let cfg = format!(
        "global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\nscrape_configs:\n  - job_name: t\n    target_limit: 1\n    static_configs:\n      - targets: ['{addr}', 'localhost:{}']\n",
        addr.port()
    );
    let relay = relay_with(&dir, &cfg).await;
    let t = scraped_target(&relay, "t").await;
    assert_eq!(t["health"], "down");
    assert!(
        t["lastError"]
            .as_str()
            .unwrap()
            .starts_with("target_limit exceeded"),
        "{t}"
    );
}
