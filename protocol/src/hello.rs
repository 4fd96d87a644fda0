//! HELLO_APP and HELLO_NODE_MANAGER: each side's identity, sealed with the
//! handshake key HS that only holders of the pairing code can derive.
//!
//! Wire format (all integers big-endian):
//!
//! ```text
//! 0        1      2            10               34
//! +--------+------+------------+----------------+-----------------------+
//! | ver=1  | kind | key id (8) | nonce (24)     | XChaCha20-Poly1305    |
//! |        |      |            |                | (HelloBody) ‖ tag(16) |
//! +--------+------+------------+----------------+-----------------------+
//! kind:   0x01 HELLO_APP (manager → app), 0x02 HELLO_NODE_MANAGER (app → manager)
//! key id: HKDF-SHA256(ikm = HS, salt = "nodepair/1/hello-key-id")[..8]
//! AD:     "nodepair/1/hello" ‖ ver ‖ kind ‖ T
//! ```
//!
//! The key id tells "sealed for another code" apart from "altered on the
//! way"; it reveals nothing the public topic T does not already.

use crate::derive::{PairingKeys, hkdf32};
use crate::identity::{NodeId, PublicKey};
use crate::version::PROTOCOL_VERSION;
use crate::wire;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use prost::Message;

/// Bytes before the ciphertext: version, kind, key id, nonce.
const HEADER_LEN: usize = 1 + 1 + 8 + 24;
/// Poly1305 tag length.
const TAG_LEN: usize = 16;
/// Largest sealed HELLO accepted; refused before any decryption.
pub const MAX_HELLO_LEN: usize = 1024;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 64;
/// Most capabilities one HELLO may list.
pub const MAX_CAPABILITIES: usize = 16;
/// Longest capability name.
pub const MAX_CAPABILITY_LEN: usize = 32;

/// Which program a side is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The desktop app: issues codes, watches and operates nodes.
    App,
    /// The node manager: types codes, answers for its node.
    Manager,
}

impl Role {
    /// The other role.
    pub fn peer(self) -> Role {
        match self {
            Role::App => Role::Manager,
            Role::Manager => Role::App,
        }
    }

    fn wire(self) -> u32 {
        match self {
            Role::App => 1,
            Role::Manager => 2,
        }
    }

    /// The kind byte of the HELLOs this role sends.
    fn kind_sent(self) -> u8 {
        match self {
            // HELLO_APP is addressed to the app, so the manager sends it.
            Role::Manager => wire::HELLO_APP,
            Role::App => wire::HELLO_NODE_MANAGER,
        }
    }
}

/// One side's identity, as carried in a HELLO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The sender's role; the wire kind must agree with it.
    pub role: Role,
    /// The sender's static X25519 key: what the other side will persist.
    pub static_key: PublicKey,
    /// What the other side will show for the sender.
    pub display_name: String,
    /// The sender's node id.
    pub node_id: NodeId,
    /// What the sender offers (managers) or wants (apps), e.g. `host`.
    pub capabilities: Vec<String>,
}

/// The HELLO plaintext, protobuf-encoded.
#[derive(Clone, PartialEq, prost::Message)]
struct HelloBody {
    #[prost(uint32, tag = "1")]
    version: u32,
    #[prost(uint32, tag = "2")]
    role: u32,
    #[prost(bytes = "vec", tag = "3")]
    static_key: Vec<u8>,
    #[prost(string, tag = "4")]
    display_name: String,
    #[prost(bytes = "vec", tag = "5")]
    node_id: Vec<u8>,
    #[prost(string, repeated, tag = "6")]
    capabilities: Vec<String>,
}

/// Why received bytes are not a HELLO we accept. Each is a different fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HelloError {
    /// Too short to hold a header and a tag: cut off on the way.
    #[error("HELLO truncated: {len} bytes, at least {} needed", HEADER_LEN + TAG_LEN)]
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// Longer than any HELLO; refused before decryption.
    #[error("HELLO of {len} bytes is over the {MAX_HELLO_LEN}-byte limit")]
    TooLarge {
        /// Bytes received.
        len: usize,
    },
    /// Sent by a peer speaking another protocol version.
    #[error("HELLO of protocol version {version}; this side speaks version {PROTOCOL_VERSION}")]
    UnsupportedVersion {
        /// The version byte received.
        version: u8,
    },
    /// The kind byte is neither HELLO_APP nor HELLO_NODE_MANAGER.
    #[error("not a HELLO: unknown kind {kind:#04x}")]
    UnknownKind {
        /// The kind byte received.
        kind: u8,
    },
    /// A HELLO of the kind this side sends came back to it: a reflection.
    #[error("reflected HELLO: it is of the kind this side sends, not one addressed to it")]
    Reflected,
    /// Sealed with another handshake key: another code, or another protocol.
    #[error("HELLO sealed with another key: it was not made from this pairing code")]
    WrongKey,
    /// The key matches but authentication failed: altered on the way.
    #[error("HELLO failed authentication: it was altered on the way")]
    Tampered,
    /// Authentic, but its content breaks the protocol's rules.
    #[error("HELLO content is invalid: {0}")]
    Invalid(&'static str),
}

fn key_id(keys: &PairingKeys) -> [u8; 8] {
    let full = hkdf32(b"nodepair/1/hello-key-id", keys.handshake_key.as_ref());
    let mut id = [0u8; 8];
    id.copy_from_slice(&full[..8]);
    id
}

fn associated_data(version: u8, kind: u8, keys: &PairingKeys) -> Vec<u8> {
    let mut ad = Vec::with_capacity(16 + 2 + 32);
    ad.extend_from_slice(b"nodepair/1/hello");
    ad.push(version);
    ad.push(kind);
    ad.extend_from_slice(&keys.topic);
    ad
}

fn cipher(keys: &PairingKeys) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*keys.handshake_key).into())
}

impl Hello {
    /// Checks the rules a HELLO's content must follow.
    fn validate(&self) -> Result<(), HelloError> {
        let name = self.display_name.trim();
        if name.is_empty() {
            return Err(HelloError::Invalid("the display name is empty"));
        }
        if name.chars().count() > MAX_DISPLAY_NAME {
            return Err(HelloError::Invalid("the display name is over 64 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(HelloError::Invalid("the display name holds control characters"));
        }
        if self.capabilities.len() > MAX_CAPABILITIES {
            return Err(HelloError::Invalid("more than 16 capabilities"));
        }
        let bad_cap = |c: &String| {
            c.is_empty()
                || c.len() > MAX_CAPABILITY_LEN
                || !c.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_'))
        };
        if self.capabilities.iter().any(bad_cap) {
            return Err(HelloError::Invalid("a capability name is not 1-32 of a-z 0-9 . - _"));
        }
        Ok(())
    }

    /// Seals this HELLO for `keys` with a fresh 24-byte `nonce` from a CSPRNG.
    ///
    /// # Panics
    ///
    /// When the content breaks the rules [`open`](Self::open) enforces: a
    /// side never sends what the other would refuse.
    pub fn seal(&self, keys: &PairingKeys, nonce: [u8; 24]) -> Vec<u8> {
        if let Err(e) = self.validate() {
            panic!("refusing to seal an invalid HELLO: {e}");
        }
        let kind = self.role.kind_sent();
        let body = HelloBody {
            version: u32::from(PROTOCOL_VERSION),
            role: self.role.wire(),
            static_key: self.static_key.0.to_vec(),
            display_name: self.display_name.trim().to_owned(),
            node_id: self.node_id.as_bytes().to_vec(),
            capabilities: self.capabilities.clone(),
        }
        .encode_to_vec();
        let ad = associated_data(PROTOCOL_VERSION, kind, keys);
        let sealed = cipher(keys)
            .encrypt(&XNonce::from(nonce), Payload { msg: &body, aad: &ad })
            .expect("a HELLO is far below XChaCha20-Poly1305's length limit");
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(PROTOCOL_VERSION);
        out.push(kind);
        out.extend_from_slice(&key_id(keys));
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a HELLO received by a side of role `receiver`.
    pub fn open(bytes: &[u8], keys: &PairingKeys, receiver: Role) -> Result<Hello, HelloError> {
        if bytes.len() > MAX_HELLO_LEN {
            return Err(HelloError::TooLarge { len: bytes.len() });
        }
        if bytes.len() < HEADER_LEN + TAG_LEN {
            return Err(HelloError::Truncated { len: bytes.len() });
        }
        let (version, kind) = (bytes[0], bytes[1]);
        if version != PROTOCOL_VERSION {
            return Err(HelloError::UnsupportedVersion { version });
        }
        if kind != wire::HELLO_APP && kind != wire::HELLO_NODE_MANAGER {
            return Err(HelloError::UnknownKind { kind });
        }
        if kind == receiver.kind_sent() {
            return Err(HelloError::Reflected);
        }
        if bytes[2..10] != key_id(keys) {
            return Err(HelloError::WrongKey);
        }
        let mut nonce = [0u8; 24];
        nonce.copy_from_slice(&bytes[10..34]);
        let ad = associated_data(version, kind, keys);
        let body = cipher(keys)
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &bytes[HEADER_LEN..],
                    aad: &ad,
                },
            )
            .map_err(|_| HelloError::Tampered)?;
        let body = HelloBody::decode(body.as_slice())
            .map_err(|_| HelloError::Invalid("the sealed body is not a HelloBody protobuf"))?;
        if body.version != u32::from(PROTOCOL_VERSION) {
            return Err(HelloError::Invalid("the sealed version differs from the header's"));
        }
        let role = receiver.peer();
        if body.role != role.wire() {
            return Err(HelloError::Invalid("the sender's role does not match the HELLO's kind"));
        }
        let static_key: [u8; 32] = body
            .static_key
            .as_slice()
            .try_into()
            .map_err(|_| HelloError::Invalid("the static key is not 32 bytes"))?;
        let node_id: [u8; 16] = body
            .node_id
            .as_slice()
            .try_into()
            .map_err(|_| HelloError::Invalid("the node id is not 16 bytes"))?;
        let hello = Hello {
            role,
            static_key: PublicKey(static_key),
            display_name: body.display_name,
            node_id: NodeId(uuid::Uuid::from_bytes(node_id)),
            capabilities: body.capabilities,
        };
        hello.validate()?;
        Ok(hello)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::StaticKeypair;
    use crate::pairing_code::PairingCode;

    fn keys() -> PairingKeys {
        PairingKeys::derive(&PairingCode::from_u64(0x0123_4567_89ab_cdef))
    }

    fn manager_hello() -> Hello {
        Hello {
            role: Role::Manager,
            static_key: StaticKeypair::from_secret([9; 32]).public(),
            display_name: "validator-1".into(),
            node_id: NodeId::from_random([5; 16]),
            capabilities: vec!["host".into(), "ethereum".into()],
        }
    }

    #[test]
    fn seal_then_open() {
        let hello = manager_hello();
        let sealed = hello.seal(&keys(), [1; 24]);
        assert_eq!(Hello::open(&sealed, &keys(), Role::App), Ok(hello));
    }

    #[test]
    fn a_reflected_hello_is_refused() {
        let sealed = manager_hello().seal(&keys(), [1; 24]);
        assert_eq!(Hello::open(&sealed, &keys(), Role::Manager), Err(HelloError::Reflected));
    }

    #[test]
    fn a_hello_from_another_code_is_wrong_key() {
        let sealed = manager_hello().seal(&keys(), [1; 24]);
        let other = PairingKeys::derive(&PairingCode::from_u64(7));
        assert_eq!(Hello::open(&sealed, &other, Role::App), Err(HelloError::WrongKey));
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let sealed = manager_hello().seal(&keys(), [1; 24]);
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            let err = Hello::open(&bad, &keys(), Role::App).unwrap_err();
            let want = match i {
                0 => HelloError::UnsupportedVersion { version: 0 },
                1 => HelloError::UnknownKind { kind: 0x00 },
                2..10 => HelloError::WrongKey,
                _ => HelloError::Tampered,
            };
            assert_eq!(err, want, "byte {i}");
        }
    }

    #[test]
    fn a_flipped_kind_is_tampering_when_it_still_names_a_kind() {
        let mut sealed = manager_hello().seal(&keys(), [1; 24]);
        sealed[1] = 0x03 - sealed[1]; // 0x01 <-> 0x02
        // The receiver now sees a HELLO of its own kind.
        assert_eq!(Hello::open(&sealed, &keys(), Role::App), Err(HelloError::Reflected));
        assert_eq!(Hello::open(&sealed, &keys(), Role::Manager), Err(HelloError::Tampered));
    }

    #[test]
    fn truncation_and_size_limits() {
        let sealed = manager_hello().seal(&keys(), [1; 24]);
        assert_eq!(
            Hello::open(&sealed[..49], &keys(), Role::App),
            Err(HelloError::Truncated { len: 49 })
        );
        assert_eq!(
            Hello::open(&sealed[..sealed.len() - 1], &keys(), Role::App),
            Err(HelloError::Tampered)
        );
        assert_eq!(
            Hello::open(&vec![1; MAX_HELLO_LEN + 1], &keys(), Role::App),
            Err(HelloError::TooLarge { len: MAX_HELLO_LEN + 1 })
        );
    }

    /// Seals an arbitrary body, as a malicious holder of the code could.
    fn seal_raw(body: HelloBody, kind: u8) -> Vec<u8> {
        let keys = keys();
        let ad = associated_data(PROTOCOL_VERSION, kind, &keys);
        let sealed = cipher(&keys)
            .encrypt(&XNonce::from([2; 24]), Payload { msg: &body.encode_to_vec(), aad: &ad })
            .unwrap();
        let mut out = vec![PROTOCOL_VERSION, kind];
        out.extend_from_slice(&key_id(&keys));
        out.extend_from_slice(&[2; 24]);
        out.extend_from_slice(&sealed);
        out
    }

    fn good_body() -> HelloBody {
        HelloBody {
            version: 1,
            role: 2,
            static_key: vec![9; 32],
            display_name: "m".into(),
            node_id: vec![5; 16],
            capabilities: vec![],
        }
    }

    #[test]
    fn authentic_but_invalid_content_is_named() {
        let cases: Vec<(HelloBody, &str)> = vec![
            (HelloBody { role: 1, ..good_body() }, "the sender's role does not match the HELLO's kind"),
            (HelloBody { static_key: vec![9; 31], ..good_body() }, "the static key is not 32 bytes"),
            (HelloBody { node_id: vec![], ..good_body() }, "the node id is not 16 bytes"),
            (HelloBody { display_name: " ".into(), ..good_body() }, "the display name is empty"),
            (HelloBody { display_name: "x".repeat(65), ..good_body() }, "the display name is over 64 characters"),
            (HelloBody { display_name: "a\u{7}b".into(), ..good_body() }, "the display name holds control characters"),
            (HelloBody { version: 2, ..good_body() }, "the sealed version differs from the header's"),
            (HelloBody { capabilities: vec!["Host".into()], ..good_body() }, "a capability name is not 1-32 of a-z 0-9 . - _"),
            (HelloBody { capabilities: vec!["x".into(); 17], ..good_body() }, "more than 16 capabilities"),
        ];
        for (body, why) in cases {
            assert_eq!(
                Hello::open(&seal_raw(body, 0x01), &keys(), Role::App),
                Err(HelloError::Invalid(why))
            );
        }
    }

    #[test]
    fn a_body_that_is_not_protobuf_is_invalid() {
        let keys = keys();
        let ad = associated_data(PROTOCOL_VERSION, 0x01, &keys);
        let sealed = cipher(&keys)
            .encrypt(&XNonce::from([2; 24]), Payload { msg: &[0xff, 0xff, 0xff], aad: &ad })
            .unwrap();
        let mut bytes = vec![PROTOCOL_VERSION, 0x01];
        bytes.extend_from_slice(&key_id(&keys));
        bytes.extend_from_slice(&[2; 24]);
        bytes.extend_from_slice(&sealed);
        assert_eq!(
            Hello::open(&bytes, &keys, Role::App),
            Err(HelloError::Invalid("the sealed body is not a HelloBody protobuf"))
        );
    }
}
