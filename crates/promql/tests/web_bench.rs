//! The in-browser half of `bench_promql`: the engine's time per query class compiled to wasm, in
//! headless Chromium, on the same data (built straight into a store, without the OpenMetrics
//! file) and the same query range. Prints one JSON row per class (`promql/<class>/wasm`, median
//! milliseconds); `bench_promql` runs this and prints it next to the native time. Not named
//! `web.rs` so the test suite does not run it.
//!
//! Run: `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=300 cargo test --profile fast
//! -p lookout-promql --target wasm32-unknown-unknown --test web_bench -- --nocapture`.
//! Size: `LOOKOUT_BENCH_SERIES`, `LOOKOUT_BENCH_HOURS` and `LOOKOUT_BENCH_RUNS` as for the
//! native bench, read when this file is compiled (a browser has no environment).
#![cfg(target_arch = "wasm32")]

use lookout_promql::{Engine, parse};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

#[allow(dead_code)]
#[path = "../examples/shared/bench_data.rs"]
mod bench_data;

use bench_data::{CLASSES, QUERY_STEP_S, STEP_S};

wasm_bindgen_test_configure!(run_in_browser);

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

fn compiled_env(value: Option<&str>, default: i64) -> i64 {
    value.and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[wasm_bindgen_test]
fn engine_time_per_query_class_in_the_browser() {
    let series = compiled_env(option_env!("LOOKOUT_BENCH_SERIES"), 10_000);
    let hours = compiled_env(option_env!("LOOKOUT_BENCH_HOURS"), 2);
    let runs = compiled_env(option_env!("LOOKOUT_BENCH_RUNS"), 5).max(1) as usize;
    let only = option_env!("LOOKOUT_BENCH_CLASS");
    let points = hours * 3600 / STEP_S;
    // Absolute time does not matter here (no Prometheus to backfill); the alignment does, and
    // is the native bench's: on the hour plus one second.
    let start_s = 1_700_000_000 / 3600 * 3600 + 1;
    let end_s = start_s + (points - 1) * STEP_S;
    let t0 = now_ms();
    let mut sink = bench_data::Series::default();
    if let Err(e) = bench_data::generate(&mut sink, series, start_s, points) {
        panic!("generating data: {e}");
    }
    let (store, loaded) = sink.into_store();
    console_log!(
        "# wasm: loaded {loaded} samples in {:.1}s",
        (now_ms() - t0) / 1e3
    );
    let engine = Engine::default();
    let (q_start, q_end) = bench_data::query_range(start_s, end_s);
    let classes: Vec<(&str, lookout_promql::Expr)> = CLASSES
        .iter()
        .filter(|(class, _)| only.is_none_or(|o| o == *class))
        .map(|&(class, q)| match parse(q) {
            Ok(e) => (class, e),
            Err(e) => panic!("{class}: {e}"),
        })
        .collect();
    // V8 runs wasm on its baseline compiler first and swaps in optimized code once a function
    // is hot; one untimed pass over every class keeps that warm-up out of the first classes'
    // times (natively there is nothing to warm up).
    for (_, expr) in &classes {
        let _ = engine.range(
            &store,
            expr,
            q_start * 1000,
            q_end * 1000,
            QUERY_STEP_S * 1000,
        );
    }
    for (class, expr) in &classes {
        let mut ms = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = now_ms();
            let r = engine.range(
                &store,
                expr,
                q_start * 1000,
                q_end * 1000,
                QUERY_STEP_S * 1000,
            );
            ms.push(now_ms() - t);
            if let Err(e) = r {
                panic!("{class}: {e}");
            }
        }
        ms.sort_by(f64::total_cmp);
        console_log!(
            r#"{{"name":"promql/{class}/wasm","value":{:.4},"unit":"ms"}}"#,
            ms[ms.len() / 2]
        );
    }
}
