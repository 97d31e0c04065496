//! A gauge: an arc from `min` to `max` filled up to the value in its threshold colour, with the
//! thresholds as a thin outer band (Grafana's `showThresholdMarkers`) and the value in the
//! middle. Drawn straight on the canvas: arcs are all it needs.

use std::f64::consts::PI;

use web_sys::HtmlCanvasElement;

use super::palette::css;
use super::timeseries::{context, fit};
use crate::panel_options::Rgb;

/// Where `v` sits between `min` and `max`, clamped to 0..=1 (NaN: 0).
pub fn fraction(v: f64, min: f64, max: f64) -> f64 {
    if max.partial_cmp(&min) != Some(std::cmp::Ordering::Greater) || v.is_nan() {
        return 0.0;
    }
    ((v - min) / (max - min)).clamp(0.0, 1.0)
}

/// The arc spans 240°, open at the bottom.
const SWEEP: f64 = PI * 4.0 / 3.0;
const FROM: f64 = PI * 5.0 / 6.0;

/// Draws the gauge: `bands` are `(from, to, colour)` in value units over `min..max`.
#[allow(clippy::too_many_arguments)]
pub fn draw(
    canvas: &HtmlCanvasElement,
    value: Option<f64>,
    text: &str,
    min: f64,
    max: f64,
    color: Rgb,
    bands: &[(f64, f64, Rgb)],
    markers: bool,
    dark: bool,
) -> Result<(), String> {
    let (dpr, css_w, css_h) = fit(canvas, 40, 40);
    let ctx = context(canvas)?;
    let (w, h) = (css_w * dpr, css_h * dpr);
    // The arc's box: 240° of a circle is about 1.75 radii tall.
    let r = (w / 2.0).min(h / 1.75) * 0.92;
    let (cx, cy) = (w / 2.0, h / 2.0 + r * 0.2);
    let thick = r * 0.22;
    let arc = |from: f64, to: f64, radius: f64, width: f64, style: &str| {
        ctx.begin_path();
        let _ = ctx.arc(cx, cy, radius, FROM + SWEEP * from, FROM + SWEEP * to);
        ctx.set_line_width(width);
        ctx.set_stroke_style_str(style);
        ctx.stroke();
    };
    let track = if dark {
        "rgba(255,255,255,0.08)"
    } else {
        "rgba(0,0,0,0.07)"
    };
    let inner = if markers { r - thick * 0.45 } else { r };
    arc(0.0, 1.0, inner - thick / 2.0, thick, track);
    if let Some(v) = value.filter(|v| !v.is_nan()) {
        arc(
            0.0,
            fraction(v, min, max),
            inner - thick / 2.0,
            thick,
            &css(color),
        );
    }
    if markers {
        for &(a, b, c) in bands {
            arc(
                fraction(a, min, max),
                fraction(b, min, max),
                r - thick * 0.12,
                thick * 0.2,
                &css(c),
            );
        }
    }
    ctx.set_fill_style_str(&css(color));
    ctx.set_text_align("center");
    ctx.set_text_baseline("middle");
    let size = (r * 0.42).min(w / (text.chars().count().max(3) as f64 * 0.62));
    ctx.set_font(&format!("600 {size:.0}px sans-serif"));
    let _ = ctx.fill_text(text, cx, cy);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn fractions_clamp_to_the_arc() {
        assert_eq!(fraction(50.0, 0.0, 200.0), 0.25);
        assert_eq!(fraction(-1.0, 0.0, 1.0), 0.0);
        assert_eq!(fraction(9.0, 0.0, 1.0), 1.0);
        assert_eq!(fraction(f64::NAN, 0.0, 1.0), 0.0);
        assert_eq!(fraction(1.0, 1.0, 1.0), 0.0, "an empty range draws nothing");
    }
}
