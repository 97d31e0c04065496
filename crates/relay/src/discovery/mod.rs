//! Service discovery: each provider (static, file, HTTP, DNS via hickory-resolver) produces target groups with the
//! same `__address__` and `__meta_*` labels Prometheus gives, and sends them whenever they
//! change. A provider that fails keeps its previous groups, as Prometheus does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{DnsSdConfig, FileSdConfig, HttpSdConfig, ScrapeConfig};
use crate::relabel::LabelMap;

/// A group of targets sharing labels, as discovery produces it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetGroup {
    /// Where it came from (`file.json:0`, `static:1`), for error messages.
    pub source: String,
    /// Per target labels; at least `__address__`.
    pub targets: Vec<LabelMap>,
    /// Labels of every target of the group.
    pub labels: LabelMap,
}

/// New groups from one provider of one job.
#[derive(Debug)]
pub struct DiscoveryUpdate {
    pub generation: u64,
    pub job: String,
    pub provider: usize,
    pub groups: Vec<TargetGroup>,
}

/// A target group as files and HTTP SD write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupDoc {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

fn to_groups(docs: Vec<GroupDoc>, source: &str, meta: (&str, &str)) -> Vec<TargetGroup> {
    docs.into_iter()
        .enumerate()
        .map(|(i, d)| {
            let mut labels: LabelMap = d.labels.into_iter().collect();
            labels.insert(meta.0.to_owned(), meta.1.to_owned());
            TargetGroup {
                source: format!("{source}:{i}"),
                targets: d
                    .targets
                    .into_iter()
                    .map(|a| LabelMap::from([("__address__".to_owned(), a)]))
                    .collect(),
                labels,
            }
        })
        .collect()
}

/// Reads a file_sd file: JSON by `.json`, YAML by `.yml`/`.yaml`.
pub fn read_file_groups(path: &Path) -> Result<Vec<TargetGroup>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let docs: Vec<GroupDoc> = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        Some("yml" | "yaml") => {
            if text.trim().is_empty() {
                Vec::new()
            } else {
                serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
        }
        _ => {
            return Err(format!(
                "{}: retrieval target groups from file: unknown extension (use .json, .yml or .yaml)",
                path.display()
            ));
        }
    };
    let name = path.display().to_string();
    Ok(to_groups(docs, &name, ("__meta_filepath", &name)))
}

/// Starts the providers of a job; each sends its groups on `tx`. Static groups are sent at once.
pub fn spawn_providers(
    job: &ScrapeConfig,
    generation: u64,
    tx: &mpsc::UnboundedSender<DiscoveryUpdate>,
    opts: &DiscoveryOptions,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let name = job.job_name.clone();
    let send = {
        let tx = tx.clone();
        let name = name.clone();
        move |provider: usize, groups: Vec<TargetGroup>| {
            let _ = tx.send(DiscoveryUpdate {
                generation,
                job: name.clone(),
                provider,
                groups,
            });
        }
    };
    let statics: Vec<TargetGroup> = job
        .static_configs
        .iter()
        .enumerate()
        .map(|(i, s)| TargetGroup {
            source: i.to_string(),
            targets: s
                .targets
                .iter()
                .map(|a| LabelMap::from([("__address__".to_owned(), a.clone())]))
                .collect(),
            labels: s.labels.clone().into_iter().collect(),
        })
        .collect();
    send(0, statics);
    let mut provider = 1;
    for sd in &job.file_sd_configs {
        let (send, sd) = (send.clone(), sd.clone());
        let p = provider;
        tasks.push(tokio::spawn(async move {
            watch_files(sd, move |g| send(p, g)).await
        }));
        provider += 1;
    }
    for sd in &job.http_sd_configs {
        let (send, sd) = (send.clone(), sd.clone());
        let p = provider;
        tasks.push(tokio::spawn(async move {
            poll_http(sd, move |g| send(p, g)).await
        }));
        provider += 1;
    }
    for sd in &job.dns_sd_configs {
        let (send, sd, opts) = (send.clone(), sd.clone(), opts.clone());
        let p = provider;
        tasks.push(tokio::spawn(async move {
            poll_dns(sd, opts, move |g| send(p, g)).await
        }));
        provider += 1;
    }
    tasks
}

/// `*` and `?` in the last path element, as Prometheus's `filepath.Glob` use allows.
fn expand(pattern: &Path) -> Vec<PathBuf> {
    let Some(name) = pattern.file_name().and_then(|n| n.to_str()) else {
        return vec![pattern.to_owned()];
    };
    if !name.contains(['*', '?']) {
        return vec![pattern.to_owned()];
    }
    let dir = pattern.parent().unwrap_or(Path::new("."));
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| glob_match(name, n)))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

fn glob_match(pat: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// How often watched files are checked for changes (size and modification time).
const FILE_POLL: Duration = Duration::from_secs(1);

async fn watch_files(sd: FileSdConfig, send: impl Fn(Vec<TargetGroup>)) {
    let mut last_read: BTreeMap<PathBuf, Vec<TargetGroup>> = BTreeMap::new();
    let mut stamps: BTreeMap<PathBuf, (Option<SystemTime>, u64)> = BTreeMap::new();
    let mut last_refresh: Option<Instant> = None;
    loop {
        let files: Vec<PathBuf> = sd.files.iter().flat_map(|p| expand(p)).collect();
        let now_stamps: BTreeMap<PathBuf, (Option<SystemTime>, u64)> = files
            .iter()
            .map(|f| {
                let m = std::fs::metadata(f).ok();
                let stamp = (
                    m.as_ref().and_then(|m| m.modified().ok()),
                    m.map_or(0, |m| m.len()),
                );
                (f.clone(), stamp)
            })
            .collect();
        let due = last_refresh.is_none_or(|t| t.elapsed() >= sd.refresh_interval);
        if due || now_stamps != stamps {
            let mut next = BTreeMap::new();
            for f in &files {
                match read_file_groups(f) {
                    Ok(g) => {
                        next.insert(f.clone(), g);
                    }
                    Err(e) => {
                        tracing::error!("file_sd: {e}");
                        // Keep what the file gave before, as Prometheus does.
                        if let Some(old) = last_read.get(f) {
                            next.insert(f.clone(), old.clone());
                        }
                    }
                }
            }
            if next != last_read || last_refresh.is_none() {
                send(next.values().flatten().cloned().collect());
            }
            last_read = next;
            stamps = now_stamps;
            last_refresh = Some(Instant::now());
        }
        tokio::time::sleep(FILE_POLL).await;
    }
}

async fn poll_http(sd: HttpSdConfig, send: impl Fn(Vec<TargetGroup>)) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("http_sd {}: cannot build a client: {e}", sd.url);
            return;
        }
    };
    let mut last: Option<Vec<TargetGroup>> = None;
    loop {
        match fetch_http_groups(&client, &sd.url).await {
            Ok(g) => {
                if last.as_ref() != Some(&g) {
                    send(g.clone());
                    last = Some(g);
                }
            }
            Err(e) => tracing::error!("http_sd {}: {e}", sd.url),
        }
        tokio::time::sleep(sd.refresh_interval).await;
    }
}

/// Largest HTTP SD response accepted.
const HTTP_SD_LIMIT: usize = 16 << 20;

async fn fetch_http_groups(
    client: &reqwest::Client,
    url: &str,
) -> Result<Vec<TargetGroup>, String> {
    let mut resp = client
        .get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("server returned HTTP status {}", resp.status()));
    }
    let mut body = Vec::new();
    while let Some(c) = resp.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + c.len() > HTTP_SD_LIMIT {
            return Err(format!("response larger than {HTTP_SD_LIMIT} bytes"));
        }
        body.extend_from_slice(&c);
    }
    let docs: Vec<GroupDoc> = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    Ok(to_groups(docs, url, ("__meta_url", url)))
}

/// How discovery reaches the outside world.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryOptions {
    /// DNS servers for `dns_sd_configs`; empty: the system's (`/etc/resolv.conf`).
    pub dns_servers: Vec<std::net::SocketAddr>,
}

fn resolver(opts: &DiscoveryOptions) -> Result<hickory_resolver::TokioResolver, String> {
    use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
    use hickory_resolver::name_server::TokioConnectionProvider;
    let mut builder = if opts.dns_servers.is_empty() {
        hickory_resolver::Resolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?
    } else {
        let mut group = NameServerConfigGroup::new();
        for addr in &opts.dns_servers {
            group.merge(NameServerConfigGroup::from_ips_clear(
                &[addr.ip()],
                addr.port(),
                true,
            ));
        }
        hickory_resolver::Resolver::builder_with_config(
            ResolverConfig::from_parts(None, Vec::new(), group),
            TokioConnectionProvider::default(),
        )
    };
    // As Prometheus's DNS discovery (miekg/dns against resolv.conf's servers): every refresh
    // asks the servers, and /etc/hosts is not consulted.
    builder.options_mut().cache_size = 0;
    builder.options_mut().use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
    Ok(builder.build())
}

/// The targets one name resolves to, with Prometheus's `__meta_dns_*` labels
/// (`discovery/dns/dns.go`): SRV targets are `target:port` (the trailing dot trimmed) and keep
/// the record's target and port as labels; A, AAAA, MX and NS targets take the configured port.
/// A name that does not exist or has no records gives no targets, not an error.
async fn lookup_dns(
    resolver: &hickory_resolver::TokioResolver,
    name: &str,
    sd: &DnsSdConfig,
) -> Result<Vec<LabelMap>, String> {
    use hickory_resolver::proto::rr::{RData, RecordType};
    let kind = match sd.kind.as_str() {
        "A" => RecordType::A,
        "AAAA" => RecordType::AAAA,
        "MX" => RecordType::MX,
        "NS" => RecordType::NS,
        _ => RecordType::SRV,
    };
    let answer = match resolver.lookup(name, kind).await {
        Ok(a) => a,
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => return Ok(Vec::new()),
        Err(e) => return Err(e.to_string()),
    };
    let port = sd.port.unwrap_or(0);
    let host_port = |host: &str, port: u16| {
        if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    };
    let mut out = Vec::new();
    for record in answer.iter() {
        let (address, srv_target, srv_port, mx_target, ns_target) = match record {
            RData::SRV(srv) => {
                let target = srv.target().to_string();
                (
                    host_port(target.trim_end_matches('.'), srv.port()),
                    target,
                    srv.port().to_string(),
                    String::new(),
                    String::new(),
                )
            }
            RData::MX(mx) => {
                let target = mx.exchange().to_string();
                (
                    host_port(target.trim_end_matches('.'), port),
                    String::new(),
                    String::new(),
                    target,
                    String::new(),
                )
            }
            RData::NS(ns) => {
                let target = ns.0.to_string();
                (
                    host_port(target.trim_end_matches('.'), port),
                    String::new(),
                    String::new(),
                    String::new(),
                    target,
                )
            }
            RData::A(a) if kind == RecordType::A => (
                host_port(&a.0.to_string(), port),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ),
            RData::AAAA(a) if kind == RecordType::AAAA => (
                host_port(&a.0.to_string(), port),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ),
            // CNAMEs on the way to the answer, and anything else.
            _ => continue,
        };
        // Empty values are absent labels, as in Prometheus's label builder.
        let labels = [
            ("__address__", address),
            ("__meta_dns_name", name.to_owned()),
            ("__meta_dns_srv_record_target", srv_target),
            ("__meta_dns_srv_record_port", srv_port),
            ("__meta_dns_mx_record_target", mx_target),
            ("__meta_dns_ns_record_target", ns_target),
        ];
        out.push(
            labels
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        );
    }
    Ok(out)
}

async fn poll_dns(sd: DnsSdConfig, opts: DiscoveryOptions, send: impl Fn(Vec<TargetGroup>)) {
    let resolver = match resolver(&opts) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("dns_sd {:?}: {e}", sd.names);
            return;
        }
    };
    let mut last: Option<Vec<TargetGroup>> = None;
    loop {
        let mut groups = Vec::new();
        for name in &sd.names {
            match lookup_dns(&resolver, name, &sd).await {
                Ok(targets) => groups.push(TargetGroup {
                    source: name.clone(),
                    targets,
                    labels: LabelMap::new(),
                }),
                Err(e) => {
                    tracing::error!("dns_sd: resolving {name} ({}): {e}", sd.kind);
                    // Keep the previous answer for this name, as Prometheus keeps the group.
                    if let Some(old) = last.iter().flatten().find(|g| &g.source == name) {
                        groups.push(old.clone());
                    }
                }
            }
        }
        if last.as_ref() != Some(&groups) {
            send(groups.clone());
            last = Some(groups);
        }
        tokio::time::sleep(sd.refresh_interval).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.json", "a.json"));
        assert!(glob_match("t?-*.yml", "t1-x.yml"));
        assert!(!glob_match("*.json", "a.yml"));
    }

    #[test]
    fn file_groups_in_json_and_yaml_carry_filepath() {
        let dir = std::env::temp_dir().join(format!("lookout-sd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let j = dir.join("a.json");
        std::fs::write(&j, r#"[{"targets":["h:1","h:2"],"labels":{"env":"prod"}}]"#).unwrap();
        let y = dir.join("b.yml");
        std::fs::write(&y, "- targets: ['h:3']\n").unwrap();
        let g = read_file_groups(&j).unwrap();
        assert_eq!(g[0].targets.len(), 2);
        assert_eq!(g[0].labels["env"], "prod");
        assert_eq!(g[0].labels["__meta_filepath"], j.display().to_string());
        assert_eq!(
            read_file_groups(&y).unwrap()[0].targets[0]["__address__"],
            "h:3"
        );
        std::fs::write(&j, "[{").unwrap();
        assert!(read_file_groups(&j).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
