//! The table view of a query: one row per series, one column per label, the newest value last;
//! sortable by any column (numbers numerically, text naturally).

use lookout_promql::sort::SortDyn;
use std::cmp::Ordering;

use crate::data::SeriesView;

/// Rows of label values and a value, with the column names.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Label names, sorted, `__name__` first; the value column is not listed.
    pub columns: Vec<String>,
    /// Per row: one cell per column ("" when the series lacks the label), and the value.
    pub rows: Vec<(Vec<String>, Option<f64>)>,
}

/// Which column sorts the table: a label column by index, or the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Column(usize),
    Value,
}

impl Table {
    pub fn from_series(series: &[SeriesView]) -> Table {
        let mut columns: Vec<String> = series
            .iter()
            .flat_map(|s| s.labels.iter().map(|(n, _)| n.to_owned()))
            .collect();
        columns.sort_by_dyn(|a, b| {
            (a != "__name__")
                .cmp(&(b != "__name__"))
                .then_with(|| a.cmp(b))
        });
        columns.dedup();
        let rows = series
            .iter()
            .map(|s| {
                (
                    columns
                        .iter()
                        .map(|c| s.labels.get(c).unwrap_or_default().to_owned())
                        .collect(),
                    s.last(),
                )
            })
            .collect();
        Table { columns, rows }
    }

    /// Sorts rows by `key`; NaN and missing values go last either way.
    pub fn sort(&mut self, key: SortKey, ascending: bool) {
        self.rows.sort_by_dyn(|a, b| {
            let ord = match key {
                SortKey::Value => {
                    match (a.1.filter(|v| !v.is_nan()), b.1.filter(|v| !v.is_nan())) {
                        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
                        (Some(_), None) => return Ordering::Less,
                        (None, Some(_)) => return Ordering::Greater,
                        (None, None) => Ordering::Equal,
                    }
                }
                SortKey::Column(i) => natural(&a.0[i], &b.0[i]),
            };
            if ascending { ord } else { ord.reverse() }
        });
    }
}

/// Compares text so that `node10` follows `node9`: runs of digits compare as numbers.
fn natural(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, dy) = (trim_zeros(&x[..nx]), trim_zeros(&y[..ny]));
                let ord = dx.len().cmp(&dy.len()).then_with(|| dx.cmp(dy));
                if ord != Ordering::Equal {
                    return ord;
                }
                (x, y) = (&x[nx..], &y[ny..]);
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let i = d.iter().position(|c| *c != b'0').unwrap_or(d.len());
    &d[i..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_tsdb::Labels;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn s(pairs: &[(&str, &str)], v: f64) -> SeriesView {
        SeriesView {
            labels: Labels::new(pairs.iter().copied()),
            points: vec![(0, v)],
        }
    }

    #[wasm_bindgen_test]
    fn columns_per_label_and_sorting() {
        let series = [
            s(&[("__name__", "up"), ("instance", "node10")], 1.0),
            s(
                &[("__name__", "up"), ("instance", "node9"), ("zone", "a")],
                f64::NAN,
            ),
            s(&[("__name__", "up"), ("instance", "node2")], 0.0),
        ];
        let mut t = Table::from_series(&series);
        assert_eq!(t.columns, vec!["__name__", "instance", "zone"]);
        t.sort(SortKey::Column(1), true);
        let order: Vec<&str> = t.rows.iter().map(|r| r.0[1].as_str()).collect();
        assert_eq!(order, vec!["node2", "node9", "node10"]);
        t.sort(SortKey::Value, false);
        assert_eq!(t.rows[0].1, Some(1.0));
        assert!(t.rows[2].1.is_some_and(f64::is_nan), "NaN sorts last");
        assert_eq!(
            t.rows
                .iter()
                .find(|r| r.0[1] == "node2")
                .map(|r| r.0[2].as_str()),
            Some("")
        );
    }
}
