//! HTTP: the app's static files, the WebSocket stream, and Prometheus-shaped endpoints.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

use crate::hub::Hub;
use crate::scrape::Health;

pub(crate) fn router(hub: Arc<Hub>, dist: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route("/api/v1/stream", get(stream))
        .route("/api/v1/targets", get(targets))
        .route("/metrics", get(metrics))
        .route("/-/healthy", get(|| async { "Lookout relay is Healthy.\n" }))
        .route("/-/ready", get(|| async { "Lookout relay is Ready.\n" }))
        .with_state(hub);
    match dist {
        Some(dir) => {
            let index = dir.join("index.html");
            api.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
        }
        None => api.fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "no app is served: start the relay with --dist DIR\n") }),
    }
}

async fn stream(ws: WebSocketUpgrade, State(hub): State<Arc<Hub>>) -> Response {
    ws.max_message_size(lookout_wire::MAX_FRAME_BYTES)
        .on_upgrade(move |socket| crate::stream::serve(socket, hub))
}

/// `GET /api/v1/targets` in the shape of Prometheus's.
async fn targets(State(hub): State<Arc<Hub>>) -> Json<serde_json::Value> {
    let active: Vec<_> = hub
        .targets()
        .into_iter()
        .map(|t| {
            serde_json::json!({
                "labels": { "job": t.target.job, "instance": t.target.instance },
                "scrapePool": t.target.job,
                "scrapeUrl": t.target.url,
                "health": t.health,
                "lastError": t.last_error,
                "lastScrape": t.last_scrape,
                "lastScrapeDuration": t.last_scrape_duration,
            })
        })
        .collect();
    Json(serde_json::json!({ "status": "success", "data": { "activeTargets": active, "droppedTargets": [] } }))
}

/// The relay's own metrics, in the Prometheus text format.
async fn metrics(State(hub): State<Arc<Hub>>) -> impl IntoResponse {
    let m = &hub.metrics;
    let (series, targets) = (hub.store().num_series(), hub.targets());
    let up = targets.iter().filter(|t| t.health == Health::Up).count();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, v: f64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    };
    metric("lookout_scrapes_total", "counter", "Scrapes attempted.", m.scrapes_total.load(Ordering::Relaxed) as f64);
    metric("lookout_scrape_failures_total", "counter", "Scrapes that failed.", m.scrape_failures_total.load(Ordering::Relaxed) as f64);
    metric("lookout_samples_appended_total", "counter", "Samples stored in the window.", m.samples_appended_total.load(Ordering::Relaxed) as f64);
    metric("lookout_samples_rejected_total", "counter", "Samples the window refused (out of order, duplicate timestamp).", m.samples_rejected_total.load(Ordering::Relaxed) as f64);
    metric("lookout_connections", "gauge", "Open page connections.", m.connections.load(Ordering::Relaxed) as f64);
    metric("lookout_frames_sent_total", "counter", "Frames sent to pages.", m.frames_sent_total.load(Ordering::Relaxed) as f64);
    metric("lookout_bytes_sent_total", "counter", "Bytes sent to pages.", m.bytes_sent_total.load(Ordering::Relaxed) as f64);
    metric("lookout_connections_lagged_total", "counter", "Connections closed because they fell behind the live feed.", m.lagged_total.load(Ordering::Relaxed) as f64);
    metric("lookout_series", "gauge", "Series in the window.", series as f64);
    metric("lookout_targets", "gauge", "Scrape targets.", targets.len() as f64);
    metric("lookout_targets_up", "gauge", "Scrape targets whose last scrape succeeded.", up as f64);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out)
}
