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
    BlockEncoder, Frame, HistoryChunk, PROTOCOL_VERSION, Resume, SampleBatch, SeriesDef,
    TargetHealth,
};
use tokio::sync::{broadcast::error::RecvError, mpsc, oneshot};
use tokio::time::Instant;

use crate::hub::{Hub, Replay, ScrapeBatch};
use crate::scrape::{Health, now_ms};

/// Who may connect and how much each connection may take.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// Origins (`scheme://host:port`) whose pages may connect; `*` allows any. Empty: only the
    /// relay's own origin. Requests without an Origin header (not from a browser) are allowed.
    pub allowed_origins: Vec<String>,
    /// Bearer tokens a page must present in its hello; empty: no token needed.
    pub tokens: Vec<String>,
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
}

impl Close {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Close {
            code,
            reason: reason.into(),
            refuse: false,
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
        .read_buffer_size(limit.min(8 << 10))
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
    if allowed.is_empty() {
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

/// Compares without stopping at the first difference, so timing says nothing about the token.
fn token_matches(given: &str, tokens: &[String]) -> bool {
    tokens.iter().fold(false, |ok, t| {
        let eq = t.len() == given.len()
            && t.bytes()
                .zip(given.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        ok | eq
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
        let bytes = frame.encode();
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
        let _ = out.push(&Frame::Refused {
            reason: close.reason.clone(),
        });
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
    matchers: Vec<Matcher>,
    /// Series whose definition this connection has sent for the subscription.
    sent: HashSet<SeriesId>,
    /// Series checked against the matchers and found not to match.
    rejected: HashSet<SeriesId>,
    encoder: BlockEncoder,
    /// Feed position of the last batch sent (or covered by history).
    last_sent: u64,
    /// Feed batches up to here are already covered (history or replay).
    covered: u64,
}

type PageStream = futures_util::stream::SplitStream<WebSocket>;

async fn run(
    mut stream: PageStream,
    out: &Outbox,
    hub: &Arc<Hub>,
    mut live: tokio::sync::broadcast::Receiver<Arc<ScrapeBatch>>,
) -> Close {
    let settings = &hub.stream;
    let hello = match tokio::time::timeout(settings.idle_timeout, next_frame(&mut stream)).await {
        Err(_) => return Close::new(code::POLICY, "no hello in time"),
        Ok(Err(c)) => return c,
        Ok(Ok(f)) => f,
    };
    match hello {
        Frame::Hello { version, .. } if version != PROTOCOL_VERSION => {
            return Close::refused(
                code::PROTOCOL,
                format!(
                    "protocol version {version} is not supported; this relay speaks {PROTOCOL_VERSION}"
                ),
            );
        }
        Frame::Hello { token, .. } => {
            if !settings.tokens.is_empty() {
                match token {
                    None => {
                        return Close::refused(
                            code::POLICY,
                            "this relay needs a token: set one in the connection settings",
                        );
                    }
                    Some(t) if !token_matches(&t, &settings.tokens) => {
                        return Close::refused(code::POLICY, "the token was not accepted");
                    }
                    Some(_) => {}
                }
            }
        }
        _ => return Close::refused(code::PROTOCOL, "expected a hello frame first"),
    }
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
        if v != targets_seen {
            targets_seen = v;
            if let Err(c) = out.push(&targets_frame(hub)) {
                return c;
            }
        }
        tokio::select! {
            frame = next_frame(&mut stream) => {
                last_heard = Instant::now();
                let result = match frame {
                    Ok(Frame::Subscribe { sub, matchers, start, resume }) => {
                        subscribe(hub, out, &mut subs, sub, &matchers, start, resume, &mut behind).await
                    }
                    Ok(Frame::Unsubscribe { sub }) => {
                        subs.remove(&sub);
                        Ok(())
                    }
                    Ok(other) => Err(Close::refused(
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
        _ => "other",
    }
}

/// The next frame from the page; pings and pongs are answered or noted by the socket itself.
async fn next_frame(stream: &mut PageStream) -> Result<Frame, Close> {
    loop {
        match stream.next().await {
            Some(Ok(Message::Binary(b))) => {
                return Frame::decode(&b)
                    .map_err(|e| Close::refused(code::PROTOCOL, e.to_string()));
            }
            Some(Ok(Message::Close(_))) | None => {
                return Err(Close::new(code::NORMAL, "page closed"));
            }
            Some(Ok(Message::Text(_))) => {
                return Err(Close::refused(
                    code::PROTOCOL,
                    "text messages are not part of the protocol",
                ));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                let text = e.to_string();
                // tungstenite reports a message over the limit as a capacity error.
                if text.contains("too long")
                    || text.contains("Space limit")
                    || text.contains("capacity")
                {
                    return Err(Close::new(
                        code::TOO_BIG,
                        "message larger than the relay accepts",
                    ));
                }
                return Err(Close::new(code::PROTOCOL, text));
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

fn targets_frame(hub: &Hub) -> Frame {
    Frame::Targets {
        targets: hub
            .targets()
            .into_iter()
            .map(|t| TargetHealth {
                job: label(&t.labels, "job"),
                instance: label(&t.labels, "instance"),
                up: t.health == Health::Up,
                last_error: t.last_error.clone(),
                last_scrape: t.last_scrape,
                last_duration_seconds: t.last_scrape_duration,
            })
            .collect(),
    }
}

fn label(labels: &[(String, String)], name: &str) -> String {
    labels
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

// The fields of one Subscribe frame plus the connection's state: a struct would only rename them.
#[allow(clippy::too_many_arguments)]
async fn subscribe(
    hub: &Arc<Hub>,
    out: &Outbox,
    subs: &mut HashMap<u32, Subscription>,
    sub: u32,
    matchers: &[lookout_wire::MatcherSpec],
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
    let matchers = matchers
        .iter()
        .map(|m| m.to_matcher())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Close::refused(code::POLICY, format!("bad matcher: {e}")))?;
    let mut s = Subscription {
        matchers,
        sent: HashSet::new(),
        rejected: HashSet::new(),
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
    let ids = store.select(&s.matchers);
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
    s.sent.extend(ids.iter().copied());
    frames.push(Frame::Series { sub, defs });
    let mut chunks = Vec::new();
    let mut bytes = 0;
    for id in ids {
        for c in store.chunks(id, start, i64::MAX) {
            bytes += c.bytes.len();
            chunks.push(HistoryChunk {
                series: id.0,
                encoding: c.encoding as u8,
                bytes: c.bytes.into_owned(),
            });
            if bytes >= HISTORY_FRAME_BYTES {
                frames.push(Frame::History {
                    sub,
                    seq,
                    chunks: std::mem::take(&mut chunks),
                });
                bytes = 0;
            }
        }
    }
    frames.push(Frame::History { sub, seq, chunks });
    s.last_sent = seq;
    s.covered = seq;
    frames
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
        out.push(&Frame::Series { sub, defs })?;
        s.sent.extend(new_ids);
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
