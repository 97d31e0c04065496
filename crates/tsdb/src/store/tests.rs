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
