//! From discovered target groups to scrape targets, with Prometheus's exact label rules
//! (`PopulateLabels` in Prometheus 2.x): job/interval/timeout/path/scheme/params defaults, then
//! `relabel_configs`, then a default port for the scheme, `__meta_*` removed, `instance`
//! defaulting to the address, and the URL from `__scheme__`, `__address__`,
//! `__metrics_path__` and `__param_*`.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use crate::config::{GlobalConfig, ScrapeConfig, format_duration, parse_duration};
use crate::discovery::TargetGroup;
use crate::relabel::{LabelMap, relabel};

/// A target to scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Identity: its final labels (internal ones included) and URL.
    pub key: u64,
    /// The job (scrape config) it belongs to.
    pub pool: String,
    /// Final labels, `__`-prefixed ones included, sorted.
    pub labels: Vec<(String, String)>,
    /// Labels as discovered, before relabeling.
    pub discovered: Vec<(String, String)>,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
}

impl Target {
    /// The labels its series get: the final ones without the `__` prefix.
    pub fn public_labels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.labels
            .iter()
            .filter(|(n, _)| !n.starts_with("__"))
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What came of one discovered target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Populated {
    Active(Target),
    /// Dropped by relabeling; its discovered labels.
    Dropped(Vec<(String, String)>),
}

/// Builds the targets of one group. Targets whose labels are invalid are reported in `errors`.
pub fn targets_from_group(
    group: &TargetGroup,
    cfg: &ScrapeConfig,
    global: &GlobalConfig,
    errors: &mut Vec<String>,
) -> Vec<Populated> {
    let mut out = Vec::with_capacity(group.targets.len());
    for (i, t) in group.targets.iter().enumerate() {
        let mut lb: LabelMap = group.labels.clone();
        for (k, v) in t {
            lb.insert(k.clone(), v.clone());
        }
        match populate_labels(lb, cfg, global) {
            Ok(p) => out.push(p),
            Err(e) => errors.push(format!("instance {i} in group {}: {e}", group.source)),
        }
    }
    out
}

/// Prometheus's `PopulateLabels`.
pub fn populate_labels(
    mut lb: LabelMap,
    cfg: &ScrapeConfig,
    global: &GlobalConfig,
) -> Result<Populated, String> {
    let (interval, timeout) = cfg.interval_and_timeout(global);
    let defaults = [
        ("job", cfg.job_name.clone()),
        ("__scrape_interval__", format_duration(interval)),
        ("__scrape_timeout__", format_duration(timeout)),
        ("__metrics_path__", cfg.metrics_path.clone()),
        ("__scheme__", cfg.scheme.clone()),
    ];
    for (k, v) in defaults {
        if lb.get(k).is_none_or(|x| x.is_empty()) {
            lb.insert(k.to_owned(), v);
        }
    }
    for (k, v) in &cfg.params {
        let name = format!("__param_{k}");
        if let Some(first) = v.first()
            && lb.get(&name).is_none_or(|x| x.is_empty())
        {
            lb.insert(name, first.clone());
        }
    }
    lb.retain(|_, v| !v.is_empty());
    let discovered: Vec<(String, String)> =
        lb.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if !relabel(&mut lb, &cfg.relabel_configs) {
        return Ok(Populated::Dropped(discovered));
    }
    let Some(mut addr) = lb.get("__address__").cloned() else {
        return Err("no address".into());
    };
    if needs_default_port(&addr) {
        match lb.get("__scheme__").map(String::as_str) {
            Some("http") | None => addr.push_str(":80"),
            Some("https") => addr.push_str(":443"),
            Some(_) => return Err(format!("invalid scheme: {:?}", cfg.scheme)),
        }
        lb.insert("__address__".into(), addr.clone());
    }
    if addr.contains('/') {
        return Err(format!("{addr:?} is not a valid hostname"));
    }
    let get = |k: &str| lb.get(k).map_or("", String::as_str);
    let interval_s = get("__scrape_interval__");
    let interval =
        parse_duration(interval_s).map_err(|e| format!("error parsing scrape interval: {e}"))?;
    if interval.is_zero() {
        return Err("scrape interval cannot be 0".into());
    }
    let timeout_s = get("__scrape_timeout__");
    let timeout =
        parse_duration(timeout_s).map_err(|e| format!("error parsing scrape timeout: {e}"))?;
    if timeout.is_zero() {
        return Err("scrape timeout cannot be 0".into());
    }
    if timeout > interval {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({timeout_s:?} > {interval_s:?})"
        ));
    }
    lb.retain(|k, _| !k.starts_with("__meta_"));
    if !lb.contains_key("instance") {
        lb.insert("instance".into(), addr.clone());
    }
    let url = target_url(&lb, &cfg.params);
    let labels: Vec<(String, String)> = lb.into_iter().collect();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    labels.hash(&mut h);
    url.hash(&mut h);
    Ok(Populated::Active(Target {
        key: h.finish(),
        pool: cfg.job_name.clone(),
        labels,
        discovered,
        url,
        interval,
        timeout,
    }))
}

/// Go's `net.SplitHostPort` fails but would succeed with a port appended.
fn needs_default_port(addr: &str) -> bool {
    fn has_port(s: &str) -> bool {
        if let Some(rest) = s.strip_prefix('[') {
            return rest
                .split_once(']')
                .is_some_and(|(_, p)| p.starts_with(':') && !p[1..].contains(':'));
        }
        matches!(s.rsplit_once(':'), Some((h, _)) if !h.contains(':'))
    }
    fn bracket_ok(s: &str) -> bool {
        match s.strip_prefix('[') {
            Some(rest) => rest.ends_with(']') && !rest[..rest.len() - 1].contains(['[', ']']),
            None => !s.contains(['[', ']', ':']),
        }
    }
    !has_port(addr) && bracket_ok(addr)
}

/// `scheme://address/path?params`, the `__param_*` labels overriding the first value of each
/// configured parameter, keys sorted (Go's `url.Values.Encode`).
fn target_url(lb: &LabelMap, cfg_params: &BTreeMap<String, Vec<String>>) -> String {
    let mut params = cfg_params.clone();
    for (k, v) in lb {
        if let Some(name) = k.strip_prefix("__param_") {
            let e = params.entry(name.to_owned()).or_default();
            match e.first_mut() {
                Some(first) => *first = v.clone(),
                None => e.push(v.clone()),
            }
        }
    }
    let get = |k: &str| lb.get(k).map_or("", String::as_str);
    let mut url = format!(
        "{}://{}{}",
        get("__scheme__"),
        get("__address__"),
        get("__metrics_path__")
    );
    let mut first = true;
    for (k, vs) in &params {
        for v in vs {
            url.push(if first { '?' } else { '&' });
            first = false;
            url.push_str(&query_escape(k));
            url.push('=');
            url.push_str(&query_escape(v));
        }
    }
    url
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn target(yaml: &str, discovered: &[(&str, &str)]) -> Result<Populated, String> {
        let c = Config::parse(yaml).map_err(|e| e.to_string())?;
        let lb = discovered
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        populate_labels(lb, &c.scrape_configs[0], &c.global)
    }

    #[test]
    fn defaults_port_instance_and_url() {
        let y = "scrape_configs:\n- job_name: node\n  params: {module: [a, b]}\n";
        let Ok(Populated::Active(t)) = target(y, &[("__address__", "host")]) else {
            panic!()
        };
        assert_eq!(t.label("instance"), Some("host:80"));
        assert_eq!(t.label("job"), Some("node"));
        assert_eq!(t.url, "http://host:80/metrics?module=a&module=b");
        assert_eq!(t.label("__scrape_interval__"), Some("1m"));
        let public: Vec<_> = t.public_labels().collect();
        assert_eq!(public, vec![("instance", "host:80"), ("job", "node")]);
    }

    #[test]
    fn relabeling_sees_meta_labels_which_are_then_removed() {
        let y = r#"
scrape_configs:
- job_name: blackbox
  metrics_path: /probe
  relabel_configs:
  - source_labels: [__address__]
    target_label: __param_target
  - source_labels: [__param_target]
    target_label: instance
  - target_label: __address__
    replacement: 127.0.0.1:9115
  - source_labels: [__meta_zone]
    target_label: zone
"#;
        let Ok(Populated::Active(t)) = target(
            y,
            &[
                ("__address__", "https://example.org"),
                ("__meta_zone", "eu"),
            ],
        ) else {
            panic!()
        };
        assert_eq!(
            t.url,
            "http://127.0.0.1:9115/probe?target=https%3A%2F%2Fexample.org"
        );
        assert_eq!(t.label("instance"), Some("https://example.org"));
        assert_eq!(t.label("zone"), Some("eu"));
        assert!(t.label("__meta_zone").is_none());
    }

    #[test]
    fn dropped_and_invalid_targets() {
        let y = "scrape_configs:\n- job_name: x\n  relabel_configs:\n  - source_labels: [__address__]\n    regex: 'drop.*'\n    action: drop\n";
        assert!(matches!(
            target(y, &[("__address__", "drop-me:1")]),
            Ok(Populated::Dropped(_))
        ));
        assert!(target(y, &[("__address__", "a/b:1")]).is_err());
        assert!(target(y, &[]).is_err());
    }

    #[test]
    fn default_ports_follow_go_split_host_port() {
        assert!(needs_default_port("host"));
        assert!(needs_default_port("[::1]"));
        assert!(!needs_default_port("host:1"));
        assert!(!needs_default_port("[::1]:9"));
        assert!(!needs_default_port("::1"));
    }
}
