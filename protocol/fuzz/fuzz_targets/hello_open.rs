//! HELLOs and commitments arrive from anyone on the pairing topic: opening
//! must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepair_protocol::pairing_commit::Commitment;
use nodepair_protocol::{Hello, PairingCode, PairingKeys};
use std::sync::OnceLock;

fn keys() -> &'static PairingKeys {
    static KEYS: OnceLock<PairingKeys> = OnceLock::new();
    KEYS.get_or_init(|| PairingKeys::derive(&PairingCode::from_u64(0x0123_4567_89ab_cdef)))
}

fuzz_target!(|data: &[u8]| {
    let _ = Hello::open(data, keys());
    let _ = Commitment::open(data, keys());
});
