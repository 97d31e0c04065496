//! The targets page's logic: the relay's target health grouped by job, filtered by health and
//! by text, as Prometheus's `/targets` page lists them.

use lookout_tsdb::sort::SortDyn;
use lookout_wire::TargetHealth;

/// Which targets to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthFilter {
    #[default]
    All,
    Up,
    Down,
}

impl HealthFilter {
    pub fn parse(s: &str) -> HealthFilter {
        match s {
            "up" => HealthFilter::Up,
            "down" => HealthFilter::Down,
            _ => HealthFilter::All,
        }
    }
}

/// The targets that pass the filters, grouped by job (jobs and instances sorted), with each
/// group's count of targets up. `text` matches job, instance or last error, case-insensitively.
pub fn grouped(
    targets: &[TargetHealth],
    health: HealthFilter,
    text: &str,
) -> Vec<(String, usize, Vec<TargetHealth>)> {
    let needle = text.trim().to_lowercase();
    let mut list: Vec<&TargetHealth> = targets
        .iter()
        .filter(|t| match health {
            HealthFilter::All => true,
            HealthFilter::Up => t.up(),
            HealthFilter::Down => !t.up(),
        })
        .filter(|t| {
            needle.is_empty()
                || [t.job(), t.instance(), t.last_error.as_str()]
                    .iter()
                    .any(|f| f.to_lowercase().contains(&needle))
        })
        .collect();
    list.sort_by_dyn(|a, b| (a.job(), a.instance()).cmp(&(b.job(), b.instance())));
    let mut out: Vec<(String, usize, Vec<TargetHealth>)> = Vec::new();
    for t in list {
        match out.last_mut() {
            Some((job, up, group)) if *job == t.job() => {
                *up += usize::from(t.up());
                group.push(t.clone());
            }
            _ => out.push((t.job().to_owned(), usize::from(t.up()), vec![t.clone()])),
        }
    }
    out
}

/// How long ago `t` was, from `now` (both ms): `4.2s ago`, `3m ago`, `never`.
pub fn ago(t: i64, now: i64) -> String {
    if t <= 0 {
        return "never".into();
    }
    let s = (now - t).max(0) as f64 / 1000.0;
    if s < 60.0 {
        format!("{s:.1}s ago")
    } else if s < 3600.0 {
        format!("{:.0}m ago", s / 60.0)
    } else {
        format!("{:.1}h ago", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn t(job: &str, instance: &str, up: bool, err: &str) -> TargetHealth {
        TargetHealth {
            scrape_pool: job.into(),
            scrape_url: format!("http://{instance}/metrics"),
            labels: lookout_tsdb::Labels::new([("instance", instance), ("job", job)]),
            health: if up {
                lookout_wire::Health::Up
            } else {
                lookout_wire::Health::Down
            },
            last_error: err.into(),
            last_scrape: 1,
            last_duration_seconds: 0.01,
        }
    }

    #[wasm_bindgen_test]
    fn groups_by_job_and_filters() {
        let all = [
            t("web", "b:1", true, ""),
            t("db", "x:1", false, "connection refused"),
            t("web", "a:1", false, "timeout"),
        ];
        let g = grouped(&all, HealthFilter::All, "");
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].0.as_str(), g[0].1), ("db", 0));
        assert_eq!((g[1].0.as_str(), g[1].1), ("web", 1));
        assert_eq!(g[1].2[0].instance(), "a:1");
        let down = grouped(&all, HealthFilter::Down, "");
        assert_eq!(down.iter().map(|g| g.2.len()).sum::<usize>(), 2);
        let text = grouped(&all, HealthFilter::All, "REFUSED");
        assert_eq!(text.len(), 1);
        assert_eq!(text[0].2[0].instance(), "x:1");
        assert!(grouped(&all, HealthFilter::Up, "db").is_empty());
    }

    #[wasm_bindgen_test]
    fn ages_read_naturally() {
        assert_eq!(ago(0, 5), "never");
        assert_eq!(ago(1_000, 5_200), "4.2s ago");
        assert_eq!(ago(1_000, 181_000), "3m ago");
    }
}
