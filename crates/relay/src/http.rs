//! HTTP: the app's static files, the WebSocket stream, and Prometheus-shaped endpoints.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRef, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use tower_http::services::{ServeDir, ServeFile};

use crate::ConfigControl;
use crate::hub::Hub;
use crate::scrape::Health;

/// What the handlers share: the hub, and the config to reload.
#[derive(Clone)]
struct AppState {
    hub: Arc<Hub>,
    control: Arc<ConfigControl>,
}

impl FromRef<AppState> for Arc<Hub> {
    fn from_ref(s: &AppState) -> Arc<Hub> {
        s.hub.clone()
    }
}

pub(crate) fn router(
    hub: Arc<Hub>,
    dist: Option<PathBuf>,
    control: Arc<ConfigControl>,
    embed_origins: Vec<String>,
) -> Router {
    let api = Router::new()
        .route("/api/v1/stream", get(stream))
        .route("/api/v1/targets", get(targets))
        .route("/-/reload", post(reload).put(reload))
        .route("/metrics", get(metrics))
        .route(
            "/-/healthy",
            get(|| async { "Lookout relay is Healthy.\n" }),
        )
        .route("/-/ready", get(|| async { "Lookout relay is Ready.\n" }))
        .with_state(AppState { hub, control });
    match dist {
        Some(dir) => {
            let index = dir.join("index.html");
            // `cargo xtask build-ui` writes `.gz` beside the wasm, js and css.
            let app = ServeDir::new(dir)
                .precompressed_gzip()
                .fallback(ServeFile::new(index));
            let shell = Arc::new(Shell::new(embed_origins));
            api.fallback_service(app)
                .layer(axum::middleware::map_response_with_state(
                    shell,
                    shell_headers,
                ))
        }
        None => api.fallback(|| async {
            (
                axum::http::StatusCode::NOT_FOUND,
                "no app is served: start the relay with --dist DIR\n",
            )
        }),
    }
}

/// An embed origin must be `scheme://host[:port]` (what a browser sends as `Origin`), or `*`.
pub(crate) fn check_origin(o: &str) -> anyhow::Result<()> {
    if o == "*" {
        return Ok(());
    }
    let (scheme, rest) = o.split_once("://").ok_or_else(|| {
        anyhow::anyhow!("expected scheme://host[:port], e.g. https://status.example.com")
    })?;
    anyhow::ensure!(
        matches!(scheme, "http" | "https"),
        "the scheme must be http or https, not {scheme:?}"
    );
    anyhow::ensure!(
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')),
        "expected only a host and port after {scheme}:// (no path, no trailing slash)"
    );
    Ok(())
}

/// The headers of the app's files: its policy (CSP), who may frame it, who may load it.
struct Shell {
    /// The CSP of every page but `/embed`: framed by its own origin only.
    app_csp: HeaderValue,
    /// The CSP of `/embed`: framed by its own origin and the embed origins.
    embed_csp: HeaderValue,
    embed_origins: Vec<String>,
}

/// What every page may do: scripts and wasm only from the relay (`'wasm-unsafe-eval'` is what
/// compiling wasm needs; no `unsafe-eval`, no inline scripts), the stream to any relay the URL
/// names, no plugins, no `<base>`. Inline styles are allowed: the layout sets grid positions in
/// `style` attributes, and CSS cannot run script.
fn csp(frame_ancestors: &str) -> HeaderValue {
    let v = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src 'self' ws: wss:; worker-src 'self'; \
         manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors {frame_ancestors}"
    );
    // Origins were checked to be header-safe at start.
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'self'"))
}

impl Shell {
    fn new(embed_origins: Vec<String>) -> Shell {
        let ancestors = if embed_origins.iter().any(|o| o == "*") {
            "*".to_owned()
        } else {
            std::iter::once("'self'")
                .chain(embed_origins.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        };
        Shell {
            app_csp: csp("'self'"),
            embed_csp: csp(&ancestors),
            embed_origins,
        }
    }

    fn may_embed(&self, origin: &str) -> bool {
        self.embed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }
}

/// The `<lookout-panel>` loader `cargo xtask build-ui` writes into the app's files.
const EMBED_LOADER: &str = "/embed.js";
const TIMING_ALLOW_ORIGIN: header::HeaderName =
    header::HeaderName::from_static("timing-allow-origin");

/// Pages get their CSP (`/embed` its wider `frame-ancestors`); the service worker and
/// index.html are revalidated on every load (`no-cache`: the browser only notices a new build
/// through them, while the hashed wasm/js/css may be cached freely); an embed origin may load the
/// files across origins (CORS), for the `<lookout-panel>` element on its pages.
async fn shell_headers(
    State(shell): State<Arc<Shell>>,
    uri: axum::http::Uri,
    req_headers: axum::http::HeaderMap,
    mut resp: Response,
) -> Response {
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let path = uri.path();
    let headers = resp.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `embed.js` is not named by its content: a new build must reach host pages through it.
    if html || path == "/sw.js" || path == EMBED_LOADER {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    if html {
        let embed = path == "/embed" || path.starts_with("/embed/");
        let policy = if embed {
            &shell.embed_csp
        } else {
            &shell.app_csp
        };
        headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    } else if path == EMBED_LOADER {
        // Any site may load the loader: on a site the relay does not list, it is what tells the
        // visitor so inside the element (the app's own files, which it loads next, are refused
        // by CORS, and the stream by its Origin check). It holds nothing but file names.
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(TIMING_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    } else if let Some(origin) = req_headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| shell.may_embed(o))
        .and_then(|o| HeaderValue::from_str(o).ok())
    {
        // An embedding site may also see what the embed costs it (Resource Timing sizes).
        headers.insert(TIMING_ALLOW_ORIGIN, origin.clone());
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    if !html && !shell.embed_origins.is_empty() {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    resp
}

async fn stream(
    ws: WebSocketUpgrade,
    headers: axum::http::HeaderMap,
    State(hub): State<Arc<Hub>>,
) -> Response {
    crate::stream::upgrade(ws, headers, hub).await
}

/// `POST /-/reload`: re-reads the config file; when it is invalid the running config stays and
/// the answer says why (500, as Prometheus answers).
async fn reload(State(control): State<Arc<ConfigControl>>) -> Response {
    match control.reload().await {
        Ok(()) => (axum::http::StatusCode::OK, "configuration reloaded\n").into_response(),
        Err(e) => {
            tracing::error!("reload failed, keeping the old config: {e}");
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("failed to reload config: {e}\n"),
            )
                .into_response()
        }
    }
}

impl FromRef<AppState> for Arc<ConfigControl> {
    fn from_ref(s: &AppState) -> Arc<ConfigControl> {
        s.control.clone()
    }
}

#[derive(serde::Deserialize)]
struct TargetsQuery {
    state: Option<String>,
}

fn label_object(pairs: &[(String, String)]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect()
}

/// RFC 3339 in UTC with milliseconds, as Prometheus's JSON times.
fn rfc3339(ms: i64) -> String {
    if ms <= 0 {
        return "0001-01-01T00:00:00Z".to_owned();
    }
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `GET /api/v1/targets` in the shape of Prometheus's (`?state=active|dropped|any`).
///
/// Besides Prometheus's fields, `data.externalLabels` carries `global.external_labels`: they
/// describe this relay (region, replica, ...) to pages, which are what federation and remote
/// write are to Prometheus, while stored series stay without them, as in Prometheus.
async fn targets(
    State(hub): State<Arc<Hub>>,
    State(control): State<Arc<ConfigControl>>,
    Query(q): Query<TargetsQuery>,
) -> Json<serde_json::Value> {
    let state = q.state.as_deref().unwrap_or("any");
    let mut active: Vec<serde_json::Value> = Vec::new();
    if state == "any" || state == "active" {
        let mut ts = hub.targets();
        ts.sort_by(|a, b| (&a.scrape_pool, &a.scrape_url).cmp(&(&b.scrape_pool, &b.scrape_url)));
        active = ts
            .into_iter()
            .map(|t| {
                serde_json::json!({
                    "discoveredLabels": label_object(&t.discovered_labels),
                    "labels": label_object(&t.labels),
                    "scrapePool": t.scrape_pool,
                    "scrapeUrl": t.scrape_url,
                    "globalUrl": t.scrape_url,
                    "lastError": t.last_error,
                    "lastScrape": rfc3339(t.last_scrape),
                    "lastScrapeDuration": t.last_scrape_duration,
                    "health": t.health,
                    "scrapeInterval": crate::config::format_duration(t.interval),
                    "scrapeTimeout": crate::config::format_duration(t.timeout),
                })
            })
            .collect();
    }
    let mut dropped: Vec<serde_json::Value> = Vec::new();
    if state == "any" || state == "dropped" {
        dropped = hub
            .dropped_targets()
            .into_iter()
            .map(|(_, d)| serde_json::json!({ "discoveredLabels": label_object(&d) }))
            .collect();
    }
    Json(serde_json::json!({
        "status": "success",
        "data": {
            "activeTargets": active,
            "droppedTargets": dropped,
            "externalLabels": control.external_labels(),
        },
    }))
}

/// The relay's own metrics, in the Prometheus text format.
async fn metrics(State(hub): State<Arc<Hub>>) -> impl IntoResponse {
    let m = &hub.metrics;
    let (series, targets) = (hub.store().num_series(), hub.targets());
    let up = targets.iter().filter(|t| t.health == Health::Up).count();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, v: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
        );
    };
    metric(
        "lookout_scrapes_total",
        "counter",
        "Scrapes attempted.",
        m.scrapes_total.load(Ordering::Relaxed) as f64,
    );
    metric(
        "lookout_scrape_failures_total",
        "counter",
        "Scrapes that failed.",
        m.scrape_failures_total.load(Ordering::Relaxed) as f64,
    );
    metric(
        "lookout_samples_appended_total",
        "counter",
        "Samples stored in the window.",
        m.samples_appended_total.load(Ordering::Relaxed) as f64,
    );
    metric(
        "lookout_samples_rejected_total",
        "counter",
        "Samples the window refused (out of order, duplicate timestamp).",
        m.samples_rejected_total.load(Ordering::Relaxed) as f64,
    );
    metric(
        "lookout_connections",
        "gauge",
        "Open page connections.",
        m.connections.load(Ordering::Relaxed) as f64,
    );
    metric(
        "lookout_frames_sent_total",
        "counter",
        "Frames sent to pages.",
        m.frames_sent_total.load(Ordering::Relaxed) as f64,
    );
    metric(
        "lookout_bytes_sent_total",
        "counter",
        "Bytes sent to pages.",
        m.bytes_sent_total.load(Ordering::Relaxed) as f64,
    );
    metric(
        "lookout_connections_lagged_total",
        "counter",
        "Connections closed because they fell behind the live feed.",
        m.lagged_total.load(Ordering::Relaxed) as f64,
    );
    metric(
        "lookout_series",
        "gauge",
        "Series in the window.",
        series as f64,
    );
    metric(
        "lookout_targets",
        "gauge",
        "Scrape targets.",
        targets.len() as f64,
    );
    metric(
        "lookout_targets_up",
        "gauge",
        "Scrape targets whose last scrape succeeded.",
        up as f64,
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
