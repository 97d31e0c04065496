//! Dashboards: what panels a page shows. The model follows Grafana's classic JSON model where it
//! can (a panel has a title, PromQL targets with a legend format, and a unit), so that Grafana
//! dashboards can be imported later.

use crate::format::Unit;

/// How a panel draws its query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelKind {
    /// Lines over time.
    TimeSeries,
    /// Every target and whether it is up.
    Targets,
    /// The newest value, large, over a sparkline.
    Stat,
}

/// One panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub id: String,
    pub title: String,
    pub kind: PanelKind,
    /// PromQL; empty for panels that do not query.
    pub expr: String,
    /// Grafana's `legendFormat`: `{{label}}` placeholders; empty means all labels.
    pub legend: String,
    pub unit: Unit,
    /// Grafana's thresholds: from each value upward the colour changes (the first applies below
    /// every value). Empty means the base colour.
    pub thresholds: Vec<(f64, (u8, u8, u8))>,
}

/// Grafana's threshold colours.
pub const GREEN: (u8, u8, u8) = (115, 191, 105);
pub const ORANGE: (u8, u8, u8) = (255, 152, 48);
pub const RED: (u8, u8, u8) = (242, 73, 92);
pub const BLUE: (u8, u8, u8) = (87, 148, 242);

/// The colour thresholds give `v`: the last threshold at or below it, else the base colour.
pub fn threshold_color(thresholds: &[(f64, (u8, u8, u8))], v: Option<f64>) -> (u8, u8, u8) {
    let base = thresholds.first().map_or(BLUE, |t| t.1);
    let Some(v) = v.filter(|v| !v.is_nan()) else {
        return base;
    };
    thresholds
        .iter()
        .filter(|(at, _)| v >= *at)
        .last()
        .map_or(base, |t| t.1)
}

impl Panel {
    fn stat(
        id: &str,
        title: &str,
        expr: &str,
        unit: Unit,
        thresholds: Vec<(f64, (u8, u8, u8))>,
    ) -> Panel {
        Panel {
            id: id.into(),
            title: title.into(),
            kind: PanelKind::Stat,
            expr: expr.into(),
            legend: String::new(),
            unit,
            thresholds,
        }
    }

    fn timeseries(id: &str, title: &str, expr: &str, legend: &str, unit: Unit) -> Panel {
        Panel {
            id: id.into(),
            title: title.into(),
            kind: PanelKind::TimeSeries,
            expr: expr.into(),
            legend: legend.into(),
            unit,
            thresholds: Vec::new(),
        }
    }
}

/// A titled set of panels.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub title: String,
    pub panels: Vec<Panel>,
}

fn targets_panel() -> Panel {
    Panel {
        id: "targets".into(),
        title: "Targets".into(),
        kind: PanelKind::Targets,
        expr: "up".into(),
        legend: String::new(),
        unit: Unit::Short,
        thresholds: Vec::new(),
    }
}

/// "Services overview": what an operator looks at first for every scrape job — request rate,
/// error ratio, latency quantiles, saturation — over the demo fleet or any service that exposes
/// the usual `http_requests_total` / `http_request_duration_seconds` metrics.
pub fn services_overview() -> Dashboard {
    use Unit::*;
    let p = Panel::timeseries;
    Dashboard {
        title: "Services overview".into(),
        panels: vec![
            Panel::stat(
                "stat-rps",
                "Requests",
                "sum(rate(http_requests_total[1m]))",
                RequestsPerSecond,
                vec![(0.0, BLUE)],
            ),
            Panel::stat(
                "stat-errors",
                "Errors (5xx)",
                "sum(rate(http_requests_total{code=~\"5..\"}[1m])) / sum(rate(http_requests_total[1m]))",
                PercentUnit,
                vec![(0.0, GREEN), (0.01, ORANGE), (0.05, RED)],
            ),
            Panel::stat(
                "stat-p95",
                "Latency p95 (all)",
                "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))",
                Seconds,
                vec![(0.0, GREEN), (0.25, ORANGE), (1.0, RED)],
            ),
            Panel::stat(
                "stat-up",
                "Targets up",
                "count(up == 1) / count(up)",
                PercentUnit,
                vec![(0.0, RED), (0.99, ORANGE), (1.0, GREEN)],
            ),
            targets_panel(),
            p(
                "rps",
                "Request rate by service",
                "sum by (job) (rate(http_requests_total[1m]))",
                "{{job}}",
                RequestsPerSecond,
            ),
            p(
                "errors",
                "Error ratio (5xx)",
                "sum by (job) (rate(http_requests_total{code=~\"5..\"}[1m])) / sum by (job) (rate(http_requests_total[1m]))",
                "{{job}}",
                PercentUnit,
            ),
            p(
                "p95",
                "Latency p95",
                "histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket[1m])))",
                "{{job}}",
                Seconds,
            ),
            p(
                "p50",
                "Latency p50",
                "histogram_quantile(0.5, sum by (job, le) (rate(http_request_duration_seconds_bucket[1m])))",
                "{{job}}",
                Seconds,
            ),
            p(
                "routes",
                "Requests by route",
                "sum by (job, method, route) (rate(http_requests_total[1m]))",
                "{{job}} {{method}} {{route}}",
                RequestsPerSecond,
            ),
            p(
                "cpu",
                "CPU",
                "rate(process_cpu_seconds_total[1m])",
                "{{job}}",
                Cores,
            ),
            p(
                "memory",
                "Resident memory",
                "process_resident_memory_bytes",
                "{{job}}",
                Bytes,
            ),
            p("queue", "Queue depth", "queue_depth", "{{job}}", Short),
            p(
                "scrape",
                "Scrape duration",
                "scrape_duration_seconds",
                "{{job}}",
                Seconds,
            ),
        ],
    }
}

/// An ad-hoc dashboard of one time-series panel per query (`?expr=...` in the page's URL).
pub fn from_queries(exprs: &[String]) -> Dashboard {
    Dashboard {
        title: "Queries".into(),
        panels: std::iter::once(targets_panel())
            .chain(
                exprs
                    .iter()
                    .enumerate()
                    .map(|(i, e)| Panel::timeseries(&format!("q{}", i + 1), e, e, "", Unit::Short)),
            )
            .collect(),
    }
}

/// Grafana's legend format: `{{name}}` becomes the series' value of label `name` (or nothing).
pub fn legend_text(format: &str, labels: &lookout_tsdb::Labels) -> String {
    if format.is_empty() {
        let s = labels.to_string();
        return s.strip_suffix("{}").map(str::to_owned).unwrap_or(s);
    }
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find("}}") {
            Some(j) => {
                out.push_str(labels.get(after[..j].trim()).unwrap_or_default());
                rest = &after[j + 2..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_tsdb::Labels;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn legend_format_fills_labels() {
        let l = Labels::new([("__name__", "x"), ("job", "api"), ("code", "500")]);
        assert_eq!(
            legend_text("{{job}} {{ code }} {{missing}}!", &l),
            "api 500 !"
        );
        assert_eq!(legend_text("", &l), "x{code=\"500\", job=\"api\"}");
        assert_eq!(legend_text("{{job", &l), "{{job");
        assert_eq!(legend_text("", &Labels::new([("job", "a")])), "{job=\"a\"}");
    }

    #[wasm_bindgen_test]
    fn thresholds_pick_the_last_step_reached() {
        let t = [(0.0, GREEN), (0.01, ORANGE), (0.05, RED)];
        assert_eq!(threshold_color(&t, Some(0.001)), GREEN);
        assert_eq!(threshold_color(&t, Some(0.01)), ORANGE);
        assert_eq!(threshold_color(&t, Some(0.5)), RED);
        assert_eq!(threshold_color(&t, None), GREEN);
        assert_eq!(threshold_color(&[], Some(1.0)), BLUE);
    }

    #[wasm_bindgen_test]
    fn every_starter_query_parses() {
        for p in services_overview().panels {
            assert!(
                lookout_promql::parse(&p.expr).is_ok(),
                "{}: {:?}",
                p.id,
                lookout_promql::parse(&p.expr).err()
            );
        }
    }
}
