//! Scraping: one task per target pulls its `/metrics`, parses it with the shared exposition
//! parser, stores the samples in the hub's window and publishes them to the live feed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lookout_tsdb::exposition::{Entry, Parser};
use lookout_tsdb::{Labels, SeriesId, STALE_NAN_BITS};
use serde::Serialize;

use crate::hub::{Hub, ScrapeBatch};

/// Largest body accepted from a target, after decompression.
const BODY_SIZE_LIMIT: usize = 64 << 20;

/// One target: its job, the URL of its metrics, and the labels its series get.
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
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        ScrapeTarget { job: job.into(), url, instance }
    }

    /// Parses `[JOB=]URL` as the command line takes it.
    pub fn parse_flag(s: &str) -> Result<Self, String> {
        let (job, url) = match s.split_once('=') {
            Some((job, url)) if !job.contains('/') && !job.contains(':') => (job, url),
            _ => ("targets", s),
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("target {s:?}: expected [JOB=]http://HOST:PORT/PATH"));
        }
        Ok(ScrapeTarget::new(job, url))
    }
}

/// What the targets view shows about a target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetState {
    pub target: ScrapeTarget,
    pub health: Health,
    pub last_error: String,
    /// Start of the last scrape, ms since the epoch.
    pub last_scrape: i64,
    pub last_scrape_duration: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Unknown,
    Up,
    Down,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A stable offset within the interval, so targets do not all scrape at once (as Prometheus does).
fn offset_for(target: &ScrapeTarget, interval: Duration) -> Duration {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in target.url.bytes().chain(target.job.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let ms = interval.as_millis().max(1) as u64;
    Duration::from_millis(h % ms)
}

pub(crate) fn spawn(hub: Arc<Hub>, target: ScrapeTarget, interval: Duration, timeout: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder().timeout(timeout).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("cannot build HTTP client for {}: {e}", target.url);
                return;
            }
        };
        let mut scraper = Scraper { hub, target, client, previous: HashSet::new() };
        tokio::time::sleep(offset_for(&scraper.target, interval)).await;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            scraper.scrape_once().await;
        }
    })
}

struct Scraper {
    hub: Arc<Hub>,
    target: ScrapeTarget,
    client: reqwest::Client,
    /// Series the last successful scrape stored, to mark the vanished ones stale.
    previous: HashSet<SeriesId>,
}

impl Scraper {
    async fn scrape_once(&mut self) {
        let start_ms = now_ms();
        let started = Instant::now();
        let result = self.fetch().await;
        let duration = started.elapsed().as_secs_f64();
        let (samples, error) = match result {
            Ok((body, openmetrics)) => match self.parse(&body, openmetrics, start_ms) {
                Ok(s) => (s, None),
                Err(e) => (Vec::new(), Some(e)),
            },
            Err(e) => (Vec::new(), Some(e)),
        };
        let up = error.is_none();
        let scraped = samples.len();
        let mut batch = ScrapeBatch::default();
        let mut current = HashSet::with_capacity(scraped);
        let mut added = 0usize;
        {
            let mut store = self.hub.store();
            let append = |store: &mut lookout_tsdb::Store, labels: &Labels, t: i64, v: f64, batch: &mut ScrapeBatch| {
                let id = store.series_id(labels);
                match store.append(id, t, v) {
                    Ok(lookout_tsdb::Appended::Stored) => batch.samples.push((id, t, v)),
                    Ok(_) => {}
                    Err(_) => {
                        self.hub.metrics.samples_rejected_total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                id
            };
            for (labels, t, v) in &samples {
                let known = store.lookup(labels).is_some();
                let id = append(&mut store, labels, *t, *v, &mut batch);
                added += usize::from(!known);
                current.insert(id);
            }
            // Series that were there last time and are gone now get a staleness marker.
            for id in self.previous.difference(&current) {
                if let Some(labels) = store.labels(*id).cloned() {
                    append(&mut store, &labels, start_ms, f64::from_bits(STALE_NAN_BITS), &mut batch);
                }
            }
            let synthetic = [
                ("up", if up { 1.0 } else { 0.0 }),
                ("scrape_duration_seconds", duration),
                ("scrape_samples_scraped", scraped as f64),
                ("scrape_samples_post_metric_relabeling", scraped as f64),
                ("scrape_series_added", added as f64),
            ];
            for (name, v) in synthetic {
                let labels = Labels::new([("__name__", name), ("job", &self.target.job), ("instance", &self.target.instance)]);
                append(&mut store, &labels, start_ms, v, &mut batch);
            }
        }
        self.previous = current;
        let m = &self.hub.metrics;
        m.scrapes_total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        m.samples_appended_total.fetch_add(batch.samples.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if !up {
            m.scrape_failures_total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.hub.update_target(TargetState {
            target: self.target.clone(),
            health: if up { Health::Up } else { Health::Down },
            last_error: error.unwrap_or_default(),
            last_scrape: start_ms,
            last_scrape_duration: duration,
        });
        self.hub.publish(batch);
    }

    async fn fetch(&self) -> Result<(String, bool), String> {
        let mut resp = self
            .client
            .get(&self.target.url)
            .header(
                "Accept",
                "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1",
            )
            .send()
            .await
            .map_err(|e| describe_reqwest_error(&e))?;
        if !resp.status().is_success() {
            return Err(format!("server returned HTTP status {}", resp.status()));
        }
        let openmetrics = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/openmetrics-text"));
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| describe_reqwest_error(&e))? {
            if body.len() + chunk.len() > BODY_SIZE_LIMIT {
                return Err(format!("body size limit exceeded ({BODY_SIZE_LIMIT} bytes)"));
            }
            body.extend_from_slice(&chunk);
        }
        let body = String::from_utf8(body).map_err(|e| format!("body is not UTF-8 (at byte {})", e.utf8_error().valid_up_to()))?;
        Ok((body, openmetrics))
    }

    /// All samples of a body with the target's labels, or the first parse error. A body that
    /// fails to parse stores nothing, as in Prometheus.
    fn parse(&self, body: &str, openmetrics: bool, default_ts: i64) -> Result<Vec<(Labels, i64, f64)>, String> {
        let parser = if openmetrics { Parser::openmetrics(body) } else { Parser::new(body) };
        let mut out = Vec::new();
        for entry in parser {
            let Entry::Sample(s) = entry.map_err(|e| e.to_string())? else { continue };
            let mut pairs: Vec<(String, String)> = Vec::with_capacity(s.labels.len() + 3);
            pairs.push(("__name__".into(), s.name.into()));
            for (n, v) in &s.labels {
                // Without honor_labels, a target's own job/instance become exported_*.
                let n = if *n == "job" || *n == "instance" { format!("exported_{n}") } else { (*n).to_owned() };
                pairs.push((n, v.to_string()));
            }
            pairs.push(("job".into(), self.target.job.clone()));
            pairs.push(("instance".into(), self.target.instance.clone()));
            out.push((Labels::new(pairs), s.timestamp.unwrap_or(default_ts), s.value));
        }
        Ok(out)
    }
}

fn describe_reqwest_error(e: &reqwest::Error) -> String {
    use std::error::Error;
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
mod tests {
    use super::*;

    #[test]
    fn target_flag_and_instance() {
        let t = ScrapeTarget::parse_flag("api=http://127.0.0.1:9100/metrics").unwrap();
        assert_eq!((t.job.as_str(), t.instance.as_str()), ("api", "127.0.0.1:9100"));
        let t = ScrapeTarget::parse_flag("http://h:1/m?a=b").unwrap();
        assert_eq!((t.job.as_str(), t.instance.as_str()), ("targets", "h:1"));
        assert!(ScrapeTarget::parse_flag("localhost:9100").is_err());
    }

    #[test]
    fn offsets_are_stable_and_within_the_interval() {
        let t = ScrapeTarget::new("a", "http://x:1/metrics");
        let i = Duration::from_secs(15);
        assert_eq!(offset_for(&t, i), offset_for(&t, i));
        assert!(offset_for(&t, i) < i);
    }
}
