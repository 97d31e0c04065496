//! `cargo xtask bench ui`: drawing costs measured in headless Chromium. Prints one JSON row per
//! measurement (the xtask renders the table). Not part of the test suite (not named `web.rs`).
#![cfg(target_arch = "wasm32")]

use lookout_tsdb::Labels;
use lookout_ui::charts::decimate::m4;
use lookout_ui::charts::timeseries;
use lookout_ui::data::SeriesView;
use lookout_ui::panel_options::FieldDefaults;
use lookout_wire::{Event, SampleBatch, SeriesDef};
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
    let hidden = vec![false; data.len()];
    let mut axes: Vec<f64> = (0..runs)
        .map(|_| {
            let t = now();
            timeseries::draw(&canvas, &data, &hidden, start, end, &field, false).expect("drawn");
            now() - t
        })
        .collect();
    axes.sort_by(f64::total_cmp);
    row(
        "  of which axes and labels (all series hidden, median)",
        axes[runs / 2],
        "ms",
        "",
    );
    row("M4 decimation of 200k points", m4_ms, "ms", "");
    row(
        "points pushed to the canvas after M4",
        reduced as f64,
        "points",
        "<= 4 per pixel column per series",
    );
}

/// Waits `ms` on the page's event loop (effects and rendering run meanwhile).
async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

/// Demo-fleet-like series: 5 services with request counters by route and code, latency
/// histograms, CPU, memory, queue depth, scrape duration and `up`.
fn fleet() -> Vec<(Labels, Box<dyn Fn(i64) -> f64>)> {
    let mut out: Vec<(Labels, Box<dyn Fn(i64) -> f64>)> = Vec::new();
    let les = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf",
    ];
    for (j, job) in ["gateway", "checkout", "payments", "inventory", "database"]
        .iter()
        .enumerate()
    {
        let inst = format!("10.0.0.{j}:9100");
        let base = [("job", *job), ("instance", inst.as_str())];
        for (r, route) in ["/", "/api/items", "/api/orders"].iter().enumerate() {
            for (code, share) in [("200", 0.98), ("500", 0.02)] {
                let rps = (10.0 + 7.0 * (j + r) as f64) * share;
                let l = Labels::new(base.iter().copied().chain([
                    ("__name__", "http_requests_total"),
                    ("method", "GET"),
                    ("route", *route),
                    ("code", code),
                ]));
                out.push((
                    l,
                    Box::new(move |t| {
                        rps * t as f64 / 1000.0 * (1.0 + 0.1 * ((t / 60_000) % 7) as f64)
                    }),
                ));
            }
            for (b, le) in les.iter().enumerate() {
                let frac = 1.0 - (-(b as f64) / 3.0).exp() * if *le == "+Inf" { 0.0 } else { 1.0 };
                let rps = 10.0 + 7.0 * (j + r) as f64;
                let l = Labels::new(base.iter().copied().chain([
                    ("__name__", "http_request_duration_seconds_bucket"),
                    ("route", *route),
                    ("le", *le),
                ]));
                out.push((l, Box::new(move |t| rps * frac * t as f64 / 1000.0)));
            }
        }
        for (name, f) in [
            ("process_cpu_seconds_total", 0.3),
            ("process_resident_memory_bytes", 2.0e8),
            ("queue_depth", 12.0),
            ("scrape_duration_seconds", 0.004),
            ("up", 1.0),
        ] {
            let l = Labels::new(base.iter().copied().chain([("__name__", name)]));
            let counter = name.ends_with("_total");
            out.push((
                l,
                Box::new(move |t| {
                    if counter {
                        f * t as f64 / 1000.0
                    } else if name == "up" {
                        1.0
                    } else {
                        f * (1.0 + 0.2 * ((t / 15_000 + j as i64) % 11) as f64 / 11.0)
                    }
                }),
            ));
        }
    }
    out
}

/// One scrape of every series at `t` as a stream frame.
fn scrape(fleet: &[(Labels, Box<dyn Fn(i64) -> f64>)], t: i64) -> Event {
    let mut batch = SampleBatch::default();
    for (i, (_, f)) in fleet.iter().enumerate() {
        batch.push(i as u32, t, f(t));
    }
    Event::Samples { sub: 1, batch }
}

/// The render measures recorded so far.
fn renders() -> Vec<(String, f64)> {
    let p = web_sys::window()
        .and_then(|w| w.performance())
        .expect("performance");
    p.get_entries_by_type("measure")
        .iter()
        .filter_map(|e| e.dyn_into::<web_sys::PerformanceEntry>().ok())
        .filter(|e| e.name().starts_with("lookout:render:"))
        .map(|e| (e.name(), e.start_time() + e.duration()))
        .collect()
}

#[wasm_bindgen_test]
async fn starter_dashboard_first_draw_and_live_cost() {
    use leptos::prelude::*;
    use lookout_ui::components::{PanelContext, PanelView};
    use lookout_ui::data::PageData;

    let fleet = fleet();
    let end = js_sys::Date::now() as i64 / 15_000 * 15_000;
    let start = end - 3_600_000;
    let mut page = PageData::default();
    page.apply(Event::Series {
        sub: 1,
        defs: fleet
            .iter()
            .enumerate()
            .map(|(i, (l, _))| SeriesDef {
                series: i as u32,
                labels: l.clone(),
            })
            .collect(),
        metadata: Vec::new(),
    });
    for t in (start..=end).step_by(15_000) {
        page.apply(scrape(&fleet, t));
    }
    let specs = lookout_ui::gallery::panels();
    assert!(specs.len() >= 16, "{} panels", specs.len());
    let n = specs.len();

    let doc = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let root: web_sys::HtmlElement = doc
        .create_element("main")
        .expect("main")
        .dyn_into()
        .expect("element");
    root.set_class_name("grid");
    root.set_attribute(
        "style",
        "width: 1280px; display: grid; grid-template-columns: repeat(4, 1fr)",
    )
    .expect("style");
    doc.body()
        .expect("body")
        .append_child(&root)
        .expect("attached");
    let data = StoredValue::new_local(page);
    let (version, set_version) = signal(0u64);
    let (now_ms, set_now) = signal(end);
    let ctx = PanelContext {
        data,
        version,
        range: Signal::derive(move || (now_ms.get() - 3_600_000, now_ms.get())),
        min_step: 1000,
        hover: RwSignal::new(None),
        zoom: RwSignal::new(None),
    };
    let t0 = now();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        specs
            .into_iter()
            .map(|spec| view! { <PanelView spec=spec ctx=ctx /> })
            .collect_view()
    });
    let mut drawn = renders();
    while drawn.len() < n {
        sleep(0).await;
        drawn = renders();
    }
    let first = drawn.iter().map(|d| d.1).fold(0.0, f64::max) - t0;
    row(
        &format!("starter dashboard ({n} panels, 1 h at 15 s): mount to all panels drawn"),
        first,
        "ms",
        "<= 300",
    );

    // Live: a scrape of every series each second moves the range and redraws every panel.
    sleep(200).await;
    let (mut busy, wall0) = (0.0, now());
    let mut t = end;
    for _ in 0..5 {
        t += 1000;
        let b = now();
        data.update_value(|d| {
            d.apply(scrape(&fleet, t));
        });
        set_now.set(t);
        set_version.update(|v| *v += 1);
        // Effects run on the next turns of the event loop; a zero timeout fires after them.
        sleep(0).await;
        busy += now() - b;
        sleep(1000).await;
    }
    let share = busy / (now() - wall0) * 100.0;
    row(
        &format!("live mode: main-thread time per second ({n} panels, a scrape per second)"),
        share,
        "%",
        "<= 20",
    );
    drop(handle);
}
