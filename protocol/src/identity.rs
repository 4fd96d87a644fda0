//! Who a side is: its static X25519 key pair and its node id.

use std::fmt;
use zeroize::Zeroizing;

/// Length of X25519 keys, public and secret.
pub const KEY_LEN: usize = 32;

/// A side's long-lived X25519 key pair: created once, kept in the keystore,
/// and used for every session. The secret half is wiped when dropped and
/// never shown by `Debug`.
#[derive(Clone)]
pub struct StaticKeypair {
    /// Kept as dalek's type so Diffie-Hellman needs no copy of the bytes.
    secret: x25519_dalek::StaticSecret,
    /// Derived from `secret` once, at construction.
    public: PublicKey,
}

impl StaticKeypair {
    /// The key pair whose secret is `secret` (32 bytes from a CSPRNG for a new
    /// identity, or the bytes stored in the keystore).
    pub fn from_secret(secret: [u8; KEY_LEN]) -> Self {
        let secret = x25519_dalek::StaticSecret::from(secret);
        let public = PublicKey(x25519_dalek::PublicKey::from(&secret).to_bytes());
        StaticKeypair { secret, public }
    }

    /// The public half, which the other side learns through pairing.
    pub fn public(&self) -> PublicKey {
        self.public
    }

    /// The secret bytes, for the keystore and for Noise; wiped when dropped.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// X25519 with `peer`, or `None` when `peer` is a low-order point that
    /// would make the result independent of our secret.
    pub fn diffie_hellman(&self, peer: &PublicKey) -> Option<Zeroizing<[u8; KEY_LEN]>> {
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(peer.0));
        shared
            .was_contributory()
            .then(|| Zeroizing::new(shared.to_bytes()))
    }
}

impl fmt::Debug for StaticKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "StaticKeypair {{ public: {}, secret: redacted }}",
            self.public
        )
    }
}

/// A side's static X25519 public key: its identity in NodePair.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey(pub [u8; KEY_LEN]);

impl PublicKey {
    /// Whether the key is written the one way X25519 reads it: the top bit
    /// clear (X25519 ignores it) and the value below 2²⁵⁵ − 19. The same
    /// point written otherwise would pass a byte comparison as another key.
    pub fn is_canonical(&self) -> bool {
        let k = &self.0;
        if k[31] & 0x80 != 0 {
            return false;
        }
        // 2²⁵⁵ − 19 … 2²⁵⁵ − 1: ed ff … ff 7f, little-endian.
        !(k[31] == 0x7f && k[1..31].iter().all(|b| *b == 0xff) && k[0] >= 0xed)
    }

    /// Whether this is a low-order point: X25519 with it gives zero whatever
    /// the secret, so no session made with it would be secret.
    pub fn is_low_order(&self) -> bool {
        // Any scalar will do: a clamped one is a multiple of the cofactor,
        // which sends exactly the low-order points to zero.
        let probe = x25519_dalek::StaticSecret::from([0x5a; KEY_LEN]);
        !probe
            .diffie_hellman(&x25519_dalek::PublicKey::from(self.0))
            .was_contributory()
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A short form for people: the first 8 bytes in hex, in groups of four
    /// (`4f1c-9a02-77be-e310`).
    pub fn fingerprint(&self) -> String {
        let hex = hex::encode(&self.0[..8]);
        format!(
            "{}-{}-{}-{}",
            &hex[0..4],
            &hex[4..8],
            &hex[8..12],
            &hex[12..16]
        )
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// Text that is not a public key: 64 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a public key is 64 hex digits")]
pub struct PublicKeyParseError;

impl std::str::FromStr for PublicKey {
    type Err = PublicKeyParseError;

    /// Reads the 64 hex digits [`Display`](fmt::Display) writes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut key = [0u8; KEY_LEN];
        hex::decode_to_slice(s.trim(), &mut key).map_err(|_| PublicKeyParseError)?;
        Ok(PublicKey(key))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

/// A side's random node id (a UUID v4, as seed 000 names nodes): stable
/// across restarts, shown to people, never used for authentication.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub uuid::Uuid);

impl NodeId {
    /// A v4 UUID from 16 bytes of a CSPRNG.
    pub fn from_random(random: [u8; 16]) -> Self {
        NodeId(uuid::Builder::from_random_bytes(random).into_uuid())
    }

    /// The id's 16 bytes, as carried in HELLOs.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_compute_the_same_secret() {
        let a = StaticKeypair::from_secret([1; 32]);
        let b = StaticKeypair::from_secret([2; 32]);
        assert_eq!(
            *a.diffie_hellman(&b.public()).unwrap(),
            *b.diffie_hellman(&a.public()).unwrap()
        );
    }

    #[test]
    fn public_keys_read_back_what_they_print() {
        let key = StaticKeypair::from_secret([7; 32]).public();
        assert_eq!(key.to_string().parse::<PublicKey>(), Ok(key));
        assert_eq!("abc".parse::<PublicKey>(), Err(PublicKeyParseError));
        assert_eq!(
            "zz".repeat(32).parse::<PublicKey>(),
            Err(PublicKeyParseError)
        );
    }

    #[test]
    fn a_low_order_peer_key_is_refused() {
        let a = StaticKeypair::from_secret([1; 32]);
        assert!(a.diffie_hellman(&PublicKey([0; 32])).is_none());
    }

    #[test]
    fn debug_hides_the_secret() {
        let a = StaticKeypair::from_secret([7; 32]);
        let shown = format!("{a:?}");
        assert!(shown.contains("secret: redacted"));
        assert!(!shown.contains(&hex::encode([7u8; 32])));
    }

    #[test]
    fn node_ids_are_v4_uuids() {
        let id = NodeId::from_random([0xab; 16]);
        assert_eq!(id.0.get_version_num(), 4);
        assert_eq!(id.to_string().len(), 36);
    }
}
