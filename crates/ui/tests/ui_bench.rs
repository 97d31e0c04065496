//! `cargo xtask bench ui`: drawing costs measured in headless Chromium. Prints one JSON row per
//! measurement (the xtask renders the table). Not part of the test suite (not named `web.rs`).
#![cfg(target_arch = "wasm32")]

use lookout_tsdb::Labels;
use lookout_ui::charts::decimate::m4;
use lookout_ui::charts::timeseries;
use lookout_ui::data::SeriesView;
use lookout_ui::panel_options::FieldDefaults;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

fn row(name: &str, value: f64, unit: &str, target: &str) {
    console_log!(
        "{}",
        format!(
            r#"{{"name": "{name}", "value": {value}, "unit": "{unit}", "target": "{target}"}}"#
        )
    );
}

/// 20 series × 10,000 points of noisy gauges, 15 s apart.
fn series() -> Vec<SeriesView> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    (0..20)
        .map(|i| {
            let mut v = 100.0 * (i + 1) as f64;
            let points = (0..10_000)
                .map(|k| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    v += ((seed % 2001) as f64 - 1000.0) / 100.0;
                    (k as i64 * 15_000, v)
                })
                .collect();
            SeriesView {
                labels: Labels::new([("__name__", "bench"), ("series", &i.to_string())]),
                points,
            }
        })
        .collect()
}

#[wasm_bindgen_test]
fn redraw_20_series_of_10k_points() {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let canvas: web_sys::HtmlCanvasElement = doc
        .create_element("canvas")
        .expect("canvas")
        .dyn_into()
        .expect("a canvas");
    canvas
        .set_attribute("style", "width: 800px; height: 300px; display: block")
        .expect("style");
    doc.body()
        .expect("body")
        .append_child(&canvas)
        .expect("attached");
    let data = series();
    let (start, end) = (0, 9_999 * 15_000);
    let field = FieldDefaults::default();

    let t = now();
    let reduced: usize = data
        .iter()
        .map(|s| m4(&s.points, start, end, 800).len())
        .sum();
    let m4_ms = now() - t;

    // Warm once (fonts, first context), then time redraws as a live page does them.
    timeseries::draw(&canvas, &data, &[], start, end, &field, false).expect("drawn");
    let runs = 20;
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = now();
            timeseries::draw(&canvas, &data, &[], start, end, &field, false).expect("drawn");
            now() - t
        })
        .collect();
    times.sort_by(f64::total_cmp);
    row(
        "redraw 20 series x 10k points (median)",
        times[runs / 2],
        "ms",
        "<= 16",
    );
    row(
        "redraw 20 series x 10k points (p90)",
        times[runs * 9 / 10],
        "ms",
        "<= 16",
    );
    row("M4 decimation of 200k points", m4_ms, "ms", "");
    row(
        "points pushed to the canvas after M4",
        reduced as f64,
        "points",
        "<= 4 per pixel column per series",
    );
}
