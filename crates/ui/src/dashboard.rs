//! A panel as the components draw it: derived from the saved [`crate::model::Panel`] with
//! variables interpolated, its unit and thresholds parsed; Grafana's `{{label}}` legend format.

use crate::format::Unit;
use crate::model::{self, PanelType};
use lookout_promql::sort::SortDyn;

/// How a panel draws its query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelKind {
    /// Lines over time.
    TimeSeries,
    /// Every target and whether it is up.
    Targets,
    /// The newest value, large, over a sparkline.
    Stat,
    /// The newest value of every series, one row each.
    Table,
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
    /// The saved panel (interpolated), for what the drawing reads beyond the fields above:
    /// `fieldConfig.defaults` (min, max, decimals, custom draw style), `options` (legend).
    pub config: model::Panel,
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
    /// The panel as drawn from its saved form, with variables already interpolated into `expr`
    /// and `title` by the caller. `None` for rows and panel types this page does not draw.
    pub fn from_model(p: &model::Panel, expr: String, title: String) -> Option<Panel> {
        let kind = match p.panel_type() {
            PanelType::TimeSeries | PanelType::Heatmap => PanelKind::TimeSeries,
            PanelType::Stat | PanelType::Gauge | PanelType::BarGauge => PanelKind::Stat,
            PanelType::Table => PanelKind::Table,
            PanelType::Targets => PanelKind::Targets,
            PanelType::Row | PanelType::Unsupported(_) => return None,
        };
        let d = p.defaults();
        let unit = d
            .and_then(|d| d.unit.as_deref())
            .map_or(Unit::Short, unit_from_grafana);
        let mut thresholds: Vec<(f64, (u8, u8, u8))> = d
            .and_then(|d| d.thresholds.as_ref())
            .map(|t| {
                t.steps
                    .iter()
                    .map(|s| {
                        (
                            s.value.unwrap_or(f64::NEG_INFINITY),
                            model::parse_color(&s.color).unwrap_or(BLUE),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        thresholds.sort_by_dyn(|a, b| a.0.total_cmp(&b.0));
        Some(Panel {
            id: p.id.to_string(),
            title,
            kind,
            expr,
            legend: p.legend_format().to_owned(),
            unit,
            thresholds,
            config: p.clone(),
        })
    }
}

/// Grafana's unit ids, as far as [`Unit`] draws them; others are plain numbers.
pub fn unit_from_grafana(id: &str) -> Unit {
    match id {
        "s" => Unit::Seconds,
        "bytes" | "decbytes" => Unit::Bytes,
        "percentunit" => Unit::PercentUnit,
        "percent" => Unit::Percent,
        "reqps" | "rps" => Unit::RequestsPerSecond,
        "cores" => Unit::Cores,
        _ => Unit::Short,
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
}
