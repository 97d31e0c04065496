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
//! This crate does no I/O and builds for native targets and `wasm32-unknown-unknown`.

pub mod chunk;
mod crc32;
mod error;
pub mod exposition;
mod index;
mod labels;
mod matcher;
mod retention;
pub mod snapshot;
mod store;
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
