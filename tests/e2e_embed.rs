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
    relay_with(target, embed_origins, Default::default()).await
}

async fn relay_with(
    target: &TestTarget,
    embed_origins: Vec<String>,
    stream: lookout_relay::stream::StreamSettings,
) -> anyhow::Result<Relay> {
    Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        dist: Some(dist()?),
        targets: vec![ScrapeTarget::new("e2e", target.url())],
        scrape_interval: Duration::from_millis(500),
        scrape_timeout: Duration::from_millis(400),
        embed_origins,
        stream,
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
        let element_snippet = browser
            .eval("return document.querySelector('.share-element').value;")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned();
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
        // The dialog's element snippet, pasted into the host page as it is, draws the panel too.
        anyhow::ensure!(element_snippet.contains(&format!("src=\"{base}/embed.js\"")) && element_snippet.contains("panel=\"2\""), "{element_snippet}");
        host.set(format!("<!doctype html><html><body>{}</body></html>", element_snippet.replacen("<lookout-panel", "<lookout-panel id=\"el0\"", 1)));
        browser.goto(&format!("{}/", host.origin())).await?;
        wait(&browser, "the pasted element to draw", &in_element(0, r#"const p = root.querySelector('[data-expr="e2e_counter_total"]'); return p && p.dataset.last === "42";"#))
            .await?;
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

/// A host page loading `embed.js` from the relay and placing `elements` (attribute strings),
/// plus `frames` as iframes; its own CSS hides every `.panel` and `canvas` it can reach, which
/// must not reach into the elements' shadow roots.
fn element_page(base: &str, elements: &[&str], frames: &[&str]) -> String {
    let els: String = elements
        .iter()
        .enumerate()
        .map(|(i, attrs)| format!("<lookout-panel id=\"el{i}\" {attrs}></lookout-panel>\n"))
        .collect();
    let iframes: String = frames
        .iter()
        .map(|src| {
            format!(
                "<iframe src=\"{}\" width=\"600\" height=\"300\"></iframe>\n",
                src.replace('&', "&amp;")
            )
        })
        .collect();
    format!(
        r#"<!doctype html><html><head><title>host</title>
<style>.panel, canvas {{ display: none !important; }} body {{ font-family: serif; }}</style>
<script type="module" src="{base}/embed.js"></script></head><body>
<h1>Status</h1>
{els}{iframes}</body></html>"#
    )
}

/// `script` run against element `i`'s shadow root (`root`), in the host page.
fn in_element(i: usize, script: &str) -> String {
    format!(
        "const host = document.getElementById('el{i}'); const root = host && host.shadowRoot; if (!root) return null; {script}"
    )
}

async fn relay_connections(base: &str) -> anyhow::Result<f64> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    text.lines()
        .find_map(|l| l.strip_prefix("lookout_connections "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no lookout_connections in the relay's /metrics"))
}

#[tokio::test]
async fn two_elements_on_a_host_share_one_connection_and_draw_live_beside_an_iframe()
-> anyhow::Result<()> {
    let target = TestTarget::start(7.0).await?;
    let host = Host::start().await?;
    let relay = relay(&target, vec![host.origin()]).await?;
    let base = format!("http://{}", relay.local_addr());
    let browser = Browser::start().await?;
    let result = async {
        browser.set_window_size(1280, 1200).await?;
        host.set(element_page(
            &base,
            &[
                r#"expr="e2e_counter_total" panel="2" from="now-5m" theme="light""#,
                r#"expr="e2e_counter_total * 2" panel="2" theme="dark" transparent"#,
            ],
            &[&format!("{base}/embed?expr=e2e_counter_total&panel=2")],
        ));
        browser.goto(&format!("{}/", host.origin())).await?;
        for (i, expr, last) in [(0, "e2e_counter_total", "7"), (1, "e2e_counter_total * 2", "14")] {
            let drawn = wait(
                &browser,
                &format!("element {i} to draw"),
                &in_element(i, &format!(
                    r#"const p = root.querySelector('.panel[data-expr="{}"]'); if (!p || p.dataset.last !== "{last}") return null; const c = p.querySelector('canvas').getBoundingClientRect(); return [c.width, c.height];"#,
                    expr.replace('"', "\\\"")
                )),
            )
            .await?;
            // The host's `canvas { display: none }` stops at the shadow root.
            anyhow::ensure!(
                drawn.as_array().is_some_and(|a| a.iter().all(|v| v.as_f64().unwrap_or(0.0) > 50.0)),
                "element {i}'s canvas is {drawn}: the host's CSS reached it"
            );
        }
        let themes = browser
            .eval(&in_element(1, "return [root.querySelector('.lookout-element').dataset.theme, getComputedStyle(root.querySelector('.lookout-element')).backgroundColor, getComputedStyle(root.querySelector('.panel')).color];"))
            .await?;
        anyhow::ensure!(
            themes == json!(["dark", "rgba(0, 0, 0, 0)", "rgb(216, 217, 218)"]),
            "the dark, transparent element: {themes}"
        );
        // Live: a new value reaches both elements.
        target.set(42.0);
        for (i, last) in [(0, "42"), (1, "84")] {
            wait(
                &browser,
                &format!("the new value in element {i}"),
                &in_element(i, &format!(r#"const p = root.querySelector('.panel'); return p && p.dataset.last === "{last}";"#)),
            )
            .await?;
        }
        // An element taken off the page is unmounted (its panels stop), and put back it draws
        // again from the shared store, on the same connection.
        browser.eval("window.__el1 = document.getElementById('el1'); window.__el1.remove(); return true;").await?;
        let left = browser
            .eval("return window.__el1.shadowRoot.querySelector('.panel') === null;")
            .await?;
        anyhow::ensure!(left == json!(true), "a removed element kept its panels mounted");
        browser.eval("document.body.appendChild(window.__el1); return true;").await?;
        wait(
            &browser,
            "the element put back to draw",
            &in_element(1, r#"const p = root.querySelector('.panel'); return p && p.dataset.last === "84";"#),
        )
        .await?;
        // The iframe draws too, over a connection of its own: two in all, not three.
        browser.switch_to_frame(0).await?;
        wait(&browser, "the iframe's panel", r#"const p = document.querySelector('[data-expr="e2e_counter_total"]'); return p && p.dataset.last === "42";"#)
            .await?;
        browser.switch_to_top().await?;
        let open = relay_connections(&base).await?;
        anyhow::ensure!(open == 2.0, "the relay has {open} page connections: two elements and one iframe should make 2");
        screenshot(&browser, "elements-on-a-host").await?;
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    result
}

#[tokio::test]
async fn an_element_on_a_host_that_is_not_allowed_says_so() -> anyhow::Result<()> {
    let target = TestTarget::start(1.0).await?;
    let host = Host::start().await?;
    let relay = relay(&target, vec!["http://status.example:8080".into()]).await?;
    let base = format!("http://{}", relay.local_addr());
    let browser = Browser::start().await?;
    let result = async {
        host.set(element_page(
            &base,
            &[r#"expr="e2e_counter_total" panel="2""#],
            &[],
        ));
        browser.goto(&format!("{}/", host.origin())).await?;
        let said = refusal(&browser, 0).await?;
        anyhow::ensure!(
            said.contains(&host.origin()) && said.contains("embed origins"),
            "the element says {said:?}"
        );
        let open = relay_connections(&base).await?;
        anyhow::ensure!(open == 0.0, "a refused element holds {open} connections");
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    result
}

/// What element `i` says instead of drawing, once it says it; an error if it drew a panel.
async fn refusal(browser: &Browser, i: usize) -> anyhow::Result<String> {
    let said = wait(
        browser,
        &format!("element {i} to say why it shows nothing"),
        &in_element(
            i,
            "const e = root.querySelector('.embed-error'); return e ? e.textContent : null;",
        ),
    )
    .await?;
    let drew = browser
        .eval(&in_element(
            i,
            "return root.querySelector('.panel') !== null;",
        ))
        .await?;
    anyhow::ensure!(
        drew == json!(false),
        "element {i} said {said} and drew a panel"
    );
    Ok(said.as_str().unwrap_or_default().to_owned())
}

/// With `LOOKOUT_SCREENSHOTS` set, saves the viewport as `target/screenshots/<name>.png`.
async fn screenshot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    if std::env::var_os("LOOKOUT_SCREENSHOTS").is_none() {
        return Ok(());
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    browser.screenshot(&dir.join(format!("{name}.png"))).await
}

/// The series count and legend of the panel titled `title` in the current page.
fn panel_state(title: &str) -> String {
    format!(
        r#"const p = [...document.querySelectorAll('section.panel')].find(s => s.querySelector('h2')?.textContent === {t});
           if (!p) return null;
           return {{ count: Number(p.dataset.seriesCount || 0), expr: p.dataset.expr,
                     legend: [...p.querySelectorAll('.legend .name')].map(n => n.textContent).sort() }};"#,
        t = serde_json::to_string(title).unwrap_or_default()
    )
}

#[tokio::test]
async fn a_dashboard_downloaded_as_html_opens_from_disk_offline_and_stays_interactive()
-> anyhow::Result<()> {
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
    let downloads = std::env::temp_dir().join(format!("lookout-e2e-html-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&downloads);
    std::fs::create_dir_all(&downloads)?;
    let browser = Browser::start().await?;
    let rate = panel_state("Request rate by service");
    let result = async {
        browser.set_window_size(1280, 900).await?;
        browser
            .cdp(
                "Browser.setDownloadBehavior",
                json!({ "behavior": "allow", "downloadPath": downloads.to_string_lossy() }),
            )
            .await?;
        browser.goto(&format!("{base}/?d=services-overview&from=now-5m&var-job=checkout")).await?;
        let live = wait(&browser, "the overview for checkout", &format!("const s = (() => {{ {rate} }})(); return s && s.count === 1 ? s : null;"))
            .await?;
        anyhow::ensure!(live["legend"] == json!(["checkout"]), "{live}");
        // Enough scrapes for every rate and for the other jobs the variable will pick.
        wait(&browser, "a few scrapes of gateway", r#"return window.lookoutDump('up').split('\n').filter(l => l.includes('job="gateway"')).length >= 5;"#)
            .await?;
        let live = browser.eval(&format!("return (() => {{ {rate} }})();")).await?;
        screenshot(&browser, "exported-html-source").await?;
        let live_samples = browser.eval("return window.lookoutSamplesUntil(Date.now() + 1e9);").await?;
        browser.eval("document.querySelector('.download-html').click(); return true;").await?;
        let deadline = tokio::time::Instant::now() + WAIT;
        let file = loop {
            let done = std::fs::read_dir(&downloads)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "html"));
            if let Some(f) = done {
                break f;
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "no HTML file was downloaded; the page says {:?}",
                browser.eval("return document.querySelector('.dash-toolbar .error')?.textContent || null;").await?);
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let size = std::fs::metadata(&file)?.len();
        // No relay and no network: the file has everything it needs.
        relay.shutdown();
        browser.cdp("Network.enable", json!({})).await?;
        browser
            .cdp(
                "Network.emulateNetworkConditions",
                json!({ "offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
            )
            .await?;
        browser.goto(&format!("file://{}", file.display())).await?;
        let opened = match wait(&browser, "the file's panel to draw", &format!("const s = (() => {{ {rate} }})(); return s && s.count === 1 ? s : null;")).await {
            Ok(v) => v,
            Err(e) => anyhow::bail!(
                "{e}; the file holds {} samples, the page held {live_samples}; the panel: {} (live: {live})",
                browser.eval("return window.lookoutSamplesUntil(Date.now() + 1e9);").await?,
                browser.eval(&format!("return (() => {{ {rate} }})();")).await?
            ),
        };
        anyhow::ensure!(opened["legend"] == json!(["checkout"]), "from disk, {} bytes: {opened}", size);
        let banner = wait(&browser, "the snapshot banner", "const b = document.querySelector('.offline-banner'); return b ? b.textContent : null;")
            .await?;
        anyhow::ensure!(banner.as_str().is_some_and(|b| b.starts_with("snapshot — data up to")), "{banner}");
        // A variable change evaluates the queries again over the file's data.
        browser
            .eval(r#"document.querySelector('.variable[data-var="job"] input[value="gateway"]').click(); return true;"#)
            .await?;
        let two = wait(&browser, "the panel to follow the variable", &format!("const s = (() => {{ {rate} }})(); return s && s.count === 2 ? s : null;"))
            .await?;
        anyhow::ensure!(two["legend"] == json!(["checkout", "gateway"]), "{two}");
        screenshot(&browser, "exported-html").await?;
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&downloads);
    }
    result
}

#[tokio::test]
async fn an_element_with_a_token_scoped_to_a_dashboard_draws_it_and_no_other() -> anyhow::Result<()>
{
    let target = TestTarget::start(5.0).await?;
    let host = Host::start().await?;
    let dashboards = lookout_tests::provision(&[
        (
            "status.json",
            r#"{"uid": "status", "title": "Status page",
                "templating": {"list": [{"name": "job", "type": "query", "query": "label_values(up, job)", "multi": true, "includeAll": true, "current": {"value": ["$__all"]}}]},
                "panels": [{"id": 1, "type": "stat", "title": "Requests", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 6},
                            "targets": [{"expr": "e2e_counter_total{job=~\"$job\"}"}]}]}"#,
        ),
        (
            "relay.json",
            r#"{"uid": "relay", "title": "The relay", "panels": [{"id": 1, "type": "stat", "title": "Pages", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 6}, "targets": [{"expr": "lookout_connections"}]}]}"#,
        ),
    ])?;
    let tokens = lookout_relay::dashboards::parse_tokens(
        "status-token dashboards=status\n",
        "tokens.txt",
        &dashboards,
    )?;
    let relay = relay_with(
        &target,
        vec![host.origin()],
        lookout_relay::stream::StreamSettings {
            tokens,
            dashboards,
            ..Default::default()
        },
    )
    .await?;
    let base = format!("http://{}", relay.local_addr());
    let browser = Browser::start().await?;
    let result = async {
        host.set(element_page(
            &base,
            &[
                r#"dashboard="status" panel="1" token="status-token""#,
                r#"dashboard="relay" token="status-token""#,
            ],
            &[],
        ));
        browser.goto(&format!("{}/", host.origin())).await?;
        // The provisioned dashboard comes from the relay and its panel draws live.
        wait(
            &browser,
            "the status panel to draw",
            &in_element(
                0,
                r#"const p = root.querySelector('.panel'); return p && p.dataset.last === "5";"#,
            ),
        )
        .await?;
        target.set(6.0);
        wait(
            &browser,
            "the status panel to follow",
            &in_element(
                0,
                r#"const p = root.querySelector('.panel'); return p && p.dataset.last === "6";"#,
            ),
        )
        .await?;
        // The other dashboard is not the token's: the element says so instead of drawing.
        let said = refusal(&browser, 1).await?;
        anyhow::ensure!(
            said.contains("may read dashboard status, not \"relay\""),
            "the element says {said:?}"
        );
        screenshot(&browser, "element-scoped-token").await?;
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    relay.shutdown();
    result
}
