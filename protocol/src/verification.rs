//! The verification string both people compare before a pairing counts.
//!
//! ```text
//! V = SHA-256("nodepair/2/verification" ‖ T ‖ u16(len M) ‖ M ‖ u16(len A) ‖ A)
//! shown: first 8 bytes as a big-endian integer, mod 10⁶, as "ddd ddd"
//! ```
//!
//! `M` is the manager's HELLO body and `A` the app's, byte for byte: both
//! static keys, both names, both nonces, and the commitment the app
//! answered. Commit before reveal makes it impossible to grind: the manager
//! commits to `M` (with its nonce) before it sees `A`, and the app sends
//! `A` (with its nonce) before it sees `M`. Someone in the middle, holding
//! the code, must fix its `M′` towards the app before it learns the app's
//! nonce, and its `A′` towards the manager before it learns the manager's:
//! whichever side it finishes second, the string there depends on 256 fresh
//! random bits it could neither choose nor predict, so the two strings agree
//! with probability 10⁻⁶ per attempt (plus the negligible 10⁶/2⁶⁴ bias of
//! the reduction). Each attempt is a whole pairing that the people see.

use sha2::{Digest, Sha256};

/// Domain label of the verification hash.
const LABEL: &[u8] = b"nodepair/2/verification";

/// The six digits, `"123 456"`, for the pairing on topic `topic` between
/// the manager whose HELLO body is `manager_body` and the app whose HELLO
/// body is `app_body`.
pub fn verification_string(topic: &[u8; 32], manager_body: &[u8], app_body: &[u8]) -> String {
    let len = |b: &[u8]| u16::try_from(b.len()).unwrap_or(u16::MAX).to_be_bytes();
    let digest = Sha256::new()
        .chain_update(LABEL)
        .chain_update(topic)
        .chain_update(len(manager_body))
        .chain_update(manager_body)
        .chain_update(len(app_body))
        .chain_update(app_body)
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(first) % 1_000_000;
    format!("{:03} {:03}", n / 1000, n % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digits_that_move_with_every_byte() {
        let v = verification_string(&[1; 32], b"manager", b"app");
        assert_eq!(v.len(), 7);
        assert!(v.chars().all(|c| c.is_ascii_digit() || c == ' '));
        assert_ne!(v, verification_string(&[1; 32], b"manager", b"apq"));
        assert_ne!(v, verification_string(&[1; 32], b"managex", b"app"));
        // The length prefixes keep the two bodies apart.
        assert_ne!(v, verification_string(&[1; 32], b"manag", b"erapp"));
    }
}
