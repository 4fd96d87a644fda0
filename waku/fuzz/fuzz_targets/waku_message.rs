//! Every relayed message and filter push starts as bytes from a peer:
//! decoding must never panic, what passes the checks must hash, and must
//! re-encode to bytes that decode to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepair_waku::WakuMessage;
use prost::Message as _;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = WakuMessage::decode_checked(data) {
        let _ = message.hash("/waku/2/rs/42/0");
        let again = WakuMessage::decode_checked(&message.encode_to_vec());
        assert_eq!(again.ok().as_ref(), Some(&message));
    }
});
