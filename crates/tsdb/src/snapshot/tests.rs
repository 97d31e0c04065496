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
        "snapshot format version 9 is not supported (this build reads up to 2)"
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
