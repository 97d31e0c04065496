//! Fuzz target: chunk validation and iteration over untrusted bytes never panic, and whatever
//! validates can be stored and read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_tsdb::chunk::{Encoding, validate};
use lookout_tsdb::{Labels, Store};

fuzz_target!(|data: &[u8]| {
    let Some((&enc, bytes)) = data.split_first() else {
        return;
    };
    let Ok(enc) = Encoding::from_u8(enc) else {
        return;
    };
    if let Ok(meta) = validate(enc, bytes) {
        let mut store = Store::default();
        let id = store.series_id(&Labels::new([("a", "b")]));
        assert_eq!(
            store.append_chunk(id, enc, bytes).ok(),
            Some(meta.num_samples)
        );
        assert_eq!(
            store.samples(id, i64::MIN, i64::MAX).count(),
            meta.num_samples
        );
    }
});
