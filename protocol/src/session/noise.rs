//! Noise_KK_25519_ChaChaPoly_SHA256 through `snow`, with randomness passed in.

use crate::identity::{PublicKey, StaticKeypair};
use snow::params::{CipherChoice, DHChoice, HashChoice};
use snow::resolvers::{CryptoResolver, DefaultResolver, RingResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use zeroize::Zeroizing;

/// The Noise protocol name; both sides must use exactly this.
pub const PATTERN: &str = "Noise_KK_25519_ChaChaPoly_SHA256";

/// Starts every handshake's prologue, followed by the handshake's session id
/// and timestamp: a handshake of another protocol or version, or one whose
/// sid or timestamp was changed on the way, fails instead of producing keys.
pub const PROLOGUE: &[u8] = b"nodepair/2/session";

/// The prologue of the handshake named `sid`, started at `timestamp`.
pub(crate) fn prologue(sid: &[u8; 8], timestamp: u64) -> [u8; 34] {
    let mut out = [0u8; 34];
    out[..18].copy_from_slice(PROLOGUE);
    out[18..26].copy_from_slice(sid);
    out[26..].copy_from_slice(&timestamp.to_be_bytes());
    out
}

/// snow's crypto, except that its only use of randomness (the ephemeral key)
/// is the 32 bytes the caller passes in.
struct Resolver {
    /// The ephemeral secret; handed out once.
    ephemeral: Zeroizing<[u8; 32]>,
}

/// Yields the ephemeral secret once, then fails: a second draw would mean
/// snow uses randomness we did not plan for.
struct OneShot(Option<Zeroizing<[u8; 32]>>);

impl Random for OneShot {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        match self.0.take() {
            Some(bytes) if dest.len() == 32 => {
                dest.copy_from_slice(bytes.as_ref());
                Ok(())
            }
            _ => Err(snow::Error::Rng),
        }
    }
}

impl CryptoResolver for Resolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(OneShot(Some(self.ephemeral.clone()))))
    }

    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        DefaultResolver.resolve_dh(choice)
    }

    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        RingResolver
            .resolve_hash(choice)
            .or_else(|| DefaultResolver.resolve_hash(choice))
    }

    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        RingResolver
            .resolve_cipher(choice)
            .or_else(|| DefaultResolver.resolve_cipher(choice))
    }
}

/// A KK handshake state for `own` talking to `peer`, with ephemeral secret
/// `ephemeral` (32 bytes from a CSPRNG) and the handshake's `prologue`.
pub(crate) fn handshake(
    own: &StaticKeypair,
    peer: &PublicKey,
    ephemeral: [u8; 32],
    initiator: bool,
    prologue: &[u8],
) -> Result<snow::HandshakeState, snow::Error> {
    let params = PATTERN.parse().expect("PATTERN is a valid Noise name");
    let resolver = Resolver {
        ephemeral: Zeroizing::new(ephemeral),
    };
    let secret = own.secret_bytes();
    let builder = snow::Builder::with_resolver(params, Box::new(resolver))
        .local_private_key(secret.as_ref())?
        .remote_public_key(peer.as_bytes())?
        .prologue(prologue)?;
    if initiator {
        builder.build_initiator()
    } else {
        builder.build_responder()
    }
}
