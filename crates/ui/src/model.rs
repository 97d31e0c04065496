//! The dashboard document: Grafana's classic JSON model (the `dashboard` object of an export,
//! `schemaVersion` 39 era), plus our own `lookoutVersion`.
//!
//! Only what the page reads is typed; every other field of every object is kept in `extra`
//! (serde `flatten`), so a Grafana export that is imported and exported again keeps what this
//! page does not understand. Fields Grafana may omit are `Option`s that are written back only
//! when they were present.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Our version of the document, bumped when the page writes something older pages misread.
pub const LOOKOUT_VERSION: u32 = 1;
/// Grafana's schema version that the starters are written against.
pub const SCHEMA_VERSION: u32 = 39;

type Extra = Map<String, Value>;

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// A dashboard.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookout_version: Option<u32>,
    #[serde(default)]
    pub panels: Vec<Panel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templating: Option<Templating>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeRange>,
    /// Grafana writes `""`, `false` or an interval such as `"10s"`.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub refresh: Value,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `{from, to}` in Grafana's syntax: `now-6h`, `now`, or an ISO time / epoch ms.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TimeRange {
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The panel grid: 24 columns; `h` in rows of 30 px.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GridPos {
    #[serde(default)]
    pub x: u32,
    #[serde(default)]
    pub y: u32,
    #[serde(default)]
    pub w: u32,
    #[serde(default)]
    pub h: u32,
}

impl GridPos {
    pub fn new(x: u32, y: u32, w: u32, h: u32) -> GridPos {
        GridPos { x, y, w, h }
    }
    pub fn bottom(&self) -> u32 {
        self.y + self.h
    }
    pub fn overlaps(&self, o: &GridPos) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
}

/// A panel, or a row (`type: "row"`) that holds its panels in `panels` while collapsed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    #[serde(default)]
    pub id: u32,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub grid_pos: GridPos,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collapsed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panels: Option<Vec<Panel>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<Target>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_config: Option<FieldConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<PanelOptions>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The panel types the page draws, by Grafana's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PanelType {
    TimeSeries,
    Stat,
    Gauge,
    BarGauge,
    Table,
    Heatmap,
    Row,
    /// Lookout's own: the relay's targets and their health.
    Targets,
    /// Anything else (`text`, `piechart`, plugins): shown as a box naming the type.
    Unsupported(String),
}

impl PanelType {
    pub fn from_name(name: &str) -> PanelType {
        match name {
            // `graph` and `singlestat` are the pre-7 names of the same panels.
            "timeseries" | "graph" => PanelType::TimeSeries,
            "stat" | "singlestat" => PanelType::Stat,
            "gauge" => PanelType::Gauge,
            "bargauge" => PanelType::BarGauge,
            "table" | "table-old" => PanelType::Table,
            "heatmap" => PanelType::Heatmap,
            "row" => PanelType::Row,
            "lookout-targets" => PanelType::Targets,
            other => PanelType::Unsupported(other.to_owned()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            PanelType::TimeSeries => "timeseries",
            PanelType::Stat => "stat",
            PanelType::Gauge => "gauge",
            PanelType::BarGauge => "bargauge",
            PanelType::Table => "table",
            PanelType::Heatmap => "heatmap",
            PanelType::Row => "row",
            PanelType::Targets => "lookout-targets",
            PanelType::Unsupported(n) => n,
        }
    }

    /// The types a user can pick in the editor.
    pub const CHOICES: [&'static str; 7] = [
        "timeseries",
        "stat",
        "gauge",
        "bargauge",
        "table",
        "heatmap",
        "lookout-targets",
    ];
}

/// One query of a panel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    #[serde(default)]
    pub expr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legend_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FieldConfig {
    #[serde(default)]
    pub defaults: FieldDefaults,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FieldDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Custom>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `mode` is `absolute` or `percentage`; the first step's `value` is `null` (the base colour).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Thresholds {
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Step {
    #[serde(default)]
    pub color: String,
    /// `null` for the base step: written back as `null`, as Grafana does.
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `fieldConfig.defaults.custom` of time-series panels.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Custom {
    /// `line`, `bars` or `points`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw_style: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_opacity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_width: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacking: Option<Stacking>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `mode`: `none`, `normal` or `percent`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Stacking {
    #[serde(default)]
    pub mode: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PanelOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legend: Option<Legend>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduce_options: Option<ReduceOptions>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `displayMode`: `list`, `table` or `hidden`; `calcs` such as `lastNotNull`, `max`, `mean`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Legend {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calcs: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReduceOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calcs: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Templating {
    #[serde(default)]
    pub list: Vec<Variable>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A dashboard variable. `type`: `query`, `custom`, `interval`, `constant` (also `textbox`,
/// `datasource`, `adhoc`, which the page keeps but does not resolve).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A string, or (Grafana 8+) `{"query": "...", "refId": "..."}`.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub query: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_all: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_value: Option<String>,
    /// A regex filtering (and with a capture group, extracting) the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// `{"text": ..., "value": ...}`: a string or a list.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub current: Value,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Variable {
    /// The query text, whichever shape Grafana wrote it in.
    pub fn query_text(&self) -> &str {
        match &self.query {
            Value::String(s) => s,
            Value::Object(o) => o.get("query").and_then(Value::as_str).unwrap_or_default(),
            _ => "",
        }
    }

    /// The selected values as saved in `current.value`.
    pub fn current_values(&self) -> Vec<String> {
        match self.current.get("value") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn set_current(&mut self, values: &[String]) {
        let v = if self.multi == Some(true) {
            Value::from(values.to_vec())
        } else {
            Value::from(values.first().cloned().unwrap_or_default())
        };
        let text = values.join(" + ");
        self.current = serde_json::json!({ "text": text, "value": v });
    }
}

impl Panel {
    pub fn panel_type(&self) -> PanelType {
        PanelType::from_name(&self.kind)
    }

    pub fn defaults(&self) -> Option<&FieldDefaults> {
        self.field_config.as_ref().map(|f| &f.defaults)
    }

    pub fn defaults_mut(&mut self) -> &mut FieldDefaults {
        &mut self
            .field_config
            .get_or_insert_with(Default::default)
            .defaults
    }

    /// The first query (the page draws one query per panel).
    pub fn expr(&self) -> &str {
        self.targets
            .as_ref()
            .and_then(|t| t.first())
            .map_or("", |t| t.expr.as_str())
    }

    pub fn legend_format(&self) -> &str {
        self.targets
            .as_ref()
            .and_then(|t| t.first())
            .and_then(|t| t.legend_format.as_deref())
            .unwrap_or_default()
    }

    pub fn first_target_mut(&mut self) -> &mut Target {
        let t = self.targets.get_or_insert_with(Vec::new);
        if t.is_empty() {
            t.push(Target {
                ref_id: Some("A".into()),
                ..Target::default()
            });
        }
        &mut t[0]
    }

    pub fn is_row(&self) -> bool {
        self.kind == "row"
    }
}

/// Why a document could not be read as a dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportError(pub String);

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Dashboard {
    /// Reads a dashboard from JSON text: a dashboard object, or Grafana's export/API wrapper
    /// `{"dashboard": {...}, "meta": {...}}`. Errors name the line, column and what serde
    /// expected, e.g. `line 3, column 14: invalid type: string "x", expected u32 (at panels[0].id)`.
    pub fn from_json(text: &str) -> Result<Dashboard, ImportError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ImportError(format!("not valid JSON: {e}",)))?;
        Dashboard::from_value(value)
    }

    pub fn from_value(mut value: Value) -> Result<Dashboard, ImportError> {
        if let Some(inner) = value.get_mut("dashboard").filter(|d| d.is_object()) {
            value = inner.take();
        }
        let Some(obj) = value.as_object() else {
            return Err(ImportError(
                "not a dashboard: expected a JSON object with \"panels\"".into(),
            ));
        };
        if !obj.contains_key("panels") && !obj.contains_key("rows") {
            return Err(ImportError(
                "not a dashboard: the object has no \"panels\" list".into(),
            ));
        }
        if obj.contains_key("rows") && !obj.contains_key("panels") {
            return Err(ImportError(
                "a pre-5.0 Grafana dashboard (\"rows\" without \"panels\"): open and save it in a newer Grafana first".into(),
            ));
        }
        // Typed fields are checked one object at a time so the error can say where.
        if let Some(Value::Array(panels)) = obj.get("panels") {
            for (i, p) in panels.iter().enumerate() {
                check_panel(p, &format!("panels[{i}]"))?;
            }
        }
        let mut d: Dashboard = serde_json::from_value(value)
            .map_err(|e| ImportError(format!("not a dashboard: {e}")))?;
        if d.title.trim().is_empty() {
            d.title = "Imported dashboard".into();
        }
        Ok(d)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The variables, in order.
    pub fn variables(&self) -> &[Variable] {
        self.templating.as_ref().map_or(&[], |t| &t.list)
    }

    pub fn variables_mut(&mut self) -> &mut Vec<Variable> {
        &mut self.templating.get_or_insert_with(Default::default).list
    }

    /// Every panel, including those inside collapsed rows.
    pub fn all_panels(&self) -> impl Iterator<Item = &Panel> {
        self.panels
            .iter()
            .flat_map(|p| std::iter::once(p).chain(p.panels.iter().flatten()))
    }

    /// A panel id no panel uses yet.
    pub fn next_panel_id(&self) -> u32 {
        self.all_panels().map(|p| p.id).max().unwrap_or(0) + 1
    }

    pub fn panel_mut(&mut self, id: u32) -> Option<&mut Panel> {
        for p in &mut self.panels {
            if p.id == id {
                return Some(p);
            }
            if let Some(inner) = p.panels.as_mut()
                && let Some(q) = inner.iter_mut().find(|q| q.id == id)
            {
                return Some(q);
            }
        }
        None
    }
}

fn check_panel(p: &Value, at: &str) -> Result<(), ImportError> {
    if !p.is_object() {
        return Err(ImportError(format!("{at}: a panel must be an object")));
    }
    // Nested panels first, so the error names the innermost one.
    if let Some(Value::Array(inner)) = p.get("panels") {
        for (i, q) in inner.iter().enumerate() {
            check_panel(q, &format!("{at}.panels[{i}]"))?;
        }
    }
    match serde_json::from_value::<Panel>(p.clone()) {
        Ok(_) => Ok(()),
        Err(e) => Err(ImportError(format!("{at}: {e}"))),
    }
}

/// A Grafana colour (`green`, `dark-red`, `#EAB839`, `rgb(1,2,3)`, `rgba(...)`) as RGB.
pub fn parse_color(c: &str) -> Option<(u8, u8, u8)> {
    let c = c.trim();
    if let Some(hex) = c.strip_prefix('#') {
        let n = u32::from_str_radix(hex.get(..6)?, 16).ok()?;
        return Some(((n >> 16) as u8, (n >> 8) as u8, n as u8));
    }
    if let Some(args) = c.strip_prefix("rgba(").or_else(|| c.strip_prefix("rgb(")) {
        let mut it = args
            .trim_end_matches(')')
            .split(',')
            .map(|s| s.trim().parse::<u8>());
        return Some((it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?));
    }
    // Grafana's palette: the base shades; dark/light variants map to the base.
    let base = c
        .trim_start_matches("super-light-")
        .trim_start_matches("light-")
        .trim_start_matches("semi-dark-")
        .trim_start_matches("dark-");
    Some(match base {
        "green" => (115, 191, 105),
        "red" => (242, 73, 92),
        "orange" => (255, 152, 48),
        "yellow" => (250, 222, 42),
        "blue" => (87, 148, 242),
        "purple" => (184, 119, 217),
        "text" | "white" => (204, 204, 220),
        "transparent" => return None,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// A node-exporter-style board as Grafana 10 exports it (trimmed by hand but with the real
    /// shapes: `__inputs`, datasource objects, rows, collapsed rows, a text panel, variables with
    /// object queries, `refresh` and `time`).
    pub(crate) const NODE_EXPORTER: &str = include_str!("../tests/data/node-exporter.json");

    /// Numbers compared by value (Grafana writes `80`, serde writes `80.0`).
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }

    #[wasm_bindgen_test]
    fn a_grafana_export_loads_and_re_exports_faithfully() {
        let d = Dashboard::from_json(NODE_EXPORTER).unwrap();
        assert_eq!(d.title, "Node Exporter Full (trimmed)");
        assert_eq!(d.uid, "rYdddlPWk");
        assert_eq!(d.schema_version, 39);
        assert_eq!(d.time.as_ref().map(|t| t.from.as_str()), Some("now-1h"));
        assert_eq!(d.refresh, Value::from("30s"));
        // Rows, an expanded one followed by its panels and a collapsed one holding its own.
        let rows: Vec<&Panel> = d.panels.iter().filter(|p| p.is_row()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].collapsed, Some(true));
        assert_eq!(rows[1].panels.as_ref().map(Vec::len), Some(2));
        let gauge = d.all_panels().find(|p| p.kind == "gauge").unwrap();
        let t = gauge
            .defaults()
            .and_then(|d| d.thresholds.as_ref())
            .unwrap();
        assert_eq!(t.steps[0].value, None);
        assert_eq!(t.steps[2].value, Some(90.0));
        assert_eq!(
            gauge.defaults().and_then(|d| d.unit.as_deref()),
            Some("percent")
        );
        let ts = d.all_panels().find(|p| p.kind == "timeseries").unwrap();
        assert!(
            ts.expr()
                .contains("node_cpu_seconds_total{instance=\"$node\"")
        );
        assert_eq!(
            ts.defaults()
                .and_then(|d| d.custom.as_ref())
                .and_then(|c| c.stacking.as_ref())
                .map(|s| s.mode.as_str()),
            Some("normal")
        );
        assert_eq!(
            PanelType::from_name("text"),
            PanelType::Unsupported("text".into())
        );
        let vars = d.variables();
        assert_eq!(vars.len(), 4);
        assert_eq!(
            vars[1].query_text(),
            "label_values(node_uname_info{job=\"$job\"}, instance)"
        );
        assert_eq!(vars[0].current_values(), vec!["node"]);

        // Everything survives a round trip, including fields the page does not model.
        let original: Value = serde_json::from_str(NODE_EXPORTER).unwrap();
        let again: Value = serde_json::from_str(&d.to_json()).unwrap();
        assert!(
            same(&original, &again),
            "re-export differs:\n{}",
            d.to_json()
        );
        assert!(again.pointer("/panels/1/datasource/uid").is_some());
        assert!(again.get("__requires").is_some());

        // The API's wrapper `{"dashboard": ..., "meta": ...}` loads the same dashboard.
        let wrapped = format!("{{\"meta\": {{\"slug\": \"x\"}}, \"dashboard\": {NODE_EXPORTER}}}");
        assert_eq!(Dashboard::from_json(&wrapped).unwrap(), d);
    }

    #[wasm_bindgen_test]
    fn bad_documents_say_what_is_wrong() {
        let e = Dashboard::from_json("{\"panels\": [").unwrap_err();
        assert!(e.0.starts_with("not valid JSON: EOF while parsing"), "{e}");
        let e = Dashboard::from_json("[1, 2]").unwrap_err();
        assert!(e.0.contains("expected a JSON object"), "{e}");
        let e = Dashboard::from_json("{\"title\": \"x\"}").unwrap_err();
        assert!(e.0.contains("no \"panels\""), "{e}");
        let e = Dashboard::from_json(r#"{"panels": [{"id": 1}, {"id": "two", "type": "stat"}]}"#)
            .unwrap_err();
        assert!(
            e.0.starts_with("panels[1]: invalid type: string \"two\""),
            "{e}"
        );
        let e = Dashboard::from_json(
            r#"{"panels": [{"type": "row", "panels": [{"gridPos": {"x": -1}}]}]}"#,
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("panels[0].panels[0]: invalid value: integer `-1`"),
            "{e}"
        );
    }

    #[wasm_bindgen_test]
    fn colours_in_grafana_names() {
        assert_eq!(parse_color("green"), Some((115, 191, 105)));
        assert_eq!(parse_color("dark-red"), Some((242, 73, 92)));
        assert_eq!(parse_color("#EAB839"), Some((0xea, 0xb8, 0x39)));
        assert_eq!(parse_color("rgba(10, 20, 30, 0.5)"), Some((10, 20, 30)));
        assert_eq!(parse_color("chartreuse-ish"), None);
    }

    #[wasm_bindgen_test]
    fn variables_keep_their_selection() {
        let mut v = Variable {
            name: "job".into(),
            kind: "query".into(),
            multi: Some(true),
            ..Variable::default()
        };
        v.set_current(&["a".into(), "b".into()]);
        assert_eq!(v.current_values(), vec!["a", "b"]);
        v.multi = None;
        v.set_current(&["c".into()]);
        assert_eq!(v.current, serde_json::json!({"text": "c", "value": "c"}));
    }
}
