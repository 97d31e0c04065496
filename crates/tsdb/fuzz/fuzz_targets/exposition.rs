//! Fuzz target: the exposition parser (text format and OpenMetrics) never panics on any body,
//! stops at its first error, and reports a line that exists.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_tsdb::exposition::Parser;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let lines = body.split('\n').count();
    for parser in [Parser::new(body), Parser::openmetrics(body)] {
        let mut errors = 0;
        for entry in parser {
            if let Err(e) = entry {
                errors += 1;
                assert!(e.line >= 1 && e.line <= lines);
            }
        }
        assert!(errors <= 1);
    }
});
