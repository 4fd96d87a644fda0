//! HELLO_APP and HELLO_NODE_MANAGER: each side's identity, sealed with the
//! handshake key HS that only holders of the pairing code can derive.
//!
//! The envelope is [`crate::sealed`]'s, with type 0x01 for HELLO_APP
//! (manager → app: the manager's identity, revealing what its
//! [commitment](crate::pairing_commit) promised) and 0x02 for
//! HELLO_NODE_MANAGER (app → manager: the app's identity and the
//! commitment it answers); the body is a `HelloBody` protobuf. Every HELLO
//! carries 32 fresh random bytes, and the [verification
//! string](crate::verification) covers both bodies byte for byte.
//!
//! A HELLO of either kind opens here: the pairing machine decides what a
//! HELLO of its own kind that it did not send means (someone else holds the
//! code).

use crate::identity::{NodeId, PublicKey};
use crate::kdf::PairingKeys;
use crate::sealed::{self, OpenError};
use crate::version::PROTOCOL_VERSION;
use crate::wire;
use prost::Message;

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 64;
/// Most capabilities one HELLO (or state update) may list.
pub const MAX_CAPABILITIES: usize = 16;
/// Longest capability name.
pub const MAX_CAPABILITY_LEN: usize = 32;
/// Length of a HELLO's random nonce and of a commitment.
pub const NONCE_LEN: usize = 32;

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
    pub(crate) fn kind_sent(self) -> u8 {
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
    /// 32 fresh random bytes, drawn for this pairing: they make the
    /// verification string unpredictable to anyone who fixed their own
    /// HELLO before seeing this one.
    pub nonce: [u8; NONCE_LEN],
    /// App only: the manager's commitment this HELLO answers. `None` in a
    /// manager's HELLO.
    pub answers: Option<[u8; NONCE_LEN]>,
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
    #[prost(bytes = "vec", tag = "7")]
    nonce: Vec<u8>,
    #[prost(bytes = "vec", tag = "8")]
    answers: Vec<u8>,
}

/// A HELLO as received: its content, and its body exactly as sealed, which
/// commitments and the verification string are computed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedHello {
    /// What it says.
    pub hello: Hello,
    /// The plaintext body, byte for byte.
    pub body: Vec<u8>,
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
    /// Authentic, but its content breaks the protocol's rules.
    #[error("HELLO content is invalid: {0}")]
    Invalid(&'static str),
}

/// Characters a shown name may not hold beyond `char::is_control`: the
/// invisible ones that reorder or hide text (bidirectional overrides and
/// isolates, zero-width characters, line and paragraph separators, the
/// byte-order mark), so one name can never disguise itself as another.
fn is_hidden_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
        | '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{061C}' | '\u{00AD}')
}

/// The rules every name NodePair shows follows (a HELLO's display name, a
/// state update's, a name given locally): not blank, at most
/// [`MAX_DISPLAY_NAME`] characters, no control characters, and none of the
/// invisible characters that reorder or hide text. Returns the name trimmed.
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
    if name.chars().any(is_hidden_format) {
        return Err("the display name holds invisible formatting characters");
    }
    Ok(name)
}

/// `name` made to follow [`check_display_name`]: control and invisible
/// characters dropped, trimmed, cut to [`MAX_DISPLAY_NAME`] characters;
/// `NodePair` when nothing is left. For a side's own name, which comes from
/// settings or the host name and must never stop it from pairing.
pub fn fit_display_name(name: &str) -> String {
    let kept: String = name
        .chars()
        .filter(|c| !c.is_control() && !is_hidden_format(*c))
        .collect();
    let fitted: String = kept.trim().chars().take(MAX_DISPLAY_NAME).collect();
    let fitted = fitted.trim();
    if fitted.is_empty() {
        "NodePair".to_owned()
    } else {
        fitted.to_owned()
    }
}

/// The rules a list of capabilities follows (in a HELLO or a state
/// update): at most [`MAX_CAPABILITIES`], each 1 to [`MAX_CAPABILITY_LEN`]
/// of `a-z 0-9 . - _`.
pub fn check_capabilities(capabilities: &[String]) -> Result<(), &'static str> {
    if capabilities.len() > MAX_CAPABILITIES {
        return Err("more than 16 capabilities");
    }
    let bad = |c: &String| {
        c.is_empty()
            || c.len() > MAX_CAPABILITY_LEN
            || !c
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_'))
    };
    if capabilities.iter().any(bad) {
        return Err("a capability name is not 1-32 of a-z 0-9 . - _");
    }
    Ok(())
}

/// `s` with every character a terminal or log line could act on (control,
/// invisible formatting) written as an escape, cut to `max` characters with
/// an ellipsis: for showing what another side sent where it cannot be
/// trusted to follow the rules (records from older versions, free text).
pub fn printable(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 2));
    for (n, c) in s.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        if c.is_control() || is_hidden_format(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

impl Hello {
    /// Checks the rules a HELLO's content must follow.
    fn validate(&self) -> Result<(), HelloError> {
        check_display_name(&self.display_name).map_err(HelloError::Invalid)?;
        check_capabilities(&self.capabilities).map_err(HelloError::Invalid)?;
        match (self.role, self.answers) {
            (Role::App, None) => Err(HelloError::Invalid(
                "an app's HELLO does not name the commitment it answers",
            )),
            (Role::Manager, Some(_)) => {
                Err(HelloError::Invalid("a manager's HELLO names a commitment"))
            }
            _ => Ok(()),
        }
    }

    /// The body this HELLO is sealed as, byte for byte.
    ///
    /// # Panics
    ///
    /// When the content breaks the rules [`open`](Self::open) enforces: a
    /// side never sends what the other would refuse.
    pub fn body(&self) -> Vec<u8> {
        if let Err(e) = self.validate() {
            panic!("refusing to seal an invalid HELLO: {e}");
        }
        HelloBody {
            version: u32::from(PROTOCOL_VERSION),
            role: self.role.wire(),
            static_key: self.static_key.0.to_vec(),
            display_name: self.display_name.trim().to_owned(),
            node_id: self.node_id.as_bytes().to_vec(),
            capabilities: self.capabilities.clone(),
            nonce: self.nonce.to_vec(),
            answers: self.answers.map(|a| a.to_vec()).unwrap_or_default(),
        }
        .encode_to_vec()
    }

    /// Seals `body` (from [`body`](Self::body)) as this HELLO's kind with a
    /// fresh 24-byte `nonce` from a CSPRNG.
    pub fn seal_body(role: Role, body: &[u8], keys: &PairingKeys, nonce: [u8; 24]) -> Vec<u8> {
        sealed::seal(keys, role.kind_sent(), body, nonce)
    }

    /// Seals this HELLO for `keys` with a fresh 24-byte `nonce`.
    pub fn seal(&self, keys: &PairingKeys, nonce: [u8; 24]) -> Vec<u8> {
        Self::seal_body(self.role, &self.body(), keys, nonce)
    }

    /// Opens a HELLO of either kind; its role is the one its kind byte
    /// names, and the body must agree.
    pub fn open(bytes: &[u8], keys: &PairingKeys) -> Result<OpenedHello, HelloError> {
        let kind = sealed::peek(bytes)?;
        let role = match kind {
            wire::HELLO_APP => Role::Manager,
            wire::HELLO_NODE_MANAGER => Role::App,
            kind => return Err(HelloError::UnknownKind { kind }),
        };
        let plain = sealed::open(bytes, keys)?;
        let body = HelloBody::decode(plain.as_slice())
            .map_err(|_| HelloError::Invalid("the sealed body is not a HelloBody protobuf"))?;
        if body.version != u32::from(PROTOCOL_VERSION) {
            return Err(HelloError::Invalid(
                "the sealed version differs from the header's",
            ));
        }
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
        let nonce: [u8; NONCE_LEN] = body
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| HelloError::Invalid("the nonce is not 32 bytes"))?;
        let answers = match body.answers.len() {
            0 => None,
            NONCE_LEN => Some(body.answers.as_slice().try_into().expect("32 bytes")),
            _ => {
                return Err(HelloError::Invalid(
                    "the commitment answered is not 32 bytes",
                ));
            }
        };
        let hello = Hello {
            role,
            static_key: PublicKey(static_key),
            display_name: body.display_name,
            node_id: NodeId(uuid::Uuid::from_bytes(node_id)),
            capabilities: body.capabilities,
            nonce,
            answers,
        };
        hello.validate()?;
        Ok(OpenedHello { hello, body: plain })
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
            nonce: [7; 32],
            answers: None,
        }
    }

    #[test]
    fn seal_then_open() {
        let hello = manager_hello();
        let sealed = hello.seal(&keys(), [1; 24]);
        let opened = Hello::open(&sealed, &keys()).unwrap();
        assert_eq!(opened.hello, hello);
        assert_eq!(opened.body, hello.body());
    }

    #[test]
    fn an_app_hello_names_the_commitment_it_answers() {
        let app = Hello {
            role: Role::App,
            answers: Some([3; 32]),
            capabilities: vec![],
            ..manager_hello()
        };
        let opened = Hello::open(&app.seal(&keys(), [1; 24]), &keys()).unwrap();
        assert_eq!(opened.hello.role, Role::App);
        assert_eq!(opened.hello.answers, Some([3; 32]));
    }

    #[test]
    fn a_hello_from_another_code_is_wrong_key() {
        let sealed = manager_hello().seal(&keys(), [1; 24]);
        let other = PairingKeys::derive(&PairingCode::from_u64(7));
        assert_eq!(
            Hello::open(&sealed, &other),
            Err(OpenError::WrongKey.into())
        );
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let sealed = manager_hello().seal(&keys(), [1; 24]);
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            let err = Hello::open(&bad, &keys()).unwrap_err();
            let want = match i {
                0 => OpenError::UnsupportedVersion { version: 3 }.into(),
                1 => HelloError::UnknownKind { kind: 0x00 },
                2..10 => OpenError::WrongKey.into(),
                _ => OpenError::Tampered.into(),
            };
            assert_eq!(err, want, "byte {i}");
        }
    }

    #[test]
    fn a_flipped_kind_is_tampering() {
        let mut sealed = manager_hello().seal(&keys(), [1; 24]);
        sealed[1] = 0x03 - sealed[1]; // 0x01 <-> 0x02
        // The kind is bound into the associated data: it cannot pass for
        // a HELLO of the other kind.
        assert_eq!(
            Hello::open(&sealed, &keys()),
            Err(OpenError::Tampered.into())
        );
    }

    #[test]
    fn truncation_and_size_limits() {
        let sealed = manager_hello().seal(&keys(), [1; 24]);
        assert_eq!(
            Hello::open(&sealed[..49], &keys()),
            Err(OpenError::Truncated { len: 49 }.into())
        );
        assert_eq!(
            Hello::open(&sealed[..sealed.len() - 1], &keys()),
            Err(OpenError::Tampered.into())
        );
        assert_eq!(
            Hello::open(&vec![2; MAX_SEALED_LEN + 1], &keys()),
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
            version: 2,
            role: 2,
            static_key: vec![9; 32],
            display_name: "m".into(),
            node_id: vec![5; 16],
            capabilities: vec![],
            nonce: vec![7; 32],
            answers: vec![],
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
                    nonce: vec![7; 16],
                    ..good_body()
                },
                "the nonce is not 32 bytes",
            ),
            (
                HelloBody {
                    answers: vec![1; 32],
                    ..good_body()
                },
                "a manager's HELLO names a commitment",
            ),
            (
                HelloBody {
                    answers: vec![1; 31],
                    ..good_body()
                },
                "the commitment answered is not 32 bytes",
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
                    display_name: "abc\u{202E}gpj.exe".into(),
                    ..good_body()
                },
                "the display name holds invisible formatting characters",
            ),
            (
                HelloBody {
                    version: 1,
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
                Hello::open(&seal_raw(body, 0x01), &keys()),
                Err(HelloError::Invalid(why))
            );
        }
        let app_body = HelloBody {
            role: 1,
            ..good_body()
        };
        assert_eq!(
            Hello::open(&seal_raw(app_body, 0x02), &keys()),
            Err(HelloError::Invalid(
                "an app's HELLO does not name the commitment it answers"
            ))
        );
    }

    #[test]
    fn a_body_that_is_not_protobuf_is_invalid() {
        let bytes = sealed::seal(&keys(), wire::HELLO_APP, &[0xff, 0xff, 0xff], [2; 24]);
        assert_eq!(
            Hello::open(&bytes, &keys()),
            Err(HelloError::Invalid(
                "the sealed body is not a HelloBody protobuf"
            ))
        );
    }

    #[test]
    fn any_own_name_is_made_to_fit() {
        let long = format!("{}@{}", "u".repeat(40), "host".repeat(20));
        for name in [long.as_str(), "", " \u{7} ", "a\u{202E}b\nc", "validator-1"] {
            let fitted = fit_display_name(name);
            assert_eq!(check_display_name(&fitted), Ok(fitted.as_str()), "{name:?}");
        }
        assert_eq!(fit_display_name("validator-1"), "validator-1");
        assert_eq!(fit_display_name(" \u{7} "), "NodePair");
    }

    #[test]
    fn printable_escapes_what_a_terminal_would_act_on() {
        assert_eq!(printable("node-1", 64), "node-1");
        assert_eq!(printable("a\u{1b}[2Jb", 64), "a\\u{1b}[2Jb");
        assert_eq!(printable("x\u{202E}y\n", 64), "x\\u{202e}y\\u{a}");
        assert_eq!(
            printable(&"é".repeat(70), 64),
            format!("{}…", "é".repeat(64))
        );
    }
}
