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

mod events;
mod receive;

use events::AbortBody;
pub use events::{
    AbortReason, Comparison, Counterparty, LocalIdentity, Paired, PairingConfig, PairingError,
    PairingEvent, PairingStats, PairingStep, Transmit,
};

use crate::frame::DisconnectReason;
use crate::hello::{Hello, OpenedHello, Role};
use crate::identity::{NodeId, PublicKey, StaticKeypair};
use crate::kdf::{PairingKeys, Purpose, session_content_topic};
use crate::pairing_code::PairingCode;
use crate::pairing_commit::Commitment;
use crate::sealed;
use crate::session::{Keepalive, Session, SessionConfig};
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
        let keys = PairingKeys::derive_for(code, config.purpose);
        Pairing {
            role,
            config,
            keys,
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
