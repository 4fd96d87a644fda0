//! The first two bytes of every NodePair message: version and type.
//!
//! Every message published on a pairing or session topic starts with the
//! protocol version and a type byte, so a receiver knows what it holds before
//! it spends any cryptography on it.

use crate::version::PROTOCOL_VERSION;

/// HELLO_APP: the manager's identity, addressed to the app.
pub const HELLO_APP: u8 = 0x01;
/// HELLO_NODE_MANAGER: the app's identity, addressed to the manager.
pub const HELLO_NODE_MANAGER: u8 = 0x02;
/// A pairing aborted by one side (e.g. the code was answered twice).
pub const PAIRING_ABORT: u8 = 0x03;
/// The manager's commitment to its HELLO, sent before it sees the app's.
pub const PAIRING_COMMIT: u8 = 0x04;
/// First Noise KK handshake message (initiator → responder).
pub const HANDSHAKE_1: u8 = 0x11;
/// Second Noise KK handshake message (responder → initiator).
pub const HANDSHAKE_2: u8 = 0x12;
/// A session frame, sealed with the session's transport keys.
pub const DATA: u8 = 0x13;

/// What a received message says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A HELLO_APP or HELLO_NODE_MANAGER (the byte tells which).
    Hello(u8),
    /// A pairing abort.
    PairingAbort,
    /// A manager's commitment.
    PairingCommit,
    /// A session message: handshake or data.
    Session(u8),
}

/// Why a message cannot even be sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KindError {
    /// Fewer than two bytes.
    #[error("message of {0} bytes is too short to have a type")]
    Truncated(usize),
    /// Another protocol version.
    #[error("message of protocol version {0}; this side speaks version {PROTOCOL_VERSION}")]
    UnsupportedVersion(u8),
    /// A type byte this version does not know.
    #[error("message of unknown type {0:#04x}")]
    UnknownType(u8),
}

/// Sorts a received message by its first two bytes.
pub fn kind(bytes: &[u8]) -> Result<Kind, KindError> {
    let [version, ty, ..] = *bytes else {
        return Err(KindError::Truncated(bytes.len()));
    };
    if version != PROTOCOL_VERSION {
        return Err(KindError::UnsupportedVersion(version));
    }
    match ty {
        HELLO_APP | HELLO_NODE_MANAGER => Ok(Kind::Hello(ty)),
        PAIRING_ABORT => Ok(Kind::PairingAbort),
        PAIRING_COMMIT => Ok(Kind::PairingCommit),
        HANDSHAKE_1 | HANDSHAKE_2 | DATA => Ok(Kind::Session(ty)),
        other => Err(KindError::UnknownType(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting() {
        assert_eq!(kind(&[2, 0x01, 9]), Ok(Kind::Hello(0x01)));
        assert_eq!(kind(&[2, 0x04]), Ok(Kind::PairingCommit));
        assert_eq!(kind(&[2, 0x13]), Ok(Kind::Session(DATA)));
        assert_eq!(kind(&[2]), Err(KindError::Truncated(1)));
        assert_eq!(kind(&[1, 0x01]), Err(KindError::UnsupportedVersion(1)));
        assert_eq!(kind(&[2, 0x7f]), Err(KindError::UnknownType(0x7f)));
    }
}
