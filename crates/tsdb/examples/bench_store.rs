//! Store benchmark: prints one JSON object per line (`name`, `value`, `unit`, `target`, and
//! `baseline`/`ratio` where two things are measured side by side) for `cargo xtask bench store`.
//!
//! Run: `cargo run --profile fast -p lookout-tsdb --example bench_store`
//! Data: `lookout_tsdb::testdata` — 10k series scraped every 15 s for 2 hours, and a 100k-series
//! label set for the index rows. Then it runs the in-browser half (`tests/web_bench.rs`, the
//! same store compiled to wasm in headless Chromium) and prints its rows next to the native ones
//! (`baseline` native, `ratio` wasm/native); `LOOKOUT_BENCH_WASM=0` skips that.
// The counting allocator below is the only way to measure memory per series from inside the
// process; it forwards to the system allocator unchanged.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use lookout_tsdb::chunk::{ChunkAppender, ChunkIter, ChunkIterator, Encoding, XorChunk};
use lookout_tsdb::testdata::{Fleet, Kind, index_labels};
use lookout_tsdb::{MatchOp, Matcher, SeriesId, Store, StoreConfig};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[path = "shared/wasm_half.rs"]
mod wasm_half;

fn row(name: &str, value: f64, unit: &str, target: &str) {
    println!(
        r#"{{"name": "{name}", "value": {}, "unit": "{unit}", "target": "{target}"}}"#,
        fmt(value)
    );
}

fn row_vs(name: &str, value: f64, unit: &str, target: &str, baseline: f64) {
    println!(
        r#"{{"name": "{name}", "value": {}, "unit": "{unit}", "target": "{target}", "baseline": {}, "ratio": {}}}"#,
        fmt(value),
        fmt(baseline),
        fmt(value / baseline)
    );
}

fn fmt(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// Best of `runs` timings of `f`, in seconds: the least disturbed run on a shared machine.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

const SERIES: usize = 10_000;
const SCRAPES: usize = 480; // 2 h at 15 s
const START: i64 = 1_700_000_000_000;

fn main() {
    let fleet = Fleet::new(SERIES, 42);
    let data = fleet.samples(START, 15_000, SCRAPES);
    let total_samples: usize = data.iter().map(Vec::len).sum();
    let samples_per_chunk = StoreConfig::default().samples_per_chunk as usize;

    // Scrape-major input, as the relay has it after parsing a target's scrape: per scrape and
    // target one timestamp and the (series, value) pairs in exposition order. Built before the
    // timers so the rows below measure the store, not the bench's series-major data layout.
    let mut ids = Vec::with_capacity(SERIES);
    let build = |ids: &mut Vec<SeriesId>| {
        let mut store = Store::default();
        ids.clear();
        ids.extend(fleet.series.iter().map(|s| store.series_id(&s.labels)));
        store
    };
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

    // --- Append, scrape order: a whole scrape per call (`append_scrape`, the relay's path).
    let mut store = build(&mut ids);
    let mut append_secs = f64::INFINITY;
    for _ in 0..5 {
        let mut s = build(&mut ids);
        let t = Instant::now();
        for (ts, samples) in &scrapes {
            black_box(s.append_scrape(*ts, samples));
        }
        let secs = t.elapsed().as_secs_f64();
        if secs < append_secs {
            append_secs = secs;
            store = s;
        }
    }
    // The same input one sample at a time (`append`): what the relay did before.
    let mut per_sample_store = build(&mut ids);
    let mut per_sample_secs = f64::INFINITY;
    for _ in 0..3 {
        let mut s = build(&mut ids);
        let t = Instant::now();
        for (ts, samples) in &scrapes {
            for &(id, v) in samples {
                let _ = s.append(id, *ts, v);
            }
        }
        let secs = t.elapsed().as_secs_f64();
        if secs < per_sample_secs {
            per_sample_secs = secs;
            per_sample_store = s;
        }
    }
    row_vs(
        "append_throughput_native",
        total_samples as f64 / append_secs,
        "samples/s",
        ">= 20000000",
        total_samples as f64 / per_sample_secs,
    );
    // The same samples series by series (how a backfill or a wire batch per series arrives).
    let series_major = best(3, || {
        let mut s = build(&mut Vec::new());
        for (i, series) in data.iter().enumerate() {
            for &(t, v) in series {
                let _ = s.append(SeriesId(i as u32), t, v);
            }
        }
        s.num_series()
    });
    row(
        "append_throughput_native_series_major",
        total_samples as f64 / series_major,
        "samples/s",
        "report",
    );

    // --- Bytes per sample: XOR alone (same chunk size) vs the store's choice, per kind. Shared
    // timestamp columns count once overall and are split evenly among their series per kind.
    let mut xor_bytes = [0usize; 3];
    let mut store_bytes = [0f64; 3];
    let mut n = [0usize; 3];
    let mut xor_chunks: Vec<Vec<u8>> = Vec::new();
    for (i, series) in data.iter().enumerate() {
        let k = fleet.series[i].kind as usize;
        n[k] += series.len();
        for part in series.chunks(samples_per_chunk) {
            let mut c = XorChunk::new();
            for &(t, v) in part {
                let _ = c.append(t, v);
            }
            xor_bytes[k] += c.bytes().len();
            xor_chunks.push(c.into_bytes());
        }
        store_bytes[k] += store.stored_bytes(ids[i]);
    }
    let all = |a: &[usize; 3]| a.iter().sum::<usize>() as f64;
    let stats = store.stats();
    row_vs(
        "bytes_per_sample",
        stats.chunk_bytes as f64 / all(&n),
        "B/sample",
        "<= 1.3 (aim 1.0)",
        all(&xor_bytes) / all(&n),
    );
    for kind in [Kind::Counter, Kind::Gauge, Kind::Histogram] {
        let k = kind as usize;
        row_vs(
            &format!("bytes_per_sample_{}", kind.name()),
            store_bytes[k] / n[k] as f64,
            "B/sample",
            "report",
            xor_bytes[k] as f64 / n[k] as f64,
        );
    }
    row(
        "bytes_per_sample_per_sample_append (xor|int chunks)",
        per_sample_store.stats().chunk_bytes as f64 / all(&n),
        "B/sample",
        "report",
    );
    drop(per_sample_store);
    // Diagnostic: the same fleet with scrapes exactly on their ticks.
    let smooth = Fleet::new(SERIES, 42)
        .without_jitter()
        .samples(START, 15_000, SCRAPES);
    let mut s2 = build(&mut Vec::new());
    let mut buf = Vec::new();
    for k in 0..SCRAPES {
        for members in &by_target {
            buf.clear();
            buf.extend(members.iter().map(|&i| (ids[i], smooth[i][k].1)));
            s2.append_scrape(smooth[members[0]][k].0, &buf);
        }
    }
    row(
        "bytes_per_sample_without_jitter",
        s2.stats().chunk_bytes as f64 / total_samples as f64,
        "B/sample",
        "report",
    );
    drop(s2);
    for e in &stats.by_encoding {
        row(
            &format!("chunks_chosen_{}", e.encoding.name()),
            e.chunks as f64,
            "chunks",
            &format!(
                "report ({:.3} B/sample)",
                e.bytes as f64 / e.samples.max(1) as f64
            ),
        );
    }

    // --- Full decode: every sample of every series through the store, and raw XOR chunks.
    // Chunk-wise (`SeriesSamples::next_batch`, how range functions and charts read), and
    // sample by sample through the std iterator.
    let decode_store = best(5, || {
        let mut acc = 0.0;
        for &id in &ids {
            let mut it = store.samples(id, i64::MIN, i64::MAX);
            while let Some((_, vs)) = it.next_batch() {
                acc += vs.iter().sum::<f64>();
            }
        }
        acc
    });
    let decode_iter = best(5, || {
        let mut acc = 0.0;
        for &id in &ids {
            for (_, v) in store.samples(id, i64::MIN, i64::MAX) {
                acc += v;
            }
        }
        acc
    });
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
    let native_append = total_samples as f64 / append_secs;
    let native_decode = total_samples as f64 / decode_store;
    let native_decode_iter = total_samples as f64 / decode_iter;
    let native_decode_xor = total_samples as f64 / decode_xor;
    row_vs(
        "decode_throughput_native",
        total_samples as f64 / decode_store,
        "samples/s",
        ">= 150000000",
        total_samples as f64 / decode_xor,
    );
    row_vs(
        "decode_throughput_native_per_sample_iterator",
        total_samples as f64 / decode_iter,
        "samples/s",
        "report",
        total_samples as f64 / decode_xor,
    );

    // --- Snapshot encode / decode.
    let snap = store.snapshot();
    let mb = snap.len() as f64 / 1e6;
    let enc = best(3, || store.snapshot());
    let dec = best(3, || {
        Store::from_snapshot(&snap)
            .map(|s| s.num_series())
            .unwrap_or(0)
    });
    row("snapshot_size", mb, "MB", "report");
    // Shared timestamp columns are written once, as held: a snapshot is about the chunk bytes
    // (plus labels and a few bytes per chunk), and restores to the same bytes.
    let restored = Store::from_snapshot(&snap).map_or(0, |s| s.stats().chunk_bytes);
    row_vs(
        "snapshot_restored_chunk_bytes_vs_original",
        restored as f64 / 1e6,
        "MB",
        "ratio ~1 (timestamp columns stay shared)",
        stats.chunk_bytes as f64 / 1e6,
    );
    row("snapshot_encode", mb / enc, "MB/s", "report");
    row("snapshot_decode", mb / dec, "MB/s", "report");
    drop(store);

    // --- Index: 100k series label set. Memory is what the counting allocator saw allocated
    // and not freed while the store was built, minus the chunk bytes: the label sets are built
    // inside the window and the bench's own handles dropped, so their bytes count (as when the
    // relay parses a scrape and hands the labels over), and so does every hash table, postings
    // list, per-series struct and spare capacity. (Requested sizes: malloc's own headers are
    // not counted.)
    let n_index = 100_000;
    let before = LIVE.load(Ordering::Relaxed);
    let labels = index_labels(n_index);
    let mut big = Store::default();
    let ids_big: Vec<SeriesId> = labels.iter().map(|l| big.series_id(l)).collect();
    drop(labels);
    let after_ids = LIVE.load(Ordering::Relaxed) - ids_big.capacity() * 4;
    for (i, &id) in ids_big.iter().enumerate() {
        let _ = big.append(id, START + i as i64, 1.0);
        let _ = big.append(id, START + 15_000 + i as i64, 2.0);
    }
    let used = LIVE.load(Ordering::Relaxed) - ids_big.capacity() * 4 - before;
    let chunk_bytes = big.stats().chunk_bytes;
    row(
        "memory_per_series_100k",
        (used - chunk_bytes) as f64 / n_index as f64,
        "B/series",
        "<= 300",
    );
    row(
        "memory_per_series_100k_series_and_index",
        (after_ids - before) as f64 / n_index as f64,
        "B/series",
        "report",
    );
    drop(ids_big);
    // The relay's path: the same series scraped by target (`append_scrape`), two scrapes.
    let before = LIVE.load(Ordering::Relaxed);
    let labels = index_labels(n_index);
    let mut grouped = Store::default();
    let ids_g: Vec<SeriesId> = labels.iter().map(|l| grouped.series_id(l)).collect();
    drop(labels);
    let mut scrape = Vec::new();
    for k in 0..2i64 {
        for part in ids_g.chunks(500) {
            scrape.clear();
            scrape.extend(part.iter().map(|&id| (id, k as f64)));
            grouped.append_scrape(START + k * 15_000, &scrape);
        }
    }
    let used = LIVE.load(Ordering::Relaxed)
        - before
        - ids_g.capacity() * 4
        - scrape.capacity() * std::mem::size_of::<(SeriesId, f64)>();
    row(
        "memory_per_series_100k_scrape_groups",
        (used - grouped.stats().chunk_bytes) as f64 / n_index as f64,
        "B/series",
        "report",
    );
    drop((grouped, ids_g, scrape));
    let q = [
        Matcher::new(MatchOp::Equal, "__name__", "http_requests_total").expect("valid"),
        Matcher::new(MatchOp::RegexMatch, "code", "5..").expect("valid"),
    ];
    let hits = big.select(&q).len();
    let secs = best(50, || big.select(&q));
    row(
        &format!("select_name_and_code_regex_100k ({hits} hits)"),
        secs * 1e3,
        "ms",
        "<= 1",
    );
    let q2 = [Matcher::new(MatchOp::RegexMatch, "instance", "10\\.1\\.0\\..*").expect("valid")];
    let hits2 = big.select(&q2).len();
    let secs2 = best(20, || big.select(&q2));
    row(
        &format!("select_instance_prefix_regex_100k ({hits2} hits)"),
        secs2 * 1e3,
        "ms",
        "report",
    );
    let secs3 = best(20, || {
        big.label_values("instance", &[], i64::MIN, i64::MAX).len()
    });
    row("label_values_instance_100k", secs3 * 1e3, "ms", "report");

    // --- The wasm half: the same rows in headless Chromium, next to the native numbers.
    match wasm_half::rows("lookout-tsdb") {
        Ok(rows) => {
            for (name, value) in rows {
                let (target, native) = match name.as_str() {
                    "append_throughput_wasm" => (">= 8000000", native_append),
                    "decode_throughput_wasm" => {
                        ("ratio >= 0.5 (within 2x of native)", native_decode)
                    }
                    "decode_throughput_wasm_per_sample_iterator" => ("report", native_decode_iter),
                    "decode_throughput_wasm_xor_chunks" => ("report", native_decode_xor),
                    _ => continue,
                };
                row_vs(&name, value, "samples/s", target, native);
            }
        }
        Err(e) => eprintln!("wasm half: {e}"),
    }
}
