//! The relay's shared state: the window of recent data, target health, and the live feed that
//! every connection listens to.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lookout_tsdb::{SeriesId, Store};
use tokio::sync::broadcast;

use crate::scrape::TargetState;

/// Samples one scrape stored, in the store's series ids.
#[derive(Debug, Default)]
pub struct ScrapeBatch {
    pub samples: Vec<(SeriesId, i64, f64)>,
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
    pub retention: Duration,
    pub metrics: RelayMetrics,
}

/// How many scrape batches a connection may fall behind before it is told it lost data.
const LIVE_QUEUE: usize = 1024;

impl Hub {
    pub fn new(retention: Duration) -> Self {
        let (live, _) = broadcast::channel(LIVE_QUEUE);
        Hub {
            store: Mutex::new(Store::default()),
            targets: Mutex::new(Vec::new()),
            dropped: Mutex::new(Default::default()),
            live,
            retention,
            metrics: RelayMetrics::default(),
        }
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

    pub fn publish(&self, batch: ScrapeBatch) {
        // No receivers is fine: no page is open.
        let _ = self.live.send(Arc::new(batch));
    }

    pub fn targets(&self) -> Vec<TargetState> {
        self.targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn update_target(&self, state: TargetState) {
        let mut t = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        match t.iter_mut().find(|t| t.key == state.key) {
            Some(slot) => *slot = state,
            None => t.push(state),
        }
    }

    /// Forgets a target that is no longer scraped.
    pub fn remove_target(&self, key: u64) {
        let mut t = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        t.retain(|t| t.key != key);
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
