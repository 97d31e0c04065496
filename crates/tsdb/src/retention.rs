//! Retention (by time and by a memory budget) and statistics.
//!
//! Retention works on whole chunks, oldest first, as Prometheus's does on blocks: a chunk that
//! straddles the time limit stays until all of it is older. Series ids stay valid after their
//! data is dropped (a page may still hold them); their labels remain in the index.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::chunk::Encoding;
use crate::sort::SortDyn;
use crate::store::{Head, Series, seal_head};
use crate::{Store, Timestamp};

/// What to keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Drop chunks whose newest sample is older than this.
    pub min_time: Option<Timestamp>,
    /// Drop the oldest chunks (across all series) until the store's bytes ([`Stats::total_bytes`])
    /// are at most this.
    pub max_bytes: Option<usize>,
}

/// What retention dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub chunks: usize,
    pub samples: usize,
    pub bytes: usize,
    /// Series left with no samples. They are removed (index, labels, lookup table; see
    /// [`Store::remove_series`]); their ids are not reused.
    pub series_emptied: usize,
    /// Newest timestamp among dropped samples: data up to here may be gone.
    pub dropped_through: Option<Timestamp>,
}

/// Chunks, samples and bytes of one encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingStats {
    pub encoding: Encoding,
    pub chunks: usize,
    pub samples: usize,
    pub bytes: usize,
}

/// The store's size and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub series: usize,
    pub chunks: usize,
    pub samples: usize,
    /// Compressed sample bytes (sealed chunks and open heads).
    pub chunk_bytes: usize,
    /// Estimated bytes of everything else: labels, index, per-series and per-chunk bookkeeping.
    pub overhead_bytes: usize,
    pub by_encoding: Vec<EncodingStats>,
    pub rejected_out_of_order: u64,
    pub rejected_duplicate_timestamp: u64,
}

impl Stats {
    pub fn total_bytes(&self) -> usize {
        self.chunk_bytes + self.overhead_bytes
    }
}

/// Distinct values and series of one label name (for a cardinality view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelCardinality {
    pub name: String,
    pub values: usize,
    pub series: usize,
}

const SEALED_OVERHEAD: usize = std::mem::size_of::<crate::store::Sealed>();

impl Store {
    pub fn stats(&self) -> Stats {
        let mut by = [
            (Encoding::Xor, 0, 0, 0),
            (Encoding::Int, 0, 0, 0),
            (Encoding::Col, 0, 0, 0),
        ];
        let (mut chunks, mut samples, mut chunk_bytes, mut overhead) = (0, 0, 0, 0);
        // Shared timestamp columns count once, with the first chunk that holds them.
        let mut seen_ts: std::collections::HashSet<*const u8> = Default::default();
        for s in &self.series {
            overhead += s.labels.heap_bytes() + s.chunks.capacity() * SEALED_OVERHEAD;
            for c in &s.chunks {
                let e = &mut by[match c.encoding {
                    Encoding::Xor => 0,
                    Encoding::Int => 1,
                    Encoding::Col => 2,
                }];
                e.1 += 1;
                e.2 += c.samples as usize;
                e.3 += c.bytes.len();
                if let Some(ts) = &c.ts
                    && seen_ts.insert(ts.as_ptr())
                {
                    e.3 += ts.len();
                }
            }
            if let Some(h) = &s.head {
                by[0].1 += 1;
                by[0].2 += h.chunk.num_samples();
                by[0].3 += h.chunk.bytes().len();
                // Spare capacity of the growing head is overhead, not data.
                overhead +=
                    std::mem::size_of::<Head>() + h.chunk.heap_bytes() - h.chunk.bytes().len();
            }
        }
        for g in &self.groups {
            let (data, spare) = g.heap_bytes();
            if data > 0 {
                by[2].1 += g.members.len();
                by[2].2 += g.members.len() * g.ts.len();
                by[2].3 += data;
            }
            overhead += spare;
        }
        for e in &by {
            chunks += e.1;
            samples += e.2;
            chunk_bytes += e.3;
        }
        overhead += self.series.capacity() * std::mem::size_of::<Series>()
            + self.lookup_heap_bytes()
            + self.symbols.heap_bytes()
            + self.index.heap_bytes();
        Stats {
            series: self.num_series(),
            chunks,
            samples,
            chunk_bytes,
            overhead_bytes: overhead,
            by_encoding: by
                .iter()
                .map(|&(encoding, chunks, samples, bytes)| EncodingStats {
                    encoding,
                    chunks,
                    samples,
                    bytes,
                })
                .collect(),
            rejected_out_of_order: self.rejections.out_of_order,
            rejected_duplicate_timestamp: self.rejections.duplicate_timestamp,
        }
    }

    /// Per label name: distinct values and series carrying it, most values first.
    pub fn label_cardinality(&self) -> Vec<LabelCardinality> {
        let mut v: Vec<LabelCardinality> = self
            .index
            .cardinality()
            .into_iter()
            .map(|(name, values, series)| LabelCardinality {
                name,
                values,
                series,
            })
            .collect();
        v.sort_by_dyn(|a, b| b.values.cmp(&a.values).then_with(|| a.name.cmp(&b.name)));
        v
    }

    /// Removes the series retention has just left without samples.
    fn remove_emptied(&mut self, emptied: Vec<u32>) {
        for i in emptied {
            self.remove_series(crate::SeriesId(i));
        }
    }

    /// Drops the oldest chunks across all series until about `excess` bytes are freed.
    fn drop_oldest(&mut self, excess: usize, seq: u64, report: &mut RetentionReport) {
        // Oldest first across series: a min-heap on each series' oldest chunk end. Open heads
        // are sealed so they can go too, last.
        let mut heap: BinaryHeap<Reverse<(Timestamp, u32)>> = BinaryHeap::new();
        self.dissolve_groups(seq, None);
        for (i, s) in self.series.iter_mut().enumerate() {
            seal_head(s, seq);
            if let Some(c) = s.chunks.first() {
                heap.push(Reverse((c.maxt, i as u32)));
            }
        }
        let mut dropped = vec![0usize; self.series.len()];
        let mut freed = 0;
        while freed < excess {
            let Some(Reverse((_, i))) = heap.pop() else {
                break;
            };
            let s = &self.series[i as usize];
            let k = dropped[i as usize];
            let Some(c) = s.chunks.get(k) else { continue };
            freed += c.stored_bytes() as usize + SEALED_OVERHEAD;
            dropped[i as usize] += 1;
            if let Some(next) = s.chunks.get(k + 1) {
                heap.push(Reverse((next.maxt, i)));
            }
        }
        let mut emptied = Vec::new();
        for (i, (s, n)) in self.series.iter_mut().zip(dropped).enumerate() {
            if drop_front(s, n, report) {
                emptied.push(i as u32);
            }
        }
        self.remove_emptied(emptied);
    }

    /// Drops the oldest chunks per the policy and says what went.
    pub fn apply_retention(&mut self, policy: Retention) -> RetentionReport {
        let mut report = RetentionReport::default();
        let seq = self.seq + 1;
        if let Some(min) = policy.min_time {
            self.dissolve_groups(seq, Some(min));
            let mut emptied = Vec::new();
            for (i, s) in self.series.iter_mut().enumerate() {
                if s.head.as_ref().is_some_and(|h| h.chunk.last_t() < min) {
                    seal_head(s, seq);
                }
                let n = s.chunks.partition_point(|c| c.maxt < min);
                if drop_front(s, n, &mut report) {
                    emptied.push(i as u32);
                }
            }
            self.remove_emptied(emptied);
        }
        if let Some(budget) = policy.max_bytes {
            // Bookkeeping shrinks with the data only approximately, so re-measure and repeat.
            for _ in 0..4 {
                let total = self.stats().total_bytes();
                if total <= budget {
                    break;
                }
                self.drop_oldest(total - budget, seq, &mut report);
            }
        }
        if report.chunks > 0 {
            self.seq = seq;
        }
        report
    }
}

/// Drops a series' `n` oldest chunks; true when that left it without samples.
fn drop_front(s: &mut Series, n: usize, report: &mut RetentionReport) -> bool {
    if n == 0 {
        return false;
    }
    for c in s.chunks.drain(..n) {
        report.chunks += 1;
        report.samples += c.samples as usize;
        report.bytes += c.stored_bytes() as usize;
        report.dropped_through = report.dropped_through.max(Some(c.maxt));
    }
    s.chunks.shrink_to_fit();
    let emptied = s.is_empty();
    if emptied {
        report.series_emptied += 1;
    }
    emptied
}

#[cfg(test)]
mod tests {
    use crate::{Labels, SeriesId, Store, StoreConfig};

    use super::*;

    fn store() -> Store {
        let mut s = Store::new(StoreConfig {
            samples_per_chunk: 10,
        });
        for i in 0..4 {
            let id = s.series_id(&Labels::new([("s", i.to_string().as_str())]));
            for k in 0..100i64 {
                s.append(id, k * 1000 + i, (k * k) as f64 * 0.1).unwrap();
            }
        }
        s
    }

    #[test]
    fn time_retention_drops_whole_old_chunks_and_reports_them() {
        let mut s = store();
        let r = s.apply_retention(Retention {
            min_time: Some(50_000),
            max_bytes: None,
        });
        assert_eq!(r.chunks, 4 * 5);
        assert_eq!(r.samples, 4 * 50);
        assert!(r.dropped_through.is_some_and(|t| t < 50_000));
        let left: Vec<_> = s.samples(crate::SeriesId(0), i64::MIN, i64::MAX).collect();
        assert_eq!(left.first().map(|p| p.0), Some(50_000));
        assert_eq!(s.stats().samples, 4 * 50);
    }

    #[test]
    fn byte_budget_drops_oldest_first_across_series() {
        let mut s = store();
        let before = s.stats();
        let budget = before.total_bytes() / 2;
        let r = s.apply_retention(Retention {
            min_time: None,
            max_bytes: Some(budget),
        });
        let after = s.stats();
        assert!(
            after.total_bytes() <= budget,
            "{} > {budget}",
            after.total_bytes()
        );
        assert_eq!(after.samples + r.samples, before.samples);
        // Oldest first: every series lost about the same span, the newest data all stayed.
        for i in 0..4 {
            let (first, last) = s.time_range(crate::SeriesId(i)).unwrap();
            assert_eq!(last, 99_000 + i as i64);
            assert!(first > 20_000, "series {i} kept from {first}");
        }
    }

    #[test]
    fn stats_count_encodings_and_cardinality() {
        let s = store();
        let st = s.stats();
        assert_eq!((st.series, st.samples), (4, 400));
        assert_eq!(st.by_encoding.iter().map(|e| e.samples).sum::<usize>(), 400);
        let card = s.label_cardinality();
        assert_eq!(card[0].name, "s");
        assert_eq!((card[0].values, card[0].series), (4, 4));
    }

    #[test]
    fn series_retention_empties_are_removed_and_ids_stay_stable() {
        // Series 1 and 2 stop at 40 s; 0 and 3 go on. 10-sample chunks: 0..40 s is 4 chunks.
        let labels = |i: u32| Labels::new([("s", i.to_string().as_str()), ("job", "j")]);
        let mut s = Store::new(StoreConfig {
            samples_per_chunk: 10,
        });
        for i in 0..4u32 {
            let id = s.series_id(&labels(i));
            let end = if i == 1 || i == 2 { 40 } else { 100 };
            for k in 0..end {
                s.append(id, k * 1000, k as f64).unwrap();
            }
        }
        assert!(s.lookup(&labels(1)).is_some());
        let before = s.stats();
        let r = s.apply_retention(Retention {
            min_time: Some(50_000),
            max_bytes: None,
        });
        assert_eq!(r.series_emptied, 2);
        assert_eq!(s.num_series(), 2);
        assert_eq!(s.stats().series, 2);
        assert!(s.stats().overhead_bytes < before.overhead_bytes);
        // Gone from every way of finding a series.
        let job = crate::Matcher::new(crate::MatchOp::Equal, "job", "j").unwrap();
        assert_eq!(s.select(&[job]), vec![SeriesId(0), SeriesId(3)]);
        let not_s = crate::Matcher::new(crate::MatchOp::NotEqual, "s", "0").unwrap();
        assert_eq!(s.select(&[not_s]), vec![SeriesId(3)]);
        assert_eq!(s.label_values("s", &[], i64::MIN, i64::MAX), vec!["0", "3"]);
        assert_eq!(s.lookup(&labels(1)), None);
        assert_eq!(s.labels(SeriesId(1)), None);
        assert_eq!(
            s.append(SeriesId(1), 200_000, 1.0),
            Err(crate::AppendError::UnknownSeries(SeriesId(1)))
        );
        // Live series keep their ids and data.
        assert_eq!(s.time_range(SeriesId(3)), Some((50_000, 99_000)));
        assert_eq!(
            s.labels(SeriesId(3)).unwrap().get("s"),
            Some("3"),
            "id 3 still names s=3"
        );
        // The same labels coming back get a new id.
        let back = s.series_id(&labels(1));
        assert_eq!(back, SeriesId(4));
        assert_eq!(s.num_series(), 3);
        // The label value "2" was used only by the removed series: its string is gone too.
        let card = s.label_cardinality();
        let sc = card.iter().find(|c| c.name == "s").unwrap();
        assert_eq!((sc.values, sc.series), (3, 3));
        // A series holding samples is not removed on request; an empty, live one is.
        assert!(!s.remove_series(SeriesId(0)));
        let empty = s.series_id(&Labels::new([("s", "e")]));
        assert!(s.remove_series(empty));
        assert!(!s.remove_series(empty));
        assert_eq!(s.num_series(), 3);
    }
}
