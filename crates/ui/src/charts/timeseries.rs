//! The time-series chart: series over a time range as lines, areas, stacks, points or bars
//! (Grafana's `drawStyle`, `fillOpacity`, `stacking`). Plotters draws the axes and labels; the
//! series go straight to the canvas as one `Path2D` per series built from an SVG path string, so
//! a redraw costs a handful of calls into JavaScript instead of one per point (measured in
//! `cargo xtask bench ui`: the per-point `lineTo` calls were most of the redraw).

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, Path2d};

use super::decimate::m4;
use super::palette::{assign_colors, css};
use super::stack::{Band, stack};
use crate::data::SeriesView;
use crate::format::{Unit, clock, value_with};
use crate::panel_options::{DrawStyle, FieldDefaults, StackingMode};

/// Where the plot sits inside the canvas, in CSS pixels, and the ranges it shows: what pointer
/// handling needs to turn a mouse position into a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotArea {
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub start: i64,
    pub end: i64,
}

impl PlotArea {
    /// The time under CSS x position `x`, clamped to the range.
    pub fn time_at(&self, x: f64) -> i64 {
        let f = ((x - self.left) / (self.right - self.left).max(1.0)).clamp(0.0, 1.0);
        self.start + (f * (self.end - self.start) as f64).round() as i64
    }
    /// The CSS x position of time `t`, if it is in the range.
    pub fn x_of(&self, t: i64) -> Option<f64> {
        (self.start..=self.end).contains(&t).then(|| {
            self.left
                + (t - self.start) as f64 / (self.end - self.start).max(1) as f64
                    * (self.right - self.left)
        })
    }
}

/// Sizes a canvas's backing store to its CSS box times the device pixel ratio (sharp on HiDPI);
/// returns the ratio and the CSS size. Assigning the size also clears the bitmap and resets the
/// context state, even when unchanged: every frame starts from a clean canvas.
pub fn fit(canvas: &HtmlCanvasElement, min_w: i32, min_h: i32) -> (f64, f64, f64) {
    let dpr = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .max(1.0);
    let (css_w, css_h) = (
        f64::from(canvas.client_width().max(min_w)),
        f64::from(canvas.client_height().max(min_h)),
    );
    canvas.set_width((css_w * dpr) as u32);
    canvas.set_height((css_h * dpr) as u32);
    (dpr, css_w, css_h)
}

/// The canvas's 2d context.
pub fn context(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, String> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or_else(|| "canvas has no 2d context".to_owned())
}

/// The y range of the bands (and 0 where areas or bars are drawn down to it), padded by 5%,
/// with the field's `min`/`max` taking precedence.
fn y_range(
    bands: &[Vec<Band>],
    include_zero: bool,
    stacked: bool,
    field: &FieldDefaults,
) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(_, bottom, top) in bands.iter().flatten() {
        if top.is_finite() {
            lo = lo.min(top);
            hi = hi.max(top);
            if stacked {
                lo = lo.min(bottom);
            }
        }
    }
    if include_zero && lo.is_finite() {
        (lo, hi) = (lo.min(0.0), hi.max(0.0));
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if (hi - lo).abs() < f64::EPSILON {
        // A flat line: zeros read best on 0..1, other values around themselves.
        (lo, hi) = if lo == 0.0 {
            (0.0, 1.0)
        } else {
            (lo - lo.abs() * 0.5, hi + hi.abs() * 0.5)
        };
    }
    let pad = (hi - lo) * 0.05;
    let lo = if lo >= 0.0 && lo - pad < 0.0 {
        0.0
    } else {
        lo - pad
    };
    let (lo, hi) = (field.min.unwrap_or(lo), field.max.unwrap_or(hi + pad));
    if hi > lo { (lo, hi) } else { (lo, lo + 1.0) }
}

/// Draws `series` over `[start, end]` as `field` says; `visible[i]` false leaves series `i` out
/// of the drawing and the y range (an empty `visible` shows all). Colours are assigned over all
/// series, so hiding one does not recolour the rest.
pub fn draw(
    canvas: &HtmlCanvasElement,
    series: &[SeriesView],
    visible: &[bool],
    start: i64,
    end: i64,
    field: &FieldDefaults,
    dark: bool,
) -> Result<PlotArea, String> {
    let (dpr, css_w, _) = fit(canvas, 50, 50);
    let backend =
        CanvasBackend::with_canvas_object(canvas.clone()).ok_or("canvas has no 2d context")?;
    let root = backend.into_drawing_area();
    let (fg, grid) = if dark {
        (RGBColor(200, 204, 212), RGBColor(48, 52, 60))
    } else {
        (RGBColor(60, 64, 72), RGBColor(228, 230, 234))
    };
    let custom = &field.custom;
    let stacking = custom.stacking.mode;
    let unit = if stacking == StackingMode::Percent {
        Unit::PercentUnit
    } else {
        field.unit()
    };
    let (margin, x_label, y_label) = ((6.0 * dpr) as u32, (18.0 * dpr) as u32, (64.0 * dpr) as u32);
    let plot_w = (css_w * dpr) as u32 - y_label - 2 * margin;

    // Decimated first: M4 keeps every column's extremes, so the range and the drawing match
    // what all points would give.
    let shown = |i: usize| visible.get(i).copied().unwrap_or(true);
    let reduced: Vec<Option<Vec<(i64, f64)>>> = series
        .iter()
        .enumerate()
        .map(|(i, s)| shown(i).then(|| m4(&s.points, start, end, plot_w)))
        .collect();
    let refs: Vec<Option<&[(i64, f64)]>> = reduced.iter().map(|r| r.as_deref()).collect();
    let bands = stack(&refs, stacking);
    let filled = custom.fill_opacity > 0.0 || custom.draw_style == DrawStyle::Bars;
    let stacked = stacking != StackingMode::None;
    let (lo, hi) = y_range(&bands, filled && !stacked, stacked, field);

    let font = (11.0 * dpr) as u32;
    let offset = -(js_sys::Date::new_0().get_timezone_offset() as i64);
    let decimals = field.decimals;
    let mut chart = ChartBuilder::on(&root)
        .margin(margin)
        .x_label_area_size(x_label)
        .y_label_area_size(y_label)
        .build_cartesian_2d(
            (start..end).with_key_points(time_ticks(start, end, (css_w / 110.0) as i64)),
            lo..hi,
        )
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(grid)
        .axis_style(grid)
        .y_labels(5)
        .label_style(("sans-serif", font).into_font().color(&fg))
        .x_label_formatter(&|t| clock(*t, offset))
        .y_label_formatter(&|v| value_with(*v, unit, decimals))
        .draw()
        .map_err(|e| e.to_string())?;
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let px = Pixels {
        left: f64::from(xr.start),
        top: f64::from(yr.start),
        sx: f64::from(xr.end - xr.start) / (end - start).max(1) as f64,
        sy: f64::from(yr.end - yr.start) / (hi - lo),
        bottom: f64::from(yr.end),
        start,
        lo,
    };
    let area = PlotArea {
        left: px.left / dpr,
        right: f64::from(xr.end) / dpr,
        top: px.top / dpr,
        bottom: px.bottom / dpr,
        start,
        end,
    };

    let ctx = context(canvas)?;
    ctx.save();
    ctx.begin_path();
    ctx.rect(
        px.left,
        px.top,
        f64::from(xr.end - xr.start),
        px.bottom - px.top,
    );
    ctx.clip();
    // Bevel joins: round ones cost the rasterizer more and look the same at 1-2 px.
    ctx.set_line_join("bevel");
    let colors = assign_colors(series.iter().map(|s| &s.labels));
    let line_width = (custom.line_width.max(0.5) * dpr).max(1.0);
    let alpha = (custom.fill_opacity / 100.0).clamp(0.0, 1.0);
    for (b, color) in bands.iter().zip(colors) {
        if b.is_empty() {
            continue;
        }
        let color = css(color);
        match custom.draw_style {
            DrawStyle::Line => {
                let (line, fill) = line_paths(b, &px, alpha > 0.0);
                if let Some(fill) = fill {
                    ctx.set_global_alpha(alpha);
                    ctx.set_fill_style_str(&color);
                    ctx.fill_with_path_2d(&path(&fill)?);
                    ctx.set_global_alpha(1.0);
                }
                ctx.set_line_width(line_width);
                ctx.set_stroke_style_str(&color);
                ctx.stroke_with_path(&path(&line)?);
            }
            DrawStyle::Bars => {
                let step = b
                    .windows(2)
                    .map(|w| w[1].0 - w[0].0)
                    .min()
                    .unwrap_or(end - start);
                let w = (step as f64 * px.sx * 0.8).max(1.0);
                let mut d = PathData::with_capacity(b.len() * 40);
                for &(t, bottom, top) in b {
                    if top.is_finite() {
                        let x = px.x(t) - w / 2.0;
                        d.rect(x, px.y(bottom), x + w, px.y(top));
                    }
                }
                ctx.set_global_alpha(if alpha > 0.0 { alpha.max(0.3) } else { 0.8 });
                ctx.set_fill_style_str(&color);
                ctx.fill_with_path_2d(&path(&d)?);
                ctx.set_global_alpha(1.0);
            }
            DrawStyle::Points => {
                // Squares: at a few pixels wide they read as dots and cost 4 segments each.
                let r = (custom.point_size / 2.0).max(1.0) * dpr;
                let mut d = PathData::with_capacity(b.len() * 40);
                for &(t, _, top) in b {
                    if top.is_finite() {
                        let (x, y) = (px.x(t), px.y(top));
                        d.rect(x - r, y - r, x + r, y + r);
                    }
                }
                ctx.set_fill_style_str(&color);
                ctx.fill_with_path_2d(&path(&d)?);
            }
        }
    }
    ctx.restore();
    root.present().map_err(|e| e.to_string())?;
    Ok(area)
}

/// Maps times and values to device pixels of the plot.
struct Pixels {
    left: f64,
    top: f64,
    bottom: f64,
    sx: f64,
    sy: f64,
    start: i64,
    lo: f64,
}

impl Pixels {
    fn x(&self, t: i64) -> f64 {
        self.left + (t - self.start) as f64 * self.sx
    }
    fn y(&self, v: f64) -> f64 {
        (self.bottom - (v - self.lo) * self.sy).clamp(self.top - 1e4, self.bottom + 1e4)
    }
}

pub(crate) fn path(d: &PathData) -> Result<Path2d, String> {
    Path2d::new_with_path_string(&d.0).map_err(|_| "the browser refused a chart path".to_owned())
}

/// SVG path data in whole device pixels. Written by hand: formatting floats was most of the
/// cost of building a path (`cargo xtask bench ui`), and sub-pixel positions buy nothing on a
/// canvas already sized in device pixels. A point landing on the previous one is skipped.
#[derive(Debug, Default)]
pub(crate) struct PathData(pub(crate) String, Option<(i32, i32)>);

impl PathData {
    pub(crate) fn with_capacity(n: usize) -> PathData {
        PathData(String::with_capacity(n), None)
    }
    fn int(&mut self, v: i32) {
        let mut buf = [0u8; 12];
        let mut i = buf.len();
        let mut n = v.unsigned_abs();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if v < 0 {
            i -= 1;
            buf[i] = b'-';
        }
        // Digits and '-' only.
        self.0
            .push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
    }
    fn cmd(&mut self, c: char, x: f64, y: f64) {
        let p = (x.round() as i32, y.round() as i32);
        if c == 'L' && self.1 == Some(p) {
            return;
        }
        self.1 = Some(p);
        self.0.push(c);
        self.int(p.0);
        self.0.push(' ');
        self.int(p.1);
    }
    fn move_to(&mut self, x: f64, y: f64) {
        self.cmd('M', x, y);
    }
    fn line_to(&mut self, x: f64, y: f64) {
        self.cmd('L', x, y);
    }
    fn close(&mut self) {
        self.0.push('Z');
        self.1 = None;
    }
    /// A rectangle from corner `(x0, y0)` to `(x1, y1)`.
    pub(crate) fn rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64) {
        self.move_to(x0, y0);
        self.line_to(x1, y0);
        self.line_to(x1, y1);
        self.line_to(x0, y1);
        self.close();
    }
}

/// SVG path data for the line through the tops of `b`, broken at NaN and at gaps longer than
/// 3 steps (or 2 minutes) so missing data is not bridged; and, if asked, the closed areas
/// between tops and bottoms for the fill.
fn line_paths(b: &[Band], px: &Pixels, with_fill: bool) -> (PathData, Option<PathData>) {
    let step = b.windows(2).map(|w| w[1].0 - w[0].0).min().unwrap_or(0);
    let max_gap = (3 * step).max(120_000);
    let mut line = PathData::with_capacity(b.len() * 10);
    let mut fill = with_fill.then(|| PathData::with_capacity(b.len() * 20));
    let runs = b
        .split(|p| p.2.is_nan())
        .flat_map(|r| r.chunk_by(|a, b| b.0 - a.0 <= max_gap));
    for run in runs {
        for (i, &(t, _, top)) in run.iter().enumerate() {
            if i == 0 {
                line.move_to(px.x(t), px.y(top));
            } else {
                line.line_to(px.x(t), px.y(top));
            }
        }
        if let Some(f) = fill.as_mut() {
            for (i, &(t, _, top)) in run.iter().enumerate() {
                if i == 0 {
                    f.move_to(px.x(t), px.y(top));
                } else {
                    f.line_to(px.x(t), px.y(top));
                }
            }
            for &(t, bottom, _) in run.iter().rev() {
                f.line_to(px.x(t), px.y(bottom.max(px.lo)));
            }
            f.close();
        }
    }
    (line, fill)
}

/// Tick times for an axis over `[start, end]`: multiples of the smallest "clock" step (1 s, 5 s,
/// 15 s, 1 min, 5 min, ...) that gives at most `max_ticks` ticks, so labels read 16:25, 16:30.
pub fn time_ticks(start: i64, end: i64, max_ticks: i64) -> Vec<i64> {
    const STEPS: [i64; 16] = [
        1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
        1_800_000, 3_600_000, 7_200_000, 21_600_000, 86_400_000,
    ];
    let span = (end - start).max(1);
    let max_ticks = max_ticks.max(2);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= max_ticks)
        .unwrap_or(span / max_ticks + 1);
    let first = start + (step - start.rem_euclid(step)) % step;
    (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= end)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn plot_area_maps_pixels_to_times_and_back() {
        let a = PlotArea {
            left: 50.0,
            right: 450.0,
            top: 0.0,
            bottom: 100.0,
            start: 0,
            end: 400_000,
        };
        assert_eq!(a.time_at(250.0), 200_000);
        assert_eq!(a.time_at(0.0), 0);
        assert_eq!(a.x_of(100_000), Some(150.0));
        assert_eq!(a.x_of(500_000), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn ticks_fall_on_round_clock_times() {
        let t = time_ticks(1_000_123, 1_000_123 + 15 * 60_000, 5);
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|t| t % 300_000 == 0), "{t:?}");
        assert_eq!(
            time_ticks(0, 10_000, 20),
            (0..=10).map(|i| i * 1000).collect::<Vec<_>>()
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn hidden_series_leave_the_y_range_and_fills_reach_zero() {
        let f = FieldDefaults::default();
        let bands = stack(
            &[Some(&[(0, 10.0), (1, 20.0)][..]), None],
            StackingMode::None,
        );
        let (lo, hi) = y_range(&bands, false, false, &f);
        assert!(
            (9.0..10.0).contains(&lo) && (20.0..21.0).contains(&hi),
            "{lo} {hi}"
        );
        assert_eq!(y_range(&bands, true, false, &f).0, 0.0);
        let f = FieldDefaults {
            min: Some(-5.0),
            max: Some(100.0),
            ..f
        };
        assert_eq!(y_range(&bands, false, false, &f), (-5.0, 100.0));
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn lines_break_at_nan_and_gaps() {
        let px = Pixels {
            left: 0.0,
            top: 0.0,
            bottom: 100.0,
            sx: 0.001,
            sy: 1.0,
            start: 0,
            lo: 0.0,
        };
        let b = [
            (0, 0.0, 1.0),
            (15_000, 0.0, 2.0),
            (30_000, 0.0, f64::NAN),
            (45_000, 0.0, 3.0),
            (600_000, 0.0, 4.0),
        ];
        let (line, fill) = line_paths(&b, &px, true);
        assert_eq!(line.0.matches('M').count(), 3, "{}", line.0);
        assert_eq!(fill.unwrap().0.matches('Z').count(), 3);
        assert!(line.0.starts_with("M0 99L15 98M45 97"), "{}", line.0);
        let mut d = PathData::default();
        d.move_to(-12.4, 7.6);
        d.line_to(-12.0, 8.0);
        d.line_to(3.0, 2_000_000.0);
        assert_eq!(d.0, "M-12 8L3 2000000", "repeated pixels are skipped");
    }
}
