//! Snapshots: the whole store, or what changed since an earlier snapshot, as bytes and back.
//!
//! The page persists these in browser storage for offline use, so decoding treats the bytes as
//! hostile: every length is checked against what remains and against [`SnapshotLimits`] before
//! anything is allocated, every section carries a CRC-32, chunk bytes are fully decoded before
//! they are accepted, and a snapshot is checked completely before the store is touched.
//!
//! Layout (little-endian fixed-width integers, LEB128 varints):
//!
//! ```text
//! header  "LKTS" | version u16 | kind u8 (0 full, 1 delta) | 0u8 | mark u64 | since u64 | crc32 u32
//! section tag u8 | payload length u32 | crc32(payload) u32 | payload   (tags 1, 2, 4, 3, then 0xFF)
//!   1 symbols  count, then (length, UTF-8 bytes) per string
//!   2 series   count, then (id, label count, (name symbol, value symbol)...) per series;
//!              ids ascend, and ids skipped are series the writer removed
//!   4 columns  count, then (length, bytes) per shared timestamp column
//!   3 chunks   count, then per chunk, oldest first: series id, encoding u8, and
//!                for a columnar chunk: column ref (0: self-contained, then length, bytes;
//!                k > 0: shares column k-1, then sample count, value length, value bytes)
//!                for other encodings: length, bytes
//!   0xFF end   empty; a snapshot without it is truncated
//! ```
//!
//! Shared timestamp columns are written once, as the store holds them (the columnar chunks of
//! one scrape group share one), so a snapshot is about the size of the chunk bytes in memory and
//! a restored store shares its columns as the original did.
//!
//! A delta carries series created and chunks written after `since`; applied onto the store the
//! earlier snapshot restored, it brings that store up to `mark`. Samples that were already there
//! are no-ops. Deletions by retention are not carried: the receiving store applies its own.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::chunk::{self, ChunkMeta, Encoding, XorChunk};
use crate::crc32::crc32;
use crate::labels::put_uvarint;
use crate::store::{Head, Sealed, Store};
use crate::{Error, ErrorKind, Labels, SeriesId};

const MAGIC: &[u8; 4] = b"LKTS";
/// The format version this build writes and the newest it reads. 2: columnar chunks may hold
/// bit-packed integer blocks (`k == 62`), which version 1 readers would misread as Rice blocks;
/// version 1 snapshots never contain them and still load. 3: the shared timestamp columns
/// section and column refs in columnar chunk entries, and series ids with gaps (removed
/// series); versions 1 and 2 (no columns section) still load.
pub const SNAPSHOT_VERSION: u16 = 3;
const HEADER_LEN: usize = 28;
const TAG_SYMBOLS: u8 = 1;
const TAG_SERIES: u8 = 2;
const TAG_CHUNKS: u8 = 3;
const TAG_COLUMNS: u8 = 4;
const TAG_END: u8 = 0xFF;

/// Bounds on what a snapshot may contain; anything beyond is refused before it is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotLimits {
    /// Total snapshot size.
    pub max_bytes: usize,
    pub max_series: usize,
    pub max_symbols: usize,
    /// Longest label name or value.
    pub max_string_bytes: usize,
    pub max_labels_per_series: usize,
    pub max_chunks: usize,
    /// Largest single chunk.
    pub max_chunk_bytes: usize,
}

impl Default for SnapshotLimits {
    fn default() -> Self {
        SnapshotLimits {
            max_bytes: 1 << 30,
            max_series: 10_000_000,
            max_symbols: 20_000_000,
            max_string_bytes: 1 << 16,
            max_labels_per_series: 256,
            max_chunks: 100_000_000,
            // 65535 samples at the XOR worst case (~21 bytes each) plus header.
            max_chunk_bytes: 1_500_000,
        }
    }
}

/// What a snapshot header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub version: u16,
    /// True for a delta (changes since `since`), false for a whole store.
    pub delta: bool,
    /// The store's change counter when the snapshot was taken: pass it to
    /// [`Store::snapshot_since`] for the next delta.
    pub mark: u64,
    pub since: u64,
}

fn err(section: &'static str, reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::Snapshot {
        section,
        reason: reason.into(),
    })
}

impl Store {
    /// The store's change counter; a later [`Store::snapshot_since`] with it carries what changed.
    pub fn mark(&self) -> u64 {
        self.seq
    }

    /// The whole store as bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        self.encode(0, false)
    }

    /// Series created and chunks written after `mark` (from an earlier [`Store::mark`]).
    pub fn snapshot_since(&self, mark: u64) -> Vec<u8> {
        self.encode(mark, true)
    }

    fn encode(&self, since: u64, delta: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        out.push(u8::from(delta));
        out.push(0);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&since.to_le_bytes());
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_le_bytes());

        // Series whose labels the receiver lacks, and chunks it lacks.
        // Removed series are left out; the reader keeps their ids unused.
        let new_series: Vec<u32> = (0..self.series.len() as u32)
            .filter(|&i| {
                let s = &self.series[i as usize];
                s.is_live() && (!delta || s.created_seq > since)
            })
            .collect();
        let mut symbols: HashMap<&str, u32> = HashMap::new();
        let mut sym_list: Vec<&str> = Vec::new();
        let mut series_payload = Vec::new();
        put_uvarint(&mut series_payload, new_series.len() as u64);
        for &i in &new_series {
            let labels = &self.series[i as usize].labels;
            put_uvarint(&mut series_payload, u64::from(i));
            put_uvarint(&mut series_payload, labels.ids().count() as u64);
            for (n, v) in self.symbols.pairs(labels) {
                for s in [n, v] {
                    let next = sym_list.len() as u32;
                    let id = *symbols.entry(s).or_insert_with(|| {
                        sym_list.push(s);
                        next
                    });
                    put_uvarint(&mut series_payload, u64::from(id));
                }
            }
        }
        let mut sym_payload = Vec::new();
        put_uvarint(&mut sym_payload, sym_list.len() as u64);
        for s in &sym_list {
            put_uvarint(&mut sym_payload, s.len() as u64);
            sym_payload.extend_from_slice(s.as_bytes());
        }

        // Shared timestamp columns, each once: sealed ones by allocation, a scrape group's open
        // one encoded here.
        let mut columns: HashMap<*const u8, u64> = HashMap::new();
        let mut group_columns: HashMap<u32, u64> = HashMap::new();
        let mut col_payload = Vec::new();
        let mut col_count = 0u64;
        let mut add_column = |bytes: &[u8], payload: &mut Vec<u8>| {
            put_uvarint(payload, bytes.len() as u64);
            payload.extend_from_slice(bytes);
            col_count += 1;
            col_count
        };
        let mut chunk_payload = Vec::new();
        let mut count = 0u64;
        let mut body = Vec::new();
        let put_whole = |body: &mut Vec<u8>, i: usize, enc: Encoding, bytes: &[u8]| {
            put_uvarint(body, i as u64);
            body.push(enc as u8);
            if enc == Encoding::Col {
                put_uvarint(body, 0);
            }
            put_uvarint(body, bytes.len() as u64);
            body.extend_from_slice(bytes);
        };
        let put_shared = |body: &mut Vec<u8>, i: usize, col: u64, n: u16, values: &[u8]| {
            put_uvarint(body, i as u64);
            body.push(Encoding::Col as u8);
            put_uvarint(body, col);
            put_uvarint(body, u64::from(n));
            put_uvarint(body, values.len() as u64);
            body.extend_from_slice(values);
        };
        for (i, s) in self.series.iter().enumerate() {
            for c in s.chunks.iter().filter(|c| !delta || c.seq > since) {
                match &c.ts {
                    Some(ts) => {
                        let k = *columns
                            .entry(Arc::as_ptr(ts) as *const u8)
                            .or_insert_with(|| add_column(ts, &mut col_payload));
                        put_shared(&mut body, i, k, c.samples, &c.bytes);
                    }
                    None => put_whole(&mut body, i, c.encoding, &c.bytes),
                }
                count += 1;
            }
            if let Some(h) = s.head.as_ref().filter(|h| !delta || h.seq > since) {
                put_whole(&mut body, i, Encoding::Xor, h.chunk.bytes());
                count += 1;
            }
            if let Some(g) = s.group()
                && let Some(grp) = self.groups.get(g as usize)
                && !grp.ts.is_empty()
                && (!delta || grp.seq > since)
                && let Some((n, values)) = grp.export_values(s.slot as usize)
            {
                let k = *group_columns
                    .entry(g)
                    .or_insert_with(|| add_column(&grp.encode_ts(), &mut col_payload));
                put_shared(&mut body, i, k, n, &values);
                count += 1;
            }
        }
        put_uvarint(&mut chunk_payload, count);
        chunk_payload.extend_from_slice(&body);
        let mut columns_payload = Vec::with_capacity(col_payload.len() + 5);
        put_uvarint(&mut columns_payload, col_count);
        columns_payload.extend_from_slice(&col_payload);

        for (tag, payload) in [
            (TAG_SYMBOLS, sym_payload),
            (TAG_SERIES, series_payload),
            (TAG_COLUMNS, columns_payload),
            (TAG_CHUNKS, chunk_payload),
        ] {
            section(&mut out, tag, &payload);
        }
        section(&mut out, TAG_END, &[]);
        out
    }

    /// A store restored from a full snapshot, checked with default limits.
    pub fn from_snapshot(bytes: &[u8]) -> Result<Store, Error> {
        Self::from_snapshot_with_limits(bytes, &SnapshotLimits::default())
    }

    pub fn from_snapshot_with_limits(
        bytes: &[u8],
        limits: &SnapshotLimits,
    ) -> Result<Store, Error> {
        let mut store = Store::default();
        store.apply_snapshot_with_limits(bytes, limits)?;
        Ok(store)
    }

    /// Applies a snapshot (a delta, or a full one onto an empty store). The whole snapshot is
    /// checked first; on error the store is unchanged.
    pub fn apply_snapshot(&mut self, bytes: &[u8]) -> Result<SnapshotInfo, Error> {
        self.apply_snapshot_with_limits(bytes, &SnapshotLimits::default())
    }

    pub fn apply_snapshot_with_limits(
        &mut self,
        bytes: &[u8],
        limits: &SnapshotLimits,
    ) -> Result<SnapshotInfo, Error> {
        let decoded = decode(bytes, limits, self)?;
        for (id, labels) in decoded.new_series {
            self.push_series_at(id, &labels);
        }
        let mut touched: Vec<u32> = Vec::new();
        // One allocation per shared column, as the writer had it.
        let mut shared: Vec<Option<Arc<[u8]>>> = vec![None; decoded.columns.len()];
        for (id, data, meta) in decoded.chunks {
            touched.push(id);
            match data {
                ChunkData::Whole(enc, bytes) => self.merge_chunk(SeriesId(id), enc, bytes, meta),
                ChunkData::Shared {
                    column,
                    samples,
                    values,
                } => {
                    let (Some(slot), Some(&bytes)) =
                        (shared.get_mut(column), decoded.columns.get(column))
                    else {
                        continue;
                    };
                    let ts = slot.get_or_insert_with(|| Arc::from(bytes)).clone();
                    if self
                        .insert_sealed(SeriesId(id), values, Some(ts.clone()), Encoding::Col, meta)
                        .is_err()
                    {
                        let whole = chunk::col::join(samples, &ts, values);
                        self.merge_chunk(SeriesId(id), Encoding::Col, &whole, meta);
                    }
                }
            }
        }
        touched.dedup();
        for id in touched {
            self.reopen_head(id);
        }
        self.seq = self.seq.max(decoded.info.mark);
        Ok(decoded.info)
    }

    /// Inserts a validated chunk; where it overlaps stored data, merges sample by sample (samples
    /// already stored are no-ops).
    fn merge_chunk(&mut self, id: SeriesId, enc: Encoding, bytes: &[u8], meta: ChunkMeta) {
        if self.append_chunk_validated(id, enc, bytes, meta).is_err() {
            if let Ok(it) = chunk::ChunkIter::new(enc, bytes) {
                let samples: Vec<_> = chunk::ChunkIterator::samples(it).collect();
                for (t, v) in samples {
                    let _ = self.append(id, t, v);
                }
            }
        }
    }

    /// Turns a restored series' newest chunk back into the open head, when it is a partly filled
    /// XOR chunk, so appends continue it instead of starting a tiny chunk.
    fn reopen_head(&mut self, id: u32) {
        let per_chunk = self.config.samples_per_chunk as usize;
        let Some(s) = self.series.get_mut(id as usize) else {
            return;
        };
        if s.head.is_some() {
            return;
        }
        let reopen = matches!(s.chunks.last(), Some(c) if c.encoding == Encoding::Xor && (c.samples as usize) < per_chunk);
        if !reopen {
            return;
        }
        if let Some(c) = s.chunks.pop() {
            match XorChunk::from_bytes(&c.bytes) {
                Ok(chunk) if chunk.num_samples() > 0 => {
                    s.head = Some(Box::new(Head {
                        chunk,
                        mint: c.mint,
                        seq: c.seq,
                    }));
                }
                _ => s.chunks.push(c),
            }
        }
    }
}

/// Recomputes every checksum of a snapshot in place, as far as its framing can be followed.
/// For fuzzing and tests: lets mutated bytes reach the decoders behind the checksums.
#[doc(hidden)]
pub fn repair_checksums(bytes: &mut [u8]) {
    if bytes.len() < HEADER_LEN {
        return;
    }
    let crc = crc32(&bytes[..24]);
    bytes[24..28].copy_from_slice(&crc.to_le_bytes());
    let mut pos = HEADER_LEN;
    while pos + 9 <= bytes.len() {
        let len = u32::from_le_bytes([
            bytes[pos + 1],
            bytes[pos + 2],
            bytes[pos + 3],
            bytes[pos + 4],
        ]) as usize;
        let start = pos + 9;
        let Some(end) = start.checked_add(len).filter(|&e| e <= bytes.len()) else {
            return;
        };
        let crc = crc32(&bytes[start..end]);
        bytes[pos + 5..pos + 9].copy_from_slice(&crc.to_le_bytes());
        pos = end;
    }
}

fn section(out: &mut Vec<u8>, tag: u8, payload: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// A snapshot checked and parsed, not yet applied.
struct Decoded<'a> {
    info: SnapshotInfo,
    /// Ascending ids above the store's, each with labels the store does not hold.
    new_series: Vec<(u32, Labels)>,
    columns: Vec<&'a [u8]>,
    chunks: Vec<(u32, ChunkData<'a>, ChunkMeta)>,
}

/// A chunk as a snapshot carries it.
enum ChunkData<'a> {
    /// Self-contained bytes in an encoding.
    Whole(Encoding, &'a [u8]),
    /// A columnar chunk's value column and the shared timestamp column it uses.
    Shared {
        column: usize,
        samples: u16,
        values: &'a [u8],
    },
}

/// Decodes a timestamp column of `n` samples and checks that its timestamps increase.
fn check_timestamps(bytes: &[u8], n: usize, scratch: &mut Vec<i64>) -> Result<ChunkMeta, Error> {
    chunk::col::decode_timestamps(bytes, n, scratch)?;
    if scratch.windows(2).any(|w| w[1] <= w[0]) {
        return Err(Error::new(ErrorKind::CorruptChunk {
            encoding: "columnar",
            reason: "timestamps do not increase",
        }));
    }
    Ok(ChunkMeta {
        num_samples: n,
        mint: scratch.first().copied().unwrap_or(0),
        maxt: scratch.last().copied().unwrap_or(0),
    })
}

/// Bounds-checked reading of untrusted bytes.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    section: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| {
            err(
                self.section,
                format!(
                    "needs {n} bytes at offset {}, only {} left",
                    self.pos,
                    self.b.len() - self.pos
                ),
            )
        })?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn uvarint(&mut self) -> Result<u64, Error> {
        let mut x = 0u64;
        for i in 0..10 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                return Err(err(self.section, "varint overflows 64 bits"));
            }
            x |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(x);
            }
        }
        Err(err(self.section, "varint overflows 64 bits"))
    }

    /// A count or length, refused above `limit` and above what the remaining bytes could hold
    /// (each item takes at least `min_item_bytes`), so a lying count cannot make us allocate.
    fn count(&mut self, what: &str, limit: usize, min_item_bytes: usize) -> Result<usize, Error> {
        let n = self.uvarint()?;
        let left = (self.b.len() - self.pos) / min_item_bytes.max(1);
        if n > limit as u64 {
            return Err(err(
                self.section,
                format!("{what} {n} exceeds the limit of {limit}"),
            ));
        }
        if n > left as u64 {
            return Err(err(
                self.section,
                format!(
                    "{what} {n} cannot fit in the {} bytes left",
                    self.b.len() - self.pos
                ),
            ));
        }
        Ok(n as usize)
    }

    fn done(&self) -> Result<(), Error> {
        if self.pos != self.b.len() {
            return Err(err(
                self.section,
                format!(
                    "{} unexpected bytes after the content",
                    self.b.len() - self.pos
                ),
            ));
        }
        Ok(())
    }
}

/// Reads the header only.
pub fn snapshot_info(bytes: &[u8]) -> Result<SnapshotInfo, Error> {
    let h = bytes.get(..HEADER_LEN).ok_or_else(|| {
        err(
            "header",
            format!(
                "{} bytes, shorter than the {HEADER_LEN}-byte header",
                bytes.len()
            ),
        )
    })?;
    if &h[..4] != MAGIC {
        return Err(err("header", "not a Lookout snapshot (bad magic)"));
    }
    let crc = u32::from_le_bytes([h[24], h[25], h[26], h[27]]);
    if crc32(&h[..24]) != crc {
        return Err(err("header", "checksum mismatch"));
    }
    let version = u16::from_le_bytes([h[4], h[5]]);
    if version == 0 || version > SNAPSHOT_VERSION {
        return Err(Error::new(ErrorKind::SnapshotVersion {
            found: version,
            supported: SNAPSHOT_VERSION,
        }));
    }
    let delta = match h[6] {
        0 => false,
        1 => true,
        k => return Err(err("header", format!("unknown snapshot kind {k}"))),
    };
    let u64_at = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&h[i..i + 8]);
        u64::from_le_bytes(a)
    };
    Ok(SnapshotInfo {
        version,
        delta,
        mark: u64_at(8),
        since: u64_at(16),
    })
}

fn decode<'a>(
    bytes: &'a [u8],
    limits: &SnapshotLimits,
    store: &Store,
) -> Result<Decoded<'a>, Error> {
    if bytes.len() > limits.max_bytes {
        return Err(err(
            "header",
            format!(
                "{} bytes exceed the limit of {}",
                bytes.len(),
                limits.max_bytes
            ),
        ));
    }
    let info = snapshot_info(bytes)?;
    if !info.delta && store.num_series() > 0 {
        return Err(err(
            "header",
            "a full snapshot can only be applied to an empty store",
        ));
    }
    let mut r = Reader {
        b: bytes,
        pos: HEADER_LEN,
        section: "framing",
    };
    // Symbols, series, columns, chunks; versions before 3 have no columns section.
    let mut payloads: [&[u8]; 4] = [&[]; 4];
    let shared_columns = info.version >= 3;
    for (i, (tag, name)) in [
        (TAG_SYMBOLS, "symbols"),
        (TAG_SERIES, "series"),
        (TAG_COLUMNS, "columns"),
        (TAG_CHUNKS, "chunks"),
        (TAG_END, "end"),
    ]
    .into_iter()
    .enumerate()
    .filter(|&(_, (tag, _))| shared_columns || tag != TAG_COLUMNS)
    {
        r.section = name;
        let found = r.u8()?;
        if found != tag {
            return Err(err(
                name,
                format!("expected section tag {tag}, found {found}"),
            ));
        }
        let len = r.u32()? as usize;
        let crc = r.u32()?;
        let payload = r.take(len)?;
        if crc32(payload) != crc {
            return Err(err(name, "checksum mismatch"));
        }
        if let Some(p) = payloads.get_mut(i) {
            *p = payload;
        } else if len != 0 {
            return Err(err(name, "end section is not empty"));
        }
    }
    r.section = "framing";
    r.done()?;

    // Symbols.
    let mut r = Reader {
        b: payloads[0],
        pos: 0,
        section: "symbols",
    };
    let n = r.count("symbol count", limits.max_symbols, 1)?;
    let mut symbols: Vec<&str> = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.count("string length", limits.max_string_bytes, 1)?;
        let s = std::str::from_utf8(r.take(len)?)
            .map_err(|_| err("symbols", "a string is not UTF-8"))?;
        symbols.push(s);
    }
    r.done()?;

    // Series: ids continue the receiver's, in order, or repeat ones it has with equal labels.
    let mut r = Reader {
        b: payloads[1],
        pos: 0,
        section: "series",
    };
    let n = r.count("series count", limits.max_series, 2)?;
    let mut next_id = u64::from(store.id_bound());
    let mut new_series = Vec::with_capacity(n);
    let mut seen: HashSet<Labels> = HashSet::new();
    let sym = |r: &mut Reader<'_>| -> Result<&str, Error> {
        let i = r.uvarint()?;
        symbols.get(i as usize).copied().ok_or_else(|| {
            err(
                "series",
                format!("symbol {i} out of range ({} symbols)", symbols.len()),
            )
        })
    };
    for _ in 0..n {
        let id = r.uvarint()?;
        let nl = r.count("label count", limits.max_labels_per_series, 2)?;
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(nl);
        for _ in 0..nl {
            let (name, value) = (sym(&mut r)?, sym(&mut r)?);
            if value.is_empty() || pairs.last().is_some_and(|(p, _)| *p >= name) {
                return Err(err(
                    "series",
                    format!("series {id}: labels not sorted, repeated or empty"),
                ));
            }
            pairs.push((name, value));
        }
        let labels = Labels::from_sorted(pairs.iter().copied());
        if id < u64::from(store.id_bound()) {
            if store.labels(SeriesId(id as u32)).as_ref() != Some(&labels) {
                return Err(err(
                    "series",
                    format!("series {id} has different labels in this store"),
                ));
            }
        } else if id >= next_id && id < limits.max_series as u64 {
            // Ids skipped are series the writer removed; they stay unused here too. Empty slots
            // cost memory, so ids are bounded by `max_series` like series are.
            if store.lookup(&labels).is_some() || !seen.insert(labels.clone()) {
                return Err(err(
                    "series",
                    format!("series {id}: the same labels already have another id"),
                ));
            }
            next_id = id + 1;
            new_series.push((id as u32, labels));
        } else {
            return Err(err(
                "series",
                format!(
                    "series id {id} out of sequence (expected at least {next_id}, below {})",
                    limits.max_series
                ),
            ));
        }
    }
    r.done()?;
    if store.num_series() + new_series.len() > limits.max_series {
        return Err(err(
            "series",
            format!("more than {} series", limits.max_series),
        ));
    }
    let live = |id: u64| {
        if id < u64::from(store.id_bound()) {
            store.labels(SeriesId(id as u32)).is_some()
        } else {
            new_series
                .binary_search_by_key(&id, |(i, _)| u64::from(*i))
                .is_ok()
        }
    };

    // Shared timestamp columns: checked when a chunk first uses one (their sample count is in
    // the chunk entries).
    let mut r = Reader {
        b: payloads[2],
        pos: 0,
        section: "columns",
    };
    let mut columns: Vec<&[u8]> = Vec::new();
    if shared_columns {
        let n = r.count("column count", limits.max_chunks, 1)?;
        columns.reserve(n);
        for _ in 0..n {
            let len = r.count("column length", limits.max_chunk_bytes, 1)?;
            columns.push(r.take(len)?);
        }
    }
    r.done()?;
    // Per column: the sample count it was checked with and the time range it gave.
    let mut checked: Vec<Option<(usize, ChunkMeta)>> = vec![None; columns.len()];

    // Chunks: each fully decoded now, so applying cannot fail halfway.
    let mut r = Reader {
        b: payloads[3],
        pos: 0,
        section: "chunks",
    };
    let n = r.count("chunk count", limits.max_chunks, 4)?;
    let mut chunks = Vec::with_capacity(n);
    let mut ts_scratch = Vec::new();
    let mut vs_scratch = Vec::new();
    for _ in 0..n {
        let id = r.uvarint()?;
        if id >= next_id || !live(id) {
            return Err(err("chunks", format!("chunk for unknown series {id}")));
        }
        let enc = Encoding::from_u8(r.u8()?).map_err(|e| err("chunks", e.to_string()))?;
        let column = if shared_columns && enc == Encoding::Col {
            r.uvarint()?
        } else {
            0
        };
        if column == 0 {
            let len = r.count("chunk length", limits.max_chunk_bytes, 1)?;
            let b = r.take(len)?;
            let meta =
                chunk::validate(enc, b).map_err(|e| err("chunks", format!("series {id}: {e}")))?;
            chunks.push((id as u32, ChunkData::Whole(enc, b), meta));
            continue;
        }
        let k = usize::try_from(column - 1).unwrap_or(usize::MAX);
        let Some(&ts) = columns.get(k) else {
            return Err(err(
                "chunks",
                format!(
                    "series {id}: column {column} out of range ({} columns)",
                    columns.len()
                ),
            ));
        };
        let samples = r.uvarint()?;
        let samples = u16::try_from(samples)
            .ok()
            .filter(|&s| s > 0)
            .ok_or_else(|| {
                err(
                    "chunks",
                    format!("series {id}: {samples} samples in a chunk"),
                )
            })?;
        let len = r.count("value column length", limits.max_chunk_bytes, 1)?;
        let values = r.take(len)?;
        let bad = |e: Error| err("chunks", format!("series {id}: {e}"));
        let meta = match checked[k] {
            Some((n, meta)) if n == samples as usize => meta,
            _ => {
                let meta = check_timestamps(ts, samples as usize, &mut ts_scratch).map_err(bad)?;
                checked[k] = Some((samples as usize, meta));
                meta
            }
        };
        chunk::col::decode_values(values, samples as usize, &mut vs_scratch).map_err(bad)?;
        chunks.push((
            id as u32,
            ChunkData::Shared {
                column: k,
                samples,
                values,
            },
            meta,
        ));
    }
    r.done()?;
    Ok(Decoded {
        info,
        new_series,
        columns,
        chunks,
    })
}

impl Store {
    /// `append_chunk` for bytes already validated.
    pub(crate) fn append_chunk_validated(
        &mut self,
        id: SeriesId,
        enc: Encoding,
        bytes: &[u8],
        meta: ChunkMeta,
    ) -> Result<usize, Error> {
        // A columnar chunk keeps its timestamp column apart, as the store's own do.
        match chunk::col::split(bytes) {
            Ok((_, ts, values)) if enc == Encoding::Col => {
                self.insert_sealed(id, values, Some(ts.into()), enc, meta)
            }
            _ => self.insert_sealed(id, bytes, None, enc, meta),
        }
    }

    /// Inserts a validated sealed chunk (a columnar one as its value column and timestamp
    /// column) where it belongs in time; refuses one overlapping the series' data.
    fn insert_sealed(
        &mut self,
        id: SeriesId,
        bytes: &[u8],
        ts: Option<Arc<[u8]>>,
        enc: Encoding,
        meta: ChunkMeta,
    ) -> Result<usize, Error> {
        let group = self
            .series
            .get(id.0 as usize)
            .filter(|s| s.is_live())
            .ok_or(Error::new(ErrorKind::UnknownSeries(id.0)))?
            .group();
        if let Some(g) = group {
            self.dissolve_group(g, self.seq + 1);
        }
        let seq = self.seq + 1;
        let s = self
            .series
            .get_mut(id.0 as usize)
            .ok_or(Error::new(ErrorKind::UnknownSeries(id.0)))?;
        if meta.num_samples == 0 {
            return Ok(0);
        }
        let overlap = |mint: i64, maxt: i64| mint <= meta.maxt && meta.mint <= maxt;
        let head_overlaps = s
            .head
            .as_ref()
            .is_some_and(|h| overlap(h.mint, h.chunk.last_t()));
        if head_overlaps || s.chunks.iter().any(|c| overlap(c.mint, c.maxt)) {
            return Err(Error::new(ErrorKind::ChunkOverlap {
                series: id.0,
                mint: meta.mint,
                maxt: meta.maxt,
            }));
        }
        // A chunk newer than the head closes the head so chunk order stays time order.
        if s.head
            .as_ref()
            .is_some_and(|h| meta.mint > h.chunk.last_t())
        {
            crate::store::seal_head(s, seq);
        }
        let at = s.chunks.partition_point(|c| c.maxt < meta.mint);
        let sealed = Sealed {
            bytes: bytes.into(),
            ts,
            mint: meta.mint,
            maxt: meta.maxt,
            encoding: enc,
            samples: meta.num_samples as u16,
            seq,
        };
        s.chunks.insert(at, sealed);
        self.seq = seq;
        Ok(meta.num_samples)
    }
}

#[cfg(test)]
mod tests;
