//! One scrape body to the samples to store, with no I/O: parse, attach target labels
//! (`honor_labels` or `exported_*`), `metric_relabel_configs`, limits. Any parse error or breached
//! limit fails the whole scrape, as in Prometheus: the caller then stores nothing of it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use lookout_tsdb::exposition::{Entry, ParseError, Parser};
use lookout_tsdb::{Labels, SeriesId};

use crate::config::Limits;
use crate::relabel::{LabelMap, RelabelConfig, relabel};

/// How a job treats what its targets expose.
#[derive(Debug, Clone, Default)]
pub struct SampleRules {
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub metric_relabel: Vec<RelabelConfig>,
    pub limits: Limits,
}

/// Why a scrape failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ScrapeError {
    Http(String),
    Status(u16),
    BodySizeLimit(u64),
    NotUtf8 {
        at: usize,
    },
    Parse(ParseError),
    SampleLimit,
    LabelLimit {
        metric: String,
        labels: usize,
        limit: u64,
    },
    LabelNameLength {
        metric: String,
        name: String,
        limit: u64,
    },
    LabelValueLength {
        metric: String,
        name: String,
        value: String,
        limit: u64,
    },
    NoMetricName,
    /// A job-wide failure such as `target_limit`.
    Forced(String),
}

impl fmt::Display for ScrapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The wording follows Prometheus's, so operators can search for it.
        let short = |s: &str| s.chars().take(50).collect::<String>();
        match self {
            ScrapeError::Http(e) => f.write_str(e),
            ScrapeError::Status(s) => write!(f, "server returned HTTP status {s}"),
            ScrapeError::BodySizeLimit(l) => {
                write!(f, "body size limit exceeded (limit: {l} bytes)")
            }
            ScrapeError::NotUtf8 { at } => write!(f, "body is not valid UTF-8 (at byte {at})"),
            ScrapeError::Parse(e) => write!(f, "parse error: {e}"),
            ScrapeError::SampleLimit => f.write_str("sample limit exceeded"),
            ScrapeError::LabelLimit {
                metric,
                labels,
                limit,
            } => write!(
                f,
                "label_limit exceeded (metric: {}, number of labels: {labels}, limit: {limit})",
                short(metric)
            ),
            ScrapeError::LabelNameLength {
                metric,
                name,
                limit,
            } => write!(
                f,
                "label_name_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {limit})",
                short(metric),
                short(name),
                name.len()
            ),
            ScrapeError::LabelValueLength {
                metric,
                name,
                value,
                limit,
            } => write!(
                f,
                "label_value_length_limit exceeded (metric: {}, label name: {}, value: {:?}, length: {}, limit: {limit})",
                short(metric),
                short(name),
                short(value),
                value.len()
            ),
            ScrapeError::NoMetricName => f.write_str("__name__ label is missing"),
            ScrapeError::Forced(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for ScrapeError {}

impl From<ScrapeError> for Failed {
    /// A failure before any body was parsed (HTTP, body size, encoding): nothing counted.
    fn from(error: ScrapeError) -> Self {
        Failed {
            error,
            counts: Counts::default(),
        }
    }
}

/// The store's series ids of the series text seen in the last scrape (`name{labels}` as
/// written), so a steady target costs a hash lookup per sample instead of building labels and
/// looking them up in the store again.
///
/// Keys are 128 bits of two independently keyed SipHashes of the text rather than the text
/// itself: a thousand targets of a thousand series would otherwise hold ~60 MB of copies of
/// what the store already has. Random keys mean a target cannot aim for a collision, and an
/// accidental one among a million series has a chance around 1e-27.
///
/// Entries live in one vector sorted by key (24 bytes each: key, series id, scrape number;
/// binary-searched) rather than a hash table, whose load factor would double that for a
/// thousand-series target. They hold ids, not label sets: the store's ids are stable, and an
/// id is 4 bytes where a shared label set is a 16-byte handle.
#[derive(Debug, Default)]
pub struct SeriesCache {
    entries: Vec<CacheEntry>,
    /// Series first met in the current scrape (`None`: dropped by metric relabeling), merged
    /// into `entries` by [`SeriesCache::commit`] once the store has given them ids.
    fresh: HashMap<(u64, u64), Option<Labels>>,
    keys: Option<(
        std::collections::hash_map::RandomState,
        std::collections::hash_map::RandomState,
    )>,
    scrape: u32,
    /// Every entry was seen in the scrape being committed: nothing to forget.
    seen_all: bool,
}

/// `CacheEntry::id` of a series metric relabeling drops.
const DROPPED: u32 = u32::MAX;

#[derive(Debug)]
struct CacheEntry {
    key: (u64, u64),
    id: u32,
    seen: u32,
}

/// Which series a sample belongs to.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesRef {
    /// Known from an earlier scrape.
    Known(SeriesId),
    /// First met in this scrape: the store gives it an id.
    New(Labels),
}

impl SeriesCache {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn key(&mut self, series: &str) -> (u64, u64) {
        use std::hash::BuildHasher;
        let (a, b) = self.keys.get_or_insert_with(Default::default);
        (a.hash_one(series), b.hash_one(series))
    }

    /// Ends a successful scrape: new series join with the ids `id_of` gives them (the store's
    /// `series_id`), series not seen are forgotten.
    pub fn commit(&mut self, mut id_of: impl FnMut(&Labels) -> SeriesId) {
        let scrape = self.scrape;
        if !self.seen_all {
            self.entries.retain(|e| e.seen == scrape);
        }
        if !self.fresh.is_empty() {
            self.entries
                .extend(self.fresh.drain().map(|(key, labels)| CacheEntry {
                    key,
                    id: labels.map_or(DROPPED, |l| id_of(&l).0),
                    seen: scrape,
                }));
            self.entries.sort_unstable_by_key(|e| e.key);
            self.entries.shrink_to_fit();
            self.fresh = HashMap::new();
        }
    }
}

/// What one scrape counted, for the synthetic series; kept when the scrape fails, as
/// Prometheus reports them (`scrapeLoop.append` returns its counts with its error).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Samples parsed from the body (`scrape_samples_scraped`), up to a parse error or a label
    /// limit breach (that sample included); all of them when only `sample_limit` was breached,
    /// since Prometheus parses on to report the full number.
    pub scraped: usize,
    /// Of those, the ones metric relabeling kept (`scrape_samples_post_metric_relabeling`).
    pub post_relabel: usize,
    /// Series new to this target's cache, while under `sample_limit` (`scrape_series_added`).
    pub series_added: usize,
}

/// A scrape that parsed and passed its limits.
#[derive(Debug, Default)]
pub struct Scraped {
    /// Samples to store: series, timestamp if the target gave one (and it is honored), value.
    /// Store them, then [`SeriesCache::commit`].
    pub samples: Vec<(SeriesRef, Option<i64>, f64)>,
    pub counts: Counts,
    /// HELP/TYPE/UNIT of the body's metric families.
    pub metadata: Vec<lookout_wire::MetricMetadata>,
}

/// A scrape that failed: why, and what it counted before it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Failed {
    pub error: ScrapeError,
    pub counts: Counts,
}

/// Turns a body into samples.
pub fn process(
    body: &str,
    openmetrics: bool,
    target_labels: &[(&str, &str)],
    rules: &SampleRules,
    cache: &mut SeriesCache,
) -> Result<Scraped, Failed> {
    let parser = if openmetrics {
        Parser::openmetrics(body)
    } else {
        Parser::new(body)
    };
    let mut out = Scraped::default();
    cache.scrape = cache.scrape.wrapping_add(1);
    let scrape = cache.scrape;
    let mut seen = 0usize;
    let mut over_limit = false;
    let counts = &mut out.counts;
    let samples = &mut out.samples;
    let mut metadata = crate::metadata::MetadataCollector::default();
    let result = (|| {
        for entry in parser {
            let s = match entry.map_err(ScrapeError::Parse)? {
                Entry::Sample(s) => s,
                other => {
                    metadata.note(&other);
                    continue;
                }
            };
            counts.scraped += 1;
            let key = cache.key(s.series);
            let mut new = false;
            let series = match cache.entries.binary_search_by_key(&key, |e| e.key) {
                Ok(i) => {
                    let e = &mut cache.entries[i];
                    if e.seen != scrape {
                        e.seen = scrape;
                        seen += 1;
                    }
                    (e.id != DROPPED).then_some(SeriesRef::Known(SeriesId(e.id)))
                }
                Err(_) => match cache.fresh.get(&key) {
                    Some(l) => l.clone().map(SeriesRef::New),
                    None => {
                        let l = build_labels(s.name, &s.labels, target_labels, rules)?;
                        cache.fresh.insert(key, l.clone());
                        new = true;
                        l.map(SeriesRef::New)
                    }
                },
            };
            let Some(series) = series else { continue };
            counts.post_relabel += 1;
            if over_limit {
                continue;
            }
            if rules.limits.sample_limit > 0 && samples.len() as u64 >= rules.limits.sample_limit {
                // Parse on to count every sample, as Prometheus does; nothing will be stored.
                over_limit = true;
                samples.clear();
                continue;
            }
            if new {
                counts.series_added += 1;
            }
            let ts = if rules.honor_timestamps {
                s.timestamp
            } else {
                None
            };
            samples.push((series, ts, s.value));
        }
        if over_limit {
            return Err(ScrapeError::SampleLimit);
        }
        Ok(())
    })();
    if let Err(error) = result {
        // Nothing of a failed scrape is stored, so its new series have no ids to keep; the
        // cache stays as it was (the target usually recovers as it was).
        cache.fresh.clear();
        return Err(Failed {
            error,
            counts: out.counts,
        });
    }
    cache.seen_all = seen == cache.entries.len();
    out.metadata = metadata.finish();
    Ok(out)
}

/// Prometheus's `mutateSampleLabels` then `metric_relabel_configs`, then the label limits.
fn build_labels(
    name: &str,
    exposed: &[(&str, Cow<'_, str>)],
    target: &[(&str, &str)],
    rules: &SampleRules,
) -> Result<Option<Labels>, ScrapeError> {
    let mut lb: LabelMap = LabelMap::new();
    lb.insert("__name__".into(), name.to_owned());
    for (n, v) in exposed {
        lb.insert((*n).to_owned(), v.to_string());
    }
    if rules.honor_labels {
        for (n, v) in target {
            lb.entry((*n).to_owned()).or_insert_with(|| (*v).to_owned());
        }
    } else {
        let mut conflicts = Vec::new();
        for (n, v) in target {
            if let Some(old) = lb.insert((*n).to_owned(), (*v).to_owned())
                && !old.is_empty()
            {
                conflicts.push(((*n).to_owned(), old));
            }
        }
        // Shorter names first, each renamed to the first free exported_* name.
        conflicts.sort_by_key(|(n, _)| n.len());
        for (n, v) in conflicts {
            let mut new = n;
            loop {
                new = format!("exported_{new}");
                if !lb.contains_key(&new) {
                    lb.insert(new, v);
                    break;
                }
            }
        }
    }
    lb.retain(|_, v| !v.is_empty());
    if !rules.metric_relabel.is_empty() && !relabel(&mut lb, &rules.metric_relabel) {
        return Ok(None);
    }
    let Some(metric) = lb.get("__name__").cloned() else {
        return Err(ScrapeError::NoMetricName);
    };
    let l = &rules.limits;
    if l.label_limit > 0 && lb.len() as u64 > l.label_limit {
        return Err(ScrapeError::LabelLimit {
            metric,
            labels: lb.len(),
            limit: l.label_limit,
        });
    }
    for (n, v) in &lb {
        if l.label_name_length_limit > 0 && n.len() as u64 > l.label_name_length_limit {
            return Err(ScrapeError::LabelNameLength {
                metric,
                name: n.clone(),
                limit: l.label_name_length_limit,
            });
        }
        if l.label_value_length_limit > 0 && v.len() as u64 > l.label_value_length_limit {
            return Err(ScrapeError::LabelValueLength {
                metric,
                name: n.clone(),
                value: v.clone(),
                limit: l.label_value_length_limit,
            });
        }
    }
    Ok(Some(Labels::new(lb)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TARGET: &[(&str, &str)] = &[("instance", "h:1"), ("job", "node")];

    fn run(body: &str, rules: &SampleRules) -> Result<Scraped, ScrapeError> {
        process(body, false, TARGET, rules, &mut SeriesCache::default()).map_err(|f| f.error)
    }

    fn new(r: &SeriesRef) -> &Labels {
        match r {
            SeriesRef::New(l) => l,
            SeriesRef::Known(id) => panic!("{id:?} is not new"),
        }
    }

    fn honor() -> SampleRules {
        SampleRules {
            honor_timestamps: true,
            ..SampleRules::default()
        }
    }

    #[test]
    fn target_labels_win_and_exposed_ones_become_exported() {
        let s = run("up{job=\"x\",exported_job=\"y\"} 1\n", &honor()).unwrap();
        let l = new(&s.samples[0].0);
        assert_eq!(l.get("job"), Some("node"));
        assert_eq!(l.get("exported_job"), Some("y"));
        assert_eq!(l.get("exported_exported_job"), Some("x"));
        let rules = SampleRules {
            honor_labels: true,
            ..honor()
        };
        let s = run("up{job=\"x\"} 1\n", &rules).unwrap();
        assert_eq!(new(&s.samples[0].0).get("job"), Some("x"));
        assert_eq!(new(&s.samples[0].0).get("instance"), Some("h:1"));
    }

    #[test]
    fn any_limit_or_parse_error_fails_the_whole_scrape() {
        let mut rules = honor();
        rules.limits.sample_limit = 2;
        assert_eq!(
            run("a 1\nb 2\nc 3\n", &rules).unwrap_err(),
            ScrapeError::SampleLimit
        );
        rules.limits = Limits {
            label_value_length_limit: 5,
            ..Limits::default()
        };
        let e = run("a{x=\"123456\"} 1\n", &rules).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("label_value_length_limit exceeded"),
            "{e}"
        );
        assert!(matches!(
            run("a 1\nb{ 2\n", &honor()),
            Err(ScrapeError::Parse(_))
        ));
    }

    #[test]
    fn metric_relabeling_drops_before_the_sample_limit_counts() {
        let mut rules = honor();
        rules.limits.sample_limit = 1;
        rules.metric_relabel = serde_yaml_ng::from_str(
            "- source_labels: [__name__]\n  regex: 'go_.*'\n  action: drop\n",
        )
        .unwrap();
        let s = run("go_a 1\ngo_b 1\nkeep 1\n", &rules).unwrap();
        assert_eq!((s.counts.scraped, s.samples.len()), (3, 1));
    }

    #[test]
    fn a_failed_scrape_keeps_what_it_counted_as_prometheus_reports_it() {
        let counts = |body: &str, rules: &SampleRules| {
            process(body, false, TARGET, rules, &mut SeriesCache::default())
                .unwrap_err()
                .counts
        };
        let c = |scraped, post_relabel, series_added| Counts {
            scraped,
            post_relabel,
            series_added,
        };
        // A parse error: what was parsed before it.
        assert_eq!(counts("a 1\nb 2\nc{ 3\nd 4\n", &honor()), c(2, 2, 2));
        // sample_limit: every sample is counted, series only while under the limit.
        let mut rules = honor();
        rules.limits.sample_limit = 2;
        rules.metric_relabel = serde_yaml_ng::from_str(
            "- source_labels: [__name__]\n  regex: 'go_.*'\n  action: drop\n",
        )
        .unwrap();
        assert_eq!(counts("a 1\ngo_x 1\nb 2\nc 3\nd 4\n", &rules), c(5, 4, 2));
        // A label limit: the offending sample is counted as scraped, not as kept.
        let rules = SampleRules {
            limits: Limits {
                label_value_length_limit: 4,
                ..Limits::default()
            },
            ..honor()
        };
        assert_eq!(
            counts("a 1\nb 2\nc{x=\"longer\"} 3\nd 4\n", &rules),
            c(3, 2, 2)
        );
    }

    #[test]
    fn timestamps_honored_or_not_and_cache_reused() {
        let mut cache = SeriesCache::default();
        let s = process("a 1 1000\nb 1\n", false, TARGET, &honor(), &mut cache).unwrap();
        assert_eq!(s.samples[0].1, Some(1000));
        assert!(matches!(s.samples[0].0, SeriesRef::New(_)));
        let mut ids = 7..;
        cache.commit(|_| SeriesId(ids.next().unwrap()));
        let s = process(
            "a 2 1000\n",
            false,
            TARGET,
            &SampleRules::default(),
            &mut cache,
        )
        .unwrap();
        assert_eq!(s.samples[0].1, None);
        assert!(matches!(s.samples[0].0, SeriesRef::Known(SeriesId(7 | 8))));
        assert_eq!(s.counts.series_added, 0);
        // `b` was not seen: forgotten at the commit.
        cache.commit(|_| unreachable!());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_failed_scrape_leaves_the_cache_as_it_was() {
        let mut cache = SeriesCache::default();
        process("a 1\n", false, TARGET, &honor(), &mut cache).unwrap();
        cache.commit(|_| SeriesId(1));
        assert!(process("b 1\nc{ 2\n", false, TARGET, &honor(), &mut cache).is_err());
        let s = process("a 1\nb 1\n", false, TARGET, &honor(), &mut cache).unwrap();
        assert_eq!(s.samples[0].0, SeriesRef::Known(SeriesId(1)));
        assert_eq!(s.counts.series_added, 1);
    }
}
