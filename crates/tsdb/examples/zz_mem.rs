#![allow(unsafe_code)]
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use lookout_tsdb::testdata::index_labels;
use lookout_tsdb::{Store, SeriesId};
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 { LIVE.fetch_add(l.size(), Ordering::Relaxed); unsafe { System.alloc(l) } }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) { LIVE.fetch_sub(l.size(), Ordering::Relaxed); unsafe { System.dealloc(p, l) } }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 { LIVE.fetch_add(new, Ordering::Relaxed); LIVE.fetch_sub(l.size(), Ordering::Relaxed); unsafe { System.realloc(p, l, new) } }
}
#[global_allocator]
static ALLOC: Counting = Counting;
fn main() {
    let n = std::env::args().nth(1).map_or(100_000, |a| a.parse().unwrap());
    let b0 = LIVE.load(Ordering::Relaxed);
    let labels = index_labels(n);
    let b1 = LIVE.load(Ordering::Relaxed);
    println!("labels {:.1} B/series (incl vec 16)", (b1 - b0) as f64 / n as f64);
    let mut s = Store::default();
    let ids: Vec<SeriesId> = labels.iter().map(|l| s.series_id(l)).collect();
    let b2 = LIVE.load(Ordering::Relaxed);
    println!("store w/o labels {:.1} B/series (ids vec 4)", (b2 - b1) as f64 / n as f64);
    for (i, &id) in ids.iter().enumerate() {
        let _ = s.append(id, 1000 + i as i64, 1.0);
        let _ = s.append(id, 16000 + i as i64, 2.0);
    }
    let b3 = LIVE.load(Ordering::Relaxed);
    let st = s.stats();
    println!("appends {:.1} B/series; chunk_bytes {:.1}/series; stats overhead {:.1}", (b3 - b2) as f64 / n as f64, st.chunk_bytes as f64 / n as f64, st.overhead_bytes as f64 / n as f64);
}
