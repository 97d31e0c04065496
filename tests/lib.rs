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
