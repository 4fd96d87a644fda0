//! What a session is set up with, what it reports, and why it refuses a frame.

use super::MAX_QUEUED_FRAMES;
use crate::frame::{DisconnectReason, Frame, MAX_FRAME_LEN};
use std::time::{Duration, Instant};

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
    pub(super) fn at(&self, now: Instant) -> u64 {
        if now >= self.at {
            let d = u64::try_from((now - self.at).as_nanos()).unwrap_or(u64::MAX);
            self.unix_nanos.saturating_add(d)
        } else {
            let d = u64::try_from((self.at - now).as_nanos()).unwrap_or(u64::MAX);
            self.unix_nanos.saturating_sub(d)
        }
    }
}

/// Which side of a session keeps it alive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Keepalive {
    /// Pings every `ping_interval`, heard from or not, and so measures the
    /// round trip that often (an app: it shows it).
    #[default]
    Lead,
    /// Pings only after hearing nothing authenticated from the peer for
    /// `ping_interval + pong_timeout`: while a leading peer pings, this
    /// side only answers (a manager, whose thousand apps would otherwise
    /// double its traffic at rest), and at least every ten intervals to
    /// keep its round trip measured. A silent peer is noticed within
    /// `ping_interval + 2 × pong_timeout`.
    Follow,
}

impl Keepalive {
    /// The rule for a side playing `own`: the app leads, the manager
    /// follows.
    pub fn for_role(own: crate::hello::Role) -> Keepalive {
        match own {
            crate::hello::Role::App => Keepalive::Lead,
            crate::hello::Role::Manager => Keepalive::Follow,
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
    /// Whether this side pings on a timer or only when the peer is quiet.
    pub keepalive: Keepalive,
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
            keepalive: Keepalive::Lead,
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
    /// The peer pinged and was answered: it is there (a following side,
    /// which measures no round trips, learns it from this).
    Pinged,
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
