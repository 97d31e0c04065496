//! `lookout-tsdb`: the time-series store that runs both in the page (wasm) and in the relay.
//!
//! A [`Labels`] set names a series; the [`Store`] maps label sets to [`SeriesId`]s, indexes them
//! for [`Matcher`] selection and keeps their samples in time order.
//!
//! ```
//! use lookout_tsdb::{Labels, Matcher, MatchOp, Store};
//!
//! let mut store = Store::default();
//! let id = store.series_id(&Labels::new([("__name__", "up"), ("job", "api")]));
//! store.append(id, 1_000, 1.0).unwrap();
//! let m = Matcher::new(MatchOp::Equal, "job", "api").unwrap();
//! assert_eq!(store.select(&[m]), vec![id]);
//! assert_eq!(store.samples(id, i64::MIN, i64::MAX).collect::<Vec<_>>(), vec![(1_000, 1.0)]);
//! ```
//!
//! Inside: [`chunk`] holds the encodings (Prometheus-compatible XOR, and an integer encoding the
//! store picks when it is smaller), behind `ChunkAppender`/`ChunkIterator` traits; the store keeps
//! an open XOR head per series and seals full heads; [`snapshot`] turns the store (or what changed
//! since a mark) into checksummed bytes and back; [`Store::apply_retention`] and [`Store::stats`]
//! bound and describe memory; [`testdata`] generates realistic scraped data for tests and benches.
//!
//! Two ingest paths, two chunk layouts. [`Store::append`] (one sample) keeps a per-series XOR
//! head and seals it into the smaller of XOR and integer chunks. [`Store::append_scrape`] (one
//! target's whole scrape: one timestamp, many `(id, value)` pairs, same series in the same order
//! every scrape) puts the target's series in a scrape group: one timestamp column, raw rows for
//! the newest <= 64 scrapes (appending a scrape is a copy, not a cache miss per series), and
//! per-series value columns encoded a block of rows at a time; a full chunk is sealed as
//! columnar chunks ([`chunk::col`]) sharing one timestamp column (grid plus exceptions, so
//! scrape jitter is paid once per target, not per series). Measured on the bench fleet
//! (`examples/bench_store.rs`): columnar 1.16 B/sample vs XOR 2.67 and XOR|integer 2.49;
//! counters 0.70, histograms 1.08, gauges 1.90 (full-precision float gauges cost ~50 bits a
//! sample in any encoding). Which coding wins where, per block of 64 values: integer
//! delta + Rice for counters and histogram buckets (random increments), delta-of-delta for
//! steady rates, exact short decimals (`x / 10^d`, e.g. CPU seconds in 10 ms ticks) as integers,
//! a common shift for page-sized byte gauges, a header-only block for constants; Prometheus's
//! XOR value coding for full-precision floats (ratios, `_sum`), where nothing else wins.
//! XOR stays the interchange format: [`ChunkRef::to_xor`] re-encodes any chunk for
//! Prometheus, and XOR chunks from Prometheus are stored as they are ([`Store::append_chunk`]).
//!
//! This crate does no I/O and builds for native targets and `wasm32-unknown-unknown`.

pub mod chunk;
mod crc32;
mod error;
pub mod exposition;
mod index;
mod labels;
mod matcher;
pub mod regex;
mod retention;
pub mod snapshot;
pub mod sort;
mod store;
mod symbols;
pub mod testdata;

pub use error::{Error, ErrorKind};
pub use labels::{Labels, METRIC_NAME};
pub use matcher::{MatchOp, Matcher};
pub use retention::{EncodingStats, LabelCardinality, Retention, RetentionReport, Stats};
pub use store::{
    AppendError, Appended, BatchReport, ChunkRef, Rejections, SeriesId, SeriesSamples, Store,
    StoreConfig,
};

/// Milliseconds since the Unix epoch, as Prometheus counts time.
pub type Timestamp = i64;

/// The bit pattern Prometheus writes as a value to mark a series stale.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// True when `v` is exactly Prometheus's staleness marker (not any other NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}
