//! The store: series by label set, a postings index, and each series' samples in compressed chunks.
//!
//! Per series: time-ordered, non-overlapping sealed chunks (each in whichever encoding was
//! smaller) and one open XOR head chunk that appends go to. Ingest rules follow Prometheus: a
//! sample newer than the series' newest is appended; one equal to the newest is a no-op; an older
//! one is refused and counted, unless it falls where the series holds no chunk at all (history
//! arriving later, a backfill into a hole), in which case it is merged in time order.
//!
//! Series appended a whole scrape at a time ([`Store::append_scrape`]) form a scrape group
//! instead (see [`group`]): one timestamp column for all of them, raw rows for the newest
//! samples, per-series value columns, sealed together as columnar chunks.

mod group;

use crate::sort::SortDyn;
use std::borrow::Cow;
use std::cell::RefCell;

use hashbrown::HashTable;
use std::hash::Hasher;
use std::sync::{Arc, Weak};

use crate::chunk::{self, ChunkAppender, ChunkIter, ChunkIterator, Encoding, XorChunk, col};
use crate::index::Index;
use crate::symbols::{SymbolLabels, Symbols};
use crate::{Error, ErrorKind, Labels, Matcher, Timestamp};

/// A series' stable number within one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(pub u32);

/// What an accepted append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The sample was stored.
    Stored,
    /// The store already holds this exact sample; nothing changed.
    Duplicate,
}

/// Why an append was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppendError {
    /// No series has this id.
    UnknownSeries(SeriesId),
    /// The sample is older than the series' newest one and falls inside stored data.
    OutOfOrder { newest: Timestamp },
    /// Same timestamp as a stored sample, different value.
    DuplicateTimestamp,
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::UnknownSeries(id) => write!(f, "unknown series id {}", id.0),
            AppendError::OutOfOrder { newest } => {
                write!(f, "out of order sample (newest is at {newest})")
            }
            AppendError::DuplicateTimestamp => f.write_str("duplicate sample for timestamp"),
        }
    }
}

impl std::error::Error for AppendError {}

/// Tuning for a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// Samples per chunk before the head is sealed. Prometheus uses 120; twice that amortises
    /// each chunk's uncompressed first sample (~20 bytes) over more samples at the cost of
    /// decoding up to 240 samples to reach the middle of one.
    pub samples_per_chunk: u16,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            samples_per_chunk: 240,
        }
    }
}

/// A sealed chunk.
#[derive(Debug, Clone)]
pub(crate) struct Sealed {
    /// The chunk's bytes; for a columnar chunk only its value column.
    pub(crate) bytes: Box<[u8]>,
    /// A columnar chunk's timestamp column, shared by the series scraped together.
    pub(crate) ts: Option<Arc<[u8]>>,
    pub(crate) mint: Timestamp,
    pub(crate) maxt: Timestamp,
    pub(crate) encoding: Encoding,
    pub(crate) samples: u16,
    /// Store change counter when this chunk was last written (for incremental snapshots).
    pub(crate) seq: u64,
}

impl Sealed {
    /// Self-contained bytes in `encoding` (a columnar chunk gets its timestamp column back).
    pub(crate) fn export(&self) -> Cow<'_, [u8]> {
        match &self.ts {
            Some(ts) => Cow::Owned(col::join(self.samples, ts, &self.bytes)),
            None => Cow::Borrowed(&self.bytes),
        }
    }

    /// Bytes held, a shared timestamp column split evenly among the chunks sharing it.
    pub(crate) fn stored_bytes(&self) -> f64 {
        self.bytes.len() as f64
            + self
                .ts
                .as_ref()
                .map_or(0.0, |t| t.len() as f64 / Arc::strong_count(t) as f64)
    }

    pub(crate) fn iter(&self) -> Result<ChunkIter<'_>, Error> {
        match &self.ts {
            Some(ts) => Ok(ChunkIter::Col(col::ColIter::from_parts(
                ts,
                &self.bytes,
                self.samples as usize,
            )?)),
            None => ChunkIter::new(self.encoding, &self.bytes),
        }
    }

    /// Decodes every sample into `ts`/`vs` (cleared first).
    fn decode_into(&self, ts: &mut Vec<Timestamp>, vs: &mut Vec<f64>) -> Result<(), Error> {
        let n = self.samples as usize;
        if let Some(tcol) = &self.ts {
            decode_shared_timestamps(tcol, n, ts)?;
            return col::decode_values(&self.bytes, n, vs);
        }
        ts.clear();
        vs.clear();
        ChunkIter::new(self.encoding, &self.bytes)?.read_all(ts, vs)
    }
}

/// Recently decoded shared timestamp columns, per thread. A scrape group's series share one
/// timestamp column per chunk, and readers go series by series (ids of one target are adjacent),
/// so the same column is asked for once per member: decoding it once and copying it out for the
/// others saves ~10% of a full decode on `testdata::Fleet`. Slots are keyed by the column's
/// allocation and hold a `Weak` to it, which keeps that allocation from being reused while the
/// slot names it, so an equal pointer always means the same (immutable) bytes; a `Weak` does not
/// count in `Arc::strong_count`, which byte accounting splits columns by.
struct TimestampMemo {
    slots: Vec<MemoSlot>,
}

/// A decoded column and the column it was decoded from.
type MemoSlot = (Option<Weak<[u8]>>, Vec<Timestamp>);

/// Direct-mapped: enough for a few dozen chunks per series before slots evict each other.
const MEMO_SLOTS: usize = 32;

thread_local! {
    static TIMESTAMP_MEMO: RefCell<TimestampMemo> =
        const { RefCell::new(TimestampMemo { slots: Vec::new() }) };
}

/// [`col::decode_timestamps`] for a column shared through an `Arc`, memoized per thread.
fn decode_shared_timestamps(
    tcol: &Arc<[u8]>,
    n: usize,
    out: &mut Vec<Timestamp>,
) -> Result<(), Error> {
    let key = Arc::as_ptr(tcol) as *const u8;
    let slot = ((key as usize as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 59) as usize;
    TIMESTAMP_MEMO.with(|memo| {
        let Ok(mut memo) = memo.try_borrow_mut() else {
            return col::decode_timestamps(tcol, n, out);
        };
        if memo.slots.is_empty() {
            memo.slots.resize_with(MEMO_SLOTS, || (None, Vec::new()));
        }
        let Some((held, ts)) = memo.slots.get_mut(slot % MEMO_SLOTS) else {
            return col::decode_timestamps(tcol, n, out);
        };
        if held
            .as_ref()
            .is_some_and(|w| std::ptr::eq(w.as_ptr() as *const u8, key) && ts.len() == n)
        {
            out.clear();
            out.extend_from_slice(ts);
            return Ok(());
        }
        col::decode_timestamps(tcol, n, out)?;
        *held = Some(Arc::downgrade(tcol));
        ts.clear();
        ts.extend_from_slice(out);
        Ok(())
    })
}

/// A series' open XOR head chunk (the single-sample ingest path), boxed so that series without
/// one (scrape-grouped, or holding only sealed chunks) pay one pointer for it.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub(crate) chunk: XorChunk,
    pub(crate) mint: Timestamp,
    /// Store change counter at the head's last append.
    pub(crate) seq: u64,
}

/// `Series::group` when the series is in no scrape group.
pub(crate) const NO_GROUP: u32 = u32::MAX;

/// One series. Kept small (64 bytes): a store holds one per series ever seen, and beyond the
/// chunk bytes this struct, the label set, the index postings and the hash table entry are all
/// a series costs (`memory_per_series_100k` in `examples/bench_store.rs`).
#[derive(Debug)]
pub(crate) struct Series {
    /// The label set as symbol ids into `Store::symbols`.
    pub(crate) labels: SymbolLabels,
    pub(crate) chunks: Vec<Sealed>,
    /// Some exactly when the head holds at least one sample.
    pub(crate) head: Option<Box<Head>>,
    /// Store change counter at the series' creation (never 0: 0 marks a removed series).
    pub(crate) created_seq: u64,
    /// The scrape group this series' newest samples sit in (or `NO_GROUP`), and its column there.
    pub(crate) group: u32,
    pub(crate) slot: u32,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            labels: SymbolLabels::default(),
            chunks: Vec::new(),
            head: None,
            created_seq: 0,
            group: NO_GROUP,
            slot: 0,
        }
    }
}

impl Series {
    /// False for the slot of a removed series (see [`Store::remove_series`]); ids of removed
    /// series are not reused.
    pub(crate) fn is_live(&self) -> bool {
        self.created_seq != 0
    }

    /// True when the series holds no sample anywhere (sealed, head or scrape group).
    pub(crate) fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.head.is_none() && self.group().is_none()
    }

    pub(crate) fn group(&self) -> Option<u32> {
        (self.group != NO_GROUP).then_some(self.group)
    }

    fn newest(&self) -> Option<Timestamp> {
        match &self.head {
            Some(h) => Some(h.chunk.last_t()),
            None => self.chunks.last().map(|c| c.maxt),
        }
    }

    fn oldest(&self) -> Option<Timestamp> {
        self.chunks
            .first()
            .map(|c| c.mint)
            .or(self.head.as_ref().map(|h| h.mint))
    }
}

/// A chunk of one series as stored, for shipping without re-encoding. Columnar chunks are
/// self-contained here (their shared timestamp column copied in); [`ChunkRef::to_xor`] gives
/// Prometheus's encoding for any chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRef<'a> {
    pub encoding: Encoding,
    pub bytes: Cow<'a, [u8]>,
    pub mint: Timestamp,
    pub maxt: Timestamp,
    pub num_samples: usize,
}

impl<'a> ChunkRef<'a> {
    /// Iterates the chunk's samples.
    pub fn iter(&self) -> Result<ChunkIter<'_>, Error> {
        ChunkIter::new(self.encoding, &self.bytes)
    }

    /// The chunk as Prometheus's XOR bytes (for remote read/write), re-encoded when it is not.
    pub fn to_xor(&self) -> Result<Cow<'_, [u8]>, Error> {
        if self.encoding == Encoding::Xor {
            return Ok(Cow::Borrowed(&self.bytes));
        }
        let samples: Vec<_> = self.iter()?.samples().collect();
        Ok(Cow::Owned(chunk::encode_xor(&samples)?.into_bytes()))
    }
}

/// Counts of what a batch append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub stored: usize,
    pub duplicates: usize,
    pub out_of_order: usize,
    pub duplicate_timestamp: usize,
    pub unknown_series: usize,
}

impl BatchReport {
    fn count(&mut self, r: Result<Appended, AppendError>) {
        match r {
            Ok(Appended::Stored) => self.stored += 1,
            Ok(Appended::Duplicate) => self.duplicates += 1,
            Err(AppendError::OutOfOrder { .. }) => self.out_of_order += 1,
            Err(AppendError::DuplicateTimestamp) => self.duplicate_timestamp += 1,
            Err(AppendError::UnknownSeries(_)) => self.unknown_series += 1,
        }
    }
}

/// Refused appends since the store was created, by reason (as Prometheus counts them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rejections {
    pub out_of_order: u64,
    pub duplicate_timestamp: u64,
    pub unknown_series: u64,
}

/// A word-at-a-time multiplicative hash (FxHash's). Label-set lookups are on the ingest path;
/// SipHash costs several times more there. Collisions are handled by comparing label sets, so a
/// crafted collision costs time, never correctness.
#[derive(Default)]
pub(crate) struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let mut w = [0u8; 8];
        let rest = chunks.remainder();
        w[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(w) ^ (rest.len() as u64) << 56);
    }
}

impl WordHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Series, their index and their samples.
#[derive(Debug, Default)]
pub struct Store {
    pub(crate) config: StoreConfig,
    pub(crate) series: Vec<Series>,
    /// Series ids by label-set hash: 4 bytes a bucket (plus a control byte), hashes recomputed
    /// from the labels when the table grows. Equal hashes are told apart by comparing labels.
    by_labels: HashTable<u32>,
    pub(crate) index: Index,
    pub(crate) symbols: Symbols,
    /// Bumped on every change; chunks remember it so a snapshot can take only what changed.
    pub(crate) seq: u64,
    pub(crate) rejections: Rejections,
    pub(crate) groups: Vec<group::Group>,
    free_groups: Vec<u32>,
    /// Series removed so far (their slots stay, empty, so ids of live series never change).
    removed: usize,
}

impl Store {
    pub fn new(config: StoreConfig) -> Self {
        Store {
            config,
            ..Store::default()
        }
    }

    /// A label set's hash, over its strings (so the packed and the symbol form hash alike).
    fn hash<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
        let mut h = WordHasher::default();
        for (n, v) in pairs {
            h.write(n.as_bytes());
            h.write(v.as_bytes());
        }
        h.finish()
    }

    /// Adds a series with labels the store does not hold at id `id` (at or above `id_bound`),
    /// leaving the ids in between as removed series (snapshot restore keeps the writer's ids).
    pub(crate) fn push_series_at(&mut self, id: u32, labels: &Labels) {
        while (self.series.len() as u32) < id {
            self.series.push(Series::default());
            self.removed += 1;
        }
        let got = self.series_id(labels);
        debug_assert_eq!(got.0, id);
    }

    /// The id of the series with these labels, created if new.
    pub fn series_id(&mut self, labels: &Labels) -> SeriesId {
        let h = Self::hash(labels.iter());
        if let Some(id) = self.find(h, labels) {
            return id;
        }
        let id = self.series.len() as u32;
        let symbols = self.symbols.encode(labels.len(), labels.iter());
        let Store {
            series,
            symbols: table,
            by_labels,
            ..
        } = self;
        by_labels.insert_unique(h, id, |&i| {
            series
                .get(i as usize)
                .map_or(0, |s| Self::hash(table.pairs(&s.labels)))
        });
        self.index.add(id, labels);
        self.seq += 1;
        self.series.push(Series {
            labels: symbols,
            created_seq: self.seq,
            ..Series::default()
        });
        SeriesId(id)
    }

    fn find(&self, h: u64, labels: &Labels) -> Option<SeriesId> {
        self.by_labels
            .find(h, |&i| {
                self.series
                    .get(i as usize)
                    .is_some_and(|s| self.symbols.pairs(&s.labels).eq(labels.iter()))
            })
            .map(|&i| SeriesId(i))
    }

    /// Heap bytes of the label-set lookup table: a 4-byte id and a control byte per bucket.
    pub(crate) fn lookup_heap_bytes(&self) -> usize {
        self.by_labels.capacity() * 5
    }

    /// The id of an existing series.
    pub fn lookup(&self, labels: &Labels) -> Option<SeriesId> {
        self.find(Self::hash(labels.iter()), labels)
    }

    /// A series' label set (built from the store's interned strings: one small allocation).
    pub fn labels(&self, id: SeriesId) -> Option<Labels> {
        let s = self.series.get(id.0 as usize).filter(|s| s.is_live())?;
        Some(Labels::from_sorted(self.symbols.pairs(&s.labels)))
    }

    /// The value of label `name` of a series, without building its label set.
    pub fn label_value(&self, id: SeriesId, name: &str) -> Option<&str> {
        let s = self.series.get(id.0 as usize)?;
        self.symbols.value(&s.labels, name)
    }

    /// Live series (removed ones not counted).
    pub fn num_series(&self) -> usize {
        self.series.len() - self.removed
    }

    /// One more than the largest series id handed out so far.
    pub fn id_bound(&self) -> u32 {
        self.series.len() as u32
    }

    /// Removes a series that holds no samples: out of the index, the lookup table and the
    /// symbol counts, its slot emptied. Its id is never handed out again; the same labels later
    /// get a new id. Returns false (and changes nothing) for a series that holds samples or does
    /// not exist. Retention calls this for series whose last chunk it dropped.
    pub fn remove_series(&mut self, id: SeriesId) -> bool {
        let Store {
            series,
            symbols,
            index,
            by_labels,
            ..
        } = self;
        let Some(s) = series.get_mut(id.0 as usize) else {
            return false;
        };
        if !s.is_live() || !s.is_empty() {
            return false;
        }
        let h = Self::hash(symbols.pairs(&s.labels));
        if let Ok(entry) = by_labels.find_entry(h, |&i| i == id.0) {
            entry.remove();
        }
        index.remove(id.0, symbols.pairs(&s.labels));
        symbols.release_all(&s.labels);
        *s = Series::default();
        self.removed += 1;
        self.seq += 1;
        true
    }

    /// Appends one sample. See the module docs for the ordering rules.
    pub fn append(&mut self, id: SeriesId, t: Timestamp, v: f64) -> Result<Appended, AppendError> {
        let r = self.append_inner(id, t, v);
        match r {
            Err(AppendError::OutOfOrder { .. }) => self.rejections.out_of_order += 1,
            Err(AppendError::DuplicateTimestamp) => self.rejections.duplicate_timestamp += 1,
            Err(AppendError::UnknownSeries(_)) => self.rejections.unknown_series += 1,
            Ok(_) => {}
        }
        r
    }

    #[inline]
    fn append_inner(
        &mut self,
        id: SeriesId,
        t: Timestamp,
        v: f64,
    ) -> Result<Appended, AppendError> {
        let per_chunk = self.config.samples_per_chunk.max(2) as usize;
        let g = self
            .series
            .get(id.0 as usize)
            .filter(|s| s.is_live())
            .ok_or(AppendError::UnknownSeries(id))?
            .group();
        if let Some(g) = g {
            // One sample of a scrape-grouped series: the group is sealed and dissolved, and the
            // series continues on its own (the next whole scrape regroups it).
            self.dissolve_group(g, self.seq + 1);
        }
        let seq = self.seq + 1;
        let s = self
            .series
            .get_mut(id.0 as usize)
            .ok_or(AppendError::UnknownSeries(id))?;
        if let Some(newest) = s.newest()
            && t <= newest
        {
            let r = Self::append_old(s, t, v, newest, seq, per_chunk);
            if r == Ok(Appended::Stored) {
                self.seq = seq;
            }
            return r;
        }
        if s.head
            .as_ref()
            .is_some_and(|h| h.chunk.num_samples() >= per_chunk)
        {
            seal_head(s, seq);
        }
        let head = s.head.get_or_insert_with(|| {
            Box::new(Head {
                chunk: XorChunk::new(),
                mint: t,
                seq,
            })
        });
        // The head cannot be full here (sealed above), so this cannot fail.
        let _ = head.chunk.append(t, v);
        head.seq = seq;
        self.seq = seq;
        Ok(Appended::Stored)
    }

    /// A sample at or before the newest: a duplicate, a refusal, or a backfill into a hole.
    fn append_old(
        s: &mut Series,
        t: Timestamp,
        v: f64,
        newest: Timestamp,
        seq: u64,
        per_chunk: usize,
    ) -> Result<Appended, AppendError> {
        let existing = |it: &mut ChunkIter<'_>| -> Result<Appended, AppendError> {
            if it.seek(t) && it.at().0 == t {
                if it.at().1.to_bits() == v.to_bits() {
                    return Ok(Appended::Duplicate);
                }
                return Err(AppendError::DuplicateTimestamp);
            }
            Err(AppendError::OutOfOrder { newest })
        };
        if let Some(h) = &s.head
            && t >= h.mint
        {
            return existing(&mut ChunkIter::Xor(h.chunk.iter()));
        }
        // First chunk ending at or after t.
        let i = s.chunks.partition_point(|c| c.maxt < t);
        if let Some(c) = s.chunks.get(i) {
            if c.mint <= t {
                return existing(&mut c.iter().map_err(|_| AppendError::OutOfOrder { newest })?);
            }
        }
        // A hole: extend the chunk just before it if it has room, else start a chunk here.
        let sample = [(t, v)];
        let mut samples: Vec<(Timestamp, f64)> = Vec::new();
        let at = match i
            .checked_sub(1)
            .and_then(|p| s.chunks.get(p).map(|c| (p, c)))
        {
            Some((p, c)) if (c.samples as usize) < per_chunk => {
                if let Ok(it) = c.iter() {
                    samples.extend(it.samples());
                }
                samples.push((t, v));
                s.chunks.remove(p);
                p
            }
            _ => {
                samples.extend_from_slice(&sample);
                i
            }
        };
        s.chunks.insert(at, seal_samples(&samples, seq));
        Ok(Appended::Stored)
    }

    /// Appends columns of samples (the wire decoder's shape); refusals are counted, not fatal.
    pub fn append_batch(
        &mut self,
        ids: &[SeriesId],
        ts: &[Timestamp],
        vs: &[f64],
    ) -> Result<BatchReport, Error> {
        if ids.len() != ts.len() || ts.len() != vs.len() {
            return Err(Error::new(ErrorKind::BatchShape {
                ids: ids.len(),
                timestamps: ts.len(),
                values: vs.len(),
            }));
        }
        let mut report = BatchReport::default();
        for ((&id, &t), &v) in ids.iter().zip(ts).zip(vs) {
            report.count(self.append(id, t, v));
        }
        Ok(report)
    }

    /// Appends many samples of one series, oldest first.
    pub fn append_series(
        &mut self,
        id: SeriesId,
        ts: &[Timestamp],
        vs: &[f64],
    ) -> Result<BatchReport, Error> {
        if ts.len() != vs.len() {
            return Err(Error::new(ErrorKind::BatchShape {
                ids: 1,
                timestamps: ts.len(),
                values: vs.len(),
            }));
        }
        let mut report = BatchReport::default();
        for (&t, &v) in ts.iter().zip(vs) {
            report.count(self.append(id, t, v));
        }
        Ok(report)
    }

    /// Inserts a whole chunk (from Prometheus remote read, the wire, a snapshot) as it is, without
    /// re-encoding. The bytes are fully validated; a chunk overlapping the series' stored time
    /// range is refused. Returns the number of samples added.
    pub fn append_chunk(
        &mut self,
        id: SeriesId,
        encoding: Encoding,
        bytes: &[u8],
    ) -> Result<usize, Error> {
        let meta = chunk::validate(encoding, bytes)?;
        self.append_chunk_validated(id, encoding, bytes, meta)
    }

    /// Ids of the series matching all matchers, ascending (Prometheus semantics; see [`Matcher`]).
    pub fn select(&self, matchers: &[Matcher]) -> Vec<SeriesId> {
        let mut ids = self
            .index
            .select(matchers, self.series.len() as u32, |id, name| {
                self.label_value(SeriesId(id), name)
            });
        // Postings hold live series only, but a selection with no positive matcher starts
        // from every id.
        if self.removed > 0 {
            ids.retain(|&i| self.series.get(i as usize).is_some_and(Series::is_live));
        }
        ids.into_iter().map(SeriesId).collect()
    }

    /// Series matching the matchers that have at least one sample in `[mint, maxt]`.
    pub fn select_in_range(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Vec<SeriesId> {
        let mut ids = self.select(matchers);
        ids.retain(|&id| self.samples(id, mint, maxt).next().is_some());
        ids
    }

    /// All label names, sorted.
    pub fn label_names(&self) -> Vec<&str> {
        self.index.label_names().collect()
    }

    /// Values of label `name`, sorted; restricted to series matching `matchers` with samples in
    /// `[mint, maxt]` when matchers are given (what dashboard variables and autocomplete need).
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Vec<&str> {
        let unrestricted = matchers.is_empty() && mint == Timestamp::MIN && maxt == Timestamp::MAX;
        if unrestricted {
            return self.index.values(name).map(|(v, _)| v).collect();
        }
        let ids = if matchers.is_empty() {
            (0..self.series.len() as u32)
                .map(SeriesId)
                .filter(|&id| self.samples(id, mint, maxt).next().is_some())
                .collect()
        } else {
            self.select_in_range(matchers, mint, maxt)
        };
        let mut out: Vec<&str> = ids
            .iter()
            .filter_map(|&id| self.label_value(id, name))
            .collect();
        out.sort_by_dyn(|a, b| a.cmp(b));
        out.dedup();
        out
    }

    /// Samples of a series with `mint <= t <= maxt`, in time order.
    pub fn samples(&self, id: SeriesId, mint: Timestamp, maxt: Timestamp) -> SeriesSamples<'_> {
        let mut out = SeriesSamples {
            chunks: &[],
            tail: Tail::None,
            ts: Vec::new(),
            vs: Vec::new(),
            pos: 0,
            end: 0,
            mint,
            maxt,
        };
        let Some(s) = self.series.get(id.0 as usize) else {
            return out;
        };
        // Skip chunks that end before the range without decoding them.
        let first = s.chunks.partition_point(|c| c.maxt < mint);
        out.chunks = &s.chunks[first..];
        out.tail = match (s.group().and_then(|g| self.groups.get(g as usize)), &s.head) {
            (Some(g), _) if !g.ts.is_empty() => Tail::Group(g, s.slot as usize),
            (_, Some(h)) => Tail::Xor(&h.chunk, h.mint),
            _ => Tail::None,
        };
        out
    }

    /// A series' chunks overlapping `[mint, maxt]`, oldest first, as stored (the open head
    /// chunk last, in XOR). Chunks may hold samples outside the range.
    pub fn chunks(&self, id: SeriesId, mint: Timestamp, maxt: Timestamp) -> Vec<ChunkRef<'_>> {
        let Some(s) = self.series.get(id.0 as usize) else {
            return Vec::new();
        };
        let mut out: Vec<ChunkRef<'_>> = s
            .chunks
            .iter()
            .filter(|c| c.maxt >= mint && c.mint <= maxt)
            .map(|c| ChunkRef {
                encoding: c.encoding,
                bytes: c.export(),
                mint: c.mint,
                maxt: c.maxt,
                num_samples: c.samples as usize,
            })
            .collect();
        if let Some(h) = &s.head
            && h.chunk.last_t() >= mint
            && h.mint <= maxt
        {
            out.push(ChunkRef {
                encoding: Encoding::Xor,
                bytes: Cow::Borrowed(h.chunk.bytes()),
                mint: h.mint,
                maxt: h.chunk.last_t(),
                num_samples: h.chunk.num_samples(),
            });
        }
        if let Some(open) = self.open_group_chunk(id)
            && open.maxt >= mint
            && open.mint <= maxt
        {
            out.push(open);
        }
        out
    }

    /// The oldest and newest sample time of a series.
    pub fn time_range(&self, id: SeriesId) -> Option<(Timestamp, Timestamp)> {
        let s = self.series.get(id.0 as usize)?;
        let open = s
            .group()
            .and_then(|g| self.groups.get(g as usize))
            .and_then(|g| Some((*g.ts.first()?, *g.ts.last()?)));
        match open {
            Some((first, last)) => Some((s.oldest().unwrap_or(first).min(first), last)),
            None => Some((s.oldest()?, s.newest()?)),
        }
    }

    /// Compressed bytes held for one series, a shared timestamp column split evenly among the
    /// series sharing it (per-kind accounting; [`Store::stats`] counts shared columns once).
    pub fn stored_bytes(&self, id: SeriesId) -> f64 {
        let Some(s) = self.series.get(id.0 as usize) else {
            return 0.0;
        };
        let sealed: f64 = s.chunks.iter().map(Sealed::stored_bytes).sum();
        let head = s
            .head
            .as_ref()
            .map_or(0.0, |h| h.chunk.bytes().len() as f64);
        let open = s
            .group()
            .and_then(|g| self.groups.get(g as usize))
            .map_or(0.0, |g| g.stored_bytes(s.slot as usize));
        sealed + head + open
    }

    /// Refused appends so far, by reason.
    pub fn rejections(&self) -> Rejections {
        self.rejections
    }
}

/// Seals a series' head chunk into the smaller encoding.
pub(crate) fn seal_head(s: &mut Series, seq: u64) {
    let Some(head) = s.head.take() else {
        return;
    };
    let Head {
        chunk: head, mint, ..
    } = *head;
    let (maxt, n) = (head.last_t(), head.num_samples() as u16);
    let (encoding, bytes) = chunk::choose(head);
    s.chunks.push(Sealed {
        bytes: bytes.into_boxed_slice(),
        ts: None,
        mint,
        maxt,
        encoding,
        samples: n,
        seq,
    });
}

/// Encodes time-ordered samples into a sealed chunk in the smaller encoding.
pub(crate) fn seal_samples(samples: &[(Timestamp, f64)], seq: u64) -> Sealed {
    let mut x = XorChunk::new();
    for &(t, v) in samples {
        let _ = x.append(t, v);
    }
    let mint = samples.first().map_or(0, |s| s.0);
    let maxt = samples.last().map_or(0, |s| s.0);
    let (encoding, bytes) = chunk::choose(x);
    Sealed {
        bytes: bytes.into_boxed_slice(),
        ts: None,
        mint,
        maxt,
        encoding,
        samples: samples.len() as u16,
        seq,
    }
}

/// What follows a series' sealed chunks.
#[derive(Debug, Clone, Copy)]
enum Tail<'a> {
    None,
    Xor(&'a XorChunk, Timestamp),
    Group(&'a group::Group, usize),
}

/// Samples of one series in a time range. Decodes a chunk at a time into two small columns,
/// so the per-sample step is a bounds check and two loads.
#[derive(Debug, Clone)]
pub struct SeriesSamples<'a> {
    chunks: &'a [Sealed],
    tail: Tail<'a>,
    ts: Vec<Timestamp>,
    vs: Vec<f64>,
    pos: usize,
    end: usize,
    mint: Timestamp,
    maxt: Timestamp,
}

impl SeriesSamples<'_> {
    /// Decodes the next chunk into the columns; false when there is none left in range.
    fn refill(&mut self) -> bool {
        loop {
            let ok = if let Some((c, rest)) = self.chunks.split_first() {
                self.chunks = rest;
                if c.mint > self.maxt {
                    self.chunks = &[];
                    self.tail = Tail::None;
                    return false;
                }
                c.decode_into(&mut self.ts, &mut self.vs).is_ok()
            } else {
                match std::mem::replace(&mut self.tail, Tail::None) {
                    Tail::None => return false,
                    Tail::Xor(head, head_mint) => {
                        if head_mint > self.maxt || head.last_t() < self.mint {
                            return false;
                        }
                        self.ts.clear();
                        self.vs.clear();
                        head.iter().read_all(&mut self.ts, &mut self.vs).is_ok()
                    }
                    Tail::Group(g, slot) => g.decode_into(slot, &mut self.ts, &mut self.vs).is_ok(),
                }
            };
            if !ok {
                continue;
            }
            let n = self.ts.len().min(self.vs.len());
            self.pos = self.ts[..n].partition_point(|&t| t < self.mint);
            self.end = self.ts[..n].partition_point(|&t| t <= self.maxt);
            if self.end < n {
                // Past the range: nothing after this chunk can be in it.
                self.chunks = &[];
                self.tail = Tail::None;
            }
            if self.pos < self.end {
                return true;
            }
        }
    }
}

impl SeriesSamples<'_> {
    /// The next run of samples as two columns (at most one chunk's worth), for consumers that
    /// work on slices (range functions, charts): no per-sample call, so loops over them
    /// vectorise. Mixing with [`Iterator::next`] is fine; each sample is yielded once.
    pub fn next_batch(&mut self) -> Option<(&[Timestamp], &[f64])> {
        if self.pos >= self.end && !self.refill() {
            return None;
        }
        let (a, b) = (self.pos, self.end);
        self.pos = b;
        Some((self.ts.get(a..b)?, self.vs.get(a..b)?))
    }
}

impl Iterator for SeriesSamples<'_> {
    type Item = (Timestamp, f64);

    #[inline]
    fn next(&mut self) -> Option<(Timestamp, f64)> {
        if self.pos >= self.end && !self.refill() {
            return None;
        }
        let i = self.pos;
        self.pos += 1;
        Some((*self.ts.get(i)?, *self.vs.get(i)?))
    }
}

#[cfg(test)]
mod tests;
