//! The in-browser half of `bench_store`: append and decode throughput of the store compiled to
//! wasm, in headless Chromium. Prints the same JSON rows as the native bench (names end in
//! `_wasm`); `bench_store` runs this and prints both side by side. Not named `web.rs` so the test
//! suite does not run it.
//!
//! Run: `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=300 cargo test --profile fast
//! -p lookout-tsdb --target wasm32-unknown-unknown --test web_bench -- --nocapture`
#![cfg(target_arch = "wasm32")]

use std::hint::black_box;

use lookout_tsdb::chunk::{ChunkAppender, ChunkIter, ChunkIterator, Encoding, XorChunk};
use lookout_tsdb::testdata::Fleet;
use lookout_tsdb::{SeriesId, Store};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const SERIES: usize = 10_000;
const SCRAPES: usize = 480; // 2 h at 15 s, as natively
const START: i64 = 1_700_000_000_000;

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Best of `runs` timings of `f`, in seconds (as the native bench takes them).
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..runs)
        .map(|_| {
            let t = now_ms();
            black_box(f());
            (now_ms() - t) / 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn row(name: &str, value: f64, unit: &str) {
    console_log!(r#"{{"name": "{name}", "value": {value:.0}, "unit": "{unit}"}}"#);
}

#[wasm_bindgen_test]
fn store_throughput_in_the_browser() {
    let fleet = Fleet::new(SERIES, 42);
    let data = fleet.samples(START, 15_000, SCRAPES);
    let total: usize = data.iter().map(Vec::len).sum();
    let build = |ids: &mut Vec<SeriesId>| {
        let mut store = Store::default();
        ids.clear();
        ids.extend(fleet.series.iter().map(|s| store.series_id(&s.labels)));
        store
    };
    let mut ids = Vec::new();
    build(&mut ids);
    let targets = fleet
        .series
        .iter()
        .map(|s| s.target)
        .max()
        .map_or(0, |t| t + 1);
    let mut by_target: Vec<Vec<usize>> = vec![Vec::new(); targets];
    for (i, s) in fleet.series.iter().enumerate() {
        by_target[s.target].push(i);
    }
    let mut scrapes: Vec<(i64, Vec<(SeriesId, f64)>)> = Vec::with_capacity(SCRAPES * targets);
    for k in 0..SCRAPES {
        for members in &by_target {
            let t = data[members[0]][k].0;
            scrapes.push((t, members.iter().map(|&i| (ids[i], data[i][k].1)).collect()));
        }
    }

    let mut store = build(&mut ids);
    let mut append = f64::INFINITY;
    for _ in 0..3 {
        let mut s = build(&mut ids);
        let t = now_ms();
        for (ts, samples) in &scrapes {
            black_box(s.append_scrape(*ts, samples));
        }
        let secs = (now_ms() - t) / 1e3;
        if secs < append {
            append = secs;
            store = s;
        }
    }
    row("append_throughput_wasm", total as f64 / append, "samples/s");

    let decode = best(5, || {
        let mut acc = 0.0;
        for &id in &ids {
            let mut it = store.samples(id, i64::MIN, i64::MAX);
            while let Some((_, vs)) = it.next_batch() {
                acc += vs.iter().sum::<f64>();
            }
        }
        acc
    });
    row("decode_throughput_wasm", total as f64 / decode, "samples/s");
    let decode_iter = best(5, || {
        let mut acc = 0.0;
        for &id in &ids {
            for (_, v) in store.samples(id, i64::MIN, i64::MAX) {
                acc += v;
            }
        }
        acc
    });
    row(
        "decode_throughput_wasm_per_sample_iterator",
        total as f64 / decode_iter,
        "samples/s",
    );
    // Prometheus's XOR chunks of the same samples (the native bench's decode baseline).
    let per_chunk = lookout_tsdb::StoreConfig::default().samples_per_chunk as usize;
    let mut xor_chunks: Vec<Vec<u8>> = Vec::new();
    for series in &data {
        for part in series.chunks(per_chunk) {
            let mut c = XorChunk::new();
            for &(t, v) in part {
                let _ = c.append(t, v);
            }
            xor_chunks.push(c.into_bytes());
        }
    }
    let decode_xor = best(5, || {
        let mut acc = 0i64;
        for c in &xor_chunks {
            let Ok(mut it) = ChunkIter::new(Encoding::Xor, c) else {
                continue;
            };
            while it.next() {
                acc = acc.wrapping_add(it.at().0);
            }
        }
        acc
    });
    row(
        "decode_throughput_wasm_xor_chunks",
        total as f64 / decode_xor,
        "samples/s",
    );
}
