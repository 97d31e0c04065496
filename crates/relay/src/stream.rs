//! One WebSocket connection: access checks (Origin, token), subscriptions, their history from
//! the window or a replay of what a resuming page missed, then live batches coded per
//! subscription.
//!
//! A connection is two tasks: this one reads the page and the live feed and never waits on the
//! page; a writer drains a bounded queue into the socket. When the queue is full the page is not
//! keeping up: it is closed with 1013 and a reason, and resumes from its last batch when it
//! reconnects. Other pages never wait for it, and the relay never skips a batch silently.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use lookout_tsdb::{Matcher, SeriesId};
use lookout_wire::{
    BlockEncoder, ChunkData, Frame, HistoryChunk, MetricMetadata, PROTOCOL_VERSION, Reply,
    ReplyErrorKind, Request, Resume, SampleBatch, SeriesDef, TargetHealth, TimeColumn,
};
use tokio::sync::{broadcast::error::RecvError, mpsc, oneshot};
use tokio::time::Instant;

use crate::dashboards::{Provisioned, Scope, Token};
use crate::hub::{Hub, Replay, ScrapeBatch};
use crate::scrape::{Health, now_ms};

/// Who may connect and how much each connection may take.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// Origins (`scheme://host:port`) whose pages may connect; `*` allows any. Empty: only the
    /// relay's own origin. Requests without an Origin header (not from a browser) are allowed.
    pub allowed_origins: Vec<String>,
    /// Bearer tokens a page must present in its hello; empty: no token needed. A token may be
    /// scoped to provisioned dashboards (`crate::dashboards`).
    pub tokens: Vec<Token>,
    /// Dashboards provisioned from `--dashboards`: served at `/api/v1/dashboards`, and what
    /// scoped tokens may read.
    pub dashboards: Vec<Arc<Provisioned>>,
    pub max_connections: usize,
    pub max_subscriptions: usize,
    /// Series all subscriptions of one connection may select together.
    pub max_series_per_connection: usize,
    /// Largest message a page may send; larger closes the connection with 1009.
    pub max_message_bytes: usize,
    /// Bytes of frames queued for one page before it counts as not keeping up.
    pub send_queue_bytes: usize,
    pub ping_interval: Duration,
    /// A page silent this long (not even a pong) is closed.
    pub idle_timeout: Duration,
    /// How long one queued frame may take to reach the socket.
    pub send_timeout: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            allowed_origins: Vec::new(),
            tokens: Vec::new(),
            dashboards: Vec::new(),
            max_connections: 4096,
            max_subscriptions: 64,
            max_series_per_connection: 200_000,
            max_message_bytes: 64 << 10,
            send_queue_bytes: 2 << 20,
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(30),
        }
    }
}

/// Close codes (RFC 6455 §7.4.1).
mod code {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL: u16 = 1002;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// Why a connection ends: a close code and a reason the page can show.
#[derive(Debug)]
struct Close {
    code: u16,
    reason: String,
    /// Also say it in a `Refused` frame (for refusals the page should not retry blindly).
    refuse: bool,
    /// The protocol version the refusal is written in: the page's, so it can read it.
    version: u16,
}

impl Close {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Close {
            code,
            reason: reason.into(),
            refuse: false,
            version: PROTOCOL_VERSION,
        }
    }
    fn refused(code: u16, reason: impl Into<String>) -> Self {
        Close {
            refuse: true,
            ..Close::new(code, reason)
        }
    }
}

/// Most bytes of chunks put in one history frame.
const HISTORY_FRAME_BYTES: usize = 1 << 20;

/// `GET /api/v1/stream`: checks the Origin, then upgrades.
pub(crate) async fn upgrade(ws: WebSocketUpgrade, headers: HeaderMap, hub: Arc<Hub>) -> Response {
    if let Err(why) = origin_allowed(&headers, &hub.stream.allowed_origins) {
        tracing::warn!("refused a WebSocket: {why}");
        return (StatusCode::FORBIDDEN, format!("{why}\n")).into_response();
    }
    let limit = hub.stream.max_message_bytes;
    // A page sends a few small frames: a small read buffer (tungstenite's default is 128 KiB)
    // keeps a thousand idle connections cheap. Frames are written through, not batched.
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(limit.min(4 << 10))
        .write_buffer_size(0)
        .on_upgrade(move |socket| serve(socket, hub))
}

/// Cross-site WebSocket hijacking is stopped here: browsers always send `Origin`, and a page
/// from an origin not on the list (by default: any but the relay's own) is refused.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return Ok(());
    }
    // The relay's own pages, whatever else is allowed.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or("", |(_, rest)| rest.trim_end_matches('/'));
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        return Ok(());
    }
    Err(format!(
        "origin {origin:?} may not connect to this relay (allowed: the relay's own origin{})",
        if allowed.is_empty() {
            String::new()
        } else {
            format!(", {}", allowed.join(", "))
        }
    ))
}

/// The token `given` is, if any. Compares every token without stopping at the first
/// difference, so timing says nothing about the tokens.
fn find_token<'a>(given: &str, tokens: &'a [Token]) -> Option<&'a Token> {
    tokens.iter().fold(None, |found, t| {
        let eq = t.secret.len() == given.len()
            && t.secret
                .bytes()
                .zip(given.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if eq { Some(t) } else { found }
    })
}

/// The writer's side: a bounded queue of messages and the bytes they hold.
struct Outbox {
    tx: mpsc::Sender<Message>,
    queued: Arc<AtomicUsize>,
    limit: usize,
    hub: Arc<Hub>,
}

impl Outbox {
    fn account(&self, bytes: &[u8]) {
        let m = &self.hub.metrics;
        m.frames_sent_total.fetch_add(1, Ordering::Relaxed);
        m.bytes_sent_total
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }

    /// Whether the page has this much unread: live batches then wait in the replay buffer.
    fn full(&self) -> bool {
        self.queued.load(Ordering::Relaxed) >= self.limit
    }

    /// Queues a frame without waiting (callers check [`Outbox::full`] first).
    fn push(&self, frame: &Frame) -> Result<(), Close> {
        self.push_bytes(frame.encode())
    }

    /// Queues an encoded frame without waiting.
    fn push_bytes(&self, bytes: Vec<u8>) -> Result<(), Close> {
        self.account(&bytes);
        self.queued.fetch_add(bytes.len(), Ordering::Relaxed);
        self.tx
            .try_send(Message::Binary(bytes.into()))
            .map_err(|_| Close::new(code::TRY_AGAIN_LATER, "page is not reading"))
    }

    /// Queues a frame the page asked for (history), waiting for room up to the send timeout.
    async fn send(&self, frame: &Frame) -> Result<(), Close> {
        let bytes = frame.encode();
        let deadline = Instant::now() + self.hub.stream.send_timeout;
        // Wait while the queue holds more than the limit allows beside this frame.
        while self.queued.load(Ordering::Relaxed) > 0
            && self.queued.load(Ordering::Relaxed) + bytes.len() > self.limit
        {
            if Instant::now() > deadline {
                return Err(Close::new(
                    code::TRY_AGAIN_LATER,
                    "page did not read its history in time",
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.account(&bytes);
        self.queued.fetch_add(bytes.len(), Ordering::Relaxed);
        self.tx
            .send(Message::Binary(bytes.into()))
            .await
            .map_err(|_| Close::new(code::GOING_AWAY, "connection closed"))
    }
}

/// Counts a connection for as long as it lives.
struct Counted(Arc<Hub>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.metrics.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) async fn serve(socket: WebSocket, hub: Arc<Hub>) {
    let n = hub.metrics.connections.fetch_add(1, Ordering::Relaxed);
    let _counted = Counted(hub.clone());
    // Subscribe to the live feed before anything else, so nothing after the page's history or
    // resume point can be missed.
    let live = hub.subscribe_live();
    let (mut sink, stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Message>(4096);
    let (close_tx, mut close_rx) = oneshot::channel::<Close>();
    let queued = Arc::new(AtomicUsize::new(0));
    let writer = {
        let queued = queued.clone();
        let send_timeout = hub.stream.send_timeout;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    close = &mut close_rx => {
                        let msg = match close {
                            Ok(c) => Message::Close(Some(CloseFrame {
                                code: c.code,
                                reason: truncate(&c.reason, 120).into(),
                            })),
                            Err(_) => Message::Close(None),
                        };
                        let _ = tokio::time::timeout(Duration::from_secs(2), sink.send(msg)).await;
                        break;
                    }
                    msg = rx.recv() => {
                        let Some(msg) = msg else { break };
                        // The frame being written no longer counts as queued: a large history
                        // frame on its way does not make the page look slow.
                        if let Message::Binary(b) = &msg {
                            queued.fetch_sub(b.len(), Ordering::Relaxed);
                        }
                        if !matches!(
                            tokio::time::timeout(send_timeout, sink.send(msg)).await,
                            Ok(Ok(()))
                        ) {
                            break;
                        }
                    }
                }
            }
        })
    };
    let out = Outbox {
        tx,
        queued,
        limit: hub.stream.send_queue_bytes,
        hub: hub.clone(),
    };
    let close = if n as usize >= hub.stream.max_connections {
        Close::refused(
            code::TRY_AGAIN_LATER,
            format!(
                "the relay is at its limit of {} connections",
                hub.stream.max_connections
            ),
        )
    } else {
        run(stream, &out, &hub, live).await
    };
    if close.code != code::NORMAL {
        tracing::debug!("connection closed ({}): {}", close.code, close.reason);
    }
    if close.refuse {
        let _ = out.push_bytes(Frame::refusal_for(close.version, &close.reason));
        // Let the refusal go out before the close.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while out.queued.load(Ordering::Relaxed) > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
    }
    let _ = close_tx.send(close);
    drop(out);
    // A writer stuck on a page that does not read is not waited for.
    let abort = writer.abort_handle();
    if tokio::time::timeout(Duration::from_secs(3), writer)
        .await
        .is_err()
    {
        abort.abort();
    }
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct Subscription {
    /// Shared with other subscriptions that asked for the same ones ([`Hub::matchers`]).
    matchers: Arc<[Matcher]>,
    /// The connection's token's scope: series outside it are never sent.
    scope: Option<Arc<Scope>>,
    /// Series whose definition this connection has sent for the subscription.
    sent: IdSet,
    /// Series checked against the matchers and found not to match.
    rejected: IdSet,
    encoder: BlockEncoder,
    /// Feed position of the last batch sent (or covered by history).
    last_sent: u64,
    /// Feed batches up to here are already covered (history or replay).
    covered: u64,
}

/// A set of the store's series ids, which are dense (0, 1, 2, ...): one bit each. A connection
/// remembers which series of the whole relay it checked against its matchers; as hash sets
/// those took ~100 KB per connection at 10k series, as bits 1.25 KB.
#[derive(Debug, Default)]
struct IdSet {
    bits: Vec<u64>,
    len: usize,
}

impl IdSet {
    fn contains(&self, id: &SeriesId) -> bool {
        let i = id.0 as usize;
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    fn insert(&mut self, id: SeriesId) {
        let i = id.0 as usize;
        if self.bits.len() <= i / 64 {
            self.bits.resize(i / 64 + 1, 0);
        }
        let w = &mut self.bits[i / 64];
        if *w & (1 << (i % 64)) == 0 {
            *w |= 1 << (i % 64);
            self.len += 1;
        }
    }
    fn len(&self) -> usize {
        self.len
    }
    fn clear(&mut self) {
        self.bits.clear();
        self.len = 0;
    }
}

type PageStream = futures_util::stream::SplitStream<WebSocket>;

async fn run(
    mut stream: PageStream,
    out: &Outbox,
    hub: &Arc<Hub>,
    mut live: tokio::sync::broadcast::Receiver<Arc<ScrapeBatch>>,
) -> Close {
    let settings = &hub.stream;
    let first = async {
        loop {
            match next_frame(&mut stream).await {
                Ok(Some(f)) => return Ok(f),
                Ok(None) => {}
                Err(c) => return Err(c),
            }
        }
    };
    let hello = match tokio::time::timeout(settings.idle_timeout, first).await {
        Err(_) => return Close::new(code::POLICY, "no hello in time"),
        Ok(Err(c)) => return c,
        Ok(Ok(f)) => f,
    };
    // What the page's token may read (`None`: everything).
    let scope = match hello {
        Frame::Hello { version, .. } if version != PROTOCOL_VERSION => {
            let newer = if version < PROTOCOL_VERSION {
                "reload the page to get the relay's version of the app"
            } else {
                "the relay is older than this page: upgrade the relay"
            };
            return Close {
                version,
                ..Close::refused(
                    code::PROTOCOL,
                    format!(
                        "this page speaks protocol {version} but the relay speaks {PROTOCOL_VERSION}: {newer}"
                    ),
                )
            };
        }
        Frame::Hello { token, .. } => {
            if settings.tokens.is_empty() {
                None
            } else {
                match token.map(|t| find_token(&t, &settings.tokens)) {
                    None => {
                        return Close::refused(
                            code::POLICY,
                            "this relay needs a token: set one in the connection settings",
                        );
                    }
                    Some(None) => {
                        return Close::refused(code::POLICY, "the token was not accepted");
                    }
                    Some(Some(t)) => t.scope.clone(),
                }
            }
        }
        _ => return Close::refused(code::PROTOCOL, "expected a hello frame first"),
    };
    if let Err(c) = out
        .send(&Frame::Welcome {
            version: PROTOCOL_VERSION,
            relay_time: now_ms(),
            epoch: hub.epoch,
        })
        .await
    {
        return c;
    }
    let mut targets_seen = u64::MAX;
    let mut subs: HashMap<u32, Subscription> = HashMap::new();
    let mut ping = tokio::time::interval(settings.ping_interval);
    ping.tick().await;
    let mut last_heard = Instant::now();
    // Since when the page has had more unread than its budget (live batches then wait in the
    // replay buffer and are sent as it reads).
    let mut behind: Option<Instant> = None;
    loop {
        if let Some(since) = behind {
            if !out.full() {
                match catch_up(hub, out, &mut subs) {
                    Ok(true) => behind = None,
                    Ok(false) => {}
                    Err(c) => return c,
                }
            }
            if behind.is_some() && since.elapsed() > settings.send_timeout {
                hub.metrics.lagged_total.fetch_add(1, Ordering::Relaxed);
                return Close::new(
                    code::TRY_AGAIN_LATER,
                    format!(
                        "page did not read for {:?}; reconnect to resume",
                        settings.send_timeout
                    ),
                );
            }
        }
        let v = hub.targets_version.load(Ordering::Relaxed);
        // A scoped token reads its dashboards' series, not the relay's targets.
        if v != targets_seen && scope.is_none() {
            targets_seen = v;
            if let Err(c) = out.push(&targets_frame(hub)) {
                return c;
            }
        }
        tokio::select! {
            frame = next_frame(&mut stream) => {
                last_heard = Instant::now();
                let result = match frame {
                    // A pong (or ping): the page is there.
                    Ok(None) => Ok(()),
                    Ok(Some(Frame::Subscribe { sub, matchers, start, resume })) => {
                        subscribe(hub, out, &mut subs, sub, &matchers, &scope, start, resume, &mut behind).await
                    }
                    Ok(Some(Frame::Unsubscribe { sub })) => {
                        subs.remove(&sub);
                        Ok(())
                    }
                    Ok(Some(Frame::Request { id, request })) => out.push_bytes(reply_frame(hub, scope.as_deref(), id, &request)),
                    Ok(Some(other)) => Err(Close::refused(
                        code::PROTOCOL,
                        format!("unexpected frame from a page: {}", frame_name(&other)),
                    )),
                    Err(c) => Err(c),
                };
                if let Err(c) = result {
                    return c;
                }
            }
            batch = live.recv() => match batch {
                Ok(batch) => {
                    if behind.is_none() {
                        for (sub, s) in subs.iter_mut() {
                            match live_frames(hub, out, *sub, s, &batch) {
                                Ok(Fed::Done) => {}
                                Ok(Fed::Behind) => {
                                    behind = Some(Instant::now());
                                    break;
                                }
                                Err(c) => return c,
                            }
                        }
                    }
                    if let Err(c) = check_series_limit(&subs, settings.max_series_per_connection) {
                        return c;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    // This task fell behind the feed itself: catch up from the replay buffer.
                    behind.get_or_insert_with(Instant::now);
                }
                Err(RecvError::Closed) => return Close::new(code::GOING_AWAY, "relay shutting down"),
            },
            _ = tokio::time::sleep(Duration::from_millis(20)), if behind.is_some() => {}
            _ = ping.tick() => {
                if last_heard.elapsed() > settings.idle_timeout {
                    return Close::new(code::POLICY, format!("no message or pong for {:?}", settings.idle_timeout));
                }
                if out.tx.try_send(Message::Ping(Default::default())).is_err() {
                    return Close::new(code::TRY_AGAIN_LATER, "page is not reading");
                }
            }
        }
    }
}

fn frame_name(f: &Frame) -> &'static str {
    match f {
        Frame::Hello { .. } => "hello",
        Frame::Welcome { .. } => "welcome",
        Frame::Refused { .. } => "refused",
        Frame::Series { .. } => "series",
        Frame::Samples { .. } => "samples",
        Frame::History { .. } => "history",
        Frame::Resync { .. } => "resync",
        Frame::Targets { .. } => "targets",
        Frame::Reply { .. } => "reply",
        _ => "other",
    }
}

/// The next frame from the page, or `None` for a pong or ping (which the socket answers
/// itself): either says the page is still there, which is what the idle timeout asks.
async fn next_frame(stream: &mut PageStream) -> Result<Option<Frame>, Close> {
    match stream.next().await {
        Some(Ok(Message::Binary(b))) => Frame::decode(&b)
            .map(Some)
            .map_err(|e| Close::refused(code::PROTOCOL, e.to_string())),
        Some(Ok(Message::Pong(_) | Message::Ping(_))) => Ok(None),
        Some(Ok(Message::Close(_))) | None => Err(Close::new(code::NORMAL, "page closed")),
        Some(Ok(Message::Text(_))) => Err(Close::refused(
            code::PROTOCOL,
            "text messages are not part of the protocol",
        )),
        Some(Err(e)) => {
            let text = e.to_string();
            // tungstenite reports a message over the limit as a capacity error.
            if text.contains("too long")
                || text.contains("Space limit")
                || text.contains("capacity")
            {
                Err(Close::new(
                    code::TOO_BIG,
                    "message larger than the relay accepts",
                ))
            } else {
                Err(Close::new(code::PROTOCOL, text))
            }
        }
    }
}

fn check_series_limit(subs: &HashMap<u32, Subscription>, max: usize) -> Result<(), Close> {
    let n: usize = subs.values().map(|s| s.sent.len()).sum();
    if n > max {
        return Err(Close::refused(
            code::POLICY,
            format!("subscriptions select {n} series, more than the {max} one connection may"),
        ));
    }
    Ok(())
}

fn target_health(hub: &Hub) -> Vec<TargetHealth> {
    hub.targets()
        .into_iter()
        .map(|t| TargetHealth {
            scrape_pool: t.scrape_pool,
            scrape_url: t.scrape_url,
            labels: lookout_tsdb::Labels::new(t.labels),
            health: match t.health {
                Health::Unknown => lookout_wire::Health::Unknown,
                Health::Up => lookout_wire::Health::Up,
                Health::Down => lookout_wire::Health::Down,
            },
            last_error: t.last_error,
            last_scrape: t.last_scrape,
            last_duration_seconds: t.last_scrape_duration,
        })
        .collect()
}

fn targets_frame(hub: &Hub) -> Frame {
    Frame::Targets {
        targets: target_health(hub),
    }
}

/// Most entries one reply may carry (label values, series); more is [`ReplyErrorKind::TooLarge`].
const MAX_REPLY_ITEMS: usize = 100_000;
/// Most bytes one reply may take on the wire.
const MAX_REPLY_BYTES: usize = 8 << 20;

/// Answers one request from the window. Bad input is a typed error reply, never a closed socket.
fn answer(hub: &Hub, request: &Request) -> Reply {
    let bad = |message: String| Reply::Error {
        kind: ReplyErrorKind::BadRequest,
        message,
    };
    let compile = |specs: &[lookout_wire::MatcherSpec]| {
        specs
            .iter()
            .map(|m| m.to_matcher())
            .collect::<Result<Vec<Matcher>, _>>()
            .map_err(|e| format!("bad matcher: {e}"))
    };
    let bounds = |range: &Option<lookout_wire::TimeRange>| match range {
        Some(r) if r.start > r.end => Err(format!(
            "the range starts at {} after it ends at {}",
            r.start, r.end
        )),
        Some(r) => Ok((r.start, r.end)),
        None => Ok((i64::MIN, i64::MAX)),
    };
    match request {
        Request::LabelNames { matchers, range } => {
            let (m, (lo, hi)) = match compile(matchers).and_then(|m| Ok((m, bounds(range)?))) {
                Ok(x) => x,
                Err(e) => return bad(e),
            };
            let store = hub.store();
            if m.is_empty() && range.is_none() {
                Reply::LabelNames(store.label_names().into_iter().map(str::to_owned).collect())
            } else {
                let ids = if m.is_empty() {
                    // Every series: an empty regex-match on a name every series has.
                    match Matcher::new(lookout_tsdb::MatchOp::RegexMatch, "__name__", ".*") {
                        Ok(all) => store.select_in_range(&[all], lo, hi),
                        Err(e) => return bad(e.to_string()),
                    }
                } else {
                    store.select_in_range(&m, lo, hi)
                };
                let mut names = std::collections::BTreeSet::new();
                for id in ids {
                    if let Some(l) = store.labels(id) {
                        names.extend(l.iter().map(|(n, _)| n.to_owned()));
                    }
                }
                Reply::LabelNames(names.into_iter().collect())
            }
        }
        Request::LabelValues {
            name,
            matchers,
            range,
        } => {
            if name.is_empty() {
                return bad("a label name is needed".into());
            }
            let (m, (lo, hi)) = match compile(matchers).and_then(|m| Ok((m, bounds(range)?))) {
                Ok(x) => x,
                Err(e) => return bad(e),
            };
            let store = hub.store();
            let values = store.label_values(name, &m, lo, hi);
            if values.len() > MAX_REPLY_ITEMS {
                return too_large(values.len(), "label values");
            }
            Reply::LabelValues(values.into_iter().map(str::to_owned).collect())
        }
        Request::Series { matchers, range } => {
            if matchers.is_empty() {
                return bad("a series request needs at least one matcher".into());
            }
            let (m, (lo, hi)) = match compile(matchers).and_then(|m| Ok((m, bounds(range)?))) {
                Ok(x) => x,
                Err(e) => return bad(e),
            };
            if m.iter().all(|m| m.matches("")) {
                return bad("at least one matcher must not match the empty string".into());
            }
            let store = hub.store();
            let ids = if range.is_some() {
                store.select_in_range(&m, lo, hi)
            } else {
                store.select(&m)
            };
            if ids.len() > MAX_REPLY_ITEMS {
                return too_large(ids.len(), "series");
            }
            Reply::Series(ids.into_iter().filter_map(|id| store.labels(id)).collect())
        }
        Request::Metadata { metric } => Reply::Metadata(hub.metadata().query(metric.as_deref())),
        Request::Targets => Reply::Targets(target_health(hub)),
        Request::Dashboard { uid } => {
            let ds = &hub.stream.dashboards;
            match ds.iter().find(|d| &d.uid == uid) {
                Some(d) => Reply::Dashboard(d.json.clone()),
                None if ds.is_empty() => bad(format!(
                    "no dashboard {uid:?} here: this relay provisions none (--dashboards)"
                )),
                None => bad(format!(
                    "no dashboard {uid:?} here; the relay provisions {}",
                    ds.iter()
                        .map(|d| format!("{:?}", d.uid))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        _ => bad("this relay does not know that request".into()),
    }
}

/// Answers a request on a connection whose token is scoped to dashboards: over the series the
/// scope admits only (each of its selectors narrows the request, the answers are merged), and
/// metadata only of the families those series belong to. Targets are not the token's to see.
fn answer_scoped(hub: &Hub, scope: &Scope, request: &Request) -> Reply {
    // The request once per selector of the scope, its matchers narrowed by the selector's.
    let each = || -> Result<Vec<Reply>, Reply> {
        let mut replies = Vec::new();
        for sel in scope.selectors() {
            let mut narrowed = request.clone();
            if let Request::LabelNames { matchers, .. }
            | Request::LabelValues { matchers, .. }
            | Request::Series { matchers, .. } = &mut narrowed
            {
                matchers.extend(sel.iter().map(lookout_wire::MatcherSpec::from));
            }
            match answer(hub, &narrowed) {
                e @ Reply::Error { .. } => return Err(e),
                r => replies.push(r),
            }
        }
        Ok(replies)
    };
    let strings = |replies: Vec<Reply>| {
        let mut all = std::collections::BTreeSet::new();
        for r in replies {
            if let Reply::LabelNames(v) | Reply::LabelValues(v) = r {
                all.extend(v);
            }
        }
        all.into_iter().collect::<Vec<String>>()
    };
    let merged = match request {
        Request::LabelNames { .. } => each().map(|r| Reply::LabelNames(strings(r))),
        Request::LabelValues { .. } => each().map(|r| Reply::LabelValues(strings(r))),
        Request::Series { .. } => each().map(|replies| {
            let mut all = std::collections::BTreeSet::new();
            for r in replies {
                if let Reply::Series(v) = r {
                    all.extend(v);
                }
            }
            Reply::Series(all.into_iter().collect())
        }),
        Request::Metadata { metric } => {
            let store = hub.store();
            let mut families = HashSet::new();
            for sel in scope.selectors() {
                for id in store.select(sel) {
                    if let Some(l) = store.labels(id)
                        && let Some(name) = l.get("__name__")
                    {
                        families.extend(lookout_wire::family_candidates(name).map(str::to_owned));
                    }
                }
            }
            drop(store);
            let mut all = hub.metadata().query(metric.as_deref());
            all.retain(|m| families.contains(m.metric.as_str()));
            Ok(Reply::Metadata(all))
        }
        Request::Targets => Err(Reply::Error {
            kind: ReplyErrorKind::BadRequest,
            message:
                "this token reads its dashboards' series; the relay's targets are not among them"
                    .into(),
        }),
        Request::Dashboard { uid } if !scope.allows_dashboard(uid) => Err(Reply::Error {
            kind: ReplyErrorKind::BadRequest,
            message: format!(
                "this token may read dashboard {}, not {uid:?}",
                scope.dashboards.join(", ")
            ),
        }),
        _ => Ok(answer(hub, request)),
    };
    merged.unwrap_or_else(|e| e)
}

/// The reply frame to request `id`; an answer too large for one frame becomes an error saying so.
fn reply_frame(hub: &Hub, scope: Option<&Scope>, id: u32, request: &Request) -> Vec<u8> {
    let bytes = Frame::Reply {
        id,
        reply: match scope {
            None => answer(hub, request),
            Some(scope) => answer_scoped(hub, scope, request),
        },
    }
    .encode();
    if bytes.len() <= MAX_REPLY_BYTES {
        return bytes;
    }
    Frame::Reply {
        id,
        reply: Reply::Error {
            kind: ReplyErrorKind::TooLarge,
            message: format!(
                "the answer takes {} bytes, more than the {MAX_REPLY_BYTES} one reply may: narrow the matchers",
                bytes.len()
            ),
        },
    }
    .encode()
}

fn too_large(n: usize, what: &str) -> Reply {
    Reply::Error {
        kind: ReplyErrorKind::TooLarge,
        message: format!(
            "{n} {what} match, more than the {MAX_REPLY_ITEMS} one reply may carry: narrow the matchers"
        ),
    }
}

/// The metadata of the families the defined series belong to, each family once.
fn metadata_for(hub: &Hub, defs: &[SeriesDef]) -> Vec<MetricMetadata> {
    let store = hub.metadata();
    let mut out: Vec<MetricMetadata> = Vec::new();
    let mut seen = HashSet::new();
    for d in defs {
        let Some(name) = d.labels.get("__name__") else {
            continue;
        };
        if let Some(m) = store.for_series(name)
            && seen.insert(m.metric.as_str())
        {
            out.push(m.clone());
        }
    }
    out
}

// The fields of one Subscribe frame plus the connection's state: a struct would only rename them.
#[allow(clippy::too_many_arguments)]
async fn subscribe(
    hub: &Arc<Hub>,
    out: &Outbox,
    subs: &mut HashMap<u32, Subscription>,
    sub: u32,
    matchers: &[lookout_wire::MatcherSpec],
    scope: &Option<Arc<Scope>>,
    start: i64,
    resume: Option<Resume>,
    behind: &mut Option<Instant>,
) -> Result<(), Close> {
    if !subs.contains_key(&sub) && subs.len() >= hub.stream.max_subscriptions {
        return Err(Close::refused(
            code::POLICY,
            format!(
                "more than {} subscriptions on one connection",
                hub.stream.max_subscriptions
            ),
        ));
    }
    let matchers = hub
        .matchers(matchers)
        .map_err(|e| Close::refused(code::POLICY, format!("bad matcher: {e}")))?;
    let mut s = Subscription {
        matchers,
        scope: scope.clone(),
        sent: IdSet::default(),
        rejected: IdSet::default(),
        encoder: BlockEncoder::default(),
        last_sent: 0,
        covered: 0,
    };
    let replay = match resume {
        Some(r) if r.epoch == hub.epoch => match hub.replay_after(r.seq) {
            Replay::Batches(b, upto) => Some((r.seq, b, upto)),
            Replay::TooOld => {
                out.send(&Frame::Resync {
                    sub,
                    reason: format!(
                        "batches after {} are no longer in the relay's replay buffer",
                        r.seq
                    ),
                })
                .await?;
                None
            }
        },
        Some(_) => {
            out.send(&Frame::Resync {
                sub,
                reason: "the relay restarted since this page last saw it".into(),
            })
            .await?;
            None
        }
        None => None,
    };
    match replay {
        Some((from, batches, _)) => {
            s.last_sent = from;
            s.covered = from;
            for b in &batches {
                if live_frames(hub, out, sub, &mut s, b)? == Fed::Behind {
                    // The rest follows as the page reads (the main loop catches up).
                    behind.get_or_insert_with(Instant::now);
                    break;
                }
            }
        }
        None => {
            for frame in history(hub, sub, &mut s, start) {
                out.send(&frame).await?;
            }
        }
    }
    subs.insert(sub, s);
    check_series_limit(subs, hub.stream.max_series_per_connection)
}

/// Definitions and whole stored chunks since `start` of every series the subscription selects,
/// complete up to the feed position they report.
fn history(hub: &Hub, sub: u32, s: &mut Subscription, start: i64) -> Vec<Frame> {
    let store = hub.store();
    // Under the store lock: every batch published so far is in the store.
    let seq = hub.last_seq();
    let mut ids = store.select(&s.matchers);
    if let Some(scope) = &s.scope {
        ids.retain(|id| store.labels(*id).is_some_and(|l| scope.admits(&l)));
    }
    let mut frames = Vec::new();
    let defs: Vec<SeriesDef> = ids
        .iter()
        .filter_map(|id| {
            store.labels(*id).map(|l| SeriesDef {
                series: id.0,
                labels: l.clone(),
            })
        })
        .collect();
    for id in &ids {
        s.sent.insert(*id);
    }
    let metadata = metadata_for(hub, &defs);
    frames.push(Frame::Series {
        sub,
        defs,
        metadata,
    });
    let mut page = HistoryPage::default();
    for id in ids {
        let chunks = store.chunks(id, start, i64::MAX);
        // The page primes its block decoder with the last two samples of the last chunk it gets
        // for a series (lookout_wire's `BlockDecoder::prime`): prime the encoder with the same.
        if let Some(Ok(mut it)) = chunks.last().map(|c| c.iter()) {
            use lookout_tsdb::chunk::ChunkIterator;
            let (mut prev, mut last) = (None, None);
            while it.next() {
                prev = last;
                last = Some(it.at());
            }
            if let Some(last) = last {
                s.encoder.prime(id.0, prev, last);
            }
        }
        for c in chunks {
            page.add(id.0, c);
            if page.bytes >= HISTORY_FRAME_BYTES {
                frames.push(std::mem::take(&mut page).frame(sub, seq));
            }
        }
    }
    frames.push(page.frame(sub, seq));
    s.last_sent = seq;
    s.covered = seq;
    frames
}

/// One history frame being filled: whole chunks, and columnar chunks split into the shared
/// timestamp column (once per frame) and their own value column. Nothing is re-encoded: the
/// store's bytes are cut apart where it joined them.
#[derive(Default)]
struct HistoryPage {
    columns: Vec<TimeColumn>,
    /// Timestamp column bytes -> index in `columns`.
    index: HashMap<Vec<u8>, u32>,
    chunks: Vec<HistoryChunk>,
    bytes: usize,
}

impl HistoryPage {
    fn add(&mut self, series: u32, c: lookout_tsdb::ChunkRef<'_>) {
        use lookout_tsdb::chunk::{Encoding, col};
        if c.encoding == Encoding::Col
            && let Ok((samples, ts, values)) = col::split(&c.bytes)
        {
            let column = match self.index.get(ts) {
                Some(&i) => i,
                None => {
                    let i = self.columns.len() as u32;
                    self.columns.push(TimeColumn {
                        samples,
                        bytes: ts.to_vec(),
                    });
                    self.index.insert(ts.to_vec(), i);
                    self.bytes += ts.len();
                    i
                }
            };
            self.bytes += values.len();
            self.chunks.push(HistoryChunk {
                series,
                data: ChunkData::Values {
                    column,
                    bytes: values.to_vec(),
                },
            });
            return;
        }
        self.bytes += c.bytes.len();
        self.chunks.push(HistoryChunk {
            series,
            data: ChunkData::Whole {
                encoding: c.encoding as u8,
                bytes: c.bytes.into_owned(),
            },
        });
    }

    fn frame(self, sub: u32, seq: u64) -> Frame {
        Frame::History {
            sub,
            seq,
            columns: self.columns,
            chunks: self.chunks,
        }
    }
}

/// Whether a batch went out or must wait for the page to read.
#[derive(Debug, PartialEq, Eq)]
enum Fed {
    Done,
    Behind,
}

/// Queues the part of a feed batch a subscription selects, with definitions of series new to it.
/// A batch is queued whole or not at all, so the subscription's block coder stays in step.
fn live_frames(
    hub: &Hub,
    out: &Outbox,
    sub: u32,
    s: &mut Subscription,
    batch: &ScrapeBatch,
) -> Result<Fed, Close> {
    // Batches the history or a replay already covered come again from the feed: skip them.
    if batch.seq <= s.covered {
        return Ok(Fed::Done);
    }
    if out.full() {
        return Ok(Fed::Behind);
    }
    let mut defs = Vec::new();
    let mut new_ids = HashSet::new();
    let mut samples = SampleBatch::default();
    let mut store = None;
    for &(id, t, v) in &batch.samples {
        if !s.sent.contains(&id) && !new_ids.contains(&id) {
            if s.rejected.contains(&id) {
                continue;
            }
            let store = store.get_or_insert_with(|| hub.store());
            let Some(labels) = store.labels(id) else {
                continue;
            };
            if !s
                .matchers
                .iter()
                .all(|m| m.matches(labels.get(m.name()).unwrap_or("")))
                || s.scope.as_ref().is_some_and(|sc| !sc.admits(&labels))
            {
                s.rejected.insert(id);
                continue;
            }
            defs.push(SeriesDef {
                series: id.0,
                labels: labels.clone(),
            });
            new_ids.insert(id);
        }
        samples.push(id.0, t, v);
    }
    drop(store);
    if !defs.is_empty() {
        let metadata = metadata_for(hub, &defs);
        out.push(&Frame::Series {
            sub,
            defs,
            metadata,
        })?;
        for id in new_ids {
            s.sent.insert(id);
        }
    }
    if !samples.is_empty() {
        out.push(&Frame::Samples {
            sub,
            seq: batch.seq,
            prev: s.last_sent,
            block: s.encoder.encode(&samples),
        })?;
        s.last_sent = batch.seq;
    }
    s.covered = batch.seq;
    Ok(Fed::Done)
}

/// Sends what a page that fell behind missed, from the replay buffer (or history when the gap
/// left it). Returns whether every subscription is up to date.
fn catch_up(hub: &Hub, out: &Outbox, subs: &mut HashMap<u32, Subscription>) -> Result<bool, Close> {
    for (&sub, s) in subs.iter_mut() {
        match hub.replay_after(s.covered) {
            Replay::Batches(batches, _) => {
                for b in &batches {
                    if live_frames(hub, out, sub, s, b)? == Fed::Behind {
                        return Ok(false);
                    }
                }
            }
            Replay::TooOld => {
                out.push(&Frame::Resync {
                    sub,
                    reason: "the page fell behind by more than the relay's replay buffer".into(),
                })?;
                s.sent.clear();
                s.encoder = BlockEncoder::default();
                let start = now_ms() - hub.retention.as_millis() as i64;
                for frame in history(hub, sub, s, start) {
                    out.push(&frame)?;
                }
            }
        }
    }
    Ok(true)
}
