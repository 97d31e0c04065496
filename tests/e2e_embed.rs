//! Embedding, in a real browser against a real relay, with host pages on other loopback ports
//! (other origins): a panel shared from the app draws live data in an iframe on an allowed host
//! and tells the host its height; the app itself and any host not allowed are refused by the
//! relay's `frame-ancestors`; a label value made of HTML is shown as text everywhere, runs
//! nothing and breaks no CSP rule. Run by `cargo xtask test`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use lookout_relay::{Relay, RelayConfig, ScrapeTarget};
use lookout_tests::dist;
use lookout_tests::target::TestTarget;
use lookout_tests::webdriver::Browser;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

/// A web server on its own loopback port (its own origin) serving one page the test writes.
struct Host {
    addr: SocketAddr,
    html: Arc<Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Host {
    async fn start() -> anyhow::Result<Host> {
        let html = Arc::new(Mutex::new(String::new()));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route(
                "/",
                get(|State(h): State<Arc<Mutex<String>>>| async move {
                    Html(h.lock().unwrap_or_else(|e| e.into_inner()).clone())
                }),
            )
            .with_state(html.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Host { addr, html, task })
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn set(&self, html: String) {
        *self.html.lock().unwrap_or_else(|e| e.into_inner()) = html;
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A host page with `frames` (src, id) and a listener keeping the heights each reports.
fn host_page(frames: &[(&str, &str)]) -> String {
    let iframes: String = frames
        .iter()
        .map(|(src, id)| {
            format!(
                "<iframe id=\"{id}\" src=\"{}\" width=\"600\" height=\"300\"></iframe>\n",
                src.replace('&', "&amp;").replace('"', "&quot;")
            )
        })
        .collect();
    format!(
        r#"<!doctype html><html><head><title>host</title></head><body>
<h1>Status</h1>
{iframes}<script>
window.sizes = {{}};
window.addEventListener("message", (e) => {{
  for (const f of document.querySelectorAll("iframe")) {{
    if (f.contentWindow === e.source && e.data && e.data.type === "lookout:size") window.sizes[f.id] = e.data.height;
  }}
}});
</script></body></html>"#
    )
}

async fn relay(target: &TestTarget, embed_origins: Vec<String>) -> anyhow::Result<Relay> {
    Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        dist: Some(dist()?),
        targets: vec![ScrapeTarget::new("e2e", target.url())],
        scrape_interval: Duration::from_millis(500),
        scrape_timeout: Duration::from_millis(400),
        embed_origins,
        ..RelayConfig::default()
    })
    .await
}

/// Waits for `script`; on timeout says where the frame is and what it shows.
async fn wait(browser: &Browser, what: &str, script: &str) -> anyhow::Result<serde_json::Value> {
    match browser.wait_for(WAIT, what, script).await {
        Ok(v) => Ok(v),
        Err(e) => {
            let seen = browser
                .eval("return location.href + ' | ' + document.documentElement.className + ' | ' + (document.body ? document.body.innerText.slice(0, 400) : '');")
                .await
                .unwrap_or_default();
            anyhow::bail!("{e}; the page: {seen}")
        }
    }
}

/// Whether the current frame shows Lookout at all (a refused frame holds the browser's error
/// page, or nothing).
async fn shows_lookout(browser: &Browser) -> anyhow::Result<bool> {
    Ok(browser
        .eval("return document.querySelector('.embed-root, .topbar, .panel') !== null;")
        .await?
        .as_bool()
        == Some(true))
}

#[tokio::test]
async fn a_shared_panel_draws_live_in_an_allowed_host_and_nothing_else_may_frame()
-> anyhow::Result<()> {
    let target = TestTarget::start(7.0).await?;
    let host = Host::start().await?;
    let relay = relay(&target, vec![host.origin()]).await?;
    let base = format!("http://{}", relay.local_addr());
    let browser = Browser::start().await?;
    let result = async {
        browser.set_window_size(1280, 900).await?;
        // Share a panel from the app, as a user would.
        browser.goto(&format!("{base}/?expr=e2e_counter_total&from=now-5m")).await?;
        wait(&browser, "the panel to draw", r#"const p = document.querySelector('[data-expr="e2e_counter_total"]'); return p && p.dataset.last === "7";"#)
            .await?;
        browser
            .eval(r#"document.querySelector('.cell[data-id="2"] .cell-share').click(); return true;"#)
            .await?;
        let snippet = wait(&browser, "the share dialog", "const t = document.querySelector('.share-iframe'); return t ? t.value : null;")
            .await?;
        let embed_url = browser
            .eval("return document.querySelector('.share-embed-url').value;")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        anyhow::ensure!(embed_url.starts_with(&format!("{base}/embed?panel=2&from=now-5m")), "{embed_url}");
        let snippet = snippet.as_str().unwrap_or_default();
        anyhow::ensure!(snippet.starts_with("<iframe src=\"") && snippet.contains(&embed_url.replace('&', "&amp;").replace('"', "&quot;")), "{snippet}");

        host.set(host_page(&[
            (&embed_url, "shared"),
            (&format!("{base}/?expr=e2e_counter_total"), "app"),
        ]));
        browser.goto(&format!("{}/", host.origin())).await?;
        browser.switch_to_frame(0).await?;
        wait(&browser, "the embedded panel to draw", r#"const p = document.querySelector('.embed-root [data-expr="e2e_counter_total"]'); return p && p.dataset.seriesCount === "1" && p.dataset.last === "7";"#)
            .await?;
        let chrome = browser
            .eval("return [document.querySelector('.topbar, .dash-toolbar:not(.hidden), .cell-share') === null, document.documentElement.classList.contains('solo'), document.querySelectorAll('.embed-root .panel').length];")
            .await?;
        anyhow::ensure!(chrome == json!([true, true, 1]), "one panel, no chrome: {chrome}");
        // Live: a new value reaches the frame.
        target.set(42.0);
        wait(&browser, "the new value in the frame", r#"const p = document.querySelector('[data-expr="e2e_counter_total"]'); return p && p.dataset.last === "42";"#)
            .await?;
        browser.switch_to_top().await?;
        let height = wait(&browser, "the frame to report its height", "return window.sizes.shared > 0 ? window.sizes.shared : null;")
            .await?;
        anyhow::ensure!(height.as_f64().is_some_and(|h| (100.0..=400.0).contains(&h)), "reported height {height}");
        // The app is not an embed: framed on another site, the browser refuses it.
        tokio::time::sleep(Duration::from_secs(1)).await;
        browser.switch_to_frame(1).await?;
        anyhow::ensure!(!shows_lookout(&browser).await?, "the app drew inside a frame on {}", host.origin());
        browser.switch_to_top().await?;
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    result
}

#[tokio::test]
async fn a_host_that_is_not_allowed_gets_no_embed() -> anyhow::Result<()> {
    let target = TestTarget::start(1.0).await?;
    let host = Host::start().await?;
    // Another origin is allowed, not this host's.
    let relay = relay(&target, vec!["http://status.example:8080".into()]).await?;
    let base = format!("http://{}", relay.local_addr());
    let browser = Browser::start().await?;
    let result = async {
        host.set(host_page(&[(&format!("{base}/embed?expr=e2e_counter_total&panel=2"), "refused")]));
        browser.goto(&format!("{}/", host.origin())).await?;
        // Give it the time a panel would take to draw.
        tokio::time::sleep(Duration::from_secs(3)).await;
        browser.switch_to_frame(0).await?;
        anyhow::ensure!(!shows_lookout(&browser).await?, "a host not allowed got the embed");
        browser.switch_to_top().await?;
        let sizes = browser.eval("return JSON.stringify(window.sizes);").await?;
        anyhow::ensure!(sizes == json!("{}"), "a refused frame reported a size: {sizes}");
        // The same embed opened directly (not framed) works: the refusal is the framing.
        browser.goto(&format!("{base}/embed?expr=e2e_counter_total&panel=2")).await?;
        wait(&browser, "the embed, unframed", r#"const p = document.querySelector('[data-expr="e2e_counter_total"]'); return p && p.dataset.last === "1";"#)
            .await?;
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    result
}

/// A label value that is HTML, as an attacker who controls a target's labels would write it.
const XSS: &str = "\"><img src=x onerror=alert(1)>";

/// Serves `e2e_xss{name=XSS}` so the value reaches the page through the relay.
async fn xss_target() -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let escaped = XSS.replace('\\', "\\\\").replace('"', "\\\"");
    let body = format!(
        "# TYPE e2e_xss gauge\ne2e_xss{{name=\"{escaped}\"}} 3\ne2e_xss{{name=\"plain\"}} 2\n"
    );
    let app = Router::new().route("/metrics", get(move || std::future::ready(body.clone())));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, task))
}

#[tokio::test]
async fn a_label_made_of_html_is_shown_as_text_and_runs_nothing() -> anyhow::Result<()> {
    let (addr, task) = xss_target().await?;
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        dist: Some(dist()?),
        targets: vec![ScrapeTarget::new("xss", format!("http://{addr}/metrics"))],
        scrape_interval: Duration::from_millis(500),
        scrape_timeout: Duration::from_millis(400),
        ..RelayConfig::default()
    })
    .await?;
    let base = format!("http://{}", relay.local_addr());
    let browser = Browser::start().await?;
    let result = async {
        browser.set_window_size(1280, 900).await?;
        // Before any page script: count alerts and CSP violations.
        browser
            .cdp(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": "window.__alerts = 0; window.alert = () => { window.__alerts++; }; window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));" }),
            )
            .await?;
        // A dashboard whose variable, panel title, legend and table all carry the value.
        let dash = json!({
            "uid": "xss", "title": XSS, "schemaVersion": 39,
            "templating": { "list": [{ "name": "who", "type": "query", "query": "label_values(e2e_xss, name)", "multi": true, "includeAll": true, "current": { "value": ["$__all"] } }] },
            "panels": [
                { "id": 1, "type": "timeseries", "title": XSS, "gridPos": { "x": 0, "y": 0, "w": 12, "h": 9 },
                  "targets": [{ "expr": "e2e_xss{name=~\"$who\"}", "legendFormat": "{{name}}" }] },
                { "id": 2, "type": "table", "title": "table", "gridPos": { "x": 12, "y": 0, "w": 12, "h": 9 },
                  "targets": [{ "expr": "e2e_xss", "legendFormat": "{{name}}" }] }
            ]
        });
        browser.goto(&format!("{base}/?dashboards")).await?;
        wait(&browser, "the app", "return document.querySelector('.topbar') !== null;").await?;
        let stored = browser
            .eval_async(&format!(
                r#"const done = arguments[arguments.length - 1];
                const req = indexedDB.open("lookout", 1);
                req.onupgradeneeded = () => {{ for (const s of ["dashboards", "settings"]) if (!req.result.objectStoreNames.contains(s)) req.result.createObjectStore(s); }};
                req.onerror = () => done("open: " + req.error);
                req.onsuccess = () => {{
                  const tx = req.result.transaction("dashboards", "readwrite");
                  tx.objectStore("dashboards").put({json}, "xss");
                  tx.oncomplete = () => done("ok");
                  tx.onerror = () => done("put: " + tx.error);
                }};"#,
                json = serde_json::to_string(&dash.to_string())?
            ))
            .await?;
        anyhow::ensure!(stored == json!("ok"), "storing the dashboard: {stored}");
        browser.goto(&format!("{base}/?d=xss&from=now-5m")).await?;
        let legend = wait(&browser, "the legend", r#"const names = Array.from(document.querySelectorAll('[data-panel="1"] .legend .name')).map(n => n.textContent); return names.length === 2 ? names : null;"#)
            .await?;
        anyhow::ensure!(legend.as_array().is_some_and(|a| a.iter().any(|n| n == XSS)), "legend: {legend}");
        let title = browser.eval(r#"return document.querySelector('[data-panel="1"] h2').textContent;"#).await?;
        anyhow::ensure!(title == json!(XSS), "title: {title}");
        let options = wait(&browser, "the variable's options", r#"const o = Array.from(document.querySelectorAll('.variable select option, .variable .variable-menu li label')).map(o => o.textContent); return o.length >= 2 ? o : null;"#)
            .await?;
        anyhow::ensure!(options.as_array().is_some_and(|a| a.iter().any(|n| n == XSS)), "options: {options}");
        let cells = wait(&browser, "the table", &format!(r#"const c = Array.from(document.querySelectorAll('[data-panel="2"] td')).map(c => c.textContent); return c.some(t => t.includes({})) ? c : null;"#, json!(XSS)))
            .await?;
        anyhow::ensure!(!cells.is_null());
        // The tooltip: hover the middle of the plot.
        let tip = browser
            .wait_for(
                WAIT,
                "the tooltip",
                &format!(
                    r#"const plot = document.querySelector('[data-panel="1"] .plot'); const r = plot.getBoundingClientRect();
                    for (const t of ['mousemove']) plot.dispatchEvent(new MouseEvent(t, {{bubbles: true, clientX: r.left + r.width * 0.9, clientY: r.top + r.height / 2}}));
                    const names = Array.from(document.querySelectorAll('.tooltip .name')).map(n => n.textContent);
                    return names.includes({}) ? names : null;"#,
                    json!(XSS)
                ),
            )
            .await?;
        anyhow::ensure!(!tip.is_null());
        let after = browser
            .eval("return [document.querySelectorAll('img').length, window.__alerts, window.__csp];")
            .await?;
        anyhow::ensure!(after == json!([0, 0, []]), "[images, alerts, CSP violations]: {after}");
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    task.abort();
    result
}
