//! Config parsing: Prometheus's defaults, errors with line and field, unsupported sections named.
#![allow(clippy::unwrap_used)]

use super::*;

const FULL: &str = r#"
global:
  scrape_interval: 15s
  external_labels: {region: eu}
rule_files: [rules.yml]
scrape_configs:
  - job_name: node
    scrape_interval: 5s
    params: {'collect[]': [cpu]}
    basic_auth: {username: u, password_file: /etc/pw}
    static_configs:
      - targets: ['localhost:9100']
        labels: {env: prod}
    file_sd_configs:
      - files: ['sd/*.json']
    relabel_configs:
      - source_labels: [__address__]
        target_label: host
    metric_relabel_configs:
      - action: labeldrop
        regex: 'tmp_.*'
    sample_limit: 1000
    body_size_limit: 10MB
    kubernetes_sd_configs: [{role: pod}]
"#;

#[test]
fn a_prometheus_file_parses_with_its_defaults() {
    let c = Config::parse(FULL).unwrap();
    assert_eq!(c.global.scrape_interval, Duration::from_secs(15));
    assert_eq!(c.global.scrape_timeout, Duration::from_secs(10));
    let job = &c.scrape_configs[0];
    assert_eq!(job.metrics_path, "/metrics");
    assert_eq!(job.scheme, "http");
    assert!(job.honor_timestamps && !job.honor_labels);
    assert_eq!(
        job.interval_and_timeout(&c.global),
        (Duration::from_secs(5), Duration::from_secs(5))
    );
    assert_eq!(job.limits(&c.global).body_size_limit, 10 << 20);
    assert_eq!(job.static_configs[0].labels["env"], "prod");
    assert_eq!(
        c.unsupported(),
        vec!["rule_files", "scrape_configs[node].kubernetes_sd_configs"]
    );
}

#[test]
fn an_unset_global_timeout_follows_a_short_interval() {
    let c = Config::parse("global:\n  scrape_interval: 2s\n").unwrap();
    assert_eq!(c.global.scrape_timeout, Duration::from_secs(2));
    let c = Config::parse("global:\n  scrape_interval: 2m\n").unwrap();
    assert_eq!(c.global.scrape_timeout, Duration::from_secs(10));
    assert!(Config::parse("global:\n  scrape_interval: 2s\n  scrape_timeout: 3s\n").is_err());
}

#[test]
fn errors_name_line_and_field() {
    let text = "scrape_configs:\n  - job_name: a\n    scrape_interval: 5 seconds\n";
    let e = Config::parse(text).unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.field.contains("scrape_configs[0].scrape_interval"), "{e}");
    assert!(e.to_string().contains("not a valid duration"), "{e}");

    let e =
        Config::parse("scrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.to_string().contains("scrape_intervall"), "{e}");

    let text = "scrape_configs:\n  - job_name: a\n  - job_name: b\n    relabel_configs:\n      - regex: '('\n";
    let e = Config::parse(text).unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");

    let text = "scrape_configs:\n  - job_name: a\n  - job_name: a\n";
    let e = Config::parse(text).unwrap_err();
    assert!(e.to_string().contains("multiple scrape configs"), "{e}");

    let text = "scrape_configs:\n  - job_name: a\n  - job_name: slow\n    scrape_interval: 5s\n    scrape_timeout: 6s\n";
    let e = Config::parse(text).unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert_eq!(e.field, "scrape_configs[1].scrape_timeout");
}

#[test]
fn load_reports_the_file_and_resolves_sd_paths() {
    let dir = std::env::temp_dir().join(format!("lookout-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("prometheus.yml");
    std::fs::write(&f, FULL).unwrap();
    let c = Config::load(&f).unwrap();
    assert_eq!(
        c.scrape_configs[0].file_sd_configs[0].files[0],
        dir.join("sd/*.json")
    );
    std::fs::write(&f, "global: [\n").unwrap();
    let e = Config::load(&f).unwrap_err();
    assert!(e.to_string().starts_with(&f.display().to_string()), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn external_labels_are_kept_and_an_empty_name_is_refused() {
    let c = Config::parse(FULL).unwrap();
    assert_eq!(c.global.external_labels["region"], "eu");
    let e = Config::parse("global:\n  external_labels: {'': x}\n").unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.line),
        ("global.external_labels", Some(2))
    );
}
