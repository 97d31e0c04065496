//! Offline first, in headless Chromium against real `lookout` processes: the page reopens with
//! no relay (and with the browser offline) from its service worker and its cache in the origin
//! private file system, says how old its data is, and fills the gap without duplicates when the
//! relay is back; a tab killed while writing never leaves an unreadable cache; a small storage
//! quota makes it evict and say so; two tabs share one cache. Run by `cargo xtask test`
//! (feature `browser`).

use lookout_tests::dist;
use std::path::PathBuf;
use std::time::Duration;

use lookout_tests::client::{Client, CountingTarget, WideTarget, lookout_binary, spawn_lookout};
use lookout_tests::webdriver::Browser;
use lookout_tsdb::MatchOp;
use lookout_wire::MatcherSpec;
use serde_json::json;

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

const LIVE: &str = r#"return document.querySelector('.status[data-state="live"], .status[data-state="resynced"]') !== null;"#;
const OFFLINE: &str = r#"const b = document.querySelector('.offline-banner'); return b ? [b.textContent, Number(b.dataset.newest)] : null;"#;
const RESTORED: &str =
    r#"const s = document.querySelector('.restored'); return s ? Number(s.dataset.restored) : 0;"#;
const NOTE: &str =
    r#"const n = document.querySelector('.cache-note'); return n ? n.textContent : null;"#;

/// Loads `url`, retrying while the relay starts.
async fn open(browser: &Browser, url: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while browser.goto(url).await.is_err()
        || browser
            .eval("return document.querySelector('.status') === null;")
            .await?
            .as_bool()
            != Some(false)
    {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the page never loaded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

async fn browser_now(browser: &Browser) -> anyhow::Result<i64> {
    Ok(browser
        .eval("return Date.now();")
        .await?
        .as_i64()
        .unwrap_or(0))
}

/// Waits until this tab has written the cache after `after` (ms), which holds data up to then.
/// Waits until the page holds samples and a cache write has happened since: "live" alone is
/// not enough, as the connection can be live (and the first, empty, write done) before the
/// relay's history reaches the store. Returns the browser's time once samples were there (the
/// write came after it).
async fn wait_data_saved(browser: &Browser) -> anyhow::Result<i64> {
    browser
        .wait_for(
            Duration::from_secs(30),
            "samples in the page",
            "const n = window.lookoutSamplesUntil ? window.lookoutSamplesUntil(Date.now() + 60000) : 0; return n > 0 ? n : null;",
        )
        .await?;
    let t = browser_now(browser).await?;
    wait_saved_after(browser, t).await?;
    Ok(t)
}

async fn wait_saved_after(browser: &Browser, after: i64) -> anyhow::Result<i64> {
    let script = format!(
        "const s = document.querySelector('.last-saved'); const t = s ? Number(s.dataset.savedAt) : 0; return t > {after} ? t : null;"
    );
    let v = browser
        .wait_for(Duration::from_secs(60), "a cache write", &script)
        .await
        .map_err(|e| anyhow::anyhow!("{e} (cache note: {:?})", "see the page"))?;
    Ok(v.as_i64().unwrap_or(0))
}

/// What the page says of its cache and what the cache's files are, for a failure message:
/// the settings panel's text, the note, and the manifest and file sizes in OPFS.
async fn cache_state(browser: &Browser) -> String {
    let page = browser
        .eval(
            r#"const s = document.querySelector('.cache-settings'); const n = document.querySelector('.cache-note'); return JSON.stringify({settings: s ? s.textContent : null, note: n ? n.textContent : null, restored: document.querySelector('.restored') ? document.querySelector('.restored').textContent : null});"#,
        )
        .await
        .map_or_else(|e| format!("(page: {e})"), |v| v.to_string());
    let files = browser
        .eval_async(
            r#"const done = arguments[arguments.length - 1];
            (async () => {
              const root = await navigator.storage.getDirectory();
              const dir = await root.getDirectoryHandle('lookout-cache');
              const out = {};
              for await (const [name, h] of dir.entries()) {
                const f = await h.getFile();
                out[name] = name === 'manifest' ? await f.text() : f.size;
              }
              return JSON.stringify(out);
            })().then(done, e => done('no files: ' + e));"#,
        )
        .await
        .map_or_else(|e| format!("(files: {e})"), |v| v.to_string());
    format!("page {page}; files {files}")
}

/// The page's panel for `expr`: series drawn and its newest value.
async fn panel(browser: &Browser, expr: &str) -> anyhow::Result<(u64, Option<f64>)> {
    let v = browser
        .eval(&format!(
            r#"const p = document.querySelector('[data-expr="{expr}"]'); return p ? [Number(p.dataset.seriesCount || 0), p.dataset.last || null] : [0, null];"#
        ))
        .await?;
    Ok((
        v[0].as_u64().unwrap_or(0),
        v[1].as_str().and_then(|s| s.parse().ok()),
    ))
}

/// `HH:MM:SS` of `ms` in the browser's time zone, as the banner writes it.
async fn browser_clock(browser: &Browser, ms: i64) -> anyhow::Result<String> {
    let v = browser
        .eval(&format!(
            "const d = new Date({ms}); return [d.getHours(), d.getMinutes(), d.getSeconds()].map(n => String(n).padStart(2, '0')).join(':');"
        ))
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn with_the_relay_stopped_a_reload_opens_the_cached_data_and_the_gap_fills_on_return()
-> anyhow::Result<()> {
    let bin = lookout_binary()?;
    let dist = dist()?;
    let target = CountingTarget::start().await?;
    let port = free_port()?;
    let dist_arg = dist.to_string_lossy().into_owned();
    let mut relay = spawn_lookout(&bin, port, &target.url(), &["--dist", &dist_arg])?;
    let browser = Browser::start().await?;
    let result = async {
        let url = format!("http://127.0.0.1:{port}/?expr=e2e_scrapes_total");
        open(&browser, &url).await?;
        browser
            .wait_for(Duration::from_secs(30), "live", LIVE)
            .await?;
        // The service worker has the shell before the relay goes away.
        browser
            .wait_for(
                Duration::from_secs(30),
                "the service worker to control the page after a reload",
                "return navigator.serviceWorker && navigator.serviceWorker.controller !== null || (location.reload(), false);",
            )
            .await?;
        browser.wait_for(Duration::from_secs(30), "live", LIVE).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t = wait_data_saved(&browser).await?;

        relay.kill().await?;
        let served_before = target.served() as f64;
        browser.goto(&url).await?; // reload with no relay: the shell comes from the worker
        let (text, newest) = {
            let v = browser
                .wait_for(Duration::from_secs(30), "the offline banner", OFFLINE)
                .await?;
            (
                v[0].as_str().unwrap_or_default().to_owned(),
                v[1].as_i64().unwrap_or(0),
            )
        };
        anyhow::ensure!(newest >= t - 1000, "the cache holds data up to {newest}, saved after {t}");
        let clock = browser_clock(&browser, newest).await?;
        anyhow::ensure!(
            text.contains(&format!("offline — data up to {clock}")),
            "banner {text:?} should say data up to {clock}"
        );
        browser
            .wait_for(
                Duration::from_secs(10),
                "the panel drawn from the cache",
                r#"const p = document.querySelector('[data-expr="e2e_scrapes_total"]'); return p && Number(p.dataset.seriesCount) === 1 && p.dataset.last ? true : null;"#,
            )
            .await?;
        let (series, last) = panel(&browser, "e2e_scrapes_total").await?;
        anyhow::ensure!(series == 1, "the panel draws {series} series from the cache");
        let last = last.unwrap_or(0.0);
        anyhow::ensure!(
            last > 3.0 && last <= served_before,
            "the cached panel's value {last} (the target served {served_before})"
        );
        anyhow::ensure!(browser.eval(RESTORED).await?.as_u64().unwrap_or(0) > 0);
        if std::env::var_os("LOOKOUT_SCREENSHOTS").is_some() {
            browser
                .screenshot(&PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../target/screenshots/offline-banner.png"
                )))
                .await?;
        }

        let mut relay2 = spawn_lookout(&bin, port, &target.url(), &["--dist", &dist_arg])?;
        browser
            .wait_for(Duration::from_secs(60), "the page to reconnect", LIVE)
            .await?;
        browser
            .wait_for(
                Duration::from_secs(10),
                "the banner to go",
                "return document.querySelector('.offline-banner') === null;",
            )
            .await?;
        let served = target.served() as f64;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (_, now) = panel(&browser, "e2e_scrapes_total").await?;
            if now.unwrap_or(0.0) >= served {
                break;
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the page stays at {now:?} after the relay returned (target at {served})"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        relay2.kill().await?;
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    let _ = relay.kill().await;
    result
}

/// A wire client connected from the relay's start to the end of the test with the page's
/// subscriptions (`up` and the panel's selector): what the relay published, to compare the
/// page's store with.
fn relay_witness(
    port: u16,
    name: &str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<anyhow::Result<Client>> {
    let name = name.to_owned();
    tokio::spawn(async move {
        let url = format!("ws://127.0.0.1:{port}/api/v1/stream");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut c = loop {
            let mut c = Client::new(None);
            c.subscribe(vec![MatcherSpec::new("__name__", MatchOp::Equal, "up")], 0);
            c.subscribe(vec![MatcherSpec::new("__name__", MatchOp::Equal, &name)], 0);
            match c.connect(&url).await {
                Ok(()) => break c,
                Err(e) if tokio::time::Instant::now() > deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        c.run_until(Duration::from_secs(300), |_| {
            stop.load(std::sync::atomic::Ordering::SeqCst)
        })
        .await?;
        anyhow::ensure!(c.conflicts == 0, "the relay sent conflicting samples");
        Ok(c)
    })
}

fn samples_until(c: &Client, until: i64) -> usize {
    c.samples.values().map(|s| s.range(..=until).count()).sum()
}

#[tokio::test]
async fn with_the_browser_offline_the_page_reopens_and_backfills_without_duplicates()
-> anyhow::Result<()> {
    let bin = lookout_binary()?;
    let dist = dist()?;
    let target = CountingTarget::start().await?;
    let port = free_port()?;
    let dist_arg = dist.to_string_lossy().into_owned();
    let mut relay = spawn_lookout(&bin, port, &target.url(), &["--dist", &dist_arg])?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let witness = relay_witness(port, "e2e_scrapes_total", stop.clone());
    let browser = Browser::start().await?;
    let result = async {
        let url = format!("http://127.0.0.1:{port}/?expr=e2e_scrapes_total");
        open(&browser, &url).await?;
        browser
            .wait_for(
                Duration::from_secs(30),
                "the service worker to control the page after a reload",
                "return navigator.serviceWorker && navigator.serviceWorker.controller !== null || (location.reload(), false);",
            )
            .await?;
        browser.wait_for(Duration::from_secs(30), "live", LIVE).await?;
        wait_data_saved(&browser).await?;

        browser
            .cdp("Network.enable", json!({}))
            .await?;
        let conditions = |offline: bool| {
            json!({ "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 })
        };
        browser
            .cdp("Network.emulateNetworkConditions", conditions(true))
            .await?;
        browser.goto(&url).await?;
        browser
            .wait_for(Duration::from_secs(30), "the offline banner", OFFLINE)
            .await?;
        // The panel draws from the cache (PromQL over the restored store) with no network.
        if let Err(e) = browser
            .wait_for(
                Duration::from_secs(10),
                "the panel drawn from the cache",
                r#"const p = document.querySelector('[data-expr="e2e_scrapes_total"]'); return p && Number(p.dataset.seriesCount) === 1 && p.dataset.last ? true : null;"#,
            )
            .await
        {
            let state = browser
                .eval(r#"return navigator.storage.getDirectory().then(r => r.getDirectoryHandle('lookout-cache')).then(d => d.getFileHandle('manifest')).then(h => h.getFile()).then(f => f.text()).catch(e => String(e)).then(m => [m, document.querySelector('.offline-banner')?.textContent, document.querySelector('.cache-note')?.textContent, document.querySelector('.restored')?.dataset.restored, document.querySelector('[data-expr]')?.outerHTML.slice(0, 100)]);"#)
                .await?;
            anyhow::bail!("{e}: {state}");
        }
        // Offline for a while: the relay keeps scraping, the page must fetch that gap.
        tokio::time::sleep(Duration::from_secs(3)).await;
        browser
            .cdp("Network.emulateNetworkConditions", conditions(false))
            .await?;
        browser
            .wait_for(Duration::from_secs(60), "the page to reconnect", LIVE)
            .await?;
        // Every sample up to a moment both have passed: the page's equal the relay's.
        let cutoff = browser_now(&browser).await? - 1000;
        browser
            .wait_for(
                Duration::from_secs(20),
                "the page to pass the cutoff",
                &format!(
                    "const s = document.querySelector('[data-expr=\"e2e_scrapes_total\"]'); return s && Number(s.dataset.last) > 0 && window.lookoutSamplesUntil({cutoff} + 2000) > window.lookoutSamplesUntil({cutoff});"
                ),
            )
            .await?;
        let page = browser
            .eval(&format!("return window.lookoutSamplesUntil({cutoff});"))
            .await?
            .as_u64()
            .unwrap_or(0) as usize;
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let client = witness.await??;
        let relay_count = samples_until(&client, cutoff);
        anyhow::ensure!(
            page == relay_count && page > 0,
            "the page holds {page} samples up to the cutoff, the relay published {relay_count}"
        );
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    let _ = relay.kill().await;
    result
}

#[tokio::test]
async fn a_tab_killed_while_writing_never_leaves_an_unreadable_cache() -> anyhow::Result<()> {
    let bin = lookout_binary()?;
    let dist = dist()?;
    let target = CountingTarget::start().await?;
    let port = free_port()?;
    let dist_arg = dist.to_string_lossy().into_owned();
    let mut relay = spawn_lookout(&bin, port, &target.url(), &["--dist", &dist_arg])?;
    let browser = Browser::start().await?;
    let result = async {
        let url = format!("http://127.0.0.1:{port}/?expr=e2e_scrapes_total");
        open(&browser, &url).await?;
        browser
            .wait_for(Duration::from_secs(30), "live", LIVE)
            .await?;
        wait_data_saved(&browser).await?;
        let mut restored = Vec::new();
        for i in 0..16u64 {
            browser.goto(&url).await?;
            // Every start restores, then writes at once (what the stream brought since): leave
            // at varying points of that write.
            let n = match browser
                .wait_for(
                    Duration::from_secs(20),
                    "a restore",
                    &format!("const n = {RESTORED_FN}; return n > 0 ? n : null;"),
                )
                .await
            {
                Ok(n) => n.as_u64().unwrap_or(0),
                Err(e) => anyhow::bail!(
                    "start {i} (restored so far {restored:?}): {e}; {}",
                    cache_state(&browser).await
                ),
            };
            restored.push(n);
            if let Some(note) = browser.eval(NOTE).await?.as_str() {
                anyhow::bail!("start {i}: {note}");
            }
            browser
                .wait_for(
                    Duration::from_secs(20),
                    "the writer",
                    r#"return document.querySelector('.writer[data-writer="true"]') !== null;"#,
                )
                .await?;
            tokio::time::sleep(Duration::from_millis(i * 37 % 250)).await;
            browser.goto("about:blank").await?;
        }
        browser.goto(&url).await?;
        let n = browser
            .wait_for(
                Duration::from_secs(20),
                "a last restore",
                &format!("const n = {RESTORED_FN}; return n > 0 ? n : null;"),
            )
            .await?;
        anyhow::ensure!(
            browser.eval(NOTE).await?.is_null(),
            "{:?}",
            browser.eval(NOTE).await?
        );
        // The cache only grows while the relay streams: no restart lost what an earlier had.
        restored.push(n.as_u64().unwrap_or(0));
        anyhow::ensure!(
            restored.windows(2).all(|w| w[1] + 5 >= w[0]),
            "restored sample counts went back: {restored:?}"
        );
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    let _ = relay.kill().await;
    result
}

const RESTORED_FN: &str = "(() => { const s = document.querySelector('.restored'); return s ? Number(s.dataset.restored) : 0; })()";

#[tokio::test]
async fn a_small_quota_makes_the_page_evict_and_say_so_and_keep_going() -> anyhow::Result<()> {
    let bin = lookout_binary()?;
    let dist = dist()?;
    let target = WideTarget::start(300).await?;
    let port = free_port()?;
    let dist_arg = dist.to_string_lossy().into_owned();
    let mut relay = spawn_lookout(&bin, port, &target.url(), &["--dist", &dist_arg])?;
    let browser = Browser::start().await?;
    let result = async {
        let url = format!("http://127.0.0.1:{port}/?expr=e2e_wide");
        open(&browser, &url).await?;
        browser.wait_for(Duration::from_secs(30), "live", LIVE).await?;
        wait_data_saved(&browser).await?;
        let usage = browser
            .eval("return navigator.storage.estimate().then(e => e.usage);")
            .await?
            .as_f64()
            .unwrap_or(0.0);
        browser
            .cdp(
                "Storage.overrideQuotaForOrigin",
                json!({ "origin": format!("http://127.0.0.1:{port}"), "quotaSize": usage + 300_000.0 }),
            )
            .await?;
        let note = match browser
            .wait_for(
                Duration::from_secs(60),
                "the page to say it evicted",
                r#"const n = document.querySelector('.cache-note'); return n && n.textContent.includes('storage is full') ? n.textContent : null;"#,
            )
            .await
        {
            Ok(n) => n,
            Err(e) => anyhow::bail!("{e}; the page says {:?}", browser.eval(NOTE).await?),
        };
        let noted_at = browser_now(&browser).await?;
        if std::env::var_os("LOOKOUT_SCREENSHOTS").is_some() {
            browser
                .screenshot(&PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../target/screenshots/offline-quota.png"
                )))
                .await?;
        }
        // It keeps going: live, and saving again within the quota.
        browser.wait_for(Duration::from_secs(10), "live", LIVE).await?;
        wait_saved_after(&browser, noted_at).await?;
        let (series, _) = panel(&browser, "e2e_wide").await?;
        anyhow::ensure!(series > 0, "after {note}, the panel draws nothing");
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    let _ = relay.kill().await;
    result
}

#[tokio::test]
async fn two_tabs_reloading_at_once_share_one_cache_without_corrupting_it() -> anyhow::Result<()> {
    let bin = lookout_binary()?;
    let dist = dist()?;
    let target = CountingTarget::start().await?;
    let port = free_port()?;
    let dist_arg = dist.to_string_lossy().into_owned();
    let mut relay = spawn_lookout(&bin, port, &target.url(), &["--dist", &dist_arg])?;
    let browser = Browser::start().await?;
    let result = async {
        let url = format!("http://127.0.0.1:{port}/?expr=e2e_scrapes_total");
        open(&browser, &url).await?;
        browser.wait_for(Duration::from_secs(30), "live", LIVE).await?;
        wait_data_saved(&browser).await?;
        let first = browser.current_tab().await?;
        let second = browser.new_tab().await?;
        browser.switch_to(&second).await?;
        open(&browser, &url).await?;
        browser.wait_for(Duration::from_secs(30), "live", LIVE).await?;
        for round in 0..5 {
            // Both reload within a few milliseconds of each other.
            for tab in [&first, &second] {
                browser.switch_to(tab).await?;
                browser
                    .eval("setTimeout(() => location.reload(), 50); return true;")
                    .await?;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            for tab in [&first, &second] {
                browser.switch_to(tab).await?;
                let n = match browser
                    .wait_for(Duration::from_secs(20), "a restore", &format!("const n = {RESTORED_FN}; return n > 0 ? n : null;"))
                    .await
                {
                    Ok(n) => n,
                    Err(e) => anyhow::bail!("round {round}: {e}; {}", cache_state(&browser).await),
                };
                anyhow::ensure!(browser.eval(NOTE).await?.is_null(), "round {round}: {:?}", browser.eval(NOTE).await?);
                browser.wait_for(Duration::from_secs(30), "live", LIVE).await?;
                // Panels redraw on a timer (throttled to 1 s in a background tab): give the draw
                // a few seconds, and say what the page held if it never comes.
                let drawn = browser
                    .wait_for(
                        Duration::from_secs(5),
                        "the panel to draw",
                        r#"const p = document.querySelector('[data-expr="e2e_scrapes_total"]'); return p && p.dataset.seriesCount === "1" && p.dataset.last ? true : null;"#,
                    )
                    .await;
                if drawn.is_err() {
                    let state = browser
                        .eval(&format!(
                            r#"const p = document.querySelector('[data-expr="e2e_scrapes_total"]'); return JSON.stringify({{restored: {RESTORED_FN}, visibility: document.visibilityState, panel: p ? Object.assign({{}}, p.dataset) : null, text: p ? p.textContent.slice(0, 200) : null, dump: window.lookoutDump ? window.lookoutDump("e2e_scrapes_total").slice(0, 300) : null}});"#
                        ))
                        .await?;
                    anyhow::bail!("round {round}: a tab without data (restored {n}): {state}");
                }
            }
            // Exactly one of them takes the writer lock (the other reads only).
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            let mut writers;
            loop {
                writers = 0;
                for tab in [&first, &second] {
                    browser.switch_to(tab).await?;
                    let w = browser
                        .eval(r#"return document.querySelector('.writer[data-writer="true"]') !== null;"#)
                        .await?;
                    writers += usize::from(w.as_bool() == Some(true));
                }
                if writers == 1 || tokio::time::Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            anyhow::ensure!(writers == 1, "round {round}: {writers} tabs write the cache");
            // Let the writer save what the reload streamed, so the next round restores more.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    let _ = relay.kill().await;
    result
}

/// Copies `from` into `to` (one level deep plus `icons/`), renaming the wasm and js files and
/// rewriting index.html and the boot script to name them: what a new build looks like to the
/// browser (Trunk names files by their content hash).
fn copy_dist(from: &std::path::Path, to: &std::path::Path, tag: &str) -> anyhow::Result<String> {
    std::fs::create_dir_all(to.join("icons"))?;
    let mut renames = Vec::new();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        // Precompressed copies would hold the old boot script: the relay serves the plain files.
        if path.is_dir() || name.ends_with(".gz") {
            continue;
        }
        // The boot script names the wasm and js, so it changes (and is renamed) with them.
        for prefix in ["lookout-ui-", "boot-"] {
            if name.starts_with(prefix) {
                renames.push((
                    name.clone(),
                    name.replacen(prefix, &format!("{prefix}{tag}"), 1),
                ));
            }
        }
        files.push((path, name));
    }
    let mut js_name = String::new();
    for (path, name) in files {
        let renamed = renames
            .iter()
            .find(|r| r.0 == name)
            .map_or_else(|| name.clone(), |r| r.1.clone());
        if renamed.starts_with("lookout-ui-") && renamed.ends_with(".js") {
            js_name = renamed.clone();
        }
        if name == "index.html" || name.starts_with("boot-") {
            // Renamed files keep their bytes, so the subresource integrity hashes still hold.
            let mut text = std::fs::read_to_string(&path)?;
            for (old, new) in &renames {
                text = text.replace(old, new);
            }
            std::fs::write(to.join(&renamed), text)?;
        } else {
            std::fs::copy(&path, to.join(renamed))?;
        }
    }
    for entry in std::fs::read_dir(from.join("icons"))? {
        let path = entry?.path();
        if let Some(name) = path.file_name() {
            std::fs::copy(&path, to.join("icons").join(name))?;
        }
    }
    Ok(js_name)
}

#[tokio::test]
async fn a_new_build_replaces_the_cached_shell_whole() -> anyhow::Result<()> {
    let bin = lookout_binary()?;
    let dist = dist()?;
    let dir = std::env::temp_dir().join(format!("lookout-shell-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let old_js = copy_dist(&dist, &dir, "a")?;
    let target = CountingTarget::start().await?;
    let port = free_port()?;
    let dir_arg = dir.to_string_lossy().into_owned();
    let mut relay = spawn_lookout(&bin, port, &target.url(), &["--dist", &dir_arg])?;
    let browser = Browser::start().await?;
    const SHELL: &str = r#"return (async () => {
        const keys = (await caches.keys()).filter(k => k !== 'lookout-shell-meta').sort();
        const files = [];
        for (const k of keys) for (const r of await (await caches.open(k)).keys()) files.push(new URL(r.url).pathname);
        const js = performance.getEntriesByType('resource').map(e => new URL(e.name).pathname).filter(p => p.endsWith('.js') && p.includes('lookout-ui'));
        return { keys, files, js, controlled: navigator.serviceWorker.controller !== null };
    })();"#;
    let result = async {
        let url = format!("http://127.0.0.1:{port}/?expr=e2e_scrapes_total");
        open(&browser, &url).await?;
        browser
            .wait_for(
                Duration::from_secs(30),
                "the service worker to control the page after a reload",
                "return navigator.serviceWorker && navigator.serviceWorker.controller !== null || (location.reload(), false);",
            )
            .await?;
        let before = browser.eval(SHELL).await?;
        anyhow::ensure!(before["keys"].as_array().map(Vec::len) == Some(1), "{before}");
        anyhow::ensure!(before["files"].to_string().contains(&old_js), "{before}");

        // A new build lands on the server.
        let _ = std::fs::remove_dir_all(&dir);
        let new_js = copy_dist(&dist, &dir, "b")?;
        // The next load still runs the old build whole (from its cache) and fetches the new one;
        // the one after runs the new build whole.
        browser.goto(&url).await?;
        browser.wait_for(Duration::from_secs(30), "live", LIVE).await?;
        let waited = browser
            .wait_for(
                Duration::from_secs(30),
                "the new build cached and the old one gone",
                &SHELL.replace(
                    "return { keys,",
                    &format!("if (keys.length !== 1 || !files.some(f => f.endsWith('{new_js}'))) return null; return {{ keys,"),
                ),
            )
            .await;
        if let Err(e) = waited {
            anyhow::bail!("{e}: {}", browser.eval(SHELL).await?);
        }
        browser.goto(&url).await?;
        browser.wait_for(Duration::from_secs(30), "live", LIVE).await?;
        let after = browser.eval(SHELL).await?;
        let files = after["files"].to_string();
        anyhow::ensure!(
            files.contains(&new_js) && !files.contains(&old_js),
            "the cache mixes builds: {after}"
        );
        anyhow::ensure!(
            after["js"].to_string().contains(&new_js) && !after["js"].to_string().contains(&old_js),
            "the page ran {after}"
        );
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    let _ = relay.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}
