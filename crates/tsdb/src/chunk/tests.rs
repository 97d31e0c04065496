//! Chunk encodings: Prometheus byte vectors, exact round trips, hostile bytes.

use proptest::prelude::*;

use super::*;
use crate::STALE_NAN_BITS;

fn xor_of(samples: &[(i64, f64)]) -> Vec<u8> {
    encode_xor(samples).expect("fits").into_bytes()
}

fn decode(enc: Encoding, bytes: &[u8]) -> Vec<(i64, u64)> {
    let mut it = ChunkIter::new(enc, bytes).expect("header");
    let mut out = Vec::new();
    while it.next() {
        let (t, v) = it.at();
        out.push((t, v.to_bits()));
    }
    assert!(it.err().is_none(), "{:?}", it.err());
    out
}

/// Whole-chunk decoding (`read_all`, the store's path) agrees with `next`/`at` sample for
/// sample, also after some samples were taken one at a time; damaged bytes are errors.
fn check_read_all(enc: Encoding, bytes: &[u8], want: &[(i64, u64)]) {
    for skip in [0, 1, 2, 3] {
        let mut it = ChunkIter::new(enc, bytes).expect("header");
        let (mut ts, mut vs) = (Vec::new(), Vec::new());
        for _ in 0..skip {
            if it.next() {
                ts.push(it.at().0);
                vs.push(it.at().1);
            }
        }
        it.read_all(&mut ts, &mut vs).expect("decodes");
        let got: Vec<_> = ts.iter().zip(&vs).map(|(&t, v)| (t, v.to_bits())).collect();
        assert_eq!(got, want, "{} after {skip}", enc.name());
    }
    for cut in 2..bytes.len().saturating_sub(1) {
        if let Ok(mut it) = ChunkIter::new(enc, &bytes[..cut]) {
            let (mut ts, mut vs) = (Vec::new(), Vec::new());
            let all = it.read_all(&mut ts, &mut vs);
            assert!(
                all.is_err() || validate(enc, &bytes[..cut]).is_ok(),
                "cut at {cut}"
            );
        }
    }
}

// Derived by hand from Prometheus `xor.go`/`bstream.go`: sample 0 as varint + 64 bits (and the
// empty byte `writeByte` leaves), sample 1 as uvarint delta + an unchanged value (one 0 bit),
// sample 2 as dod 0 + a new window (leading 1, 11 significant bits), sample 3 as dod +1 in the
// 14-bit bucket + unchanged value.
const GO_VECTOR: [u8; 20] = [
    0x00, 0x04, 0xD0, 0x0F, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0xE8, 0x07, 0x30, 0x97, 0xFF, 0xE0, 0x00,
    0x40,
];

#[test]
fn xor_matches_prometheus_bytes() {
    let s = [(1000, 1.0), (2000, 1.0), (3000, 2.0), (4001, 2.0)];
    assert_eq!(xor_of(&s), GO_VECTOR);
    let got = decode(Encoding::Xor, &GO_VECTOR);
    assert_eq!(
        got,
        s.iter()
            .map(|&(t, v)| (t, f64::to_bits(v)))
            .collect::<Vec<_>>()
    );
}

#[test]
fn xor_single_sample_keeps_go_trailing_byte() {
    // 2 header + 2 varint + 8 value + the empty byte Go's writeByte appends.
    assert_eq!(xor_of(&[(1000, 1.0)]).len(), 13);
}

#[test]
fn xor_negative_time_and_64_significant_bits() {
    // Leading = trailing = 0 is written as width 0 and read back as 64.
    let s = [(-1, 0.0), (5, f64::from_bits(0x8000_0000_0000_0001))];
    let want = [
        0, 2, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x06, 0xC0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0x08,
    ];
    assert_eq!(xor_of(&s), want);
    assert_eq!(decode(Encoding::Xor, &want)[1], (5, 0x8000_0000_0000_0001));
}

#[test]
fn every_special_value_round_trips_bit_for_bit() {
    let specials = [
        f64::from_bits(STALE_NAN_BITS),
        f64::NAN,
        f64::from_bits(0x7ff8_dead_beef_0001),
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        f64::MIN_POSITIVE,
        f64::MAX,
        5e-324,
    ];
    let s: Vec<_> = specials
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as i64 * 15_000 - 1_000_000, v))
        .collect();
    let got = decode(Encoding::Xor, &xor_of(&s));
    assert_eq!(
        got,
        s.iter().map(|&(t, v)| (t, v.to_bits())).collect::<Vec<_>>()
    );
    assert!(
        encode_int(&s).is_none(),
        "NaN and -0.0 must not go to the integer chunk"
    );
}

#[test]
fn integer_chunk_wins_on_counters_and_xor_keeps_fractions() {
    let counter: Vec<_> = (0..240)
        .map(|i| (i * 15_000, 1_000_000.0 + (i * 7 + i % 3) as f64))
        .collect();
    let xor = encode_xor(&counter).unwrap();
    let (enc, bytes) = choose(xor.clone());
    assert_eq!(enc, Encoding::Int);
    assert!(
        bytes.len() * 2 < xor.bytes().len(),
        "int {} vs xor {}",
        bytes.len(),
        xor.bytes().len()
    );
    assert_eq!(
        decode(Encoding::Int, &bytes),
        decode(Encoding::Xor, xor.bytes())
    );

    let gauge: Vec<_> = (0..240)
        .map(|i| (i * 15_000, 0.5 + i as f64 / 3.0))
        .collect();
    assert_eq!(choose(encode_xor(&gauge).unwrap()).0, Encoding::Xor);
}

#[test]
fn seek_finds_first_sample_at_or_after() {
    let s: Vec<_> = (0..10).map(|i| (i * 10, i as f64)).collect();
    let c = encode_xor(&s).unwrap();
    let mut it = c.iter();
    assert!(it.seek(35));
    assert_eq!(it.at(), (40, 4.0));
    assert!(it.seek(20), "seeking backwards stays put");
    assert_eq!(it.at(), (40, 4.0));
    assert!(!it.seek(1000));
}

#[test]
fn truncated_and_garbage_chunks_are_errors_not_panics() {
    for cut in 0..GO_VECTOR.len() - 1 {
        // Cutting only the last byte may still leave every bit of sample 3 present.
        let r = validate(Encoding::Xor, &GO_VECTOR[..cut]);
        assert!(r.is_err(), "cut at {cut} accepted");
    }
    // A window of 31 leading zeros and 63 significant bits cannot exist.
    let bad = [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
    assert!(validate(Encoding::Xor, &bad).is_err());
    assert!(validate(Encoding::Int, &[0xFF, 0xFF, 0xFF]).is_err());
}

#[test]
fn chunk_from_prometheus_bytes_continues_identically() {
    let s: Vec<_> = (0..50)
        .map(|i| (i * 15_000 + (i % 4), (i * i) as f64 * 0.25))
        .collect();
    let full = xor_of(&s);
    let half = xor_of(&s[..20]);
    let mut resumed = XorChunk::from_bytes(&half).unwrap();
    assert_eq!(
        resumed.bytes(),
        &half[..],
        "unchanged bytes ship as they came"
    );
    for &(t, v) in &s[20..] {
        resumed.append(t, v).unwrap();
    }
    assert_eq!(resumed.bytes(), &full[..]);
}

fn sample_strategy() -> impl Strategy<Value = Vec<(i64, f64)>> {
    let value = prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        (-1000i64..1000).prop_map(|i| i as f64),
        Just(f64::from_bits(STALE_NAN_BITS)),
        Just(-0.0),
    ];
    (
        any::<i64>(),
        prop::collection::vec((1i64..2_000_000, value), 0..300),
    )
        .prop_map(|(start, steps)| {
            let mut t = start / 2;
            steps
                .into_iter()
                .map(|(d, v)| {
                    t = t.wrapping_add(d);
                    (t, v)
                })
                .collect()
        })
}

proptest! {
    #[test]
    fn xor_round_trips_any_samples(s in sample_strategy()) {
        let bytes = xor_of(&s);
        let want: Vec<_> = s.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        prop_assert_eq!(decode(Encoding::Xor, &bytes), want.clone());
        check_read_all(Encoding::Xor, &bytes, &want);
    }

    #[test]
    fn int_round_trips_integral_samples(s in sample_strategy()) {
        if let Some(c) = encode_int(&s) {
            let want: Vec<_> = s.iter().map(|&(t, v)| (t, v.to_bits())).collect();
            prop_assert_eq!(decode(Encoding::Int, c.bytes()), want.clone());
            check_read_all(Encoding::Int, c.bytes(), &want);
        }
    }

    #[test]
    fn col_round_trips_any_samples(s in sample_strategy()) {
        let bytes = col::encode(&s).unwrap();
        let want: Vec<_> = s.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        prop_assert_eq!(decode(Encoding::Col, &bytes), want);
        let meta = validate(Encoding::Col, &bytes).unwrap();
        prop_assert_eq!(meta.num_samples, s.len());
    }

    #[test]
    fn col_round_trips_decimal_and_counter_like_values(
        start in any::<i32>(),
        steps in prop::collection::vec((0i64..100_000, 0u8..4, any::<bool>()), 1..400),
        scale in 0usize..9,
    ) {
        // Short decimals, big integers, steady and random steps, jittered timestamps.
        let mut x = i64::from(start);
        let mut t = 1_700_000_000_000i64;
        let s: Vec<(i64, f64)> = steps
            .iter()
            .map(|&(d, kind, late)| {
                x = match kind { 0 => x + d, 1 => x - d / 3, 2 => x, _ => x + 7 };
                t += 15_000 + if late { d % 400 } else { 0 };
                (t, x as f64 / 10f64.powi(scale as i32))
            })
            .collect();
        let bytes = col::encode(&s).unwrap();
        let want: Vec<_> = s.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        prop_assert_eq!(decode(Encoding::Col, &bytes), want);
    }

    #[test]
    fn decoders_never_panic_on_random_bytes(b in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = validate(Encoding::Xor, &b);
        let _ = validate(Encoding::Int, &b);
        let _ = validate(Encoding::Col, &b);
        let _ = XorChunk::from_bytes(&b).map(|mut c| c.append(i64::MAX, 1.0));
    }
}

#[test]
fn col_beats_xor_on_counters_and_costs_little_on_full_precision_floats() {
    let mut rng = crate::testdata::Rng::new(3);
    let mut v = 1000.0;
    let counter: Vec<(i64, f64)> = (0..240)
        .map(|i| {
            v += rng.poisson(10.0) as f64;
            (i * 15_000, v)
        })
        .collect();
    let ratio: Vec<(i64, f64)> = (0..240).map(|i| (i * 15_000, rng.f64())).collect();
    let col_counter = col::encode(&counter).unwrap().len();
    let xor_counter = xor_of(&counter).len();
    assert!(
        col_counter * 2 < xor_counter,
        "{col_counter} vs {xor_counter}"
    );
    let col_ratio = col::encode(&ratio).unwrap().len();
    let xor_ratio = xor_of(&ratio).len();
    assert!(col_ratio <= xor_ratio + 8, "{col_ratio} vs {xor_ratio}");
}

#[test]
fn col_rejects_truncated_and_inconsistent_bytes() {
    let s: Vec<(i64, f64)> = (0..100).map(|i| (i * 1000, (i * i) as f64 * 0.5)).collect();
    let bytes = col::encode(&s).unwrap();
    for cut in 0..bytes.len() {
        assert!(
            validate(Encoding::Col, &bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut more = bytes.clone();
    more[1] += 1; // one sample more than the columns hold
    assert!(validate(Encoding::Col, &more).is_err());
}
