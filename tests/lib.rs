//! Shared helpers of the cross-crate and end-to-end tests: a scrape target the test controls,
//! a relay started in process, and a small WebDriver client for headless Chromium.

pub mod client;
pub mod target;
pub mod webdriver;

use std::path::PathBuf;
use std::time::Duration;

/// The built app the browser tests serve: `LOOKOUT_DIST`, else the workspace's `dist/`.
pub fn dist() -> anyhow::Result<PathBuf> {
    let dist = PathBuf::from(
        std::env::var("LOOKOUT_DIST")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../dist").into()),
    );
    anyhow::ensure!(
        dist.join("index.html").exists() && dist.join("sw.js").exists(),
        "{} has no built app with its service worker: run `cargo xtask test`",
        dist.display()
    );
    Ok(dist)
}

/// Polls `check` every 100 ms until it returns `Some`, or fails after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Dashboards provisioned as `--dashboards DIR` would: `files` (name, JSON) written to a
/// directory of their own, read with the relay's loader, the directory removed.
pub fn provision(
    files: &[(&str, &str)],
) -> anyhow::Result<Vec<std::sync::Arc<lookout_relay::dashboards::Provisioned>>> {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "lookout-dashboards-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    let loaded = files
        .iter()
        .try_for_each(|(name, json)| std::fs::write(dir.join(name), json))
        .map_err(anyhow::Error::from)
        .and_then(|()| lookout_relay::dashboards::load_dir(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    loaded
}
