//! The protocol's name and version, bound into key derivation and handshakes.

/// Name of the protocol, as bound into Noise prologues and HELLO associated data.
pub const PROTOCOL_NAME: &str = "nodepair";

/// Version of the wire protocol. A peer that speaks another version is told
/// so with a disconnect reason instead of a silent failure.
pub const PROTOCOL_VERSION: u8 = 1;
