//! The store: series by label set, a postings index, and samples per series.
//!
//! First slice: samples are kept in plain vectors per series. The compressed chunk layout
//! (issue #3) replaces the internals behind this same API.

use std::collections::{BTreeMap, HashMap};

use crate::{Labels, Matcher, Timestamp};

/// A series' stable number within one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(pub u32);

/// What an accepted append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The sample was stored.
    Stored,
    /// The sample equals the series' newest one; nothing changed.
    Duplicate,
}

/// Why an append was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppendError {
    /// No series has this id.
    UnknownSeries(SeriesId),
    /// The sample is older than the series' newest one.
    OutOfOrder { newest: Timestamp },
    /// Same timestamp as the newest sample, different value.
    DuplicateTimestamp,
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::UnknownSeries(id) => write!(f, "unknown series id {}", id.0),
            AppendError::OutOfOrder { newest } => write!(f, "out of order sample (newest is at {newest})"),
            AppendError::DuplicateTimestamp => f.write_str("duplicate sample for timestamp"),
        }
    }
}

impl std::error::Error for AppendError {}

#[derive(Debug, Default)]
struct Series {
    labels: Labels,
    samples: Vec<(Timestamp, f64)>,
}

/// Series, their index and their samples.
#[derive(Debug, Default)]
pub struct Store {
    series: Vec<Series>,
    by_labels: HashMap<Labels, SeriesId>,
    postings: BTreeMap<(String, String), Vec<SeriesId>>,
}

impl Store {
    /// The id of the series with these labels, created if new.
    pub fn series_id(&mut self, labels: &Labels) -> SeriesId {
        if let Some(id) = self.by_labels.get(labels) {
            return *id;
        }
        let id = SeriesId(self.series.len() as u32);
        for (n, v) in labels.iter() {
            self.postings.entry((n.to_owned(), v.to_owned())).or_default().push(id);
        }
        self.series.push(Series { labels: labels.clone(), samples: Vec::new() });
        self.by_labels.insert(labels.clone(), id);
        id
    }

    /// The id of an existing series.
    pub fn lookup(&self, labels: &Labels) -> Option<SeriesId> {
        self.by_labels.get(labels).copied()
    }

    pub fn labels(&self, id: SeriesId) -> Option<&Labels> {
        self.series.get(id.0 as usize).map(|s| &s.labels)
    }

    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// Appends one sample in time order.
    pub fn append(&mut self, id: SeriesId, t: Timestamp, v: f64) -> Result<Appended, AppendError> {
        let s = self.series.get_mut(id.0 as usize).ok_or(AppendError::UnknownSeries(id))?;
        if let Some(&(lt, lv)) = s.samples.last() {
            if t < lt {
                return Err(AppendError::OutOfOrder { newest: lt });
            }
            if t == lt {
                return if lv.to_bits() == v.to_bits() {
                    Ok(Appended::Duplicate)
                } else {
                    Err(AppendError::DuplicateTimestamp)
                };
            }
        }
        s.samples.push((t, v));
        Ok(Appended::Stored)
    }

    /// Ids of the series matching all matchers, ascending.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<SeriesId> {
        let mut out: Vec<SeriesId> = match matchers.iter().find(|m| m.op() == crate::MatchOp::Equal && !m.value().is_empty()) {
            Some(m) => self.postings.get(&(m.name().to_owned(), m.value().to_owned())).cloned().unwrap_or_default(),
            None => (0..self.series.len() as u32).map(SeriesId).collect(),
        };
        out.retain(|id| {
            let l = &self.series[id.0 as usize].labels;
            matchers.iter().all(|m| m.matches(l.get(m.name()).unwrap_or("")))
        });
        out
    }

    /// Samples of a series with `mint <= t <= maxt`, in time order.
    pub fn samples(&self, id: SeriesId, mint: Timestamp, maxt: Timestamp) -> impl Iterator<Item = (Timestamp, f64)> + '_ {
        let s: &[(Timestamp, f64)] = self.series.get(id.0 as usize).map(|s| &s.samples[..]).unwrap_or(&[]);
        let lo = s.partition_point(|&(t, _)| t < mint);
        let hi = s.partition_point(|&(t, _)| t <= maxt);
        s[lo..hi.max(lo)].iter().copied()
    }
}
