//! Starter dashboards, written in the saved model: "Services overview" for every scrape job (with
//! a `job` variable), the same board for one job (a constant), and ad-hoc boards of `?expr=`
//! queries.

use serde_json::json;

use crate::json::Read;
use crate::model::{
    Dashboard, FieldConfig, FieldDefaults, GridPos, LOOKOUT_VERSION, Panel, SCHEMA_VERSION, Step,
    Target, Templating, Thresholds, TimeRange, Variable,
};

/// The uid of the services overview; per-job boards are `job-<job>`.
pub const OVERVIEW_UID: &str = "services-overview";

fn thresholds(steps: &[(Option<f64>, &str)]) -> Option<Thresholds> {
    Some(Thresholds {
        mode: "absolute".into(),
        steps: steps
            .iter()
            .map(|(v, c)| Step {
                color: (*c).into(),
                value: *v,
                ..Step::default()
            })
            .collect(),
        ..Thresholds::default()
    })
}

/// A panel of `kind` querying `expr`.
pub fn panel(
    id: u32,
    kind: &str,
    title: &str,
    expr: &str,
    legend: &str,
    unit: &str,
    pos: GridPos,
) -> Panel {
    Panel {
        id,
        kind: kind.into(),
        title: title.into(),
        grid_pos: pos,
        targets: (!expr.is_empty()).then(|| {
            vec![Target {
                expr: expr.into(),
                legend_format: (!legend.is_empty()).then(|| legend.into()),
                ref_id: Some("A".into()),
                ..Target::default()
            }]
        }),
        field_config: Some(FieldConfig {
            defaults: FieldDefaults {
                unit: Some(unit.into()),
                ..FieldDefaults::default()
            },
            ..FieldConfig::default()
        }),
        ..Panel::default()
    }
}

fn row(id: u32, title: &str, y: u32) -> Panel {
    Panel {
        id,
        kind: "row".into(),
        title: title.into(),
        grid_pos: GridPos::new(0, y, 24, 1),
        collapsed: Some(false),
        panels: Some(Vec::new()),
        ..Panel::default()
    }
}

fn with_thresholds(mut p: Panel, steps: &[(Option<f64>, &str)]) -> Panel {
    p.defaults_mut().thresholds = thresholds(steps);
    p
}

/// An empty dashboard.
pub fn blank(uid: &str, title: &str) -> Dashboard {
    Dashboard {
        uid: uid.into(),
        title: title.into(),
        schema_version: SCHEMA_VERSION,
        lookout_version: Some(LOOKOUT_VERSION),
        time: Some(TimeRange {
            from: "now-15m".into(),
            to: "now".into(),
            ..TimeRange::default()
        }),
        refresh: json!(""),
        ..Dashboard::default()
    }
}

/// "Services overview": what an operator looks at first for every scrape job — request rate,
/// error ratio, latency quantiles, up — over the demo fleet or any service exposing the usual
/// `http_requests_total` / `http_request_duration_seconds` metrics. With `job` set, the board
/// of that one job (a constant variable); otherwise a `job` variable with every job and "All".
pub fn services_overview(job: Option<&str>) -> Dashboard {
    let (uid, title) = match job {
        Some(j) => (format!("job-{j}"), format!("Service: {j}")),
        None => (OVERVIEW_UID.to_owned(), "Services overview".to_owned()),
    };
    let mut d = blank(&uid, &title);
    d.tags = vec!["starter".into()];
    let job_var: Variable = match job {
        Some(j) => Variable::read(json!({
            "name": "job", "type": "constant", "query": j, "hide": 2
        })),
        None => Variable::read(json!({
            "name": "job", "label": "Job", "type": "query", "multi": true, "includeAll": true,
            "query": {"query": "label_values(up, job)", "refId": "job"},
            "current": {"text": "All", "value": ["$__all"]}
        })),
    }
    .unwrap_or_default();
    let instance_var = Variable::read(json!({
        "name": "instance", "label": "Instance", "type": "query", "multi": true, "includeAll": true,
        "query": {"query": "label_values(up{job=~\"$job\"}, instance)", "refId": "instance"},
        "current": {"text": "All", "value": ["$__all"]}
    }))
    .unwrap_or_default();
    d.templating = Some(Templating {
        list: vec![job_var, instance_var],
        ..Templating::default()
    });
    let sel = "job=~\"$job\", instance=~\"$instance\"";
    let rate = |extra: &str| format!("rate(http_requests_total{{{sel}{extra}}}[$__rate_interval])");
    let buckets = format!("rate(http_request_duration_seconds_bucket{{{sel}}}[$__rate_interval])");
    let g = GridPos::new;
    d.panels = vec![
        with_thresholds(
            panel(
                1,
                "stat",
                "Requests",
                &format!("sum({})", rate("")),
                "",
                "reqps",
                g(0, 0, 6, 4),
            ),
            &[(None, "blue")],
        ),
        with_thresholds(
            panel(
                2,
                "stat",
                "Errors (5xx)",
                &format!("sum({}) / sum({})", rate(", code=~\"5..\""), rate("")),
                "",
                "percentunit",
                g(6, 0, 6, 4),
            ),
            &[(None, "green"), (Some(0.01), "orange"), (Some(0.05), "red")],
        ),
        with_thresholds(
            panel(
                3,
                "stat",
                "Latency p95 (all)",
                &format!("histogram_quantile(0.95, sum by (le) ({buckets}))"),
                "",
                "s",
                g(12, 0, 6, 4),
            ),
            &[(None, "green"), (Some(0.25), "orange"), (Some(1.0), "red")],
        ),
        with_thresholds(
            panel(
                4,
                "stat",
                "Targets up",
                &format!("count(up{{{sel}}} == 1) / count(up{{{sel}}})"),
                "",
                "percentunit",
                g(18, 0, 6, 4),
            ),
            &[(None, "red"), (Some(0.99), "orange"), (Some(1.0), "green")],
        ),
        panel(
            5,
            "timeseries",
            "Request rate by service",
            &format!("sum by (job) ({})", rate("")),
            "{{job}}",
            "reqps",
            g(0, 4, 12, 8),
        ),
        panel(
            6,
            "timeseries",
            "Error ratio (5xx)",
            &format!(
                "sum by (job) ({}) / sum by (job) ({})",
                rate(", code=~\"5..\""),
                rate("")
            ),
            "{{job}}",
            "percentunit",
            g(12, 4, 12, 8),
        ),
        panel(
            7,
            "timeseries",
            "Latency p95",
            &format!("histogram_quantile(0.95, sum by (job, le) ({buckets}))"),
            "{{job}}",
            "s",
            g(0, 12, 12, 8),
        ),
        panel(
            8,
            "timeseries",
            "Latency p50",
            &format!("histogram_quantile(0.5, sum by (job, le) ({buckets}))"),
            "{{job}}",
            "s",
            g(12, 12, 12, 8),
        ),
        panel(
            9,
            "timeseries",
            "Up",
            &format!("up{{{sel}}}"),
            "{{job}} {{instance}}",
            "short",
            g(0, 20, 12, 8),
        ),
        panel(
            10,
            "lookout-targets",
            "Targets",
            "",
            "",
            "short",
            g(12, 20, 12, 8),
        ),
        row(11, "Details", 28),
        panel(
            12,
            "timeseries",
            "Requests by route",
            &format!("sum by (job, method, route) ({})", rate("")),
            "{{job}} {{method}} {{route}}",
            "reqps",
            g(0, 29, 12, 8),
        ),
        panel(
            13,
            "timeseries",
            "Requests by code",
            &format!("sum by (code) ({})", rate("")),
            "{{code}}",
            "reqps",
            g(12, 29, 12, 8),
        ),
        panel(
            14,
            "timeseries",
            "CPU",
            &format!("rate(process_cpu_seconds_total{{{sel}}}[$__rate_interval])"),
            "{{job}} {{instance}}",
            "cores",
            g(0, 37, 8, 8),
        ),
        panel(
            15,
            "timeseries",
            "Resident memory",
            &format!("process_resident_memory_bytes{{{sel}}}"),
            "{{job}} {{instance}}",
            "bytes",
            g(8, 37, 8, 8),
        ),
        panel(
            16,
            "timeseries",
            "Queue depth",
            &format!("queue_depth{{{sel}}}"),
            "{{job}} {{instance}}",
            "short",
            g(16, 37, 8, 8),
        ),
        panel(
            17,
            "timeseries",
            "Scrape duration",
            &format!("scrape_duration_seconds{{{sel}}}"),
            "{{job}} {{instance}}",
            "s",
            g(0, 45, 24, 8),
        ),
    ];
    d
}

/// An ad-hoc dashboard of one time-series panel per query (`?expr=...` in the page's URL).
pub fn from_queries(exprs: &[String]) -> Dashboard {
    let mut d = blank("queries", "Queries");
    d.panels.push(panel(
        1,
        "lookout-targets",
        "Targets",
        "",
        "",
        "short",
        GridPos::new(0, 0, 24, 6),
    ));
    for (i, e) in exprs.iter().enumerate() {
        let i = i as u32;
        d.panels.push(panel(
            i + 2,
            "timeseries",
            e,
            e,
            "",
            "short",
            GridPos::new(i % 2 * 12, 6 + i / 2 * 9, 12, 9),
        ));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variables::{Context, Scope};
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn every_starter_query_parses_once_interpolated() {
        let ctx = Context {
            start: 0,
            end: 900_000,
            interval_ms: 15_000,
            scrape_ms: 15_000,
        };
        for d in [services_overview(None), services_overview(Some("api"))] {
            let mut ids: Vec<u32> = d.all_panels().map(|p| p.id).collect();
            let n = ids.len();
            ids.dedup();
            assert_eq!(ids.len(), n, "panel ids are unique");
            assert!(d.all_panels().filter(|p| !p.is_row()).count() >= 16);
            for p in d.all_panels().filter(|p| !p.expr().is_empty()) {
                // Variables not resolved: unknown names stay; replace them as "All" would.
                let e = Scope::default()
                    .interpolate(p.expr(), &ctx)
                    .replace("$job", ".*")
                    .replace("$instance", ".*");
                assert!(lookout_promql::parse(&e).is_ok(), "{}: {e}", p.title);
            }
            // The layout stays on the 24-column grid without overlaps.
            let ps: Vec<&Panel> = d.panels.iter().collect();
            for (i, a) in ps.iter().enumerate() {
                assert!(a.grid_pos.x + a.grid_pos.w <= 24, "{}", a.title);
                for b in &ps[i + 1..] {
                    assert!(
                        !a.grid_pos.overlaps(&b.grid_pos),
                        "{} overlaps {}",
                        a.title,
                        b.title
                    );
                }
            }
            // It is what an export would write.
            assert_eq!(Dashboard::from_json(&d.to_json()).unwrap(), d);
        }
    }
}
