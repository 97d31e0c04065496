//! The panel gallery (`?panels`): the services overview's panels with one of every other panel
//! type and draw style beside them, over the demo fleet's metrics — a page to see how each
//! renderer draws live data, and the dashboard the UI benchmarks and browser tests open.

use crate::panel_options::{
    BarDisplayMode, Calc, ColorMode, DrawStyle, LegendMode, Orientation, PanelSpec, PanelType,
    StackingMode, Target, ThresholdStep, ThresholdsMode,
};

fn spec(
    key: &str,
    title: &str,
    kind: PanelType,
    expr: &str,
    legend: &str,
    unit: &str,
) -> PanelSpec {
    let mut s = PanelSpec {
        key: key.into(),
        title: title.into(),
        kind,
        targets: vec![Target {
            expr: expr.into(),
            legend_format: legend.into(),
        }],
        ..PanelSpec::default()
    };
    s.field_config.defaults.unit = Some(unit.into());
    s
}

fn steps(steps: &[(&str, Option<f64>)]) -> Vec<ThresholdStep> {
    steps
        .iter()
        .map(|(c, v)| ThresholdStep {
            color: (*c).into(),
            value: *v,
        })
        .collect()
}

/// The gallery's panels: at least 16, every type.
pub fn panels() -> Vec<PanelSpec> {
    // The services overview's panels as the starter draws them (stats with thresholds, then
    // time series), under stable keys the bench and the browser tests find them by.
    let mut out: Vec<PanelSpec> = Vec::new();
    let mut s = spec(
        "stat-rps",
        "Requests",
        PanelType::Stat,
        "sum(rate(http_requests_total[1m]))",
        "",
        "reqps",
    );
    s.field_config.defaults.thresholds.steps = steps(&[("#5794f2", None)]);
    out.push(s);
    let mut s = spec(
        "stat-errors",
        "Errors (5xx)",
        PanelType::Stat,
        "sum(rate(http_requests_total{code=~\"5..\"}[1m])) / sum(rate(http_requests_total[1m]))",
        "",
        "percentunit",
    );
    s.field_config.defaults.thresholds.steps = steps(&[
        ("#73bf69", None),
        ("#ff9830", Some(0.01)),
        ("#f2495c", Some(0.05)),
    ]);
    out.push(s);
    let mut s = spec(
        "stat-p95",
        "Latency p95 (all)",
        PanelType::Stat,
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))",
        "",
        "s",
    );
    s.field_config.defaults.thresholds.steps = steps(&[
        ("#73bf69", None),
        ("#ff9830", Some(0.25)),
        ("#f2495c", Some(1.0)),
    ]);
    out.push(s);
    let mut s = spec(
        "stat-up",
        "Targets up",
        PanelType::Stat,
        "count(up == 1) / count(up)",
        "",
        "percentunit",
    );
    s.field_config.defaults.thresholds.steps = steps(&[
        ("#f2495c", None),
        ("#ff9830", Some(0.99)),
        ("#73bf69", Some(1.0)),
    ]);
    out.push(s);
    for (key, title, expr, legend, unit) in [
        (
            "rps",
            "Request rate by service",
            "sum by (job) (rate(http_requests_total[1m]))",
            "{{job}}",
            "reqps",
        ),
        (
            "errors",
            "Error ratio (5xx)",
            "sum by (job) (rate(http_requests_total{code=~\"5..\"}[1m])) / sum by (job) (rate(http_requests_total[1m]))",
            "{{job}}",
            "percentunit",
        ),
        (
            "p95",
            "Latency p95",
            "histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket[1m])))",
            "{{job}}",
            "s",
        ),
        (
            "p50",
            "Latency p50",
            "histogram_quantile(0.5, sum by (job, le) (rate(http_request_duration_seconds_bucket[1m])))",
            "{{job}}",
            "s",
        ),
        (
            "routes",
            "Requests by route",
            "sum by (job, method, route) (rate(http_requests_total[1m]))",
            "{{job}} {{method}} {{route}}",
            "reqps",
        ),
        (
            "cpu",
            "CPU",
            "rate(process_cpu_seconds_total[1m])",
            "{{job}}",
            "cores",
        ),
        (
            "memory",
            "Resident memory",
            "process_resident_memory_bytes",
            "{{job}}",
            "bytes",
        ),
        ("queue", "Queue depth", "queue_depth", "{{job}}", "short"),
        (
            "scrape",
            "Scrape duration",
            "scrape_duration_seconds",
            "{{job}}",
            "s",
        ),
    ] {
        out.push(spec(key, title, PanelType::Timeseries, expr, legend, unit));
    }
    // The error stat shows Grafana's background colour mode.
    if let Some(s) = out.iter_mut().find(|s| s.key == "stat-errors") {
        s.options.color_mode = ColorMode::Background;
    }
    // The per-service rate as a stacked area with a table legend of values.
    if let Some(s) = out.iter_mut().find(|s| s.key == "rps") {
        let c = &mut s.field_config.defaults.custom;
        c.fill_opacity = 25.0;
        c.stacking.mode = StackingMode::Normal;
        s.options.legend.display_mode = LegendMode::Table;
        s.options.legend.calcs = vec![Calc::LastNotNull, Calc::Min, Calc::Max, Calc::Mean];
    }
    let mut share = spec(
        "code-share",
        "Share of responses by code",
        PanelType::Timeseries,
        "sum by (code) (rate(http_requests_total[1m]))",
        "{{code}}",
        "reqps",
    );
    share.field_config.defaults.custom.stacking.mode = StackingMode::Percent;
    share.field_config.defaults.custom.fill_opacity = 60.0;
    out.push(share);
    let mut bars = spec(
        "errors-bars",
        "5xx per second (bars)",
        PanelType::Timeseries,
        "sum by (job) (rate(http_requests_total{code=~\"5..\"}[1m]))",
        "{{job}}",
        "reqps",
    );
    bars.field_config.defaults.custom.draw_style = DrawStyle::Bars;
    bars.field_config.defaults.custom.stacking.mode = StackingMode::Normal;
    out.push(bars);
    let mut points = spec(
        "queue-points",
        "Queue depth (points)",
        PanelType::Timeseries,
        "queue_depth",
        "{{job}}",
        "short",
    );
    points.field_config.defaults.custom.draw_style = DrawStyle::Points;
    points.field_config.defaults.custom.point_size = 4.0;
    out.push(points);
    let mut gauge = spec(
        "cpu-gauge",
        "CPU, busiest service",
        PanelType::Gauge,
        "max(rate(process_cpu_seconds_total[1m]))",
        "",
        "percentunit",
    );
    let d = &mut gauge.field_config.defaults;
    (d.min, d.max, d.decimals) = (Some(0.0), Some(1.0), Some(1));
    d.thresholds.steps = steps(&[("green", None), ("orange", Some(0.6)), ("red", Some(0.85))]);
    out.push(gauge);
    let mut bars = spec(
        "memory-bars",
        "Resident memory",
        PanelType::Bargauge,
        "process_resident_memory_bytes",
        "{{job}}",
        "bytes",
    );
    let d = &mut bars.field_config.defaults;
    (d.min, d.max) = (Some(0.0), Some(1024.0 * 1024.0 * 1024.0));
    d.thresholds.mode = ThresholdsMode::Percentage;
    d.thresholds.steps = steps(&[("green", None), ("yellow", Some(50.0)), ("red", Some(80.0))]);
    bars.options.orientation = Orientation::Horizontal;
    bars.options.display_mode = BarDisplayMode::Gradient;
    out.push(bars);
    let mut vbars = spec(
        "rps-vbars",
        "Request rate by service",
        PanelType::Bargauge,
        "sum by (job) (rate(http_requests_total[1m]))",
        "{{job}}",
        "reqps",
    );
    vbars.options.orientation = Orientation::Vertical;
    vbars.options.display_mode = BarDisplayMode::Basic;
    vbars.field_config.defaults.thresholds.steps = steps(&[("blue", None)]);
    out.push(vbars);
    out.push(spec(
        "latency-heatmap",
        "Latency distribution",
        PanelType::Heatmap,
        "sum by (le) (rate(http_request_duration_seconds_bucket[1m]))",
        "{{le}}",
        "s",
    ));
    out.push(spec(
        "up-table",
        "Targets (instant)",
        PanelType::Table,
        "up",
        "",
        "short",
    ));
    out
}
