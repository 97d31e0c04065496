//! How a panel draws its data, with Grafana's names and JSON shape: `type`, `fieldConfig.defaults`
//! (unit, min, max, decimals, thresholds, `custom.drawStyle`/`fillOpacity`/`stacking`) and
//! `options` (legend, reduce calcs, stat/gauge/bar gauge modes). A dashboard model embeds these
//! structs as they are; the renderers in `charts/` read nothing else. Unknown fields are ignored,
//! and missing ones (or ones this page cannot read) take Grafana's defaults, so a Grafana panel's
//! JSON reads directly (`PanelSpec::from_json`) and a panel draws whatever it can.

use serde_json::Value;

use crate::format::Unit;
use crate::json::{self, Obj, Read, names};

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// Grafana's panel `type`s that Lookout draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PanelType {
    #[default]
    Timeseries,
    Stat,
    Gauge,
    Bargauge,
    Table,
    Heatmap,
}

/// Grafana's `targets[]` entry: a PromQL query and its `{{label}}` legend format.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Target {
    pub expr: String,
    pub legend_format: String,
}

/// A panel as the renderers read it: Grafana's panel JSON without its place on the grid.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PanelSpec {
    /// Names the panel in the page (`data-panel`, `lookout:render:<key>` measures).
    pub key: String,
    pub title: String,
    pub kind: PanelType,
    pub targets: Vec<Target>,
    pub field_config: FieldConfig,
    pub options: PanelOptions,
}

/// Grafana's `fieldConfig`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldConfig {
    pub defaults: FieldDefaults,
}

/// Grafana's `fieldConfig.defaults`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldDefaults {
    /// A Grafana unit id (`short`, `s`, `bytes`, `percentunit`, `reqps`, ...).
    pub unit: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub decimals: Option<u32>,
    pub thresholds: Thresholds,
    pub custom: Custom,
}

impl FieldDefaults {
    pub fn unit(&self) -> Unit {
        Unit::from_id(self.unit.as_deref().unwrap_or("short"))
    }
}

/// Grafana's `fieldConfig.defaults.custom` for time series.
#[derive(Debug, Clone, PartialEq)]
pub struct Custom {
    pub draw_style: DrawStyle,
    /// 0..=100: how opaque the area under a line is (0: no fill).
    pub fill_opacity: f64,
    pub line_width: f64,
    pub point_size: f64,
    pub stacking: Stacking,
}

impl Default for Custom {
    fn default() -> Self {
        Custom {
            draw_style: DrawStyle::Line,
            fill_opacity: 0.0,
            line_width: 1.0,
            point_size: 5.0,
            stacking: Stacking::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DrawStyle {
    #[default]
    Line,
    Bars,
    Points,
}

/// Grafana's `custom.stacking`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stacking {
    pub mode: StackingMode,
    pub group: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StackingMode {
    #[default]
    None,
    Normal,
    Percent,
}

/// Grafana's `thresholds`: from each step's value upward its colour applies; the first step's
/// value is `null` (minus infinity).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub mode: ThresholdsMode,
    pub steps: Vec<ThresholdStep>,
}

impl Default for Thresholds {
    /// Grafana's default: green, red from 80.
    fn default() -> Self {
        Thresholds {
            mode: ThresholdsMode::Absolute,
            steps: vec![
                ThresholdStep {
                    color: "green".into(),
                    value: None,
                },
                ThresholdStep {
                    color: "red".into(),
                    value: Some(80.0),
                },
            ],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThresholdsMode {
    #[default]
    Absolute,
    /// Step values are percentages of `min..max`.
    Percentage,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdStep {
    /// A Grafana colour name (`green`, `semi-dark-red`, ...), `#rrggbb` or `rgb(r, g, b)`.
    pub color: String,
    /// `None` is the base step (`null` in Grafana's JSON: minus infinity).
    pub value: Option<f64>,
}

impl Thresholds {
    /// The colour-step boundaries as absolute values for a field shown over `min..max`.
    fn absolute(&self, v: Option<f64>, min: f64, max: f64) -> Option<f64> {
        v.map(|v| match self.mode {
            ThresholdsMode::Absolute => v,
            ThresholdsMode::Percentage => min + (max - min) * v / 100.0,
        })
    }

    /// The colour of `v`: the last step whose value is at or below it (the base step below all).
    /// NaN and missing values take the base colour.
    pub fn color_for(&self, v: Option<f64>, min: f64, max: f64) -> Rgb {
        let base = self.steps.first().map_or(BLUE, |s| color(&s.color));
        let Some(v) = v.filter(|v| !v.is_nan()) else {
            return base;
        };
        self.steps
            .iter()
            .rfind(|s| self.absolute(s.value, min, max).is_none_or(|at| v >= at))
            .map_or(base, |s| color(&s.color))
    }

    /// The steps as bands `[from, to)` clipped to `min..max`, for gauge arcs and markers.
    pub fn bands(&self, min: f64, max: f64) -> Vec<(f64, f64, Rgb)> {
        let mut out: Vec<(f64, f64, Rgb)> = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            let from = self.absolute(s.value, min, max).unwrap_or(min).max(min);
            let to = self
                .steps
                .get(i + 1)
                .and_then(|n| self.absolute(n.value, min, max))
                .unwrap_or(max)
                .min(max);
            if to > from {
                out.push((from, to, color(&s.color)));
            }
        }
        out
    }
}

/// Grafana's `options` of the panel types Lookout draws (each type reads its own fields).
#[derive(Debug, Clone, PartialEq)]
pub struct PanelOptions {
    pub legend: LegendOptions,
    pub reduce_options: ReduceOptions,
    /// Stat: colour the value or the background.
    pub color_mode: ColorMode,
    /// Stat: a sparkline under the value or not.
    pub graph_mode: GraphMode,
    /// Bar gauge: bar direction.
    pub orientation: Orientation,
    /// Bar gauge: a gradient or solid bars.
    pub display_mode: BarDisplayMode,
    /// Gauge: the thresholds as a thin band outside the arc.
    pub show_threshold_markers: bool,
}

impl Default for PanelOptions {
    fn default() -> Self {
        PanelOptions {
            legend: LegendOptions::default(),
            reduce_options: ReduceOptions::default(),
            color_mode: ColorMode::Value,
            graph_mode: GraphMode::Area,
            orientation: Orientation::Auto,
            display_mode: BarDisplayMode::Gradient,
            show_threshold_markers: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LegendOptions {
    pub display_mode: LegendMode,
    /// Values shown per series, in this order.
    pub calcs: Vec<Calc>,
    pub show_legend: bool,
}

impl Default for LegendOptions {
    fn default() -> Self {
        LegendOptions {
            display_mode: LegendMode::List,
            calcs: vec![Calc::LastNotNull],
            show_legend: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LegendMode {
    #[default]
    List,
    Table,
    Hidden,
}

/// Grafana's `reduceOptions`: how a series becomes one value (stat, gauge, bar gauge).
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceOptions {
    pub calcs: Vec<Calc>,
}

impl Default for ReduceOptions {
    fn default() -> Self {
        ReduceOptions {
            calcs: vec![Calc::LastNotNull],
        }
    }
}

/// Grafana's reducer ids. Others deserialize as `Other` and show nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calc {
    LastNotNull,
    Last,
    FirstNotNull,
    Min,
    Max,
    Mean,
    Sum,
    Other,
}

impl Calc {
    /// The column heading Grafana shows.
    pub fn label(self) -> &'static str {
        match self {
            Calc::LastNotNull => "Last *",
            Calc::Last => "Last",
            Calc::FirstNotNull => "First *",
            Calc::Min => "Min",
            Calc::Max => "Max",
            Calc::Mean => "Mean",
            Calc::Sum => "Total",
            Calc::Other => "?",
        }
    }

    /// This reducer over a series' values (NaN skipped, as Grafana's `*NotNull` and min/max/mean
    /// do). `None` for no value.
    pub fn reduce(self, points: &[(i64, f64)]) -> Option<f64> {
        let mut finite = points.iter().map(|p| p.1).filter(|v| !v.is_nan());
        match self {
            Calc::Last => points.last().map(|p| p.1),
            Calc::LastNotNull => finite.next_back(),
            Calc::FirstNotNull => finite.next(),
            Calc::Min => finite.reduce(f64::min),
            Calc::Max => finite.reduce(f64::max),
            Calc::Sum => finite.reduce(|a, b| a + b),
            Calc::Mean => {
                let (n, sum) = finite.fold((0u32, 0.0), |(n, s), v| (n + 1, s + v));
                (n > 0).then(|| sum / f64::from(n))
            }
            Calc::Other => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorMode {
    #[default]
    Value,
    Background,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GraphMode {
    #[default]
    Area,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    #[default]
    Auto,
    Horizontal,
    Vertical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BarDisplayMode {
    #[default]
    Gradient,
    Basic,
    Lcd,
}

names!(PanelType {
    Timeseries = "timeseries",
    Stat = "stat",
    Gauge = "gauge",
    Bargauge = "bargauge",
    Table = "table",
    Heatmap = "heatmap",
});
names!(DrawStyle { Line = "line", Bars = "bars", Points = "points" });
names!(StackingMode { None = "none", Normal = "normal", Percent = "percent" });
names!(ThresholdsMode { Absolute = "absolute", Percentage = "percentage" });
names!(LegendMode { List = "list", Table = "table", Hidden = "hidden" });
names!(ColorMode { Value = "value", Background = "background", None = "none" });
names!(GraphMode { Area = "area", None = "none" });
names!(Orientation { Auto = "auto", Horizontal = "horizontal", Vertical = "vertical" });
names!(BarDisplayMode { Gradient = "gradient", Basic = "basic", Lcd = "lcd" });

impl Read for Calc {
    /// Reducers this page does not compute read as `Other` (shown as "?").
    fn read(v: Value) -> Result<Self, json::Error> {
        Ok(match v.as_str() {
            Some("lastNotNull") => Calc::LastNotNull,
            Some("last") => Calc::Last,
            Some("firstNotNull") => Calc::FirstNotNull,
            Some("min") => Calc::Min,
            Some("max") => Calc::Max,
            Some("mean") => Calc::Mean,
            Some("sum") => Calc::Sum,
            Some(_) => Calc::Other,
            None => return Err(json::Error::expected_one_of(&["a reducer id"], &v)),
        })
    }
}

// Every struct reads leniently: a field of the wrong kind keeps its default.

impl PanelSpec {
    /// The renderers' view of a panel's JSON (Grafana's, or a dashboard model's `Panel`).
    pub fn from_json(v: Value) -> PanelSpec {
        PanelSpec::read(v).unwrap_or_default()
    }
}

impl Read for PanelSpec {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut s = PanelSpec::default();
        o.lenient("title", &mut s.title);
        o.lenient("type", &mut s.kind);
        o.lenient("targets", &mut s.targets);
        o.lenient("fieldConfig", &mut s.field_config);
        o.lenient("options", &mut s.options);
        Ok(s)
    }
}

impl Read for Target {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut t = Target::default();
        o.lenient("expr", &mut t.expr);
        o.lenient("legendFormat", &mut t.legend_format);
        Ok(t)
    }
}

impl Read for FieldConfig {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut f = FieldConfig::default();
        o.lenient("defaults", &mut f.defaults);
        Ok(f)
    }
}

impl Read for FieldDefaults {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut d = FieldDefaults::default();
        o.lenient("unit", &mut d.unit);
        o.lenient("min", &mut d.min);
        o.lenient("max", &mut d.max);
        o.lenient("decimals", &mut d.decimals);
        o.lenient("thresholds", &mut d.thresholds);
        o.lenient("custom", &mut d.custom);
        Ok(d)
    }
}

impl Read for Custom {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut c = Custom::default();
        o.lenient("drawStyle", &mut c.draw_style);
        o.lenient("fillOpacity", &mut c.fill_opacity);
        o.lenient("lineWidth", &mut c.line_width);
        o.lenient("pointSize", &mut c.point_size);
        o.lenient("stacking", &mut c.stacking);
        Ok(c)
    }
}

impl Read for Stacking {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut s = Stacking::default();
        o.lenient("mode", &mut s.mode);
        o.lenient("group", &mut s.group);
        Ok(s)
    }
}

impl Read for Thresholds {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut t = Thresholds::default();
        o.lenient("mode", &mut t.mode);
        o.lenient("steps", &mut t.steps);
        Ok(t)
    }
}

impl Read for ThresholdStep {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut s = ThresholdStep {
            color: String::new(),
            value: None,
        };
        o.lenient("color", &mut s.color);
        o.lenient("value", &mut s.value);
        Ok(s)
    }
}

impl Read for PanelOptions {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut p = PanelOptions::default();
        o.lenient("legend", &mut p.legend);
        o.lenient("reduceOptions", &mut p.reduce_options);
        o.lenient("colorMode", &mut p.color_mode);
        o.lenient("graphMode", &mut p.graph_mode);
        o.lenient("orientation", &mut p.orientation);
        o.lenient("displayMode", &mut p.display_mode);
        o.lenient("showThresholdMarkers", &mut p.show_threshold_markers);
        Ok(p)
    }
}

impl Read for LegendOptions {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut l = LegendOptions::default();
        o.lenient("displayMode", &mut l.display_mode);
        o.lenient("calcs", &mut l.calcs);
        o.lenient("showLegend", &mut l.show_legend);
        Ok(l)
    }
}

impl Read for ReduceOptions {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut r = ReduceOptions::default();
        o.lenient("calcs", &mut r.calcs);
        Ok(r)
    }
}

pub const GREEN: Rgb = (115, 191, 105);
pub const RED: Rgb = (242, 73, 92);
pub const BLUE: Rgb = (87, 148, 242);

/// Grafana's named colours (its classic palette), a `#rgb`/`#rrggbb` hex, or `rgb(r, g, b)`.
/// Anything else is Grafana's blue.
pub fn color(name: &str) -> Rgb {
    let name = name.trim();
    if let Some(hex) = name.strip_prefix('#') {
        let n = |s: &str| u8::from_str_radix(s, 16).ok();
        let parsed = match hex.len() {
            6 | 8 => n(&hex[0..2]).zip(n(&hex[2..4])).zip(n(&hex[4..6])),
            3 => n(&hex[0..1].repeat(2))
                .zip(n(&hex[1..2].repeat(2)))
                .zip(n(&hex[2..3].repeat(2))),
            _ => None,
        };
        return parsed.map_or(BLUE, |((r, g), b)| (r, g, b));
    }
    if let Some(inner) = name
        .strip_prefix("rgba(")
        .or_else(|| name.strip_prefix("rgb("))
        .and_then(|s| s.strip_suffix(')'))
    {
        let c: Vec<u8> = inner
            .split(',')
            .take(3)
            .filter_map(|p| p.trim().parse().ok())
            .collect();
        return if c.len() == 3 {
            (c[0], c[1], c[2])
        } else {
            BLUE
        };
    }
    let (shade, hue) = ["super-light-", "light-", "semi-dark-", "dark-"]
        .iter()
        .enumerate()
        .find_map(|(i, p)| name.strip_prefix(p).map(|h| (i, h)))
        .unwrap_or((4, name));
    // Per hue: super-light, light, semi-dark, dark, base.
    let hex: [u32; 5] = match hue {
        "red" => [0xFFA6B0, 0xFF7383, 0xE02F44, 0xC4162A, 0xF2495C],
        "orange" => [0xFFCB7D, 0xFFB357, 0xFF780A, 0xFA6400, 0xFF9830],
        "yellow" => [0xFFF899, 0xFFEE52, 0xF2CC0C, 0xE0B400, 0xFADE2A],
        "green" => [0xC8F2C2, 0x96D98D, 0x56A64B, 0x37872D, 0x73BF69],
        "blue" => [0xC0D8FF, 0x8AB8FF, 0x3274D9, 0x1F60C4, 0x5794F2],
        "purple" => [0xDEB6F2, 0xCA95E5, 0xA352CC, 0x8F3BB8, 0xB877D9],
        "text" | "gray" | "grey" => [0xCCCCDC; 5],
        _ => [0x5794F2; 5],
    };
    let h = hex[shade];
    ((h >> 16) as u8, (h >> 8) as u8, h as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn grafana_panel_json_deserializes_with_defaults() {
        let json = r##"{
            "unit": "bytes", "decimals": 1, "max": 100,
            "thresholds": {"mode": "absolute", "steps": [
                {"color": "green", "value": null}, {"color": "#EAB839", "value": 50},
                {"color": "semi-dark-red", "value": 90}]},
            "custom": {"drawStyle": "bars", "fillOpacity": 30, "stacking": {"mode": "percent", "group": "A"},
                       "gradientMode": "none"}
        }"##;
        let d = FieldDefaults::read(serde_json::from_str(json).unwrap()).unwrap();
        assert_eq!(d.unit(), Unit::Bytes);
        assert_eq!(d.decimals, Some(1));
        assert_eq!(d.custom.draw_style, DrawStyle::Bars);
        assert_eq!(d.custom.stacking.mode, StackingMode::Percent);
        assert_eq!(
            d.custom.line_width, 1.0,
            "missing fields take Grafana's defaults"
        );
        let o = PanelOptions::read(
            serde_json::from_str(
                r#"{"legend": {"displayMode": "table", "calcs": ["mean", "max", "delta"]},
                "colorMode": "background", "orientation": "horizontal"}"#,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(o.legend.display_mode, LegendMode::Table);
        assert_eq!(o.legend.calcs, vec![Calc::Mean, Calc::Max, Calc::Other]);
        assert_eq!(o.color_mode, ColorMode::Background);
        assert_eq!(o.display_mode, BarDisplayMode::Gradient);
    }

    #[wasm_bindgen_test]
    fn threshold_colours_pick_the_last_step_reached() {
        let t = Thresholds {
            mode: ThresholdsMode::Absolute,
            steps: vec![
                ThresholdStep {
                    color: "green".into(),
                    value: None,
                },
                ThresholdStep {
                    color: "#EAB839".into(),
                    value: Some(50.0),
                },
                ThresholdStep {
                    color: "red".into(),
                    value: Some(90.0),
                },
            ],
        };
        assert_eq!(t.color_for(Some(-1e9), 0.0, 100.0), GREEN);
        assert_eq!(t.color_for(Some(50.0), 0.0, 100.0), (0xEA, 0xB8, 0x39));
        assert_eq!(t.color_for(Some(95.0), 0.0, 100.0), RED);
        assert_eq!(t.color_for(Some(f64::NAN), 0.0, 100.0), GREEN);
        assert_eq!(t.color_for(None, 0.0, 100.0), GREEN);
        // Percentage mode: 50% of 0..10 is 5.
        let p = Thresholds {
            mode: ThresholdsMode::Percentage,
            ..t.clone()
        };
        assert_eq!(p.color_for(Some(5.0), 0.0, 10.0), (0xEA, 0xB8, 0x39));
        assert_eq!(p.color_for(Some(4.9), 0.0, 10.0), GREEN);
        assert_eq!(
            t.bands(0.0, 60.0),
            vec![(0.0, 50.0, GREEN), (50.0, 60.0, (0xEA, 0xB8, 0x39))]
        );
    }

    #[wasm_bindgen_test]
    fn colours_by_name_hex_and_rgb() {
        assert_eq!(color("semi-dark-red"), (0xE0, 0x2F, 0x44));
        assert_eq!(color("#fff"), (255, 255, 255));
        assert_eq!(color("rgb(1, 2, 3)"), (1, 2, 3));
        assert_eq!(color("rgba(1, 2, 3, 0.5)"), (1, 2, 3));
        assert_eq!(color("#zzzzzz"), BLUE);
    }

    #[wasm_bindgen_test]
    fn legend_calcs_skip_nan() {
        let p = [(0, 2.0), (1, f64::NAN), (2, 6.0), (3, 1.0), (4, f64::NAN)];
        assert_eq!(Calc::LastNotNull.reduce(&p), Some(1.0));
        assert!(Calc::Last.reduce(&p).is_some_and(f64::is_nan));
        assert_eq!(Calc::Min.reduce(&p), Some(1.0));
        assert_eq!(Calc::Max.reduce(&p), Some(6.0));
        assert_eq!(Calc::Mean.reduce(&p), Some(3.0));
        assert_eq!(Calc::Sum.reduce(&p), Some(9.0));
        assert_eq!(Calc::Mean.reduce(&[]), None);
    }
}
