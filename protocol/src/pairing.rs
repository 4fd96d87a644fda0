//! The pairing state machines of both roles: from a code to a first
//! established session, with commit before reveal, a verification string
//! both people confirm, and nothing persisted before that.
//!
//! ```text
//!  app                      pairing topic T                      manager
//!   │ code issued, waiting                       code typed          │
//!   │ ◄──────────── PAIRING_COMMIT (hash of the manager's HELLO) ────┤ re-sent until answered
//!   ├─ HELLO_NODE_MANAGER (app's identity, nonce, the commitment) ──► │
//!   │ ◄──────────── HELLO_APP (manager's identity and nonce) ────────┤ checked against the commitment
//!   │ both show the verification string and ask their person          │
//!   │                      session topic S                            │
//!   │ ◄──── first session: the lower key starts once its person ─────┤
//!   │       confirmed, the higher one answers once its own did        │
//!   │                                    established: paired, stored │
//!   │ ◄──────────── DATA (the manager's first under the new keys) ───┤
//!   │ paired, stored                                                  │
//! ```
//!
//! Both sides emit [`PairingEvent::Paired`], the only point where a
//! counterparty may be persisted, once their first session is established,
//! which each side lets happen only after its own person confirmed the
//! verification string. The manager pairs first, as soon as the session is
//! established; the app only once DATA from the manager authenticated under
//! the new keys, which the manager sends only after it stored the pairing
//! (a manager that cannot store [retracts](Pairing::retract), and the app
//! never pairs). "Doesn't match" on either side aborts both.
//!
//! A code is single-use and short-lived. Every HELLO or commitment sealed
//! with the code that this side did not send and that is not the one answer
//! it accepted — a second commitment, a HELLO of its own kind, an app HELLO
//! answering another commitment — means someone else holds the code: the
//! pairing aborts on every side ("answered twice"). That watch lasts until
//! the pairing ends and at least `leak_watch` after the first answer, so an
//! answer that comes just after a fast pairing still counts: then the
//! finished pairing is withdrawn ([`PairingEvent::Withdrawn`]) on both sides.
//!
//! Call order is the session's: `handle_message` with every message received
//! on the pairing topic and (once known) the session topic, `confirm` with
//! the person's answer after [`PairingEvent::Compare`], `handle_timeout` at
//! `poll_timeout`, then drain `poll_transmit` and `poll_event`.

use crate::frame::DisconnectReason;
use crate::hello::{Hello, OpenedHello, Role};
use crate::identity::{NodeId, PublicKey, StaticKeypair};
use crate::kdf::{PairingKeys, session_content_topic};
use crate::pairing_code::PairingCode;
use crate::pairing_commit::Commitment;
use crate::sealed;
use crate::session::{Session, SessionConfig};
use crate::verification::verification_string;
use crate::wire;
use prost::Message;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Session messages the app keeps while its person has not confirmed yet
/// (the manager's handshake may come first); older ones are dropped.
const HELD_MESSAGES: usize = 16;

/// Who this side is, as it introduces itself in its HELLO.
#[derive(Clone, Debug)]
pub struct LocalIdentity {
    /// The static key pair sessions authenticate with.
    pub keypair: StaticKeypair,
    /// What the other side will show for us.
    pub display_name: String,
    /// Our node id.
    pub node_id: NodeId,
    /// What we offer (manager) or use (app).
    pub capabilities: Vec<String>,
}

/// Timings of a pairing.
#[derive(Clone, Debug)]
pub struct PairingConfig {
    /// How long a code is good for (default 10 minutes).
    pub ttl: Duration,
    /// First delay before the manager sends its commitment (or the app its
    /// HELLO) again.
    pub retry_initial: Duration,
    /// Longest delay between those retransmissions.
    pub retry_max: Duration,
    /// How long after the first answer the pairing topic is still watched
    /// for a second one, even once paired (default 10 s).
    pub leak_watch: Duration,
    /// The first session's timings.
    pub session: SessionConfig,
}

impl Default for PairingConfig {
    fn default() -> Self {
        PairingConfig {
            ttl: Duration::from_secs(10 * 60),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(8),
            leak_watch: Duration::from_secs(10),
            session: SessionConfig::default(),
        }
    }
}

/// Where a pairing stands, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairingStep {
    /// App: the code is out, no manager answered yet. Manager: the
    /// commitment is out, the app has not answered yet.
    WaitingForHello,
    /// The other side answered; the identities are being exchanged.
    Answered,
    /// The verification string is shown; this side's person has not said
    /// yet whether it matches the other screen.
    Comparing,
    /// This side's person confirmed; waiting for the other side's (and
    /// for the first session's handshake).
    Verifying,
    /// The first session is established; the counterparty may be persisted.
    Paired,
    /// The pairing ended without success; see the error.
    Failed,
}

/// Why a pairing ended without success. Nothing was persisted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PairingError {
    /// The code's time ran out before pairing completed.
    #[error("the pairing code expired before the pairing completed; make a new code")]
    Expired,
    /// Two different parties answered the same code: it leaked.
    #[error(
        "someone else also answered this code, so it may have leaked; pairing stopped, make a new code"
    )]
    AnsweredTwice,
    /// This side's person said the verification strings differ.
    #[error(
        "the verification strings do not match: someone may be in the middle; pairing stopped, make a new code"
    )]
    Mismatch,
    /// The other side stopped the pairing and told us.
    #[error("the other side stopped the pairing: {0}")]
    AbortedByPeer(AbortReason),
    /// Cancelled on this side.
    #[error("pairing cancelled")]
    Cancelled,
}

/// Why a side aborted a pairing, as carried in a PAIRING_ABORT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AbortReason {
    /// A second party answered the same code.
    #[error("someone else also answered this code, so it may have leaked")]
    AnsweredTwice,
    /// The person cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The person there said the verification strings differ.
    #[error("the verification strings do not match there: someone may be in the middle")]
    Mismatch,
    /// A reason from a newer version.
    #[error("unknown reason")]
    Unknown,
}

impl AbortReason {
    fn wire(self) -> u32 {
        match self {
            AbortReason::AnsweredTwice => 1,
            AbortReason::Cancelled => 2,
            AbortReason::Mismatch => 3,
            AbortReason::Unknown => 0,
        }
    }

    fn from_wire(v: u32) -> Self {
        match v {
            1 => AbortReason::AnsweredTwice,
            2 => AbortReason::Cancelled,
            3 => AbortReason::Mismatch,
            _ => AbortReason::Unknown,
        }
    }
}

/// PAIRING_ABORT's sealed body.
#[derive(Clone, PartialEq, prost::Message)]
struct AbortBody {
    #[prost(uint32, tag = "1")]
    reason: u32,
}

/// The counterparty a successful pairing yields: what to persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterparty {
    /// Its role (the other one than ours).
    pub role: Role,
    /// Its static key: the only thing sessions trust.
    pub static_key: PublicKey,
    /// What to show for it.
    pub display_name: String,
    /// Its node id.
    pub node_id: NodeId,
    /// What it offers or uses.
    pub capabilities: Vec<String>,
}

impl Counterparty {
    fn from_hello(hello: &Hello) -> Self {
        Counterparty {
            role: hello.role,
            static_key: hello.static_key,
            display_name: hello.display_name.clone(),
            node_id: hello.node_id,
            capabilities: hello.capabilities.clone(),
        }
    }
}

/// What this side's person is asked to compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// Who answered, as it introduced itself.
    pub counterparty: Counterparty,
    /// The six digits the other screen must show too.
    pub verification: String,
}

/// A successful pairing.
#[derive(Debug)]
pub struct Paired {
    /// Who was paired with.
    pub counterparty: Counterparty,
    /// The string both sides showed (see [`verification_string`]).
    pub verification: String,
    /// The established session, to keep driving on `session_topic`.
    pub session: Session,
    /// The per-pair session content topic.
    pub session_topic: String,
}

/// What a pairing tells its driver.
#[derive(Debug)]
pub enum PairingEvent {
    /// The pairing moved on.
    Progress(PairingStep),
    /// Show the verification string and ask the person whether the other
    /// screen shows the same; answer with [`Pairing::confirm`].
    Compare(Box<Comparison>),
    /// Done: persist `counterparty` now, atomically, and keep the session.
    Paired(Box<Paired>),
    /// Ended without success; nothing to persist.
    Failed(PairingError),
    /// A pairing that had completed is taken back: within `leak_watch` of
    /// the first answer a second party answered the same code (or the other
    /// side saw one and said so). Forget the counterparty.
    Withdrawn(PairingError),
}

/// A message to publish, with the content topic it goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The Waku content topic.
    pub content_topic: String,
    /// The message.
    pub payload: Vec<u8>,
}

/// What a pairing dropped, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairingStats {
    /// Sealed messages that did not open (wrong key, altered, truncated…).
    pub refused: u64,
    /// Our own messages, heard back from the network.
    pub echoes: u64,
    /// Repeats of the answer we already accepted.
    pub duplicates: u64,
}

/// This side's HELLO: its body (what commitments and the verification
/// string cover) and the sealed message (re-sent unchanged).
#[derive(Debug)]
struct OwnHello {
    body: Vec<u8>,
    sealed: Vec<u8>,
}

/// A failed pairing still telling late comers why.
#[derive(Debug)]
struct Linger {
    until: Instant,
    abort: Vec<u8>,
    sent_at: Option<Instant>,
    /// The abort goes again at these times, in case the first was lost.
    repeats: VecDeque<Instant>,
}

/// One pairing, in either role.
#[derive(Debug)]
pub struct Pairing {
    role: Role,
    config: PairingConfig,
    keys: PairingKeys,
    own: LocalIdentity,
    /// Draws nonces and the session's seed.
    rng: ChaCha20Rng,
    /// Nothing is accepted after this, unless paired.
    deadline: Instant,
    /// The latest time a call gave us (for what `cancel` and aborts do).
    now: Instant,
    step: PairingStep,
    /// Our HELLO (the manager makes it at once, the app on the first
    /// commitment).
    hello: Option<OwnHello>,
    /// Manager: the commitment to our HELLO. App: the one we answered.
    commitment: Option<Commitment>,
    /// Manager: the sealed PAIRING_COMMIT, re-sent until answered.
    commit_message: Option<Vec<u8>>,
    /// The other side's HELLO once accepted (app: once it matched the
    /// commitment).
    peer: Option<OpenedHello>,
    /// The string both people compare, once both HELLOs are known.
    verification: Option<String>,
    /// Whether our person said the strings match.
    confirmed: bool,
    /// When to re-send (commitment, or the app's HELLO), and the delay after.
    retry: Option<(Instant, Duration)>,
    /// The first session, once both identities are known.
    session: Option<Session>,
    session_topic: Option<String>,
    /// Session messages that came before our person confirmed.
    held: VecDeque<Vec<u8>>,
    /// When we last sent our HELLO again because the other side repeated
    /// itself.
    repeated_at: Option<Instant>,
    /// Until when the pairing topic is watched for a second answer.
    watch_until: Option<Instant>,
    /// Everything we published on the pairing topic, to know our echoes.
    sent: Vec<Vec<u8>>,
    /// After an abort we sent: until when we answer anyone else still
    /// using the code with that abort again (someone who joins later, such
    /// as a manager whose operator types the code after it leaked), and
    /// when we last did.
    linger: Option<Linger>,
    transmit: VecDeque<Transmit>,
    events: VecDeque<PairingEvent>,
    stats: PairingStats,
}

impl Pairing {
    /// The app's side: `code` was just drawn from a CSPRNG and is shown to the
    /// person; we wait for a manager's commitment. `seed`: 32 bytes from a
    /// CSPRNG.
    pub fn app(
        code: &PairingCode,
        own: LocalIdentity,
        now: Instant,
        config: PairingConfig,
        seed: [u8; 32],
    ) -> Self {
        Self::new(Role::App, code, own, now, config, seed)
    }

    /// The manager's side: the operator typed `code`; we commit to our HELLO
    /// at once and repeat the commitment until the app answers.
    pub fn manager(
        code: &PairingCode,
        own: LocalIdentity,
        now: Instant,
        config: PairingConfig,
        seed: [u8; 32],
    ) -> Self {
        let mut pairing = Self::new(Role::Manager, code, own, now, config, seed);
        let hello = pairing.make_hello(None);
        let commitment = Commitment::to(&pairing.keys.topic, &hello.body);
        let nonce = pairing.nonce24();
        let message = commitment.seal(&pairing.keys, nonce);
        pairing.hello = Some(hello);
        pairing.commitment = Some(commitment);
        pairing.commit_message = Some(message.clone());
        pairing.publish(message);
        pairing.retry = Some((
            now + pairing.config.retry_initial,
            pairing.config.retry_initial,
        ));
        pairing
    }

    fn new(
        role: Role,
        code: &PairingCode,
        own: LocalIdentity,
        now: Instant,
        config: PairingConfig,
        seed: [u8; 32],
    ) -> Self {
        let deadline = now + config.ttl;
        Pairing {
            role,
            config,
            keys: PairingKeys::derive(code),
            own,
            rng: ChaCha20Rng::from_seed(seed),
            deadline,
            now,
            step: PairingStep::WaitingForHello,
            hello: None,
            commitment: None,
            commit_message: None,
            peer: None,
            verification: None,
            confirmed: false,
            retry: None,
            session: None,
            session_topic: None,
            held: VecDeque::new(),
            repeated_at: None,
            watch_until: None,
            sent: Vec::new(),
            linger: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            stats: PairingStats::default(),
        }
    }

    /// The pairing topic T's content topic, to subscribe to at once.
    pub fn pairing_topic(&self) -> String {
        self.keys.content_topic()
    }

    /// The session topic, once the other side's identity is known; subscribe
    /// to it then.
    pub fn session_topic(&self) -> Option<&str> {
        self.session_topic.as_deref()
    }

    /// When the code stops being accepted.
    pub fn expires_at(&self) -> Instant {
        self.deadline
    }

    /// Where the pairing stands.
    pub fn step(&self) -> PairingStep {
        self.step
    }

    /// What was dropped so far.
    pub fn stats(&self) -> &PairingStats {
        &self.stats
    }

    /// Whether nothing more can happen: failed, or paired and no longer
    /// watching the pairing topic. The driver may drop it then.
    pub fn is_finished(&self) -> bool {
        match self.step {
            PairingStep::Failed => self.linger.is_none(),
            PairingStep::Paired => self.watch_until.is_none(),
            _ => false,
        }
    }

    /// Still deciding: neither paired nor failed (a pairing that ended may
    /// still watch or answer on its topic for a while).
    pub fn is_under_way(&self) -> bool {
        !matches!(self.step, PairingStep::Paired | PairingStep::Failed)
    }

    fn nonce24(&mut self) -> [u8; 24] {
        let mut nonce = [0u8; 24];
        self.rng.fill_bytes(&mut nonce);
        nonce
    }

    /// Our HELLO with a fresh nonce; `answers` is the app's commitment.
    fn make_hello(&mut self, answers: Option<Commitment>) -> OwnHello {
        let mut nonce = [0u8; 32];
        self.rng.fill_bytes(&mut nonce);
        let hello = Hello {
            role: self.role,
            static_key: self.own.keypair.public(),
            display_name: self.own.display_name.clone(),
            node_id: self.own.node_id,
            capabilities: self.own.capabilities.clone(),
            nonce,
            answers: answers.map(|c| c.0),
        };
        let body = hello.body();
        let seal_nonce = self.nonce24();
        let sealed = Hello::seal_body(self.role, &body, &self.keys, seal_nonce);
        OwnHello { body, sealed }
    }

    /// Queues a message for the pairing topic, remembering it as ours.
    fn publish(&mut self, payload: Vec<u8>) {
        if !self.sent.contains(&payload) {
            self.sent.push(payload.clone());
        }
        self.transmit.push_back(Transmit {
            content_topic: self.keys.content_topic(),
            payload,
        });
    }

    fn resend_hello(&mut self) {
        if let Some(sealed) = self.hello.as_ref().map(|h| h.sealed.clone()) {
            self.publish(sealed);
        }
    }

    /// Sends our HELLO again because the other side repeated itself (it
    /// has not heard ours) — at most once a second, whatever the network
    /// (or someone replaying the topic) delivers.
    fn answer_repeat(&mut self, now: Instant) {
        if self
            .repeated_at
            .is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1))
        {
            return;
        }
        self.repeated_at = Some(now);
        self.resend_hello();
    }

    fn fail(&mut self, error: PairingError, tell_peer: Option<AbortReason>) {
        if let Some(reason) = tell_peer {
            let abort = self.send_abort(reason);
            let now = self.now;
            self.linger = Some(Linger {
                until: self.deadline,
                abort,
                sent_at: None,
                repeats: [now + Duration::from_secs(1), now + Duration::from_secs(3)].into(),
            });
        }
        self.step = PairingStep::Failed;
        self.session = None;
        self.retry = None;
        self.watch_until = None;
        self.held.clear();
        self.events.push_back(PairingEvent::Failed(error));
    }

    fn send_abort(&mut self, reason: AbortReason) -> Vec<u8> {
        let body = AbortBody {
            reason: reason.wire(),
        }
        .encode_to_vec();
        let nonce = self.nonce24();
        let bytes = sealed::seal(&self.keys, wire::PAIRING_ABORT, &body, nonce);
        self.publish(bytes.clone());
        bytes
    }

    /// A failed pairing hears someone still using the code: tell them
    /// again why it stopped, at most once a second.
    fn linger_on(&mut self, now: Instant, bytes: &[u8]) {
        let authentic = match wire::kind(bytes) {
            Ok(wire::Kind::PairingCommit) => Commitment::open(bytes, &self.keys).is_ok(),
            Ok(wire::Kind::Hello(_)) => Hello::open(bytes, &self.keys).is_ok(),
            _ => false,
        };
        let Some(linger) = self.linger.as_mut() else {
            return;
        };
        if !authentic
            || linger
                .sent_at
                .is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1))
        {
            return;
        }
        linger.sent_at = Some(now);
        let abort = linger.abort.clone();
        self.publish(abort);
    }

    /// Someone else holds the code: abort everywhere, or take back a
    /// pairing that already completed.
    fn leaked(&mut self) {
        if self.step == PairingStep::Paired {
            let _ = self.send_abort(AbortReason::AnsweredTwice);
            self.watch_until = None;
            self.events
                .push_back(PairingEvent::Withdrawn(PairingError::AnsweredTwice));
        } else {
            self.fail(
                PairingError::AnsweredTwice,
                Some(AbortReason::AnsweredTwice),
            );
        }
    }

    /// Takes back a pairing that finished here but cannot be kept (its
    /// counterparty could not be stored), given the session it came with
    /// [`PairingEvent::Paired`], which the caller then drops. The manager
    /// pairs first: the session's first message is withheld, so the app,
    /// which waits for it, never pairs. The app pairs second (the manager
    /// already keeps it): it closes the session as revoked, and the manager
    /// forgets it. Either way the other side is told to give up
    /// (PAIRING_ABORT, cancelled) instead of waiting until the code expires.
    /// Does nothing unless the pairing is paired.
    pub fn retract(&mut self, session: &mut Session) {
        if self.step != PairingStep::Paired {
            return;
        }
        // What the session queued (its first message) must not go out: the
        // other side would take it as the pairing's end and keep us.
        let pairing_topic = self.keys.content_topic();
        self.transmit.retain(|t| t.content_topic == pairing_topic);
        if self.role == Role::App
            && let Some(topic) = self.session_topic().map(str::to_owned)
        {
            session.close(
                DisconnectReason::Revoked,
                "the other side could not store the pairing",
            );
            while let Some(payload) = session.poll_transmit() {
                self.transmit.push_back(Transmit {
                    content_topic: topic.clone(),
                    payload,
                });
            }
        }
        let _ = self.send_abort(AbortReason::Cancelled);
        self.step = PairingStep::Failed;
        self.watch_until = None;
    }

    /// Cancels the pairing and tells the other side, if it answered. After
    /// the pairing completed it only stops watching: the pairing stands.
    pub fn cancel(&mut self) {
        if !self.is_under_way() {
            self.watch_until = None;
            self.linger = None;
            return;
        }
        // Told even if nobody answered yet: the code is spent, and a late
        // answer learns so at once.
        self.fail(PairingError::Cancelled, Some(AbortReason::Cancelled));
    }

    /// This side's person compared the verification strings: `matches` is
    /// their answer. "Doesn't match" aborts both sides; "matches" lets the
    /// first session go ahead (the manager starts its handshake, the app
    /// answers it). Does nothing unless the pairing is [comparing](PairingStep::Comparing).
    pub fn confirm(&mut self, now: Instant, matches: bool) {
        self.now = self.now.max(now);
        if self.step != PairingStep::Comparing {
            return;
        }
        if now >= self.deadline {
            self.handle_timeout(now);
            return;
        }
        if !matches {
            self.fail(PairingError::Mismatch, Some(AbortReason::Mismatch));
            return;
        }
        self.confirmed = true;
        self.step = PairingStep::Verifying;
        self.events
            .push_back(PairingEvent::Progress(PairingStep::Verifying));
        let held: Vec<Vec<u8>> = self.held.drain(..).collect();
        if let Some(session) = self.session.as_mut() {
            // The side with the lower key starts the handshake, the other
            // wakes it up (which also reaches it if it confirmed first).
            session.connect(now);
            for message in held {
                session.handle_message(now, &message);
            }
        }
        self.drive_session(now);
    }

    /// Handles one message received on the pairing or the session topic.
    pub fn handle_message(&mut self, now: Instant, bytes: &[u8]) {
        self.now = self.now.max(now);
        if self.is_finished() {
            return;
        }
        if self.step != PairingStep::Paired && now >= self.deadline {
            self.handle_timeout(now);
            return;
        }
        if self.sent.iter().any(|m| m.as_slice() == bytes) {
            self.stats.echoes += 1;
            return;
        }
        if self.step == PairingStep::Failed {
            self.linger_on(now, bytes);
            return;
        }
        match wire::kind(bytes) {
            Ok(wire::Kind::PairingCommit) => self.handle_commit(now, bytes),
            Ok(wire::Kind::Hello(_)) => self.handle_hello(now, bytes),
            Ok(wire::Kind::PairingAbort) => self.handle_abort(bytes),
            Ok(wire::Kind::Session(_)) => self.handle_session(now, bytes),
            Err(_) => self.stats.refused += 1,
        }
    }

    fn handle_session(&mut self, now: Instant, bytes: &[u8]) {
        if !self.is_under_way() || self.session.is_none() {
            return;
        }
        if !self.confirmed {
            // Nothing of the session happens before our person confirmed;
            // keep the other side's handshakes (checked, one HMAC) for then.
            if !self
                .session
                .as_ref()
                .is_some_and(|s| s.authentic_handshake(bytes))
            {
                self.stats.refused += 1;
                return;
            }
            if self.held.len() == HELD_MESSAGES {
                self.held.pop_front();
            }
            self.held.push_back(bytes.to_vec());
            return;
        }
        if let Some(session) = self.session.as_mut() {
            session.handle_message(now, bytes);
        }
        self.drive_session(now);
    }

    fn handle_commit(&mut self, now: Instant, bytes: &[u8]) {
        let commitment = match Commitment::open(bytes, &self.keys) {
            Ok(c) => c,
            Err(_) => {
                self.stats.refused += 1;
                return;
            }
        };
        if self.role == Role::Manager {
            // Not ours (ours are echoes): another manager holds the code.
            self.leaked();
            return;
        }
        match self.commitment {
            Some(accepted) if accepted == commitment => {
                self.stats.duplicates += 1;
                // The manager has not heard our answer yet.
                if self.is_under_way() && self.peer.is_none() {
                    self.answer_repeat(now);
                }
            }
            Some(_) => self.leaked(),
            None if !self.is_under_way() => {}
            None => {
                let hello = self.make_hello(Some(commitment));
                self.commitment = Some(commitment);
                let sealed = hello.sealed.clone();
                self.hello = Some(hello);
                self.publish(sealed);
                self.retry = Some((now + self.config.retry_initial, self.config.retry_initial));
                self.watch_until = Some(now + self.config.leak_watch);
                self.step = PairingStep::Answered;
                self.events
                    .push_back(PairingEvent::Progress(PairingStep::Answered));
            }
        }
    }

    fn handle_hello(&mut self, now: Instant, bytes: &[u8]) {
        let opened = match Hello::open(bytes, &self.keys) {
            Ok(opened) => opened,
            Err(_) => {
                self.stats.refused += 1;
                return;
            }
        };
        if opened.hello.role == self.role {
            // A HELLO of our own kind that we did not send: another app
            // (or manager) holds the code.
            self.leaked();
            return;
        }
        if let Some(peer) = &self.peer {
            if peer.body == opened.body {
                self.stats.duplicates += 1;
                // The app has not heard our HELLO yet.
                if self.role == Role::Manager && self.is_under_way() {
                    self.answer_repeat(now);
                }
            } else {
                self.leaked();
            }
            return;
        }
        match self.role {
            Role::App => {
                // The manager's reveal: it must be what it committed to.
                let Some(accepted) = self.commitment else {
                    self.leaked();
                    return;
                };
                if Commitment::to(&self.keys.topic, &opened.body) != accepted {
                    self.leaked();
                    return;
                }
            }
            Role::Manager => {
                // The app's answer: to our commitment, or someone else's.
                if opened.hello.answers != self.commitment.map(|c| c.0) {
                    self.leaked();
                    return;
                }
            }
        }
        if !self.is_under_way() {
            return;
        }
        self.accept(now, opened);
    }

    /// Both HELLOs are known: make the session (not started), show the
    /// string, and ask.
    fn accept(&mut self, now: Instant, opened: OpenedHello) {
        let Some(topic) = session_content_topic(&self.own.keypair, &opened.hello.static_key) else {
            // A low-order key can never hold a session.
            self.stats.refused += 1;
            return;
        };
        let Some(own_body) = self.hello.as_ref().map(|h| h.body.clone()) else {
            return;
        };
        let verification = match self.role {
            Role::Manager => verification_string(&self.keys.topic, &own_body, &opened.body),
            Role::App => verification_string(&self.keys.topic, &opened.body, &own_body),
        };
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let session = Session::new(
            self.config.session.clone(),
            self.own.keypair.clone(),
            opened.hello.static_key,
            seed,
        );
        let counterparty = Counterparty::from_hello(&opened.hello);
        if self.role == Role::Manager {
            // The reveal: the app checks it against the commitment.
            self.resend_hello();
            self.watch_until = Some(now + self.config.leak_watch);
        }
        self.retry = None;
        self.peer = Some(opened);
        self.session = Some(session);
        self.session_topic = Some(topic);
        self.verification = Some(verification.clone());
        self.step = PairingStep::Comparing;
        self.events
            .push_back(PairingEvent::Compare(Box::new(Comparison {
                counterparty,
                verification,
            })));
    }

    fn handle_abort(&mut self, bytes: &[u8]) {
        match sealed::open(bytes, &self.keys) {
            Ok(body) => {
                let reason = AbortBody::decode(body.as_slice())
                    .map(|b| AbortReason::from_wire(b.reason))
                    .unwrap_or(AbortReason::Unknown);
                if self.step == PairingStep::Paired {
                    // The other side took its half back, or someone else
                    // with the code is about: either way, this one goes.
                    self.watch_until = None;
                    self.events
                        .push_back(PairingEvent::Withdrawn(PairingError::AbortedByPeer(reason)));
                } else {
                    self.fail(PairingError::AbortedByPeer(reason), None);
                }
            }
            // Not sealed from this code: anyone may publish on the topic.
            Err(_) => self.stats.refused += 1,
        }
    }

    /// Moves the session's output to ours, and finishes on establishment.
    fn drive_session(&mut self, now: Instant) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let topic = self.session_topic.clone().unwrap_or_default();
        while let Some(payload) = session.poll_transmit() {
            self.transmit.push_back(Transmit {
                content_topic: topic.clone(),
                payload,
            });
        }
        // Frames before pairing completes cannot be for the application.
        while session.poll_event().is_some() {}
        // The manager pairs first, when its session is established; the
        // app only once it heard from the manager under the new keys,
        // which the manager sends only after it stored the pairing.
        let done = session.is_online()
            && match self.role {
                Role::Manager => true,
                Role::App => session.heard_from_peer(),
            };
        if !done || !self.confirmed {
            return;
        }
        let session = self.session.take().expect("checked above");
        let peer = self.peer.as_ref().expect("a session implies a HELLO");
        let counterparty = Counterparty::from_hello(&peer.hello);
        let verification = self.verification.clone().unwrap_or_default();
        self.step = PairingStep::Paired;
        self.retry = None;
        if self.watch_until.is_some_and(|until| until <= now) {
            self.watch_until = None;
        }
        self.events.push_back(PairingEvent::Paired(Box::new(Paired {
            counterparty,
            verification,
            session,
            session_topic: topic,
        })));
    }

    /// Runs the timers due at `now`: expiry, retransmission, the end of the
    /// watch, and the first session's own timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.is_finished() {
            return;
        }
        if self.step == PairingStep::Failed {
            let mut again = None;
            if let Some(linger) = self.linger.as_mut() {
                while linger.repeats.front().is_some_and(|at| now >= *at) {
                    linger.repeats.pop_front();
                    again = Some(linger.abort.clone());
                }
            }
            if let Some(abort) = again {
                self.publish(abort);
            }
            if self.linger.as_ref().is_some_and(|l| now >= l.until) {
                self.linger = None;
            }
            return;
        }
        if self.step == PairingStep::Paired {
            if self.watch_until.is_some_and(|until| now >= until) {
                self.watch_until = None;
            }
            return;
        }
        if now >= self.deadline {
            self.fail(PairingError::Expired, None);
            return;
        }
        if let Some((at, delay)) = self.retry
            && now >= at
        {
            match self.role {
                Role::Manager => {
                    if let Some(message) = self.commit_message.clone() {
                        self.publish(message);
                    }
                }
                Role::App => self.resend_hello(),
            }
            let next = (delay * 2).min(self.config.retry_max);
            self.retry = Some((now + next, next));
        }
        if self.confirmed
            && let Some(session) = self.session.as_mut()
        {
            session.handle_timeout(now);
            self.drive_session(now);
        }
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) has work at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_finished() {
            return None;
        }
        if self.step == PairingStep::Paired {
            return self.watch_until;
        }
        if self.step == PairingStep::Failed {
            return self
                .linger
                .as_ref()
                .map(|l| l.repeats.front().copied().unwrap_or(l.until).min(l.until));
        }
        [
            Some(self.deadline),
            self.retry.map(|(at, _)| at),
            self.session
                .as_ref()
                .filter(|_| self.confirmed)
                .and_then(Session::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next message to publish.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmit.pop_front()
    }

    /// The next event for the driver.
    pub fn poll_event(&mut self) -> Option<PairingEvent> {
        self.events.pop_front()
    }
}
