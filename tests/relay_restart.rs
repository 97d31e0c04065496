//! A real `lookout` process killed with SIGKILL mid-stream and started again: the client (driving
//! the same `lookout_wire::Session` as the page) must end with every sample the new relay holds in
//! its window and everything it got before the kill, none doubled, no hole it was not told about.

use std::path::PathBuf;
use std::time::Duration;

use lookout_tests::client::{Client, CountingTarget, lookout_binary, spawn_lookout};
use lookout_tsdb::MatchOp;
use lookout_wire::MatcherSpec;
use tokio::process::{Child, Command};

fn spawn_relay(bin: &PathBuf, port: u16, target: &str) -> anyhow::Result<Child> {
    spawn_lookout(bin, port, target, &[])
}

/// Connects, retrying while the relay is starting.
async fn connect(c: &mut Client, url: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match c.connect(url).await {
            Ok(()) => return Ok(()),
            Err(e) if tokio::time::Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn values(series: &std::collections::BTreeMap<i64, u64>) -> Vec<f64> {
    series
        .values()
        .map(|v| f64::from_bits(*v))
        .filter(|v| !v.is_nan())
        .collect()
}

#[tokio::test]
async fn a_relay_killed_mid_stream_and_restarted_leaves_the_page_whole() -> anyhow::Result<()> {
    let bin = lookout_binary()?;
    let target = CountingTarget::start().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("ws://127.0.0.1:{port}/api/v1/stream");
    let selector = vec![MatcherSpec::new(
        "__name__",
        MatchOp::Equal,
        "e2e_scrapes_total",
    )];

    let mut relay = spawn_relay(&bin, port, &target.url())?;
    let mut page = Client::new(None);
    page.subscribe(selector.clone(), 0);
    connect(&mut page, &url).await?;
    page.run_until(Duration::from_secs(20), |c| {
        c.series("e2e_scrapes_total").len() >= 8
    })
    .await?;

    relay.kill().await?; // SIGKILL
    let served_before_kill = target.served();
    let ended = page.run_until(Duration::from_secs(10), |_| false).await?;
    assert!(ended.is_some(), "the page noticed the relay went away");
    let before = values(&page.series("e2e_scrapes_total"));
    let expected: Vec<f64> = (1..=before.len()).map(|v| v as f64).collect();
    assert_eq!(
        before, expected,
        "every scrape up to the kill, in order, once"
    );
    assert!(
        before.len() as u64 + 2 >= served_before_kill,
        "at most the scrape in flight at the kill is lost: got {} of {served_before_kill}",
        before.len()
    );

    let mut relay = spawn_relay(&bin, port, &target.url())?;
    connect(&mut page, &url).await?;
    let have = before.len();
    page.run_until(Duration::from_secs(20), |c| {
        values(&c.series("e2e_scrapes_total")).len() >= have + 8
    })
    .await?;
    assert_eq!(
        page.resyncs.len(),
        1,
        "the new relay said it could not replay: {:?}",
        page.resyncs
    );

    // Freeze the series (the next scrapes fail and end it with a staleness marker), then read the
    // relay's whole window with a fresh client.
    target.stop();
    let mut fresh = Client::new(None);
    fresh.subscribe(selector, 0);
    connect(&mut fresh, &url).await?;
    fresh
        .run_until(Duration::from_secs(10), |c| {
            c.series("e2e_scrapes_total")
                .values()
                .last()
                .is_some_and(|v| *v == lookout_tsdb::STALE_NAN_BITS)
        })
        .await?;
    let window = fresh.series("e2e_scrapes_total");
    let window_start = *window.keys().next().unwrap_or(&i64::MAX);
    page.run_until(Duration::from_secs(10), |c| {
        let s = c.series("e2e_scrapes_total");
        s.range(window_start..).eq(window.iter())
    })
    .await
    .map_err(|e| {
        anyhow::anyhow!("{e}: the page's samples since the restart differ from the window")
    })?;

    let all = values(&page.series("e2e_scrapes_total"));
    let mut sorted = all.clone();
    sorted.dedup();
    assert_eq!(sorted, all, "no value twice");
    assert!(all.windows(2).all(|w| w[0] < w[1]), "in scrape order");
    let max = all.last().copied().unwrap_or(0.0) as usize;
    let missing: Vec<usize> = (1..=max).filter(|v| !all.contains(&(*v as f64))).collect();
    assert!(
        missing.len() <= 1 && missing.iter().all(|m| *m as u64 <= served_before_kill + 1),
        "only a scrape in flight at the kill may be missing: {missing:?}"
    );
    assert_eq!(page.conflicts, 0);
    relay.kill().await?;
    Ok(())
}

#[tokio::test]
async fn lookout_tail_prints_each_sample_as_a_line() -> anyhow::Result<()> {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let bin = lookout_binary()?;
    let target = CountingTarget::start().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut relay = spawn_relay(&bin, port, &target.url())?;
    let mut tail = Command::new(&bin)
        .args([
            "tail",
            "--relay",
            &format!("127.0.0.1:{port}"),
            r#"e2e_scrapes_total{job="count"}"#,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = tail
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await??
            .ok_or_else(|| anyhow::anyhow!("tail ended"))?;
        seen.push(line);
    }
    let mut last = 0.0;
    for line in &seen {
        // labels timestamp value
        let parts: Vec<&str> = line.rsplitn(3, ' ').collect();
        anyhow::ensure!(parts.len() == 3, "not `labels timestamp value`: {line}");
        assert!(parts[2].starts_with("e2e_scrapes_total{"), "{line}");
        assert!(parts[2].contains(r#"job="count""#), "{line}");
        parts[1].parse::<i64>()?;
        let v: f64 = parts[0].parse()?;
        assert!(v > last, "values grow scrape by scrape: {seen:?}");
        last = v;
    }
    tail.kill().await?;
    relay.kill().await?;
    Ok(())
}
