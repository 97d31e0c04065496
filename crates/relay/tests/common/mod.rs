//! Helpers for the relay's integration tests: loopback HTTP targets, a relay started from a
//! config file in a temp dir, and questions asked of its `/api/v1/targets` and window.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lookout_relay::{Relay, RelayConfig};
use lookout_tsdb::Labels;

/// Serves `app` on a free loopback port.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    addr
}

/// A temp dir removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("lookout-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        // Write then rename, so a watcher never reads half a file.
        let tmp = self.0.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A relay scraping what `config` (a prometheus.yml) says, and nothing else but itself.
pub async fn relay_with(dir: &TempDir, config: &str) -> Relay {
    let file = dir.write("prometheus.yml", config);
    Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        config_file: Some(file),
        ..RelayConfig::default()
    })
    .await
    .unwrap()
}

pub async fn targets_json(relay: &Relay) -> serde_json::Value {
    let url = format!("http://{}/api/v1/targets", relay.local_addr());
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// The active target of `job` once it has been scraped at least once.
pub async fn scraped_target(relay: &Relay, job: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v = targets_json(relay).await;
        let found = v["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["scrapePool"] == job && t["health"] != "unknown")
            .cloned();
        if let Some(t) = found {
            return t;
        }
        assert!(Instant::now() < deadline, "job {job} never scraped: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Samples of the series with exactly these labels, oldest first.
pub fn samples(relay: &Relay, labels: &[(&str, &str)]) -> Vec<(i64, f64)> {
    let store = relay.hub().store();
    let Some(id) = store.lookup(&Labels::new(labels.iter().copied())) else {
        return Vec::new();
    };
    store.samples(id, i64::MIN, i64::MAX).collect()
}

/// Every series in the window with label `name` = `value`.
pub fn series_with(relay: &Relay, name: &str, value: &str) -> Vec<Labels> {
    let store = relay.hub().store();
    let m = lookout_tsdb::Matcher::new(lookout_tsdb::MatchOp::Equal, name, value).unwrap();
    store
        .select(&[m])
        .into_iter()
        .filter_map(|id| store.labels(id))
        .collect()
}

pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
