//! Every TXT record of an ENR tree is read before its hash or signature is
//! checked: no entry text may panic the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepair_waku::discovery::enr_tree::{Entry, Link, Root};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Entry::parse(text);
        let _ = Root::parse(text);
        let _ = Link::parse(text);
    }
});
