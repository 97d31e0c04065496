//! The relay against Debian's real `prometheus-node-exporter` (one over https, with a CA made
//! in the test) and `prometheus`: both scrape the same config, and the relay must produce the same targets (labels, discovered labels, URLs,
//! dropped targets) that Prometheus's own `/api/v1/targets` reports, and scrape both for real.
//!
//! Needs the Debian packages `prometheus` and `prometheus-node-exporter` (`cargo xtask test`
//! installs them).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn binary(name: &str) -> String {
    let path = format!("/usr/bin/{name}");
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: install the Debian packages prometheus and prometheus-node-exporter \
         (cargo xtask test does)"
    );
    path
}

async fn wait_http(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::get(url)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "{url} never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

type TargetKey = (String, String);

/// scrapePool+scrapeUrl -> (labels, discoveredLabels), and the dropped targets' labels.
#[allow(clippy::type_complexity)]
fn summarize(
    v: &serde_json::Value,
) -> (
    BTreeMap<TargetKey, (serde_json::Value, serde_json::Value)>,
    Vec<String>,
) {
    let active = v["data"]["activeTargets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["scrapePool"] != "lookout")
        .map(|t| {
            (
                (
                    t["scrapePool"].as_str().unwrap().to_owned(),
                    t["scrapeUrl"].as_str().unwrap().to_owned(),
                ),
                (t["labels"].clone(), t["discoveredLabels"].clone()),
            )
        })
        .collect();
    let mut dropped: Vec<String> = v["data"]["droppedTargets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["discoveredLabels"].to_string())
        .collect();
    dropped.sort();
    (active, dropped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_targets_as_prometheus_and_real_scrapes_succeed() {
    let (node_port, prom_port) = (free_port(), free_port());
    let dir = TempDir::new("realprom");
    let _node = Proc(
        Command::new(binary("prometheus-node-exporter"))
            .arg(format!("--web.listen-address=127.0.0.1:{node_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // A second node_exporter serving https with a certificate of a CA made here: both
    // Prometheus and the relay scrape it with tls_config.
    let tls_port = free_port();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Lookout test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let ca_file = dir.write("ca.pem", &ca.pem());
    dir.write("node.pem", &leaf.pem());
    dir.write("node-key.pem", &leaf_key.serialize_pem());
    let web = dir.write(
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            dir.0.join("node.pem").display(),
            dir.0.join("node-key.pem").display()
        ),
    );
    let _node_tls = Proc(
        Command::new(binary("prometheus-node-exporter"))
            .arg(format!("--web.listen-address=127.0.0.1:{tls_port}"))
            .arg(format!("--web.config.file={}", web.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let config = format!(
        r#"
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: node
    params:
      'collect[]': [cpu, meminfo, loadavg]
    static_configs:
      - targets: ['127.0.0.1:{node_port}']
        labels: {{env: test, __meta_origin: static}}
      - targets: ['localhost', 'drop-me:9100', '[::1]']
    relabel_configs:
      - source_labels: [__address__]
        regex: 'drop-.*'
        action: drop
      - source_labels: [__address__]
        regex: '([^:]+):.*'
        target_label: host
      - source_labels: [__address__]
        modulus: 4
        target_label: shard
        action: hashmod
      - regex: '__meta_(.+)'
        action: labelmap
      - source_labels: [env]
        target_label: ENV_UP
        action: uppercase
      - source_labels: [host]
        target_label: host_copy
        replacement: 'h-${{1}}'
  - job_name: node_tls
    scheme: https
    tls_config:
      ca_file: {ca}
    static_configs:
      - targets: ['127.0.0.1:{tls_port}']
    relabel_configs:
      - source_labels: [__scheme__]
        target_label: scheme
  - job_name: prometheus
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:{prom_port}']
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_.*'
        action: drop
"#,
        ca = ca_file.display()
    );
    let cfg_path = dir.write("prometheus.yml", &config);
    let _prom = Proc(
        Command::new(binary("prometheus"))
            .arg(format!("--config.file={}", cfg_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_http(&format!("http://127.0.0.1:{node_port}/metrics")).await;
    wait_http(&format!("http://127.0.0.1:{prom_port}/-/ready")).await;
    let relay = relay_with(&dir, &config).await;

    // Prometheus applies discovery updates after a few seconds; wait for all five targets,
    // and for its https scrape to have succeeded (the certificates are good for Go too).
    let prom_url = format!("http://127.0.0.1:{prom_port}/api/v1/targets");
    let deadline = Instant::now() + Duration::from_secs(40);
    let prom = loop {
        let v: serde_json::Value = reqwest::get(&prom_url).await.unwrap().json().await.unwrap();
        let active = v["data"]["activeTargets"].as_array();
        let tls_up = active
            .into_iter()
            .flatten()
            .any(|t| t["scrapePool"] == "node_tls" && t["health"] == "up");
        if active.map_or(0, Vec::len) >= 5 && tls_up {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never listed its targets: {v}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let ours = targets_json(&relay).await;
    let (p_active, p_dropped) = summarize(&prom);
    let (o_active, o_dropped) = summarize(&ours);
    assert_eq!(
        p_active.keys().collect::<Vec<_>>(),
        o_active.keys().collect::<Vec<_>>(),
        "scrape URLs"
    );
    for (k, (pl, pd)) in &p_active {
        let (ol, od) = &o_active[k];
        assert_eq!(pl, ol, "labels of {k:?}");
        assert_eq!(pd, od, "discovered labels of {k:?}");
    }
    assert_eq!(p_dropped, o_dropped, "dropped targets");

    // Real scrapes: node_exporter and Prometheus's own /metrics are up and stored.
    let node = format!("127.0.0.1:{node_port}");
    let node_t = scraped_target(&relay, "node").await;
    let t = loop {
        let v = targets_json(&relay).await;
        let t = v["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["labels"]["instance"] == node.as_str())
            .cloned();
        if let Some(t) = t.filter(|t| t["health"] != "unknown") {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(t["health"], "up", "{t} / {node_t}");
    eventually("node_load1 stored", || {
        series_with(&relay, "__name__", "node_load1")
            .iter()
            .any(|l| l.get("instance") == Some(node.as_str()) && l.get("ENV_UP") == Some("TEST"))
    })
    .await;
    let tls_t = scraped_target(&relay, "node_tls").await;
    assert_eq!(tls_t["health"], "up", "{tls_t}");
    assert!(
        tls_t["scrapeUrl"].as_str().unwrap().starts_with("https://"),
        "{tls_t}"
    );
    eventually("node_exporter over https stored", || {
        series_with(&relay, "job", "node_tls")
            .iter()
            .any(|l| l.metric_name() == Some("node_load1") && l.get("scheme") == Some("https"))
    })
    .await;
    eventually("prometheus scraped", || {
        !series_with(&relay, "__name__", "prometheus_build_info").is_empty()
    })
    .await;
    assert!(
        series_with(&relay, "job", "prometheus")
            .iter()
            .all(|l| !l.metric_name().unwrap_or_default().starts_with("go_")),
        "metric_relabel_configs dropped go_*"
    );
}
