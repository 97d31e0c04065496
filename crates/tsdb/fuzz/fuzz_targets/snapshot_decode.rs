//! Fuzz target: the snapshot decoder must return an error, never panic or over-allocate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_tsdb::Store;
use lookout_tsdb::snapshot::{SnapshotLimits, repair_checksums};

fuzz_target!(|data: &[u8]| {
    // Small limits so a lying count that slipped past the checks would show as an OOM here.
    let limits = SnapshotLimits {
        max_bytes: 1 << 20,
        ..SnapshotLimits::default()
    };
    let _ = Store::from_snapshot_with_limits(data, &limits);
    // Random bytes rarely pass the CRCs; repairing them lets the fuzzer reach the section decoders.
    let mut fixed = data.to_vec();
    repair_checksums(&mut fixed);
    if let Ok(store) = Store::from_snapshot_with_limits(&fixed, &limits) {
        // Whatever decodes must re-encode and decode to the same store.
        let again = store.snapshot();
        let back = Store::from_snapshot(&again).expect("re-encoded snapshot decodes");
        assert_eq!(back.snapshot(), again);
    }
});
