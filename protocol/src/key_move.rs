//! A side moving to a new static key without pairing again: the announcement it sends inside a session, and its proof of possession.
//!
//! The side that moves (R) sends its counterparty (C), inside a session
//! authenticated under its current key K, a request `nodepair.rotate` whose
//! body names its new key K′ and proves R holds K′'s secret:
//!
//! ```text
//! proof = HMAC-SHA256(key = X25519(k′, C), "nodepair/2/key-move" ‖ K ‖ K′ ‖ C)
//! ```
//!
//! C computes the same key as X25519(c, K′). Only a holder of k′ (or of C's
//! own secret) can make the proof, and it names the key it replaces and the
//! counterparty it is for: an announcement played back in a later session
//! (under K′, or to another counterparty) does not check.

use crate::identity::{KEY_LEN, PublicKey, StaticKeypair};
use prost::Message;
use ring::hmac;

/// The request method that carries an announcement.
pub const ROTATE_METHOD: &str = "nodepair.rotate";

/// Binds the proof to this protocol and purpose.
const LABEL: &[u8] = b"nodepair/2/key-move";

/// The announcement's body.
#[derive(Clone, PartialEq, prost::Message)]
struct WireMove {
    /// 1.
    #[prost(uint32, tag = "1")]
    version: u32,
    /// K′, 32 bytes.
    #[prost(bytes = "vec", tag = "2")]
    new_key: Vec<u8>,
    /// The HMAC above, 32 bytes.
    #[prost(bytes = "vec", tag = "3")]
    proof: Vec<u8>,
}

/// Why an announcement is refused; nothing is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoveError {
    /// Not an announcement of this version.
    #[error("the key move announcement is malformed")]
    Malformed,
    /// K′ is K, or a key no Diffie-Hellman can be done with.
    #[error("the key move announces an unusable key")]
    UnusableKey,
    /// The proof is not K′'s for this pair and this K: made without K′'s
    /// secret, or played back from another session or counterparty.
    #[error("the key move's proof of possession does not check")]
    BadProof,
}

/// What the proof is an HMAC of.
fn transcript(old: &PublicKey, new: &PublicKey, peer: &PublicKey) -> Vec<u8> {
    let mut msg = Vec::with_capacity(LABEL.len() + 3 * KEY_LEN);
    msg.extend_from_slice(LABEL);
    msg.extend_from_slice(old.as_bytes());
    msg.extend_from_slice(new.as_bytes());
    msg.extend_from_slice(peer.as_bytes());
    msg
}

/// The body R sends `peer` to move from `old` (its current key, which the
/// session is under) to `new`. `None` when `peer` is a key no
/// Diffie-Hellman can be done with (never one that paired).
pub fn announce(old: &PublicKey, new: &StaticKeypair, peer: &PublicKey) -> Option<Vec<u8>> {
    let shared = new.diffie_hellman(peer)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, shared.as_ref());
    let tag = hmac::sign(&key, &transcript(old, &new.public(), peer));
    Some(
        WireMove {
            version: 1,
            new_key: new.public().as_bytes().to_vec(),
            proof: tag.as_ref().to_vec(),
        }
        .encode_to_vec(),
    )
}

/// C's check of an announcement from the counterparty whose current key is
/// `old` (the key its session is under): the new key, if it holds.
pub fn check(own: &StaticKeypair, old: &PublicKey, body: &[u8]) -> Result<PublicKey, MoveError> {
    let wire = WireMove::decode(body).map_err(|_| MoveError::Malformed)?;
    if wire.version != 1 || wire.proof.len() != 32 {
        return Err(MoveError::Malformed);
    }
    let new = PublicKey(
        <[u8; KEY_LEN]>::try_from(wire.new_key.as_slice()).map_err(|_| MoveError::Malformed)?,
    );
    if new == *old || new == own.public() {
        return Err(MoveError::UnusableKey);
    }
    let shared = own.diffie_hellman(&new).ok_or(MoveError::UnusableKey)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, shared.as_ref());
    hmac::verify(&key, &transcript(old, &new, &own.public()), &wire.proof)
        .map_err(|_| MoveError::BadProof)?;
    Ok(new)
}

/// Whether the rotating side retires its old key now: once no
/// counterparty is left to move (`waiting`), or once `grace` has passed
/// since the rotation began (`started`, `now`: Unix seconds); those left
/// then must pair again.
pub fn retire_due(waiting: usize, started: u64, now: u64, grace: std::time::Duration) -> bool {
    waiting == 0 || now >= started.saturating_add(grace.as_secs())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_old_key_goes_once_all_moved_or_the_grace_period_is_over() {
        let grace = std::time::Duration::from_secs(14 * 24 * 3600);
        assert!(super::retire_due(0, 1_000, 1_000, grace));
        assert!(!super::retire_due(
            1,
            1_000,
            1_000 + grace.as_secs() - 1,
            grace
        ));
        assert!(super::retire_due(1, 1_000, 1_000 + grace.as_secs(), grace));
    }

    use super::*;

    fn key(n: u8) -> StaticKeypair {
        StaticKeypair::from_secret([n; 32])
    }

    #[test]
    fn an_announcement_checks_for_its_counterparty_and_the_key_it_replaces() {
        let (old, new, c) = (key(1), key(2), key(3));
        let body = announce(&old.public(), &new, &c.public()).unwrap();
        assert_eq!(check(&c, &old.public(), &body), Ok(new.public()));
        // Played back in the session under the new key (a move to the key
        // it has), after a later move (the key it names is no longer the
        // session's), or to another counterparty: refused.
        assert_eq!(check(&c, &new.public(), &body), Err(MoveError::UnusableKey));
        assert_eq!(check(&c, &key(5).public(), &body), Err(MoveError::BadProof));
        assert_eq!(
            check(&key(4), &old.public(), &body),
            Err(MoveError::BadProof)
        );
    }

    #[test]
    fn an_announcement_without_the_new_secret_does_not_check() {
        let (old, c) = (key(1), key(3));
        let stranger = key(9);
        // Someone who knows only K′'s public key: the best it can do is a
        // proof under a key of its own.
        let mut body = WireMove::decode(
            announce(&old.public(), &stranger, &c.public())
                .unwrap()
                .as_slice(),
        )
        .unwrap();
        body.new_key = key(2).public().as_bytes().to_vec();
        assert_eq!(
            check(&c, &old.public(), &body.encode_to_vec()),
            Err(MoveError::BadProof)
        );
        body.proof = vec![0; 32];
        assert_eq!(
            check(&c, &old.public(), &body.encode_to_vec()),
            Err(MoveError::BadProof)
        );
    }

    #[test]
    fn malformed_and_unusable_announcements_say_which() {
        let (old, c) = (key(1), key(3));
        assert_eq!(
            check(&c, &old.public(), b"\xff\xff"),
            Err(MoveError::Malformed)
        );
        let wire = |new_key: Vec<u8>, proof: Vec<u8>| {
            WireMove {
                version: 1,
                new_key,
                proof,
            }
            .encode_to_vec()
        };
        assert_eq!(
            check(&c, &old.public(), &wire(vec![2; 31], vec![0; 32])),
            Err(MoveError::Malformed)
        );
        assert_eq!(
            check(
                &c,
                &old.public(),
                &wire(old.public().as_bytes().to_vec(), vec![0; 32])
            ),
            Err(MoveError::UnusableKey),
            "a move to the key it has"
        );
        assert_eq!(
            check(&c, &old.public(), &wire(vec![0; 32], vec![0; 32])),
            Err(MoveError::UnusableKey),
            "a low-order point"
        );
    }
}
