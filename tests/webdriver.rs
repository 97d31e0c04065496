//! A small WebDriver client for headless Chromium through chromedriver: enough to open a page,
//! run a script in it, and take a screenshot.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use serde_json::{Value, json};

/// A browser session; chromedriver and the browser end when it is dropped.
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    base: String,
    driver: tokio::process::Child,
    /// The session's own browser profile, removed on close.
    profile: std::path::PathBuf,
}

const CHROME_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

impl Browser {
    /// Starts chromedriver (`$CHROMEDRIVER`, else /usr/bin/chromedriver) and a headless session.
    pub async fn start() -> anyhow::Result<Browser> {
        let driver_path =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?.port()
        };
        let driver = tokio::process::Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {driver_path} (run the browser tests through `cargo xtask test`)"
                )
            })?;
        // A page whose main thread is stuck makes chromedriver wait forever: fail instead.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()?;
        let driver_url = format!("http://127.0.0.1:{port}");
        crate::eventually(Duration::from_secs(20), "chromedriver to start", || {
            let http = http.clone();
            let url = format!("{driver_url}/status");
            async move {
                http.get(url)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
            }
        })
        .await?;
        // A fresh profile per session: a profile left locked by an earlier, killed browser makes
        // Chromium exit at start. Chromium can still fail to start on a loaded machine, so a
        // refused session is retried (with a new profile) before giving up.
        let mut last = Value::Null;
        for attempt in 0..3 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let profile = std::env::temp_dir().join(format!(
                "lookout-chrome-{}-{port}-{nanos}",
                std::process::id()
            ));
            let mut args: Vec<String> = CHROME_ARGS.iter().map(|s| (*s).to_owned()).collect();
            args.push(format!("--user-data-dir={}", profile.display()));
            let caps = json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args },
            } } });
            let resp: Value = http
                .post(format!("{driver_url}/session"))
                .json(&caps)
                .send()
                .await?
                .json()
                .await?;
            if let Some(id) = resp["value"]["sessionId"].as_str() {
                let base = format!("{driver_url}/session/{id}");
                return Ok(Browser {
                    base,
                    http,
                    driver,
                    profile,
                });
            }
            last = resp;
            tokio::time::sleep(Duration::from_millis(500 * (attempt + 1))).await;
        }
        bail!("chromedriver refused a session three times: {last}")
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp: Value = req.send().await?.json().await?;
        if let Some(err) = resp["value"].get("error") {
            bail!("webdriver {path}: {err}: {}", resp["value"]["message"]);
        }
        Ok(resp["value"].clone())
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(|_| ())
    }

    /// Runs `script` (a function body; `return` gives the result) in the page.
    pub async fn eval(&self, script: &str) -> anyhow::Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Runs `script` (a function body) asynchronously: it ends by calling
    /// `arguments[arguments.length - 1](result)`.
    pub async fn eval_async(&self, script: &str) -> anyhow::Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Re-runs `script` until it returns something other than null/false.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        script: &str,
    ) -> anyhow::Result<Value> {
        crate::eventually(timeout, what, || async {
            match self.eval(script).await {
                Ok(Value::Null | Value::Bool(false)) | Err(_) => None,
                Ok(v) => Some(v),
            }
        })
        .await
    }

    /// Resizes the window (CSS px), e.g. to a phone's width.
    pub async fn set_window_size(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await
        .map(|_| ())
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`): network
    /// emulation, storage quotas.
    pub async fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
        .await
    }

    /// Opens a new tab and returns its handle; the current tab stays current.
    pub async fn new_tab(&self) -> anyhow::Result<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/window/new",
                Some(json!({ "type": "tab" })),
            )
            .await?;
        v["handle"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no handle for the new tab: {v}"))
    }

    /// The current tab's handle.
    pub async fn current_tab(&self) -> anyhow::Result<String> {
        let v = self.call(reqwest::Method::GET, "/window", None).await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Makes the tab `handle` current.
    pub async fn switch_to(&self, handle: &str) -> anyhow::Result<()> {
        self.call(
            reqwest::Method::POST,
            "/window",
            Some(json!({ "handle": handle })),
        )
        .await
        .map(|_| ())
    }

    /// Makes the `index`th frame of the current document current (scripts then run in it).
    pub async fn switch_to_frame(&self, index: u32) -> anyhow::Result<()> {
        self.call(
            reqwest::Method::POST,
            "/frame",
            Some(json!({ "id": index })),
        )
        .await
        .map(|_| ())
    }

    /// Makes the top-level document current again.
    pub async fn switch_to_top(&self) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, "/frame", Some(json!({ "id": null })))
            .await
            .map(|_| ())
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let png =
            base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap_or_default())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Ends the session and chromedriver.
    pub async fn close(mut self) {
        let _ = self.call(reqwest::Method::DELETE, "", None).await;
        let _ = self.driver.kill().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
