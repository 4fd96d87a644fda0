//! The two handshake messages on the wire: layout, and the MAC that lets a
//! side refuse a forged or altered one before any Diffie-Hellman.
//!
//! ```text
//! HANDSHAKE_1: ver | 0x11 | sid (8) | timestamp (8) | Noise KK msg 1 (48) | mac (32)   = 98 bytes
//! HANDSHAKE_2: ver | 0x12 | sid (8) |                  Noise KK msg 2 (48) | mac (32)   = 90 bytes
//! mac = HMAC-SHA256(K, sender's static public key ‖ every byte before the mac)
//! K   = HKDF(X25519(own static, peer static), salt = "nodepair/2/handshake-mac")
//! ```
//!
//! Only the two sides of a pair know K (it comes from their static keys), so
//! a message with a good MAC was made by the other side of this pair, and a
//! message with a changed sid or timestamp, a stranger's, or one of our own
//! sent back to us fails the MAC for the cost of one HMAC. The Noise
//! handshake authenticates both again on its own: its prologue holds the
//! sid and the timestamp.

use crate::identity::{PublicKey, StaticKeypair};
use crate::kdf::hkdf32;
use crate::version::PROTOCOL_VERSION;
use crate::wire;
use ring::hmac;

/// Length of a session id.
pub(crate) const SID_LEN: usize = 8;
/// Length of a Noise KK handshake message with an empty payload.
pub(crate) const NOISE_LEN: usize = 48;
/// Length of the MAC.
const MAC_LEN: usize = 32;
/// Length of HANDSHAKE_1.
pub(crate) const HS1_LEN: usize = 2 + SID_LEN + 8 + NOISE_LEN + MAC_LEN;
/// Length of HANDSHAKE_2.
pub(crate) const HS2_LEN: usize = 2 + SID_LEN + NOISE_LEN + MAC_LEN;

/// HKDF salt of the handshake MAC key.
const MAC_SALT: &[u8] = b"nodepair/2/handshake-mac";

/// The MAC key of one pair, and who is who.
pub(crate) struct MacKeys {
    key: hmac::Key,
    own: PublicKey,
    peer: PublicKey,
}

impl MacKeys {
    /// The pair's MAC key, or `None` for a low-order peer key.
    pub(crate) fn new(own: &StaticKeypair, peer: &PublicKey) -> Option<MacKeys> {
        let shared = own.diffie_hellman(peer)?;
        let k = zeroize::Zeroizing::new(hkdf32(MAC_SALT, shared.as_ref()));
        Some(MacKeys {
            key: hmac::Key::new(hmac::HMAC_SHA256, k.as_ref()),
            own: own.public(),
            peer: *peer,
        })
    }

    fn tag(&self, sender: &PublicKey, body: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(sender.as_bytes());
        ctx.update(body);
        ctx.sign()
    }

    /// Appends the MAC of a message we send.
    pub(crate) fn seal(&self, message: &mut Vec<u8>) {
        let tag = self.tag(&self.own, message);
        message.extend_from_slice(tag.as_ref());
    }

    /// Whether `message` (MAC last) was made by the peer.
    pub(crate) fn made_by_peer(&self, message: &[u8]) -> bool {
        let Some(split) = message.len().checked_sub(MAC_LEN) else {
            return false;
        };
        let (body, tag) = message.split_at(split);
        let mut signed = Vec::with_capacity(32 + body.len());
        signed.extend_from_slice(self.peer.as_bytes());
        signed.extend_from_slice(body);
        hmac::verify(&self.key, &signed, tag).is_ok()
    }
}

/// A HANDSHAKE_1 as read off the wire, before any cryptography.
pub(crate) struct Hs1<'a> {
    pub(crate) sid: [u8; SID_LEN],
    pub(crate) timestamp: u64,
    pub(crate) noise: &'a [u8],
}

/// A HANDSHAKE_2 as read off the wire.
pub(crate) struct Hs2<'a> {
    pub(crate) sid: [u8; SID_LEN],
    pub(crate) noise: &'a [u8],
}

/// Splits a HANDSHAKE_1 of the right length.
pub(crate) fn parse_hs1(bytes: &[u8]) -> Option<Hs1<'_>> {
    if bytes.len() != HS1_LEN {
        return None;
    }
    let sid = bytes[2..10].try_into().expect("8 bytes");
    let timestamp = u64::from_be_bytes(bytes[10..18].try_into().expect("8 bytes"));
    Some(Hs1 {
        sid,
        timestamp,
        noise: &bytes[18..18 + NOISE_LEN],
    })
}

/// Splits a HANDSHAKE_2 of the right length.
pub(crate) fn parse_hs2(bytes: &[u8]) -> Option<Hs2<'_>> {
    if bytes.len() != HS2_LEN {
        return None;
    }
    Some(Hs2 {
        sid: bytes[2..10].try_into().expect("8 bytes"),
        noise: &bytes[10..10 + NOISE_LEN],
    })
}

/// A HANDSHAKE_1 with its MAC.
pub(crate) fn hs1(macs: &MacKeys, sid: &[u8; SID_LEN], timestamp: u64, noise: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HS1_LEN);
    out.extend_from_slice(&[PROTOCOL_VERSION, wire::HANDSHAKE_1]);
    out.extend_from_slice(sid);
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(noise);
    macs.seal(&mut out);
    out
}

/// A HANDSHAKE_2 with its MAC.
pub(crate) fn hs2(macs: &MacKeys, sid: &[u8; SID_LEN], noise: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HS2_LEN);
    out.extend_from_slice(&[PROTOCOL_VERSION, wire::HANDSHAKE_2]);
    out.extend_from_slice(sid);
    out.extend_from_slice(noise);
    macs.seal(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_peer_makes_a_good_mac() {
        let a = StaticKeypair::from_secret([1; 32]);
        let b = StaticKeypair::from_secret([2; 32]);
        let eve = StaticKeypair::from_secret([3; 32]);
        let ab = MacKeys::new(&a, &b.public()).unwrap();
        let ba = MacKeys::new(&b, &a.public()).unwrap();
        let message = hs1(&ab, &[7; 8], 42, &[9; NOISE_LEN]);
        assert_eq!(message.len(), HS1_LEN);
        assert!(ba.made_by_peer(&message), "b accepts what a made");
        assert!(!ab.made_by_peer(&message), "a does not take its own back");
        let eb = MacKeys::new(&eve, &b.public()).unwrap();
        assert!(!ba.made_by_peer(&hs1(&eb, &[7; 8], 42, &[9; NOISE_LEN])));
        for i in 0..message.len() {
            let mut bad = message.clone();
            bad[i] ^= 1;
            assert!(!ba.made_by_peer(&bad), "byte {i}");
        }
        let parsed = parse_hs1(&message).unwrap();
        assert_eq!((parsed.sid, parsed.timestamp), ([7; 8], 42));
    }
}
