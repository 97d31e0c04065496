//! End to end in a real browser: a target the test controls, a relay scraping it and serving the
//! built page, headless Chromium showing it. Run by `cargo xtask test` (it builds `dist/` and
//! provides chromedriver).

use lookout_tests::dist;
use std::path::PathBuf;
use std::time::Duration;

use lookout_relay::{Relay, RelayConfig, ScrapeTarget};
use lookout_tests::target::TestTarget;
use lookout_tests::webdriver::Browser;

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

        // Hovering the chart shows a tooltip with the series and its value; dragging zooms.
        let tooltip = browser
            .wait_for(
                Duration::from_secs(5),
                "a tooltip under the pointer",
                r#"const p = document.querySelector('[data-expr="e2e_counter_total"] .plot');
                   const c = p.querySelector('canvas').getBoundingClientRect();
                   const at = (type, fx) => p.dispatchEvent(new MouseEvent(type, { bubbles: true, clientX: c.left + c.width * fx, clientY: c.top + c.height / 2 }));
                   // Just inside the plot's right edge (the chart has a 6 px margin): about "now".
                   p.dispatchEvent(new MouseEvent('mousemove', { bubbles: true, clientX: c.right - 8, clientY: c.top + c.height / 2 }));
                   const t = p.querySelector('.tooltip');
                   return t ? t.textContent : null;"#,
            )
            .await?;
        let tooltip = tooltip.as_str().unwrap_or_default();
        // Near "now" the counter was 1 until a moment ago and 42 since: either is right, depending
        // on which side of the change the pointer's step falls.
        assert!(tooltip.contains("e2e_counter_total") && (tooltip.ends_with("}42") || tooltip.ends_with("}1")), "tooltip: {tooltip}");
        browser.screenshot(&screenshot_path("tooltip")).await?;
        browser
            .eval(
                r#"const p = document.querySelector('[data-expr="e2e_counter_total"] .plot');
                   const c = p.querySelector('canvas').getBoundingClientRect();
                   const at = (type, fx) => p.dispatchEvent(new MouseEvent(type, { bubbles: true, clientX: c.left + c.width * fx, clientY: c.top + c.height / 2 }));
                   at('mousedown', 0.5); at('mousemove', 0.9); at('mouseup', 0.9);
                   return true;"#,
            )
            .await?;
        let zoomed = browser
            .wait_for(Duration::from_secs(5), "the zoom to show 'Back to live'", "return document.querySelector('.back-to-live') !== null;")
            .await?;
        assert_eq!(zoomed, true, "a drag zooms and offers the way back to live");
        browser.eval("document.querySelector('.back-to-live').click(); return true;").await?;

        // A query with an error is underlined at the parser's range, with its message.
        browser
            .eval(
                r#"const i = document.querySelector('.query-bar input');
                   i.value = 'sum(rate(e2e_counter_total[1m])) by';
                   i.dispatchEvent(new Event('input', { bubbles: true }));
                   return true;"#,
            )
            .await?;
        let underlined = browser
            .wait_for(
                Duration::from_secs(5),
                "the parse error to be underlined",
                r#"const m = document.querySelector('.query-mirror mark.parse-error');
                   const p = document.querySelector('.query-problems li');
                   return m && p ? [m.textContent, p.textContent] : null;"#,
            )
            .await?;
        let message = underlined[1].as_str().unwrap_or_default();
        assert!(message.contains("unexpected end of input"), "{underlined}");
        browser.screenshot(&screenshot_path("query-error")).await?;

        // The table view lists the series with a column per label and its value.
        browser
            .eval(r#"document.querySelector('[data-expr="e2e_counter_total"] .view-toggle').click(); return true;"#)
            .await?;
        let row = browser
            .wait_for(
                Duration::from_secs(5),
                "the table view",
                r#"const r = document.querySelector('[data-expr="e2e_counter_total"] .table-view tbody tr');
                   return r ? Array.from(r.cells).map(c => c.textContent) : null;"#,
            )
            .await?;
        let instance = target.addr.to_string();
        assert_eq!(row, serde_json::json!(["e2e_counter_total", instance, "e2e", "42"]), "table row");

        // `?` opens the keyboard help; Esc closes it.
        browser
            .eval("window.dispatchEvent(new KeyboardEvent('keydown', { key: '?' })); return true;")
            .await?;
        browser
            .wait_for(Duration::from_secs(5), "the shortcut help", "return document.querySelector('.help-overlay') !== null;")
            .await?;
        browser
            .eval("window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' })); return true;")
            .await?;
        browser
            .wait_for(Duration::from_secs(5), "the help to close", "return document.querySelector('.help-overlay') === null;")
            .await?;

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
