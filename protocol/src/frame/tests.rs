//! Frames: each kind round-trips, bad input is refused, and the hand-written path gives what prost gives.

use super::*;

#[test]
fn protocol_methods_are_reserved() {
    assert!(is_reserved_method(REVOKE_METHOD));
    assert!(is_reserved_method("nodepair.anything"));
    assert!(!is_reserved_method("manager.info"));
    assert!(!is_reserved_method("nodepairx.info"));
}
use proptest::prelude::*;

#[test]
fn every_kind_round_trips() {
    let frames = [
        Frame::Request(Request {
            id: 1,
            method: "host.status".into(),
            body: Bytes::from_static(&[1, 2]),
        }),
        Frame::Response(Response {
            id: 1,
            status: 200,
            body: Bytes::new(),
        }),
        Frame::Event(Event {
            stream: "logs".into(),
            seq: 9,
            body: Bytes::from_static(b"line"),
        }),
        Frame::Ping { id: 7 },
        Frame::Pong { id: 7 },
        Frame::Disconnect {
            reason: DisconnectReason::Revoked,
            detail: "bye".into(),
        },
        Frame::StateUpdate(StateUpdate {
            display_name: Some("n".into()),
            capabilities: vec![],
            capabilities_changed: true,
        }),
    ];
    for f in frames {
        assert_eq!(Frame::decode(&f.encode()), Ok(f));
    }
}

#[test]
fn oversized_frames_are_refused_before_decoding() {
    assert_eq!(
        Frame::decode(&vec![0; MAX_FRAME_LEN + 1]),
        Err(FrameError::TooLarge {
            len: MAX_FRAME_LEN + 1
        })
    );
}

#[test]
fn garbage_is_malformed() {
    assert!(matches!(
        Frame::decode(&[0x12, 0x7f, 0x00]),
        Err(FrameError::Malformed(_))
    ));
}

#[test]
fn a_newer_version_is_refused() {
    let bytes = WireFrame {
        version: 2,
        body: Some(Body::Ping(Keepalive { id: 1 })),
    }
    .encode_to_vec();
    assert_eq!(
        Frame::decode(&bytes),
        Err(FrameError::UnsupportedVersion(2))
    );
}

#[test]
fn an_unknown_type_is_reported_and_unknown_fields_skipped() {
    // Field 40 is a frame type from the future.
    let mut bytes = WireFrame {
        version: 1,
        body: None,
    }
    .encode_to_vec();
    bytes.extend_from_slice(&[0xc2, 0x02, 0x00]);
    assert_eq!(Frame::decode(&bytes), Err(FrameError::UnknownType));
    // An unknown field inside a known frame is skipped.
    let mut bytes = Frame::Ping { id: 3 }.encode();
    bytes.extend_from_slice(&[0xc0, 0x02, 0x01]);
    assert_eq!(Frame::decode(&bytes), Ok(Frame::Ping { id: 3 }));
}

#[test]
fn an_event_stream_name_must_be_utf8() {
    // Version 1, an event whose stream name (field 1) is "l\xffg".
    let bytes = [0x08, 0x01, 0x22, 0x05, 0x0a, 0x03, b'l', 0xff, b'g'];
    assert!(matches!(
        Frame::decode(&bytes),
        Err(FrameError::Malformed(why)) if why.contains("UTF-8")
    ));
    // Each occurrence is checked, as for any protobuf string: a bad
    // name followed by a good one is still refused.
    let bytes = [0x08, 0x01, 0x22, 0x06, 0x0a, 0x01, 0xff, 0x0a, 0x01, b'a'];
    assert!(matches!(
        Frame::decode(&bytes),
        Err(FrameError::Malformed(why)) if why.contains("UTF-8")
    ));
    // And the wire encoding is a string's: what `string stream = 1`
    // would decode.
    let event = Frame::Event(Event {
        stream: "logs:geth".into(),
        seq: 2,
        body: Bytes::from_static(b"x"),
    });
    assert_eq!(
        event.encode(),
        [
            0x08, 0x01, 0x22, 0x10, 0x0a, 0x09, b'l', b'o', b'g', b's', b':', b'g', b'e', b't',
            b'h', 0x10, 0x02, 0x1a, 0x01, b'x'
        ]
    );
}

#[test]
fn a_status_over_16_bits_is_refused() {
    let bytes = Frame::Response(Response {
        id: 1,
        status: 70_000,
        body: Bytes::new(),
    })
    .encode();
    assert_eq!(
        Frame::decode(&bytes),
        Err(FrameError::StatusOutOfRange(70_000))
    );
}

#[test]
fn an_unknown_disconnect_reason_reads_as_unspecified() {
    let bytes = WireFrame {
        version: 1,
        body: Some(Body::Disconnect(WireDisconnect {
            reason: 99,
            detail: String::new(),
        })),
    }
    .encode_to_vec();
    assert_eq!(
        Frame::decode(&bytes),
        Ok(Frame::Disconnect {
            reason: DisconnectReason::Unspecified,
            detail: String::new()
        })
    );
}

proptest! {
    #[test]
    fn requests_and_responses_round_trip(
        id: u64, method in "[a-z.]{0,24}", body in proptest::collection::vec(any::<u8>(), 0..256),
        status in 0u32..=65535,
    ) {
        let body = Bytes::from(body);
        let req = Frame::Request(Request { id, method, body: body.clone() });
        prop_assert_eq!(Frame::decode(&req.encode()), Ok(req));
        let resp = Frame::Response(Response { id, status, body });
        prop_assert_eq!(Frame::decode(&resp.encode()), Ok(resp));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Frame::decode(&bytes);
    }

    /// Data frames are written by hand: byte for byte what prost
    /// writes, for any ids, names (any Unicode) and bodies, defaults
    /// (left out) included.
    #[test]
    fn data_frames_are_encoded_as_prost_encodes_them(frame in data_frame()) {
        let encoded = frame.encode();
        prop_assert_eq!(&encoded, &frame.encode_with_prost());
        prop_assert_eq!(Frame::decode(&encoded), Ok(frame));
    }

    /// Statuses over 16 bits cannot be read, but are still written as
    /// prost writes them.
    #[test]
    fn any_status_is_encoded_as_prost_encodes_it(id: u64, status: u32) {
        let frame = Frame::Response(Response { id, status, body: Bytes::new() });
        prop_assert_eq!(frame.encode(), frame.encode_with_prost());
    }

    /// Whatever the input — a data frame with a byte changed, cut
    /// short, extended, or noise — decoding gives what prost alone
    /// gives, errors included.
    #[test]
    fn decoding_gives_what_prost_gives(
        frame in data_frame(),
        at in any::<prop::sample::Index>(),
        byte: u8,
        cut in any::<prop::sample::Index>(),
        tail in proptest::collection::vec(any::<u8>(), 0..4),
        noise in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let encoded = frame.encode();
        let mut changed = encoded.clone();
        changed[at.index(encoded.len())] = byte;
        let cut = encoded[..cut.index(encoded.len())].to_vec();
        let mut extended = encoded.clone();
        extended.extend_from_slice(&tail);
        for input in [changed, cut, extended, noise] {
            prop_assert_eq!(
                Frame::decode(&input),
                Frame::decode_with_prost(Bytes::from(input.clone()))
            );
        }
    }
}

/// A request, response or event with arbitrary fields.
fn data_frame() -> impl Strategy<Value = Frame> {
    // Lengths of one, two and three varint bytes (frames reach 60 KiB).
    let body = prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => (0usize..40_000).prop_map(|n| vec![0x5a; n]),
    ]
    .prop_map(Bytes::from);
    let number = prop_oneof![Just(0u64), 1u64..200, any::<u64>()];
    prop_oneof![
        (number.clone(), ".{0,12}", body.clone())
            .prop_map(|(id, method, body)| Frame::Request(Request { id, method, body })),
        (
            number.clone(),
            prop_oneof![Just(0u32), 0u32..=65535],
            body.clone()
        )
            .prop_map(|(id, status, body)| Frame::Response(Response { id, status, body })),
        (".{0,12}", number, body).prop_map(|(stream, seq, body)| Frame::Event(Event {
            stream: stream.into(),
            seq,
            body
        })),
    ]
}

/// Encodings prost reads but does not write fall through to it, and
/// decode to what it decodes them to.
#[test]
fn unusual_encodings_of_data_frames_decode_as_prost_decodes_them() {
    let cases: [&[u8]; 18] = [
        // Event fields out of order: seq before stream.
        &[0x08, 0x01, 0x22, 0x05, 0x10, 0x02, 0x0a, 0x01, b'a'],
        // The version after the body.
        &[0x22, 0x02, 0x10, 0x02, 0x08, 0x01],
        // A request's id twice: the last one counts.
        &[0x08, 0x01, 0x12, 0x04, 0x08, 0x01, 0x08, 0x02],
        // An unknown field in a response.
        &[0x08, 0x01, 0x1a, 0x04, 0x08, 0x01, 0x20, 0x05],
        // A method that is not UTF-8.
        &[0x08, 0x01, 0x12, 0x03, 0x12, 0x01, 0xff],
        // A stream name that is not UTF-8.
        &[0x08, 0x01, 0x22, 0x03, 0x0a, 0x01, 0xc3],
        // A status over 16 bits.
        &[0x08, 0x01, 0x1a, 0x04, 0x10, 0x80, 0x80, 0x04],
        // No version (0), and the version 0 written out.
        &[0x22, 0x02, 0x10, 0x02],
        &[0x08, 0x00, 0x22, 0x02, 0x10, 0x02],
        // Overlong varints: a seq of 2 in three bytes, a length of 2 in two.
        &[0x08, 0x01, 0x22, 0x04, 0x10, 0x82, 0x80, 0x00],
        &[0x08, 0x01, 0x22, 0x82, 0x00, 0x10, 0x02],
        // A status over 32 bits, which protobuf's uint32 cuts to 200.
        &[0x08, 0x01, 0x1a, 0x07, 0x10, 0xc8, 0x81, 0x80, 0x80, 0x10],
        // A version over 32 bits cut to 1, and a version of 2.
        &[0x08, 0x81, 0x80, 0x80, 0x80, 0x10, 0x22, 0x02, 0x10, 0x02],
        &[0x08, 0x02, 0x22, 0x02, 0x10, 0x02],
        // An eleven-byte varint, and a tenth byte over 1.
        &[
            0x08, 0x01, 0x22, 0x0c, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0x01,
        ],
        &[
            0x08, 0x01, 0x22, 0x0b, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0x02,
        ],
        // A length past the end, and bytes after the body.
        &[0x08, 0x01, 0x22, 0x09, 0x10, 0x02],
        &[0x08, 0x01, 0x22, 0x02, 0x10, 0x02, 0x00],
    ];
    for bytes in cases {
        let prost = Frame::decode_with_prost(Bytes::copy_from_slice(bytes));
        assert_eq!(Frame::decode(bytes), prost, "{bytes:02x?}");
    }
    assert_eq!(
        Frame::decode(cases[2]),
        Ok(Frame::Request(Request {
            id: 2,
            method: String::new(),
            body: Bytes::new()
        }))
    );
    assert!(matches!(
        Frame::decode(cases[4]),
        Err(FrameError::Malformed(_))
    ));
    assert_eq!(
        Frame::decode(cases[6]),
        Err(FrameError::StatusOutOfRange(65_536))
    );
}
