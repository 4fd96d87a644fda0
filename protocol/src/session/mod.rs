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

mod config;
mod handshake;
mod noise;
mod receive;
mod transport;

pub use config::{Keepalive, SendError, SessionConfig, SessionEvent, SessionStats, WallClock};
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
/// A following side pings at least once in this many ping intervals
/// (5 minutes), whatever it hears: its round trip stays measured (the
/// manager lists it), and a peer that went silent is noticed within that
/// plus the pong timeout however the path behaves.
pub const FOLLOWER_PINGS_EVERY: u32 = 10;

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
    /// Following: when this side pings whatever it heard (see
    /// [`FOLLOWER_PINGS_EVERY`]).
    must_ping_by: Option<Instant>,
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
            must_ping_by: None,
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
        self.schedule_ping(now);
        self.seal(Frame::Ping { id });
    }

    /// Keys went up or we pinged: the next ping is one interval away.
    pub(super) fn schedule_ping(&mut self, now: Instant) {
        self.next_ping = Some(now + self.keepalive_interval());
        self.must_ping_by = Some(now + self.config.ping_interval * FOLLOWER_PINGS_EVERY);
    }

    /// How long after its last ping (or, following, after last hearing
    /// from the peer) this side pings.
    pub(super) fn keepalive_interval(&self) -> Duration {
        match self.config.keepalive {
            Keepalive::Lead => self.config.ping_interval,
            Keepalive::Follow => self.config.ping_interval + self.config.pong_timeout,
        }
    }

    /// The peer pinged under the keys in use: a following side puts its
    /// own ping off, since the peer is evidently there.
    ///
    /// Only a ping counts, not any DATA: a ping held back by someone on
    /// the path leaves the pinging side without its pong, which then drops
    /// its keys within the pong timeout, so at most one can be saved up to
    /// keep a follower waiting; requests could be saved by the dozen.
    pub(super) fn heard(&mut self, now: Instant) {
        if self.config.keepalive == Keepalive::Follow
            && self.current.is_some()
            && self.awaiting_pong.is_none()
        {
            let later = now + self.keepalive_interval();
            self.next_ping = Some(self.must_ping_by.map_or(later, |by| later.min(by)));
        }
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

    /// Whether this side pings on a timer or only when the peer is quiet.
    pub fn keepalive(&self) -> Keepalive {
        self.config.keepalive
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

    /// Whether a message waits for [`poll_transmit`](Self::poll_transmit).
    pub fn has_transmit(&self) -> bool {
        !self.transmit.is_empty()
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
