//! The time-series chart: lines per series over a time range, drawn with plotters on a canvas.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::decimate::m4;
use super::palette::color_for;
use crate::data::SeriesView;
use crate::format::{Unit, clock, value};

/// Sizes the canvas backing store to its CSS size times the device pixel ratio (sharp on HiDPI)
/// and draws `series` over `[start, end]`.
pub fn draw(
    canvas: &HtmlCanvasElement,
    series: &[SeriesView],
    start: i64,
    end: i64,
    unit: Unit,
    dark: bool,
) -> Result<(), String> {
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
        .build_cartesian_2d(start..end, lo..hi)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(grid)
        .axis_style(grid)
        .x_labels(((css_w / 110.0) as usize).clamp(2, 10))
        .y_labels(5)
        .label_style(("sans-serif", font).into_font().color(&fg))
        .x_label_formatter(&|t| clock(*t, offset))
        .y_label_formatter(&|v| value(*v, unit))
        .draw()
        .map_err(|e| e.to_string())?;
    let plot_w = chart.plotting_area().dim_in_pixel().0;
    for s in series {
        let (r, g, b) = color_for(&s.labels);
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
    root.present().map_err(|e| e.to_string())
}
