//! The panel renderers and the Explore and Targets pages in a real browser, over the demo fleet
//! scraped by a relay in process (plus a target the test stops): every panel type draws live
//! data, the legend hides series, Explore answers a query with its evaluation time, and the
//! Targets page shows a down target's last error. Screenshots in target/e2e/ (light, dark,
//! phone width). Run by `cargo xtask test`.

use lookout_tests::dist;
use std::path::PathBuf;
use std::time::Duration;

use lookout_relay::{Relay, RelayConfig, ScrapeTarget};
use lookout_tests::target::TestTarget;
use lookout_tests::webdriver::Browser;

fn shot(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/e2e")).join(format!("{name}.png"))
}

const WAIT: Duration = Duration::from_secs(30);

/// A script returning the panel's `what` once it is truthy.
fn panel(key: &str, what: &str) -> String {
    format!(
        r#"const p = document.querySelector('[data-panel="{key}"]'); if (!p) return null; const v = {what}; return v ? v : null;"#
    )
}

#[tokio::test]
async fn every_panel_type_explore_and_targets() -> anyhow::Result<()> {
    let target = TestTarget::start(1.0).await?;
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        dist: Some(dist()?),
        demo: true,
        targets: vec![ScrapeTarget::new("e2e", target.url())],
        scrape_interval: Duration::from_millis(500),
        scrape_timeout: Duration::from_millis(400),
        ..RelayConfig::default()
    })
    .await?;
    let base = format!("http://{}", relay.local_addr());
    let browser = Browser::start().await?;
    let result = async {
        browser.set_window_size(1280, 800).await?;
        browser.goto(&format!("{base}/?panels&from=now-5m")).await?;
        // Rates need two scrapes of the demo fleet; wait for all five services, or a service
        // that arrives after `n` is read breaks the legend counts below.
        let series = browser.wait_for(WAIT, "the stacked time series to draw series", &panel("rps", "Number(p.dataset.seriesCount) >= 5 && p.querySelector('canvas').width > 100 && Number(p.dataset.seriesCount)")).await?;
        let n = series.as_u64().unwrap_or_default();
        let stat = browser.wait_for(WAIT, "a stat value", &panel("stat-rps", "p.dataset.last")).await?;
        assert!(stat.as_str().unwrap_or_default().parse::<f64>()? > 0.0, "stat: {stat}");
        let bg = browser.eval(&panel("stat-errors", "getComputedStyle(p).backgroundColor")).await?;
        assert!(bg.as_str().is_some_and(|c| c.starts_with("rgb(") && c != "rgb(255, 255, 255)"), "a stat in background mode is coloured: {bg}");
        let gauge = browser.wait_for(WAIT, "a gauge value", &panel("cpu-gauge", "p.querySelector('.gauge') && p.querySelector('.gauge').dataset.value")).await?;
        assert!(gauge.as_str().unwrap_or_default().parse::<f64>().is_ok(), "gauge: {gauge}");
        let bars = browser.wait_for(WAIT, "bar gauge bars", &panel("memory-bars", "Array.from(p.querySelectorAll('.bar-row')).filter(r => Number(r.dataset.value) > 0).length")).await?;
        assert!(bars.as_u64().unwrap_or_default() >= 3, "one bar per service: {bars}");
        let width = browser.eval(&panel("memory-bars", "p.querySelector('.bar-fill').style.width")).await?;
        assert!(width.as_str().is_some_and(|w| w.ends_with('%') && w != "0.00%"), "bars have a length: {width}");
        let buckets = browser.wait_for(WAIT, "heatmap buckets", &panel("latency-heatmap", "Number(p.dataset.buckets) > 3 && Number(p.dataset.buckets)")).await?;
        assert!(buckets.as_u64().unwrap_or_default() > 3);
        let rows = browser.wait_for(WAIT, "table rows", &panel("up-table", "p.querySelectorAll('tbody tr').length")).await?;
        assert!(rows.as_u64().unwrap_or_default() >= 2, "one row per target: {rows}");
        for key in ["rps", "stat-rps", "cpu-gauge", "memory-bars", "latency-heatmap", "up-table", "code-share", "errors-bars", "queue-points"] {
            let measured = browser.eval(&format!("return performance.getEntriesByName('lookout:render:{key}').length;")).await?;
            assert!(measured.as_u64().unwrap_or_default() >= 1, "{key} records lookout:render");
        }
        // The heatmap's tooltip names the bucket and its count.
        let tip = browser
            .wait_for(Duration::from_secs(10), "the heatmap tooltip", r#"const p = document.querySelector('[data-panel="latency-heatmap"] .plot');
                const c = p.querySelector('canvas').getBoundingClientRect();
                p.dispatchEvent(new MouseEvent('mousemove', { bubbles: true, clientX: c.right - 12, clientY: c.top + c.height * 0.6 }));
                const t = p.querySelector('.heat-tooltip'); return t ? t.textContent : null;"#)
            .await?;
        let tip = tip.as_str().unwrap_or_default();
        assert!(tip.contains("Bucket") && tip.contains("Count") && tip.contains(" – "), "tooltip: {tip}");
        browser.screenshot(&shot("panels-light")).await?;
        browser.eval(r#"document.querySelector('[data-panel="cpu-gauge"]').scrollIntoView(); return true;"#).await?;
        browser.screenshot(&shot("panels-light-2")).await?;
        browser.eval(r#"document.querySelector('[data-panel="latency-heatmap"]').scrollIntoView(); return true;"#).await?;
        browser.screenshot(&shot("panels-light-3")).await?;
        browser.eval("window.scrollTo(0, 0); return true;").await?;

        // Legend: a click isolates a series, a second click shows all, ctrl-click hides one.
        let click = |i: usize, ctrl: bool| format!(r#"const r = document.querySelectorAll('[data-panel="rps"] .legend-table tbody tr')[{i}]; r.dispatchEvent(new MouseEvent('click', {{ bubbles: true, ctrlKey: {ctrl} }})); return true;"#);
        let hidden = panel("rps", "p.dataset.hiddenCount");
        browser.eval(&click(0, false)).await?;
        browser.wait_for(Duration::from_secs(5), "all but one series hidden", &format!(r#"const p = document.querySelector('[data-panel="rps"]'); return p.dataset.hiddenCount === "{}";"#, n - 1)).await?;
        let off = browser.eval(r#"return document.querySelectorAll('[data-panel="rps"] .legend-table tr.off').length;"#).await?;
        assert_eq!(off.as_u64(), Some(n - 1), "hidden rows are dimmed");
        browser.eval(&click(0, false)).await?;
        browser.wait_for(Duration::from_secs(5), "all series back", r#"return document.querySelector('[data-panel="rps"]').dataset.hiddenCount === "0";"#).await?;
        browser.eval(&click(1, true)).await?;
        assert_eq!(browser.wait_for(Duration::from_secs(5), "one series hidden", &hidden).await?, "1");

        // Dark theme and phone width.
        browser.eval("localStorage.setItem('lookout.theme', 'dark'); document.documentElement.setAttribute('data-theme', 'dark'); return true;").await?;
        browser.goto(&format!("{base}/?panels&from=now-5m")).await?;
        browser.wait_for(WAIT, "the heatmap after reload", &panel("latency-heatmap", "Number(p.dataset.buckets) > 3")).await?;
        browser.wait_for(WAIT, "the bars after reload", &panel("memory-bars", "Number(p.dataset.bars) >= 3")).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        browser.screenshot(&shot("panels-dark")).await?;
        browser.set_window_size(390, 844).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let overflow = browser.eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;").await?;
        assert!(overflow.as_i64().unwrap_or(99) <= 0, "no horizontal scrolling at phone width: {overflow}px");
        browser.screenshot(&shot("panels-phone")).await?;
        browser.eval("localStorage.setItem('lookout.theme', 'light'); return true;").await?;
        browser.set_window_size(1280, 800).await?;

        // Explore: the query from the URL, drawn and tabled, with its evaluation time.
        browser.goto(&format!("{base}/?explore&from=now-5m&q=sum%20by%20(job)%20(rate(http_requests_total%5B1m%5D))")).await?;
        let drawn = browser.wait_for(WAIT, "Explore's graph", &panel("explore-graph", "Number(p.dataset.seriesCount) >= 3 && p.dataset.seriesCount")).await?;
        assert!(drawn.as_str().unwrap_or_default().parse::<u32>()? >= 3);
        let eval = browser.wait_for(WAIT, "the evaluation time", &panel("explore-graph", "p.querySelector('.eval-time').textContent.endsWith('ms') && p.querySelector('.eval-time').textContent")).await?;
        assert!(eval.as_str().unwrap_or_default().ends_with(" ms"), "eval time: {eval}");
        let rows = browser.wait_for(WAIT, "Explore's table", &panel("explore-table", "p.querySelectorAll('tbody tr').length >= 3 && p.querySelectorAll('tbody tr').length")).await?;
        assert!(rows.as_u64().unwrap_or_default() >= 3);
        let input = browser.eval("return document.querySelector('.explore .query-bar input').value;").await?;
        assert_eq!(input, "sum by (job) (rate(http_requests_total[1m]))", "the URL's query is in the input");
        browser.screenshot(&shot("explore")).await?;

        // Targets: the relay's report, grouped by job; a stopped target shows its error.
        browser.goto(&format!("{base}/?targets")).await?;
        let instance = target.addr.to_string();
        let row = format!(r#"const r = document.querySelector('.target-row[data-instance="{instance}"]'); return r ? [r.dataset.health, r.querySelector('.last-error').textContent, r.closest('.target-group').dataset.job] : null;"#);
        let up = browser.wait_for(WAIT, "the test target listed", &row).await?;
        assert_eq!(up[0], "up");
        assert_eq!(up[2], "e2e");
        target.stop();
        let down = browser
            .wait_for(WAIT, "the stopped target down with its error", &format!(r#"const r = document.querySelector('.target-row[data-instance="{instance}"][data-health="down"]'); return r && r.querySelector('.last-error').textContent ? r.querySelector('.last-error').textContent : null;"#))
            .await?;
        assert!(!down.as_str().unwrap_or_default().is_empty(), "last error: {down}");
        let groups = browser.eval("return document.querySelectorAll('.target-group').length;").await?;
        assert!(groups.as_u64().unwrap_or_default() >= 2, "grouped by job: {groups}");
        // Filtering by health leaves only down targets.
        browser.eval("const s = document.querySelector('.targets-filters select'); s.value = 'down'; s.dispatchEvent(new Event('change', { bubbles: true })); return true;").await?;
        let rows = browser
            .wait_for(Duration::from_secs(5), "only down targets", r#"const r = Array.from(document.querySelectorAll('.target-row')); return r.length > 0 && r.every(x => x.dataset.health === 'down') && r.length;"#)
            .await?;
        assert_eq!(rows, 1, "only the stopped target is down");
        browser.screenshot(&shot("targets-down")).await?;
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    relay.shutdown();
    result
}
