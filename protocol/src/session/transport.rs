//! One set of transport keys: Noise's ChaChaPoly transport, done in place.
//!
//! After a handshake, Noise's split gives one key per direction. Transport
//! messages are `ChaCha20-Poly1305(k, n, ad = ∅, frame)` with the 96-bit nonce
//! `0⁣x00000000 ‖ little-endian u64 n`, exactly as Noise's `CipherState`
//! makes them. We seal and open them with ring directly, in place, instead of
//! through snow's transport object, which copies every message twice more.

use crate::replay_window::ReplayWindow;
use bytes::{Bytes, BytesMut};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use std::time::Instant;
use zeroize::Zeroizing;

/// The session id: names a set of keys on the wire.
pub(crate) type Sid = [u8; 8];

/// Poly1305 tag length.
pub(crate) const TAG_LEN: usize = 16;

/// Why a received DATA body was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpenFailure {
    /// Seen before, or too far behind the window.
    Replay,
    /// Did not authenticate under these keys.
    Auth,
}

/// One set of transport keys and their counters.
pub(crate) struct Transport {
    /// Names these keys on the wire.
    pub(crate) sid: Sid,
    /// Our sending key.
    send: LessSafeKey,
    /// The peer's sending key.
    recv: LessSafeKey,
    /// Next nonce to send with.
    pub(crate) next_nonce: u64,
    /// Nonces received with these keys.
    replay: ReplayWindow,
    /// For the age-based rekey; reset on confirmation.
    pub(crate) established_at: Instant,
    /// [`handshake_digest`](super::handshake_digest) of the handshake that made these keys.
    pub(crate) handshake: String,
}

fn key(bytes: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(
        UnboundKey::new(&CHACHA20_POLY1305, bytes).expect("32 bytes is a ChaCha20 key"),
    )
}

fn nonce(n: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&n.to_le_bytes());
    Nonce::assume_unique_for_key(bytes)
}

impl Transport {
    /// Takes the keys of a finished handshake.
    pub(crate) fn from_handshake(
        sid: Sid,
        mut noise: snow::HandshakeState,
        handshake: String,
        now: Instant,
    ) -> Transport {
        let initiator = noise.is_initiator();
        let (i_to_r, r_to_i) = noise.dangerously_get_raw_split();
        let (i_to_r, r_to_i) = (Zeroizing::new(i_to_r), Zeroizing::new(r_to_i));
        let (send, recv) = if initiator {
            (key(&i_to_r), key(&r_to_i))
        } else {
            (key(&r_to_i), key(&i_to_r))
        };
        Transport {
            sid,
            send,
            recv,
            next_nonce: 0,
            replay: ReplayWindow::new(),
            established_at: now,
            handshake,
        }
    }

    /// Seals in place: `message[from..]` is the plaintext; the tag is
    /// appended. Returns the nonce used.
    pub(crate) fn seal(&mut self, message: &mut Vec<u8>, from: usize) -> u64 {
        let n = self.next_nonce;
        self.next_nonce += 1;
        let tag = self
            .send
            .seal_in_place_separate_tag(nonce(n), Aad::empty(), &mut message[from..])
            .expect("frames are far below ChaCha20-Poly1305's length limit");
        message.extend_from_slice(tag.as_ref());
        n
    }

    /// Opens `sealed` (ciphertext ‖ tag) received with nonce `n`, decrypting
    /// in `buf`. The replay window is checked first and updated only when the
    /// message authenticated. The plaintext is split off `buf` as `Bytes`, so
    /// the frame decoded from it keeps slices instead of copies, and `buf`'s
    /// memory is reused once those are dropped.
    pub(crate) fn open(
        &mut self,
        n: u64,
        sealed: &[u8],
        buf: &mut BytesMut,
    ) -> Result<Bytes, OpenFailure> {
        self.replay.check(n).map_err(|_| OpenFailure::Replay)?;
        buf.clear();
        buf.extend_from_slice(sealed);
        let len = self
            .recv
            .open_in_place(nonce(n), Aad::empty(), &mut buf[..])
            .map_err(|_| OpenFailure::Auth)?
            .len();
        self.replay.accept(n).map_err(|_| OpenFailure::Replay)?;
        let plain = buf.split_to(len).freeze();
        Ok(plain)
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // a test picks the start of its time
mod tests {
    use super::*;
    use crate::identity::StaticKeypair;
    use crate::session::noise;

    /// Runs a KK handshake with snow and returns both finished states.
    fn handshake() -> (snow::HandshakeState, snow::HandshakeState) {
        let a = StaticKeypair::from_secret([1; 32]);
        let b = StaticKeypair::from_secret([2; 32]);
        let mut i = noise::handshake(&a, &b.public(), [3; 32], true, b"p").unwrap();
        let mut r = noise::handshake(&b, &a.public(), [4; 32], false, b"p").unwrap();
        let (mut m1, mut m2, mut p) = ([0u8; 128], [0u8; 128], [0u8; 64]);
        let n = i.write_message(&[], &mut m1).unwrap();
        r.read_message(&m1[..n], &mut p).unwrap();
        let n = r.write_message(&[], &mut m2).unwrap();
        i.read_message(&m2[..n], &mut p).unwrap();
        (i, r)
    }

    /// Our in-place transport must be byte-for-byte Noise's: snow's own
    /// transport opens what we seal, and we open what it seals.
    #[test]
    fn interoperates_with_snows_transport() {
        let (i, r) = handshake();
        let now = Instant::now();
        let mut ours = Transport::from_handshake([0; 8], i, String::new(), now);
        let theirs = r.into_stateless_transport_mode().unwrap();
        for n in 0..3u64 {
            // Ours → snow.
            let mut message = b"frame".to_vec();
            let used = ours.seal(&mut message, 0);
            assert_eq!(used, n);
            let mut out = [0u8; 64];
            let len = theirs.read_message(used, &message, &mut out).unwrap();
            assert_eq!(&out[..len], b"frame");
            // Snow → ours.
            let mut sealed = [0u8; 64];
            let len = theirs.write_message(n, b"reply", &mut sealed).unwrap();
            let got = ours.open(n, &sealed[..len], &mut BytesMut::new()).unwrap();
            assert_eq!(&got[..], b"reply");
        }
    }

    #[test]
    fn replay_and_forgery_are_told_apart() {
        let (i, r) = handshake();
        let now = Instant::now();
        let mut a = Transport::from_handshake([0; 8], i, String::new(), now);
        let mut b = Transport::from_handshake([0; 8], r, String::new(), now);
        let mut message = b"hello".to_vec();
        let n = a.seal(&mut message, 0);
        let mut forged = message.clone();
        forged[0] ^= 1;
        let mut buf = BytesMut::new();
        assert_eq!(b.open(n, &forged, &mut buf), Err(OpenFailure::Auth));
        // The forgery did not burn the nonce: the genuine message still opens.
        assert_eq!(b.open(n, &message, &mut buf).as_deref(), Ok(&b"hello"[..]));
        assert_eq!(b.open(n, &message, &mut buf), Err(OpenFailure::Replay));
    }
}
