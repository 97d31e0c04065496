//! The store: series by label set, a postings index, and each series' samples in compressed chunks.
//!
//! Per series: time-ordered, non-overlapping sealed chunks (each in whichever encoding was
//! smaller) and one open XOR head chunk that appends go to. Ingest rules follow Prometheus: a
//! sample newer than the series' newest is appended; one equal to the newest is a no-op; an older
//! one is refused and counted, unless it falls where the series holds no chunk at all (history
//! arriving later, a backfill into a hole), in which case it is merged in time order.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::chunk::{self, ChunkAppender, ChunkIter, ChunkIterator, Encoding, XorChunk};
use crate::index::Index;
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
    pub(crate) bytes: Box<[u8]>,
    pub(crate) mint: Timestamp,
    pub(crate) maxt: Timestamp,
    pub(crate) encoding: Encoding,
    pub(crate) samples: u16,
    /// Store change counter when this chunk was last written (for incremental snapshots).
    pub(crate) seq: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Series {
    pub(crate) labels: Labels,
    pub(crate) chunks: Vec<Sealed>,
    pub(crate) head: XorChunk,
    pub(crate) head_mint: Timestamp,
    /// Store change counter at the head's last append, and at the series' creation.
    pub(crate) head_seq: u64,
    pub(crate) created_seq: u64,
}

impl Series {
    fn newest(&self) -> Option<Timestamp> {
        if self.head.num_samples() > 0 {
            Some(self.head.last_t())
        } else {
            self.chunks.last().map(|c| c.maxt)
        }
    }

    fn oldest(&self) -> Option<Timestamp> {
        self.chunks
            .first()
            .map(|c| c.mint)
            .or((self.head.num_samples() > 0).then_some(self.head_mint))
    }
}

/// A chunk of one series as stored, for shipping without re-encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef<'a> {
    pub encoding: Encoding,
    pub bytes: &'a [u8],
    pub mint: Timestamp,
    pub maxt: Timestamp,
    pub num_samples: usize,
}

impl<'a> ChunkRef<'a> {
    /// Iterates the chunk's samples.
    pub fn iter(&self) -> Result<ChunkIter<'a>, Error> {
        ChunkIter::new(self.encoding, self.bytes)
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

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<WordHasher>>;

/// Series, their index and their samples.
#[derive(Debug, Default)]
pub struct Store {
    pub(crate) config: StoreConfig,
    pub(crate) series: Vec<Series>,
    /// Label-set hash -> first series with that hash; further series with the same hash go to
    /// `collisions`.
    by_hash: FastMap<u64, u32>,
    collisions: FastMap<u64, Vec<u32>>,
    pub(crate) index: Index,
    /// Bumped on every change; chunks remember it so a snapshot can take only what changed.
    pub(crate) seq: u64,
    pub(crate) rejections: Rejections,
}

impl Store {
    pub fn new(config: StoreConfig) -> Self {
        Store {
            config,
            ..Store::default()
        }
    }

    fn hash(labels: &Labels) -> u64 {
        use std::hash::Hash;
        let mut h = WordHasher::default();
        labels.hash(&mut h);
        h.finish()
    }

    /// The id of the series with these labels, created if new.
    pub fn series_id(&mut self, labels: &Labels) -> SeriesId {
        let h = Self::hash(labels);
        if let Some(id) = self.find(h, labels) {
            return id;
        }
        let id = self.series.len() as u32;
        match self.by_hash.get(&h) {
            None => {
                self.by_hash.insert(h, id);
            }
            Some(_) => self.collisions.entry(h).or_default().push(id),
        }
        self.index.add(id, labels);
        self.seq += 1;
        self.series.push(Series {
            labels: labels.clone(),
            created_seq: self.seq,
            ..Series::default()
        });
        SeriesId(id)
    }

    fn find(&self, h: u64, labels: &Labels) -> Option<SeriesId> {
        let first = *self.by_hash.get(&h)?;
        if self.series[first as usize].labels == *labels {
            return Some(SeriesId(first));
        }
        let more = self.collisions.get(&h)?;
        more.iter()
            .find(|&&id| self.series[id as usize].labels == *labels)
            .map(|&id| SeriesId(id))
    }

    /// The id of an existing series.
    pub fn lookup(&self, labels: &Labels) -> Option<SeriesId> {
        self.find(Self::hash(labels), labels)
    }

    pub fn labels(&self, id: SeriesId) -> Option<&Labels> {
        self.series.get(id.0 as usize).map(|s| &s.labels)
    }

    pub fn num_series(&self) -> usize {
        self.series.len()
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
        if s.head.num_samples() >= per_chunk {
            seal_head(s, seq);
        }
        if s.head.num_samples() == 0 {
            s.head_mint = t;
        }
        // The head cannot be full here (sealed above), so this cannot fail.
        let _ = s.head.append(t, v);
        s.head_seq = seq;
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
        if s.head.num_samples() > 0 && t >= s.head_mint {
            return existing(&mut ChunkIter::Xor(s.head.iter()));
        }
        // First chunk ending at or after t.
        let i = s.chunks.partition_point(|c| c.maxt < t);
        if let Some(c) = s.chunks.get(i) {
            if c.mint <= t {
                return existing(
                    &mut ChunkIter::new(c.encoding, &c.bytes)
                        .map_err(|_| AppendError::OutOfOrder { newest })?,
                );
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
                if let Ok(it) = ChunkIter::new(c.encoding, &c.bytes) {
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
        let series = &self.series;
        self.index
            .select(matchers, series.len() as u32, |id| {
                &series[id as usize].labels
            })
            .into_iter()
            .map(SeriesId)
            .collect()
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
            .filter_map(|id| self.series[id.0 as usize].labels.get(name))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Samples of a series with `mint <= t <= maxt`, in time order.
    pub fn samples(&self, id: SeriesId, mint: Timestamp, maxt: Timestamp) -> SeriesSamples<'_> {
        let (chunks, head, head_mint): (&[Sealed], _, _) = match self.series.get(id.0 as usize) {
            Some(s) => (
                &s.chunks,
                (s.head.num_samples() > 0).then_some(&s.head),
                s.head_mint,
            ),
            None => (&[], None, 0),
        };
        // Skip chunks that end before the range without decoding them.
        let first = chunks.partition_point(|c| c.maxt < mint);
        SeriesSamples {
            chunks: &chunks[first..],
            head,
            head_mint,
            cur: None,
            mint,
            maxt,
        }
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
                bytes: &c.bytes,
                mint: c.mint,
                maxt: c.maxt,
                num_samples: c.samples as usize,
            })
            .collect();
        if s.head.num_samples() > 0 && s.head.last_t() >= mint && s.head_mint <= maxt {
            out.push(ChunkRef {
                encoding: Encoding::Xor,
                bytes: s.head.bytes(),
                mint: s.head_mint,
                maxt: s.head.last_t(),
                num_samples: s.head.num_samples(),
            });
        }
        out
    }

    /// The oldest and newest sample time of a series.
    pub fn time_range(&self, id: SeriesId) -> Option<(Timestamp, Timestamp)> {
        let s = self.series.get(id.0 as usize)?;
        Some((s.oldest()?, s.newest()?))
    }

    /// Refused appends so far, by reason.
    pub fn rejections(&self) -> Rejections {
        self.rejections
    }
}

/// Seals a series' head chunk into the smaller encoding.
pub(crate) fn seal_head(s: &mut Series, seq: u64) {
    if s.head.num_samples() == 0 {
        return;
    }
    let head = std::mem::take(&mut s.head);
    let (mint, maxt, n) = (s.head_mint, head.last_t(), head.num_samples() as u16);
    let (encoding, bytes) = chunk::choose(head);
    s.chunks.push(Sealed {
        bytes: bytes.into_boxed_slice(),
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
        mint,
        maxt,
        encoding,
        samples: samples.len() as u16,
        seq,
    }
}

/// Samples of one series in a time range.
#[derive(Debug, Clone)]
pub struct SeriesSamples<'a> {
    chunks: &'a [Sealed],
    head: Option<&'a XorChunk>,
    head_mint: Timestamp,
    cur: Option<ChunkIter<'a>>,
    mint: Timestamp,
    maxt: Timestamp,
}

impl Iterator for SeriesSamples<'_> {
    type Item = (Timestamp, f64);

    #[inline]
    fn next(&mut self) -> Option<(Timestamp, f64)> {
        loop {
            if let Some(it) = &mut self.cur {
                if it.next() {
                    let (t, v) = it.at();
                    if t < self.mint {
                        continue;
                    }
                    if t > self.maxt {
                        self.cur = None;
                        self.chunks = &[];
                        self.head = None;
                        return None;
                    }
                    return Some((t, v));
                }
                self.cur = None;
            }
            if let Some((c, rest)) = self.chunks.split_first() {
                self.chunks = rest;
                if c.mint > self.maxt {
                    self.chunks = &[];
                    self.head = None;
                    return None;
                }
                self.cur = ChunkIter::new(c.encoding, &c.bytes).ok();
                continue;
            }
            let head = self.head.take()?;
            if self.head_mint > self.maxt || head.last_t() < self.mint {
                return None;
            }
            self.cur = Some(ChunkIter::Xor(head.iter()));
        }
    }
}

#[cfg(test)]
mod tests;
