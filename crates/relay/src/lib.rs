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

pub mod demo;
mod http;
mod hub;
mod scrape;
mod stream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;

pub use hub::Hub;
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
    /// How often each target is scraped.
    pub scrape_interval: Duration,
    /// How long one scrape may take.
    pub scrape_timeout: Duration,
    /// How much recent data the relay keeps for pages that subscribe.
    pub retention: Duration,
}

impl RelayConfig {
    /// The embedded demo on the default address.
    pub fn demo() -> Self {
        RelayConfig { demo: true, ..RelayConfig::default() }
    }
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8420)),
            dist: None,
            targets: Vec::new(),
            demo: false,
            scrape_interval: Duration::from_secs(15),
            scrape_timeout: Duration::from_secs(10),
            retention: Duration::from_secs(3 * 3600),
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
    /// Binds the listener, starts the demo fleet if asked, and starts scraping.
    pub async fn start(config: RelayConfig) -> anyhow::Result<Relay> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let hub = Arc::new(Hub::new(config.retention));
        let mut tasks = Vec::new();
        let mut targets = config.targets.clone();
        if config.demo {
            let (demo_targets, demo_tasks) = demo::start_fleet().await?;
            targets.extend(demo_targets);
            tasks.extend(demo_tasks);
        }
        // The relay watches itself like any other target.
        targets.push(ScrapeTarget::new("lookout", format!("http://{addr}/metrics")));
        for target in targets {
            tasks.push(scrape::spawn(hub.clone(), target, config.scrape_interval, config.scrape_timeout));
        }
        let app = http::router(hub.clone(), config.dist.clone());
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
