//! A sparkline: one series as a thin line and a light fill, no axes — for stat panels.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::decimate::m4;

/// Draws `points` over `[start, end]` in `color`, filling the canvas's CSS box at device pixels.
pub fn draw(
    canvas: &HtmlCanvasElement,
    points: &[(i64, f64)],
    start: i64,
    end: i64,
    color: (u8, u8, u8),
) -> Result<(), String> {
    let dpr = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .max(1.0);
    let (w, h) = (
        (f64::from(canvas.client_width().max(10)) * dpr) as u32,
        (f64::from(canvas.client_height().max(10)) * dpr) as u32,
    );
    // Assigning the size clears the previous frame.
    canvas.set_width(w);
    canvas.set_height(h);
    let root = CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or("canvas has no 2d context")?
        .into_drawing_area();
    let finite = points.iter().map(|p| p.1).filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if !lo.is_finite() {
        return root.present().map_err(|e| e.to_string());
    }
    let (lo, hi) = if hi - lo < f64::EPSILON {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi + (hi - lo) * 0.1)
    };
    let mut chart = ChartBuilder::on(&root)
        .build_cartesian_2d(start..end, lo..hi)
        .map_err(|e| e.to_string())?;
    let pts = m4(points, start, end, w);
    let (r, g, b) = color;
    chart
        .draw_series(
            AreaSeries::new(pts.iter().copied(), lo, RGBColor(r, g, b).mix(0.15)).border_style(
                ShapeStyle {
                    color: RGBColor(r, g, b).to_rgba(),
                    filled: false,
                    stroke_width: (1.5 * dpr).round().max(1.0) as u32,
                },
            ),
        )
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
