//! Targets that come and go without a restart: file_sd changes, HTTP SD, and config reloads
//! (`POST /-/reload` keeps the running config when the new file is invalid).
#![allow(clippy::unwrap_used)]

mod common;

use axum::Router;
use axum::routing::get;
use common::*;
use lookout_tsdb::is_stale_nan;

async fn target(value: &'static str) -> std::net::SocketAddr {
    serve(Router::new().route("/metrics", get(move || async move { value }))).await
}

fn active_instances(v: &serde_json::Value, job: &str) -> Vec<String> {
    let mut out: Vec<String> = v["data"]["activeTargets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["scrapePool"] == job)
        .map(|t| {
            t["labels"]["instance"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_file_sd_change_adds_and_removes_targets_and_marks_removed_series_stale() {
    let (a, b) = (
        target("fsd_metric 1\n").await,
        target("fsd_metric 2\n").await,
    );
    let dir = TempDir::new("filesd");
    dir.write(
        "targets.json",
        &format!(r#"[{{"targets":["{a}"],"labels":{{"env":"test"}}}}]"#),
    );
    let relay = relay_with(
        &dir,
        "global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\nscrape_configs:\n  - job_name: f\n    file_sd_configs:\n      - files: ['*.json']\n",
    )
    .await;
    let t = scraped_target(&relay, "f").await;
    assert_eq!(t["labels"]["env"], "test");
    assert_eq!(
        t["discoveredLabels"]["__meta_filepath"],
        dir.0.join("targets.json").display().to_string()
    );

    // Add b, YAML this time, in a second file.
    dir.write("more.json", &format!(r#"[{{"targets":["{b}"]}}]"#));
    let sa = a.to_string();
    let sb = b.to_string();
    let mut seen = Vec::new();
    for _ in 0..200 {
        seen = active_instances(&targets_json(&relay).await, "f");
        if seen.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    let b_series = [
        ("__name__", "fsd_metric"),
        ("instance", sb.as_str()),
        ("job", "f"),
    ];
    eventually("b scraped", || !samples(&relay, &b_series).is_empty()).await;

    // Remove b: it stops being scraped and its series end with a staleness marker.
    std::fs::remove_file(dir.0.join("more.json")).unwrap();
    eventually("b stale", || {
        samples(&relay, &b_series)
            .last()
            .is_some_and(|(_, v)| is_stale_nan(*v))
    })
    .await;
    let up_b = [("__name__", "up"), ("instance", sb.as_str()), ("job", "f")];
    assert!(is_stale_nan(samples(&relay, &up_b).last().unwrap().1));
    assert_eq!(active_instances(&targets_json(&relay).await, "f"), vec![sa]);
}

#[tokio::test]
async fn reload_keeps_the_old_config_when_the_new_one_is_invalid() {
    let (a, b) = (target("r 1\n").await, target("r 2\n").await);
    let dir = TempDir::new("reload");
    let cfg = |addr: std::net::SocketAddr| {
        format!(
            "global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\nscrape_configs:\n  - job_name: r\n    static_configs:\n      - targets: ['{addr}']\n"
        )
    };
    let with_external = cfg(a).replacen(
        "global:\n",
        "global:\n  external_labels: {region: eu, replica: a}\n",
        1,
    );
    let relay = relay_with(&dir, &with_external).await;
    scraped_target(&relay, "r").await;
    // External labels describe the relay to pages; stored series never get them.
    assert_eq!(
        targets_json(&relay).await["data"]["externalLabels"],
        serde_json::json!({"region": "eu", "replica": "a"})
    );
    eventually("r scraped", || !series_with(&relay, "job", "r").is_empty()).await;
    assert!(
        series_with(&relay, "job", "r")
            .iter()
            .all(|l| l.get("region").is_none())
    );
    let client = reqwest::Client::new();
    let url = format!("http://{}/-/reload", relay.local_addr());

    dir.write(
        "prometheus.yml",
        "scrape_configs:\n  - job_name: r\n    scrape_interval: soon\n",
    );
    let resp = client.post(&url).send().await.unwrap();
    assert_eq!(resp.status(), 500);
    let body = resp.text().await.unwrap();
    assert!(body.contains("prometheus.yml:3"), "{body}");
    assert!(body.contains("scrape_interval"), "{body}");
    assert_eq!(
        active_instances(&targets_json(&relay).await, "r"),
        vec![a.to_string()]
    );

    dir.write("prometheus.yml", &cfg(b));
    let resp = client.post(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut seen = Vec::new();
    for _ in 0..200 {
        seen = active_instances(&targets_json(&relay).await, "r");
        if seen == vec![b.to_string()] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, vec![b.to_string()]);
    assert_eq!(
        targets_json(&relay).await["data"]["externalLabels"],
        serde_json::json!({})
    );
}

#[tokio::test]
async fn http_sd_targets_carry_the_url_meta_label() {
    let a = target("h 1\n").await;
    let sd_body = format!(r#"[{{"targets":["{a}"],"labels":{{"zone":"z1"}}}}]"#);
    let sd = serve(Router::new().route(
        "/sd",
        get(move || {
            let b = sd_body.clone();
            async move { ([("content-type", "application/json")], b) }
        }),
    ))
    .await;
    let dir = TempDir::new("httpsd");
    let relay = relay_with(
        &dir,
        &format!(
            "global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\nscrape_configs:\n  - job_name: h\n    http_sd_configs:\n      - url: http://{sd}/sd\n    relabel_configs:\n      - source_labels: [__meta_url]\n        target_label: sd\n"
        ),
    )
    .await;
    let t = scraped_target(&relay, "h").await;
    assert_eq!(t["health"], "up");
    assert_eq!(t["labels"]["zone"], "z1");
    assert_eq!(t["labels"]["sd"], format!("http://{sd}/sd"));
}

#[tokio::test]
async fn dropped_targets_are_listed_with_their_discovered_labels() {
    let a = target("k 1\n").await;
    let dir = TempDir::new("dropped");
    let relay = relay_with(
        &dir,
        &format!(
            "global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\nscrape_configs:\n  - job_name: d\n    static_configs:\n      - targets: ['{a}', 'skip.invalid:1']\n    relabel_configs:\n      - source_labels: [__address__]\n        regex: 'skip.*'\n        action: drop\n"
        ),
    )
    .await;
    scraped_target(&relay, "d").await;
    let v = targets_json(&relay).await;
    let dropped = v["data"]["droppedTargets"].as_array().unwrap();
    assert_eq!(dropped.len(), 1, "{v}");
    assert_eq!(
        dropped[0]["discoveredLabels"]["__address__"],
        "skip.invalid:1"
    );
    assert_eq!(active_instances(&v, "d"), vec![a.to_string()]);
}
