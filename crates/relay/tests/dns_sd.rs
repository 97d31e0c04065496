//! `dns_sd_configs` against a real DNS server on loopback: a small UDP responder written here
//! with hickory-proto's message codec answers SRV and A queries (and NXDOMAIN for the rest); the
//! relay resolves through it (`dns_servers`), gets Prometheus's `__meta_dns_*` labels, scrapes
//! the targets, and follows a changed answer: a target gone from the SRV set stops being
//! scraped and its series get staleness markers.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use common::*;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, SRV};
use hickory_proto::rr::{Name, RData, Record};
use lookout_relay::{Relay, RelayConfig};
use lookout_tsdb::STALE_NAN_BITS;

/// The zone the responder serves: (name, type) -> records. Changed by the test as it runs.
type Zone = Arc<Mutex<Vec<(String, RData)>>>;

async fn dns_server(zone: Zone) -> SocketAddr {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                continue;
            };
            let Ok(req) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut resp = Message::new();
            resp.set_id(req.id())
                .set_message_type(MessageType::Response)
                .set_op_code(req.op_code())
                .set_recursion_desired(req.recursion_desired())
                .set_recursion_available(true)
                .set_authoritative(true);
            resp.add_queries(req.queries().to_vec());
            let mut known = false;
            if let Some(q) = req.queries().first() {
                let qname = q.name().to_ascii().trim_end_matches('.').to_lowercase();
                for (name, rdata) in zone.lock().unwrap().iter() {
                    if *name == qname {
                        known = true;
                        if rdata.record_type() == q.query_type() {
                            resp.add_answer(Record::from_rdata(q.name().clone(), 0, rdata.clone()));
                        }
                    }
                }
            }
            if !known {
                resp.set_response_code(ResponseCode::NXDomain);
            }
            let _ = sock.send_to(&resp.to_vec().unwrap(), peer).await;
        }
    });
    addr
}

async fn metrics_server(series: &'static str) -> SocketAddr {
    serve(Router::new().route(
        "/metrics",
        get(move || async move { format!("{series} 1\n") }),
    ))
    .await
}

fn srv(port: u16) -> RData {
    RData::SRV(SRV::new(
        10,
        5,
        port,
        Name::from_ascii("127.0.0.1.").unwrap(),
    ))
}

fn active(v: &serde_json::Value, job: &str) -> Vec<serde_json::Value> {
    v["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["scrapePool"] == job)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srv_and_a_records_become_targets_with_prometheus_meta_labels() {
    let (one, two, three) = (
        metrics_server("one_ok").await,
        metrics_server("two_ok").await,
        metrics_server("three_ok").await,
    );
    let zone: Zone = Arc::new(Mutex::new(vec![
        ("_metrics._tcp.lookout.test".into(), srv(one.port())),
        ("_metrics._tcp.lookout.test".into(), srv(two.port())),
        ("node.lookout.test".into(), RData::A(A::new(127, 0, 0, 1))),
    ]));
    let dns = dns_server(zone.clone()).await;
    let dir = TempDir::new("dnssd");
    let config = format!(
        r#"
global:
  scrape_interval: 200ms
  scrape_timeout: 200ms
scrape_configs:
  - job_name: srv
    dns_sd_configs:
      - names: ['_metrics._tcp.lookout.test', 'missing.lookout.test']
        refresh_interval: 300ms
    relabel_configs:
      - source_labels: [__meta_dns_srv_record_port]
        target_label: srv_port
  - job_name: a
    dns_sd_configs:
      - names: ['node.lookout.test']
        type: A
        port: {}
"#,
        three.port()
    );
    let file = dir.write("prometheus.yml", &config);
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        config_file: Some(file),
        dns_servers: vec![dns],
        ..RelayConfig::default()
    })
    .await
    .unwrap();

    // Both SRV targets, with exactly the labels Prometheus's DNS discovery gives.
    let deadline = Instant::now() + Duration::from_secs(15);
    let srv_targets = loop {
        let v = targets_json(&relay).await;
        let t = active(&v, "srv");
        if t.len() == 2 {
            break t;
        }
        assert!(Instant::now() < deadline, "SRV targets never came: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for port in [one.port(), two.port()] {
        let port = port.to_string();
        let address = format!("127.0.0.1:{port}");
        let t = srv_targets
            .iter()
            .find(|t| t["discoveredLabels"]["__address__"] == address.as_str())
            .unwrap_or_else(|| panic!("no target {address}: {srv_targets:?}"));
        let d = &t["discoveredLabels"];
        assert_eq!(d["__address__"], address.as_str(), "{t}");
        assert_eq!(d["__meta_dns_name"], "_metrics._tcp.lookout.test", "{t}");
        assert_eq!(d["__meta_dns_srv_record_target"], "127.0.0.1.", "{t}");
        assert_eq!(d["__meta_dns_srv_record_port"], port.as_str(), "{t}");
        assert!(d.get("__meta_dns_mx_record_target").is_none(), "{t}");
        assert_eq!(t["labels"]["srv_port"], port.as_str(), "{t}");
        assert_eq!(t["labels"]["instance"], address.as_str(), "{t}");
        assert!(t["labels"].get("__meta_dns_name").is_none(), "{t}");
    }
    let a = scraped_target(&relay, "a").await;
    assert_eq!(a["health"], "up", "{a}");
    assert_eq!(
        a["discoveredLabels"]["__address__"],
        format!("127.0.0.1:{}", three.port()).as_str()
    );
    assert_eq!(
        a["discoveredLabels"]["__meta_dns_name"],
        "node.lookout.test"
    );
    for series in ["one_ok", "two_ok", "three_ok"] {
        eventually(series, || {
            !series_with(&relay, "__name__", series).is_empty()
        })
        .await;
    }

    // The SRV set shrinks: the target that left is no longer scraped and goes stale.
    zone.lock().unwrap().retain(|(_, r)| *r != srv(two.port()));
    let gone = format!("127.0.0.1:{}", two.port());
    eventually("target two removed", || {
        relay
            .hub()
            .targets()
            .iter()
            .all(|t| t.labels.iter().all(|(_, v)| *v != gone))
    })
    .await;
    let two_up = samples(
        &relay,
        &[
            ("__name__", "up"),
            ("instance", &gone),
            ("job", "srv"),
            ("srv_port", &two.port().to_string()),
        ],
    );
    assert!(!two_up.is_empty());
    assert_eq!(
        two_up.last().unwrap().1.to_bits(),
        STALE_NAN_BITS,
        "up of the removed target ends with a staleness marker: {two_up:?}"
    );
    let v = targets_json(&relay).await;
    assert_eq!(active(&v, "srv").len(), 1, "{v}");
    relay.shutdown();
}
