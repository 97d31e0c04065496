//! Fuzzes what a page does with bytes from a relay (and the relay with bytes from a page):
//! `Frame::decode`, then the session (block decoding against state, history chunks). Hostile bytes
//! must give errors, never a panic or an allocation the input does not justify; whatever decodes
//! must encode back to something that decodes to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_wire::{Frame, Request, Session};

fuzz_target!(|data: &[u8]| {
    // Several frames in one input, split on a length byte, so the session sees sequences
    // (a block decoded against the state earlier blocks left).
    let mut session = Session::default();
    session.subscribe(Vec::new(), 0);
    // Pending requests, so replies (ids 1 and 2) reach the session's reply matching.
    session.request(Request::Targets);
    session.request(Request::Metadata { metric: None });
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (one, next) = tail.split_at(n);
        rest = next;
        if let Ok(frame) = Frame::decode(one) {
            let again = Frame::decode(&frame.encode()).expect("an encoded frame decodes");
            assert_eq!(again.encode(), frame.encode());
            let _ = session.apply(frame);
        }
    }
    let _ = Frame::decode(data);
});
