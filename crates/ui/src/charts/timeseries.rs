//! The time-series chart: lines per series over a time range, drawn with plotters on a canvas.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::decimate::m4;
use super::palette::assign_colors;
use crate::data::SeriesView;
use crate::format::{Unit, clock, value};

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

/// Sizes the canvas backing store to its CSS size times the device pixel ratio (sharp on HiDPI)
/// and draws `series` over `[start, end]`.
pub fn draw(
    canvas: &HtmlCanvasElement,
    series: &[SeriesView],
    start: i64,
    end: i64,
    unit: Unit,
    dark: bool,
) -> Result<PlotArea, String> {
    let dpr = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .max(1.0);
    let (css_w, css_h) = (
        canvas.client_width().max(50) as f64,
        canvas.client_height().max(50) as f64,
    );
    let (w, h) = ((css_w * dpr) as u32, (css_h * dpr) as u32);
    // Assigning the size clears the bitmap and resets the context state, even when unchanged:
    // plotters paints over what is there, so every frame must start from a clean canvas.
    canvas.set_width(w);
    canvas.set_height(h);
    let backend =
        CanvasBackend::with_canvas_object(canvas.clone()).ok_or("canvas has no 2d context")?;
    let root = backend.into_drawing_area();
    let (fg, grid) = if dark {
        (RGBColor(200, 204, 212), RGBColor(48, 52, 60))
    } else {
        (RGBColor(60, 64, 72), RGBColor(228, 230, 234))
    };

    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        for &(_, v) in &s.points {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < f64::EPSILON {
        (lo, hi) = (lo - 1.0, hi + 1.0);
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (
        if lo >= 0.0 && lo - pad < 0.0 {
            0.0
        } else {
            lo - pad
        },
        hi + pad,
    );

    let font = (11.0 * dpr) as u32;
    let offset = -(js_sys::Date::new_0().get_timezone_offset() as i64);
    let mut chart = ChartBuilder::on(&root)
        .margin((6.0 * dpr) as u32)
        .x_label_area_size((18.0 * dpr) as u32)
        .y_label_area_size((64.0 * dpr) as u32)
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
        .y_label_formatter(&|v| value(*v, unit))
        .draw()
        .map_err(|e| e.to_string())?;
    let plot_w = chart.plotting_area().dim_in_pixel().0;
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let area = PlotArea {
        left: f64::from(xr.start) / dpr,
        right: f64::from(xr.end) / dpr,
        top: f64::from(yr.start) / dpr,
        bottom: f64::from(yr.end) / dpr,
        start,
        end,
    };
    let colors = assign_colors(series.iter().map(|s| &s.labels));
    for (s, (r, g, b)) in series.iter().zip(colors) {
        let style = ShapeStyle {
            color: RGBColor(r, g, b).to_rgba(),
            filled: false,
            stroke_width: (1.5 * dpr).round().max(1.0) as u32,
        };
        // A gap longer than 2 minutes (or 3 steps) breaks the line instead of bridging missing data.
        let pts = m4(&s.points, start, end, plot_w);
        let step = pts.windows(2).map(|w| w[1].0 - w[0].0).min().unwrap_or(0);
        let max_gap = (3 * step).max(120_000);
        for run in pts.chunk_by(|a, b| b.0 - a.0 <= max_gap) {
            chart
                .draw_series(LineSeries::new(run.iter().copied(), style))
                .map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(area)
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
}
