//! Snapshots: round trips, deltas, and refusal of damaged or hostile bytes.

use super::*;
use crate::{MatchOp, Matcher, StoreConfig};

fn sample_store() -> Store {
    let mut s = Store::new(StoreConfig {
        samples_per_chunk: 50,
    });
    for i in 0..20 {
        let l = Labels::new([
            ("__name__", if i % 2 == 0 { "up" } else { "requests_total" }),
            ("pod", &format!("p{i}")),
        ]);
        let id = s.series_id(&l);
        for k in 0..130i64 {
            let v = if i % 2 == 0 {
                (k % 3) as f64 * 0.5
            } else {
                (k * (i + 1)) as f64
            };
            s.append(id, k * 15_000 + i, v).unwrap();
        }
    }
    s
}

fn dump(s: &Store) -> Vec<(Option<String>, Vec<(i64, u64)>)> {
    (0..s.id_bound())
        .map(|i| {
            let id = SeriesId(i);
            let samples = s
                .samples(id, i64::MIN, i64::MAX)
                .map(|(t, v)| (t, v.to_bits()))
                .collect();
            (s.labels(id).map(|l| l.to_string()), samples)
        })
        .collect()
}

#[test]
fn full_snapshot_round_trips_and_keeps_ids() {
    let s = sample_store();
    let bytes = s.snapshot();
    let r = Store::from_snapshot(&bytes).unwrap();
    assert_eq!(dump(&r), dump(&s));
    let m = Matcher::new(MatchOp::Equal, "__name__", "up").unwrap();
    assert_eq!(r.select(&[m.clone()]), s.select(&[m]));
    assert_eq!(
        snapshot_info(&bytes).unwrap(),
        SnapshotInfo {
            version: SNAPSHOT_VERSION,
            delta: false,
            mark: s.mark(),
            since: 0
        }
    );
}

#[test]
fn removed_series_stay_removed_through_snapshots() {
    let mut s = sample_store();
    // Series 3 and 4 stop; retention drops all they had.
    let (gone, kept) = (SeriesId(3), SeriesId(5));
    for k in 130..200i64 {
        for i in (0..20u32).filter(|&i| i != 3 && i != 4) {
            s.append(SeriesId(i), k * 15_000 + i64::from(i), k as f64)
                .unwrap();
        }
    }
    let r = s.apply_retention(crate::Retention {
        min_time: Some(150 * 15_000),
        max_bytes: None,
    });
    assert_eq!(r.series_emptied, 2);
    assert_eq!(s.labels(gone), None);
    let bytes = s.snapshot();
    let restored = Store::from_snapshot(&bytes).unwrap();
    assert_eq!(dump(&restored), dump(&s));
    assert_eq!(restored.num_series(), 18);
    assert_eq!(restored.labels(gone), None);
    assert_eq!(restored.labels(kept), s.labels(kept));
    // Writing again, the restored store keeps the old ids and hands out new ones after them.
    let mut restored = restored;
    let again = restored.series_id(&s.labels(kept).unwrap());
    assert_eq!(again, kept);
    let fresh = restored.series_id(&Labels::new([("__name__", "new")]));
    assert_eq!(fresh, SeriesId(20));
}

/// A full snapshot of one series `{i="1"}` at id 1 (id 0 skipped, as a removed series' is),
/// with one XOR chunk of one sample for series `chunk_for`.
fn snapshot_with_gap(chunk_for: u64) -> Vec<u8> {
    let mut out = Store::default().snapshot();
    out.truncate(HEADER_LEN);
    let mut symbols = Vec::new();
    put_uvarint(&mut symbols, 2);
    for s in ["i", "1"] {
        put_uvarint(&mut symbols, s.len() as u64);
        symbols.extend_from_slice(s.as_bytes());
    }
    let mut series = Vec::new();
    for x in [1, 1, 1, 0, 1] {
        put_uvarint(&mut series, x);
    }
    let chunk = crate::chunk::encode_xor(&[(1000, 1.0)])
        .unwrap()
        .into_bytes();
    let mut chunks = Vec::new();
    put_uvarint(&mut chunks, 1);
    put_uvarint(&mut chunks, chunk_for);
    chunks.push(Encoding::Xor as u8);
    put_uvarint(&mut chunks, chunk.len() as u64);
    chunks.extend_from_slice(&chunk);
    section(&mut out, TAG_SYMBOLS, &symbols);
    section(&mut out, TAG_SERIES, &series);
    section(&mut out, TAG_COLUMNS, &[0]);
    section(&mut out, TAG_CHUNKS, &chunks);
    section(&mut out, TAG_END, &[]);
    out
}

#[test]
fn ids_of_removed_series_stay_unused_and_hold_no_chunks() {
    let r = Store::from_snapshot(&snapshot_with_gap(1)).unwrap();
    assert_eq!(r.num_series(), 1);
    assert_eq!(r.labels(SeriesId(0)), None);
    assert_eq!(
        r.labels(SeriesId(1)).map(|l| l.to_string()),
        Some(r#"{i="1"}"#.to_string())
    );
    assert_eq!(all_samples(&r, SeriesId(1)), vec![(1000, 1.0)]);
    let e = Store::from_snapshot(&snapshot_with_gap(0)).unwrap_err();
    assert!(e.to_string().contains("chunk for unknown series 0"), "{e}");
}

fn all_samples(s: &Store, id: SeriesId) -> Vec<(i64, f64)> {
    s.samples(id, i64::MIN, i64::MAX).collect()
}

#[test]
fn restored_store_keeps_appending_into_its_head() {
    let s = sample_store();
    let mut r = Store::from_snapshot(&s.snapshot()).unwrap();
    let before = r.chunks(SeriesId(0), i64::MIN, i64::MAX).len();
    r.append(SeriesId(0), 10_000_000, 1.0).unwrap();
    assert_eq!(
        r.chunks(SeriesId(0), i64::MIN, i64::MAX).len(),
        before,
        "no extra chunk for one sample"
    );
}

#[test]
fn delta_brings_an_older_copy_up_to_date() {
    let mut s = sample_store();
    let base = s.snapshot();
    let mark = s.mark();
    for i in 0..20u32 {
        s.append(SeriesId(i), 5_000_000 + i64::from(i), 7.0)
            .unwrap();
    }
    let new = s.series_id(&Labels::new([("__name__", "late")]));
    s.append(new, 1, 1.0).unwrap();
    let delta = s.snapshot_since(mark);
    // Only the 20 open heads and the new series travel, not the sealed history.
    assert!(
        delta.len() * 2 < base.len(),
        "delta {} vs full {}",
        delta.len(),
        base.len()
    );

    let mut r = Store::from_snapshot(&base).unwrap();
    let info = r.apply_snapshot(&delta).unwrap();
    assert!(info.delta);
    assert_eq!(dump(&r), dump(&s));
    // Applying it twice changes nothing.
    r.apply_snapshot(&delta).unwrap();
    assert_eq!(dump(&r), dump(&s));
}

#[test]
fn every_truncation_and_bit_flip_is_an_error() {
    let mut s = Store::default();
    let id = s.series_id(&Labels::new([("a", "b")]));
    for k in 0..20 {
        s.append(id, k * 1000, k as f64).unwrap();
    }
    let bytes = s.snapshot();
    for cut in 0..bytes.len() {
        assert!(
            Store::from_snapshot(&bytes[..cut]).is_err(),
            "truncated at {cut}"
        );
    }
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            assert!(
                Store::from_snapshot(&b).is_err(),
                "flip at byte {i} bit {bit}"
            );
        }
    }
}

#[test]
fn errors_name_the_problem() {
    let s = sample_store();
    let mut bytes = s.snapshot();
    bytes[4] = 9;
    repair_checksums(&mut bytes);
    let e = Store::from_snapshot(&bytes).unwrap_err();
    assert_eq!(
        e.to_string(),
        "snapshot format version 9 is not supported (this build reads up to 3)"
    );

    let mut bytes = s.snapshot();
    let last = bytes.len() - 20;
    bytes[last] ^= 0x55;
    let e = Store::from_snapshot(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("chunks section") && e.contains("checksum"),
        "{e}"
    );
    assert!(
        Store::from_snapshot(b"not a snapshot at all, no no no")
            .unwrap_err()
            .to_string()
            .contains("bad magic")
    );
}

#[test]
fn lying_counts_are_refused_before_allocating() {
    let s = Store::default();
    let mut bytes = s.snapshot();
    // Symbols payload is a single varint 0 at HEADER_LEN + 9; claim 2^40 symbols instead.
    let at = HEADER_LEN + 9;
    let mut huge = Vec::new();
    put_uvarint(&mut huge, 1 << 40);
    bytes.splice(at..at + 1, huge.iter().copied());
    let len = (huge.len() as u32).to_le_bytes();
    bytes[HEADER_LEN + 1..HEADER_LEN + 5].copy_from_slice(&len);
    repair_checksums(&mut bytes);
    let e = Store::from_snapshot(&bytes).unwrap_err().to_string();
    assert!(e.contains("exceeds the limit"), "{e}");
    let tight = SnapshotLimits {
        max_bytes: 10,
        ..SnapshotLimits::default()
    };
    assert!(Store::from_snapshot_with_limits(&s.snapshot(), &tight).is_err());
}

/// Deterministic mutations of real snapshots, checksums repaired so the section decoders behind
/// them see the damage. The cargo-fuzz target (fuzz/) explores further; this keeps the decoder
/// exercised by `cargo test`.
#[test]
fn mutated_seed_corpus_never_panics() {
    let seeds = [sample_store().snapshot(), Store::default().snapshot(), {
        let mut s = sample_store();
        let m = s.mark();
        s.append(SeriesId(3), 9_000_000, 2.0).unwrap();
        s.snapshot_since(m)
    }];
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut decoded_ok = 0;
    for round in 0..3000 {
        let mut b = seeds[round % seeds.len()].clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() as usize) % b.len();
            match next() % 4 {
                0 => b[i] ^= 1 << (next() % 8),
                1 => b[i] = next() as u8,
                2 => b.truncate(i.max(1)),
                _ => {
                    let j = (next() as usize) % b.len();
                    b.insert(j, next() as u8);
                }
            }
        }
        repair_checksums(&mut b);
        let mut base = Store::from_snapshot(&seeds[0]).unwrap();
        if Store::from_snapshot(&b).is_ok() {
            decoded_ok += 1;
        }
        let _ = base.apply_snapshot(&b);
    }
    // Some mutations (e.g. a changed sample value) are still valid snapshots; most are not.
    assert!(decoded_ok < 3000);
}

/// A fleet scraped whole scrapes at a time: columnar chunks sharing timestamp columns, and an
/// open scrape group.
fn scraped_store(series: usize, scrapes: usize) -> Store {
    scraped_prefix(series, scrapes, scrapes)
}

/// The first `upto` of `scrapes` generated scrapes (the generator's values depend on both).
fn scraped_prefix(series: usize, scrapes: usize, upto: usize) -> Store {
    let fleet = crate::testdata::Fleet::new(series, 7);
    let data = fleet.samples(1_700_000_000_000, 15_000, scrapes);
    let mut s = Store::default();
    let ids: Vec<SeriesId> = fleet
        .series
        .iter()
        .map(|g| s.series_id(&g.labels))
        .collect();
    let targets = fleet.series.iter().map(|g| g.target).max().unwrap_or(0) + 1;
    for k in 0..upto {
        for t in 0..targets {
            let members: Vec<usize> = (0..ids.len())
                .filter(|&i| fleet.series[i].target == t)
                .collect();
            let batch: Vec<(SeriesId, f64)> =
                members.iter().map(|&i| (ids[i], data[i][k].1)).collect();
            s.append_scrape(data[members[0]][k].0, &batch);
        }
    }
    s
}

#[test]
fn shared_timestamp_columns_stay_shared_through_a_snapshot() {
    // 600 scrapes: two sealed chunks per series and an open group of 120 rows.
    let mut s = scraped_store(300, 600);
    let bytes = s.snapshot();
    let r = Store::from_snapshot(&bytes).unwrap();
    assert_eq!(dump(&r), dump(&s));
    // Sealed everything on both sides, the restored store holds exactly the original's bytes:
    // each timestamp column once, not once per series.
    let seq = s.mark() + 1;
    s.dissolve_groups(seq, None);
    let sealed = s.snapshot();
    let r = Store::from_snapshot(&sealed).unwrap();
    assert_eq!(dump(&r), dump(&s));
    let (orig, back) = (s.stats(), r.stats());
    assert_eq!(back.chunk_bytes, orig.chunk_bytes);
    assert_eq!(back.chunks, orig.chunks);
    // The snapshot is the chunk bytes plus labels and a few bytes of framing per chunk; with
    // a timestamp column per series it would be far larger.
    let unshared: usize = (0..s.id_bound())
        .flat_map(|i| s.chunks(SeriesId(i), i64::MIN, i64::MAX))
        .map(|c| c.bytes.len())
        .sum();
    assert!(
        sealed.len() < orig.chunk_bytes + orig.chunks * 8 + 300 * 80,
        "snapshot {} bytes for {} chunk bytes",
        sealed.len(),
        orig.chunk_bytes
    );
    assert!(
        unshared > orig.chunk_bytes * 5 / 4,
        "{unshared} vs {}",
        orig.chunk_bytes
    );
    // And a delta after more scrapes carries the new columns shared as well.
    let s = scraped_prefix(300, 700, 300);
    let mut copy = Store::from_snapshot(&s.snapshot()).unwrap();
    let mark = s.mark();
    let more = scraped_store(300, 700);
    let delta = more.snapshot_since(mark);
    assert!(copy.apply_snapshot(&delta).is_ok());
    let (a, b) = (dump(&copy), dump(&more));
    for (x, y) in a.iter().zip(&b) {
        let first_diff = x.1.iter().zip(&y.1).position(|(p, q)| p != q);
        assert_eq!((x.1.len(), first_diff), (y.1.len(), None), "{:?}", x.0);
    }
}

#[test]
fn version_2_snapshots_still_load() {
    // Version 2 had no columns section and wrote columnar chunks self-contained.
    let s = scraped_store(300, 250);
    let mut v2 = s.snapshot();
    v2.truncate(HEADER_LEN);
    v2[4..6].copy_from_slice(&2u16.to_le_bytes());
    let crc = crc32(&v2[..24]);
    v2[24..28].copy_from_slice(&crc.to_le_bytes());
    let full = s.snapshot();
    let mut r = Reader {
        b: &full,
        pos: HEADER_LEN,
        section: "test",
    };
    let mut sections = Vec::new();
    while r.pos < full.len() {
        let tag = r.u8().unwrap();
        let len = r.u32().unwrap() as usize;
        let _ = r.u32().unwrap();
        sections.push((tag, r.take(len).unwrap()));
    }
    let mut chunks = Vec::new();
    let mut count = 0u64;
    for i in 0..s.id_bound() {
        for c in s.chunks(SeriesId(i), i64::MIN, i64::MAX) {
            put_uvarint(&mut chunks, u64::from(i));
            chunks.push(c.encoding as u8);
            put_uvarint(&mut chunks, c.bytes.len() as u64);
            chunks.extend_from_slice(&c.bytes);
            count += 1;
        }
    }
    let mut payload = Vec::new();
    put_uvarint(&mut payload, count);
    payload.extend_from_slice(&chunks);
    for (tag, p) in &sections {
        match *tag {
            TAG_COLUMNS => {}
            TAG_CHUNKS => section(&mut v2, TAG_CHUNKS, &payload),
            t => section(&mut v2, t, p),
        }
    }
    let r = Store::from_snapshot(&v2).unwrap();
    assert_eq!(dump(&r), dump(&s));
}

#[test]
fn hostile_column_refs_are_refused() {
    let s = scraped_store(12, 250);
    let good = s.snapshot();
    assert!(Store::from_snapshot(&good).is_ok());
    // Every single-byte change in the columns section and the first entries of the chunks
    // section (column refs, sample counts, lengths), checksums repaired: an error or a valid
    // store, never a panic; out-of-range refs are named.
    let mut pos = HEADER_LEN;
    let mut ranges = Vec::new();
    while pos + 9 <= good.len() {
        let tag = good[pos];
        let len = u32::from_le_bytes([good[pos + 1], good[pos + 2], good[pos + 3], good[pos + 4]]);
        let start = pos + 9;
        pos = start + len as usize;
        match tag {
            TAG_COLUMNS => ranges.push(start..pos),
            TAG_CHUNKS => ranges.push(start..(start + 400).min(pos)),
            _ => {}
        }
    }
    assert_eq!(ranges.len(), 2);
    let mut named = 0;
    for i in ranges.into_iter().flatten() {
        let mut b = good.clone();
        b[i] = b[i].wrapping_add(1);
        repair_checksums(&mut b);
        if let Err(e) = Store::from_snapshot(&b)
            && e.to_string().contains("out of range")
        {
            named += 1;
        }
    }
    assert!(named > 0);
}
