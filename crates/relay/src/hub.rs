//! The relay's shared state: the window of recent data, target health, and the live feed that
//! every connection listens to.
//!
//! The live feed numbers every published scrape batch (`seq`, from 1 within one relay run, the
//! run named by `epoch`) and keeps the newest ones in a replay buffer, so a page that reconnects
//! can be sent exactly the batches it missed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lookout_tsdb::{SeriesId, Store};
use tokio::sync::broadcast;

use crate::metadata::MetadataStore;
use crate::scrape::TargetState;

/// Samples one scrape stored, in the store's series ids.
#[derive(Debug, Default)]
pub struct ScrapeBatch {
    pub samples: Vec<(SeriesId, i64, f64)>,
    /// Position in the live feed, set by [`Hub::publish`].
    pub seq: u64,
    /// When [`Hub::publish`] numbered it: the end of its scrape (fetched, parsed, stored), from
    /// which the benchmark measures scrape-to-page latency.
    pub published: Option<std::time::Instant>,
}

/// The numbered live feed and its replay buffer.
#[derive(Debug, Default)]
struct Feed {
    last_seq: u64,
    replay: VecDeque<Arc<ScrapeBatch>>,
    replay_samples: usize,
}

/// What the replay buffer holds for a resuming page.
#[derive(Debug)]
pub(crate) enum Replay {
    /// Every batch after the page's point, and the feed position they reach.
    Batches(Vec<Arc<ScrapeBatch>>, u64),
    /// The gap is older than the buffer: the page needs history instead.
    TooOld,
}

/// Counters for the relay's own `/metrics`.
#[derive(Debug, Default)]
pub struct RelayMetrics {
    pub scrapes_total: std::sync::atomic::AtomicU64,
    pub scrape_failures_total: std::sync::atomic::AtomicU64,
    pub samples_appended_total: std::sync::atomic::AtomicU64,
    pub samples_rejected_total: std::sync::atomic::AtomicU64,
    pub connections: std::sync::atomic::AtomicI64,
    pub frames_sent_total: std::sync::atomic::AtomicU64,
    pub bytes_sent_total: std::sync::atomic::AtomicU64,
    pub lagged_total: std::sync::atomic::AtomicU64,
}

/// State shared by scrapers, connections and HTTP handlers.
#[derive(Debug)]
pub struct Hub {
    store: Mutex<Store>,
    targets: Mutex<Vec<TargetState>>,
    /// Targets relabeling dropped, by scrape pool: their discovered labels.
    dropped: Mutex<std::collections::BTreeMap<String, Vec<Vec<(String, String)>>>>,
    live: broadcast::Sender<Arc<ScrapeBatch>>,
    feed: Mutex<Feed>,
    metadata: Mutex<MetadataStore>,
    /// This run of the relay: sequence numbers from another run mean nothing here.
    pub epoch: u64,
    /// Bumped when a target's health or error changes, so connections send `Targets`.
    pub targets_version: AtomicU64,
    pub retention: Duration,
    pub metrics: RelayMetrics,
    pub stream: crate::stream::StreamSettings,
    /// Compiled matchers shared by every subscription that asks for the same ones: a compiled
    /// regex is about 10 KB, and the pages of one dashboard subscribe with the same selectors.
    matchers: Mutex<std::collections::HashMap<String, Arc<[lookout_tsdb::Matcher]>>>,
}

/// Distinct matcher lists the hub keeps compiled; past this, lists no connection uses go.
const MATCHER_CACHE: usize = 4096;

/// How many scrape batches a connection may fall behind before it is told it lost data.
const LIVE_QUEUE: usize = 1024;
/// Samples the replay buffer keeps for resuming pages (about 16 bytes each while shared with
/// the feed): a few minutes of a 10k-series fleet.
const REPLAY_SAMPLES: usize = 1 << 20;

impl Hub {
    pub fn new(retention: Duration) -> Self {
        Hub::with_stream(retention, crate::stream::StreamSettings::default())
    }

    pub fn with_stream(retention: Duration, stream: crate::stream::StreamSettings) -> Self {
        let (live, _) = broadcast::channel(LIVE_QUEUE);
        // Nanoseconds at start: distinct across restarts of one relay, which is all it needs.
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()) << 48;
        Hub {
            store: Mutex::new(Store::default()),
            targets: Mutex::new(Vec::new()),
            dropped: Mutex::new(Default::default()),
            live,
            feed: Mutex::new(Feed::default()),
            metadata: Mutex::new(MetadataStore::default()),
            epoch,
            targets_version: AtomicU64::new(0),
            retention,
            metrics: RelayMetrics::default(),
            stream,
            matchers: Mutex::new(Default::default()),
        }
    }

    /// `specs` compiled, shared with every other subscription that asked for the same list.
    pub(crate) fn matchers(
        &self,
        specs: &[lookout_wire::MatcherSpec],
    ) -> Result<Arc<[lookout_tsdb::Matcher]>, lookout_tsdb::Error> {
        let mut key = String::new();
        for m in specs {
            key.push_str(&format!("{:?}\0{}\0{}\u{1}", m.op, m.name, m.value));
        }
        let mut cache = self.matchers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = cache.get(&key) {
            return Ok(m.clone());
        }
        let compiled: Arc<[lookout_tsdb::Matcher]> = specs
            .iter()
            .map(|m| m.to_matcher())
            .collect::<Result<Vec<_>, _>>()?
            .into();
        if cache.len() >= MATCHER_CACHE {
            cache.retain(|_, m| Arc::strong_count(m) > 1);
        }
        if cache.len() < MATCHER_CACHE {
            cache.insert(key, compiled.clone());
        }
        Ok(compiled)
    }

    fn feed(&self) -> MutexGuard<'_, Feed> {
        self.feed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The newest published batch's number (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.feed().last_seq
    }

    /// The batches after `seq`, from the replay buffer, if it still reaches back that far.
    pub(crate) fn replay_after(&self, seq: u64) -> Replay {
        let feed = self.feed();
        if seq > feed.last_seq {
            return Replay::TooOld;
        }
        let oldest = feed.replay.front().map_or(feed.last_seq + 1, |b| b.seq);
        if seq + 1 < oldest {
            return Replay::TooOld;
        }
        let batches = feed
            .replay
            .iter()
            .filter(|b| b.seq > seq)
            .cloned()
            .collect();
        Replay::Batches(batches, feed.last_seq)
    }

    /// The store, locked. Hold it briefly: scrapers and connections share it.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the store half-written in a way that
        // matters more than stopping the relay would, so a poisoned lock is taken over.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn subscribe_live(&self) -> broadcast::Receiver<Arc<ScrapeBatch>> {
        self.live.subscribe()
    }

    /// Numbers the batch, keeps it for replay, and sends it to every connection. Numbering and
    /// sending happen under one lock so the feed's order is the numbers' order.
    pub fn publish(&self, mut batch: ScrapeBatch) {
        let mut feed = self.feed();
        feed.last_seq += 1;
        batch.seq = feed.last_seq;
        batch.published = Some(std::time::Instant::now());
        let batch = Arc::new(batch);
        feed.replay_samples += batch.samples.len();
        feed.replay.push_back(batch.clone());
        while feed.replay_samples > REPLAY_SAMPLES && feed.replay.len() > 1 {
            if let Some(old) = feed.replay.pop_front() {
                feed.replay_samples -= old.samples.len();
            }
        }
        // No receivers is fine: no page is open.
        let _ = self.live.send(batch);
    }

    pub fn targets(&self) -> Vec<TargetState> {
        self.targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn update_target(&self, state: TargetState) {
        let mut t = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        let changed = match t.iter_mut().find(|t| t.key == state.key) {
            Some(slot) => {
                let changed = slot.health != state.health || slot.last_error != state.last_error;
                *slot = state;
                changed
            }
            None => {
                t.push(state);
                true
            }
        };
        if changed {
            self.targets_version.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Forgets a target that is no longer scraped, and its metric metadata.
    pub fn remove_target(&self, key: u64) {
        let mut t = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        t.retain(|t| t.key != key);
        self.targets_version.fetch_add(1, Ordering::Relaxed);
        drop(t);
        self.metadata().remove(key);
    }

    /// Metric metadata (HELP/TYPE/UNIT) of every scraped target. Hold it briefly.
    pub fn metadata(&self) -> MutexGuard<'_, MetadataStore> {
        self.metadata.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces a target's metric metadata with what its last scrape exposed.
    pub fn set_metadata(&self, target: u64, families: Vec<lookout_wire::MetricMetadata>) {
        let mut m = self.metadata();
        m.set(target, Arc::new(families));
    }

    /// Targets relabeling dropped, by scrape pool.
    pub fn dropped_targets(&self) -> Vec<(String, Vec<(String, String)>)> {
        let d = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        d.iter()
            .flat_map(|(pool, ts)| ts.iter().map(move |t| (pool.clone(), t.clone())))
            .collect()
    }

    /// Replaces the dropped targets of one pool (none: forget the pool).
    pub fn set_dropped(&self, pool: &str, targets: Vec<Vec<(String, String)>>) {
        let mut d = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        if targets.is_empty() {
            d.remove(pool);
        } else {
            d.insert(pool.to_owned(), targets);
        }
    }
}
