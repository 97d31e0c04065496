//! The relay end to end without a browser: real targets scraped over HTTP, samples streamed over
//! real WebSockets in `lookout-wire` frames, read by a client that drives the same
//! `lookout_wire::Session` as the page.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lookout_relay::stream::StreamSettings;
use lookout_relay::{Relay, RelayConfig, ScrapeTarget};
use lookout_tests::client::{
    Client, CountingTarget, Ended, WideTarget, now_ms, open, open_small_buffer,
};
use lookout_tests::eventually;
use lookout_tests::target::TestTarget;
use lookout_tsdb::{MatchOp, Matcher};
use lookout_wire::{
    Frame, Health, MatcherSpec, MetricType, PROTOCOL_VERSION, Reply, ReplyErrorKind, Request,
    TimeRange,
};
use tokio_tungstenite::tungstenite::Message;

async fn relay_with(
    targets: Vec<ScrapeTarget>,
    interval_ms: u64,
    stream: StreamSettings,
) -> anyhow::Result<Relay> {
    Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        targets,
        scrape_interval: Duration::from_millis(interval_ms),
        scrape_timeout: Duration::from_millis(interval_ms),
        stream,
        ..RelayConfig::default()
    })
    .await
}

async fn relay_for(target: &TestTarget) -> anyhow::Result<Relay> {
    relay_with(
        vec![ScrapeTarget::new("e2e", target.url())],
        200,
        StreamSettings::default(),
    )
    .await
}

fn url(relay: &Relay) -> String {
    format!("ws://{}/api/v1/stream", relay.local_addr())
}

fn name_is(name: &str) -> Vec<MatcherSpec> {
    vec![MatcherSpec::new("__name__", MatchOp::Equal, name)]
}

/// The relay's window for the one series named `name`: timestamp -> value bits.
fn window(relay: &Relay, name: &str) -> std::collections::BTreeMap<i64, u64> {
    let store = relay.hub().store();
    let Ok(m) = Matcher::new(MatchOp::Equal, "__name__", name) else {
        return Default::default();
    };
    store
        .select(&[m])
        .into_iter()
        .flat_map(|id| store.samples(id, i64::MIN, i64::MAX).collect::<Vec<_>>())
        .map(|(t, v)| (t, v.to_bits()))
        .collect()
}

#[tokio::test]
async fn a_subscriber_gets_history_then_live_changes() -> anyhow::Result<()> {
    let target = TestTarget::start(5.0).await?;
    let relay = relay_for(&target).await?;
    // Let a few scrapes land so there is history.
    tokio::time::sleep(Duration::from_millis(700)).await;

    let mut c = Client::new(None);
    c.subscribe(name_is("e2e_counter_total"), 0);
    c.connect(&url(&relay)).await?;
    c.run_until(Duration::from_secs(10), |c| {
        c.series("e2e_counter_total").len() >= 2
    })
    .await?;
    assert_eq!(c.samples.len(), 1, "only the selected series is sent");
    let name = c.samples.keys().next().cloned().unwrap_or_default();
    assert!(name.contains("job=\"e2e\""), "{name}");
    assert!(name.contains(&target.addr.to_string()), "{name}");
    assert!(
        c.series("e2e_counter_total")
            .values()
            .all(|v| f64::from_bits(*v) == 5.0)
    );

    target.set(9.0);
    c.run_until(Duration::from_secs(10), |c| {
        c.series("e2e_counter_total")
            .values()
            .any(|v| f64::from_bits(*v) == 9.0)
    })
    .await?;
    assert_eq!(c.conflicts, 0);
    relay.shutdown();
    Ok(())
}

#[tokio::test]
async fn a_page_speaking_another_version_is_refused_with_a_reason() -> anyhow::Result<()> {
    let target = TestTarget::start(1.0).await?;
    let relay = relay_for(&target).await?;
    let mut ws = open(&url(&relay), None).await?;
    ws.send(Message::Binary(
        Frame::Hello {
            version: PROTOCOL_VERSION + 1,
            token: None,
        }
        .encode()
        .into(),
    ))
    .await?;
    let reason = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await? {
            Some(Ok(Message::Binary(b))) => {
                if let Frame::Refused { reason } = Frame::decode(&b)? {
                    break reason;
                }
            }
            other => anyhow::bail!("expected a refusal, got {other:?}"),
        }
    };
    assert!(reason.contains("protocol"), "{reason}");
    assert!(reason.contains("upgrade the relay"), "{reason}");

    // A page of protocol 2 (the version before requests) gets a refusal in its own version,
    // so it can show why instead of failing to decode the relay's frames.
    let mut ws = open(&url(&relay), None).await?;
    ws.send(Message::Binary(vec![b'L', b'K', 2, 1, 2, 0].into()))
        .await?;
    let bytes = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await? {
            Some(Ok(Message::Binary(b))) => break b,
            Some(Ok(_)) => {}
            other => anyhow::bail!("expected a refusal, got {other:?}"),
        }
    };
    assert_eq!(&bytes[..4], &[b'L', b'K', 2, 17], "a v2 Refused frame");
    let Frame::Refused { reason } = Frame::decode(&bytes)? else {
        anyhow::bail!("not a refusal")
    };
    assert!(reason.contains("reload the page"), "{reason}");
    relay.shutdown();
    Ok(())
}

#[tokio::test]
async fn requests_are_answered_with_their_id_and_bad_ones_with_typed_errors() -> anyhow::Result<()>
{
    let target = TestTarget::start(5.0).await?;
    let relay = relay_for(&target).await?;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut c = Client::new(None);
    c.subscribe(name_is("e2e_counter_total"), 0);
    c.connect(&url(&relay)).await?;
    c.run_until(Duration::from_secs(10), |c| {
        !c.series("e2e_counter_total").is_empty()
    })
    .await?;
    // Series definitions bring their family's HELP and TYPE.
    let m = c
        .metadata
        .get("e2e_counter_total")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no metadata with the series: {:?}", c.metadata))?;
    assert_eq!(m.kind, MetricType::Counter);
    assert_eq!(m.help, "A counter the test sets.");

    let names = c
        .request(Request::LabelNames {
            matchers: Vec::new(),
            range: None,
        })
        .await?;
    let Reply::LabelNames(names) = names else {
        anyhow::bail!("{names:?}")
    };
    for n in ["__name__", "instance", "job"] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }
    let values = c
        .request(Request::LabelValues {
            name: "__name__".into(),
            matchers: vec![MatcherSpec::new("job", MatchOp::Equal, "e2e")],
            range: Some(TimeRange {
                start: now_ms() - 60_000,
                end: now_ms(),
            }),
        })
        .await?;
    let Reply::LabelValues(values) = values else {
        anyhow::bail!("{values:?}")
    };
    assert!(
        values.contains(&"e2e_counter_total".to_owned()),
        "{values:?}"
    );
    assert!(values.contains(&"up".to_owned()), "{values:?}");
    // A range before any scrape selects nothing.
    let empty = c
        .request(Request::LabelValues {
            name: "__name__".into(),
            matchers: Vec::new(),
            range: Some(TimeRange {
                start: 0,
                end: 1000,
            }),
        })
        .await?;
    assert_eq!(empty, Reply::LabelValues(Vec::new()));
    let series = c
        .request(Request::Series {
            matchers: vec![
                MatcherSpec::new("__name__", MatchOp::Equal, "up"),
                MatcherSpec::new("job", MatchOp::Equal, "e2e"),
            ],
            range: None,
        })
        .await?;
    let Reply::Series(series) = series else {
        anyhow::bail!("{series:?}")
    };
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].get("job"), Some("e2e"));
    let meta = c
        .request(Request::Metadata {
            metric: Some("e2e_counter_total".into()),
        })
        .await?;
    assert_eq!(meta, Reply::Metadata(vec![m.clone()]));
    let targets = c.request(Request::Targets).await?;
    let Reply::Targets(targets) = targets else {
        anyhow::bail!("{targets:?}")
    };
    let t = targets
        .iter()
        .find(|t| t.job() == "e2e")
        .ok_or_else(|| anyhow::anyhow!("no e2e target in {targets:?}"))?;
    assert_eq!(t.health, Health::Up);
    assert_eq!(t.instance(), target.addr.to_string());
    assert!(t.scrape_url.ends_with("/metrics") && t.last_scrape > 0);

    // Bad requests get typed errors, and the connection stays open and streaming.
    for bad in [
        Request::Series {
            matchers: Vec::new(),
            range: None,
        },
        Request::Series {
            matchers: vec![MatcherSpec::new("job", MatchOp::RegexMatch, ".*")],
            range: None,
        },
        Request::LabelValues {
            name: "job".into(),
            matchers: vec![MatcherSpec::new("job", MatchOp::RegexMatch, "(")],
            range: None,
        },
        Request::LabelNames {
            matchers: Vec::new(),
            range: Some(TimeRange { start: 10, end: 0 }),
        },
    ] {
        let r = c.request(bad.clone()).await?;
        assert!(
            matches!(
                r,
                Reply::Error {
                    kind: ReplyErrorKind::BadRequest,
                    ..
                }
            ),
            "{bad:?} -> {r:?}"
        );
    }
    let before = c.series("e2e_counter_total").len();
    c.run_until(Duration::from_secs(10), |c| {
        c.series("e2e_counter_total").len() > before
    })
    .await?;
    relay.shutdown();
    Ok(())
}

#[tokio::test]
async fn a_stopped_target_is_down_with_its_error_in_the_targets_api() -> anyhow::Result<()> {
    let target = TestTarget::start(1.0).await?;
    let relay = relay_for(&target).await?;
    let url = format!("http://{}/api/v1/targets", relay.local_addr());
    let health = |want: &'static str| {
        let url = url.clone();
        move || {
            let url = url.clone();
            async move {
                let v: serde_json::Value = reqwest::get(url).await.ok()?.json().await.ok()?;
                let t = v["data"]["activeTargets"]
                    .as_array()?
                    .iter()
                    .find(|t| t["labels"]["job"] == "e2e")?
                    .clone();
                (t["health"] == want).then_some(t)
            }
        }
    };
    eventually(Duration::from_secs(10), "the target to be up", health("up")).await?;
    target.stop();
    let t = eventually(
        Duration::from_secs(10),
        "the target to be down",
        health("down"),
    )
    .await?;
    assert!(
        !t["lastError"].as_str().unwrap_or_default().is_empty(),
        "a down target says why: {t}"
    );
    relay.shutdown();
    Ok(())
}

#[tokio::test]
async fn a_target_going_down_reaches_the_page_with_its_staleness_marker() -> anyhow::Result<()> {
    let target = TestTarget::start(1.0).await?;
    let relay = relay_for(&target).await?;
    let instance = target.addr.to_string();
    let mut c = Client::new(None);
    c.subscribe(name_is("e2e_counter_total"), 0);
    c.connect(&url(&relay)).await?;
    c.run_until(Duration::from_secs(10), |c| {
        c.targets.iter().any(|(i, up)| *i == instance && *up)
    })
    .await?;
    target.stop();
    c.run_until(Duration::from_secs(10), |c| {
        c.targets.iter().any(|(i, up)| *i == instance && !*up)
            && c.series("e2e_counter_total")
                .values()
                .last()
                .is_some_and(|v| *v == lookout_tsdb::STALE_NAN_BITS)
    })
    .await?;
    relay.shutdown();
    Ok(())
}

#[tokio::test]
async fn a_dropped_connection_resumes_with_the_exact_gap_replayed() -> anyhow::Result<()> {
    let target = CountingTarget::start().await?;
    let relay = relay_with(
        vec![ScrapeTarget::new("count", target.url())],
        100,
        StreamSettings::default(),
    )
    .await?;
    let mut c = Client::new(None);
    c.subscribe(name_is("e2e_scrapes_total"), 0);
    c.connect(&url(&relay)).await?;
    c.run_until(Duration::from_secs(10), |c| {
        c.series("e2e_scrapes_total").len() >= 3
    })
    .await?;
    // The network drops; several scrapes land meanwhile.
    c.drop_connection();
    let before = target.served();
    eventually(Duration::from_secs(10), "scrapes while away", || async {
        (target.served() >= before + 5).then_some(())
    })
    .await?;
    c.connect(&url(&relay)).await?;
    target.stop();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let want = window(&relay, "e2e_scrapes_total");
    c.run_until(Duration::from_secs(10), |c| {
        c.series("e2e_scrapes_total") == want
    })
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}: page has {:?}, relay has {want:?}",
            c.series("e2e_scrapes_total")
        )
    })?;
    assert!(
        c.resyncs.is_empty(),
        "the gap was replayed: {:?}",
        c.resyncs
    );
    assert_eq!(c.conflicts, 0);
    // Every scrape the target answered is there once: 1, 2, 3, ... then the staleness marker.
    let values: Vec<f64> = want
        .values()
        .map(|v| f64::from_bits(*v))
        .filter(|v| !v.is_nan())
        .collect();
    let expected: Vec<f64> = (1..=values.len()).map(|v| v as f64).collect();
    assert_eq!(values, expected);
    relay.shutdown();
    Ok(())
}

#[tokio::test]
async fn a_foreign_origin_is_refused_with_403_and_the_relays_own_is_not() -> anyhow::Result<()> {
    let target = TestTarget::start(1.0).await?;
    let relay = relay_for(&target).await?;
    let err = open(&url(&relay), Some("https://evil.example"))
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("a foreign origin connected"))?;
    assert!(err.to_string().contains("403"), "{err}");
    let own = format!("http://{}", relay.local_addr());
    open(&url(&relay), Some(&own)).await?;
    relay.shutdown();

    let relay = relay_with(
        vec![ScrapeTarget::new("e2e", target.url())],
        200,
        StreamSettings {
            allowed_origins: vec!["https://dash.example".into()],
            ..StreamSettings::default()
        },
    )
    .await?;
    open(&url(&relay), Some("https://dash.example")).await?;
    assert!(
        open(&url(&relay), Some("https://evil.example"))
            .await
            .is_err()
    );
    relay.shutdown();
    Ok(())
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_and_the_right_one_welcomed() -> anyhow::Result<()> {
    let target = TestTarget::start(1.0).await?;
    let relay = relay_with(
        vec![ScrapeTarget::new("e2e", target.url())],
        200,
        StreamSettings {
            tokens: vec!["s3cret-token".into()],
            ..StreamSettings::default()
        },
    )
    .await?;
    for (token, want) in [(Some("guess"), "not accepted"), (None, "needs a token")] {
        let mut c = Client::new(token);
        c.subscribe(name_is("up"), 0);
        c.connect(&url(&relay)).await?;
        let ended = c.run_until(Duration::from_secs(5), |_| false).await?;
        assert_eq!(c.welcomes, 0);
        assert!(
            c.refusals.iter().any(|r| r.contains(want)),
            "{:?}",
            c.refusals
        );
        assert!(
            matches!(ended, Some(Ended::Closed { code: 1008, .. })),
            "{ended:?}"
        );
    }
    let mut c = Client::new(Some("s3cret-token"));
    c.subscribe(name_is("up"), 0);
    c.connect(&url(&relay)).await?;
    c.run_until(Duration::from_secs(5), |c| !c.series("up").is_empty())
        .await?;
    assert!(c.refusals.is_empty());
    relay.shutdown();
    Ok(())
}

#[tokio::test]
async fn an_oversized_message_closes_the_connection_with_1009() -> anyhow::Result<()> {
    let target = TestTarget::start(1.0).await?;
    let relay = relay_for(&target).await?;
    let mut ws = open(&url(&relay), None).await?;
    let huge = Frame::Refused {
        reason: "x".repeat(1 << 20),
    };
    let _ = ws.send(Message::Binary(huge.encode().into())).await;
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await? {
            Some(Ok(Message::Close(Some(c)))) => break u16::from(c.code),
            Some(Ok(_)) => continue,
            other => anyhow::bail!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, 1009);
    relay.shutdown();
    Ok(())
}

#[tokio::test]
async fn fifty_pages_that_never_read_are_closed_while_a_normal_page_keeps_pace()
-> anyhow::Result<()> {
    // 2000 noisy gauges scraped every 200 ms: about 80 KB/s for each page.
    let target = WideTarget::start(2000).await?;
    let relay = relay_with(
        vec![ScrapeTarget::new("wide", target.url())],
        200,
        StreamSettings {
            send_queue_bytes: 128 << 10,
            send_timeout: Duration::from_secs(3),
            ..StreamSettings::default()
        },
    )
    .await?;
    let everything = vec![MatcherSpec::new("__name__", MatchOp::RegexMatch, ".+")];
    let mut stuck = Vec::new();
    for _ in 0..50 {
        let mut ws = open_small_buffer(&url(&relay)).await?;
        ws.send(Message::Binary(
            Frame::Hello {
                version: PROTOCOL_VERSION,
                token: None,
            }
            .encode()
            .into(),
        ))
        .await?;
        ws.send(Message::Binary(
            Frame::Subscribe {
                sub: 1,
                matchers: everything.clone(),
                start: 0,
                resume: None,
            }
            .encode()
            .into(),
        ))
        .await?;
        // Never read again.
        stuck.push(ws);
    }
    let mut page = Client::new(None);
    page.subscribe(everything.clone(), 0);
    page.connect(&url(&relay)).await?;
    let hub = relay.hub().clone();
    let end = page
        // Generous: debug builds on a busy machine encode slowly.
        .run_until(Duration::from_secs(120), |_| {
            hub.metrics
                .connections
                .load(std::sync::atomic::Ordering::Relaxed)
                <= 1
        })
        .await?;
    assert_eq!(end, None, "the normal page stays connected");
    // The normal page kept pace: live samples arrive soon after their scrape.
    page.arrival_lag_ms.clear();
    page.run_until(Duration::from_secs(10), |c| c.arrival_lag_ms.len() > 5000)
        .await?;
    let mut lag = page.arrival_lag_ms.clone();
    lag.sort_unstable();
    let p99 = lag[lag.len() * 99 / 100];
    assert!(p99 < 1000, "p99 scrape-to-page {p99} ms");
    assert_eq!(page.conflicts, 0);
    drop(stuck);
    relay.shutdown();
    Ok(())
}

#[tokio::test]
async fn a_page_that_only_reads_stays_connected_through_the_idle_timeout() -> anyhow::Result<()> {
    // The page never sends a frame after subscribing, but answers pings: that is being there.
    let target = TestTarget::start(1.0).await?;
    let relay = relay_with(
        vec![ScrapeTarget::new("e2e", target.url())],
        200,
        StreamSettings {
            ping_interval: Duration::from_millis(200),
            idle_timeout: Duration::from_secs(1),
            ..StreamSettings::default()
        },
    )
    .await?;
    let mut c = Client::new(None);
    c.subscribe(name_is("e2e_counter_total"), 0);
    c.connect(&url(&relay)).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(4);
    let end = c
        .run_until(Duration::from_secs(10), |_| {
            std::time::Instant::now() > deadline
        })
        .await?;
    assert_eq!(end, None, "closed although it answered every ping");
    assert!(c.series("e2e_counter_total").len() >= 10);
    relay.shutdown();
    Ok(())
}

/// Two provisioned dashboards.
fn provisioned() -> anyhow::Result<Vec<std::sync::Arc<lookout_relay::dashboards::Provisioned>>> {
    lookout_tests::provision(&[
        (
            "status.json",
            r#"{"uid": "status", "title": "Status",
                "templating": {"list": [{"name": "job", "type": "query", "query": "label_values(up, job)"}]},
                "panels": [{"type": "timeseries", "targets": [{"expr": "rate(e2e_counter_total{job=~\"$job\"}[$__rate_interval])"}]}]}"#,
        ),
        (
            "relay.json",
            r#"{"uid": "relay", "title": "The relay itself",
                "panels": [{"type": "stat", "targets": [{"expr": "lookout_connections"}]}]}"#,
        ),
    ])
}

#[tokio::test]
async fn a_token_scoped_to_a_dashboard_reads_what_the_dashboard_reads_and_nothing_else()
-> anyhow::Result<()> {
    let target = TestTarget::start(3.0).await?;
    let dashboards = provisioned()?;
    let tokens = lookout_relay::dashboards::parse_tokens(
        "admin-token\nstatus-token dashboards=status\n",
        "tokens.txt",
        &dashboards,
    )?;
    let relay = relay_with(
        vec![ScrapeTarget::new("e2e", target.url())],
        200,
        StreamSettings {
            tokens,
            dashboards,
            ..StreamSettings::default()
        },
    )
    .await?;
    let everything = vec![MatcherSpec::new("__name__", MatchOp::RegexMatch, ".+")];
    let names = |c: &Client| -> std::collections::BTreeSet<String> {
        c.samples
            .keys()
            .map(|k| k.split('{').next().unwrap_or(k).to_owned())
            .collect()
    };

    // The scoped page asks for everything and gets the dashboard's series: the counter its
    // panel reads and `up`, which its job variable reads.
    let mut scoped = Client::new(Some("status-token"));
    scoped.subscribe(everything.clone(), 0);
    scoped.connect(&url(&relay)).await?;
    scoped
        .run_until(Duration::from_secs(10), |c| {
            !c.series("e2e_counter_total").is_empty() && !c.series("up{").is_empty()
        })
        .await?;
    // A few scrapes more, for anything else to show up if it were going to (this ends in a
    // timeout, which is the point).
    let _ = scoped
        .run_until(Duration::from_millis(1200), |_| false)
        .await;
    let got = names(&scoped);
    assert_eq!(
        got.iter().map(String::as_str).collect::<Vec<_>>(),
        ["e2e_counter_total", "up"],
        "{got:?}"
    );
    assert!(scoped.targets.is_empty(), "{:?}", scoped.targets);
    let values = scoped
        .request(Request::LabelValues {
            name: "__name__".into(),
            matchers: Vec::new(),
            range: None,
        })
        .await?;
    assert_eq!(
        values,
        Reply::LabelValues(vec!["e2e_counter_total".into(), "up".into()])
    );
    let series = scoped
        .request(Request::Series {
            matchers: vec![MatcherSpec::new("job", MatchOp::Equal, "lookout")],
            range: None,
        })
        .await?;
    let Reply::Series(series) = series else {
        anyhow::bail!("{series:?}")
    };
    assert!(
        !series.is_empty() && series.iter().all(|l| l.get("__name__") == Some("up")),
        "{series:?}"
    );
    let Reply::Metadata(meta) = scoped.request(Request::Metadata { metric: None }).await? else {
        anyhow::bail!("no metadata reply")
    };
    assert!(
        meta.iter().all(|m| m.metric == "e2e_counter_total"),
        "{meta:?}"
    );
    for (request, want) in [
        (Request::Targets, "targets are not among them"),
        (
            Request::Dashboard {
                uid: "relay".into(),
            },
            "may read dashboard status, not \"relay\"",
        ),
    ] {
        match scoped.request(request).await? {
            Reply::Error {
                kind: ReplyErrorKind::BadRequest,
                message,
            } if message.contains(want) => {}
            other => anyhow::bail!("{other:?}, wanted an error saying {want:?}"),
        }
    }
    let Reply::Dashboard(json) = scoped
        .request(Request::Dashboard {
            uid: "status".into(),
        })
        .await?
    else {
        anyhow::bail!("the scoped token could not read its own dashboard")
    };
    assert!(json.contains("\"Status\""), "{json}");

    // The unscoped token reads everything, every dashboard, and the targets.
    let mut admin = Client::new(Some("admin-token"));
    admin.subscribe(everything, 0);
    admin.connect(&url(&relay)).await?;
    admin
        .run_until(Duration::from_secs(10), |c| {
            !c.series("lookout_connections").is_empty() && !c.targets.is_empty()
        })
        .await?;
    assert!(names(&admin).len() > 2);
    assert!(matches!(
        admin
            .request(Request::Dashboard {
                uid: "relay".into()
            })
            .await?,
        Reply::Dashboard(_)
    ));
    match admin
        .request(Request::Dashboard { uid: "nope".into() })
        .await?
    {
        Reply::Error { message, .. } if message.contains("\"relay\", \"status\"") => {}
        other => anyhow::bail!("{other:?}"),
    }
    relay.shutdown();
    Ok(())
}
