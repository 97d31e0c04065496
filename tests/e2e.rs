//! End to end in a real browser: a target the test controls, a relay scraping it and serving the
//! built page, headless Chromium showing it. Run by `cargo xtask test` (it builds `dist/` and
//! provides chromedriver).

use std::path::PathBuf;
use std::time::Duration;

use lookout_relay::{Relay, RelayConfig, ScrapeTarget};
use lookout_tests::target::TestTarget;
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

fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/e2e")).join(format!("{name}.png"))
}

/// The `data-last` of the counter's panel, as the page shows it.
const COUNTER_LAST: &str = r#"const p = document.querySelector('[data-expr="e2e_counter_total"]'); return p && p.dataset.last ? p.dataset.last : null;"#;

#[tokio::test]
async fn the_page_shows_a_changed_counter_and_a_stopped_target_as_down() -> anyhow::Result<()> {
    let target = TestTarget::start(1.0).await?;
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        dist: Some(dist()?),
        targets: vec![ScrapeTarget::new("e2e", target.url())],
        scrape_interval: Duration::from_millis(500),
        scrape_timeout: Duration::from_millis(400),
        ..RelayConfig::default()
    })
    .await?;
    let browser = Browser::start().await?;
    let result = async {
        // An ad-hoc dashboard of one query, as a shared link would open it.
        browser.goto(&format!("http://{}/?expr=e2e_counter_total", relay.local_addr())).await?;
        browser
            .wait_for(Duration::from_secs(30), "the status bar to say live", r#"return document.querySelector('.status[data-state="live"]') !== null;"#)
            .await?;
        let first = browser.wait_for(Duration::from_secs(15), "the counter panel", COUNTER_LAST).await?;
        assert_eq!(first, "1");

        target.set(42.0);
        assert_eq!(wait_counter(&browser, "42").await?, "42");
        // The chart really drew: the canvas has a backing store sized to its box.
        let drawn = browser
            .eval(r#"const c = document.querySelector('[data-expr="e2e_counter_total"] canvas'); return c.width > 100 && c.height > 100;"#)
            .await?;
        assert_eq!(drawn, true);
        browser.screenshot(&screenshot_path("counter-42")).await?;

        let instance = target.addr.to_string();
        let health = format!(r#"const t = document.querySelector('[data-instance="{instance}"]'); return t ? t.dataset.health : null;"#);
        assert_eq!(browser.eval(&health).await?, "up");
        target.stop();
        let down_script = format!(r#"const t = document.querySelector('[data-instance="{instance}"][data-health="down"]'); return t !== null;"#);
        browser.wait_for(Duration::from_secs(10), "the target to show as down", &down_script).await?;
        browser.screenshot(&screenshot_path("target-down")).await?;
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    relay.shutdown();
    result
}

/// Waits until the counter panel shows `want`.
async fn wait_counter(browser: &Browser, want: &str) -> anyhow::Result<String> {
    let script = format!(
        r#"const p = document.querySelector('[data-expr="e2e_counter_total"]'); return p && p.dataset.last === "{want}" ? p.dataset.last : null;"#
    );
    let v = browser
        .wait_for(
            Duration::from_secs(10),
            &format!("the counter to show {want}"),
            &script,
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}
