//! Fuzz target: any input must parse or fail cleanly, and what parses must print and re-parse
//! to the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(expr) = lookout_promql::parse(text) {
        let printed = expr.to_string();
        let again = lookout_promql::parse(&printed).expect("printed query must parse");
        assert_eq!(again.to_string(), printed);
    }
});
