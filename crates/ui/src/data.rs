//! The page's data: a `lookout-tsdb` store fed with the relay's frames, and the questions panels
//! ask of it.

use std::collections::HashMap;

use lookout_tsdb::sort::SortDyn;
use lookout_tsdb::{Labels, MatchOp, Matcher, SeriesId, Store, is_stale_nan};
use lookout_wire::{Event, MetricMetadata};

/// One series as a panel draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesView {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
}

impl SeriesView {
    /// The newest value, unless the series went stale.
    pub fn last(&self) -> Option<f64> {
        self.points.last().map(|p| p.1)
    }

    /// The point nearest to `t` within `max_distance` ms, for tooltips.
    pub fn nearest(&self, t: i64, max_distance: i64) -> Option<(i64, f64)> {
        let i = self.points.partition_point(|p| p.0 < t);
        [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|i| self.points.get(i).copied())
            .filter(|p| (p.0 - t).abs() <= max_distance)
            .min_by_key(|p| (p.0 - t).abs())
    }
}

/// Copies series `from` of `src` into series `to` of `dst`: whole chunks where they do not
/// overlap what `to` holds, else sample by sample (samples already held are no-ops).
fn copy_series(src: &Store, from: SeriesId, dst: &mut Store, to: SeriesId) {
    for c in src.chunks(from, i64::MIN, i64::MAX) {
        if dst.append_chunk(to, c.encoding, &c.bytes).is_err() {
            for (t, v) in src.samples(from, c.mint, c.maxt) {
                let _ = dst.append(to, t, v);
            }
        }
    }
}

/// The store and the mapping from the relay's series numbers to the store's.
#[derive(Debug, Default)]
pub struct PageData {
    store: Store,
    /// Relay series number -> local id. Reset on every connection: a restarted relay renumbers.
    /// The relay's series numbers to local ids, with the labels: eviction (the offline cache's
    /// retention by bytes) removes series it empties, and a sample for one of those finds its
    /// series again by labels.
    refs: HashMap<u32, (SeriesId, lookout_tsdb::Labels)>,
    /// Newest sample timestamp seen, ms.
    pub newest: Option<i64>,
    /// Samples stored since the page opened.
    pub samples_received: u64,
    /// Target health as the relay last reported it (empty until it has).
    pub health: Vec<lookout_wire::TargetHealth>,
    /// HELP/TYPE/UNIT by metric family, as they came with series definitions.
    metadata: HashMap<String, MetricMetadata>,
}

impl PageData {
    /// A new connection: the relay's series numbers from before mean nothing now.
    pub fn reset_refs(&mut self) {
        self.refs.clear();
    }

    /// Applies one event of the stream. Returns whether data changed.
    pub fn apply(&mut self, event: Event) -> bool {
        match event {
            Event::Series { defs, metadata, .. } => {
                for d in defs {
                    let id = self.store.series_id(&d.labels);
                    self.refs.insert(d.series, (id, d.labels));
                }
                for m in metadata {
                    self.metadata.insert(m.metric.clone(), m);
                }
                false
            }
            Event::Samples { batch, .. } => {
                let mut changed = false;
                let mut unknown = 0usize;
                for (r, t, v) in batch.iter() {
                    let Some((id, labels)) = self.refs.get_mut(&r) else {
                        unknown += 1;
                        continue;
                    };
                    let mut appended = self.store.append(*id, t, v);
                    if let Err(lookout_tsdb::AppendError::UnknownSeries(_)) = appended {
                        // Evicted whole since it was defined: the same labels, a new id.
                        *id = self.store.series_id(labels);
                        appended = self.store.append(*id, t, v);
                    }
                    // Repeated samples (history overlapping what the page has, a resync) are
                    // no-ops; so are samples older than the newest one of their series.
                    if let Ok(lookout_tsdb::Appended::Stored) = appended {
                        changed = true;
                        self.samples_received += 1;
                        self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
                    }
                }
                if unknown > 0 {
                    // A relay bug, not the user's: say it where developers look.
                    web_sys::console::warn_1(
                        &format!("lookout: {unknown} samples for series the relay never defined")
                            .into(),
                    );
                }
                changed
            }
            Event::Targets(targets) => {
                let changed = targets != self.health;
                self.health = targets;
                changed
            }
            _ => false,
        }
    }

    /// HELP/TYPE/UNIT of the family a series named `metric_name` belongs to
    /// (`http_request_duration_seconds` for `http_request_duration_seconds_bucket`), when its
    /// target exposes them: for units on axes, counter-vs-gauge hints, help in tooltips.
    pub fn metadata_of(&self, metric_name: &str) -> Option<&MetricMetadata> {
        lookout_wire::family_candidates(metric_name).find_map(|f| self.metadata.get(f))
    }

    /// Every stored sample of the series named `metric_name`, one `labels timestamp value` line
    /// each (the format of `lookout tail`): what end-to-end tests compare with the relay's
    /// window, and a way to look at the page's data from the developer console.
    pub fn dump(&self, metric_name: &str) -> String {
        use std::fmt::Write as _;
        let Ok(m) = Matcher::new(MatchOp::Equal, "__name__", metric_name) else {
            return String::new();
        };
        let mut out = String::new();
        for id in self.store.select(&[m]) {
            let Some(labels) = self.store.labels(id) else {
                continue;
            };
            for (t, v) in self.store.samples(id, i64::MIN, i64::MAX) {
                let _ = writeln!(out, "{labels} {t} {v}");
            }
        }
        out
    }

    /// The store, for the query engine.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, for the offline cache (eviction).
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Starts from a store restored from the cache, before any connection.
    pub fn replace_store(&mut self, store: Store) {
        self.newest = crate::offline::persist::newest_sample(&store);
        self.store = store;
        self.refs.clear();
    }

    /// Merges a snapshot file (maybe from another browser, whose series numbers differ) into the
    /// store. The file is checked whole first: a bad file changes nothing. Returns the number of
    /// series it carried.
    pub fn import(&mut self, bytes: &[u8]) -> Result<usize, String> {
        let incoming = Store::from_snapshot(bytes).map_err(|e| e.to_string())?;
        self.merge(&incoming);
        Ok(incoming.num_series())
    }

    /// Merges another store into this one, series by series by labels: whole chunks where they
    /// do not overlap, else sample by sample (samples already held are no-ops). For imports, and
    /// for a tab that takes over writing the cache from files newer than what it restored.
    pub fn merge(&mut self, incoming: &Store) {
        // Ids of removed series leave gaps: walk every id ever given.
        for i in 0..incoming.id_bound() {
            let from = SeriesId(i);
            let Some(labels) = incoming.labels(from) else {
                continue;
            };
            let to = self.store.series_id(&labels);
            copy_series(incoming, from, &mut self.store, to);
        }
        self.newest = self
            .newest
            .max(crate::offline::persist::newest_sample(&self.store));
    }

    /// A store of the series any of `selectors` selects, with all their samples: what an
    /// exported dashboard needs of the page's data, which may hold other dashboards' series too.
    pub fn subset(&self, selectors: &[Vec<lookout_wire::MatcherSpec>]) -> Store {
        let mut ids: Vec<SeriesId> = selectors
            .iter()
            .filter_map(|sel| {
                sel.iter()
                    .map(lookout_wire::MatcherSpec::to_matcher)
                    .collect::<Result<Vec<_>, _>>()
                    .ok()
            })
            .flat_map(|m| self.store.select(&m))
            .collect();
        ids.sort_by_key_dyn(|id| id.0);
        ids.dedup();
        let mut out = Store::default();
        for from in ids {
            let Some(labels) = self.store.labels(from) else {
                continue;
            };
            let to = out.series_id(&labels);
            copy_series(&self.store, from, &mut out, to);
        }
        out
    }

    /// Samples stored with timestamps at or before `until`, across all series.
    pub fn samples_until(&self, until: i64) -> usize {
        (0..self.store.id_bound())
            .map(|i| self.store.samples(SeriesId(i), i64::MIN, until).count())
            .sum()
    }

    /// The series selected by `matchers` with their points in `[start, end]`; staleness markers
    /// end a line and are not drawn.
    pub fn select(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<SeriesView> {
        self.store
            .select(matchers)
            .into_iter()
            .filter_map(|id| {
                let labels = self.store.labels(id)?.clone();
                let mut points: Vec<(i64, f64)> = self.store.samples(id, start, end).collect();
                let stale_at_end = points.last().is_some_and(|p| is_stale_nan(p.1));
                points.retain(|p| !is_stale_nan(p.1));
                if stale_at_end && points.is_empty() {
                    return None;
                }
                Some(SeriesView { labels, points })
            })
            .collect()
    }

    /// `(job, instance, up)` of every target: as the relay reported it, or else from the newest
    /// value of each `up` series.
    pub fn targets(&self) -> Vec<(String, String, bool)> {
        if !self.health.is_empty() {
            let mut out: Vec<_> = self
                .health
                .iter()
                .map(|t| (t.job().to_owned(), t.instance().to_owned(), t.up()))
                .collect();
            out.sort_by_dyn(Ord::cmp);
            return out;
        }
        let Ok(m) = Matcher::new(MatchOp::Equal, "__name__", "up") else {
            return Vec::new();
        };
        let mut out: Vec<_> = self
            .select(&[m], i64::MIN, i64::MAX)
            .into_iter()
            .map(|s| {
                let job = s.labels.get("job").unwrap_or_default().to_owned();
                let instance = s.labels.get("instance").unwrap_or_default().to_owned();
                (job, instance, s.last() == Some(1.0))
            })
            .collect();
        out.sort_by_dyn(Ord::cmp);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_wire::{SampleBatch, SeriesDef};

    fn up(instance: &str) -> Labels {
        Labels::new([("__name__", "up"), ("job", "api"), ("instance", instance)])
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn nearest_point_for_tooltips() {
        let s = SeriesView {
            labels: Labels::default(),
            points: vec![(0, 1.0), (10, 2.0), (30, 3.0)],
        };
        assert_eq!(s.nearest(12, 5), Some((10, 2.0)));
        assert_eq!(s.nearest(21, 10), Some((30, 3.0)));
        assert_eq!(s.nearest(100, 10), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn frames_fill_the_store_and_replays_do_not_double() {
        let mut d = PageData::default();
        d.apply(Event::Series {
            sub: 1,
            defs: vec![SeriesDef {
                series: 9,
                labels: up("a:1"),
            }],
            metadata: vec![MetricMetadata {
                metric: "up".into(),
                kind: lookout_wire::MetricType::Gauge,
                help: "1 if the last scrape worked".into(),
                unit: String::new(),
            }],
        });
        assert_eq!(
            d.metadata_of("up").map(|m| m.kind),
            Some(lookout_wire::MetricType::Gauge)
        );
        assert!(
            d.metadata_of("up_total").is_some(),
            "a suffix finds its family"
        );
        assert!(d.metadata_of("down").is_none());
        let mut b = SampleBatch::default();
        b.push(9, 1000, 1.0);
        b.push(9, 2000, 0.0);
        assert!(d.apply(Event::Samples {
            sub: 1,
            batch: b.clone()
        }));
        // The same batch again after a reconnect changes nothing.
        d.reset_refs();
        d.apply(Event::Series {
            sub: 1,
            defs: vec![SeriesDef {
                series: 3,
                labels: up("a:1"),
            }],
            metadata: Vec::new(),
        });
        b.series = vec![3, 3];
        assert!(!d.apply(Event::Samples { sub: 1, batch: b }));
        assert_eq!(d.samples_received, 2);
        assert_eq!(d.targets(), vec![("api".into(), "a:1".into(), false)]);
        assert_eq!(d.newest, Some(2000));
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_series_evicted_whole_takes_samples_again() {
        let mut d = PageData::default();
        d.apply(Event::Series {
            sub: 1,
            defs: vec![SeriesDef {
                series: 4,
                labels: up("b:1"),
            }],
            metadata: Vec::new(),
        });
        // What the offline cache's eviction does to a series it leaves without samples (a
        // live series too, between a sealed chunk and its next sample).
        assert!(d.store_mut().remove_series(SeriesId(0)));
        assert_eq!(d.store().num_series(), 0);
        let mut b = SampleBatch::default();
        b.push(4, 6000, 0.0);
        assert!(
            d.apply(Event::Samples { sub: 1, batch: b }),
            "stored under a new id"
        );
        assert_eq!(d.dump("up").lines().count(), 1, "{}", d.dump("up"));
    }
}
