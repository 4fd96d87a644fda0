//! Frames come out of sessions from peers that may be buggy: decoding must
//! never panic, and what decodes must re-encode to something that decodes
//! the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepair_protocol::Frame;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = Frame::decode(data) {
        assert_eq!(Frame::decode(&frame.encode()), Ok(frame));
    }
});
