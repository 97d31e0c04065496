//! The relay's scrape configuration: a Prometheus `prometheus.yml` read as it is.
//!
//! Field names, defaults and validation follow Prometheus 2.x, so an operator can point the relay
//! at the file their Prometheus already uses. Unknown fields are errors (as in Prometheus);
//! sections Prometheus knows but the relay does not implement yet are accepted and named in one
//! warning ([`Config::unsupported`]). Every error carries the file, line and field.

mod duration;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;

pub(crate) use duration::parse_scalar;
pub use duration::{format_duration, parse_bytes, parse_duration};

use crate::relabel::RelabelConfig;

/// A parsed and validated configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Defaults for every scrape job.
    #[serde(default)]
    pub global: GlobalConfig,
    /// The jobs to scrape, each with its own discovery, relabeling and limits.
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeConfig>,
    #[serde(default, skip_serializing)]
    rule_files: Option<IgnoredAny>,
    #[serde(default)]
    alerting: Option<IgnoredAny>,
    #[serde(default)]
    remote_write: Option<IgnoredAny>,
    #[serde(default)]
    remote_read: Option<IgnoredAny>,
    #[serde(default)]
    storage: Option<IgnoredAny>,
    #[serde(default)]
    tracing: Option<IgnoredAny>,
    #[serde(default)]
    scrape_config_files: Option<IgnoredAny>,
}

/// `global:` — defaults for all jobs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalConfig {
    /// How often to scrape targets by default. Default `1m`.
    #[serde(with = "duration::serde_duration")]
    pub scrape_interval: Duration,
    /// How long a scrape may take by default. Default `10s`, or the interval when that is
    /// shorter.
    #[serde(default = "zero", with = "duration::serde_duration")]
    pub scrape_timeout: Duration,
    /// Accepted for compatibility; the relay evaluates no rules.
    #[serde(with = "duration::serde_duration")]
    pub evaluation_interval: Duration,
    /// Labels describing this relay to the outside world (region, replica, ...). As in
    /// Prometheus they are not added to stored series (Prometheus adds them only to what leaves
    /// it: federation, remote write, alerts); the relay hands them to pages in
    /// `/api/v1/targets` (`data.externalLabels`).
    pub external_labels: BTreeMap<String, String>,
    /// Default `sample_limit` for every job (0: none).
    pub sample_limit: u64,
    /// Default `label_limit` for every job (0: none).
    pub label_limit: u64,
    /// Default `label_name_length_limit` for every job (0: none).
    pub label_name_length_limit: u64,
    /// Default `label_value_length_limit` for every job (0: none).
    pub label_value_length_limit: u64,
    /// Default `body_size_limit` for every job (0: the relay's own cap).
    #[serde(with = "duration::serde_bytes")]
    pub body_size_limit: u64,
    /// Default `target_limit` for every job (0: none).
    pub target_limit: u64,
    query_log_file: Option<IgnoredAny>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: Duration::from_secs(60),
            scrape_timeout: Duration::from_secs(10),
            evaluation_interval: Duration::from_secs(60),
            external_labels: BTreeMap::new(),
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            body_size_limit: 0,
            target_limit: 0,
            query_log_file: None,
        }
    }
}

/// One entry of `scrape_configs:` — a job.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// The job name: the `job` label of its targets unless relabeling changes it. Unique.
    pub job_name: String,
    /// How often to scrape this job's targets. Default: `global.scrape_interval`.
    #[serde(default, with = "duration::serde_opt_duration")]
    pub scrape_interval: Option<Duration>,
    /// How long one scrape may take; at most the interval. Default: `global.scrape_timeout`
    /// (capped to the interval).
    #[serde(default, with = "duration::serde_opt_duration")]
    pub scrape_timeout: Option<Duration>,
    /// The HTTP path of the metrics. Default `/metrics`.
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    /// `http` or `https`. Default `http`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// URL query parameters sent with every scrape; `__param_<name>` labels override them.
    #[serde(default)]
    pub params: BTreeMap<String, Vec<String>>,
    /// Keep the labels a target exposes when they clash with target labels (`job`,
    /// `instance`, ...), instead of renaming the target's to `exported_<name>`. Default false.
    #[serde(default)]
    pub honor_labels: bool,
    /// Use the timestamps a target exposes. Default true; false stamps every sample with the
    /// scrape's start time.
    #[serde(default = "yes")]
    pub honor_timestamps: bool,
    /// HTTP basic authentication sent with every scrape.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// The `Authorization` header sent with every scrape.
    #[serde(default)]
    pub authorization: Option<Authorization>,
    /// Deprecated form of `authorization: {credentials: ...}`.
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// Deprecated form of `authorization: {credentials_file: ...}`.
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    /// TLS settings of `https` scrapes: the CA to trust, a client certificate, the name to
    /// verify, the lowest protocol version.
    #[serde(default)]
    pub tls_config: Option<TlsConfig>,
    /// Targets written in the file.
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    /// Targets read from JSON or YAML files, re-read when they change.
    #[serde(default)]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Targets fetched from an HTTP endpoint (Prometheus's HTTP SD format).
    #[serde(default)]
    pub http_sd_configs: Vec<HttpSdConfig>,
    /// Targets from DNS names: SRV, A, AAAA, MX or NS records.
    #[serde(default)]
    pub dns_sd_configs: Vec<DnsSdConfig>,
    /// Rules applied to discovered targets before scraping (`__address__`, `__meta_*`, ...).
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    /// Rules applied to every scraped sample before it is stored.
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// More samples than this after metric relabeling fails the scrape. 0: no limit.
    #[serde(default)]
    pub sample_limit: Option<u64>,
    /// More labels than this on one sample fails the scrape. 0: no limit.
    #[serde(default)]
    pub label_limit: Option<u64>,
    /// A label name longer than this fails the scrape. 0: no limit.
    #[serde(default)]
    pub label_name_length_limit: Option<u64>,
    /// A label value longer than this fails the scrape. 0: no limit.
    #[serde(default)]
    pub label_value_length_limit: Option<u64>,
    /// An uncompressed body larger than this fails the scrape (`10MB`, `512KiB`, bytes).
    /// 0: the relay's own cap of 64 MiB.
    #[serde(default, with = "duration::serde_opt_bytes")]
    pub body_size_limit: Option<u64>,
    /// More targets than this after relabeling fails every target of the job. 0: no limit.
    #[serde(default)]
    pub target_limit: Option<u64>,
    #[serde(default)]
    kubernetes_sd_configs: Option<IgnoredAny>,
    #[serde(default)]
    consul_sd_configs: Option<IgnoredAny>,
    #[serde(default)]
    ec2_sd_configs: Option<IgnoredAny>,
    #[serde(default)]
    gce_sd_configs: Option<IgnoredAny>,
    #[serde(default)]
    azure_sd_configs: Option<IgnoredAny>,
    #[serde(default)]
    docker_sd_configs: Option<IgnoredAny>,
    #[serde(default)]
    dockerswarm_sd_configs: Option<IgnoredAny>,
    #[serde(default)]
    openstack_sd_configs: Option<IgnoredAny>,
    #[serde(default)]
    oauth2: Option<IgnoredAny>,
    #[serde(default)]
    proxy_url: Option<IgnoredAny>,
    #[serde(default)]
    follow_redirects: Option<IgnoredAny>,
    #[serde(default)]
    enable_http2: Option<IgnoredAny>,
}

fn zero() -> Duration {
    Duration::ZERO
}

fn default_metrics_path() -> String {
    "/metrics".to_owned()
}
fn default_scheme() -> String {
    "http".to_owned()
}
fn yes() -> bool {
    true
}

/// `basic_auth:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    pub username: String,
    /// The password; or use `password_file`.
    #[serde(default)]
    pub password: Option<String>,
    /// A file whose content (trailing newline trimmed) is the password, read at every scrape.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

/// `authorization:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme of the header. Default `Bearer`.
    #[serde(default = "default_auth_type", rename = "type")]
    pub kind: String,
    /// The credentials; or use `credentials_file`.
    #[serde(default)]
    pub credentials: Option<String>,
    /// A file whose content is the credentials, read at every scrape.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
}

fn default_auth_type() -> String {
    "Bearer".to_owned()
}

/// `tls_config:` — Prometheus's TLS settings, applied with rustls.
///
/// Differences a user may notice: TLS 1.0 and 1.1 are never spoken (rustls does not implement
/// them; `min_version: TLS10` or `TLS11` still allows 1.2 and 1.3), and `server_name` is the
/// name the certificate is verified against while the SNI sent is the target's host.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM CA certificates to trust instead of the system's.
    #[serde(default)]
    pub ca: Option<String>,
    /// A PEM file of CA certificates to trust instead of the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (with `key` or `key_file`) for servers that ask for one.
    #[serde(default)]
    pub cert: Option<String>,
    /// A PEM file of the client certificate (with `key` or `key_file`).
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[serde(default)]
    pub key: Option<String>,
    /// A PEM file of the private key of the client certificate.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Verify the server's certificate against this name instead of the target's host.
    #[serde(default)]
    pub server_name: Option<String>,
    /// Accept any server certificate. For tests and emergencies only.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// The lowest TLS version: `TLS10`, `TLS11`, `TLS12` (default) or `TLS13`.
    #[serde(default)]
    pub min_version: Option<String>,
    /// The highest TLS version: `TLS12` or `TLS13` (default).
    #[serde(default)]
    pub max_version: Option<String>,
}

/// `static_configs:` entry: a target group written in the file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` of each target (its `__address__`).
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels given to every target of the group.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `file_sd_configs:` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// Files to read: `.json`, `.yml` or `.yaml`; the last path element may hold `*` and `?`
    /// wildcards. Relative paths are relative to the config file.
    pub files: Vec<PathBuf>,
    /// How often the files are re-read even when no change was seen. Default `5m`; changes
    /// themselves are picked up within a second.
    #[serde(default = "five_minutes", with = "duration::serde_duration")]
    pub refresh_interval: Duration,
}

/// `http_sd_configs:` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSdConfig {
    /// The endpoint returning target groups as JSON (Prometheus's HTTP SD format).
    pub url: String,
    /// How often it is fetched. Default `1m`.
    #[serde(default = "one_minute", with = "duration::serde_duration")]
    pub refresh_interval: Duration,
}

/// `dns_sd_configs:` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSdConfig {
    /// DNS names to resolve.
    pub names: Vec<String>,
    /// `SRV` (default), `A`, `AAAA`, `MX` or `NS`.
    #[serde(default = "default_dns_type", rename = "type")]
    pub kind: String,
    /// The port of the targets (required for all types but SRV, whose records carry one).
    #[serde(default)]
    pub port: Option<u16>,
    /// How often the names are resolved. Default `30s`.
    #[serde(default = "thirty_seconds", with = "duration::serde_duration")]
    pub refresh_interval: Duration,
}

fn default_dns_type() -> String {
    "SRV".to_owned()
}
fn five_minutes() -> Duration {
    Duration::from_secs(300)
}
fn one_minute() -> Duration {
    Duration::from_secs(60)
}
fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

/// Limits of one job, with the global defaults applied (0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub sample_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub body_size_limit: u64,
    pub target_limit: u64,
}

impl ScrapeConfig {
    /// A job with Prometheus's defaults and no targets.
    pub fn new(job_name: impl Into<String>) -> Self {
        ScrapeConfig {
            job_name: job_name.into(),
            scrape_interval: None,
            scrape_timeout: None,
            metrics_path: default_metrics_path(),
            scheme: default_scheme(),
            params: BTreeMap::new(),
            honor_labels: false,
            honor_timestamps: true,
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            tls_config: None,
            static_configs: Vec::new(),
            file_sd_configs: Vec::new(),
            http_sd_configs: Vec::new(),
            dns_sd_configs: Vec::new(),
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
            sample_limit: None,
            label_limit: None,
            label_name_length_limit: None,
            label_value_length_limit: None,
            body_size_limit: None,
            target_limit: None,
            kubernetes_sd_configs: None,
            consul_sd_configs: None,
            ec2_sd_configs: None,
            gce_sd_configs: None,
            azure_sd_configs: None,
            docker_sd_configs: None,
            dockerswarm_sd_configs: None,
            openstack_sd_configs: None,
            oauth2: None,
            proxy_url: None,
            follow_redirects: None,
            enable_http2: None,
        }
    }

    /// The job's limits, its own or else the global ones.
    pub fn limits(&self, global: &GlobalConfig) -> Limits {
        Limits {
            sample_limit: self.sample_limit.unwrap_or(global.sample_limit),
            label_limit: self.label_limit.unwrap_or(global.label_limit),
            label_name_length_limit: self
                .label_name_length_limit
                .unwrap_or(global.label_name_length_limit),
            label_value_length_limit: self
                .label_value_length_limit
                .unwrap_or(global.label_value_length_limit),
            body_size_limit: self.body_size_limit.unwrap_or(global.body_size_limit),
            target_limit: self.target_limit.unwrap_or(global.target_limit),
        }
    }

    /// The job's interval and timeout with the global defaults applied, as Prometheus does: an
    /// unset timeout is the global one capped to the job's interval.
    pub fn interval_and_timeout(&self, global: &GlobalConfig) -> (Duration, Duration) {
        let interval = self.scrape_interval.unwrap_or(global.scrape_interval);
        let timeout = match self.scrape_timeout {
            Some(t) => t,
            None => global.scrape_timeout.min(interval),
        };
        (interval, timeout)
    }
}

/// What was wrong with a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, when the config came from one.
    pub file: Option<PathBuf>,
    /// 1-based line and column, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The path of the offending field, e.g. `scrape_configs[1].scrape_timeout`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.column {
                    write!(f, ":{col}")?;
                }
            }
            f.write_str(": ")?;
        } else if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads and validates a file. Relative `file_sd_configs` paths become relative to it.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: Some(path.to_owned()),
            line: None,
            column: None,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        let with_file = |mut e: ConfigError| {
            e.file = Some(path.to_owned());
            e
        };
        let mut config = Config::parse_unchecked(&text).map_err(with_file)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for job in &mut config.scrape_configs {
            // Prometheus resolves TLS files (and secret files) relative to the config file too.
            if let Some(t) = &mut job.tls_config {
                for f in [&mut t.ca_file, &mut t.cert_file, &mut t.key_file]
                    .into_iter()
                    .flatten()
                {
                    if f.is_relative() {
                        *f = base.join(&*f);
                    }
                }
            }
            for sd in &mut job.file_sd_configs {
                for f in &mut sd.files {
                    if f.is_relative() {
                        *f = base.join(&*f);
                    }
                }
            }
        }
        config.check_tls(&text).map_err(with_file)?;
        Ok(config)
    }

    /// Parses and validates YAML text; TLS files are read relative to the current directory.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config = Config::parse_unchecked(text)?;
        config.check_tls(text)?;
        Ok(config)
    }

    /// Every job's TLS settings build a client: files readable, PEM valid, key matching.
    /// Checked at load so that a bad file keeps a running relay on its old config.
    fn check_tls(&self, text: &str) -> Result<(), ConfigError> {
        for (i, job) in self.scrape_configs.iter().enumerate() {
            if let Some(t) = &job.tls_config {
                crate::tls::client_config(t).map_err(|e| ConfigError {
                    file: None,
                    line: find_line_after(
                        text,
                        &format!("job_name: {}", job.job_name),
                        "tls_config:",
                    ),
                    column: None,
                    field: format!("scrape_configs[{i}].tls_config{}", e.field),
                    message: e.message,
                })?;
            }
        }
        Ok(())
    }

    fn parse_unchecked(text: &str) -> Result<Config, ConfigError> {
        let config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| yaml_error(&e))?
        };
        let mut config = config;
        // An unset global timeout is 10s, or the interval when that is shorter (Prometheus).
        let g = &mut config.global;
        if g.scrape_timeout.is_zero() {
            g.scrape_timeout = GlobalConfig::default()
                .scrape_timeout
                .min(g.scrape_interval);
        }
        config.validate(text)?;
        Ok(config)
    }

    fn validate(&self, text: &str) -> Result<(), ConfigError> {
        let g = &self.global;
        if g.scrape_timeout > g.scrape_interval {
            return Err(ConfigError {
                file: None,
                line: find_line(text, "scrape_timeout:"),
                column: None,
                field: "global.scrape_timeout".into(),
                message: "global scrape timeout greater than scrape interval".into(),
            });
        }
        // Prometheus 3 takes any UTF-8 label name; only an empty one is refused by both.
        if g.external_labels.contains_key("") {
            return Err(ConfigError {
                file: None,
                line: find_line(text, "external_labels"),
                column: None,
                field: "global.external_labels".into(),
                message: "\"\" is not a valid label name".into(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for (i, job) in self.scrape_configs.iter().enumerate() {
            let err = |field: &str, message: String| ConfigError {
                file: None,
                line: find_line(text, &format!("job_name: {}", job.job_name))
                    .or_else(|| find_line(text, &job.job_name)),
                column: None,
                field: format!("scrape_configs[{i}]{field}"),
                message,
            };
            if job.job_name.is_empty() {
                return Err(err(".job_name", "job_name is empty".into()));
            }
            if !seen.insert(job.job_name.as_str()) {
                return Err(err(
                    ".job_name",
                    format!(
                        "found multiple scrape configs with job name {:?}",
                        job.job_name
                    ),
                ));
            }
            let (interval, timeout) = job.interval_and_timeout(g);
            if timeout > interval {
                return Err(err(
                    ".scrape_timeout",
                    format!(
                        "scrape timeout greater than scrape interval for scrape config with job name {:?}",
                        job.job_name
                    ),
                ));
            }
            if interval.is_zero() {
                return Err(err(".scrape_interval", "must be greater than 0".into()));
            }
            if job.scheme != "http" && job.scheme != "https" {
                return Err(err(
                    ".scheme",
                    format!("unknown scheme {:?}: expected http or https", job.scheme),
                ));
            }
            let bearer = job.bearer_token.is_some() || job.bearer_token_file.is_some();
            if [
                job.basic_auth.is_some(),
                job.authorization.is_some(),
                bearer,
            ]
            .iter()
            .filter(|b| **b)
            .count()
                > 1
            {
                return Err(err(
                    "",
                    "at most one of basic_auth, authorization and bearer_token & bearer_token_file must be configured".into(),
                ));
            }
            if let Some(a) = &job.authorization
                && a.credentials.is_some()
                && a.credentials_file.is_some()
            {
                return Err(err(
                    ".authorization",
                    "at most one of credentials and credentials_file must be configured".into(),
                ));
            }
            if let Some(b) = &job.basic_auth
                && b.password.is_some()
                && b.password_file.is_some()
            {
                return Err(err(
                    ".basic_auth",
                    "at most one of password and password_file must be configured".into(),
                ));
            }
            for (k, rules) in [
                ("relabel_configs", &job.relabel_configs),
                ("metric_relabel_configs", &job.metric_relabel_configs),
            ] {
                for (j, r) in rules.iter().enumerate() {
                    r.validate().map_err(|m| err(&format!(".{k}[{j}]"), m))?;
                }
            }
            for (j, sd) in job.dns_sd_configs.iter().enumerate() {
                if sd.names.is_empty() {
                    return Err(err(
                        &format!(".dns_sd_configs[{j}].names"),
                        "DNS-SD config must contain at least one SRV record name".into(),
                    ));
                }
                match sd.kind.as_str() {
                    "A" | "AAAA" | "MX" | "NS" if sd.port.is_none() => {
                        return Err(err(
                            &format!(".dns_sd_configs[{j}].port"),
                            "a port is required in DNS-SD configs for all record types except SRV"
                                .into(),
                        ));
                    }
                    "A" | "AAAA" | "SRV" | "MX" | "NS" => {}
                    other => {
                        return Err(err(
                            &format!(".dns_sd_configs[{j}].type"),
                            format!("invalid DNS-SD records type {other:?}"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Sections and fields that were given but that the relay does not implement, as
    /// `path` strings for one start-up warning. Empty when everything given is supported.
    pub fn unsupported(&self) -> Vec<String> {
        let mut out = Vec::new();
        let top = [
            ("rule_files", self.rule_files.is_some()),
            ("alerting", self.alerting.is_some()),
            ("remote_write", self.remote_write.is_some()),
            ("remote_read", self.remote_read.is_some()),
            ("storage", self.storage.is_some()),
            ("tracing", self.tracing.is_some()),
            ("scrape_config_files", self.scrape_config_files.is_some()),
            (
                "global.query_log_file",
                self.global.query_log_file.is_some(),
            ),
        ];
        out.extend(
            top.iter()
                .filter(|(_, on)| *on)
                .map(|(n, _)| (*n).to_owned()),
        );
        for job in &self.scrape_configs {
            let fields = [
                ("kubernetes_sd_configs", job.kubernetes_sd_configs.is_some()),
                ("consul_sd_configs", job.consul_sd_configs.is_some()),
                ("ec2_sd_configs", job.ec2_sd_configs.is_some()),
                ("gce_sd_configs", job.gce_sd_configs.is_some()),
                ("azure_sd_configs", job.azure_sd_configs.is_some()),
                ("docker_sd_configs", job.docker_sd_configs.is_some()),
                (
                    "dockerswarm_sd_configs",
                    job.dockerswarm_sd_configs.is_some(),
                ),
                ("openstack_sd_configs", job.openstack_sd_configs.is_some()),
                ("oauth2", job.oauth2.is_some()),
                ("proxy_url", job.proxy_url.is_some()),
                ("follow_redirects", job.follow_redirects.is_some()),
                ("enable_http2", job.enable_http2.is_some()),
            ];
            out.extend(
                fields
                    .iter()
                    .filter(|(_, on)| *on)
                    .map(|(n, _)| format!("scrape_configs[{}].{n}", job.job_name)),
            );
        }
        out
    }
}

/// The 1-based line of the first line containing `needle` after the first containing `after`.
fn find_line_after(text: &str, after: &str, needle: &str) -> Option<usize> {
    let start = find_line(text, after).unwrap_or(1);
    text.lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .or_else(|| find_line(text, needle))
}

/// The 1-based line of the first line containing `needle`.
fn find_line(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

fn yaml_error(e: &serde_yaml_ng::Error) -> ConfigError {
    let full = e.to_string();
    let (line, column) = match e.location() {
        Some(l) => (Some(l.line()), Some(l.column())),
        None => (None, None),
    };
    // The YAML library writes "path: message at line L column C"; the location is kept apart.
    let msg = match full.rfind(" at line ") {
        Some(i) if line.is_some() => &full[..i],
        _ => full.as_str(),
    };
    let (field, message) = match msg.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') && (path.contains('.') || path.contains('[')) => {
            (path.to_owned(), rest.to_owned())
        }
        _ => (String::new(), msg.to_owned()),
    };
    ConfigError {
        file: None,
        line,
        column,
        field,
        message,
    }
}

#[cfg(test)]
mod tests;
