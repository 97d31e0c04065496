//! The page in headless Chromium against a real `lookout` process: SIGKILLed mid-stream and
//! started again (the page says it is reconnecting, then that it resynced, and keeps counting);
//! the network between page and relay cut for a while (the page resumes and its store ends with
//! exactly the relay's samples, none missing, none doubled); a relay that wants a token (the
//! page without one shows a clear refusal, with one from `#token=` it streams). Run by
//! `cargo xtask test` (feature `browser`).

use lookout_tests::dist;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lookout_tests::client::{Client, CountingTarget, lookout_binary, spawn_lookout};
use lookout_tests::webdriver::Browser;
use lookout_tsdb::MatchOp;
use lookout_wire::MatcherSpec;

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

/// A TCP proxy between the page and the relay whose "network" the test can cut: every open
/// connection is dropped and new ones are refused until it is restored.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> anyhow::Result<Proxy> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let cut = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let task = {
            let (cut, conns) = (cut.clone(), conns.clone());
            tokio::spawn(async move {
                while let Ok((mut page, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        drop(page);
                        continue;
                    }
                    let h = tokio::spawn(async move {
                        if let Ok(mut relay) = tokio::net::TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut page, &mut relay).await;
                        }
                    });
                    conns
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(h.abort_handle());
                }
            })
        };
        Ok(Proxy {
            addr,
            cut,
            conns,
            task,
        })
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for c in self
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            c.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

/// The page's samples of `e2e_scrapes_total`: timestamp -> value text.
async fn page_samples(browser: &Browser) -> anyhow::Result<BTreeMap<i64, String>> {
    let text = browser
        .eval("return window.lookoutDump ? window.lookoutDump('e2e_scrapes_total') : '';")
        .await?;
    let mut out = BTreeMap::new();
    for line in text.as_str().unwrap_or_default().lines() {
        let mut f = line.rsplitn(3, ' ');
        let (Some(v), Some(t)) = (f.next(), f.next()) else {
            anyhow::bail!("bad dump line {line:?}")
        };
        anyhow::ensure!(
            out.insert(t.parse::<i64>()?, v.to_owned()).is_none(),
            "the page holds timestamp {t} twice"
        );
    }
    Ok(out)
}

async fn open_page(browser: &Browser, url: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while browser.goto(url).await.is_err() || browser.eval(STATE).await?.is_null() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the page never loaded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

const LIVE: &str = r#"return document.querySelector('.status[data-state="live"]') !== null;"#;

#[tokio::test]
async fn after_the_network_drops_for_a_while_the_page_holds_exactly_the_relays_samples()
-> anyhow::Result<()> {
    let bin = lookout_binary()?;
    let dist = dist()?;
    let target = CountingTarget::start().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dist_arg = dist.to_string_lossy().into_owned();
    let mut relay = spawn_lookout(&bin, port, &target.url(), &["--dist", &dist_arg])?;
    let proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let browser = Browser::start().await?;
    let result = async {
        // The page reaches the relay only through the proxy (its origin is the proxy's).
        open_page(
            &browser,
            &format!("http://{}/?expr=e2e_scrapes_total", proxy.addr),
        )
        .await?;
        browser
            .wait_for(Duration::from_secs(30), "live", LIVE)
            .await?;
        let before = wait_last_above(&browser, 5.0).await?;

        proxy.cut();
        browser
            .wait_for(
                Duration::from_secs(15),
                "the page to say it is reconnecting",
                r#"return document.querySelector('.status[data-state="reconnecting"]') !== null;"#,
            )
            .await?;
        // The relay keeps scraping (every 100 ms) while the page is cut off.
        let served_during = target.served();
        tokio::time::sleep(Duration::from_secs(4)).await;
        anyhow::ensure!(
            target.served() > served_during + 10,
            "the relay did not scrape while the page was away"
        );
        proxy.restore();
        browser
            .wait_for(Duration::from_secs(40), "live again", LIVE)
            .await?;
        // It resumed: the relay replayed the gap, so no resync was needed.
        let state = browser.eval(STATE).await?;
        assert_eq!(state.as_str(), Some("live"));
        wait_last_above(&browser, before + 40.0).await?;

        // The relay's window, read by a client of its own, up to its newest sample...
        let mut c = Client::new(None);
        c.subscribe(
            vec![MatcherSpec::new(
                "__name__",
                MatchOp::Equal,
                "e2e_scrapes_total",
            )],
            0,
        );
        c.connect(&format!("ws://127.0.0.1:{port}/api/v1/stream"))
            .await?;
        c.run_until(Duration::from_secs(10), |c| {
            !c.series("e2e_scrapes_total").is_empty()
        })
        .await?;
        let relay_samples: BTreeMap<i64, String> = c
            .series("e2e_scrapes_total")
            .into_iter()
            .map(|(t, v)| (t, f64::from_bits(v).to_string()))
            .collect();
        let newest = *relay_samples.keys().next_back().unwrap_or(&0);
        // ...and the page's, once it has caught up to that point.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let page = loop {
            let p = page_samples(&browser).await?;
            if p.keys().next_back().is_some_and(|&t| t >= newest) {
                break p;
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the page never reached the relay's newest sample"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let page: BTreeMap<i64, String> = page.into_iter().filter(|(t, _)| *t <= newest).collect();
        let missing: Vec<_> = relay_samples
            .keys()
            .filter(|t| !page.contains_key(t))
            .collect();
        let extra: Vec<_> = page
            .keys()
            .filter(|t| !relay_samples.contains_key(t))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{} samples missing from the page ({:?}...), {} the relay does not have ({:?}...)",
            missing.len(),
            missing.iter().take(5).collect::<Vec<_>>(),
            extra.len(),
            extra.iter().take(5).collect::<Vec<_>>()
        );
        assert_eq!(page, relay_samples, "values differ");
        // The outage is inside what was compared: the count kept going up by one a scrape.
        assert!(relay_samples.len() > 60, "{} samples", relay_samples.len());
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    let _ = relay.kill().await;
    result
}

#[tokio::test]
async fn a_relay_that_wants_a_token_refuses_the_page_until_it_has_one() -> anyhow::Result<()> {
    let bin = lookout_binary()?;
    let dist = dist()?;
    let target = CountingTarget::start().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let token_file = std::env::temp_dir().join(format!("lookout-e2e-token-{port}"));
    std::fs::write(&token_file, "e2e-s3cret\n")?;
    let dist_arg = dist.to_string_lossy().into_owned();
    let token_arg = token_file.to_string_lossy().into_owned();
    let mut relay = spawn_lookout(
        &bin,
        port,
        &target.url(),
        &["--dist", &dist_arg, "--token-file", &token_arg],
    )?;
    let browser = Browser::start().await?;
    let result = async {
        let base = format!("http://127.0.0.1:{port}/?expr=e2e_scrapes_total");
        open_page(&browser, &base).await?;
        browser
            .wait_for(
                Duration::from_secs(30),
                "a refusal",
                r#"return document.querySelector('.status[data-state="refused"]') !== null;"#,
            )
            .await?;
        let said = browser
            .eval("return document.querySelector('.status .state').textContent;")
            .await?;
        let said = said.as_str().unwrap_or_default().to_owned();
        assert!(said.contains("needs a token"), "the page said {said:?}");
        let open = browser
            .eval("return document.querySelector('.token-setting').open;")
            .await?;
        assert_eq!(open.as_bool(), Some(true), "the token field opens itself");

        // The token in the fragment: used, saved, and taken out of the address bar.
        browser.goto(&format!("{base}#token=e2e-s3cret")).await?;
        browser
            .wait_for(Duration::from_secs(30), "live", LIVE)
            .await?;
        let href = browser.eval("return location.href;").await?;
        let href = href.as_str().unwrap_or_default().to_owned();
        assert!(
            !href.contains("s3cret") && !href.contains("token"),
            "{href}"
        );
        wait_last_above(&browser, 3.0).await?;

        // Saved in this browser: the next visit streams without the fragment.
        browser.goto(&base).await?;
        browser
            .wait_for(Duration::from_secs(30), "live", LIVE)
            .await?;
        // A wrong saved token is refused plainly.
        browser
            .eval("localStorage.setItem('lookout.token', 'guess'); return null;")
            .await?;
        browser.goto(&base).await?;
        browser
            .wait_for(
                Duration::from_secs(30),
                "a refusal of the wrong token",
                r#"return document.querySelector('.status[data-state="refused"]') !== null;"#,
            )
            .await?;
        let said = browser
            .eval("return document.querySelector('.status .state').textContent;")
            .await?;
        assert!(
            said.as_str().unwrap_or_default().contains("not accepted"),
            "{said:?}"
        );
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    let _ = relay.kill().await;
    let _ = std::fs::remove_file(&token_file);
    result
}
