//! The `WakuMessage` envelope (14/WAKU2-MESSAGE) and its deterministic hash.

use prost::Message as _;
use sha2::{Digest, Sha256};

/// One Waku message, field for field as on the wire.
///
/// Field numbers and types follow 14/WAKU2-MESSAGE and js-waku's
/// `message.proto`: note `timestamp` is a **zig-zag** `sint64` in Unix
/// nanoseconds, and fields this node does not interpret (`rate_limit_proof`)
/// are kept as opaque bytes so relaying never alters a message.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct WakuMessage {
    /// Application bytes; NodePair puts sealed HELLOs and session frames here.
    #[prost(bytes = "vec", tag = "1")]
    pub payload: Vec<u8>,
    /// `/{app}/{version}/{name}/{encoding}`: what subscribers filter on.
    #[prost(string, tag = "2")]
    pub content_topic: String,
    /// Payload encryption version of 26/WAKU2-PAYLOAD; 0 means none.
    #[prost(uint32, optional, tag = "3")]
    pub version: Option<u32>,
    /// Sender's time in Unix nanoseconds; part of the deterministic hash.
    #[prost(sint64, optional, tag = "10")]
    pub timestamp: Option<i64>,
    /// Up to 64 bytes of application metadata; part of the deterministic hash.
    #[prost(bytes = "vec", optional, tag = "11")]
    pub meta: Option<Vec<u8>>,
    /// RLN proof (17/WAKU2-RLN-RELAY), carried but not interpreted.
    #[prost(bytes = "vec", optional, tag = "21")]
    pub rate_limit_proof: Option<Vec<u8>>,
    /// Asks store nodes not to keep the message.
    #[prost(bool, optional, tag = "31")]
    pub ephemeral: Option<bool>,
}

/// Largest `WakuMessage` this node accepts or sends, encoded: the 150 KiB
/// that nwaku and js-waku use, so anything we publish is relayed everywhere.
pub const MAX_MESSAGE_SIZE: usize = 150 * 1024;

/// Why bytes received from the network are not a message we relay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// More bytes than [`MAX_MESSAGE_SIZE`]; refused before decoding.
    #[error("message of {size} bytes is over the {MAX_MESSAGE_SIZE}-byte limit")]
    TooLarge {
        /// Size of the refused input in bytes.
        size: usize,
    },
    /// Not a valid protobuf encoding of `WakuMessage`.
    #[error("not a valid WakuMessage protobuf: {0}")]
    Malformed(#[from] prost::DecodeError),
    /// js-waku drops empty payloads, so a relay that forwarded them would
    /// split the network's view; we refuse them too.
    #[error("message has an empty payload")]
    EmptyPayload,
    /// A message without a content topic cannot be routed to any subscriber.
    #[error("message has no content topic")]
    NoContentTopic,
}

impl WakuMessage {
    /// A message with the given payload and content topic and nothing else.
    pub fn new(content_topic: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        WakuMessage {
            payload: payload.into(),
            content_topic: content_topic.into(),
            ..Default::default()
        }
    }

    /// Decodes and validates bytes received from a peer: size first, before
    /// anything is allocated for them, then the protobuf, then the fields
    /// every relayed message must have.
    pub fn decode_checked(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_MESSAGE_SIZE {
            return Err(DecodeError::TooLarge { size: bytes.len() });
        }
        let msg = WakuMessage::decode(bytes)?;
        if msg.payload.is_empty() {
            return Err(DecodeError::EmptyPayload);
        }
        if msg.content_topic.is_empty() {
            return Err(DecodeError::NoContentTopic);
        }
        Ok(msg)
    }

    /// The deterministic hash of 14/WAKU2-MESSAGE on `pubsub_topic`:
    /// `sha256(pubsub_topic ‖ payload ‖ content_topic ‖ meta ‖ u64be(timestamp))`,
    /// leaving out `meta` and `timestamp` when absent.
    pub fn hash(&self, pubsub_topic: &str) -> MessageHash {
        let mut h = Sha256::new();
        h.update(pubsub_topic.as_bytes());
        h.update(&self.payload);
        h.update(self.content_topic.as_bytes());
        if let Some(meta) = &self.meta {
            h.update(meta);
        }
        if let Some(ts) = self.timestamp {
            // The spec hashes the timestamp's two's-complement bytes.
            h.update(ts.to_be_bytes());
        }
        MessageHash(h.finalize().into())
    }
}

/// A message's deterministic hash: the same in every Waku implementation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageHash(pub [u8; 32]);

impl std::fmt::Debug for MessageHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MessageHash({self})")
    }
}

impl std::fmt::Display for MessageHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PUBSUB: &str = "/waku/2/default-waku/proto";
    const CONTENT: &str = "/waku/2/default-content/proto";
    const TIMESTAMP: i64 = 0x175789bfa23f8400;

    fn vector(payload: &str, meta: Option<&str>) -> WakuMessage {
        WakuMessage {
            payload: hex::decode(payload).unwrap(),
            content_topic: CONTENT.into(),
            meta: meta.map(|m| hex::decode(m).unwrap()),
            timestamp: Some(TIMESTAMP),
            ..Default::default()
        }
    }

    // The four test vectors of 14/WAKU2-MESSAGE, "Deterministic message hashing".
    #[test]
    fn hash_matches_the_spec_vectors() {
        let cases = [
            (
                vector("010203045445535405060708", Some("73757065722d736563726574")),
                "64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05",
            ),
            (
                vector(
                    "010203045445535405060708",
                    Some(&(0u8..64).map(|b| format!("{b:02x}")).collect::<String>()),
                ),
                "7158b6498753313368b9af8f6e0a0a05104f68f972981da42a43bc53fb0c1b27",
            ),
            (
                vector("010203045445535405060708", None),
                "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8",
            ),
            (
                vector("", Some("73757065722d736563726574")),
                "483ea950cb63f9b9d6926b262bb36194d3f40a0463ce8446228350bd44e96de4",
            ),
        ];
        for (msg, want) in cases {
            assert_eq!(msg.hash(PUBSUB).to_string(), want);
        }
    }

    #[test]
    fn timestamp_is_zigzag_on_the_wire() {
        // sint64 encodes -1 as 1 and 1 as 2; a plain int64 would not.
        let msg = WakuMessage {
            timestamp: Some(-1),
            ..WakuMessage::new("/a/1/b/proto", [1])
        };
        let bytes = msg.encode_to_vec();
        let tail = &bytes[bytes.len() - 2..];
        assert_eq!(tail, [10 << 3, 1]);
    }

    #[test]
    fn oversized_input_is_refused_before_decoding() {
        let bytes = vec![0xff; MAX_MESSAGE_SIZE + 1];
        assert!(matches!(
            WakuMessage::decode_checked(&bytes),
            Err(DecodeError::TooLarge { size }) if size == MAX_MESSAGE_SIZE + 1
        ));
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(
            WakuMessage::decode_checked(&[0x0a, 0x05, 0x01]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn empty_payload_and_missing_topic_are_refused() {
        let empty = WakuMessage::new("/a/1/b/proto", Vec::new()).encode_to_vec();
        assert!(matches!(
            WakuMessage::decode_checked(&empty),
            Err(DecodeError::EmptyPayload)
        ));
        let no_topic = WakuMessage::new("", [1, 2]).encode_to_vec();
        assert!(matches!(
            WakuMessage::decode_checked(&no_topic),
            Err(DecodeError::NoContentTopic)
        ));
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let mut bytes = WakuMessage::new("/a/1/b/proto", [7]).encode_to_vec();
        // Field 40, varint 5: from some future version of the spec.
        bytes.extend_from_slice(&[0xc0, 0x02, 0x05]);
        let msg = WakuMessage::decode_checked(&bytes).unwrap();
        assert_eq!(msg.payload, [7]);
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(
            payload in proptest::collection::vec(any::<u8>(), 1..512),
            topic in "/[a-z]{1,8}/[0-9]/[a-z-]{1,16}/proto",
            timestamp in proptest::option::of(any::<i64>()),
            meta in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
            ephemeral in proptest::option::of(any::<bool>()),
        ) {
            let msg = WakuMessage {
                payload, content_topic: topic, timestamp, meta, ephemeral,
                ..Default::default()
            };
            let back = WakuMessage::decode_checked(&msg.encode_to_vec()).unwrap();
            prop_assert_eq!(back.hash("/waku/2/rs/1/0"), msg.hash("/waku/2/rs/1/0"));
            prop_assert_eq!(back, msg);
        }
    }
}
