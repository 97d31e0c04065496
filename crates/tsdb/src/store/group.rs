//! Scrape groups: the series of one target, appended a whole scrape at a time.
//!
//! A group holds the open chunk of each of its series column-wise: one raw timestamp column for
//! all of them, the newest (up to [`col::BLOCK`]) scrapes as raw rows (one scrape's values
//! contiguous, so appending a scrape is a copy instead of a cache miss per series), and per
//! series a value column that the rows are encoded into a block at a time, each series touched
//! once per block. When the chunk is full the timestamp column is encoded once and shared by
//! every series' sealed columnar chunk.
//!
//! A series belongs to at most one group. Membership is implied by the scrapes themselves: the
//! same series in the same order as last time is the fast path; anything else (a series new to
//! the target or gone from it, a single-sample append to a member, an old timestamp) seals and
//! dissolves the groups involved and, for a whole scrape, forms a new one.

use std::collections::HashSet;
use std::sync::Arc;

use super::{AppendError, Appended, BatchReport, ChunkRef, Sealed, SeriesId, Store, seal_head};
use crate::chunk::Encoding;
use crate::chunk::col::{self, BLOCK, ValueEncoder};
use crate::{Error, Timestamp};

#[derive(Debug, Default)]
pub(crate) struct Group {
    /// Series ids in scrape order; a series' slot is its position here.
    pub(crate) members: Vec<u32>,
    /// The scrape as last passed when it held more than the members (an id twice, an unknown
    /// id): its ids, and per position the member slot or `OUTSIDE`. Empty when it is `members`.
    shape: Vec<(u32, u32)>,
    /// Timestamps of the open chunk.
    pub(crate) ts: Vec<Timestamp>,
    /// Rows not yet encoded, row-major (`rows x members`).
    pending: Vec<f64>,
    /// Per member, the open chunk's encoded values (the rows before `pending`).
    enc: Vec<ValueEncoder>,
    /// Store change counter at the last append.
    pub(crate) seq: u64,
}

const OUTSIDE: u32 = u32::MAX;

impl Group {
    fn pending_rows(&self) -> usize {
        self.pending.len() / self.members.len().max(1)
    }

    /// Encodes the pending rows into each member's value column, one block per member.
    fn flush(&mut self) {
        let m = self.members.len();
        let rows = self.pending_rows();
        if rows == 0 || m == 0 {
            return;
        }
        let mut col = [0.0f64; BLOCK];
        for (j, enc) in self.enc.iter_mut().enumerate() {
            for (r, c) in col.iter_mut().enumerate().take(rows) {
                *c = self.pending[r * m + j];
            }
            enc.push_block(&col[..rows]);
        }
        self.pending.clear();
    }

    /// The newest value of member `slot`.
    fn last_bits(&self, slot: usize) -> Option<u64> {
        let m = self.members.len();
        if self.pending.is_empty() {
            self.enc.get(slot).map(ValueEncoder::last_bits)
        } else {
            self.pending
                .get(self.pending.len() - m + slot)
                .map(|v| v.to_bits())
        }
    }

    /// Bytes of member `slot`'s open chunk, the timestamp column split evenly among members.
    pub(crate) fn stored_bytes(&self, slot: usize) -> f64 {
        let enc = self.enc.get(slot).map_or(0, |e| e.bytes().len());
        (enc + self.pending_rows() * 8) as f64
            + (self.ts.len() * 8) as f64 / self.members.len().max(1) as f64
    }

    /// Bytes held by the group's open chunks: (sample data, spare capacity and bookkeeping).
    pub(crate) fn heap_bytes(&self) -> (usize, usize) {
        let data = self.enc.iter().map(|e| e.bytes().len()).sum::<usize>()
            + self.pending.len() * 8
            + self.ts.len() * 8;
        let held = self.enc.iter().map(ValueEncoder::heap_bytes).sum::<usize>()
            + self.enc.capacity() * std::mem::size_of::<ValueEncoder>()
            + self.pending.capacity() * 8
            + self.ts.capacity() * 8
            + self.members.capacity() * 4
            + std::mem::size_of::<Group>();
        (data, held.saturating_sub(data))
    }

    /// Decodes member `slot`'s open chunk into `ts`/`vs`.
    pub(crate) fn decode_into(
        &self,
        slot: usize,
        ts: &mut Vec<Timestamp>,
        vs: &mut Vec<f64>,
    ) -> Result<(), Error> {
        let rows = self.pending_rows();
        let encoded = self.ts.len() - rows;
        if let Some(enc) = self.enc.get(slot) {
            col::decode_values(enc.bytes(), encoded, vs)?;
        }
        let m = self.members.len();
        vs.extend((0..rows).filter_map(|r| self.pending.get(r * m + slot).copied()));
        ts.clear();
        ts.extend_from_slice(&self.ts);
        Ok(())
    }

    /// Member `slot`'s open chunk as self-contained columnar bytes.
    fn export(&self, slot: usize) -> Option<Vec<u8>> {
        let (n, values) = self.export_values(slot)?;
        Some(col::join(n, &self.encode_ts(), &values))
    }

    /// The open chunk's timestamp column, encoded (what its sealed chunks will share).
    pub(crate) fn encode_ts(&self) -> Vec<u8> {
        let mut tcol = Vec::new();
        col::encode_timestamps(&self.ts, &mut tcol);
        tcol
    }

    /// Member `slot`'s open value column, encoded, with its sample count.
    pub(crate) fn export_values(&self, slot: usize) -> Option<(u16, Vec<u8>)> {
        let n = u16::try_from(self.ts.len()).ok()?;
        let mut enc = self.enc.get(slot)?.clone();
        let m = self.members.len();
        let col: Vec<f64> = (0..self.pending_rows())
            .filter_map(|r| self.pending.get(r * m + slot).copied())
            .collect();
        if !col.is_empty() {
            enc.push_block(&col);
        }
        Some((n, enc.into_bytes()))
    }
}

impl Store {
    /// Appends one scrape: every sample at time `t`, in the target's exposition order. This is
    /// the fast path for scraped data (the relay calls it once per target and scrape) and what
    /// gets series sharing a timestamp column; repeat the same series in the same order each
    /// scrape. Samples that cannot join the scrape (unknown series, an id twice, a timestamp at
    /// or before a series' newest) follow [`Store::append`]'s rules and are counted the same way.
    pub fn append_scrape(&mut self, t: Timestamp, samples: &[(SeriesId, f64)]) -> BatchReport {
        let mut report = BatchReport::default();
        let Some(&(first, _)) = samples.first() else {
            return report;
        };
        if let Some(g) = self.series.get(first.0 as usize).and_then(|s| s.group()) {
            let grp = &self.groups[g as usize];
            if !grp.shape.is_empty() {
                let same = grp.shape.len() == samples.len()
                    && grp
                        .shape
                        .iter()
                        .zip(samples)
                        .all(|(&(m, _), &(id, _))| m == id.0);
                if same && grp.ts.last().is_some_and(|&last| t > last) {
                    self.append_shaped(g, t, samples, &mut report);
                    return report;
                }
            }
            let same = grp.members.len() == samples.len()
                && grp
                    .members
                    .iter()
                    .zip(samples)
                    .all(|(&m, &(id, _))| m == id.0);
            if same {
                match grp.ts.last() {
                    Some(&last) if t > last => {
                        self.push_row(g, t, samples);
                        report.stored = samples.len();
                        return report;
                    }
                    Some(&last)
                        if t == last
                            && samples
                                .iter()
                                .enumerate()
                                .all(|(j, &(_, v))| grp.last_bits(j) == Some(v.to_bits())) =>
                    {
                        report.duplicates = samples.len();
                        return report;
                    }
                    _ => {}
                }
            }
        }
        self.append_scrape_slow(t, samples, &mut report);
        report
    }

    /// The fast path for a scrape that carries more than its group's members.
    fn append_shaped(
        &mut self,
        g: u32,
        t: Timestamp,
        samples: &[(SeriesId, f64)],
        report: &mut BatchReport,
    ) {
        let shape = std::mem::take(&mut self.groups[g as usize].shape);
        let members: Vec<(SeriesId, f64)> = shape
            .iter()
            .zip(samples)
            .filter(|((_, slot), _)| *slot != OUTSIDE)
            .map(|(_, &s)| s)
            .collect();
        self.push_row(g, t, &members);
        report.stored += members.len();
        self.groups[g as usize].shape = shape;
        for (i, &(id, v)) in samples.iter().enumerate() {
            if self.groups[g as usize].shape[i].1 == OUTSIDE {
                self.append_outsider(id, t, v, &members, report);
            }
        }
    }

    /// A sample of a scrape that is not its group's: a repeat of a member, or on its own.
    fn append_outsider(
        &mut self,
        id: SeriesId,
        t: Timestamp,
        v: f64,
        members: &[(SeriesId, f64)],
        report: &mut BatchReport,
    ) {
        if let Some(&(_, mv)) = members.iter().find(|m| m.0 == id) {
            if mv.to_bits() == v.to_bits() {
                report.count(Ok(Appended::Duplicate));
            } else {
                self.rejections.duplicate_timestamp += 1;
                report.count(Err(AppendError::DuplicateTimestamp));
            }
        } else {
            report.count(self.append(id, t, v));
        }
    }

    fn push_row(&mut self, g: u32, t: Timestamp, samples: &[(SeriesId, f64)]) {
        let per_chunk = self.config.samples_per_chunk.max(2) as usize;
        let seq = self.seq + 1;
        if self.groups[g as usize].ts.len() >= per_chunk {
            self.cut_group(g, seq);
        }
        let grp = &mut self.groups[g as usize];
        grp.ts.push(t);
        grp.pending.extend(samples.iter().map(|s| s.1));
        if grp.pending_rows() >= BLOCK || grp.ts.len() >= per_chunk {
            grp.flush();
        }
        grp.seq = seq;
        self.seq = seq;
    }

    fn append_scrape_slow(
        &mut self,
        t: Timestamp,
        samples: &[(SeriesId, f64)],
        report: &mut BatchReport,
    ) {
        let seq = self.seq + 1;
        let mut gs: Vec<u32> = samples
            .iter()
            .filter_map(|(id, _)| self.series.get(id.0 as usize)?.group())
            .collect();
        gs.sort_unstable();
        gs.dedup();
        for g in gs {
            self.dissolve_group(g, seq);
        }
        let mut joined: HashSet<u32> = HashSet::new();
        let mut members: Vec<(SeriesId, f64)> = Vec::with_capacity(samples.len());
        let mut shape: Vec<(u32, u32)> = Vec::with_capacity(samples.len());
        let mut outsiders = Vec::new();
        for &(id, v) in samples {
            let fresh = self
                .series
                .get(id.0 as usize)
                .is_some_and(|s| s.is_live() && s.newest().is_none_or(|n| t > n));
            if fresh && joined.insert(id.0) {
                shape.push((id.0, members.len() as u32));
                members.push((id, v));
            } else {
                shape.push((id.0, OUTSIDE));
                outsiders.push((id, v));
            }
        }
        for (id, v) in outsiders {
            self.append_outsider(id, t, v, &members, report);
        }
        if members.is_empty() {
            return;
        }
        if members.len() == samples.len() {
            shape.clear();
        }
        let g = match self.free_groups.pop() {
            Some(g) => g,
            None => {
                self.groups.push(Group::default());
                (self.groups.len() - 1) as u32
            }
        };
        for (slot, &(id, _)) in members.iter().enumerate() {
            let s = &mut self.series[id.0 as usize];
            seal_head(s, seq);
            s.group = g;
            s.slot = slot as u32;
        }
        let grp = &mut self.groups[g as usize];
        grp.members = members.iter().map(|m| m.0.0).collect();
        grp.enc = vec![ValueEncoder::default(); members.len()];
        grp.shape = shape;
        self.seq = seq;
        self.push_row(g, t, &members);
        report.stored += members.len();
    }

    /// Seals the group's open chunks into columnar chunks sharing one timestamp column.
    pub(crate) fn cut_group(&mut self, g: u32, seq: u64) {
        let Store { groups, series, .. } = self;
        let Some(grp) = groups.get_mut(g as usize) else {
            return;
        };
        let (Some(&mint), Some(&maxt)) = (grp.ts.first(), grp.ts.last()) else {
            return;
        };
        grp.flush();
        let mut tcol = Vec::new();
        col::encode_timestamps(&grp.ts, &mut tcol);
        let tcol: Arc<[u8]> = tcol.into();
        let n = grp.ts.len() as u16;
        for (enc, &id) in grp.enc.iter_mut().zip(&grp.members) {
            let enc = std::mem::take(enc);
            if let Some(s) = series.get_mut(id as usize) {
                s.chunks.push(Sealed {
                    bytes: enc.into_bytes().into_boxed_slice(),
                    ts: Some(tcol.clone()),
                    mint,
                    maxt,
                    encoding: Encoding::Col,
                    samples: n,
                    seq,
                });
            }
        }
        grp.ts.clear();
        self.seq = self.seq.max(seq);
    }

    /// Seals the group and lets its series continue on their own.
    pub(crate) fn dissolve_group(&mut self, g: u32, seq: u64) {
        if self
            .groups
            .get(g as usize)
            .is_none_or(|grp| grp.members.is_empty())
        {
            return;
        }
        self.cut_group(g, seq);
        let Some(grp) = self.groups.get_mut(g as usize) else {
            return;
        };
        let grp = std::mem::take(grp);
        for id in grp.members {
            if let Some(s) = self.series.get_mut(id as usize) {
                s.group = super::NO_GROUP;
            }
        }
        self.free_groups.push(g);
    }

    /// Seals every scrape group (retention, byte budgets).
    pub(crate) fn dissolve_groups(&mut self, seq: u64, only_older_than: Option<Timestamp>) {
        for g in 0..self.groups.len() as u32 {
            let last = self.groups[g as usize].ts.last().copied();
            if let Some(last) = last
                && only_older_than.is_none_or(|min| last < min)
            {
                self.dissolve_group(g, seq);
            }
        }
    }

    /// The open chunk of a grouped series, self-contained, with the group's change counter.
    pub(crate) fn open_group_chunk(&self, id: SeriesId) -> Option<ChunkRef<'_>> {
        let s = self.series.get(id.0 as usize)?;
        let grp = self.groups.get(s.group()? as usize)?;
        let bytes = grp.export(s.slot as usize)?;
        Some(ChunkRef {
            encoding: Encoding::Col,
            bytes: bytes.into(),
            mint: *grp.ts.first()?,
            maxt: *grp.ts.last()?,
            num_samples: grp.ts.len(),
        })
    }
}
