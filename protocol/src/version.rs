//! The protocol's name and version, bound into key derivation and handshakes.

/// Name of the protocol, as bound into Noise prologues and HELLO associated data.
pub const PROTOCOL_NAME: &str = "nodepair";

/// Version of the wire protocol. A peer that speaks another version is told
/// so with a disconnect reason instead of a silent failure.
///
/// Version 2 added the commitment before the manager's HELLO, the
/// verification string over both HELLOs and their nonces, the person's
/// confirmation on both sides, and handshakes bound to their session id and
/// a timestamp (docs/protocol.md says what changed).
pub const PROTOCOL_VERSION: u8 = 2;
