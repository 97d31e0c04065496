//! The embedded demo fleet: simulated services on loopback ports with metrics worth looking at —
//! request counters by method/route/status, latency histograms, CPU, memory and queue depth, a
//! daily shape, and incidents (error bursts, latency spikes, a restart that resets counters).

use std::f64::consts::TAU;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::task::JoinHandle;

use crate::scrape::{ScrapeTarget, now_ms};

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

struct Route {
    method: &'static str,
    path: &'static str,
    /// Requests per second at the daily mean.
    rps: f64,
    /// Median latency in seconds.
    latency: f64,
}

struct ServiceSpec {
    name: &'static str,
    routes: &'static [Route],
    /// Fraction of requests that fail normally.
    error_ratio: f64,
    memory_mb: f64,
    has_queue: bool,
}

const FLEET: &[ServiceSpec] = &[
    ServiceSpec {
        name: "gateway",
        routes: &[
            Route {
                method: "GET",
                path: "/",
                rps: 40.0,
                latency: 0.012,
            },
            Route {
                method: "GET",
                path: "/api/products",
                rps: 25.0,
                latency: 0.03,
            },
            Route {
                method: "POST",
                path: "/api/cart",
                rps: 6.0,
                latency: 0.05,
            },
        ],
        error_ratio: 0.002,
        memory_mb: 180.0,
        has_queue: false,
    },
    ServiceSpec {
        name: "checkout",
        routes: &[
            Route {
                method: "POST",
                path: "/checkout",
                rps: 3.0,
                latency: 0.12,
            },
            Route {
                method: "GET",
                path: "/checkout/status",
                rps: 8.0,
                latency: 0.02,
            },
        ],
        error_ratio: 0.01,
        memory_mb: 320.0,
        has_queue: true,
    },
    ServiceSpec {
        name: "payments",
        routes: &[Route {
            method: "POST",
            path: "/charge",
            rps: 2.5,
            latency: 0.25,
        }],
        error_ratio: 0.005,
        memory_mb: 256.0,
        has_queue: true,
    },
    ServiceSpec {
        name: "inventory",
        routes: &[
            Route {
                method: "GET",
                path: "/stock",
                rps: 20.0,
                latency: 0.008,
            },
            Route {
                method: "PUT",
                path: "/stock",
                rps: 1.5,
                latency: 0.04,
            },
        ],
        error_ratio: 0.001,
        memory_mb: 140.0,
        has_queue: false,
    },
    ServiceSpec {
        name: "database",
        routes: &[
            Route {
                method: "SELECT",
                path: "query",
                rps: 120.0,
                latency: 0.002,
            },
            Route {
                method: "UPDATE",
                path: "query",
                rps: 15.0,
                latency: 0.006,
            },
        ],
        error_ratio: 0.0005,
        memory_mb: 2048.0,
        has_queue: false,
    },
];

/// A deterministic value in [0, 1) for a key, so the fleet looks random but is repeatable.
fn noise(key: u64) -> f64 {
    let mut x = key.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[derive(Default)]
struct RouteState {
    /// Requests by status code.
    ok: f64,
    client_err: f64,
    server_err: f64,
    buckets: [f64; BUCKETS.len()],
    sum: f64,
}

struct ServiceState {
    last_ms: i64,
    start_ms: i64,
    cpu: f64,
    routes: Vec<RouteState>,
}

struct Service {
    index: usize,
    spec: &'static ServiceSpec,
    state: Mutex<ServiceState>,
}

/// Incidents come from the wall clock, so every scrape sees the same story.
fn incident(service: usize, t_ms: i64) -> (f64, f64) {
    let minute = t_ms / 60_000;
    // Error bursts: payments fails a lot for 2 minutes out of every 17.
    let errors = if service == 2 && minute % 17 < 2 {
        25.0
    } else {
        1.0
    };
    // Latency spikes: inventory is slow for 3 minutes out of every 23.
    let slow = if service == 3 && minute % 23 < 3 {
        8.0
    } else {
        1.0
    };
    (errors, slow)
}

impl Service {
    /// Service `index` of the fleet, "started" at `started` (ms) with its counters at zero.
    fn new(index: usize, spec: &'static ServiceSpec, started: i64) -> Service {
        Service {
            index,
            spec,
            state: Mutex::new(ServiceState {
                last_ms: started,
                start_ms: started,
                cpu: 0.0,
                routes: spec.routes.iter().map(|_| RouteState::default()).collect(),
            }),
        }
    }

    /// Advances counters to `now` and renders the exposition text.
    fn render(&self, now: i64) -> String {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // checkout restarts every 31 minutes: its counters start again from zero.
        if self.index == 1 && now / (31 * 60_000) != st.start_ms / (31 * 60_000) {
            *st = ServiceState {
                last_ms: now,
                start_ms: now,
                cpu: 0.0,
                routes: self
                    .spec
                    .routes
                    .iter()
                    .map(|_| RouteState::default())
                    .collect(),
            };
        }
        let dt = ((now - st.last_ms).max(0) as f64 / 1000.0).min(3600.0);
        st.last_ms = now;
        let day = (now as f64 / 86_400_000.0) * TAU;
        let shape = 1.0 + 0.45 * day.sin() + 0.1 * (day * 7.0).sin();
        let (error_boost, slow) = incident(self.index, now);
        let mut total_rps = 0.0;
        for (i, (route, rs)) in self
            .spec
            .routes
            .iter()
            .zip(st.routes.iter_mut())
            .enumerate()
        {
            let jitter =
                0.85 + 0.3 * noise((now / 5000) as u64 ^ ((self.index * 16 + i) as u64) << 40);
            let rps = route.rps * shape * jitter;
            total_rps += rps;
            let n = rps * dt;
            let err = (self.spec.error_ratio * error_boost).min(0.9);
            rs.server_err += n * err;
            rs.client_err += n * 0.01;
            rs.ok += n * (1.0 - err - 0.01);
            // Latency: a log-normal-ish spread around the median, slower under incidents.
            let median = route.latency * slow * (0.9 + 0.2 * jitter);
            let mut acc = 0.0;
            for (b, le) in BUCKETS.iter().enumerate() {
                let z = (le / median).ln() / 0.6;
                let cdf = 0.5 * (1.0 + (z / (1.0 + 0.2 * z.abs())).tanh().clamp(-1.0, 1.0));
                let frac = cdf.max(acc);
                acc = frac;
                rs.buckets[b] += n * frac;
            }
            rs.sum += n * median * 1.2;
        }
        st.cpu += dt
            * (0.05 + total_rps * 0.004)
            * (0.9 + 0.2 * noise(now as u64 / 1000 + self.index as u64));

        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP http_requests_total Requests handled, by method, route and status code."
        );
        let _ = writeln!(out, "# TYPE http_requests_total counter");
        for (route, rs) in self.spec.routes.iter().zip(&st.routes) {
            for (code, v) in [
                ("200", rs.ok),
                ("404", rs.client_err),
                ("500", rs.server_err),
            ] {
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{}\",route=\"{}\",code=\"{code}\"}} {}",
                    route.method,
                    route.path,
                    v.floor()
                );
            }
        }
        let _ = writeln!(out, "# HELP http_request_duration_seconds Request latency.");
        let _ = writeln!(out, "# TYPE http_request_duration_seconds histogram");
        for (route, rs) in self.spec.routes.iter().zip(&st.routes) {
            let count = (rs.ok + rs.client_err + rs.server_err).floor();
            let labels = format!("method=\"{}\",route=\"{}\"", route.method, route.path);
            for (le, v) in BUCKETS.iter().zip(rs.buckets) {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    v.floor().min(count)
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {:.3}",
                rs.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        let mem = self.spec.memory_mb
            * 1048576.0
            * (1.0 + 0.1 * (day * 3.0).sin() + 0.05 * noise(now as u64 / 15_000));
        let _ = writeln!(
            out,
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds."
        );
        let _ = writeln!(out, "# TYPE process_cpu_seconds_total counter");
        let _ = writeln!(out, "process_cpu_seconds_total {:.2}", st.cpu);
        let _ = writeln!(
            out,
            "# HELP process_resident_memory_bytes Resident memory size in bytes."
        );
        let _ = writeln!(out, "# TYPE process_resident_memory_bytes gauge");
        let _ = writeln!(out, "process_resident_memory_bytes {}", mem.floor());
        let _ = writeln!(
            out,
            "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds."
        );
        let _ = writeln!(out, "# TYPE process_start_time_seconds gauge");
        let _ = writeln!(out, "process_start_time_seconds {}", st.start_ms / 1000);
        if self.spec.has_queue {
            let depth =
                (total_rps * 0.8 * error_boost.sqrt() * (0.5 + noise(now as u64 / 10_000 + 7)))
                    .floor();
            let _ = writeln!(out, "# HELP queue_depth Jobs waiting in the work queue.");
            let _ = writeln!(out, "# TYPE queue_depth gauge");
            let _ = writeln!(out, "queue_depth {depth}");
        }
        let _ = writeln!(out, "# HELP demo_build_info Build of the demo service.");
        let _ = writeln!(out, "# TYPE demo_build_info gauge");
        let _ = writeln!(
            out,
            "demo_build_info{{service=\"{}\",version=\"1.{}.0\"}} 1",
            self.spec.name,
            self.index + 3
        );
        out
    }
}

async fn metrics(State(svc): State<Arc<Service>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        svc.render(now_ms()),
    )
}

/// Starts every demo service on a free loopback port; returns the targets to scrape.
pub async fn start_fleet() -> anyhow::Result<(Vec<ScrapeTarget>, Vec<JoinHandle<()>>)> {
    start_fleet_scaled(1).await
}

/// Starts `replicas` instances of every demo service (about 220 series per replica), each on
/// its own loopback port: the fleet the streaming benchmark scales to 10k series. Replicas
/// "started" at different times, so their counters differ.
pub async fn start_fleet_scaled(
    replicas: usize,
) -> anyhow::Result<(Vec<ScrapeTarget>, Vec<JoinHandle<()>>)> {
    let now = now_ms();
    let mut targets = Vec::new();
    let mut tasks = Vec::new();
    for replica in 0..replicas.max(1) {
        for (index, spec) in FLEET.iter().enumerate() {
            // Services "started" a while ago, so counters do not begin at zero.
            let started = now - 3_600_000 - replica as i64 * 97_000;
            let svc = Arc::new(Service::new(index, spec, started));
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
            let addr = listener.local_addr()?;
            targets.push(ScrapeTarget::new(
                spec.name,
                format!("http://{addr}/metrics"),
            ));
            let app = Router::new()
                .route("/metrics", get(metrics))
                .with_state(svc);
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
        }
    }
    Ok((targets, tasks))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a panic is the failure report
mod tests {
    use super::*;
    use lookout_tsdb::exposition::{Entry, Parser};

    #[test]
    fn every_service_renders_valid_exposition_with_growing_counters() {
        for (index, spec) in FLEET.iter().enumerate() {
            let svc = Service::new(index, spec, 0);
            let total = |body: &str| -> f64 {
                Parser::new(body)
                    .map(|e| e.unwrap())
                    .filter_map(|e| match e {
                        Entry::Sample(s) if s.name == "http_requests_total" => Some(s.value),
                        _ => None,
                    })
                    .sum()
            };
            let a = total(&svc.render(60_000));
            let b = total(&svc.render(120_000));
            assert!(b > a, "{}: {a} -> {b}", spec.name);
        }
    }

    /// What the live stream costs for the demo fleet at a real scrape interval: every service's
    /// scrapes 15 s apart, in 4 replicas started at different times, through one subscription's
    /// block encoder as the relay sends them. Sizes are deterministic (the fleet's noise is keyed
    /// on time), so this is a plain regression check of the wire format, not a timing.
    #[test]
    fn the_demo_fleet_streams_live_at_under_two_bytes_a_sample_at_15s() {
        use std::collections::HashMap;
        let start = 1_765_000_000_000i64;
        let mut services = Vec::new();
        for replica in 0..4 {
            for (index, spec) in FLEET.iter().enumerate() {
                let started = start - 3_600_000 - replica * 97_000;
                services.push(Service::new(index, spec, started));
            }
        }
        let mut refs: HashMap<String, u32> = HashMap::new();
        let mut enc = lookout_wire::BlockEncoder::default();
        let (mut bytes, mut samples) = (0usize, 0usize);
        for k in 0..80i64 {
            for (i, svc) in services.iter().enumerate() {
                // Scrapes of one round land a little apart, as they do.
                let t = start + k * 15_000 + i as i64 * 37;
                let body = svc.render(t);
                let mut batch = lookout_wire::SampleBatch::default();
                for e in Parser::new(&body) {
                    let Entry::Sample(s) = e.unwrap() else {
                        continue;
                    };
                    let key = format!("{i}/{}/{:?}", s.name, s.labels);
                    let n = refs.len() as u32;
                    let r = *refs.entry(key).or_insert(n);
                    batch.push(r, t, s.value);
                }
                let encoded = enc.encode(&batch);
                // The first round primes the series; the steady state is what counts.
                if k >= 2 {
                    bytes += encoded.len();
                    samples += batch.len();
                }
            }
        }
        let per_sample = bytes as f64 / samples as f64;
        eprintln!("demo fleet at 15 s: {per_sample:.3} bytes/sample over {samples} samples");
        assert!(per_sample <= 2.0, "{per_sample:.3} bytes/sample");
    }
}
