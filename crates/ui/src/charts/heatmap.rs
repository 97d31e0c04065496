//! A heatmap of a classic Prometheus histogram over time: the cumulative `_bucket` series are
//! de-cumulated per `le` (each cell is the count between one bound and the one below), one row
//! per bucket, one column per step, coloured on a sequential scale. Counters that reset or
//! buckets scraped out of step can make a difference negative; it is shown as zero.

use lookout_tsdb::sort::SortDyn;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::timeseries::{PathData, context, fit, path, time_ticks};
use crate::data::SeriesView;
use crate::format::{Unit, clock, value_with};
use crate::panel_options::Rgb;

/// Bucket counts over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Heat {
    /// Upper bounds, ascending (`+Inf` last if present).
    pub les: Vec<f64>,
    pub times: Vec<i64>,
    /// `counts[bucket][time]`: what fell between `les[bucket - 1]` and `les[bucket]`.
    pub counts: Vec<Vec<f64>>,
    pub max: f64,
}

/// De-cumulates histogram buckets: series with the same `le` (several jobs) are summed first.
/// Series without a numeric `le` label are an error naming the query's problem.
pub fn decumulate(series: &[SeriesView]) -> Result<Heat, String> {
    let mut bounds: Vec<f64> = Vec::with_capacity(series.len());
    for s in series {
        let le = s
            .labels
            .get("le")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| !v.is_nan())
            .ok_or("a heatmap needs histogram buckets: series with an `le` label, e.g. sum by (le) (rate(x_bucket[1m]))")?;
        bounds.push(le);
    }
    // One row per distinct bound, one column per time any bucket has a value at, ascending.
    let les = {
        let mut l = bounds.clone();
        l.sort_by_dyn(f64::total_cmp);
        l.dedup_by(|a, b| a.to_bits() == b.to_bits());
        l
    };
    let mut times: Vec<i64> = series
        .iter()
        .flat_map(|s| s.points.iter().filter(|p| p.1.is_finite()).map(|p| p.0))
        .collect();
    times.sort_by_dyn(i64::cmp);
    times.dedup();
    // Cumulative counts per (bound, time), summed over the series with that bound.
    let mut cumulative = vec![vec![0.0f64; times.len()]; les.len()];
    for (s, le) in series.iter().zip(&bounds) {
        let Ok(row) = les.binary_search_by(|x| x.total_cmp(le)) else {
            continue;
        };
        for &(t, v) in &s.points {
            if v.is_finite()
                && let Ok(col) = times.binary_search(&t)
            {
                cumulative[row][col] += v;
            }
        }
    }
    let mut max = 0.0f64;
    let counts: Vec<Vec<f64>> = (0..les.len())
        .map(|b| {
            let row: Vec<f64> = (0..times.len())
                .map(|t| {
                    let under = if b == 0 { 0.0 } else { cumulative[b - 1][t] };
                    (cumulative[b][t] - under).max(0.0)
                })
                .collect();
            max = row.iter().copied().fold(max, f64::max);
            row
        })
        .collect();
    Ok(Heat {
        les,
        times,
        counts,
        max,
    })
}

/// A sequential colour scale (viridis' ends and middle) for `f` in 0..=1.
pub fn scale(f: f64) -> Rgb {
    const STOPS: [(f64, f64, f64); 3] = [
        (68.0, 1.0, 84.0),
        (33.0, 145.0, 140.0),
        (253.0, 231.0, 37.0),
    ];
    let f = f.clamp(0.0, 1.0) * 2.0;
    let i = (f as usize).min(1);
    let (a, b, k) = (STOPS[i], STOPS[i + 1], f - i as f64);
    let mix = |x: f64, y: f64| (x + (y - x) * k).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The bucket label for row `i`: `(lower, upper]` in the unit.
pub fn bucket_label(les: &[f64], i: usize, unit: Unit) -> String {
    let upper = les.get(i).copied().unwrap_or(f64::NAN);
    let lower = if i == 0 { 0.0 } else { les[i - 1] };
    format!(
        "{} – {}",
        value_with(lower, unit, None),
        value_with(upper, unit, None)
    )
}

/// Where the cells are, in CSS pixels, for the tooltip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatArea {
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub start: i64,
    pub end: i64,
    pub rows: usize,
}

impl HeatArea {
    /// The row (bucket index) under CSS y position `y`.
    pub fn row_at(&self, y: f64) -> Option<usize> {
        if y < self.top || y > self.bottom || self.rows == 0 {
            return None;
        }
        let f = (self.bottom - y) / (self.bottom - self.top).max(1.0);
        Some(((f * self.rows as f64) as usize).min(self.rows - 1))
    }
}

/// Draws `heat` over `[start, end]`.
pub fn draw(
    canvas: &HtmlCanvasElement,
    heat: &Heat,
    start: i64,
    end: i64,
    unit: Unit,
    dark: bool,
) -> Result<HeatArea, String> {
    let (dpr, css_w, _) = fit(canvas, 50, 50);
    let root = CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or("canvas has no 2d context")?
        .into_drawing_area();
    let fg = if dark {
        RGBColor(200, 204, 212)
    } else {
        RGBColor(60, 64, 72)
    };
    let rows = heat.les.len().max(1);
    let offset = -(js_sys::Date::new_0().get_timezone_offset() as i64);
    let les = heat.les.clone();
    let mut chart = ChartBuilder::on(&root)
        .margin((6.0 * dpr) as u32)
        .x_label_area_size((18.0 * dpr) as u32)
        .y_label_area_size((64.0 * dpr) as u32)
        .build_cartesian_2d(
            (start..end).with_key_points(time_ticks(start, end, (css_w / 110.0) as i64)),
            0.0..rows as f64,
        )
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .y_labels(rows.min(8))
        .label_style(("sans-serif", (11.0 * dpr) as u32).into_font().color(&fg))
        .x_label_formatter(&|t| clock(*t, offset))
        .y_label_formatter(&|v| {
            les.get(v.floor() as usize)
                .map(|le| value_with(*le, unit, None))
                .unwrap_or_default()
        })
        .draw()
        .map_err(|e| e.to_string())?;
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let (left, top, bottom) = (f64::from(xr.start), f64::from(yr.start), f64::from(yr.end));
    let sx = f64::from(xr.end - xr.start) / (end - start).max(1) as f64;
    let row_h = (bottom - top) / rows as f64;
    let step = heat
        .times
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        // One time only (a fresh page): a narrow column, not the whole width.
        .unwrap_or((end - start) / 100)
        .max(1);
    let cell_w = (step as f64 * sx).max(1.0);
    // One path per colour level: a few dozen canvas calls however many cells.
    const LEVELS: usize = 32;
    let mut paths: Vec<PathData> = (0..LEVELS).map(|_| PathData::with_capacity(256)).collect();
    for (b, row) in heat.counts.iter().enumerate() {
        let y1 = bottom - b as f64 * row_h;
        for (&t, &c) in heat.times.iter().zip(row) {
            if c <= 0.0 || t < start - step || t > end {
                continue;
            }
            let level =
                ((c / heat.max.max(f64::MIN_POSITIVE)) * (LEVELS - 1) as f64).round() as usize;
            let x1 = left + (t - start) as f64 * sx;
            paths[level.min(LEVELS - 1)].rect(x1 - cell_w, y1 - row_h, x1, y1);
        }
    }
    let ctx = context(canvas)?;
    ctx.save();
    ctx.begin_path();
    ctx.rect(left, top, f64::from(xr.end) - left, bottom - top);
    ctx.clip();
    for (level, d) in paths.iter().enumerate() {
        if !d.0.is_empty() {
            let (r, g, b) = scale(level as f64 / (LEVELS - 1) as f64);
            ctx.set_fill_style_str(&format!("rgb({r},{g},{b})"));
            ctx.fill_with_path_2d(&path(d)?);
        }
    }
    ctx.restore();
    root.present().map_err(|e| e.to_string())?;
    Ok(HeatArea {
        left: left / dpr,
        right: f64::from(xr.end) / dpr,
        top: top / dpr,
        bottom: bottom / dpr,
        start,
        end,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_tsdb::Labels;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn bucket(le: &str, job: &str, points: &[(i64, f64)]) -> SeriesView {
        SeriesView {
            labels: Labels::new([("le", le), ("job", job)]),
            points: points.to_vec(),
        }
    }

    #[wasm_bindgen_test]
    fn buckets_are_decumulated_per_le_and_summed_across_series() {
        let series = [
            bucket("+Inf", "a", &[(0, 10.0), (15, 12.0)]),
            bucket("0.1", "a", &[(0, 4.0), (15, 4.0)]),
            bucket("0.5", "a", &[(0, 9.0), (15, 6.0)]),
            bucket("0.1", "b", &[(0, 1.0)]),
            bucket("0.5", "b", &[(0, 1.0)]),
            bucket("+Inf", "b", &[(0, 1.0)]),
        ];
        let h = decumulate(&series).unwrap();
        assert_eq!(h.les, vec![0.1, 0.5, f64::INFINITY]);
        assert_eq!(h.times, vec![0, 15]);
        assert_eq!(h.counts[0], vec![5.0, 4.0]);
        assert_eq!(h.counts[1], vec![5.0, 2.0]);
        assert_eq!(h.counts[2], vec![1.0, 6.0]);
        assert_eq!(h.max, 6.0);
        assert!(
            decumulate(&[bucket("x", "a", &[])])
                .unwrap_err()
                .contains("le")
        );
    }

    #[wasm_bindgen_test]
    fn negative_differences_show_as_zero_and_labels_name_the_range() {
        let h =
            decumulate(&[bucket("1", "a", &[(0, 5.0)]), bucket("2", "a", &[(0, 3.0)])]).unwrap();
        assert_eq!(h.counts[1], vec![0.0]);
        assert_eq!(bucket_label(&h.les, 1, Unit::Seconds), "1 s – 2 s");
        assert_eq!(scale(0.0), (68, 1, 84));
        assert_eq!(scale(1.0), (253, 231, 37));
        let a = HeatArea {
            left: 0.0,
            right: 10.0,
            top: 0.0,
            bottom: 100.0,
            start: 0,
            end: 1,
            rows: 4,
        };
        assert_eq!(a.row_at(99.0), Some(0));
        assert_eq!(a.row_at(1.0), Some(3));
        assert_eq!(a.row_at(101.0), None);
    }
}
