//! Loads an OpenMetrics file (as `promtool tsdb create-blocks-from openmetrics` accepts) into a
//! store, with the exposition parser of `lookout-tsdb`.

use std::collections::HashMap;

use lookout_tsdb::exposition::{Entry, Parser};
use lookout_tsdb::{Labels, METRIC_NAME, Store};

/// Parses `body` and returns the store and how many samples it holds.
pub fn openmetrics(body: &str) -> Result<(Store, usize), String> {
    // Samples of one series may be spread over the file; the store wants them in time order.
    let mut series: HashMap<Labels, Vec<(i64, f64)>> = HashMap::new();
    for entry in Parser::openmetrics(body) {
        let entry = entry.map_err(|e| e.to_string())?;
        let Entry::Sample(s) = entry else { continue };
        let Some(t) = s.timestamp else {
            return Err(format!("sample of {} has no timestamp", s.name));
        };
        let mut pairs: Vec<(&str, &str)> = s.labels.iter().map(|(n, v)| (*n, v.as_ref())).collect();
        pairs.push((METRIC_NAME, s.name));
        series
            .entry(Labels::new(pairs))
            .or_default()
            .push((t, s.value));
    }
    let mut store = Store::default();
    let mut total = 0;
    let mut keys: Vec<Labels> = series.keys().cloned().collect();
    keys.sort();
    for labels in keys {
        let mut samples = series.remove(&labels).unwrap_or_default();
        samples.sort_by_key(|s| s.0);
        let id = store.series_id(&labels);
        for (t, v) in samples {
            if store.append(id, t, v).is_ok() {
                total += 1;
            }
        }
    }
    Ok((store, total))
}
