//! A stream client for tests: a real WebSocket driving `lookout_wire::Session` the way the page
//! does, keeping every sample it receives so tests can compare it with the relay's window; and
//! a scrape target whose counter goes up by one on every scrape, so lost or doubled scrapes show.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use lookout_wire::{Event, Frame, MatcherSpec, MetricMetadata, Reply, Request, Session};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket to `url`, with an `Origin` header when given (as a browser would send).
pub async fn open(url: &str, origin: Option<&str>) -> anyhow::Result<Socket> {
    let mut req = url.into_client_request()?;
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse()?);
    }
    Ok(tokio_tungstenite::connect_async(req).await?.0)
}

/// How a connection ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Closed {
        code: u16,
        reason: String,
    },
    /// The TCP connection went away without a close frame.
    Dropped,
}

/// Everything one page-like client has received.
#[derive(Debug, Default)]
pub struct Client {
    pub session: Session,
    /// Samples by series (labels as text), timestamp -> value bits.
    pub samples: BTreeMap<String, BTreeMap<i64, u64>>,
    /// The same timestamp arrived twice with different values (must stay 0).
    pub conflicts: usize,
    /// Resync reasons the relay sent.
    pub resyncs: Vec<String>,
    /// Refusals the relay sent.
    pub refusals: Vec<String>,
    pub welcomes: usize,
    /// Latest target health, as `(instance, up)`.
    pub targets: Vec<(String, bool)>,
    /// (ms between a sample's timestamp and its arrival) of live samples.
    pub arrival_lag_ms: Vec<i64>,
    /// Metric metadata that came with series definitions, by family.
    pub metadata: BTreeMap<String, MetricMetadata>,
    /// Replies to requests, by request id.
    pub replies: BTreeMap<u32, Reply>,
    refs: HashMap<(u32, u32), String>,
    ws: Option<Socket>,
}

impl Client {
    pub fn new(token: Option<&str>) -> Self {
        Client {
            session: Session::new(token.map(str::to_owned)),
            ..Client::default()
        }
    }

    /// Subscribes (sent on the next connect).
    pub fn subscribe(&mut self, matchers: Vec<MatcherSpec>, start: i64) -> u32 {
        self.session.subscribe(matchers, start)
    }

    /// Opens a connection and sends the hello and subscriptions with their resume points.
    pub async fn connect(&mut self, url: &str) -> anyhow::Result<()> {
        let mut ws = open(url, None).await?;
        self.refs.clear();
        for f in self.session.connect_frames() {
            ws.send(Message::Binary(f.encode().into())).await?;
        }
        self.ws = Some(ws);
        Ok(())
    }

    /// Asks the relay something and reads (keeping whatever else arrives) until the answer.
    pub async fn request(&mut self, request: Request) -> anyhow::Result<Reply> {
        let (id, frame) = self.session.request(request);
        let Some(ws) = self.ws.as_mut() else {
            anyhow::bail!("not connected")
        };
        ws.send(Message::Binary(frame.encode().into())).await?;
        if let Some(end) = self
            .run_until(Duration::from_secs(10), |c| c.replies.contains_key(&id))
            .await?
        {
            anyhow::bail!("the connection ended before the reply: {end:?}");
        }
        self.replies
            .remove(&id)
            .ok_or_else(|| anyhow::anyhow!("no reply to request {id}"))
    }

    /// Forgets the connection without a close (a dropped network, from this side).
    pub fn drop_connection(&mut self) {
        self.ws = None;
    }

    /// Reads frames until `done` holds, the timeout passes (an error), or the connection ends.
    pub async fn run_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&Client) -> bool,
    ) -> anyhow::Result<Option<Ended>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done(self) {
                return Ok(None);
            }
            let Some(ws) = self.ws.as_mut() else {
                anyhow::bail!("not connected")
            };
            let msg = match tokio::time::timeout_at(deadline, ws.next()).await {
                Err(_) => anyhow::bail!("timed out after {timeout:?}"),
                Ok(m) => m,
            };
            let bytes = match msg {
                Some(Ok(Message::Binary(b))) => b,
                Some(Ok(Message::Close(c))) => {
                    self.ws = None;
                    return Ok(Some(match c {
                        Some(c) => Ended::Closed {
                            code: u16::from(c.code),
                            reason: c.reason.to_string(),
                        },
                        None => Ended::Closed {
                            code: u16::from(CloseCode::Status),
                            reason: String::new(),
                        },
                    }));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    self.ws = None;
                    return Ok(Some(Ended::Dropped));
                }
            };
            let frame = Frame::decode(&bytes)?;
            match self.session.apply(frame)? {
                Some(Event::Welcome { .. }) => self.welcomes += 1,
                Some(Event::Refused(r)) => self.refusals.push(r),
                Some(Event::Resync { reason, .. }) => self.resyncs.push(reason),
                Some(Event::Series {
                    sub,
                    defs,
                    metadata,
                }) => {
                    for d in defs {
                        self.refs.insert((sub, d.series), d.labels.to_string());
                    }
                    for m in metadata {
                        self.metadata.insert(m.metric.clone(), m);
                    }
                }
                Some(Event::Reply { id, reply }) => {
                    self.replies.insert(id, reply);
                }
                Some(Event::Samples { sub, batch }) => {
                    let now = now_ms();
                    for (r, t, v) in batch.iter() {
                        let Some(name) = self.refs.get(&(sub, r)) else {
                            anyhow::bail!("sample for series {r} before its definition");
                        };
                        let series = self.samples.entry(name.clone()).or_default();
                        if series
                            .insert(t, v.to_bits())
                            .is_some_and(|old| old != v.to_bits())
                        {
                            self.conflicts += 1;
                        }
                        self.arrival_lag_ms.push(now - t);
                    }
                }
                Some(Event::Targets(t)) => {
                    self.targets = t
                        .iter()
                        .map(|t| (t.instance().to_owned(), t.up()))
                        .collect();
                }
                Some(_) | None => {}
            }
        }
    }

    /// Samples of the one series whose labels contain `needle`.
    pub fn series(&self, needle: &str) -> BTreeMap<i64, u64> {
        self.samples
            .iter()
            .filter(|(k, _)| k.contains(needle))
            .flat_map(|(_, v)| v.iter().map(|(t, v)| (*t, *v)))
            .collect()
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A `/metrics` endpoint whose `e2e_scrapes_total` is 1 on the first scrape, 2 on the second...
#[derive(Debug)]
pub struct CountingTarget {
    pub addr: SocketAddr,
    served: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingTarget {
    pub async fn start() -> anyhow::Result<CountingTarget> {
        let served = Arc::new(AtomicU64::new(0));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route(
                "/metrics",
                get(|State(n): State<Arc<AtomicU64>>| async move {
                    let v = n.fetch_add(1, Ordering::SeqCst) + 1;
                    format!("# TYPE e2e_scrapes_total counter\ne2e_scrapes_total {v}\n")
                }),
            )
            .with_state(served.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CountingTarget { addr, served, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// How many scrapes it has answered.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for CountingTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A `/metrics` endpoint with `n` gauges whose values change on every scrape (float noise the
/// wire cannot compress well): a heavy stream for slow-page tests.
#[derive(Debug)]
pub struct WideTarget {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl WideTarget {
    pub async fn start(n: usize) -> anyhow::Result<WideTarget> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let counter = Arc::new(AtomicU64::new(0));
        let app = Router::new()
            .route(
                "/metrics",
                get(move |State(k): State<Arc<AtomicU64>>| async move {
                    let k = k.fetch_add(1, Ordering::SeqCst);
                    let mut body = String::with_capacity(n * 40);
                    for i in 0..n {
                        let v = ((k * 7919 + i as u64) as f64 * 0.618).sin() * 1e3;
                        body.push_str(&format!("e2e_wide{{i=\"{i}\"}} {v}\n"));
                    }
                    body
                }),
            )
            .with_state(counter);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(WideTarget { addr, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }
}

impl Drop for WideTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Opens a WebSocket whose socket buffers are small, so a client that stops reading is felt by
/// the relay after kilobytes rather than megabytes.
pub async fn open_small_buffer(url: &str) -> anyhow::Result<Socket> {
    let req = url.into_client_request()?;
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let addr: SocketAddr = host.parse()?;
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.set_recv_buffer_size(4096)?;
    let tcp = sock.connect(addr).await?;
    Ok(
        tokio_tungstenite::client_async(req, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
            .await?
            .0,
    )
}

/// Builds the `lookout` binary (tests of another package cannot ask cargo for it directly) and
/// returns its path.
pub fn lookout_binary() -> anyhow::Result<std::path::PathBuf> {
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "lookout-relay",
            "--bin",
            "lookout",
        ])
        .status()?;
    anyhow::ensure!(status.success(), "building lookout failed");
    // target/<profile>/deps/<test>-<hash> -> target/<profile>/lookout
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .ok_or_else(|| anyhow::anyhow!("unexpected test binary path {}", exe.display()))?;
    Ok(dir.join("lookout"))
}

/// Starts a `lookout` process on `port` scraping `target` every 100 ms (killed when dropped).
pub fn spawn_lookout(
    bin: &std::path::Path,
    port: u16,
    target: &str,
    extra: &[&str],
) -> anyhow::Result<tokio::process::Child> {
    Ok(tokio::process::Command::new(bin)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--target",
            &format!("count={target}"),
            "--scrape-interval",
            "100ms",
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?)
}
