//! Key derivation: the pairing topic and handshake key from P, and the
//! per-pair session topic from the two static keys (HKDF-SHA256).

use crate::identity::{PublicKey, StaticKeypair};
use crate::pairing_code::PairingCode;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// HKDF salt of the pairing topic T; versioned with the protocol.
pub const TOPIC_SALT: &[u8] = b"nodepair/1/pairing-topic";
/// HKDF salt of the HELLO sealing key HS; versioned with the protocol.
pub const HANDSHAKE_KEY_SALT: &[u8] = b"nodepair/1/handshake-key";
/// HKDF salt of the topic of an introduction code (a second computer
/// joining from the first): never the same topic as a pairing code's.
pub const INTRODUCTION_TOPIC_SALT: &[u8] = b"nodepair/1/introduction-topic";
/// HKDF salt of an introduction code's HELLO sealing key.
pub const INTRODUCTION_KEY_SALT: &[u8] = b"nodepair/1/introduction-key";
/// HKDF salt of the per-pair session topic; versioned with the protocol.
pub const SESSION_TOPIC_SALT: &[u8] = b"nodepair/1/session-topic";

/// What both sides derive from a pairing code.
pub struct PairingKeys {
    /// T: names the pairing topic and is bound into HELLOs. Public.
    pub topic: [u8; 32],
    /// HS: seals the HELLOs. Secret, wiped when dropped.
    pub handshake_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for PairingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PairingKeys {{ topic: {}, handshake_key: redacted }}",
            hex::encode(self.topic)
        )
    }
}

/// HKDF-SHA256 with an empty info string, 32 bytes out.
pub(crate) fn hkdf32(salt: &[u8], ikm: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(&[], &mut out)
        .expect("32 bytes is within HKDF-SHA256's output limit");
    out
}

/// What a code is for: each derives its own topic and key, so a code
/// typed into the wrong command meets nobody.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Purpose {
    /// An app and a manager pairing.
    #[default]
    Pairing,
    /// A paired app introducing the same person's new computer.
    Introduction,
}

impl PairingKeys {
    /// `T = HKDF(P_be64, salt = TOPIC_SALT)`, `HS = HKDF(P_be64, salt = HANDSHAKE_KEY_SALT)`.
    pub fn derive(code: &PairingCode) -> Self {
        Self::derive_for(code, Purpose::Pairing)
    }

    /// As [`derive`](Self::derive), with the salts of `purpose`
    /// (`INTRODUCTION_TOPIC_SALT` and `INTRODUCTION_KEY_SALT` for an
    /// introduction).
    pub fn derive_for(code: &PairingCode, purpose: Purpose) -> Self {
        let (topic_salt, key_salt) = match purpose {
            Purpose::Pairing => (TOPIC_SALT, HANDSHAKE_KEY_SALT),
            Purpose::Introduction => (INTRODUCTION_TOPIC_SALT, INTRODUCTION_KEY_SALT),
        };
        let p = Zeroizing::new(code.to_be_bytes());
        PairingKeys {
            topic: hkdf32(topic_salt, p.as_ref()),
            handshake_key: Zeroizing::new(hkdf32(key_salt, p.as_ref())),
        }
    }

    /// The Waku content topic of the pairing: `/nodepair/1/pair-<hex(T[..16])>/proto`.
    pub fn content_topic(&self) -> String {
        format!("/nodepair/1/pair-{}/proto", hex::encode(&self.topic[..16]))
    }
}

/// The per-pair session content topic,
/// `/nodepair/1/s-<hex(HKDF(X25519(own, peer), salt = SESSION_TOPIC_SALT)[..16])>/proto`.
/// Both sides compute the same string; nobody else can, and it names no
/// identity. `None` for a low-order peer key.
pub fn session_content_topic(own: &StaticKeypair, peer: &PublicKey) -> Option<String> {
    let shared = own.diffie_hellman(peer)?;
    let t = hkdf32(SESSION_TOPIC_SALT, shared.as_ref());
    Some(format!("/nodepair/1/s-{}/proto", hex::encode(&t[..16])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_topic_has_the_documented_shape() {
        let keys = PairingKeys::derive(&PairingCode::from_u64(1));
        let topic = keys.content_topic();
        assert!(topic.starts_with("/nodepair/1/pair-"));
        assert!(topic.ends_with("/proto"));
        assert_eq!(topic.len(), "/nodepair/1/pair-".len() + 32 + "/proto".len());
    }

    #[test]
    fn topic_and_key_are_independent() {
        let keys = PairingKeys::derive(&PairingCode::from_u64(1));
        assert_ne!(keys.topic, *keys.handshake_key);
        let other = PairingKeys::derive(&PairingCode::from_u64(2));
        assert_ne!(keys.topic, other.topic);
    }

    #[test]
    fn an_introduction_code_meets_no_pairing() {
        let code = PairingCode::from_u64(1);
        let pairing = PairingKeys::derive(&code);
        let introduction = PairingKeys::derive_for(&code, Purpose::Introduction);
        assert_ne!(pairing.topic, introduction.topic);
        assert_ne!(*pairing.handshake_key, *introduction.handshake_key);
        assert_eq!(
            PairingKeys::derive_for(&code, Purpose::Pairing).topic,
            pairing.topic
        );
    }

    #[test]
    fn session_topic_is_symmetric_and_per_pair() {
        let a = StaticKeypair::from_secret([1; 32]);
        let b = StaticKeypair::from_secret([2; 32]);
        let c = StaticKeypair::from_secret([3; 32]);
        let ab = session_content_topic(&a, &b.public()).unwrap();
        assert_eq!(ab, session_content_topic(&b, &a.public()).unwrap());
        assert_ne!(ab, session_content_topic(&a, &c.public()).unwrap());
        assert!(!ab.contains(&hex::encode(&a.public().0[..8])));
    }

    #[test]
    fn debug_hides_the_handshake_key() {
        let keys = PairingKeys::derive(&PairingCode::from_u64(1));
        let shown = format!("{keys:?}");
        assert!(!shown.contains(&hex::encode(*keys.handshake_key)));
    }
}
