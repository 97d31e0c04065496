//! One WebSocket connection: the hello, subscriptions, their history from the window, then live
//! batches filtered to what each subscription selects.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::ws::{Message, WebSocket};
use lookout_tsdb::{Matcher, SeriesId};
use lookout_wire::{Frame, PROTOCOL_VERSION, SampleBatch, SeriesDef};
use tokio::sync::broadcast::error::RecvError;

use crate::hub::{Hub, ScrapeBatch};
use crate::scrape::now_ms;

/// Most samples put in one history frame.
const HISTORY_BATCH: usize = 64 * 1024;

struct Subscription {
    matchers: Vec<Matcher>,
    /// Series whose definition this subscription has sent.
    sent: HashSet<SeriesId>,
    /// Series checked against the matchers and found not to match.
    rejected: HashSet<SeriesId>,
    seq: u64,
}

pub(crate) async fn serve(mut socket: WebSocket, hub: Arc<Hub>) {
    hub.metrics.connections.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = run(&mut socket, &hub).await {
        tracing::debug!("connection ended: {e}");
        let _ = send(&mut socket, &hub, &Frame::Refused { reason: e }).await;
    }
    hub.metrics.connections.fetch_sub(1, Ordering::Relaxed);
}

async fn send(socket: &mut WebSocket, hub: &Hub, frame: &Frame) -> Result<(), String> {
    let bytes = frame.encode();
    hub.metrics.frames_sent_total.fetch_add(1, Ordering::Relaxed);
    hub.metrics.bytes_sent_total.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    socket.send(Message::Binary(bytes.into())).await.map_err(|e| format!("send failed: {e}"))
}

async fn run(socket: &mut WebSocket, hub: &Arc<Hub>) -> Result<(), String> {
    // Subscribe to the live feed before the hello, so nothing between history and live is missed.
    let mut live = hub.subscribe_live();
    let hello = loop {
        match socket.recv().await {
            Some(Ok(Message::Binary(b))) => break Frame::decode(&b).map_err(|e| e.to_string())?,
            Some(Ok(Message::Close(_))) | None => return Ok(()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
        }
    };
    match hello {
        Frame::Hello { version, .. } if version == PROTOCOL_VERSION => {}
        Frame::Hello { version, .. } => {
            return Err(format!("protocol version {version} is not supported; this relay speaks {PROTOCOL_VERSION}"));
        }
        _ => return Err("expected a hello frame first".into()),
    }
    send(socket, hub, &Frame::Welcome { version: PROTOCOL_VERSION, relay_time: now_ms() }).await?;

    let mut subs: HashMap<u32, Subscription> = HashMap::new();
    loop {
        tokio::select! {
            msg = socket.recv() => match msg {
                Some(Ok(Message::Binary(b))) => {
                    match Frame::decode(&b).map_err(|e| e.to_string())? {
                        Frame::Subscribe { sub, matchers, start } => {
                            let matchers = matchers
                                .iter()
                                .map(|m| m.to_matcher().map_err(|e| e.to_string()))
                                .collect::<Result<Vec<_>, _>>()?;
                            let mut s = Subscription { matchers, sent: HashSet::new(), rejected: HashSet::new(), seq: 0 };
                            for frame in history(hub, sub, &mut s, start) {
                                send(socket, hub, &frame).await?;
                            }
                            subs.insert(sub, s);
                        }
                        Frame::Unsubscribe { sub } => {
                            subs.remove(&sub);
                        }
                        other => return Err(format!("unexpected frame from page: {other:?}")),
                    }
                }
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
            },
            batch = live.recv() => match batch {
                Ok(batch) => {
                    for (sub, s) in subs.iter_mut() {
                        for frame in live_frames(hub, *sub, s, &batch) {
                            send(socket, hub, &frame).await?;
                        }
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    // The page fell behind the feed: say so rather than leave a silent hole.
                    hub.metrics.lagged_total.fetch_add(1, Ordering::Relaxed);
                    return Err(format!("connection fell {n} scrapes behind the live feed; reconnect to resync"));
                }
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}

/// Definitions and samples since `start` of every series the subscription selects.
fn history(hub: &Hub, sub: u32, s: &mut Subscription, start: i64) -> Vec<Frame> {
    let store = hub.store();
    let ids = store.select(&s.matchers);
    let mut frames = Vec::new();
    let defs: Vec<SeriesDef> = ids
        .iter()
        .filter_map(|id| store.labels(*id).map(|l| SeriesDef { series: id.0, labels: l.clone() }))
        .collect();
    s.sent.extend(ids.iter().copied());
    frames.push(Frame::Series { sub, defs });
    let mut batch = SampleBatch::default();
    for id in ids {
        for (t, v) in store.samples(id, start, i64::MAX) {
            batch.push(id.0, t, v);
            if batch.len() >= HISTORY_BATCH {
                s.seq += 1;
                frames.push(Frame::Samples { sub, seq: s.seq, batch: std::mem::take(&mut batch) });
            }
        }
    }
    if !batch.is_empty() {
        s.seq += 1;
        frames.push(Frame::Samples { sub, seq: s.seq, batch });
    }
    frames
}

/// The part of a scrape batch a subscription selects, with definitions of series new to it.
fn live_frames(hub: &Hub, sub: u32, s: &mut Subscription, batch: &ScrapeBatch) -> Vec<Frame> {
    let mut defs = Vec::new();
    let mut out = SampleBatch::default();
    let mut store = None;
    for &(id, t, v) in &batch.samples {
        if !s.sent.contains(&id) {
            if s.rejected.contains(&id) {
                continue;
            }
            let store = store.get_or_insert_with(|| hub.store());
            let Some(labels) = store.labels(id) else { continue };
            if !s.matchers.iter().all(|m| m.matches(labels.get(m.name()).unwrap_or(""))) {
                s.rejected.insert(id);
                continue;
            }
            defs.push(SeriesDef { series: id.0, labels: labels.clone() });
            s.sent.insert(id);
        }
        out.push(id.0, t, v);
    }
    let mut frames = Vec::new();
    if !defs.is_empty() {
        frames.push(Frame::Series { sub, defs });
    }
    if !out.is_empty() {
        s.seq += 1;
        frames.push(Frame::Samples { sub, seq: s.seq, batch: out });
    }
    frames
}
