//! Metric metadata (HELP/TYPE/UNIT) as the scraped targets expose it, kept per target like
//! Prometheus's `/api/v1/metadata`: a family's entry lives while a target that exposes it is
//! scraped, and distinct entries for one family (two versions of a service) are all kept.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use lookout_tsdb::exposition::{Entry, MetricType};
use lookout_wire::MetricMetadata;

/// Collects the metadata of one scrape from its exposition entries, one entry per family.
#[derive(Debug, Default)]
pub struct MetadataCollector {
    families: Vec<MetricMetadata>,
}

impl MetadataCollector {
    /// Notes a `# HELP`, `# TYPE` or `# UNIT` line; samples are ignored.
    pub fn note(&mut self, entry: &Entry<'_>) {
        let (family, apply): (&str, &dyn Fn(&mut MetricMetadata)) = match entry {
            Entry::Help { family, text } => (family, &|m| m.help = text.to_string()),
            Entry::Type { family, kind } => (family, &|m| m.kind = *kind),
            Entry::Unit { family, unit } => (family, &|m| m.unit = (*unit).to_owned()),
            Entry::Sample(_) => return,
        };
        // A family's lines are adjacent in valid exposition: look at the newest entry first.
        let slot = match self.families.iter().rposition(|m| m.metric == family) {
            Some(i) => &mut self.families[i],
            None => {
                self.families.push(MetricMetadata {
                    metric: family.to_owned(),
                    kind: MetricType::Unknown,
                    help: String::new(),
                    unit: String::new(),
                });
                let last = self.families.len() - 1;
                &mut self.families[last]
            }
        };
        apply(slot);
    }

    pub fn finish(self) -> Vec<MetricMetadata> {
        self.families
    }
}

/// Every target's metadata and the merged view by family.
#[derive(Debug, Default)]
pub struct MetadataStore {
    by_target: HashMap<u64, Arc<Vec<MetricMetadata>>>,
    /// Family -> its distinct entries across targets.
    merged: BTreeMap<String, Vec<MetricMetadata>>,
}

impl MetadataStore {
    /// Replaces a target's metadata; returns whether anything changed.
    pub fn set(&mut self, target: u64, families: Arc<Vec<MetricMetadata>>) -> bool {
        if self.by_target.get(&target) == Some(&families) {
            return false;
        }
        self.by_target.insert(target, families);
        self.rebuild();
        true
    }

    /// Forgets a target that is no longer scraped.
    pub fn remove(&mut self, target: u64) {
        if self.by_target.remove(&target).is_some() {
            self.rebuild();
        }
    }

    fn rebuild(&mut self) {
        self.merged.clear();
        for families in self.by_target.values() {
            for m in families.iter() {
                let entries = self.merged.entry(m.metric.clone()).or_default();
                if !entries.contains(m) {
                    entries.push(m.clone());
                }
            }
        }
        for entries in self.merged.values_mut() {
            entries.sort_by(|a, b| (&a.help, &a.unit).cmp(&(&b.help, &b.unit)));
        }
    }

    /// All entries, or those of one family, ordered by family.
    pub fn query(&self, metric: Option<&str>) -> Vec<MetricMetadata> {
        match metric {
            Some(m) => self.merged.get(m).cloned().unwrap_or_default(),
            None => self.merged.values().flatten().cloned().collect(),
        }
    }

    /// The metadata of the family a sample name belongs to (`http_request_duration_seconds`
    /// for `http_request_duration_seconds_bucket`), if a target exposes it.
    pub fn for_series(&self, name: &str) -> Option<&MetricMetadata> {
        lookout_wire::family_candidates(name).find_map(|f| self.merged.get(f)?.first())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lookout_tsdb::exposition::Parser;

    fn collect(body: &str) -> Arc<Vec<MetricMetadata>> {
        let mut c = MetadataCollector::default();
        for e in Parser::new(body) {
            c.note(&e.unwrap());
        }
        Arc::new(c.finish())
    }

    #[test]
    fn families_are_found_from_sample_names_and_targets_merge() {
        let a = collect(
            "# HELP req_seconds Request latency.\n# TYPE req_seconds histogram\n\
             req_seconds_bucket{le=\"+Inf\"} 1\nreq_seconds_sum 1\nreq_seconds_count 1\n\
             # TYPE jobs_total counter\njobs_total 3\n",
        );
        let mut store = MetadataStore::default();
        assert!(store.set(1, a.clone()));
        assert!(!store.set(1, a));
        let m = store.for_series("req_seconds_bucket").unwrap();
        assert_eq!(
            (m.kind, m.help.as_str()),
            (MetricType::Histogram, "Request latency.")
        );
        assert_eq!(
            store.for_series("jobs_total").unwrap().kind,
            MetricType::Counter
        );
        assert!(store.for_series("other").is_none());
        // Another target with other help text: both are kept; removing it leaves one.
        store.set(
            2,
            collect("# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 1\n"),
        );
        assert_eq!(store.query(Some("jobs_total")).len(), 2);
        store.remove(2);
        assert_eq!(store.query(Some("jobs_total")).len(), 1);
        assert_eq!(store.query(None).len(), 2);
    }
}
