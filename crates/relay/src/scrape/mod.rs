//! Scraping: one task per target pulls its `/metrics` at a stable offset within the interval,
//! turns the body into samples (`pipeline`), stores them in the hub's window with the synthetic
//! series Prometheus adds, marks vanished series stale, and publishes the batch to the live feed.
//! `manager` keeps the set of scrape loops in step with the config and discovery.

pub mod manager;
pub mod pipeline;
pub mod target;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lookout_tsdb::{Appended, Labels, STALE_NAN_BITS, SeriesId};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::config::{Authorization, BasicAuth, ScrapeConfig};
use crate::hub::{Hub, ScrapeBatch};
use pipeline::{SampleRules, ScrapeError, SeriesCache, SeriesRef};
use target::Target;

/// The relay's own cap on a body, after decompression, when a job sets no `body_size_limit`.
pub const DEFAULT_BODY_SIZE_LIMIT: u64 = 64 << 20;

/// What Prometheus 2.x sends: OpenMetrics preferred, then the text format.
const ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// A target given on the command line (`--target [JOB=]URL`): a static job of one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScrapeTarget {
    pub job: String,
    pub url: String,
    /// `host:port` of the URL, as Prometheus's `instance` label.
    pub instance: String,
}

impl ScrapeTarget {
    pub fn new(job: impl Into<String>, url: impl Into<String>) -> Self {
        let url = url.into();
        let instance = url
            .split_once("://")
            .map_or(url.as_str(), |(_, rest)| rest)
            .split(['/', '?'])
            .next()
            .unwrap_or_default()
            .to_owned();
        ScrapeTarget {
            job: job.into(),
            url,
            instance,
        }
    }

    /// Parses `[JOB=]URL` as the command line takes it.
    pub fn parse_flag(s: &str) -> Result<Self, String> {
        let (job, url) = match s.split_once('=') {
            Some((job, url)) if !job.contains('/') && !job.contains(':') => (job, url),
            _ => ("targets", s),
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "target {s:?}: expected [JOB=]http://HOST:PORT/PATH"
            ));
        }
        Ok(ScrapeTarget::new(job, url))
    }

    /// The scrape config equivalent to this target: scheme, address, path and query of the URL.
    pub fn to_scrape_config(&self, interval: Duration, timeout: Duration) -> ScrapeConfig {
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("http", &self.url));
        let after_host = &rest[self.instance.len().min(rest.len())..];
        let (path, query) = after_host.split_once('?').unwrap_or((after_host, ""));
        let mut cfg = ScrapeConfig::new(self.job.clone());
        cfg.scheme = scheme.to_owned();
        cfg.metrics_path = if path.is_empty() {
            "/".into()
        } else {
            path.to_owned()
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            cfg.params
                .entry(k.to_owned())
                .or_default()
                .push(v.to_owned());
        }
        cfg.scrape_interval = Some(interval);
        cfg.scrape_timeout = Some(timeout.min(interval));
        cfg.static_configs.push(crate::config::StaticConfig {
            targets: vec![self.instance.clone()],
            labels: Default::default(),
        });
        cfg
    }
}

/// What the targets view shows about an active target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetState {
    /// The target's identity (its labels and URL).
    pub key: u64,
    pub scrape_pool: String,
    pub scrape_url: String,
    /// Final labels without the `__` ones.
    pub labels: Vec<(String, String)>,
    pub discovered_labels: Vec<(String, String)>,
    pub interval: Duration,
    pub timeout: Duration,
    pub health: Health,
    pub last_error: String,
    /// Start of the last scrape, ms since the epoch (0: never).
    pub last_scrape: i64,
    pub last_scrape_duration: f64,
}

impl TargetState {
    fn new(t: &Target) -> Self {
        TargetState {
            key: t.key,
            scrape_pool: t.pool.clone(),
            scrape_url: t.url.clone(),
            labels: t
                .public_labels()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            discovered_labels: t.discovered.clone(),
            interval: t.interval,
            timeout: t.timeout,
            health: Health::Unknown,
            last_error: String::new(),
            last_scrape: 0,
            last_scrape_duration: 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Unknown,
    Up,
    Down,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How long to wait for the target's slot: Prometheus's `offset`, a stable hash of the target
/// placed within the interval on the wall clock, so restarts keep the same phase and targets
/// do not all scrape at once.
fn wait_for_slot(key: u64, interval: Duration, now_ms: i64) -> Duration {
    let iv = interval.as_millis().max(1) as u64;
    let offset = key % iv;
    let phase = (now_ms.max(0) as u64) % iv;
    Duration::from_millis((offset + iv - phase) % iv)
}

/// How a job scrapes: shared by its loops.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub rules: SampleRules,
    pub body_size_limit: u64,
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    /// Set while the job breaches `target_limit`: every scrape fails with it.
    pub forced_error: Option<String>,
    /// One HTTP client (and connection pool) for the job's loops: a client per target costs
    /// tens of kilobytes, which a fleet of a thousand targets notices. Timeouts are per request.
    pub client: Option<reqwest::Client>,
}

impl JobSettings {
    pub fn new(cfg: &ScrapeConfig, global: &crate::config::GlobalConfig) -> Self {
        let limits = cfg.limits(global);
        let authorization = cfg.authorization.clone().or_else(|| {
            (cfg.bearer_token.is_some() || cfg.bearer_token_file.is_some()).then(|| Authorization {
                kind: "Bearer".into(),
                credentials: cfg.bearer_token.clone(),
                credentials_file: cfg.bearer_token_file.clone(),
            })
        });
        // Every job can scrape https (relabeling may set `__scheme__`), so every client speaks
        // TLS; a tls_config that does not build fails the job's scrapes with its reason
        // (Config::load already refused it, so this is a file changed since).
        let (tls, forced_error) = match &cfg.tls_config {
            None => (crate::tls::default_client_config(), None),
            Some(t) => match crate::tls::client_config(t) {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(format!("cannot build the HTTP client: {e}"))),
            },
        };
        let mut client = reqwest::Client::builder()
            .user_agent(concat!("Lookout/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(POOL_IDLE);
        if let Some(tls) = tls {
            client = client.use_preconfigured_tls(tls);
        }
        JobSettings {
            rules: SampleRules {
                honor_labels: cfg.honor_labels,
                honor_timestamps: cfg.honor_timestamps,
                metric_relabel: cfg.metric_relabel_configs.clone(),
                limits,
            },
            body_size_limit: if limits.body_size_limit == 0 {
                DEFAULT_BODY_SIZE_LIMIT
            } else {
                limits.body_size_limit
            },
            basic_auth: cfg.basic_auth.clone(),
            authorization,
            forced_error,
            client: client.build().ok(),
        }
    }
}

/// How long an idle connection to a target is kept. hyper keeps a connection's read buffer,
/// grown to the size of a scrape (~64 KiB for 1,000 series), while it idles: a thousand targets
/// scraped every 15 s held 63 MB that way (measured with heaptrack, `cargo xtask bench scrape`).
/// Targets scraped at least this often keep their connection, where reuse saves the most
/// handshakes per second; slower ones reconnect per scrape (one TCP handshake, and one TLS
/// handshake for https, every interval).
const POOL_IDLE: Duration = Duration::from_secs(5);

/// A running scrape loop; dropping the handle without `stop` leaves the loop running.
#[derive(Debug)]
pub struct LoopHandle {
    stop: oneshot::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl LoopHandle {
    /// Stops the loop; with `stale`, its series get staleness markers (the target went away).
    pub fn stop(self, stale: bool) {
        let _ = self.stop.send(stale);
        drop(self.task);
    }

    pub fn abort(self) {
        self.task.abort();
    }
}

/// Starts scraping `target`.
pub fn spawn_loop(hub: Arc<Hub>, target: Target, job: Arc<JobSettings>) -> LoopHandle {
    let (stop, mut stop_rx) = oneshot::channel::<bool>();
    let task = tokio::spawn(async move {
        hub.update_target(TargetState::new(&target));
        let Some(client) = job.client.clone() else {
            tracing::error!("cannot build an HTTP client: {} is not scraped", target.url);
            return;
        };
        let interval = target.interval;
        let mut l = ScrapeLoop {
            hub,
            job,
            client,
            previous: Vec::new(),
            synthetic_ids: None,
            cache: SeriesCache::default(),
            synthetic: synthetic_labels(&target),
            target,
        };
        let wait = wait_for_slot(l.target.key, interval, now_ms());
        let start = tokio::time::Instant::now() + wait;
        let mut ticker = tokio::time::interval_at(start, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                stale = &mut stop_rx => {
                    if stale.unwrap_or(true) {
                        l.mark_all_stale();
                    }
                    l.hub.remove_target(l.target.key);
                    return;
                }
                _ = ticker.tick() => {}
            }
            tokio::select! {
                stale = &mut stop_rx => {
                    if stale.unwrap_or(true) {
                        l.mark_all_stale();
                    }
                    l.hub.remove_target(l.target.key);
                    return;
                }
                _ = l.scrape_once() => {}
            }
        }
    });
    LoopHandle { stop, task }
}

struct ScrapeLoop {
    hub: Arc<Hub>,
    target: Target,
    job: Arc<JobSettings>,
    client: reqwest::Client,
    /// Series the last scrape stored without explicit timestamps, to mark the vanished stale.
    /// Sorted.
    previous: Vec<SeriesId>,
    cache: SeriesCache,
    /// Labels of `up`, `scrape_duration_seconds`, ... for this target.
    synthetic: [Labels; 5],
    /// Their ids in the store, once known.
    synthetic_ids: Option<[SeriesId; 5]>,
}

const SYNTHETIC: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

fn synthetic_labels(target: &Target) -> [Labels; 5] {
    SYNTHETIC
        .map(|name| Labels::new(std::iter::once(("__name__", name)).chain(target.public_labels())))
}

impl ScrapeLoop {
    async fn scrape_once(&mut self) {
        let start_ms = now_ms();
        let started = Instant::now();
        let fetched = match &self.job.forced_error {
            Some(e) => Err(ScrapeError::Forced(e.clone())),
            None => self.fetch().await,
        };
        let target_labels: Vec<(&str, &str)> = self.target.public_labels().collect();
        let result = fetched
            .map_err(pipeline::Failed::from)
            .and_then(|(body, openmetrics)| {
                let text = std::str::from_utf8(&body).map_err(|e| ScrapeError::NotUtf8 {
                    at: e.valid_up_to(),
                })?;
                pipeline::process(
                    text,
                    openmetrics,
                    &target_labels,
                    &self.job.rules,
                    &mut self.cache,
                )
            });
        let duration = started.elapsed().as_secs_f64();
        // A failed scrape stores none of its samples but reports what it counted before it
        // failed, as Prometheus's scrape loop does: nothing when the fetch failed, the samples
        // parsed up to a parse error, all of them past sample_limit.
        let (counts, samples, metadata, error) = match result {
            Ok(s) => (s.counts, s.samples, Some(s.metadata), None),
            Err(f) => (f.counts, Vec::new(), None, Some(f.error)),
        };
        let up = error.is_none();
        let mut batch = ScrapeBatch::default();
        let mut current: Vec<SeriesId> = Vec::with_capacity(samples.len());
        let mut rejected = 0u64;
        {
            let mut store = self.hub.store();
            // Samples at the scrape's time go in as one scrape (the store's fast path, series
            // in exposition order); explicitly timestamped ones one by one.
            let mut at_start: Vec<(SeriesId, f64)> = Vec::with_capacity(samples.len() + 5);
            for (series, ts, v) in &samples {
                let id = match series {
                    SeriesRef::Known(id) => *id,
                    SeriesRef::New(labels) => store.series_id(labels),
                };
                match ts {
                    None => {
                        at_start.push((id, *v));
                        current.push(id);
                    }
                    Some(t) => match store.append(id, *t, *v) {
                        Ok(Appended::Stored) => batch.samples.push((id, *t, *v)),
                        Ok(_) => {}
                        Err(_) => rejected += 1,
                    },
                }
            }
            let values = [
                if up { 1.0 } else { 0.0 },
                duration,
                counts.scraped as f64,
                counts.post_relabel as f64,
                counts.series_added as f64,
            ];
            if up {
                self.cache.commit(|labels| store.series_id(labels));
            }
            let synthetic = *self
                .synthetic_ids
                .get_or_insert_with(|| self.synthetic.each_ref().map(|l| store.series_id(l)));
            at_start.extend(synthetic.into_iter().zip(values));
            let report = store.append_scrape(start_ms, &at_start);
            rejected +=
                (report.out_of_order + report.duplicate_timestamp + report.unknown_series) as u64;
            if report.stored == at_start.len() {
                batch
                    .samples
                    .extend(at_start.iter().map(|&(id, v)| (id, start_ms, v)));
            } else {
                // Some were refused (a series twice in one body): the first of each id is
                // the one the store kept.
                let mut seen = HashSet::with_capacity(at_start.len());
                batch.samples.extend(
                    at_start
                        .iter()
                        .filter(|(id, _)| seen.insert(*id))
                        .map(|&(id, v)| (id, start_ms, v)),
                );
            }
            // Series that were there last time and are gone now (or all, when the scrape
            // failed) get a staleness marker, as in Prometheus. Both lists are sorted: one
            // merge walk, and 4 bytes a series kept between scrapes.
            current.sort_unstable();
            current.dedup();
            let stale = f64::from_bits(STALE_NAN_BITS);
            let mut now = current.iter().peekable();
            for id in &self.previous {
                while now.next_if(|c| *c < id).is_some() {}
                if now.peek() == Some(&id) {
                    continue;
                }
                if store.labels(*id).is_some() && store.append(*id, start_ms, stale).is_ok() {
                    batch.samples.push((*id, start_ms, stale));
                }
            }
        }
        current.shrink_to_fit();
        self.previous = current;
        let m = &self.hub.metrics;
        m.scrapes_total.fetch_add(1, Ordering::Relaxed);
        m.samples_appended_total
            .fetch_add(batch.samples.len() as u64, Ordering::Relaxed);
        m.samples_rejected_total
            .fetch_add(rejected, Ordering::Relaxed);
        if !up {
            m.scrape_failures_total.fetch_add(1, Ordering::Relaxed);
        }
        let mut state = TargetState::new(&self.target);
        state.health = if up { Health::Up } else { Health::Down };
        state.last_error = error.map(|e| e.to_string()).unwrap_or_default();
        state.last_scrape = start_ms;
        state.last_scrape_duration = duration;
        self.hub.update_target(state);
        // Before the batch: pages learn a new series together with its family's metadata.
        if let Some(m) = metadata {
            self.hub.set_metadata(self.target.key, m);
        }
        self.hub.publish(batch);
    }

    /// The target went away: every series it produced, synthetic ones included, goes stale.
    fn mark_all_stale(&mut self) {
        let t = now_ms();
        let stale = f64::from_bits(STALE_NAN_BITS);
        let mut batch = ScrapeBatch::default();
        {
            let mut store = self.hub.store();
            let synthetic: Vec<SeriesId> = self
                .synthetic
                .iter()
                .filter_map(|l| store.lookup(l))
                .collect();
            for id in self.previous.drain(..).chain(synthetic) {
                if store.append(id, t, stale).is_ok() {
                    batch.samples.push((id, t, stale));
                }
            }
        }
        self.hub.publish(batch);
    }

    async fn fetch(&self) -> Result<(Vec<u8>, bool), ScrapeError> {
        let mut req = self
            .client
            .get(&self.target.url)
            .timeout(self.target.timeout)
            .header("Accept", ACCEPT)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", self.target.timeout.as_secs_f64()),
            );
        if let Some(b) = &self.job.basic_auth {
            let password = match (&b.password, &b.password_file) {
                (_, Some(f)) => Some(read_secret(f)?),
                (p, None) => p.clone(),
            };
            req = req.basic_auth(&b.username, password);
        }
        if let Some(a) = &self.job.authorization {
            let creds = match (&a.credentials, &a.credentials_file) {
                (_, Some(f)) => read_secret(f)?,
                (c, None) => c.clone().unwrap_or_default(),
            };
            req = req.header("Authorization", format!("{} {creds}", a.kind));
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| ScrapeError::Http(describe(&e)))?;
        if !resp.status().is_success() {
            return Err(ScrapeError::Status(resp.status().as_u16()));
        }
        let openmetrics = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/openmetrics-text"));
        let limit = self.job.body_size_limit;
        // Decompression is streamed, so a gzip bomb is stopped at the limit, not after it.
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| ScrapeError::Http(describe(&e)))?
        {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(ScrapeError::BodySizeLimit(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, openmetrics))
    }
}

fn read_secret(path: &std::path::Path) -> Result<String, ScrapeError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
        .map_err(|e| ScrapeError::Http(format!("cannot read {}: {e}", path.display())))
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    if e.is_timeout() {
        return "context deadline exceeded (scrape timeout)".into();
    }
    if let Some(tls) = crate::tls::explain(e) {
        return format!("Get {:?}: {tls}", e.url().map_or("", |u| u.as_str()));
    }
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn target_flag_and_instance() {
        let t = ScrapeTarget::parse_flag("api=http://127.0.0.1:9100/metrics").unwrap();
        assert_eq!(
            (t.job.as_str(), t.instance.as_str()),
            ("api", "127.0.0.1:9100")
        );
        let t = ScrapeTarget::parse_flag("http://h:1/m?a=b").unwrap();
        assert_eq!((t.job.as_str(), t.instance.as_str()), ("targets", "h:1"));
        let c = t.to_scrape_config(Duration::from_secs(5), Duration::from_secs(10));
        assert_eq!(c.metrics_path, "/m");
        assert_eq!(c.params["a"], vec!["b".to_owned()]);
        assert_eq!(c.scrape_timeout, Some(Duration::from_secs(5)));
        assert!(ScrapeTarget::parse_flag("localhost:9100").is_err());
    }

    #[test]
    fn slots_are_stable_and_within_the_interval() {
        let i = Duration::from_secs(15);
        for now in [0, 1234, 15_000, 99_999] {
            let w = wait_for_slot(42, i, now);
            assert!(w < i);
            assert_eq!((now as u64 + w.as_millis() as u64) % 15_000, 42 % 15_000);
        }
    }
}
