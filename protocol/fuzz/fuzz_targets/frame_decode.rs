//! Frames come out of sessions from peers that may be buggy: decoding must
//! never panic, must give what prost alone gives (the hand-written path for
//! data frames only takes the shape prost writes), and what decodes must
//! re-encode, byte for byte as prost would, to something that decodes the
//! same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepair_protocol::Frame;

fuzz_target!(|data: &[u8]| {
    let decoded = Frame::decode(data);
    assert_eq!(
        decoded,
        Frame::decode_with_prost(bytes::Bytes::copy_from_slice(data))
    );
    if let Ok(frame) = decoded {
        let encoded = frame.encode();
        assert_eq!(encoded, frame.encode_with_prost());
        assert_eq!(Frame::decode(&encoded), Ok(frame));
    }
});
