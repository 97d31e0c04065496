//! Dashboards end to end in a real browser against the relay and its demo fleet: create a
//! dashboard and add a panel, see its series; a query error underlined in the editor; reload
//! and find the dashboard kept; variables that panels follow and a shared URL reproducing the
//! view; drag a panel on the grid; import a Grafana export (bad JSON first). Run by
//! `cargo xtask test` (feature `browser`; it builds `dist/` and provides chromedriver).

use lookout_tests::dist;
use std::path::PathBuf;
use std::time::Duration;

use lookout_relay::{Relay, RelayConfig};
use lookout_tests::webdriver::Browser;
use serde_json::Value;

fn shot(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/e2e")).join(format!("{name}.png"))
}

const NODE_EXPORTER: &str = include_str!("../crates/ui/tests/data/node-exporter.json");
const WAIT: Duration = Duration::from_secs(20);

/// Sets a text field's value and fires `input` as typing would.
fn type_into(selector: &str, text: &str) -> String {
    format!(
        r#"const el = document.querySelector({sel});
           if (!el) return false;
           el.value = {text};
           el.selectionStart = el.selectionEnd = el.value.length;
           el.dispatchEvent(new Event('input', {{ bubbles: true }}));
           return true;"#,
        sel = serde_json::to_string(selector).unwrap_or_default(),
        text = serde_json::to_string(text).unwrap_or_default(),
    )
}

fn click(selector: &str) -> String {
    format!(
        "const el = document.querySelector({}); if (!el) return false; el.click(); return true;",
        serde_json::to_string(selector).unwrap_or_default()
    )
}

/// The series count and legend of the panel titled `title`.
fn panel_state(title: &str) -> String {
    format!(
        r#"const p = [...document.querySelectorAll('section.panel')].find(s => s.querySelector('h2')?.textContent === {t});
           if (!p) return null;
           return {{ count: Number(p.dataset.seriesCount || 0), expr: p.dataset.expr,
                     legend: [...p.querySelectorAll('.legend .name')].map(n => n.textContent) }};"#,
        t = serde_json::to_string(title).unwrap_or_default()
    )
}

#[tokio::test]
async fn dashboards_are_built_kept_shared_and_imported() -> anyhow::Result<()> {
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        dist: Some(dist()?),
        demo: true,
        scrape_interval: Duration::from_millis(1000),
        scrape_timeout: Duration::from_millis(800),
        ..RelayConfig::default()
    })
    .await?;
    let base = format!("http://{}", relay.local_addr());
    let browser = Browser::start().await?;
    let result = async {
        // Create a dashboard: it opens in edit mode, empty.
        browser.goto(&format!("{base}/?dashboards")).await?;
        browser.wait_for(WAIT, "the dashboards page", "return document.querySelector('.dashboards-page .muted, .dashboard-list') !== null;").await?;
        browser.eval(&click(".new-dashboard")).await?;
        browser.wait_for(WAIT, "the new empty dashboard", "return document.querySelector('.empty-dashboard') !== null && location.search.includes('edit=1');").await?;
        let uid = browser.eval("return new URLSearchParams(location.search).get('d');").await?;
        let uid = uid.as_str().unwrap_or_default().to_owned();
        assert!(!uid.is_empty());

        // Add a panel with a query: the editor's preview and then the dashboard show its series.
        browser.eval(&click(".add-panel")).await?;
        browser.wait_for(WAIT, "the panel editor", "return document.querySelector('.editor-overlay') !== null;").await?;
        // Autocomplete offers the label names of the metric being typed, from the page's store
        // (which holds what the page subscribed to: here `up`, until the relay's metadata
        // requests can name every metric).
        browser
            .eval(&type_into(".editor-query textarea", "count(up{jo"))
            .await?;
        let offered = browser
            .wait_for(
                WAIT,
                "label name suggestions",
                "const l = [...document.querySelectorAll('.suggestions li')].map(li => li.textContent); return l.length ? l : null;",
            )
            .await?;
        assert_eq!(offered, serde_json::json!(["job"]), "only labels of up starting with 'jo'");
        browser.eval(&type_into(".editor-title", "Requests per job")).await?;
        browser.eval(&type_into(".editor-query textarea", "sum by (job) (rate(http_requests_total[5s]))")).await?;
        browser.eval(&type_into(".editor-legend", "{{job}}")).await?;
        let highlighted = browser
            .wait_for(WAIT, "the query to be highlighted", "const m = document.querySelector('.promql-mirror .tok.fn'); return m ? m.textContent : null;")
            .await?;
        assert_eq!(highlighted, "sum");
        browser.screenshot(&shot("dash-editor")).await?;
        browser.eval(&click(".editor-save")).await?;
        let state = browser
            .wait_for(WAIT, "the new panel's series", &format!("const s = (() => {{ {} }})(); return s && s.count >= 5 ? s : null;", panel_state("Requests per job")))
            .await?;
        let legend: Vec<&str> = state["legend"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        assert!(legend.contains(&"gateway") && legend.contains(&"checkout"), "{state}");
        browser.screenshot(&shot("dash-new-panel")).await?;

        // A query with an error is underlined at the parser's range, with its message.
        browser.eval(&click(".panel-edit")).await?;
        browser.eval(&type_into(".editor-query textarea", "sum(rate(http_requests_total[1m])) by")).await?;
        let underlined = browser
            .wait_for(WAIT, "the parse error underlined", r#"const m = document.querySelector('.promql-mirror mark.parse-error'); const p = document.querySelector('.editor .query-problems li'); return m && p ? p.textContent : null;"#)
            .await?;
        assert!(underlined.as_str().unwrap_or_default().contains("unexpected end of input"), "{underlined}");
        browser.screenshot(&shot("dash-query-error")).await?;
        browser.eval(&click(".editor-cancel")).await?;

        // Drag the panel half the grid to the right: it snaps to column 13 and stays there.
        browser
            .eval(
                r#"const cell = document.querySelector('.cell'); const h = cell.querySelector('.move-handle');
                   const grid = document.querySelector('.dash-grid'); const r = h.getBoundingClientRect();
                   const col = (grid.clientWidth - 24 + 8) / 24;
                   const ev = (t, x) => new PointerEvent(t, { bubbles: true, pointerId: 1, clientX: x, clientY: r.top + 2 });
                   h.dispatchEvent(ev('pointerdown', r.left));
                   grid.dispatchEvent(ev('pointermove', r.left + col * 6.2));
                   grid.dispatchEvent(ev('pointermove', r.left + col * 12.2));
                   grid.dispatchEvent(ev('pointerup', r.left + col * 12.2));
                   return true;"#,
            )
            .await?;
        browser
            .wait_for(WAIT, "the panel to snap to column 13", "return getComputedStyle(document.querySelector('.cell')).getPropertyValue('--col').trim() === '13';")
            .await?;

        // Reload: the dashboard, its panel and its place were kept in IndexedDB.
        browser.goto(&format!("{base}/?d={uid}")).await?;
        browser
            .wait_for(WAIT, "the kept panel after reload", &format!("const s = (() => {{ {} }})(); return s && s.count >= 5 ? s : null;", panel_state("Requests per job")))
            .await?;
        let col = browser.eval("return getComputedStyle(document.querySelector('.cell')).getPropertyValue('--col').trim();").await?;
        assert_eq!(col, "13");

        // Variables: the services overview for one job, then two; the panels follow.
        browser.goto(&format!("{base}/?d=services-overview&from=now-5m&var-job=checkout")).await?;
        let one = browser
            .wait_for(WAIT, "the overview for checkout", &format!("const s = (() => {{ {} }})(); return s && s.count === 1 ? s : null;", panel_state("Request rate by service")))
            .await?;
        assert_eq!(one["legend"], serde_json::json!(["checkout"]));
        browser
            .eval(
                r#"const box = v => document.querySelector(`.variable[data-var="job"] input[value="${v}"]`);
                   box('gateway').click();
                   return true;"#,
            )
            .await?;
        for (value, checked) in [("payments", false), ("checkout", true)] {
            // Each click re-renders the menu: wait for the new one, then toggle the next value.
            browser
                .wait_for(WAIT, "the variable menu", &format!(r#"const b = document.querySelector('.variable[data-var="job"] input[value="{value}"]'); if (!b || b.checked !== {checked}) return false; b.click(); return true;"#))
                .await?;
        }
        let two = browser
            .wait_for(WAIT, "the panels to follow the variable", &format!("const s = (() => {{ {} }})(); return s && s.count === 2 ? s : null;", panel_state("Request rate by service")))
            .await?;
        assert!(two["expr"].as_str().unwrap_or_default().contains("job=~\"(gateway|payments)\""), "{two}");
        // The instance variable is chained to job: only those jobs' instances are offered.
        let instances = browser.eval(r#"return document.querySelectorAll('.variable[data-var="instance"] input').length;"#).await?;
        assert_eq!(instances, 3, "All + one instance per selected job");
        browser.screenshot(&shot("dash-variables")).await?;

        // The URL now carries the view: opening it again gives the same one.
        let url = browser.eval("return location.href;").await?;
        let url = url.as_str().unwrap_or_default().to_owned();
        assert!(url.contains("var-job=gateway") && url.contains("var-job=payments") && url.contains("from=now-5m"), "{url}");
        browser.goto(&url).await?;
        let again = browser
            .wait_for(WAIT, "the shared view", &format!("const s = (() => {{ {} }})(); return s && s.count === 2 ? s : null;", panel_state("Request rate by service")))
            .await?;
        assert_eq!(again["expr"], two["expr"]);
        let range = browser.eval("return document.querySelector('.time-picker select').value;").await?;
        assert_eq!(range, "now-5m");

        // Import: a broken document says what is wrong; a Grafana export loads, with its rows
        // and an unsupported panel shown as such.
        browser.goto(&format!("{base}/?dashboards")).await?;
        browser.wait_for(WAIT, "the dashboards list", "return document.querySelector('.dashboard-list') !== null;").await?;
        browser.eval(&type_into(".import-text", "{\"panels\": [{\"id\": \"x\"}]}")).await?;
        browser.eval(&click(".import-button")).await?;
        let err = browser.wait_for(WAIT, "the import error", "const m = document.querySelector('.message.error'); return m ? m.textContent : null;").await?;
        assert!(err.as_str().unwrap_or_default().contains("panels[0].id: expected a whole number, found the string \"x\""), "{err}");
        browser.eval(&type_into(".import-text", NODE_EXPORTER)).await?;
        browser.eval(&click(".import-button")).await?;
        browser
            .wait_for(WAIT, "the imported dashboard listed", r#"return [...document.querySelectorAll('.dashboard-link')].some(a => a.textContent === 'Node Exporter Full (trimmed)');"#)
            .await?;
        browser.screenshot(&shot("dash-list")).await?;
        browser.goto(&format!("{base}/?d=rYdddlPWk")).await?;
        let unsupported = browser
            .wait_for(WAIT, "the imported dashboard", "const n = document.querySelector('.unsupported-note'); return n ? n.textContent : null;")
            .await?;
        assert_eq!(unsupported, "unsupported panel type \"text\"");
        let rows = browser.eval("return [...document.querySelectorAll('.row-header')].map(r => r.textContent);").await?;
        assert_eq!(rows, serde_json::json!(["▾Quick CPU / Mem / Disk", "▸Memory / Network(2 panels)"]));
        browser.screenshot(&shot("dash-imported")).await?;
        // Expanding the collapsed row shows its two panels.
        browser.eval("document.querySelectorAll('.row-toggle')[1].click(); return true;").await?;
        browser
            .wait_for(WAIT, "the expanded row's panels", "return [...document.querySelectorAll('section.panel h2')].some(h => h.textContent === 'Network Traffic');")
            .await?;

        // At a phone's width the grid is one column, in reading order.
        browser.set_window_size(400, 850).await?;
        browser.goto(&format!("{base}/?d=services-overview")).await?;
        let column = browser
            .wait_for(
                WAIT,
                "a single column",
                r#"const cells = [...document.querySelectorAll('.cell')];
                   if (cells.length < 10) return null;
                   const lefts = new Set(cells.map(c => Math.round(c.getBoundingClientRect().left)));
                   const tops = cells.map(c => c.getBoundingClientRect().top);
                   const ordered = tops.every((t, i) => i === 0 || t > tops[i - 1]);
                   return { lefts: lefts.size, ordered };"#,
            )
            .await?;
        assert_eq!(column, serde_json::json!({ "lefts": 1, "ordered": true }));
        browser.screenshot(&shot("dash-phone")).await?;
        anyhow::Ok(())
    }
    .await;
    if result.is_err() {
        let _ = browser.screenshot(&shot("dash-failure")).await;
    }
    browser.close().await;
    relay.shutdown();
    result
}
