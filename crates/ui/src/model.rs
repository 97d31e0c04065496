//! The dashboard document: Grafana's classic JSON model (the `dashboard` object of an export,
//! `schemaVersion` 39 era), plus our own `lookoutVersion`.
//!
//! Only what the page reads is typed; every other field of every object is kept in `extra`,
//! so a Grafana export that is imported and exported again keeps what this page does not
//! understand. Fields Grafana may omit are `Option`s that are written back only when they were
//! present. Reading and writing are `json::Read`/`json::Write` (by hand, for size: see
//! `json.rs`).

use serde_json::Value;

use crate::json::{self, Obj, Out, Read, Write};

/// Our version of the document, bumped when the page writes something older pages misread.
pub const LOOKOUT_VERSION: u32 = 1;
/// Grafana's schema version that the starters are written against.
pub const SCHEMA_VERSION: u32 = 39;

use crate::json::Extra;

/// A dashboard.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dashboard {
    pub uid: String,
    pub title: String,
    pub tags: Vec<String>,
    pub schema_version: u32,
    pub lookout_version: Option<u32>,
    pub panels: Vec<Panel>,
    pub templating: Option<Templating>,
    pub time: Option<TimeRange>,
    /// Grafana writes `""`, `false` or an interval such as `"10s"`.
    pub refresh: Value,
    pub extra: Extra,
}

/// `{from, to}` in Grafana's syntax: `now-6h`, `now`, or an ISO time / epoch ms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeRange {
    pub from: String,
    pub to: String,
    pub extra: Extra,
}

/// The panel grid: 24 columns; `h` in rows of 30 px.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GridPos {
    pub x: u32,
    pub y: u32,
    pub w: u32,
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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    pub id: u32,
    pub kind: String,
    pub title: String,
    pub grid_pos: GridPos,
    pub collapsed: Option<bool>,
    pub panels: Option<Vec<Panel>>,
    pub targets: Option<Vec<Target>>,
    pub field_config: Option<FieldConfig>,
    pub options: Option<PanelOptions>,
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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Target {
    pub expr: String,
    pub legend_format: Option<String>,
    pub ref_id: Option<String>,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldConfig {
    pub defaults: FieldDefaults,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldDefaults {
    pub unit: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub decimals: Option<u32>,
    pub thresholds: Option<Thresholds>,
    pub custom: Option<Custom>,
    pub extra: Extra,
}

/// `mode` is `absolute` or `percentage`; the first step's `value` is `null` (the base colour).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Thresholds {
    pub mode: String,
    pub steps: Vec<Step>,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    pub color: String,
    /// `null` for the base step: written back as `null`, as Grafana does.
    pub value: Option<f64>,
    pub extra: Extra,
}

/// `fieldConfig.defaults.custom` of time-series panels.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Custom {
    /// `line`, `bars` or `points`.
    pub draw_style: Option<String>,
    pub fill_opacity: Option<f64>,
    pub line_width: Option<f64>,
    pub stacking: Option<Stacking>,
    pub extra: Extra,
}

/// `mode`: `none`, `normal` or `percent`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stacking {
    pub mode: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PanelOptions {
    pub legend: Option<Legend>,
    pub reduce_options: Option<ReduceOptions>,
    pub extra: Extra,
}

/// `displayMode`: `list`, `table` or `hidden`; `calcs` such as `lastNotNull`, `max`, `mean`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Legend {
    pub display_mode: Option<String>,
    pub calcs: Option<Vec<String>>,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReduceOptions {
    pub calcs: Option<Vec<String>>,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Templating {
    pub list: Vec<Variable>,
    pub extra: Extra,
}

/// A dashboard variable. `type`: `query`, `custom`, `interval`, `constant` (also `textbox`,
/// `datasource`, `adhoc`, which the page keeps but does not resolve).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Variable {
    pub name: String,
    pub kind: String,
    pub label: Option<String>,
    /// A string, or (Grafana 8+) `{"query": "...", "refId": "..."}`.
    pub query: Value,
    pub multi: Option<bool>,
    pub include_all: Option<bool>,
    pub all_value: Option<String>,
    /// A regex filtering (and with a capture group, extracting) the values.
    pub regex: Option<String>,
    /// `{"text": ..., "value": ...}`: a string or a list.
    pub current: Value,
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
    /// `{"dashboard": {...}, "meta": {...}}`. Errors say where, e.g.
    /// `panels[0].gridPos.w: expected a whole number, found the string "x"`.
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
        let mut d = Dashboard::read(value).map_err(|e| ImportError(e.to_string()))?;
        if d.title.trim().is_empty() {
            d.title = "Imported dashboard".into();
        }
        Ok(d)
    }

    pub fn to_value(&self) -> Value {
        self.write()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.write()).unwrap_or_default()
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

// The model as JSON (see `json.rs`): every object takes the fields it knows and keeps the rest.

impl Read for Dashboard {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut d = Dashboard::default();
        o.set("uid", &mut d.uid)?;
        o.set("title", &mut d.title)?;
        o.set("tags", &mut d.tags)?;
        o.set("schemaVersion", &mut d.schema_version)?;
        o.set("lookoutVersion", &mut d.lookout_version)?;
        o.set("panels", &mut d.panels)?;
        o.set("templating", &mut d.templating)?;
        o.set("time", &mut d.time)?;
        o.set("refresh", &mut d.refresh)?;
        d.extra = o.rest();
        Ok(d)
    }
}

impl Write for Dashboard {
    fn write(&self) -> Value {
        let mut out = Out::new(&self.extra);
        out.put("uid", &self.uid).put("title", &self.title);
        if !self.tags.is_empty() {
            out.put("tags", &self.tags);
        }
        out.put("schemaVersion", &self.schema_version)
            .opt("lookoutVersion", &self.lookout_version)
            .put("panels", &self.panels)
            .opt("templating", &self.templating)
            .opt("time", &self.time)
            .value("refresh", &self.refresh)
            .done()
    }
}

impl Read for TimeRange {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut t = TimeRange::default();
        o.set("from", &mut t.from)?;
        o.set("to", &mut t.to)?;
        t.extra = o.rest();
        Ok(t)
    }
}

impl Write for TimeRange {
    fn write(&self) -> Value {
        Out::new(&self.extra)
            .put("from", &self.from)
            .put("to", &self.to)
            .done()
    }
}

impl Read for GridPos {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut g = GridPos::default();
        o.set("x", &mut g.x)?;
        o.set("y", &mut g.y)?;
        o.set("w", &mut g.w)?;
        o.set("h", &mut g.h)?;
        Ok(g)
    }
}

impl Write for GridPos {
    fn write(&self) -> Value {
        Out::new(&Extra::new())
            .put("x", &self.x)
            .put("y", &self.y)
            .put("w", &self.w)
            .put("h", &self.h)
            .done()
    }
}

impl Read for Panel {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut p = Panel::default();
        // Nested panels first, so an error names the innermost one.
        o.set("panels", &mut p.panels)?;
        o.set("id", &mut p.id)?;
        o.set("type", &mut p.kind)?;
        o.set("title", &mut p.title)?;
        o.set("gridPos", &mut p.grid_pos)?;
        o.set("collapsed", &mut p.collapsed)?;
        o.set("targets", &mut p.targets)?;
        o.set("fieldConfig", &mut p.field_config)?;
        o.set("options", &mut p.options)?;
        p.extra = o.rest();
        Ok(p)
    }
}

impl Write for Panel {
    fn write(&self) -> Value {
        Out::new(&self.extra)
            .put("id", &self.id)
            .put("type", &self.kind)
            .put("title", &self.title)
            .put("gridPos", &self.grid_pos)
            .opt("collapsed", &self.collapsed)
            .opt("panels", &self.panels)
            .opt("targets", &self.targets)
            .opt("fieldConfig", &self.field_config)
            .opt("options", &self.options)
            .done()
    }
}

impl Read for Target {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut t = Target::default();
        o.set("expr", &mut t.expr)?;
        o.set("legendFormat", &mut t.legend_format)?;
        o.set("refId", &mut t.ref_id)?;
        t.extra = o.rest();
        Ok(t)
    }
}

impl Write for Target {
    fn write(&self) -> Value {
        Out::new(&self.extra)
            .put("expr", &self.expr)
            .opt("legendFormat", &self.legend_format)
            .opt("refId", &self.ref_id)
            .done()
    }
}

impl Read for FieldConfig {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut f = FieldConfig::default();
        o.set("defaults", &mut f.defaults)?;
        f.extra = o.rest();
        Ok(f)
    }
}

impl Write for FieldConfig {
    fn write(&self) -> Value {
        Out::new(&self.extra).put("defaults", &self.defaults).done()
    }
}

impl Read for FieldDefaults {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut d = FieldDefaults::default();
        o.set("unit", &mut d.unit)?;
        o.set("min", &mut d.min)?;
        o.set("max", &mut d.max)?;
        o.set("decimals", &mut d.decimals)?;
        o.set("thresholds", &mut d.thresholds)?;
        o.set("custom", &mut d.custom)?;
        d.extra = o.rest();
        Ok(d)
    }
}

impl Write for FieldDefaults {
    fn write(&self) -> Value {
        Out::new(&self.extra)
            .opt("unit", &self.unit)
            .opt("min", &self.min)
            .opt("max", &self.max)
            .opt("decimals", &self.decimals)
            .opt("thresholds", &self.thresholds)
            .opt("custom", &self.custom)
            .done()
    }
}

impl Read for Thresholds {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut t = Thresholds::default();
        o.set("mode", &mut t.mode)?;
        o.set("steps", &mut t.steps)?;
        t.extra = o.rest();
        Ok(t)
    }
}

impl Write for Thresholds {
    fn write(&self) -> Value {
        Out::new(&self.extra)
            .put("mode", &self.mode)
            .put("steps", &self.steps)
            .done()
    }
}

impl Read for Step {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut s = Step::default();
        o.set("color", &mut s.color)?;
        o.set("value", &mut s.value)?;
        s.extra = o.rest();
        Ok(s)
    }
}

impl Write for Step {
    /// The base step's `value` is written as `null`, as Grafana does.
    fn write(&self) -> Value {
        Out::new(&self.extra)
            .put("color", &self.color)
            .put("value", &self.value.map_or(Value::Null, Value::from))
            .done()
    }
}

impl Read for Custom {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut c = Custom::default();
        o.set("drawStyle", &mut c.draw_style)?;
        o.set("fillOpacity", &mut c.fill_opacity)?;
        o.set("lineWidth", &mut c.line_width)?;
        o.set("stacking", &mut c.stacking)?;
        c.extra = o.rest();
        Ok(c)
    }
}

impl Write for Custom {
    fn write(&self) -> Value {
        Out::new(&self.extra)
            .opt("drawStyle", &self.draw_style)
            .opt("fillOpacity", &self.fill_opacity)
            .opt("lineWidth", &self.line_width)
            .opt("stacking", &self.stacking)
            .done()
    }
}

impl Read for Stacking {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut s = Stacking::default();
        o.set("mode", &mut s.mode)?;
        s.extra = o.rest();
        Ok(s)
    }
}

impl Write for Stacking {
    fn write(&self) -> Value {
        Out::new(&self.extra).put("mode", &self.mode).done()
    }
}

impl Read for PanelOptions {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut p = PanelOptions::default();
        o.set("legend", &mut p.legend)?;
        o.set("reduceOptions", &mut p.reduce_options)?;
        p.extra = o.rest();
        Ok(p)
    }
}

impl Write for PanelOptions {
    fn write(&self) -> Value {
        Out::new(&self.extra)
            .opt("legend", &self.legend)
            .opt("reduceOptions", &self.reduce_options)
            .done()
    }
}

impl Read for Legend {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut l = Legend::default();
        o.set("displayMode", &mut l.display_mode)?;
        o.set("calcs", &mut l.calcs)?;
        l.extra = o.rest();
        Ok(l)
    }
}

impl Write for Legend {
    fn write(&self) -> Value {
        Out::new(&self.extra)
            .opt("displayMode", &self.display_mode)
            .opt("calcs", &self.calcs)
            .done()
    }
}

impl Read for ReduceOptions {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut r = ReduceOptions::default();
        o.set("calcs", &mut r.calcs)?;
        r.extra = o.rest();
        Ok(r)
    }
}

impl Write for ReduceOptions {
    fn write(&self) -> Value {
        Out::new(&self.extra).opt("calcs", &self.calcs).done()
    }
}

impl Read for Templating {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut t = Templating::default();
        o.set("list", &mut t.list)?;
        t.extra = o.rest();
        Ok(t)
    }
}

impl Write for Templating {
    fn write(&self) -> Value {
        Out::new(&self.extra).put("list", &self.list).done()
    }
}

impl Read for Variable {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut x = Variable::default();
        o.set("name", &mut x.name)?;
        o.set("type", &mut x.kind)?;
        o.set("label", &mut x.label)?;
        o.set("query", &mut x.query)?;
        o.set("multi", &mut x.multi)?;
        o.set("includeAll", &mut x.include_all)?;
        o.set("allValue", &mut x.all_value)?;
        o.set("regex", &mut x.regex)?;
        o.set("current", &mut x.current)?;
        x.extra = o.rest();
        Ok(x)
    }
}

impl Write for Variable {
    fn write(&self) -> Value {
        Out::new(&self.extra)
            .put("name", &self.name)
            .put("type", &self.kind)
            .opt("label", &self.label)
            .value("query", &self.query)
            .opt("multi", &self.multi)
            .opt("includeAll", &self.include_all)
            .opt("allValue", &self.all_value)
            .opt("regex", &self.regex)
            .value("current", &self.current)
            .done()
    }
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
        assert_eq!(
            e.0,
            "panels[1].id: expected a whole number, found the string \"two\""
        );
        let e = Dashboard::from_json(
            r#"{"panels": [{"type": "row", "panels": [{"gridPos": {"x": -1}}]}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.0,
            "panels[0].panels[0].gridPos.x: expected a whole number, found the number -1"
        );
        let e = Dashboard::from_json(r#"{"panels": [3]}"#).unwrap_err();
        assert_eq!(e.0, "panels[0]: expected an object, found the number 3");
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
