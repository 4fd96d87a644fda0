//! A Noise session with one counterparty over a lossy, reordering pub/sub
//! topic: handshakes, tie-break, transport, keepalive, rekey.
//!
//! Wire format of session messages (integers big-endian; the handshakes are
//! in [`handshake`]):
//!
//! ```text
//! HANDSHAKE_1: ver | 0x11 | sid (8) | timestamp (8) | Noise KK message 1 | mac (32)
//! HANDSHAKE_2: ver | 0x12 | sid (8) |                  Noise KK message 2 | mac (32)
//! DATA:        ver | 0x13 | sid (8) | nonce (8) | ChaChaPoly(frame) ‖ tag (16)
//! ```
//!
//! `sid` is chosen at random by the initiator of each handshake and names the
//! keys a DATA message is sealed with, so old and new keys can overlap during
//! a rekey. The sid and the initiator's timestamp are bound into the
//! handshake (its prologue and its MAC), and a responder answers a
//! HANDSHAKE_1 only if its timestamp is newer than every one it answered
//! before: a recorded handshake, re-published as it was or with another
//! sid, gets no answer and costs one HMAC. The nonce of DATA travels in
//! clear, as in Noise's stateless transport, and a
//! [`ReplayWindow`](crate::replay_window::ReplayWindow) drops duplicates and
//! replays.
//!
//! # Who starts handshakes
//!
//! Only the side whose static key is lower starts handshakes. The other
//! side's HANDSHAKE_1 is never answered: it is a wake-up, telling the lower
//! side that the higher one restarted, lost its keys or wants new ones, and
//! the lower side starts a handshake (or sends its own again) on it. So all
//! handshakes of a pair come from one side, in the order of its
//! timestamps, and both sides install the keys of the newest confirmed one:
//! there is never a second handshake racing the first, and the two sides
//! cannot settle on different keys. A responder keeps up to [`MAX_ANSWERS`]
//! answers open at once, and nothing the network delivers late can displace
//! the handshake the real peer is waiting on.
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

mod handshake;
mod noise;
mod transport;

pub use noise::{PATTERN, PROLOGUE};

use crate::frame::{DisconnectReason, Encodable, Frame, MAX_FRAME_LEN};
use crate::identity::{PublicKey, StaticKeypair};
use crate::version::PROTOCOL_VERSION;
use crate::wire;
use bytes::BytesMut;
use handshake::{MacKeys, NOISE_LEN, SID_LEN};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use transport::{OpenFailure, TAG_LEN, Transport};

/// Version, type and session id.
const HEADER_LEN: usize = 2 + SID_LEN;
/// Frames sent before any session is up wait here; older ones are refused.
const MAX_QUEUED_FRAMES: usize = 64;
/// Answers to the peer's handshakes kept open at once; the oldest goes.
pub const MAX_ANSWERS: usize = 4;
/// Key sets kept only to read late messages (replaced, or outranked).
const MAX_RECEIVE_ONLY: usize = 4;
/// Our handshake is sent again at once, an answer re-sent, or an old
/// handshake answered when no keys are up, at most this often for what the
/// network (or an attacker) delivers.
pub const RESEND_AT_MOST_EVERY: Duration = Duration::from_secs(1);
/// How long after sending our HANDSHAKE_1 a sign of the peer makes us send
/// it again at once (sooner, ours is still on its way).
pub const EARLY_RESEND_AFTER: Duration = Duration::from_millis(100);
/// How long after new keys came up a wake-up is taken as having crossed
/// them rather than asking for more.
pub const WAKE_UP_QUIET: Duration = Duration::from_secs(2);

/// How wall-clock time maps onto the monotonic `now` the session is given,
/// for the timestamps of its handshakes. Set once by the driver; the
/// session never reads a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallClock {
    /// A monotonic instant…
    pub at: Instant,
    /// …and the Unix time at that instant, in nanoseconds.
    pub unix_nanos: u64,
}

impl WallClock {
    /// Unix nanoseconds at `now`.
    fn at(&self, now: Instant) -> u64 {
        if now >= self.at {
            let d = u64::try_from((now - self.at).as_nanos()).unwrap_or(u64::MAX);
            self.unix_nanos.saturating_add(d)
        } else {
            let d = u64::try_from((self.at - now).as_nanos()).unwrap_or(u64::MAX);
            self.unix_nanos.saturating_sub(d)
        }
    }
}

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
    /// How long an answer to the peer's handshake waits for its first DATA.
    pub answer_lifetime: Duration,
    /// Where handshake timestamps come from; `None` counts from the first
    /// handshake (tests).
    pub wall_clock: Option<WallClock>,
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
            answer_lifetime: Duration::from_secs(120),
            wall_clock: None,
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

/// What a session dropped, and why; for `status` and for tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Messages too short, of another version or of an unknown type.
    pub malformed: u64,
    /// Handshakes or frames that failed authentication: forged or altered
    /// on the way, or from a key that is not the counterparty's.
    pub auth_failures: u64,
    /// Duplicates and replays: frames refused by the anti-replay window,
    /// handshakes answered already, answers to no handshake of ours.
    pub replays: u64,
    /// The peer's authentic handshakes not newer than one already answered
    /// (a recording played back, or a peer whose clock went back).
    pub stale: u64,
    /// Our own messages, heard back from the network.
    pub echoes: u64,
    /// DATA for keys this session does not hold (expired or never known).
    pub unknown_keys: u64,
    /// The higher key's handshakes, taken by the lower side as a sign to
    /// start one of its own.
    pub wake_ups: u64,
    /// Frames that decrypted but did not decode (or of unknown type).
    pub bad_frames: u64,
    /// Handshakes completed (first and rekeys).
    pub handshakes: u64,
}

impl SessionStats {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &SessionStats) {
        self.malformed += other.malformed;
        self.auth_failures += other.auth_failures;
        self.replays += other.replays;
        self.stale += other.stale;
        self.echoes += other.echoes;
        self.unknown_keys += other.unknown_keys;
        self.wake_ups += other.wake_ups;
        self.bad_frames += other.bad_frames;
        self.handshakes += other.handshakes;
    }
}

/// A handshake we started and are waiting on (the lower side), or the
/// wake-up we keep sending until the lower side starts one (the higher).
struct Outgoing {
    sid: [u8; SID_LEN],
    noise: snow::HandshakeState,
    /// HANDSHAKE_1 as sent, re-sent unchanged until answered.
    message: Vec<u8>,
    /// Its timestamp: its place in the order of handshakes.
    timestamp: u64,
    /// When it was last sent.
    sent_at: Instant,
    /// When it was last sent at once, outside its schedule.
    sent_early_at: Option<Instant>,
    /// When to re-send.
    retry_at: Instant,
    /// Current retry delay; doubles up to `retry_max`.
    retry_delay: Duration,
}

/// A handshake of the peer's we answered; its keys count once the
/// initiator uses them.
struct Answered {
    /// HANDSHAKE_2 as sent, re-sent if HANDSHAKE_1 comes again.
    message: Vec<u8>,
    transport: Transport,
    /// The initiator's timestamp: its place in the order of handshakes.
    timestamp: u64,
    /// When the answer was last sent.
    sent_at: Instant,
    /// Forgotten after this, unconfirmed.
    expires_at: Instant,
}

/// The keys in use.
struct Current {
    transport: Transport,
    /// Their handshake's timestamp (the lower side's clock).
    timestamp: u64,
}

/// A Noise session with one counterparty. See the module docs for the call
/// order.
pub struct Session {
    config: SessionConfig,
    own: StaticKeypair,
    peer: PublicKey,
    /// Authenticates handshake messages cheaply; `None` for a low-order
    /// peer key, which can never hold a session.
    macs: Option<MacKeys>,
    /// Draws session ids, ephemeral keys and ping ids; seeded by the caller.
    rng: ChaCha20Rng,
    /// The confirmed keys frames are sent with.
    current: Option<Current>,
    /// Keys that still open late messages, until the instant given.
    receive_only: Vec<(Transport, Instant)>,
    outgoing: Option<Outgoing>,
    answers: Vec<Answered>,
    /// The newest timestamp of the peer's handshakes answered so far; only
    /// newer ones are answered.
    peer_floor: u64,
    /// The timestamp of our latest handshake; the next is newer.
    own_last_timestamp: u64,
    /// When we last answered a handshake not newer than the floor (only
    /// done while no keys are up).
    stale_answered_at: Option<Instant>,
    /// Where timestamps count from without a wall clock.
    timestamp_origin: Option<Instant>,
    /// When the next keepalive ping is due.
    next_ping: Option<Instant>,
    /// The ping we wait for: its id and when it was sent.
    awaiting_pong: Option<(u64, Instant)>,
    /// Whether `Established` was reported (later handshakes are rekeys).
    ever_established: bool,
    /// Whether DATA from the peer ever authenticated here.
    heard_from_peer: bool,
    /// The peer sent a disconnect, or we closed.
    closed: bool,
    /// Where received DATA is decrypted; its memory is reused once the
    /// frames decoded from it are dropped.
    recv_buf: BytesMut,
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
        let macs = MacKeys::new(&own, &peer);
        Session {
            config,
            own,
            peer,
            macs,
            rng: ChaCha20Rng::from_seed(seed),
            current: None,
            receive_only: Vec::new(),
            outgoing: None,
            answers: Vec::new(),
            peer_floor: 0,
            own_last_timestamp: 0,
            stale_answered_at: None,
            timestamp_origin: None,
            next_ping: None,
            awaiting_pong: None,
            ever_established: false,
            heard_from_peer: false,
            closed: false,
            recv_buf: BytesMut::new(),
            queued: VecDeque::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            stats: SessionStats::default(),
        }
    }

    /// Answers only the peer's handshakes with a timestamp above `floor`
    /// (Unix nanoseconds on the peer's clock): what a restarted side knows
    /// of the peer's last handshake (e.g. derived from when it was last
    /// seen), so recordings older than that get no answer even before the
    /// first handshake. Raises the floor, never lowers it.
    pub fn set_peer_floor(&mut self, floor: u64) {
        self.peer_floor = self.peer_floor.max(floor);
    }

    /// The newest timestamp of the peer's handshakes answered so far.
    pub fn peer_floor(&self) -> u64 {
        self.peer_floor
    }

    /// The counterparty's static key.
    pub fn peer(&self) -> &PublicKey {
        &self.peer
    }

    /// Whether confirmed keys are up and the peer has not gone quiet.
    pub fn is_online(&self) -> bool {
        self.current.is_some() && !self.closed
    }

    /// Whether DATA the peer sealed ever authenticated here: the peer holds
    /// keys it confirmed (a responder confirms on this very message; an
    /// initiator only learns so from the peer's first DATA after the
    /// handshake).
    pub fn heard_from_peer(&self) -> bool {
        self.heard_from_peer
    }

    /// Whether either side closed the session.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// [`handshake_digest`] of the keys in use.
    pub fn handshake(&self) -> Option<&str> {
        self.current
            .as_ref()
            .map(|c| c.transport.handshake.as_str())
    }

    /// Whether `bytes` is a handshake message the peer made (its MAC checks
    /// out: one HMAC, no Diffie-Hellman): worth keeping until this side may
    /// answer it.
    pub fn authentic_handshake(&self, bytes: &[u8]) -> bool {
        let parsed = match wire::kind(bytes) {
            Ok(wire::Kind::Session(wire::HANDSHAKE_1)) => handshake::parse_hs1(bytes).is_some(),
            Ok(wire::Kind::Session(wire::HANDSHAKE_2)) => handshake::parse_hs2(bytes).is_some(),
            _ => false,
        };
        parsed && self.macs.as_ref().is_some_and(|m| m.made_by_peer(bytes))
    }

    /// What was dropped so far, and why.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// Whether this side starts the pair's handshakes: the one with the
    /// lower static key. The other side only answers them (and wakes this
    /// one up when it wants one).
    pub fn initiates(&self) -> bool {
        self.own.public() < self.peer
    }

    /// The timestamp of a handshake we start now: the wall clock's, and
    /// always above our previous one.
    fn next_timestamp(&mut self, now: Instant) -> u64 {
        let wall = match self.config.wall_clock {
            Some(clock) => clock.at(now),
            None => {
                let origin = *self.timestamp_origin.get_or_insert(now);
                u64::try_from(now.saturating_duration_since(origin).as_nanos()).unwrap_or(u64::MAX)
            }
        };
        let ts = wall.max(self.own_last_timestamp.saturating_add(1));
        self.own_last_timestamp = ts;
        ts
    }

    /// Starts a handshake (on start-up, after the peer went offline, or to
    /// rekey): the lower side as initiator, the higher side by waking the
    /// lower one up. Does nothing if one is already under way.
    pub fn connect(&mut self, now: Instant) {
        if self.closed || self.outgoing.is_some() {
            return;
        }
        if self.macs.is_none() {
            // A low-order peer key can never handshake.
            self.stats.auth_failures += 1;
            return;
        }
        let mut sid = [0u8; SID_LEN];
        self.rng.fill_bytes(&mut sid);
        let mut ephemeral = [0u8; 32];
        self.rng.fill_bytes(&mut ephemeral);
        let timestamp = self.next_timestamp(now);
        let prologue = noise::prologue(&sid, timestamp);
        let Ok(mut noise) = noise::handshake(&self.own, &self.peer, ephemeral, true, &prologue)
        else {
            self.stats.auth_failures += 1;
            return;
        };
        let mut buf = [0u8; 128];
        let Ok(n) = noise.write_message(&[], &mut buf) else {
            self.stats.auth_failures += 1;
            return;
        };
        debug_assert_eq!(n, NOISE_LEN);
        let Some(macs) = self.macs.as_ref() else {
            return;
        };
        let message = handshake::hs1(macs, &sid, timestamp, &buf[..n]);
        self.transmit.push_back(message.clone());
        self.outgoing = Some(Outgoing {
            sid,
            noise,
            message,
            timestamp,
            sent_at: now,
            sent_early_at: None,
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
        match ty {
            wire::HANDSHAKE_1 => self.handle_handshake_1(now, bytes),
            wire::HANDSHAKE_2 => self.handle_handshake_2(now, bytes),
            _ => {
                let mut sid = [0u8; SID_LEN];
                sid.copy_from_slice(&bytes[2..HEADER_LEN]);
                self.handle_data(now, sid, &bytes[HEADER_LEN..]);
            }
        }
    }

    fn handle_handshake_1(&mut self, now: Instant, bytes: &[u8]) {
        let Some(hs1) = handshake::parse_hs1(bytes) else {
            self.stats.malformed += 1;
            return;
        };
        if self.outgoing.as_ref().is_some_and(|o| o.sid == hs1.sid) {
            self.stats.echoes += 1;
            return;
        }
        let Some(macs) = self.macs.as_ref() else {
            self.stats.auth_failures += 1;
            return;
        };
        if !macs.made_by_peer(bytes) {
            // Forged, altered (a new sid on a recording), a stranger's, or
            // one of ours sent back: one HMAC, nothing more.
            self.stats.auth_failures += 1;
            return;
        }
        let (sid, timestamp) = (hs1.sid, hs1.timestamp);
        if self.initiates() {
            // The higher side never has its handshakes answered: this one
            // says it is up and wants keys (it restarted, lost ours, or
            // wants new ones). A new one starts ours; a repeat, or one
            // played back, at most sends ours again.
            if timestamp <= self.peer_floor {
                self.stats.stale += 1;
                self.send_ours_early(now, false);
                return;
            }
            if self.current.as_ref().is_some_and(|c| {
                now.saturating_duration_since(c.transport.established_at) < WAKE_UP_QUIET
            }) {
                // Keys came up a moment ago: this crossed them (both rekey
                // timers fired together). Not taken; if it was meant, its
                // next copy comes after the quiet and still counts.
                self.stats.replays += 1;
                return;
            }
            self.peer_floor = timestamp;
            self.stats.wake_ups += 1;
            if self.outgoing.is_some() {
                // A new wake-up, made by the peer: it listens now and had
                // not heard ours when it wrote this. Ours may have gone out
                // before it listened (right after pairing, a light node
                // subscribes a round trip after it learns the topic), so
                // send it again even if it just went.
                self.send_ours_early(now, true);
            } else {
                self.connect(now);
            }
            return;
        }
        if let Some(answer) = self.answers.iter_mut().find(|a| a.transport.sid == sid) {
            // The initiator did not get our answer, or a copy came late:
            // send the same answer again, at most once a second.
            if now.saturating_duration_since(answer.sent_at) >= RESEND_AT_MOST_EVERY {
                answer.sent_at = now;
                self.transmit.push_back(answer.message.clone());
            } else {
                self.stats.replays += 1;
            }
            return;
        }
        if timestamp <= self.peer_floor {
            // Not newer than one already answered: played back, or the
            // peer restarted with its clock set back. With keys up it is
            // refused; with none, it is answered (at most once a second),
            // so a peer whose clock went back still gets through.
            let recently = self
                .stale_answered_at
                .is_some_and(|at| now.saturating_duration_since(at) < RESEND_AT_MOST_EVERY);
            if self.current.is_some() || recently {
                self.stats.stale += 1;
                return;
            }
            self.stale_answered_at = Some(now);
        }
        let mut ephemeral = [0u8; 32];
        self.rng.fill_bytes(&mut ephemeral);
        let prologue = noise::prologue(&sid, timestamp);
        let Ok(mut noise) = noise::handshake(&self.own, &self.peer, ephemeral, false, &prologue)
        else {
            self.stats.auth_failures += 1;
            return;
        };
        let mut payload = [0u8; 64];
        if noise.read_message(hs1.noise, &mut payload).is_err() {
            self.stats.auth_failures += 1;
            return;
        }
        let mut buf = [0u8; 128];
        let Ok(n) = noise.write_message(&[], &mut buf) else {
            self.stats.auth_failures += 1;
            return;
        };
        let Some(macs) = self.macs.as_ref() else {
            return;
        };
        let message = handshake::hs2(macs, &sid, &buf[..n]);
        self.peer_floor = self.peer_floor.max(timestamp);
        let digest = handshake_digest(noise.get_handshake_hash());
        if self.answers.len() == MAX_ANSWERS {
            self.answers.remove(0);
        }
        self.transmit.push_back(message.clone());
        self.answers.push(Answered {
            message,
            // Its age counts from the initiator's first DATA, set then.
            transport: Transport::from_handshake(sid, noise, digest, now),
            timestamp,
            sent_at: now,
            expires_at: now + self.config.answer_lifetime,
        });
    }

    /// Sends our handshake again now, outside its schedule, if it was not
    /// sent early within the last second and (unless `even_if_just_sent`)
    /// has been out a while: the peer is there, and ours may have gone out
    /// while it was not.
    fn send_ours_early(&mut self, now: Instant, even_if_just_sent: bool) {
        let Some(o) = self.outgoing.as_mut() else {
            return;
        };
        let recent = o
            .sent_early_at
            .is_some_and(|at| now.saturating_duration_since(at) < RESEND_AT_MOST_EVERY);
        let just_sent = now.saturating_duration_since(o.sent_at) < EARLY_RESEND_AFTER;
        if recent || (just_sent && !even_if_just_sent) {
            return;
        }
        // An extra copy: the schedule of re-sends (and its back-off) stays.
        self.transmit.push_back(o.message.clone());
        o.sent_at = now;
        o.sent_early_at = Some(now);
    }

    fn handle_handshake_2(&mut self, now: Instant, bytes: &[u8]) {
        let Some(hs2) = handshake::parse_hs2(bytes) else {
            self.stats.malformed += 1;
            return;
        };
        if self.answers.iter().any(|a| a.transport.sid == hs2.sid) {
            self.stats.echoes += 1;
            return;
        }
        // Only the lower side's handshakes are answered; the higher side's
        // outgoing is a wake-up.
        if !self.initiates() || self.outgoing.as_ref().is_none_or(|o| o.sid != hs2.sid) {
            // An answer to no handshake of ours (late, duplicated or forged).
            self.stats.replays += 1;
            return;
        }
        if !self.macs.as_ref().is_some_and(|m| m.made_by_peer(bytes)) {
            self.stats.auth_failures += 1;
            return;
        }
        let mut payload = [0u8; 64];
        let outgoing = self.outgoing.as_mut().expect("checked above");
        if outgoing
            .noise
            .read_message(hs2.noise, &mut payload)
            .is_err()
        {
            self.stats.auth_failures += 1;
            return;
        }
        let outgoing = self.outgoing.take().expect("checked above");
        let digest = handshake_digest(outgoing.noise.get_handshake_hash());
        let transport = Transport::from_handshake(hs2.sid, outgoing.noise, digest, now);
        if self.confirm(now, transport, outgoing.timestamp) {
            // The first DATA confirms the keys to the responder, and
            // measures the round trip.
            self.send_ping(now);
        }
    }

    fn handle_data(&mut self, now: Instant, sid: [u8; SID_LEN], body: &[u8]) {
        if body.len() < 8 + TAG_LEN {
            self.stats.malformed += 1;
            return;
        }
        let nonce = u64::from_be_bytes(body[..8].try_into().expect("8 bytes"));
        let sealed = &body[8..];
        let mut answered = None;
        let transport = if let Some(c) = self.current.as_mut().filter(|c| c.transport.sid == sid) {
            &mut c.transport
        } else if let Some(i) = self.answers.iter().position(|a| a.transport.sid == sid) {
            answered = Some(i);
            &mut self.answers[i].transport
        } else if let Some((t, _)) = self.receive_only.iter_mut().find(|(t, _)| t.sid == sid) {
            t
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
        self.heard_from_peer = true;
        if let Some(i) = answered {
            // The initiator uses the keys we answered with: confirmed.
            let answer = self.answers.remove(i);
            self.confirm(now, answer.transport, answer.timestamp);
        }
        match Frame::decode_bytes(plain) {
            Ok(frame) => self.handle_frame(now, frame),
            Err(_) => self.stats.bad_frames += 1,
        }
    }

    /// A handshake was confirmed: its keys are installed if it is newer (by
    /// its timestamp, the lower side's clock, which both sides read the
    /// same) than the one in use, else kept to read late messages. Returns
    /// whether they were installed.
    fn confirm(&mut self, now: Instant, mut transport: Transport, timestamp: u64) -> bool {
        transport.established_at = now;
        let newer = self
            .current
            .as_ref()
            .is_none_or(|c| timestamp > c.timestamp);
        if !newer {
            self.keep_receive_only(transport, now);
            return false;
        }
        self.stats.handshakes += 1;
        let handshake = transport.handshake.clone();
        if let Some(old) = self.current.replace(Current {
            transport,
            timestamp,
        }) {
            self.keep_receive_only(old.transport, now);
        }
        // Keys are up: the handshake (or wake-up) we had out is done.
        self.outgoing = None;
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
        true
    }

    fn keep_receive_only(&mut self, transport: Transport, now: Instant) {
        if self.receive_only.len() == MAX_RECEIVE_ONLY {
            self.receive_only.remove(0);
        }
        self.receive_only
            .push((transport, now + self.config.old_keys_grace));
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
        self.receive_only.clear();
        self.outgoing = None;
        self.answers.clear();
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
        let Some(current) = self.current.as_mut() else {
            return;
        };
        let transport = &mut current.transport;
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
    /// the pong deadline, rekeying and forgetting old keys and answers.
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
        self.receive_only.retain(|(_, until)| now < *until);
        self.answers.retain(|a| now < a.expires_at);
        if let Some((_, sent_at)) = self.awaiting_pong
            && now >= sent_at + self.config.pong_timeout
        {
            // The peer went quiet: its keys are useless now. Start over.
            self.awaiting_pong = None;
            self.next_ping = None;
            if let Some(old) = self.current.take() {
                self.keep_receive_only(old.transport, now);
            }
            self.events.push_back(SessionEvent::Offline);
            self.connect(now);
            return;
        }
        if self.next_ping.is_some_and(|at| now >= at) && self.awaiting_pong.is_none() {
            self.send_ping(now);
        }
        if let Some(c) = &self.current {
            let worn = c.transport.next_nonce >= self.config.rekey_after_messages
                || now >= c.transport.established_at + self.config.rekey_after;
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
            .map(|c| c.transport.established_at + self.config.rekey_after);
        [
            self.outgoing.as_ref().map(|o| o.retry_at),
            self.receive_only.iter().map(|(_, until)| *until).min(),
            self.answers.iter().map(|a| a.expires_at).min(),
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
/// `now` (the lower key initiating): for benchmarks, fuzzing and examples that need
/// an established session without a network.
///
/// # Panics
///
/// If the handshake fails, which only a low-order key can cause.
pub fn in_memory_pair(a: StaticKeypair, b: StaticKeypair, now: Instant) -> (Session, Session) {
    let config = SessionConfig::default();
    let mut sa = Session::new(config.clone(), a.clone(), b.public(), [0xa5; 32]);
    let mut sb = Session::new(config, b, a.public(), [0x5a; 32]);
    // The lower key starts; the higher one's HANDSHAKE_1 would only wake it.
    if sa.initiates() {
        sa.connect(now);
    } else {
        sb.connect(now);
    }
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
