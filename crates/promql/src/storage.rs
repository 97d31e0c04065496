//! The engine's only view of data: select series by matchers, read their samples in a range.
//!
//! [`Queryable`] is implemented here for [`lookout_tsdb::Store`]; tests and other stores can
//! implement it too.

use lookout_tsdb::{Labels, Matcher, SeriesId, Store};

use crate::error::{Error, ErrorKind};

/// A series chosen by [`Queryable::select`]: its labels and a handle for reading samples.
#[derive(Debug, Clone)]
pub struct SelectedSeries {
    pub labels: Labels,
    pub id: u64,
}

/// What the evaluator needs from a store.
pub trait Queryable {
    /// Series whose labels satisfy every matcher (a missing label has the value `""`) and that may
    /// have samples in `mint..=maxt`.
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SelectedSeries>, Error>;

    /// Appends the float samples of a selected series with `mint <= t <= maxt` to `out`, in time
    /// order. A store that holds native-histogram samples in that range returns
    /// [`ErrorKind::NativeHistogramsUnsupported`].
    fn samples(
        &self,
        id: u64,
        mint: i64,
        maxt: i64,
        out: &mut Vec<(i64, f64)>,
    ) -> Result<(), Error>;
}

impl Queryable for Store {
    fn select(
        &self,
        matchers: &[Matcher],
        _mint: i64,
        _maxt: i64,
    ) -> Result<Vec<SelectedSeries>, Error> {
        Ok(Store::select(self, matchers)
            .into_iter()
            .filter_map(|id| {
                self.labels(id).map(|l| SelectedSeries {
                    labels: l.clone(),
                    id: id.0 as u64,
                })
            })
            .collect())
    }

    fn samples(
        &self,
        id: u64,
        mint: i64,
        maxt: i64,
        out: &mut Vec<(i64, f64)>,
    ) -> Result<(), Error> {
        let id = u32::try_from(id)
            .map_err(|_| Error::new(ErrorKind::Storage(format!("bad series id {id}"))))?;
        // A chunk's worth of columns at a time: one call per chunk instead of one per sample,
        // and the copy into `out` is a plain loop over two slices.
        let mut it = Store::samples(self, SeriesId(id), mint, maxt);
        while let Some((ts, vs)) = it.next_batch() {
            out.extend(ts.iter().copied().zip(vs.iter().copied()));
        }
        Ok(())
    }
}
