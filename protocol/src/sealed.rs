//! Messages sealed with the handshake key HS: HELLOs and pairing aborts.
//!
//! ```text
//! 0        1      2            10               34
//! +--------+------+------------+----------------+------------------------+
//! | ver=1  | type | key id (8) | nonce (24)     | XChaCha20-Poly1305     |
//! |        |      |            |                | (protobuf body) ‖ tag  |
//! +--------+------+------------+----------------+------------------------+
//! key id: HKDF-SHA256(ikm = HS, salt = "nodepair/1/hello-key-id")[..8]
//! AD:     "nodepair/1/hello" ‖ ver ‖ type ‖ T
//! ```
//!
//! The key id tells "sealed for another code" apart from "altered on the
//! way"; it reveals nothing the public topic T does not already.

use crate::kdf::{PairingKeys, hkdf32};
use crate::version::PROTOCOL_VERSION;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Bytes before the ciphertext: version, type, key id, nonce.
pub(crate) const HEADER_LEN: usize = 1 + 1 + 8 + 24;
/// Poly1305 tag length.
pub(crate) const TAG_LEN: usize = 16;
/// Largest sealed message accepted; refused before any decryption.
pub const MAX_SEALED_LEN: usize = 1024;

/// Why a sealed message does not open. Each is a different fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Too short to hold a header and a tag: cut off on the way.
    #[error("truncated: {len} bytes, at least {} needed", HEADER_LEN + TAG_LEN)]
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// Longer than any sealed message; refused before decryption.
    #[error("{len} bytes is over the {MAX_SEALED_LEN}-byte limit")]
    TooLarge {
        /// Bytes received.
        len: usize,
    },
    /// Sent by a peer speaking another protocol version.
    #[error("protocol version {version}; this side speaks version {PROTOCOL_VERSION}")]
    UnsupportedVersion {
        /// The version byte received.
        version: u8,
    },
    /// Sealed with another handshake key: another code, or another protocol.
    #[error("sealed with another key: it was not made from this pairing code")]
    WrongKey,
    /// The key matches but authentication failed: altered on the way.
    #[error("failed authentication: it was altered on the way")]
    Tampered,
}

fn key_id(keys: &PairingKeys) -> [u8; 8] {
    let full = hkdf32(b"nodepair/1/hello-key-id", keys.handshake_key.as_ref());
    let mut id = [0u8; 8];
    id.copy_from_slice(&full[..8]);
    id
}

fn associated_data(version: u8, ty: u8, keys: &PairingKeys) -> Vec<u8> {
    let mut ad = Vec::with_capacity(16 + 2 + 32);
    ad.extend_from_slice(b"nodepair/1/hello");
    ad.push(version);
    ad.push(ty);
    ad.extend_from_slice(&keys.topic);
    ad
}

fn cipher(keys: &PairingKeys) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*keys.handshake_key).into())
}

/// Seals `body` as a message of type `ty` with a fresh 24-byte `nonce`.
pub(crate) fn seal(keys: &PairingKeys, ty: u8, body: &[u8], nonce: [u8; 24]) -> Vec<u8> {
    let ad = associated_data(PROTOCOL_VERSION, ty, keys);
    let sealed = cipher(keys)
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: body,
                aad: &ad,
            },
        )
        .expect("sealed messages are far below XChaCha20-Poly1305's length limit");
    let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
    out.push(PROTOCOL_VERSION);
    out.push(ty);
    out.extend_from_slice(&key_id(keys));
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// Checks size and version and returns the type byte, before any crypto.
pub(crate) fn peek(bytes: &[u8]) -> Result<u8, OpenError> {
    if bytes.len() > MAX_SEALED_LEN {
        return Err(OpenError::TooLarge { len: bytes.len() });
    }
    if bytes.len() < HEADER_LEN + TAG_LEN {
        return Err(OpenError::Truncated { len: bytes.len() });
    }
    if bytes[0] != PROTOCOL_VERSION {
        return Err(OpenError::UnsupportedVersion { version: bytes[0] });
    }
    Ok(bytes[1])
}

/// Opens a message [`peek`] accepted: checks the key id, then authenticates
/// and decrypts.
pub(crate) fn open(bytes: &[u8], keys: &PairingKeys) -> Result<Vec<u8>, OpenError> {
    peek(bytes)?;
    if bytes[2..10] != key_id(keys) {
        return Err(OpenError::WrongKey);
    }
    let mut nonce = [0u8; 24];
    nonce.copy_from_slice(&bytes[10..HEADER_LEN]);
    let ad = associated_data(bytes[0], bytes[1], keys);
    cipher(keys)
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &bytes[HEADER_LEN..],
                aad: &ad,
            },
        )
        .map_err(|_| OpenError::Tampered)
}
