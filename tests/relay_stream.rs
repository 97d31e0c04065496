//! The relay end to end without a browser: a real target scraped over HTTP, samples streamed
//! over a real WebSocket in `lookout-wire` frames.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lookout_relay::{Relay, RelayConfig, ScrapeTarget};
use lookout_tests::eventually;
use lookout_tests::target::TestTarget;
use lookout_tsdb::MatchOp;
use lookout_wire::{Frame, MatcherSpec, PROTOCOL_VERSION};
use tokio_tungstenite::tungstenite::Message;

async fn relay_for(target: &TestTarget) -> anyhow::Result<Relay> {
    Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse()?,
        targets: vec![ScrapeTarget::new("e2e", target.url())],
        scrape_interval: Duration::from_millis(200),
        scrape_timeout: Duration::from_millis(200),
        ..RelayConfig::default()
    })
    .await
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_frame(ws: &mut Socket) -> anyhow::Result<Frame> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("socket closed"))??;
        if let Message::Binary(b) = msg {
            return Ok(Frame::decode(&b)?);
        }
    }
}

#[tokio::test]
async fn a_subscriber_gets_history_then_live_changes() -> anyhow::Result<()> {
    let target = TestTarget::start(5.0).await?;
    let relay = relay_for(&target).await?;
    // Let a few scrapes land so there is history.
    tokio::time::sleep(Duration::from_millis(700)).await;

    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/stream", relay.local_addr()))
            .await?;
    ws.send(Message::Binary(
        Frame::Hello {
            version: PROTOCOL_VERSION,
            token: None,
        }
        .encode()
        .into(),
    ))
    .await?;
    assert!(matches!(next_frame(&mut ws).await?, Frame::Welcome { .. }));
    let matchers = vec![MatcherSpec::new(
        "__name__",
        MatchOp::Equal,
        "e2e_counter_total",
    )];
    ws.send(Message::Binary(
        Frame::Subscribe {
            sub: 1,
            matchers,
            start: 0,
        }
        .encode()
        .into(),
    ))
    .await?;

    let Frame::Series { sub: 1, defs } = next_frame(&mut ws).await? else {
        anyhow::bail!("expected series first")
    };
    assert_eq!(defs.len(), 1, "only the selected series is sent: {defs:?}");
    assert_eq!(defs[0].labels.get("job"), Some("e2e"));
    assert_eq!(
        defs[0].labels.get("instance"),
        Some(target.addr.to_string().as_str())
    );
    let Frame::Samples { seq: 1, batch, .. } = next_frame(&mut ws).await? else {
        anyhow::bail!("expected history")
    };
    assert!(
        batch.len() >= 2,
        "history holds the scrapes so far: {batch:?}"
    );
    assert!(batch.values.iter().all(|v| *v == 5.0));

    target.set(9.0);
    let mut last_seq = 1;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let seen = loop {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the new value never streamed"
        );
        if let Frame::Samples { seq, batch, .. } = next_frame(&mut ws).await? {
            assert_eq!(seq, last_seq + 1, "batches are numbered without gaps");
            last_seq = seq;
            if batch.values.contains(&9.0) {
                break Ok(());
            }
        }
    };
    relay.shutdown();
    seen
}

#[tokio::test]
async fn a_page_speaking_another_version_is_refused_with_a_reason() -> anyhow::Result<()> {
    let target = TestTarget::start(1.0).await?;
    let relay = relay_for(&target).await?;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/stream", relay.local_addr()))
            .await?;
    ws.send(Message::Binary(
        Frame::Hello {
            version: PROTOCOL_VERSION + 1,
            token: None,
        }
        .encode()
        .into(),
    ))
    .await?;
    let Frame::Refused { reason } = next_frame(&mut ws).await? else {
        anyhow::bail!("expected a refusal")
    };
    assert!(reason.contains("protocol version"), "{reason}");
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
