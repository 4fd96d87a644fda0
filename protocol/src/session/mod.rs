//! A Noise session with one counterparty over a lossy, reordering pub/sub
//! topic: handshakes, tie-break, transport, keepalive, rekey.
//!
//! Wire format of session messages (integers big-endian):
//!
//! ```text
//! HANDSHAKE_1: ver | 0x11 | sid (8) | Noise KK message 1 (e, es, ss)   = 10 + 48 bytes
//! HANDSHAKE_2: ver | 0x12 | sid (8) | Noise KK message 2 (e, ee, se)   = 10 + 48 bytes
//! DATA:        ver | 0x13 | sid (8) | nonce (8) | ChaChaPoly(frame) ‖ tag (16)
//! ```
//!
//! `sid` is chosen at random by the initiator of each handshake and names the
//! keys a DATA message is sealed with, so old and new keys can overlap during
//! a rekey. The nonce travels in clear, as in Noise's stateless transport, and
//! a [`ReplayWindow`](crate::replay_window::ReplayWindow) drops duplicates
//! and replays.
//!
//! # Driving a session
//!
//! Like quinn-proto's `Connection`, a [`Session`] does no IO and reads no
//! clock. Call, in any order: [`connect`](Session::connect) to start,
//! [`handle_message`](Session::handle_message) with every message received on
//! the session's topic, [`handle_timeout`](Session::handle_timeout) when the
//! instant of [`poll_timeout`](Session::poll_timeout) has come, and
//! [`send`](Session::send) for frames. After each call, drain
//! [`poll_transmit`](Session::poll_transmit) (messages to publish) and
//! [`poll_event`](Session::poll_event).

mod noise;
mod transport;

pub use noise::{PATTERN, PROLOGUE};

use crate::frame::{DisconnectReason, Encodable, Frame, MAX_FRAME_LEN};
use crate::identity::{PublicKey, StaticKeypair};
use crate::version::PROTOCOL_VERSION;
use crate::wire;
use bytes::BytesMut;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use transport::{OpenFailure, TAG_LEN, Transport};

/// Length of the session id carried in every session message.
const SID_LEN: usize = 8;
/// Version, type and session id.
const HEADER_LEN: usize = 2 + SID_LEN;
/// Frames sent before any session is up wait here; older ones are refused.
const MAX_QUEUED_FRAMES: usize = 64;
/// Handshakes answered that are remembered, so a replayed old HANDSHAKE_1
/// is not answered again.
const REMEMBERED_HANDSHAKES: usize = 64;

/// Timings and limits of a session.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// How often an online session pings (seed 004: 30 s).
    pub ping_interval: Duration,
    /// A ping unanswered this long marks the peer offline (seed 004: 10 s).
    pub pong_timeout: Duration,
    /// First delay before a handshake message is sent again.
    pub retry_initial: Duration,
    /// Longest delay between handshake retransmissions.
    pub retry_max: Duration,
    /// Re-handshake after sending this many frames with one set of keys.
    pub rekey_after_messages: u64,
    /// Re-handshake when the keys are this old.
    pub rekey_after: Duration,
    /// How long the keys a rekey replaced still open late messages.
    pub old_keys_grace: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            ping_interval: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(10),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
            rekey_after_messages: 1 << 20,
            rekey_after: Duration::from_secs(60 * 60),
            old_keys_grace: Duration::from_secs(30),
        }
    }
}

/// What a session tells its driver.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionEvent {
    /// The first handshake completed and the peer proved it holds the keys.
    Established {
        /// Digest of this handshake (see [`handshake_digest`]); the same on
        /// both sides of one handshake.
        handshake: String,
    },
    /// A re-handshake replaced the keys; the session stayed up.
    Rekeyed,
    /// A frame for the application: request, response, event or state
    /// update (keepalives are answered here).
    Frame(Frame),
    /// A pong came back after this long.
    RoundTrip(Duration),
    /// The peer stopped answering; the session re-handshakes on its own.
    Offline,
    /// The peer closed the session and said why; nothing more is sent.
    Closed {
        /// Why.
        reason: DisconnectReason,
        /// The peer's free text.
        detail: String,
    },
}

/// Why a frame could not be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The encoded frame is over [`MAX_FRAME_LEN`].
    #[error("frame of {len} bytes is over the {MAX_FRAME_LEN}-byte limit")]
    TooLarge {
        /// Encoded size.
        len: usize,
    },
    /// No session is up and the queue of waiting frames is full.
    #[error("no session is up and {MAX_QUEUED_FRAMES} frames are already waiting")]
    QueueFull,
    /// The session was closed.
    #[error("the session is closed")]
    Closed,
}

/// How long after sending our HANDSHAKE_1 a tie-break we win makes us send
/// it again at once (sooner, ours is still on its way).
pub const TIE_BREAK_RESEND_AFTER: Duration = Duration::from_millis(100);

/// What a session dropped, and why; for `status` and for tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Messages too short, of another version or of an unknown type.
    pub malformed: u64,
    /// Handshakes or frames that failed authentication (e.g. a key that is
    /// not the counterparty's).
    pub auth_failures: u64,
    /// Duplicates and replays refused by the anti-replay window.
    pub replays: u64,
    /// DATA for keys this session does not hold (expired or never known).
    pub unknown_keys: u64,
    /// Handshakes from the peer ignored because ours won the tie-break.
    pub tie_breaks_won: u64,
    /// Frames that decrypted but did not decode (or of unknown type).
    pub bad_frames: u64,
    /// Handshakes completed (first and rekeys).
    pub handshakes: u64,
}

/// A handshake we started and are waiting on.
struct Outgoing {
    sid: [u8; SID_LEN],
    noise: snow::HandshakeState,
    /// HANDSHAKE_1 as sent, re-sent unchanged until answered.
    message: Vec<u8>,
    /// When it was last sent.
    sent_at: Instant,
    /// When to re-send.
    retry_at: Instant,
    /// Current retry delay; doubles up to `retry_max`.
    retry_delay: Duration,
}

/// A handshake we answered; its keys count once the initiator uses them.
struct Answered {
    /// HANDSHAKE_2 as sent, re-sent if HANDSHAKE_1 comes again.
    message: Vec<u8>,
    transport: Transport,
}

/// A Noise session with one counterparty. See the module docs for the call
/// order.
pub struct Session {
    config: SessionConfig,
    own: StaticKeypair,
    peer: PublicKey,
    /// Draws session ids, ephemeral keys and ping ids; seeded by the caller.
    rng: ChaCha20Rng,
    /// The confirmed keys frames are sent with.
    current: Option<Transport>,
    /// Keys a rekey replaced, still accepted until the instant given.
    previous: Option<(Transport, Instant)>,
    outgoing: Option<Outgoing>,
    answered: Option<Answered>,
    /// When the next keepalive ping is due.
    next_ping: Option<Instant>,
    /// The ping we wait for: its id and when it was sent.
    awaiting_pong: Option<(u64, Instant)>,
    /// Whether `Established` was reported (later handshakes are rekeys).
    ever_established: bool,
    /// The peer sent a disconnect, or we closed.
    closed: bool,
    /// Where received DATA is decrypted; its memory is reused once the
    /// frames decoded from it are dropped.
    recv_buf: BytesMut,
    /// Session ids of the last handshakes we answered, newest last.
    answered_sids: VecDeque<[u8; SID_LEN]>,
    /// Frames sent before any keys were confirmed.
    queued: VecDeque<Encodable>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<SessionEvent>,
    stats: SessionStats,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.peer)
            .field("online", &self.is_online())
            .field("closed", &self.closed)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A short digest of a handshake for logs and tests: the first 8 bytes of
/// `SHA-256("nodepair/1/handshake" ‖ h)` in hex, `h` being Noise's handshake
/// hash. Equal on both sides of one handshake, different for every other.
pub fn handshake_digest(handshake_hash: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"nodepair/1/handshake")
        .chain_update(handshake_hash)
        .finalize();
    hex::encode(&digest[..8])
}

impl Session {
    /// A session between `own` and `peer`, idle until [`connect`](Self::connect)
    /// or a handshake from the peer. `seed`: 32 bytes from a CSPRNG.
    pub fn new(config: SessionConfig, own: StaticKeypair, peer: PublicKey, seed: [u8; 32]) -> Self {
        Session {
            config,
            own,
            peer,
            rng: ChaCha20Rng::from_seed(seed),
            current: None,
            previous: None,
            outgoing: None,
            answered: None,
            next_ping: None,
            awaiting_pong: None,
            ever_established: false,
            closed: false,
            recv_buf: BytesMut::new(),
            answered_sids: VecDeque::new(),
            queued: VecDeque::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            stats: SessionStats::default(),
        }
    }

    /// The counterparty's static key.
    pub fn peer(&self) -> &PublicKey {
        &self.peer
    }

    /// Whether confirmed keys are up and the peer has not gone quiet.
    pub fn is_online(&self) -> bool {
        self.current.is_some() && !self.closed
    }

    /// Whether either side closed the session.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// [`handshake_digest`] of the keys in use.
    pub fn handshake(&self) -> Option<&str> {
        self.current.as_ref().map(|t| t.handshake.as_str())
    }

    /// What was dropped so far, and why.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// Whether our static key wins the tie-break: when both sides start a
    /// handshake at once, the lower key stays initiator.
    fn wins_tie_break(&self) -> bool {
        self.own.public() < self.peer
    }

    /// Starts a handshake as initiator (on start-up, after the peer went
    /// offline, or to rekey). Does nothing if one is already under way.
    pub fn connect(&mut self, now: Instant) {
        if self.closed || self.outgoing.is_some() {
            return;
        }
        let mut sid = [0u8; SID_LEN];
        self.rng.fill_bytes(&mut sid);
        let mut ephemeral = [0u8; 32];
        self.rng.fill_bytes(&mut ephemeral);
        let Ok(mut noise) = noise::handshake(&self.own, &self.peer, ephemeral, true) else {
            // Only a low-order peer key gets here; it can never handshake.
            self.stats.auth_failures += 1;
            return;
        };
        let mut message = header(wire::HANDSHAKE_1, &sid, 48);
        let mut buf = [0u8; 128];
        match noise.write_message(&[], &mut buf) {
            Ok(n) => message.extend_from_slice(&buf[..n]),
            Err(_) => {
                self.stats.auth_failures += 1;
                return;
            }
        }
        self.transmit.push_back(message.clone());
        self.outgoing = Some(Outgoing {
            sid,
            noise,
            message,
            sent_at: now,
            retry_at: now + self.config.retry_initial,
            retry_delay: self.config.retry_initial,
        });
    }

    /// Handles one message received on the session's topic. Anything that is
    /// not for this session, not authentic, or seen before is dropped and
    /// counted in [`stats`](Self::stats).
    pub fn handle_message(&mut self, now: Instant, bytes: &[u8]) {
        if self.closed {
            return;
        }
        let ty = match wire::kind(bytes) {
            Ok(wire::Kind::Session(ty)) if bytes.len() >= HEADER_LEN => ty,
            _ => {
                self.stats.malformed += 1;
                return;
            }
        };
        let mut sid = [0u8; SID_LEN];
        sid.copy_from_slice(&bytes[2..HEADER_LEN]);
        let body = &bytes[HEADER_LEN..];
        match ty {
            wire::HANDSHAKE_1 => self.handle_handshake_1(now, sid, body),
            wire::HANDSHAKE_2 => self.handle_handshake_2(now, sid, body),
            _ => self.handle_data(now, sid, body),
        }
    }

    fn handle_handshake_1(&mut self, now: Instant, sid: [u8; SID_LEN], body: &[u8]) {
        if let Some(answered) = &self.answered
            && answered.transport.sid == sid
        {
            // Our answer was lost: send it again, unchanged.
            self.transmit.push_back(answered.message.clone());
            return;
        }
        if self.answered_sids.contains(&sid) || self.outgoing.as_ref().is_some_and(|o| o.sid == sid)
        {
            // A late copy or a replay of a handshake already handled: answering
            // it again would only displace a handshake in progress.
            self.stats.replays += 1;
            return;
        }
        let mut ephemeral = [0u8; 32];
        self.rng.fill_bytes(&mut ephemeral);
        let Ok(mut noise) = noise::handshake(&self.own, &self.peer, ephemeral, false) else {
            self.stats.auth_failures += 1;
            return;
        };
        let mut payload = [0u8; 64];
        if noise.read_message(body, &mut payload).is_err() {
            // Not from our counterparty's key (or altered): drop it.
            self.stats.auth_failures += 1;
            return;
        }
        if self.outgoing.is_some() {
            if self.wins_tie_break() {
                self.stats.tie_breaks_won += 1;
                // The peer is there now. Ours may have gone out long ago,
                // to a peer that was down, and its next re-send be up to
                // `retry_max` away: send it again at once, and start the
                // back-off over. Not when ours just left (a true
                // simultaneous open: it is on its way).
                if let Some(o) = self.outgoing.as_mut()
                    && now.saturating_duration_since(o.sent_at) >= TIE_BREAK_RESEND_AFTER
                {
                    self.transmit.push_back(o.message.clone());
                    o.sent_at = now;
                    o.retry_delay = self.config.retry_initial;
                    o.retry_at = now + o.retry_delay;
                }
                return;
            }
            // Theirs wins: answer it and forget ours.
            self.outgoing = None;
        }
        let mut message = header(wire::HANDSHAKE_2, &sid, 48);
        let mut buf = [0u8; 128];
        let Ok(n) = noise.write_message(&[], &mut buf) else {
            self.stats.auth_failures += 1;
            return;
        };
        message.extend_from_slice(&buf[..n]);
        let handshake = handshake_digest(noise.get_handshake_hash());
        if self.answered_sids.len() == REMEMBERED_HANDSHAKES {
            self.answered_sids.pop_front();
        }
        self.answered_sids.push_back(sid);
        self.transmit.push_back(message.clone());
        self.answered = Some(Answered {
            message,
            // Its age counts from the initiator's first DATA, set then.
            transport: Transport::from_handshake(sid, noise, handshake, now),
        });
    }

    fn handle_handshake_2(&mut self, now: Instant, sid: [u8; SID_LEN], body: &[u8]) {
        let Some(outgoing) = self.outgoing.as_mut().filter(|o| o.sid == sid) else {
            // An answer to no handshake of ours (late, duplicated or forged).
            self.stats.replays += 1;
            return;
        };
        let mut payload = [0u8; 64];
        if outgoing.noise.read_message(body, &mut payload).is_err() {
            self.stats.auth_failures += 1;
            return;
        }
        let outgoing = self.outgoing.take().expect("checked above");
        let handshake = handshake_digest(outgoing.noise.get_handshake_hash());
        let transport = Transport::from_handshake(sid, outgoing.noise, handshake, now);
        // A handshake of ours completed: any answer we gave the peer is moot.
        self.answered = None;
        self.install(now, transport);
        // The first DATA confirms the keys to the responder, and measures
        // the round trip.
        self.send_ping(now);
    }

    fn handle_data(&mut self, now: Instant, sid: [u8; SID_LEN], body: &[u8]) {
        if body.len() < 8 + TAG_LEN {
            self.stats.malformed += 1;
            return;
        }
        let nonce = u64::from_be_bytes(body[..8].try_into().expect("8 bytes"));
        let sealed = &body[8..];
        let (transport, answered) = if let Some(t) = self.current.as_mut().filter(|t| t.sid == sid)
        {
            (t, false)
        } else if let Some(a) = self.answered.as_mut().filter(|a| a.transport.sid == sid) {
            (&mut a.transport, true)
        } else if let Some((t, _)) = self.previous.as_mut().filter(|(t, _)| t.sid == sid) {
            (t, false)
        } else {
            self.stats.unknown_keys += 1;
            return;
        };
        let plain = match transport.open(nonce, sealed, &mut self.recv_buf) {
            Ok(plain) => plain,
            Err(OpenFailure::Replay) => {
                self.stats.replays += 1;
                return;
            }
            Err(OpenFailure::Auth) => {
                self.stats.auth_failures += 1;
                return;
            }
        };
        if answered {
            // The initiator used the keys we answered with: they count now.
            let mut answered = self.answered.take().expect("matched above");
            answered.transport.established_at = now;
            self.outgoing = None;
            self.install(now, answered.transport);
        }
        match Frame::decode_bytes(plain) {
            Ok(frame) => self.handle_frame(now, frame),
            Err(_) => self.stats.bad_frames += 1,
        }
    }

    /// Makes `transport` the keys in use, reports it, and sends what waited.
    fn install(&mut self, now: Instant, transport: Transport) {
        self.stats.handshakes += 1;
        let handshake = transport.handshake.clone();
        if let Some(old) = self.current.replace(transport) {
            self.previous = Some((old, now + self.config.old_keys_grace));
        }
        self.awaiting_pong = None;
        self.next_ping = Some(now + self.config.ping_interval);
        if self.ever_established {
            self.events.push_back(SessionEvent::Rekeyed);
        } else {
            self.ever_established = true;
            self.events
                .push_back(SessionEvent::Established { handshake });
        }
        while let Some(frame) = self.queued.pop_front() {
            let len = frame.len();
            self.seal_encodable(&frame, len);
        }
    }

    fn handle_frame(&mut self, now: Instant, frame: Frame) {
        match frame {
            Frame::Ping { id } => self.seal(Frame::Pong { id }),
            Frame::Pong { id } => {
                if let Some((want, sent_at)) = self.awaiting_pong
                    && want == id
                {
                    self.awaiting_pong = None;
                    self.events.push_back(SessionEvent::RoundTrip(
                        now.saturating_duration_since(sent_at),
                    ));
                }
            }
            Frame::Disconnect { reason, detail } => {
                self.shut();
                self.events
                    .push_back(SessionEvent::Closed { reason, detail });
            }
            other => self.events.push_back(SessionEvent::Frame(other)),
        }
    }

    /// Drops all keys and timers; nothing more is sent or accepted.
    fn shut(&mut self) {
        self.closed = true;
        self.current = None;
        self.previous = None;
        self.outgoing = None;
        self.answered = None;
        self.next_ping = None;
        self.awaiting_pong = None;
        self.queued.clear();
    }

    fn send_ping(&mut self, now: Instant) {
        let id = self.rng.next_u64();
        self.awaiting_pong = Some((id, now));
        self.next_ping = Some(now + self.config.ping_interval);
        self.seal(Frame::Ping { id });
    }

    /// Seals `frame` with the current keys and queues it for publishing.
    fn seal(&mut self, frame: Frame) {
        let frame = frame.into_encodable();
        let len = frame.len();
        self.seal_encodable(&frame, len);
    }

    /// Seals an encodable frame: header, nonce, frame and tag in one buffer,
    /// sealed in place.
    fn seal_encodable(&mut self, frame: &Encodable, len: usize) {
        let Some(transport) = self.current.as_mut() else {
            return;
        };
        let start = HEADER_LEN + 8;
        let mut message = header(wire::DATA, &transport.sid, 8 + len + TAG_LEN);
        message.extend_from_slice(&[0; 8]);
        frame.encode_into(&mut message);
        let nonce = transport.seal(&mut message, start);
        message[HEADER_LEN..start].copy_from_slice(&nonce.to_be_bytes());
        self.transmit.push_back(message);
    }

    /// Sends an application frame: sealed now if keys are up, else queued
    /// until the handshake completes.
    pub fn send(&mut self, frame: Frame) -> Result<(), SendError> {
        if self.closed {
            return Err(SendError::Closed);
        }
        let encodable = frame.into_encodable();
        let len = encodable.len();
        if len > MAX_FRAME_LEN {
            return Err(SendError::TooLarge { len });
        }
        if self.current.is_some() {
            self.seal_encodable(&encodable, len);
            Ok(())
        } else if self.queued.len() < MAX_QUEUED_FRAMES {
            self.queued.push_back(encodable);
            Ok(())
        } else {
            Err(SendError::QueueFull)
        }
    }

    /// Tells the peer why we close (e.g. `Shutdown`, `Revoked`) and closes.
    pub fn close(&mut self, reason: DisconnectReason, detail: &str) {
        if self.closed {
            return;
        }
        self.seal(Frame::Disconnect {
            reason,
            detail: detail.to_owned(),
        });
        self.shut();
    }

    /// Runs the timers due at `now`: handshake retransmission, keepalive,
    /// the pong deadline, rekeying and forgetting replaced keys.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if let Some(o) = self.outgoing.as_mut()
            && now >= o.retry_at
        {
            self.transmit.push_back(o.message.clone());
            o.sent_at = now;
            o.retry_delay = (o.retry_delay * 2).min(self.config.retry_max);
            o.retry_at = now + o.retry_delay;
        }
        if self
            .previous
            .as_ref()
            .is_some_and(|(_, until)| now >= *until)
        {
            self.previous = None;
        }
        if let Some((_, sent_at)) = self.awaiting_pong
            && now >= sent_at + self.config.pong_timeout
        {
            // The peer went quiet: its keys are useless now. Start over.
            self.awaiting_pong = None;
            self.next_ping = None;
            if let Some(old) = self.current.take() {
                self.previous = Some((old, now + self.config.old_keys_grace));
            }
            self.events.push_back(SessionEvent::Offline);
            self.connect(now);
            return;
        }
        if self.next_ping.is_some_and(|at| now >= at) && self.awaiting_pong.is_none() {
            self.send_ping(now);
        }
        if let Some(t) = &self.current {
            let worn = t.next_nonce >= self.config.rekey_after_messages
                || now >= t.established_at + self.config.rekey_after;
            if worn && self.outgoing.is_none() {
                self.connect(now);
            }
        }
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) has work at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let rekey_at = self
            .current
            .as_ref()
            .filter(|_| self.outgoing.is_none())
            .map(|t| t.established_at + self.config.rekey_after);
        [
            self.outgoing.as_ref().map(|o| o.retry_at),
            self.previous.as_ref().map(|(_, until)| *until),
            self.awaiting_pong
                .map(|(_, sent)| sent + self.config.pong_timeout),
            self.next_ping.filter(|_| self.awaiting_pong.is_none()),
            rekey_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next message to publish on the session's topic.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event for the driver.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }
}

/// Two sessions between `a` and `b` with keys up, handshaken in memory at
/// `now` with `a` initiating: for benchmarks, fuzzing and examples that need
/// an established session without a network.
///
/// # Panics
///
/// If the handshake fails, which only a low-order key can cause.
pub fn in_memory_pair(a: StaticKeypair, b: StaticKeypair, now: Instant) -> (Session, Session) {
    let config = SessionConfig::default();
    let mut sa = Session::new(config.clone(), a.clone(), b.public(), [0xa5; 32]);
    let mut sb = Session::new(config, b, a.public(), [0x5a; 32]);
    sa.connect(now);
    // HANDSHAKE_1, HANDSHAKE_2, then the ping that confirms and its pong.
    for _ in 0..3 {
        while let Some(m) = sa.poll_transmit() {
            sb.handle_message(now, &m);
        }
        while let Some(m) = sb.poll_transmit() {
            sa.handle_message(now, &m);
        }
    }
    assert!(
        sa.is_online() && sb.is_online(),
        "in-memory handshake failed"
    );
    while sa.poll_event().is_some() {}
    while sb.poll_event().is_some() {}
    (sa, sb)
}

/// A session message's header, in a buffer with room for `rest` more bytes.
fn header(ty: u8, sid: &[u8; SID_LEN], rest: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + rest);
    out.push(PROTOCOL_VERSION);
    out.push(ty);
    out.extend_from_slice(sid);
    out
}
