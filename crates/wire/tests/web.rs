//! The wire codec in a real browser: the page decodes what the relay encodes, bit for bit.
#![cfg(target_arch = "wasm32")]

use lookout_tsdb::{Labels, STALE_NAN_BITS};
use lookout_wire::{
    BlockDecoder, BlockEncoder, Frame, MetricMetadata, MetricType, Reply, SampleBatch, SeriesDef,
};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn frames_round_trip_in_the_browser() {
    let mut batch = SampleBatch::default();
    for (i, v) in [
        1.0,
        -0.0,
        f64::NAN,
        f64::from_bits(STALE_NAN_BITS),
        1e300,
        -7.0,
    ]
    .into_iter()
    .enumerate()
    {
        batch.push(i as u32, 1_700_000_000_000 + i as i64 * 15_000, v);
    }
    let frames = [
        Frame::Series {
            sub: 1,
            defs: vec![SeriesDef {
                series: 0,
                labels: Labels::new([("__name__", "up"), ("job", "é\"x")]),
            }],
            metadata: vec![MetricMetadata {
                metric: "up".into(),
                kind: MetricType::Gauge,
                help: "1 if the last scrape worked.".into(),
                unit: String::new(),
            }],
        },
        Frame::Reply {
            id: 3,
            reply: Reply::LabelValues(vec!["api".into(), "ü".into()]),
        },
        Frame::Samples {
            sub: 1,
            seq: 7,
            prev: 6,
            block: BlockEncoder::default().encode(&batch),
        },
    ];
    for f in &frames {
        let bytes = f.encode();
        assert_eq!(Frame::decode(&bytes).map(|f| f.encode()), Ok(bytes));
    }
    let Frame::Samples { block, .. } = &frames[2] else {
        unreachable!()
    };
    let back = BlockDecoder::default()
        .decode(block)
        .expect("block decodes");
    let bits = |b: &SampleBatch| b.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        (&back.series, &back.timestamps),
        (&batch.series, &batch.timestamps)
    );
    assert_eq!(bits(&back), bits(&batch));
}

#[wasm_bindgen_test]
fn hostile_bytes_are_errors_in_the_browser() {
    for bytes in [
        &b""[..],
        b"LK",
        b"LK\x03\x15\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
        b"XX\x01\x01",
    ] {
        assert!(Frame::decode(bytes).is_err());
    }
}
