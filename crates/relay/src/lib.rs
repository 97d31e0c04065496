//! `lookout-relay`: scrapes `/metrics` targets into a window of recent data and streams it to
//! every open page over WebSockets, in the frames of `lookout-wire`.
//!
//! The binary `lookout` is a thin command line over [`Relay::start`]; tests start relays in
//! process the same way:
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let relay = lookout_relay::Relay::start(lookout_relay::RelayConfig::demo()).await?;
//! println!("open http://{}/", relay.local_addr());
//! relay.wait().await;
//! # Ok(()) }
//! ```

pub mod config;
pub mod dashboards;
pub mod demo;
pub mod discovery;
mod http;
mod hub;
pub mod metadata;
pub mod relabel;
pub mod scrape;
pub mod stream;
pub mod tail;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;

pub use config::{Config, ConfigError};
pub use hub::Hub;
use scrape::manager::ScrapeManager;
pub use scrape::{ScrapeTarget, TargetState};

/// What a relay serves and scrapes.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Address to listen on for the app, the API and the WebSocket.
    pub listen: SocketAddr,
    /// Directory of the built app (`dist/`); without it only the API is served.
    pub dist: Option<PathBuf>,
    /// Targets to scrape.
    pub targets: Vec<ScrapeTarget>,
    /// Run the embedded demo fleet and scrape it.
    pub demo: bool,
    /// Instances of each demo service (1: the five services, ~220 series; 46: ~10k series).
    pub demo_replicas: usize,
    /// How often each target is scraped.
    pub scrape_interval: Duration,
    /// How long one scrape may take.
    pub scrape_timeout: Duration,
    /// How much recent data the relay keeps for pages that subscribe.
    pub retention: Duration,
    /// A Prometheus configuration file (`prometheus.yml`): its `global` and `scrape_configs`.
    /// Re-read on SIGHUP and `POST /-/reload`; `targets` and the demo are scraped besides it.
    pub config_file: Option<PathBuf>,
    /// Who may open the stream (Origin allow-list, tokens) and its per-connection limits.
    pub stream: stream::StreamSettings,
    /// DNS servers for `dns_sd_configs`; empty: the system's (`/etc/resolv.conf`).
    pub dns_servers: Vec<SocketAddr>,
    /// Origins (`scheme://host[:port]`) whose pages may embed Lookout: they may frame `/embed`
    /// (`Content-Security-Policy: frame-ancestors`), load the app's files across origins (CORS)
    /// and open the stream. `*` admits any. Every other page keeps `frame-ancestors 'self'`.
    pub embed_origins: Vec<String>,
}

impl RelayConfig {
    /// The embedded demo on the default address.
    pub fn demo() -> Self {
        RelayConfig {
            demo: true,
            ..RelayConfig::default()
        }
    }
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8420)),
            dist: None,
            targets: Vec::new(),
            demo: false,
            demo_replicas: 1,
            scrape_interval: Duration::from_secs(15),
            scrape_timeout: Duration::from_secs(10),
            retention: Duration::from_secs(3 * 3600),
            config_file: None,
            stream: stream::StreamSettings::default(),
            dns_servers: Vec::new(),
            embed_origins: Vec::new(),
        }
    }
}

/// A running relay.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    hub: Arc<Hub>,
    tasks: Vec<JoinHandle<()>>,
}

impl Relay {
    /// Binds the listener, starts the demo fleet if asked, reads the config file if given,
    /// and starts scraping. An invalid config file is an error here (and only a logged one on
    /// reload, where the running config stays).
    pub async fn start(config: RelayConfig) -> anyhow::Result<Relay> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        for o in &config.embed_origins {
            http::check_origin(o).with_context(|| format!("embed origin {o:?}"))?;
        }
        // A page that may embed may also open the stream.
        let mut stream = config.stream.clone();
        for o in &config.embed_origins {
            if !stream.allowed_origins.contains(o) {
                stream.allowed_origins.push(o.clone());
            }
        }
        let hub = Arc::new(Hub::with_stream(config.retention, stream));
        let mut tasks = Vec::new();
        let mut targets = config.targets.clone();
        if config.demo {
            let (demo_targets, demo_tasks) = demo::start_fleet_scaled(config.demo_replicas).await?;
            targets.extend(demo_targets);
            tasks.extend(demo_tasks);
        }
        // The relay watches itself like any other target.
        targets.push(ScrapeTarget::new(
            "lookout",
            format!("http://{addr}/metrics"),
        ));
        let (manager, manager_task) = ScrapeManager::start(
            hub.clone(),
            discovery::DiscoveryOptions {
                dns_servers: config.dns_servers.clone(),
            },
        );
        tasks.push(manager_task);
        let control = Arc::new(ConfigControl {
            manager,
            file: config.config_file.clone(),
            flag_targets: targets,
            interval: config.scrape_interval,
            timeout: config.scrape_timeout,
            reloads: tokio::sync::Mutex::new(()),
            external_labels: std::sync::Mutex::new(Default::default()),
        });
        control.reload().await?;
        #[cfg(unix)]
        if control.file.is_some() {
            let c = control.clone();
            tasks.push(tokio::spawn(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let Ok(mut hup) = signal(SignalKind::hangup()) else {
                    tracing::warn!("cannot listen for SIGHUP: reload with POST /-/reload");
                    return;
                };
                while hup.recv().await.is_some() {
                    match c.reload().await {
                        Ok(()) => tracing::info!("configuration reloaded (SIGHUP)"),
                        Err(e) => tracing::error!("reload failed, keeping the old config: {e}"),
                    }
                }
            }));
        }
        let app = http::router(
            hub.clone(),
            config.dist.clone(),
            control,
            config.embed_origins.clone(),
        );
        tasks.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("HTTP server stopped: {e}");
            }
        }));
        Ok(Relay { addr, hub, tasks })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Runs until every task ends (in practice: until the process is stopped).
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Stops serving and scraping.
    pub fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What the relay scrapes, and how to re-read it.
#[derive(Debug)]
pub(crate) struct ConfigControl {
    manager: ScrapeManager,
    file: Option<PathBuf>,
    /// `--target`s, the demo fleet and the relay itself, scraped besides the file's jobs.
    flag_targets: Vec<ScrapeTarget>,
    interval: Duration,
    timeout: Duration,
    /// One reload at a time.
    reloads: tokio::sync::Mutex<()>,
    /// `global.external_labels` of the running config. As in Prometheus they describe the relay
    /// to the outside and are never added to stored series; pages read them from
    /// `/api/v1/targets` (`data.externalLabels`).
    external_labels: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

impl ConfigControl {
    /// Reads the file (if any) and switches to it; on error the running config stays.
    pub(crate) async fn reload(&self) -> Result<(), ConfigError> {
        let _one = self.reloads.lock().await;
        let config = self.effective()?;
        let unsupported = config.unsupported();
        if !unsupported.is_empty() {
            tracing::warn!(
                "the configuration uses what the relay does not implement yet, ignored: {}",
                unsupported.join(", ")
            );
        }
        let external = config.global.external_labels.clone();
        self.manager.apply(config).await;
        *self
            .external_labels
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = external;
        Ok(())
    }

    /// `global.external_labels` of the running config.
    pub(crate) fn external_labels(&self) -> std::collections::BTreeMap<String, String> {
        self.external_labels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn effective(&self) -> Result<Config, ConfigError> {
        let mut config = match &self.file {
            Some(f) => Config::load(f)?,
            None => {
                let mut c = Config::default();
                c.global.scrape_interval = self.interval;
                c.global.scrape_timeout = self.timeout.min(self.interval);
                c
            }
        };
        // Command-line targets join a job of their name: the URL's scheme, path and query
        // travel as the group's `__scheme__`, `__metrics_path__` and `__param_*` labels.
        for t in &self.flag_targets {
            let one = t.to_scrape_config(self.interval, self.timeout);
            let mut labels = std::collections::BTreeMap::new();
            labels.insert("__scheme__".to_owned(), one.scheme.clone());
            labels.insert("__metrics_path__".to_owned(), one.metrics_path.clone());
            for (k, v) in &one.params {
                if let Some(v) = v.first() {
                    labels.insert(format!("__param_{k}"), v.clone());
                }
            }
            let group = config::StaticConfig {
                targets: vec![t.instance.clone()],
                labels,
            };
            match config
                .scrape_configs
                .iter_mut()
                .find(|c| c.job_name == t.job)
            {
                Some(job)
                    if job
                        .static_configs
                        .iter()
                        .all(|g| g.labels.contains_key("__scheme__")) =>
                {
                    job.static_configs.push(group)
                }
                // A file job of the same name wins over a command-line target.
                Some(_) => tracing::warn!(
                    "job {:?} is in the config file; target {} not added",
                    t.job,
                    t.url
                ),
                None => {
                    let mut job = config::ScrapeConfig::new(t.job.clone());
                    job.scrape_interval = Some(self.interval);
                    job.scrape_timeout = Some(self.timeout.min(self.interval));
                    job.static_configs.push(group);
                    config.scrape_configs.push(job);
                }
            }
        }
        Ok(config)
    }
}
