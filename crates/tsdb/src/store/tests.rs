//! Store behaviour: ingest rules, backfill, whole chunks, selection semantics.

use proptest::prelude::*;

use super::*;
use crate::chunk::XorChunk;
use crate::{MatchOp, STALE_NAN_BITS};

fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
    Matcher::new(op, n, v).unwrap()
}

fn all(store: &Store, id: SeriesId) -> Vec<(i64, f64)> {
    store.samples(id, i64::MIN, i64::MAX).collect()
}

#[test]
fn ingest_rules_match_prometheus() {
    let mut s = Store::default();
    let id = s.series_id(&Labels::new([("__name__", "up")]));
    assert_eq!(s.append(id, 1000, 1.0), Ok(Appended::Stored));
    assert_eq!(s.append(id, 2000, 1.0), Ok(Appended::Stored));
    assert_eq!(s.append(id, 2000, 1.0), Ok(Appended::Duplicate));
    assert_eq!(
        s.append(id, 2000, 2.0),
        Err(AppendError::DuplicateTimestamp)
    );
    assert_eq!(
        s.append(id, 1500, 2.0),
        Err(AppendError::OutOfOrder { newest: 2000 })
    );
    assert_eq!(
        s.append(SeriesId(9), 1, 1.0),
        Err(AppendError::UnknownSeries(SeriesId(9)))
    );
    assert_eq!(
        s.rejections(),
        Rejections {
            out_of_order: 1,
            duplicate_timestamp: 1,
            unknown_series: 1
        }
    );
    assert_eq!(all(&s, id), vec![(1000, 1.0), (2000, 1.0)]);
}

#[test]
fn history_arriving_later_is_merged_in_order() {
    let mut s = Store::new(StoreConfig {
        samples_per_chunk: 4,
    });
    let id = s.series_id(&Labels::new([("__name__", "x")]));
    for t in 100..110 {
        s.append(id, t * 10, t as f64).unwrap();
    }
    // Backfill an older range, oldest first, into the hole before the data.
    for t in 50..60 {
        assert_eq!(
            s.append(id, t * 10, t as f64),
            Ok(Appended::Stored),
            "t={t}"
        );
    }
    let got: Vec<i64> = all(&s, id).iter().map(|p| p.0).collect();
    let want: Vec<i64> = (50..60).chain(100..110).map(|t| t * 10).collect();
    assert_eq!(got, want);
    // Inside stored data it is out of order again; replays of stored samples are no-ops.
    assert!(matches!(
        s.append(id, 555, 1.0),
        Err(AppendError::OutOfOrder { .. })
    ));
    assert_eq!(s.append(id, 550, 55.0), Ok(Appended::Duplicate));
    assert_eq!(s.time_range(id), Some((500, 1090)));
}

#[test]
fn range_queries_cross_chunks_and_keep_exact_values() {
    let mut s = Store::new(StoreConfig {
        samples_per_chunk: 7,
    });
    let id = s.series_id(&Labels::new([("__name__", "x")]));
    let vals = [
        f64::from_bits(STALE_NAN_BITS),
        -0.0,
        f64::INFINITY,
        3.0,
        1e-300,
    ];
    for t in 0..100i64 {
        s.append(id, t * 15_000 - 500_000, vals[t as usize % vals.len()])
            .unwrap();
    }
    let got: Vec<(i64, u64)> = s
        .samples(id, -200_000, 100_000)
        .map(|(t, v)| (t, v.to_bits()))
        .collect();
    let want: Vec<(i64, u64)> = (0..100i64)
        .map(|t| {
            (
                t * 15_000 - 500_000,
                vals[t as usize % vals.len()].to_bits(),
            )
        })
        .filter(|&(t, _)| (-200_000..=100_000).contains(&t))
        .collect();
    assert_eq!(got, want);
    assert_eq!(s.samples(id, 10_000_000, 20_000_000).count(), 0);
}

#[test]
fn counters_are_sealed_as_integer_chunks() {
    let mut s = Store::new(StoreConfig {
        samples_per_chunk: 120,
    });
    let id = s.series_id(&Labels::new([("__name__", "requests_total")]));
    for i in 0..240i64 {
        s.append(id, i * 15_000, (i * 3) as f64).unwrap();
    }
    let chunks = s.chunks(id, i64::MIN, i64::MAX);
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0].encoding, Encoding::Int);
    assert_eq!(chunks[1].encoding, Encoding::Xor, "the open head stays XOR");
    assert_eq!(all(&s, id).len(), 240);
}

#[test]
fn prometheus_chunks_are_stored_and_shipped_unchanged() {
    let mut src = XorChunk::new();
    for i in 0..120i64 {
        src.append(i * 15_000, i as f64 * 0.5).unwrap();
    }
    let mut s = Store::default();
    let id = s.series_id(&Labels::new([("__name__", "x")]));
    s.append(id, 10_000_000, 1.0).unwrap();
    assert_eq!(s.append_chunk(id, Encoding::Xor, src.bytes()), Ok(120));
    let chunks = s.chunks(id, 0, 1_000_000);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].bytes, src.bytes());
    assert_eq!(all(&s, id).len(), 121);
    // The same range again overlaps; broken bytes are named.
    let err = s.append_chunk(id, Encoding::Xor, src.bytes()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ChunkOverlap { .. }),
        "{err}"
    );
    let err = s
        .append_chunk(id, Encoding::Xor, &src.bytes()[..40])
        .unwrap_err();
    assert!(err.to_string().contains("corrupt XOR chunk"), "{err}");
}

#[test]
fn batch_append_counts_reasons() {
    let mut s = Store::default();
    let a = s.series_id(&Labels::new([("__name__", "a")]));
    let r = s
        .append_batch(
            &[a, a, a, SeriesId(7)],
            &[10, 20, 15, 1],
            &[1.0, 2.0, 3.0, 4.0],
        )
        .unwrap();
    assert_eq!(
        r,
        BatchReport {
            stored: 2,
            out_of_order: 1,
            unknown_series: 1,
            ..Default::default()
        }
    );
    assert!(s.append_batch(&[a], &[1, 2], &[1.0]).is_err());
}

fn fleet() -> (Store, Vec<Labels>) {
    let mut s = Store::default();
    let mut ls = Vec::new();
    for i in 0..60 {
        let code = ["200", "404", "500", "503"][i % 4];
        let mut pairs = vec![
            ("__name__", "http_requests_total".to_string()),
            ("code", code.to_string()),
            ("pod", i.to_string()),
        ];
        if i % 3 != 0 {
            pairs.push(("instance", format!("api-{}", i % 7)));
        }
        if i % 5 == 0 {
            pairs.push(("env", String::new()));
        }
        let l = Labels::new(pairs.iter().map(|(n, v)| (*n, v.as_str())));
        s.series_id(&l);
        ls.push(l);
    }
    let up = Labels::new([("__name__", "up"), ("instance", "api-1")]);
    s.series_id(&up);
    ls.push(up);
    (s, ls)
}

#[test]
fn matchers_follow_prometheus_semantics() {
    let (s, ls) = fleet();
    let brute = |ms: &[Matcher]| -> Vec<SeriesId> {
        (0..ls.len() as u32)
            .filter(|&i| {
                ms.iter()
                    .all(|m| m.matches(ls[i as usize].get(m.name()).unwrap_or("")))
            })
            .map(SeriesId)
            .collect()
    };
    let cases = vec![
        vec![
            m(MatchOp::Equal, "__name__", "http_requests_total"),
            m(MatchOp::RegexMatch, "code", "5.."),
        ],
        vec![m(MatchOp::RegexMatch, "code", "200|404")],
        vec![m(MatchOp::RegexNoMatch, "code", "200|404")],
        vec![m(MatchOp::Equal, "instance", "")],
        vec![m(MatchOp::NotEqual, "instance", "")],
        vec![m(MatchOp::NotEqual, "instance", "api-1")],
        vec![m(MatchOp::RegexMatch, "instance", "api-.*")],
        vec![m(MatchOp::RegexMatch, "instance", "api-1|")],
        vec![
            m(MatchOp::RegexMatch, "instance", "|api-1"),
            m(MatchOp::Equal, "code", "500"),
        ],
        vec![m(MatchOp::RegexMatch, "instance", ".*")],
        vec![
            m(MatchOp::RegexMatch, "instance", ".+"),
            m(MatchOp::RegexNoMatch, "__name__", "up"),
        ],
        vec![m(MatchOp::Equal, "nope", "x")],
        vec![m(MatchOp::RegexNoMatch, "nope", "x")],
    ];
    for ms in cases {
        assert_eq!(s.select(&ms), brute(&ms), "{ms:?}");
    }
    // A matcher that matches "" selects series lacking the label.
    let without = s.select(&[m(MatchOp::Equal, "instance", "")]);
    assert_eq!(without.len(), 20);
}

#[test]
fn label_names_and_values_for_autocomplete() {
    let (mut s, _) = fleet();
    assert_eq!(s.label_names(), vec!["__name__", "code", "instance", "pod"]);
    assert_eq!(
        s.label_values("code", &[], i64::MIN, i64::MAX),
        vec!["200", "404", "500", "503"]
    );
    let up = s
        .lookup(&Labels::new([("__name__", "up"), ("instance", "api-1")]))
        .unwrap();
    s.append(up, 5_000, 1.0).unwrap();
    let name = [m(MatchOp::RegexMatch, "__name__", ".+")];
    assert_eq!(s.label_values("instance", &name, 0, 10_000), vec!["api-1"]);
    assert!(s.label_values("instance", &name, 6_000, 10_000).is_empty());
}

proptest! {
    #[test]
    fn store_returns_what_was_appended(
        steps in prop::collection::vec((1i64..40_000, any::<u64>(), any::<bool>()), 1..600),
        per_chunk in 2u16..300,
    ) {
        let mut s = Store::new(StoreConfig { samples_per_chunk: per_chunk });
        let id = s.series_id(&Labels::new([("a", "b")]));
        let mut t = -1_000_000i64;
        let mut want = Vec::new();
        for (d, bits, int) in steps {
            t += d;
            let v = if int { (bits % 1000) as f64 } else { f64::from_bits(bits) };
            prop_assert_eq!(s.append(id, t, v), Ok(Appended::Stored));
            want.push((t, v.to_bits()));
        }
        let got: Vec<_> = s.samples(id, i64::MIN, i64::MAX).map(|(t, v)| (t, v.to_bits())).collect();
        prop_assert_eq!(got, want);
    }
}

fn scrape_fixture() -> (Store, Vec<SeriesId>) {
    let mut s = Store::default();
    let ids = (0..5)
        .map(|i| s.series_id(&Labels::new([("__name__", "m"), ("i", &i.to_string())])))
        .collect();
    (s, ids)
}

#[test]
fn whole_scrapes_share_a_timestamp_column_and_read_back() {
    let (mut s, ids) = scrape_fixture();
    let mut want: Vec<Vec<(i64, f64)>> = vec![Vec::new(); ids.len()];
    for k in 0..700i64 {
        let t = k * 15_000 + if k % 7 == 0 { 13 } else { 0 };
        let batch: Vec<(SeriesId, f64)> = ids
            .iter()
            .enumerate()
            .map(|(j, &id)| {
                (
                    id,
                    if j == 4 {
                        (k as f64).sqrt()
                    } else {
                        (k * j as i64) as f64
                    },
                )
            })
            .collect();
        for (j, &(_, v)) in batch.iter().enumerate() {
            want[j].push((t, v));
        }
        let r = s.append_scrape(t, &batch);
        assert_eq!(r.stored, ids.len());
    }
    for (j, &id) in ids.iter().enumerate() {
        assert_eq!(all(&s, id), want[j]);
        assert_eq!(s.samples(id, 15_000 * 300, 15_000 * 302).count(), 3);
        let from_chunks: Vec<_> = s
            .chunks(id, i64::MIN, i64::MAX)
            .iter()
            .flat_map(|c| c.iter().unwrap().samples().collect::<Vec<_>>())
            .collect();
        assert_eq!(from_chunks, want[j]);
    }
    // Sealed chunks of one scrape share one timestamp column.
    let cols: std::collections::HashSet<*const u8> = ids
        .iter()
        .map(|id| {
            s.series[id.0 as usize].chunks[0]
                .ts
                .as_ref()
                .unwrap()
                .as_ptr()
        })
        .collect();
    assert_eq!(cols.len(), 1);
    assert_eq!(s.stats().samples, 700 * ids.len());
    // A snapshot carries sealed and open columnar chunks.
    let back = Store::from_snapshot(&s.snapshot()).unwrap();
    for (j, &id) in ids.iter().enumerate() {
        assert_eq!(all(&back, id), want[j]);
    }
}

#[test]
fn scrapes_follow_the_ingest_rules_and_regroup_on_change() {
    let (mut s, ids) = scrape_fixture();
    let batch = |_t: i64, v: f64, ids: &[SeriesId]| -> Vec<(SeriesId, f64)> {
        ids.iter().map(|&id| (id, v)).collect()
    };
    assert_eq!(s.append_scrape(1000, &batch(1000, 1.0, &ids)).stored, 5);
    assert_eq!(s.append_scrape(2000, &batch(2000, 2.0, &ids)).stored, 5);
    // The same scrape again is a no-op; a conflicting value at the same time is refused.
    assert_eq!(s.append_scrape(2000, &batch(2000, 2.0, &ids)).duplicates, 5);
    let r = s.append_scrape(2000, &batch(2000, 3.0, &ids));
    assert_eq!(r.duplicate_timestamp, 5);
    assert_eq!(
        s.append_scrape(1500, &batch(1500, 3.0, &ids)).out_of_order,
        5
    );
    // A series leaves, one is repeated, an unknown one appears.
    let mut b = batch(3000, 3.0, &ids[..4]);
    b.push((ids[0], 3.0));
    b.push((ids[1], 9.0));
    b.push((SeriesId(99), 1.0));
    let r = s.append_scrape(3000, &b);
    assert_eq!(r.stored, 4);
    assert_eq!(
        (r.duplicates, r.duplicate_timestamp, r.unknown_series),
        (1, 1, 1)
    );
    let mut b4 = b.clone();
    b4.iter_mut().for_each(|x| x.1 = 4.0);
    let r = s.append_scrape(4000, &b4);
    assert_eq!((r.stored, r.duplicates, r.duplicate_timestamp), (4, 2, 0));
    // A single append to a member still works and keeps order.
    assert_eq!(s.append(ids[2], 5000, 5.0), Ok(Appended::Stored));
    assert_eq!(s.append(ids[2], 4000, 4.0), Ok(Appended::Duplicate));
    assert_eq!(s.append(ids[4], 5000, 5.0), Ok(Appended::Stored));
    assert_eq!(
        all(&s, ids[2]),
        vec![
            (1000, 1.0),
            (2000, 2.0),
            (3000, 3.0),
            (4000, 4.0),
            (5000, 5.0)
        ]
    );
    assert_eq!(all(&s, ids[4]), vec![(1000, 1.0), (2000, 2.0), (5000, 5.0)]);
    assert_eq!(s.time_range(ids[0]), Some((1000, 4000)));
}

#[test]
fn retention_seals_and_drops_scrape_groups() {
    let (mut s, ids) = scrape_fixture();
    for k in 0..600i64 {
        let b: Vec<_> = ids.iter().map(|&id| (id, k as f64)).collect();
        s.append_scrape(k * 1000, &b);
    }
    let r = s.apply_retention(crate::Retention {
        min_time: Some(500_000),
        ..Default::default()
    });
    assert_eq!(r.chunks, 2 * ids.len());
    assert_eq!(all(&s, ids[0]).first(), Some(&(480_000, 480.0)));
    let before = s.stats().total_bytes();
    let labels: Vec<Labels> = ids.iter().map(|&id| s.labels(id).unwrap()).collect();
    let r = s.apply_retention(crate::Retention {
        max_bytes: Some(before / 2),
        ..Default::default()
    });
    assert!(s.stats().total_bytes() <= before / 2 + 1024);
    // Each series had one chunk left, and the budget took it: the series are removed, their
    // ids refused; the same labels get new ids and scrapes continue on them.
    assert_eq!(r.series_emptied, 5);
    assert_eq!(s.num_series(), 0);
    let b: Vec<_> = ids.iter().map(|&id| (id, 1.0)).collect();
    assert_eq!(s.append_scrape(10_000_000, &b).unknown_series, 5);
    let b: Vec<_> = labels.iter().map(|l| (s.series_id(l), 1.0)).collect();
    assert!(b.iter().all(|(id, _)| !ids.contains(id)));
    assert_eq!(s.append_scrape(10_000_000, &b).stored, 5);
}
