//! The page in headless Chromium against a real `lookout` process that is SIGKILLed mid-stream
//! and started again: the page says it is reconnecting, then that it resynced, and keeps counting
//! from where the new relay's window starts. Run by `cargo xtask test` (feature `browser`).

use std::path::PathBuf;
use std::time::Duration;

use lookout_tests::client::{CountingTarget, lookout_binary, spawn_lookout};
use lookout_tests::webdriver::Browser;

fn dist() -> anyhow::Result<PathBuf> {
    let dist = PathBuf::from(
        std::env::var("LOOKOUT_DIST")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../dist").into()),
    );
    anyhow::ensure!(
        dist.join("index.html").exists(),
        "{} has no built app: run `cargo xtask test`",
        dist.display()
    );
    Ok(dist)
}

const STATE: &str =
    r#"const s = document.querySelector('.status'); return s ? s.dataset.state : null;"#;
const LAST: &str = r#"const p = document.querySelector('[data-expr="e2e_scrapes_total"]'); return p && p.dataset.last ? p.dataset.last : null;"#;

async fn last(browser: &Browser) -> anyhow::Result<f64> {
    let v = browser.eval(LAST).await?;
    Ok(v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0.0))
}

async fn wait_last_above(browser: &Browser, above: f64) -> anyhow::Result<f64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v = last(browser).await?;
        if v > above {
            return Ok(v);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the page's counter stayed at {v} (wanted above {above})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_page_rides_out_a_relay_killed_with_sigkill() -> anyhow::Result<()> {
    let bin = lookout_binary()?;
    let dist = dist()?;
    let target = CountingTarget::start().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dist_arg = dist.to_string_lossy().into_owned();
    let mut relay = spawn_lookout(&bin, port, &target.url(), &["--dist", &dist_arg])?;
    let browser = Browser::start().await?;
    let result = async {
        let url = format!("http://127.0.0.1:{port}/?expr=e2e_scrapes_total");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while browser.goto(&url).await.is_err() || browser.eval(STATE).await?.is_null() {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the page never loaded"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        browser
            .wait_for(
                Duration::from_secs(30),
                "live",
                r#"return document.querySelector('.status[data-state="live"]') !== null;"#,
            )
            .await?;
        let before = wait_last_above(&browser, 5.0).await?;

        relay.kill().await?; // SIGKILL
        browser
            .wait_for(
                Duration::from_secs(15),
                "the page to say it is reconnecting",
                r#"return document.querySelector('.status[data-state="reconnecting"]') !== null;"#,
            )
            .await?;
        let served = target.served() as f64;
        let mut relay2 = spawn_lookout(&bin, port, &target.url(), &["--dist", &dist_arg])?;
        browser
            .wait_for(
                Duration::from_secs(40),
                "the page to say it resynced",
                r#"return document.querySelector('.status[data-state="resynced"]') !== null;"#,
            )
            .await?;
        // The new relay's scrapes continue the target's count, and the page shows them.
        let after = wait_last_above(&browser, served + 2.0).await?;
        assert!(after > before);
        relay2.kill().await?;
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    let _ = relay.kill().await;
    result
}
