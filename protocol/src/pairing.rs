//! The pairing state machines of both roles: from a code to a first
//! established session, persisting nothing before it.
//!
//! ```text
//!  app                      pairing topic T                      manager
//!   │ code issued, waiting                       code typed          │
//!   │ ◄───────────── HELLO_APP (manager's identity, sealed with HS) ─┤ (re-sent until answered)
//!   ├─ HELLO_NODE_MANAGER (app's identity, sealed with HS) ─────────► │
//!   │                      session topic S                            │
//!   │ ◄──────────────────────────── HANDSHAKE_1 (Noise KK) ──────────┤ (re-sent until answered)
//!   ├─ HANDSHAKE_2 ──────────────────────────────────────────────────► │ established: paired
//!   │ ◄──────────────────────────── DATA (ping) ─────────────────────┤
//!   │ established: paired                                             │
//! ```
//!
//! Both sides emit [`PairingEvent::Paired`], the only point where a
//! counterparty may be persisted, when their first session is established:
//! the manager when the app's HANDSHAKE_2 authenticates, the app when the
//! manager's first DATA under the new keys does. A code is single-use and
//! short-lived: the first valid HELLO consumes it, a second distinct one
//! aborts the pairing on every side (the code leaked), and nothing is
//! accepted after `ttl`.
//!
//! Call order is the session's: `handle_message` with every message received
//! on the pairing topic and (once known) the session topic, `handle_timeout`
//! at `poll_timeout`, then drain `poll_transmit` and `poll_event`.

use crate::hello::{Hello, HelloError, Role};
use crate::identity::{NodeId, PublicKey, StaticKeypair};
use crate::kdf::{PairingKeys, session_content_topic};
use crate::pairing_code::PairingCode;
use crate::sealed;
use crate::session::{Session, SessionConfig, SessionEvent};
use crate::wire;
use prost::Message;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

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
    /// First delay before the manager sends its HELLO again.
    pub retry_initial: Duration,
    /// Longest delay between HELLO retransmissions.
    pub retry_max: Duration,
    /// The first session's timings.
    pub session: SessionConfig,
}

impl Default for PairingConfig {
    fn default() -> Self {
        PairingConfig {
            ttl: Duration::from_secs(10 * 60),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(8),
            session: SessionConfig::default(),
        }
    }
}

/// Where a pairing stands, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairingStep {
    /// App: the code is out, no manager answered yet. Manager: our HELLO is
    /// out, the app has not answered yet.
    WaitingForHello,
    /// The other side's HELLO arrived and ours is out (app), or both HELLOs
    /// crossed (manager): the session handshake is under way.
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
    #[error("the pairing code expired before the other side answered; make a new code")]
    Expired,
    /// Two different peers answered the same code: it leaked.
    #[error(
        "someone else also answered this code, so it may have leaked; pairing stopped, make a new code"
    )]
    AnsweredTwice,
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
    /// A second distinct HELLO answered the same code.
    #[error("someone else also answered this code, so it may have leaked")]
    AnsweredTwice,
    /// The person cancelled.
    #[error("cancelled")]
    Cancelled,
    /// A reason from a newer version.
    #[error("unknown reason")]
    Unknown,
}

impl AbortReason {
    fn wire(self) -> u32 {
        match self {
            AbortReason::AnsweredTwice => 1,
            AbortReason::Cancelled => 2,
            AbortReason::Unknown => 0,
        }
    }

    fn from_wire(v: u32) -> Self {
        match v {
            1 => AbortReason::AnsweredTwice,
            2 => AbortReason::Cancelled,
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

/// The short string both sides show once paired, for people who compare:
/// six digits, `"123 456"`, from
/// `SHA-256("nodepair/1/verification" ‖ T ‖ manager key ‖ app key)`.
///
/// It depends only on the code and the two identities, so it is the same on
/// both sides whichever handshake completed first on a lossy network, and it
/// differs if anyone substituted a key during pairing.
pub fn verification_string(topic: &[u8; 32], manager: &PublicKey, app: &PublicKey) -> String {
    let digest = Sha256::new()
        .chain_update(b"nodepair/1/verification")
        .chain_update(topic)
        .chain_update(manager.as_bytes())
        .chain_update(app.as_bytes())
        .finalize();
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 1_000_000;
    format!("{:03} {:03}", n / 1000, n % 1000)
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

/// A successful pairing.
#[derive(Debug)]
pub struct Paired {
    /// Who was paired with.
    pub counterparty: Counterparty,
    /// The short string both sides show (see [`verification_string`]).
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
    /// Done: persist `counterparty` now, atomically, and keep the session.
    Paired(Box<Paired>),
    /// Ended without success; nothing to persist.
    Failed(PairingError),
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
    /// HELLOs of the kind we send ourselves (our own echo, or a reflection).
    pub reflected: u64,
    /// Repeats of the HELLO we already accepted.
    pub duplicates: u64,
}

/// One pairing, in either role.
#[derive(Debug)]
pub struct Pairing {
    role: Role,
    config: PairingConfig,
    keys: PairingKeys,
    own: LocalIdentity,
    /// Draws HELLO nonces and the session's seed.
    rng: ChaCha20Rng,
    /// Nothing is accepted after this.
    deadline: Instant,
    step: PairingStep,
    /// The HELLO that consumed the code.
    peer: Option<Hello>,
    /// Our sealed HELLO, re-sent as retransmission.
    our_hello: Option<Vec<u8>>,
    /// Manager only: when to re-send our HELLO, and the delay after that.
    retry: Option<(Instant, Duration)>,
    /// The first session, once both identities are known.
    session: Option<Session>,
    session_topic: Option<String>,
    transmit: VecDeque<Transmit>,
    events: VecDeque<PairingEvent>,
    stats: PairingStats,
}

impl Pairing {
    /// The app's side: `code` was just drawn from a CSPRNG and is shown to the
    /// person; we wait for a manager's HELLO. `seed`: 32 bytes from a CSPRNG.
    pub fn app(
        code: &PairingCode,
        own: LocalIdentity,
        now: Instant,
        config: PairingConfig,
        seed: [u8; 32],
    ) -> Self {
        Self::new(Role::App, code, own, now, config, seed)
    }

    /// The manager's side: the operator typed `code`; we introduce ourselves
    /// at once and repeat it until the app answers.
    pub fn manager(
        code: &PairingCode,
        own: LocalIdentity,
        now: Instant,
        config: PairingConfig,
        seed: [u8; 32],
    ) -> Self {
        let mut pairing = Self::new(Role::Manager, code, own, now, config, seed);
        pairing.send_hello();
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
            step: PairingStep::WaitingForHello,
            peer: None,
            our_hello: None,
            retry: None,
            session: None,
            session_topic: None,
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

    fn finished(&self) -> bool {
        matches!(self.step, PairingStep::Paired | PairingStep::Failed)
    }

    fn send_hello(&mut self) {
        let hello = Hello {
            role: self.role,
            static_key: self.own.keypair.public(),
            display_name: self.own.display_name.clone(),
            node_id: self.own.node_id,
            capabilities: self.own.capabilities.clone(),
        };
        let mut nonce = [0u8; 24];
        self.rng.fill_bytes(&mut nonce);
        let bytes = hello.seal(&self.keys, nonce);
        self.our_hello = Some(bytes.clone());
        self.push_pairing(bytes);
    }

    fn push_pairing(&mut self, payload: Vec<u8>) {
        self.transmit.push_back(Transmit {
            content_topic: self.keys.content_topic(),
            payload,
        });
    }

    fn fail(&mut self, error: PairingError, tell_peer: Option<AbortReason>) {
        if let Some(reason) = tell_peer {
            self.send_abort(reason);
        }
        self.step = PairingStep::Failed;
        self.session = None;
        self.retry = None;
        self.events.push_back(PairingEvent::Failed(error));
    }

    fn send_abort(&mut self, reason: AbortReason) {
        let mut nonce = [0u8; 24];
        self.rng.fill_bytes(&mut nonce);
        let body = AbortBody {
            reason: reason.wire(),
        }
        .encode_to_vec();
        let bytes = sealed::seal(&self.keys, wire::PAIRING_ABORT, &body, nonce);
        self.push_pairing(bytes);
    }

    /// Takes back a pairing that finished here but cannot be kept (its
    /// counterparty could not be stored): the other side, which may still
    /// wait for the session's first message, is told to give up
    /// (PAIRING_ABORT, cancelled) instead of waiting until the code expires.
    /// The caller drops the session it got with [`PairingEvent::Paired`].
    /// Does nothing unless the pairing is paired.
    pub fn retract(&mut self) {
        if self.step != PairingStep::Paired {
            return;
        }
        // What the session queued (its first message) must not go out: the
        // other side would take it as the pairing's end and keep us.
        let pairing_topic = self.keys.content_topic();
        self.transmit.retain(|t| t.content_topic == pairing_topic);
        self.send_abort(AbortReason::Cancelled);
        self.step = PairingStep::Failed;
    }

    /// Cancels the pairing and tells the other side, if it is known.
    pub fn cancel(&mut self) {
        if self.finished() {
            return;
        }
        let tell = self.peer.is_some().then_some(AbortReason::Cancelled);
        self.fail(PairingError::Cancelled, tell);
    }

    /// Handles one message received on the pairing or the session topic.
    pub fn handle_message(&mut self, now: Instant, bytes: &[u8]) {
        if self.finished() {
            return;
        }
        if now >= self.deadline {
            self.handle_timeout(now);
            return;
        }
        match wire::kind(bytes) {
            Ok(wire::Kind::Hello(_)) => self.handle_hello(now, bytes),
            Ok(wire::Kind::PairingAbort) => self.handle_abort(bytes),
            Ok(wire::Kind::Session(_)) => {
                if let Some(session) = self.session.as_mut() {
                    session.handle_message(now, bytes);
                    self.drive_session();
                }
            }
            Err(_) => self.stats.refused += 1,
        }
    }

    fn handle_hello(&mut self, now: Instant, bytes: &[u8]) {
        let hello = match Hello::open(bytes, &self.keys, self.role) {
            Ok(hello) => hello,
            Err(HelloError::Reflected) => {
                self.stats.reflected += 1;
                return;
            }
            Err(_) => {
                self.stats.refused += 1;
                return;
            }
        };
        if let Some(peer) = &self.peer {
            if *peer == hello {
                self.stats.duplicates += 1;
                // Our answer may have been lost: the app repeats it.
                if self.role == Role::App
                    && let Some(ours) = self.our_hello.clone()
                {
                    self.push_pairing(ours);
                }
            } else {
                self.fail(
                    PairingError::AnsweredTwice,
                    Some(AbortReason::AnsweredTwice),
                );
            }
            return;
        }
        let Some(topic) = session_content_topic(&self.own.keypair, &hello.static_key) else {
            // A low-order key can never hold a session.
            self.stats.refused += 1;
            return;
        };
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let mut session = Session::new(
            self.config.session.clone(),
            self.own.keypair.clone(),
            hello.static_key,
            seed,
        );
        self.peer = Some(hello);
        self.session_topic = Some(topic);
        match self.role {
            Role::App => self.send_hello(),
            Role::Manager => {
                self.retry = None;
                session.connect(now);
            }
        }
        self.session = Some(session);
        self.step = PairingStep::Verifying;
        self.events
            .push_back(PairingEvent::Progress(PairingStep::Verifying));
        self.drive_session();
    }

    fn handle_abort(&mut self, bytes: &[u8]) {
        match sealed::open(bytes, &self.keys) {
            Ok(body) => {
                let reason = AbortBody::decode(body.as_slice())
                    .map(|b| AbortReason::from_wire(b.reason))
                    .unwrap_or(AbortReason::Unknown);
                self.fail(PairingError::AbortedByPeer(reason), None);
            }
            // Not sealed from this code: anyone may publish on the topic.
            Err(_) => self.stats.refused += 1,
        }
    }

    /// Moves the session's output to ours, and finishes on establishment.
    fn drive_session(&mut self) {
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
        let mut established = false;
        while let Some(event) = session.poll_event() {
            // Frames before pairing completes cannot be for the application.
            established |= matches!(event, SessionEvent::Established { .. });
        }
        if established {
            let session = self.session.take().expect("checked above");
            let hello = self.peer.clone().expect("a session implies a HELLO");
            let own = self.own.keypair.public();
            let (manager_key, app_key) = match self.role {
                Role::Manager => (own, hello.static_key),
                Role::App => (hello.static_key, own),
            };
            let verification = verification_string(&self.keys.topic, &manager_key, &app_key);
            self.step = PairingStep::Paired;
            self.retry = None;
            self.events.push_back(PairingEvent::Paired(Box::new(Paired {
                counterparty: Counterparty {
                    role: hello.role,
                    static_key: hello.static_key,
                    display_name: hello.display_name,
                    node_id: hello.node_id,
                    capabilities: hello.capabilities,
                },
                verification,
                session,
                session_topic: topic,
            })));
        }
    }

    /// Runs the timers due at `now`: expiry, HELLO retransmission and the
    /// first session's own timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.finished() {
            return;
        }
        if now >= self.deadline {
            self.fail(PairingError::Expired, None);
            return;
        }
        if let Some((at, delay)) = self.retry
            && now >= at
        {
            if let Some(ours) = self.our_hello.clone() {
                self.push_pairing(ours);
            }
            let next = (delay * 2).min(self.config.retry_max);
            self.retry = Some((now + next, next));
        }
        if let Some(session) = self.session.as_mut() {
            session.handle_timeout(now);
            self.drive_session();
        }
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) has work at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished() {
            return None;
        }
        [
            Some(self.deadline),
            self.retry.map(|(at, _)| at),
            self.session.as_ref().and_then(Session::poll_timeout),
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
