//! PAIRING_COMMIT: the manager's promise of its HELLO, sent before it sees
//! the app's.
//!
//! ```text
//! commitment = SHA-256("nodepair/2/pairing-commit" ‖ T ‖ HELLO_APP body)
//! ```
//!
//! The body of the manager's HELLO holds 32 fresh random bytes, so the
//! commitment reveals nothing of it; and no other body hashes to the same
//! value, so the manager cannot change its HELLO once the app has answered.
//! Whoever answers the app first must therefore fix everything the
//! verification string depends on, on its side, before it sees the app's
//! nonce (see [`crate::verification`]).

use crate::hello::NONCE_LEN;
use crate::kdf::PairingKeys;
use crate::sealed::{self, OpenError};
use crate::version::PROTOCOL_VERSION;
use crate::wire;
use prost::Message;
use sha2::{Digest, Sha256};

/// Domain label of the commitment hash.
const LABEL: &[u8] = b"nodepair/2/pairing-commit";

/// A commitment to a manager's HELLO body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Commitment(pub [u8; NONCE_LEN]);

/// The PAIRING_COMMIT plaintext.
#[derive(Clone, PartialEq, prost::Message)]
struct CommitBody {
    #[prost(uint32, tag = "1")]
    version: u32,
    #[prost(bytes = "vec", tag = "2")]
    commitment: Vec<u8>,
}

/// Why received bytes are not a commitment we accept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The envelope is cut off, oversized, of another version, sealed with
    /// another key, or altered on the way.
    #[error("PAIRING_COMMIT refused: {0}")]
    Open(#[from] OpenError),
    /// Not a PAIRING_COMMIT.
    #[error("not a PAIRING_COMMIT: kind {kind:#04x}")]
    WrongKind {
        /// The type byte received.
        kind: u8,
    },
    /// Authentic, but not a well-formed commitment.
    #[error("PAIRING_COMMIT content is invalid: {0}")]
    Invalid(&'static str),
}

impl Commitment {
    /// The commitment to `hello_body` (a manager's HELLO body, byte for
    /// byte) under the pairing topic `topic`.
    pub fn to(topic: &[u8; 32], hello_body: &[u8]) -> Commitment {
        let digest = Sha256::new()
            .chain_update(LABEL)
            .chain_update(topic)
            .chain_update(hello_body)
            .finalize();
        Commitment(digest.into())
    }

    /// Seals this commitment as a PAIRING_COMMIT with a fresh 24-byte
    /// `nonce`.
    pub fn seal(&self, keys: &PairingKeys, nonce: [u8; 24]) -> Vec<u8> {
        let body = CommitBody {
            version: u32::from(PROTOCOL_VERSION),
            commitment: self.0.to_vec(),
        }
        .encode_to_vec();
        sealed::seal(keys, wire::PAIRING_COMMIT, &body, nonce)
    }

    /// Opens a PAIRING_COMMIT.
    pub fn open(bytes: &[u8], keys: &PairingKeys) -> Result<Commitment, CommitError> {
        let kind = sealed::peek(bytes)?;
        if kind != wire::PAIRING_COMMIT {
            return Err(CommitError::WrongKind { kind });
        }
        let plain = sealed::open(bytes, keys)?;
        let body = CommitBody::decode(plain.as_slice())
            .map_err(|_| CommitError::Invalid("the sealed body is not a CommitBody protobuf"))?;
        if body.version != u32::from(PROTOCOL_VERSION) {
            return Err(CommitError::Invalid(
                "the sealed version differs from the header's",
            ));
        }
        let value = body
            .commitment
            .as_slice()
            .try_into()
            .map_err(|_| CommitError::Invalid("the commitment is not 32 bytes"))?;
        Ok(Commitment(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairing_code::PairingCode;

    fn keys() -> PairingKeys {
        PairingKeys::derive(&PairingCode::from_u64(42))
    }

    #[test]
    fn seal_then_open() {
        let c = Commitment::to(&keys().topic, b"body");
        assert_eq!(Commitment::open(&c.seal(&keys(), [1; 24]), &keys()), Ok(c));
    }

    #[test]
    fn it_binds_the_body_and_the_topic() {
        let t = keys().topic;
        assert_ne!(Commitment::to(&t, b"body"), Commitment::to(&t, b"bodz"));
        assert_ne!(
            Commitment::to(&t, b"body"),
            Commitment::to(&[0; 32], b"body")
        );
    }

    #[test]
    fn bad_ones_are_named() {
        let c = Commitment([5; 32]).seal(&keys(), [1; 24]);
        let mut flipped = c.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(
            Commitment::open(&flipped, &keys()),
            Err(OpenError::Tampered.into())
        );
        let short = sealed::seal(
            &keys(),
            wire::PAIRING_COMMIT,
            &CommitBody {
                version: 2,
                commitment: vec![1; 31],
            }
            .encode_to_vec(),
            [1; 24],
        );
        assert_eq!(
            Commitment::open(&short, &keys()),
            Err(CommitError::Invalid("the commitment is not 32 bytes"))
        );
        let hello = sealed::seal(&keys(), wire::HELLO_APP, b"", [1; 24]);
        assert_eq!(
            Commitment::open(&hello, &keys()),
            Err(CommitError::WrongKind { kind: 0x01 })
        );
    }
}
