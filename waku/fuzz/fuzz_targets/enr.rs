//! Node records come from discv5, DNS trees and peer exchange, all written
//! by strangers: as text or as RLP bytes, no record may panic the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepair_waku::enr::{self, WakuEnr};

fuzz_target!(|data: &[u8]| {
    let _ = enr::from_rlp(data);
    let _ = enr::decode_multiaddrs(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = WakuEnr::parse(text);
    }
});
