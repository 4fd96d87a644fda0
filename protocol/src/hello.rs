//! HELLO_APP and HELLO_NODE_MANAGER: each side's identity, sealed with the
//! handshake key HS that only holders of the pairing code can derive.
//!
//! The envelope is [`crate::sealed`]'s, with type 0x01 for HELLO_APP
//! (manager → app) and 0x02 for HELLO_NODE_MANAGER (app → manager); the body
//! is a `HelloBody` protobuf.

use crate::identity::{NodeId, PublicKey};
use crate::kdf::PairingKeys;
use crate::sealed::{self, OpenError};
use crate::version::PROTOCOL_VERSION;
use crate::wire;
use prost::Message;

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
    /// The envelope is cut off, oversized, of another version, sealed with
    /// another key, or altered on the way.
    #[error("HELLO refused: {0}")]
    Open(#[from] OpenError),
    /// The type byte is neither HELLO_APP nor HELLO_NODE_MANAGER.
    #[error("not a HELLO: unknown kind {kind:#04x}")]
    UnknownKind {
        /// The type byte received.
        kind: u8,
    },
    /// A HELLO of the kind this side sends came back to it: a reflection.
    #[error("reflected HELLO: it is of the kind this side sends, not one addressed to it")]
    Reflected,
    /// Authentic, but its content breaks the protocol's rules.
    #[error("HELLO content is invalid: {0}")]
    Invalid(&'static str),
}

/// The rules every name NodePair shows follows (a HELLO's display name,
/// a name given locally): not blank, at most [`MAX_DISPLAY_NAME`]
/// characters, no control characters. Returns the name trimmed.
pub fn check_display_name(name: &str) -> Result<&str, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Err("the display name is empty");
    }
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err("the display name is over 64 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("the display name holds control characters");
    }
    Ok(name)
}

impl Hello {
    /// Checks the rules a HELLO's content must follow.
    fn validate(&self) -> Result<(), HelloError> {
        check_display_name(&self.display_name).map_err(HelloError::Invalid)?;
        if self.capabilities.len() > MAX_CAPABILITIES {
            return Err(HelloError::Invalid("more than 16 capabilities"));
        }
        let bad_cap = |c: &String| {
            c.is_empty()
                || c.len() > MAX_CAPABILITY_LEN
                || !c
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_'))
        };
        if self.capabilities.iter().any(bad_cap) {
            return Err(HelloError::Invalid(
                "a capability name is not 1-32 of a-z 0-9 . - _",
            ));
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
        sealed::seal(keys, kind, &body, nonce)
    }

    /// Opens a HELLO received by a side of role `receiver`.
    pub fn open(bytes: &[u8], keys: &PairingKeys, receiver: Role) -> Result<Hello, HelloError> {
        let kind = sealed::peek(bytes)?;
        if kind != wire::HELLO_APP && kind != wire::HELLO_NODE_MANAGER {
            return Err(HelloError::UnknownKind { kind });
        }
        if kind == receiver.kind_sent() {
            return Err(HelloError::Reflected);
        }
        let body = sealed::open(bytes, keys)?;
        let body = HelloBody::decode(body.as_slice())
            .map_err(|_| HelloError::Invalid("the sealed body is not a HelloBody protobuf"))?;
        if body.version != u32::from(PROTOCOL_VERSION) {
            return Err(HelloError::Invalid(
                "the sealed version differs from the header's",
            ));
        }
        let role = receiver.peer();
        if body.role != role.wire() {
            return Err(HelloError::Invalid(
                "the sender's role does not match the HELLO's kind",
            ));
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
    use crate::sealed::MAX_SEALED_LEN;

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
        assert_eq!(
            Hello::open(&sealed, &keys(), Role::Manager),
            Err(HelloError::Reflected)
        );
    }

    #[test]
    fn a_hello_from_another_code_is_wrong_key() {
        let sealed = manager_hello().seal(&keys(), [1; 24]);
        let other = PairingKeys::derive(&PairingCode::from_u64(7));
        assert_eq!(
            Hello::open(&sealed, &other, Role::App),
            Err(OpenError::WrongKey.into())
        );
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let sealed = manager_hello().seal(&keys(), [1; 24]);
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            let err = Hello::open(&bad, &keys(), Role::App).unwrap_err();
            let want = match i {
                0 => OpenError::UnsupportedVersion { version: 0 }.into(),
                1 => HelloError::UnknownKind { kind: 0x00 },
                2..10 => OpenError::WrongKey.into(),
                _ => OpenError::Tampered.into(),
            };
            assert_eq!(err, want, "byte {i}");
        }
    }

    #[test]
    fn a_flipped_kind_is_tampering_when_it_still_names_a_kind() {
        let mut sealed = manager_hello().seal(&keys(), [1; 24]);
        sealed[1] = 0x03 - sealed[1]; // 0x01 <-> 0x02
        // The receiver now sees a HELLO of its own kind.
        assert_eq!(
            Hello::open(&sealed, &keys(), Role::App),
            Err(HelloError::Reflected)
        );
        assert_eq!(
            Hello::open(&sealed, &keys(), Role::Manager),
            Err(OpenError::Tampered.into())
        );
    }

    #[test]
    fn truncation_and_size_limits() {
        let sealed = manager_hello().seal(&keys(), [1; 24]);
        assert_eq!(
            Hello::open(&sealed[..49], &keys(), Role::App),
            Err(OpenError::Truncated { len: 49 }.into())
        );
        assert_eq!(
            Hello::open(&sealed[..sealed.len() - 1], &keys(), Role::App),
            Err(OpenError::Tampered.into())
        );
        assert_eq!(
            Hello::open(&vec![1; MAX_SEALED_LEN + 1], &keys(), Role::App),
            Err(OpenError::TooLarge {
                len: MAX_SEALED_LEN + 1
            }
            .into())
        );
    }

    /// Seals an arbitrary body, as a malicious holder of the code could.
    fn seal_raw(body: HelloBody, kind: u8) -> Vec<u8> {
        sealed::seal(&keys(), kind, &body.encode_to_vec(), [2; 24])
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
            (
                HelloBody {
                    role: 1,
                    ..good_body()
                },
                "the sender's role does not match the HELLO's kind",
            ),
            (
                HelloBody {
                    static_key: vec![9; 31],
                    ..good_body()
                },
                "the static key is not 32 bytes",
            ),
            (
                HelloBody {
                    node_id: vec![],
                    ..good_body()
                },
                "the node id is not 16 bytes",
            ),
            (
                HelloBody {
                    display_name: " ".into(),
                    ..good_body()
                },
                "the display name is empty",
            ),
            (
                HelloBody {
                    display_name: "x".repeat(65),
                    ..good_body()
                },
                "the display name is over 64 characters",
            ),
            (
                HelloBody {
                    display_name: "a\u{7}b".into(),
                    ..good_body()
                },
                "the display name holds control characters",
            ),
            (
                HelloBody {
                    version: 2,
                    ..good_body()
                },
                "the sealed version differs from the header's",
            ),
            (
                HelloBody {
                    capabilities: vec!["Host".into()],
                    ..good_body()
                },
                "a capability name is not 1-32 of a-z 0-9 . - _",
            ),
            (
                HelloBody {
                    capabilities: vec!["x".into(); 17],
                    ..good_body()
                },
                "more than 16 capabilities",
            ),
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
        let bytes = sealed::seal(&keys(), wire::HELLO_APP, &[0xff, 0xff, 0xff], [2; 24]);
        assert_eq!(
            Hello::open(&bytes, &keys(), Role::App),
            Err(HelloError::Invalid(
                "the sealed body is not a HelloBody protobuf"
            ))
        );
    }
}
