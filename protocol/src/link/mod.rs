//! One paired counterparty at run time: its session and what rides on it.
//!
//! A [`Link`] wraps a [`Session`] and adds the rules of what travels over
//! it (docs/protocol.md §8): our requests' ids, their answers and
//! deadlines, and sending them once more after new keys; serving the
//! counterparty's requests at most once and within its limits; numbering
//! our event streams; the counterparty's state updates; revocation and its
//! retries; and the node state people see. Like everything in this crate it
//! takes time, randomness and received bytes as arguments:
//!
//! 1. feed it with [`handle_message`](Link::handle_message),
//!    [`handle_timeout`](Link::handle_timeout) (at
//!    [`poll_timeout`](Link::poll_timeout)) and the program's calls
//!    ([`request`](Link::request), [`respond`](Link::respond),
//!    [`send_event`](Link::send_event), [`revoke`](Link::revoke));
//! 2. publish [`poll_transmit`](Link::poll_transmit) on its topic, **before**
//!    acting on the events (a revocation's answer goes out before the
//!    counterparty is forgotten);
//! 3. act on [`poll_event`](Link::poll_event).

mod event_streams;
mod events;
mod key_moves;
mod outstanding;

pub use events::{EventRefused, LinkConfig, LinkEvent, RequestRefused, Revoking, Unanswered};
pub use outstanding::RequestId;

use crate::frame::{
    DisconnectReason, Event, Frame, MAX_FRAME_LEN, REVOKE_METHOD, Request, Response, StateUpdate,
    is_reserved_method,
};
use crate::identity::{PublicKey, StaticKeypair};
use crate::key_move::ROTATE_METHOD;
use crate::node_state::NodeState;
use crate::peer_limits::{CounterpartyLimits, UpdatePacer};
use crate::recent_requests::RecentRequests;
use crate::session::{SendError, Session, SessionEvent, SessionStats};
use crate::status::Status;
use bytes::Bytes;
use bytestring::ByteString;
use event_streams::EventStreams;
use outstanding::{Asked, Outstanding};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How far before we last saw a counterparty its handshakes still count as
/// new once we restart: its clock may be that much slower than ours. (A
/// clock slower still only means the handshake completes the other way
/// round: ours to it.)
pub const FLOOR_MARGIN: Duration = Duration::from_secs(600);

/// A refused state update is reported at most this often, whatever the
/// counterparty sends.
pub const REFUSAL_REPORT_EVERY: Duration = Duration::from_secs(60);

/// One paired counterparty's link. See the module docs for the call order.
pub struct Link {
    /// Our state updates, paced to what the counterparty takes.
    pacer: UpdatePacer,
    /// A state update held back by the pacer (later ones merged in), and
    /// when it may go.
    held_update: Option<(StateUpdate, Instant)>,
    config: LinkConfig,
    own: StaticKeypair,
    /// Draws the seeds of later sessions.
    rng: ChaCha20Rng,
    session: Session,
    /// Online, PairedOffline or Connecting.
    state: NodeState,
    /// Revoked here; the link stays only to tell the counterparty.
    revoking: bool,
    /// Revoked (either way), withdrawn or shut down: nothing more.
    over: bool,
    /// Our announcement of a new key, until the counterparty answers it.
    moving: Option<Bytes>,
    latency: Option<Duration>,
    /// How many times keys were confirmed: a request sent under older keys
    /// goes again under new ones (a counterparty that restarted lost them).
    keys_epoch: u64,
    outstanding: Outstanding,
    streams: EventStreams,
    /// Its request ids acted on lately.
    recent: RecentRequests,
    limits: CounterpartyLimits,
    refusal_reported_at: Option<Instant>,
    /// Counts of the sessions this link replaced.
    retired: SessionStats,
    heard: bool,
    events: VecDeque<LinkEvent>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("peer", self.session.peer())
            .field("state", &self.state())
            .field("outstanding", &self.outstanding.len())
            .finish_non_exhaustive()
    }
}

impl Link {
    /// Whether a message on this counterparty's session topic is the
    /// link's to handle. While a pairing with the same counterparty is
    /// under way (`repairing`: it shares the session topic, protocol.md
    /// §6), its handshakes are that pairing's alone, answered only once
    /// this side's person confirmed, never by the old link; everything else
    /// (and everything once no pairing is under way) is the link's.
    pub fn takes(payload: &[u8], repairing: bool) -> bool {
        let handshake = matches!(
            crate::wire::kind(payload),
            Ok(crate::wire::Kind::Session(ty))
                if ty == crate::wire::HANDSHAKE_1 || ty == crate::wire::HANDSHAKE_2
        );
        !(repairing && handshake)
    }

    /// A link to a stored counterparty, connecting at once. `last_seen`
    /// (Unix seconds) keeps its handshakes from before then unanswered, a
    /// margin ([`FLOOR_MARGIN`]) allowed for its clock. `revoking`: it was
    /// revoked here and is only to be told.
    pub fn connect(
        config: LinkConfig,
        own: StaticKeypair,
        peer: PublicKey,
        seed: [u8; 32],
        now: Instant,
        last_seen: Option<u64>,
        revoking: bool,
    ) -> Self {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let mut session = Session::new(config.session.clone(), own.clone(), peer, seeded(&mut rng));
        session.connect(now);
        if let Some(seen) = last_seen {
            let floor = seen.saturating_sub(FLOOR_MARGIN.as_secs());
            session.set_peer_floor(floor.saturating_mul(1_000_000_000));
        }
        let mut link = Link::with_session(config, own, rng, session, NodeState::Connecting);
        link.revoking = revoking;
        link
    }

    /// A link for a counterparty just paired, whose first session is up.
    pub fn paired(
        config: LinkConfig,
        own: StaticKeypair,
        session: Session,
        seed: [u8; 32],
    ) -> Self {
        let rng = ChaCha20Rng::from_seed(seed);
        Link::with_session(config, own, rng, session, NodeState::Online)
    }

    fn with_session(
        mut config: LinkConfig,
        own: StaticKeypair,
        mut rng: ChaCha20Rng,
        session: Session,
        state: NodeState,
    ) -> Self {
        // Sessions made later for this counterparty (after it closed) keep
        // the pairing's keepalive role.
        config.session.keepalive = session.keepalive();
        // Half the range, so ids do not wrap soon.
        let first_id = rng.next_u64() >> 1;
        Link {
            pacer: UpdatePacer::new(&config.limits),
            held_update: None,
            limits: CounterpartyLimits::new(config.limits.clone()),
            config,
            own,
            rng,
            session,
            state,
            revoking: false,
            over: false,
            moving: None,
            latency: None,
            keys_epoch: 0,
            outstanding: Outstanding::new(first_id),
            streams: EventStreams::default(),
            recent: RecentRequests::default(),
            refusal_reported_at: None,
            retired: SessionStats::default(),
            heard: false,
            events: VecDeque::new(),
        }
    }

    /// The counterparty's key.
    pub fn peer(&self) -> PublicKey {
        *self.session.peer()
    }

    /// The state people see: `Revoked` while it is being revoked.
    pub fn state(&self) -> NodeState {
        if self.revoking {
            NodeState::Revoked
        } else {
            self.state
        }
    }

    /// Whether it was revoked here and is only kept to be told.
    pub fn is_revoking(&self) -> bool {
        self.revoking
    }

    /// Whether a session is up.
    pub fn is_online(&self) -> bool {
        !self.over && self.session.is_online()
    }

    /// How many times the session got new keys (established or renewed).
    /// A counterparty that restarted may come back as a renewal, staying
    /// online: what it had been asked to keep doing for us (a follow) is
    /// gone, and this is how a caller can tell.
    pub fn keys_epoch(&self) -> u64 {
        self.keys_epoch
    }

    /// The last keepalive's round trip, while online.
    pub fn latency(&self) -> Option<Duration> {
        self.latency
    }

    /// Everything its sessions dropped so far, and why.
    pub fn stats(&self) -> SessionStats {
        let mut stats = self.retired.clone();
        stats.add(self.session.stats());
        stats
    }

    /// Requests answered 429 and state updates refused, so far.
    pub fn refused(&self) -> u64 {
        self.limits.refused()
    }

    /// Our requests waiting for an answer.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// A message arrived on its session topic.
    pub fn handle_message(&mut self, now: Instant, bytes: &[u8]) {
        if self.over {
            return;
        }
        self.session.handle_message(now, bytes);
        self.pump(now);
    }

    /// Time passed to (or beyond) [`poll_timeout`](Self::poll_timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.over {
            return;
        }
        if self.session.poll_timeout().is_some_and(|t| t <= now) {
            self.session.handle_timeout(now);
        }
        if self.held_update.as_ref().is_some_and(|(_, at)| *at <= now) {
            self.send_held_update(now);
        }
        let mut ask_again = false;
        for (id, asked) in self.outstanding.expire(now) {
            match asked {
                Asked::Program => self.events.push_back(LinkEvent::Unanswered {
                    id,
                    why: Unanswered::TimedOut,
                }),
                Asked::Revocation => {
                    self.events.push_back(LinkEvent::RevocationPending);
                    ask_again = true;
                }
                Asked::KeyMove => {}
            }
        }
        // Keep asking while the session says it is up.
        if ask_again && self.session.is_online() {
            self.send_revocation(now);
        }
        if self.moving.is_some()
            && !self.outstanding.key_move_in_flight()
            && self.session.is_online()
        {
            self.send_key_move(now);
        }
        self.pump(now);
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.over {
            return None;
        }
        [
            self.session.poll_timeout(),
            self.outstanding.next_deadline(),
            self.held_update.as_ref().map(|(_, at)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next message to publish on its session topic.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.session.poll_transmit()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<LinkEvent> {
        self.events.pop_front()
    }

    /// Whether a message or an event waits to be polled: a driver with many
    /// links passes over the others.
    pub fn has_output(&self) -> bool {
        !self.events.is_empty() || self.session.has_transmit()
    }

    /// Sends a request of the program's, sealed now under the current keys
    /// or queued for the next. Its answer comes as [`LinkEvent::Answered`],
    /// or [`LinkEvent::Unanswered`] after the request timeout. Sent once
    /// more if newer keys come before the answer; the counterparty acts on
    /// it once.
    pub fn request(
        &mut self,
        now: Instant,
        method: String,
        body: Bytes,
    ) -> Result<RequestId, RequestRefused> {
        if self.over || self.revoking {
            return Err(RequestRefused::NotPaired);
        }
        if is_reserved_method(&method) {
            return Err(RequestRefused::Reserved(method));
        }
        self.send_program(now, method, body)
    }

    /// Sends the program's request and keeps it until answered.
    fn send_program(
        &mut self,
        now: Instant,
        method: String,
        body: Bytes,
    ) -> Result<RequestId, RequestRefused> {
        let epoch = if self.session.is_online() {
            self.keys_epoch
        } else {
            self.keys_epoch + 1
        };
        let deadline = now + self.config.request_timeout;
        let request = self
            .outstanding
            .open(method, body, Asked::Program, deadline, epoch);
        let id = request.id;
        if let Err(e) = self.session.send(Frame::Request(request)) {
            self.outstanding.abandon(id);
            return Err(e.into());
        }
        Ok(RequestId(id))
    }

    /// Sends one of the protocol's own requests that a program drives
    /// (adding a computer: [`INTRODUCE_METHOD`] and [`HANDOFF_METHOD`];
    /// cutting one off: [`CUT_OFF_METHOD`]),
    /// answered as [`request`](Self::request)'s are. Any other method is
    /// refused as reserved.
    ///
    /// [`INTRODUCE_METHOD`]: crate::introduction::INTRODUCE_METHOD
    /// [`HANDOFF_METHOD`]: crate::introduction::HANDOFF_METHOD
    /// [`CUT_OFF_METHOD`]: crate::cut_off::CUT_OFF_METHOD
    pub fn request_protocol(
        &mut self,
        now: Instant,
        method: &str,
        body: Bytes,
    ) -> Result<RequestId, RequestRefused> {
        use crate::cut_off::CUT_OFF_METHOD;
        use crate::introduction::{HANDOFF_METHOD, INTRODUCE_METHOD};
        if ![INTRODUCE_METHOD, HANDOFF_METHOD, CUT_OFF_METHOD].contains(&method) {
            return Err(RequestRefused::Reserved(method.to_owned()));
        }
        if self.over || self.revoking {
            return Err(RequestRefused::NotPaired);
        }
        self.send_program(now, method.to_owned(), body)
    }

    /// Answers a request [`LinkEvent::Serve`] handed out. One too large for
    /// a frame goes as a 507 saying so (the asker is never left waiting for
    /// its timeout) and is reported as `TooLarge`.
    pub fn respond(&mut self, id: u64, status: Status, body: Bytes) -> Result<(), SendError> {
        self.limits.request_done();
        if self.over {
            return Err(SendError::Closed);
        }
        let response = Response {
            id,
            status: u32::from(status.0),
            body,
        };
        match self.session.send(Frame::Response(response)) {
            Err(SendError::TooLarge { len }) => {
                let refusal = Response {
                    id,
                    status: u32::from(Status::RESPONSE_TOO_LARGE.0),
                    body: Bytes::from(format!(
                        "the answer is {len} bytes, over the {MAX_FRAME_LEN}-byte frame limit; ask for less"
                    )),
                };
                self.session.send(Frame::Response(refusal))?;
                Err(SendError::TooLarge { len })
            }
            other => other,
        }
    }

    /// Pushes one event of `stream`, numbered after the last one sent on
    /// it; returns its number. Only while online: events are not queued.
    pub fn send_event(&mut self, stream: ByteString, body: Bytes) -> Result<u64, EventRefused> {
        if self.over || self.revoking {
            return Err(EventRefused::NotPaired);
        }
        if self.state != NodeState::Online {
            return Err(EventRefused::NotOnline);
        }
        let seq = self.streams.next(&stream);
        self.session.send(Frame::Event(Event {
            stream: stream.clone(),
            seq,
            body,
        }))?;
        self.streams.sent(stream, seq);
        Ok(seq)
    }

    /// Tells the counterparty what this side now is to it: its name and
    /// the capabilities it offers it. Only while online (a side announces
    /// again when a session comes up); the counterparty takes at most a few
    /// a minute.
    pub fn announce(
        &mut self,
        now: Instant,
        display_name: Option<String>,
        capabilities: Option<Vec<String>>,
    ) -> Result<(), EventRefused> {
        if self.over || self.revoking {
            return Err(EventRefused::NotPaired);
        }
        if self.state != NodeState::Online {
            return Err(EventRefused::NotOnline);
        }
        // Merged into one held back: each field as last announced.
        let update = match self.held_update.take() {
            Some((mut held, _)) => {
                if display_name.is_some() {
                    held.display_name = display_name;
                }
                if let Some(capabilities) = capabilities {
                    held.capabilities = capabilities;
                    held.capabilities_changed = true;
                }
                held
            }
            None => StateUpdate {
                display_name,
                capabilities_changed: capabilities.is_some(),
                capabilities: capabilities.unwrap_or_default(),
            },
        };
        // More than the counterparty takes now: it waits rather than be
        // dropped there.
        if !self.pacer.admit(now) {
            self.held_update = Some((update, self.pacer.next_at(now)));
            return Ok(());
        }
        self.session.send(Frame::StateUpdate(update))?;
        Ok(())
    }

    /// Sends a state update the pacer held back, once it may go.
    fn send_held_update(&mut self, now: Instant) {
        let Some((update, at)) = self.held_update.take() else {
            return;
        };
        if at > now || !self.session.is_online() || !self.pacer.admit(now) {
            let at = if at > now {
                at
            } else {
                self.pacer.next_at(now)
            };
            self.held_update = Some((update, at));
            return;
        }
        let _ = self.session.send(Frame::StateUpdate(update));
    }

    /// Revokes the counterparty, once the program has recorded that it
    /// did: told now if online, else after its next handshake, and asked
    /// again until it answers.
    pub fn revoke(&mut self, now: Instant) -> Revoking {
        self.revoking = true;
        let sent = self.session.is_online()
            && !self.outstanding.revocation_in_flight()
            && self.send_revocation(now);
        self.pump(now);
        if sent {
            Revoking::Sent
        } else {
            Revoking::WillBeTold
        }
    }

    /// Takes the pairing back (someone else answered its code): the
    /// counterparty is told if it is online, and the link is over.
    pub fn withdraw(&mut self, detail: &str) {
        if self.is_online() {
            self.session.close(DisconnectReason::Revoked, detail);
        }
        self.end(Unanswered::SessionClosed);
    }

    /// We are shutting down: the counterparty is told if online, and our
    /// requests end.
    pub fn shutdown(&mut self) {
        if self.is_online() {
            self.session
                .close(DisconnectReason::Shutdown, "shutting down");
        }
        self.end(Unanswered::Stopped);
    }

    /// Nothing more on this link; whoever waits is told.
    fn end(&mut self, why: Unanswered) {
        self.over = true;
        self.fail_outstanding(why);
    }

    fn fail_outstanding(&mut self, why: Unanswered) {
        for (id, asked) in self.outstanding.drain() {
            match asked {
                Asked::Program => self.events.push_back(LinkEvent::Unanswered { id, why }),
                Asked::Revocation => self.events.push_back(LinkEvent::RevocationPending),
                // Asked again once a session is up.
                Asked::KeyMove => {}
            }
        }
    }

    /// Sends our revocation; whether it went out.
    fn send_revocation(&mut self, now: Instant) -> bool {
        self.send_own(now, REVOKE_METHOD, Bytes::new(), Asked::Revocation)
    }

    /// Sends a request of the protocol's own, waiting for its answer;
    /// whether it went out.
    pub(super) fn send_own(
        &mut self,
        now: Instant,
        method: &str,
        body: Bytes,
        asked: Asked,
    ) -> bool {
        let deadline = now + self.config.request_timeout;
        let request =
            self.outstanding
                .open(method.to_owned(), body, asked, deadline, self.keys_epoch);
        let id = request.id;
        if self.session.send(Frame::Request(request)).is_err() {
            self.outstanding.abandon(id);
            return false;
        }
        true
    }

    /// Whether a refusal is to be reported now: at most every
    /// [`REFUSAL_REPORT_EVERY`], whatever the counterparty sends.
    pub(super) fn refusal_due(&mut self, now: Instant) -> bool {
        let due = self
            .refusal_reported_at
            .is_none_or(|at| now.duration_since(at) >= REFUSAL_REPORT_EVERY);
        if due {
            self.refusal_reported_at = Some(now);
        }
        due
    }

    /// Turns what the session said into what the driver acts on.
    fn pump(&mut self, now: Instant) {
        let mut new_keys = false;
        while !self.over
            && let Some(event) = self.session.poll_event()
        {
            match event {
                SessionEvent::Established { .. } | SessionEvent::Rekeyed => {
                    // A counterparty that restarted may come back as a rekey.
                    self.heard = true;
                    self.keys_epoch += 1;
                    new_keys = true;
                    self.set_state(NodeState::Online);
                }
                SessionEvent::Offline => {
                    self.latency = None;
                    self.set_state(NodeState::PairedOffline);
                }
                SessionEvent::Pinged => self.heard = true,
                SessionEvent::RoundTrip(rtt) => {
                    self.heard = true;
                    self.latency = Some(rtt);
                    self.events.push_back(LinkEvent::RoundTrip(rtt));
                }
                SessionEvent::Frame(frame) => {
                    self.heard = true;
                    self.on_frame(now, frame);
                }
                SessionEvent::Closed { reason, detail } => self.on_closed(now, reason, detail),
            }
        }
        if new_keys && !self.over {
            for request in self.outstanding.older_than(self.keys_epoch) {
                // Sent once more; a counterparty that did not restart acts
                // on the first copy only (`RecentRequests`).
                let _ = self.session.send(Frame::Request(request));
            }
            // Revoked while it was away: now that it answers, tell it.
            if self.revoking && !self.outstanding.revocation_in_flight() {
                self.send_revocation(now);
            }
            // Moved while it was away: tell it under the old key, which
            // opens this session for that.
            if !self.revoking && self.moving.is_some() && !self.outstanding.key_move_in_flight() {
                self.send_key_move(now);
            }
        }
        if std::mem::take(&mut self.heard) {
            self.events.push_back(LinkEvent::Heard);
        }
    }

    fn set_state(&mut self, next: NodeState) {
        if let Some(next) = self.state.advance(next) {
            self.state = next;
            if !self.revoking {
                self.events.push_back(LinkEvent::State(next));
            }
        }
    }

    fn on_frame(&mut self, now: Instant, frame: Frame) {
        match frame {
            Frame::Request(request) if request.method == REVOKE_METHOD => {
                // Answer, then forget: the answer is the sender's proof.
                let _ = self.session.send(Frame::Response(Response {
                    id: request.id,
                    status: u32::from(Status::OK.0),
                    body: Bytes::new(),
                }));
                self.end(Unanswered::SessionClosed);
                self.events.push_back(LinkEvent::Revoked { by_peer: true });
            }
            Frame::Request(request) => {
                if self.revoking || !self.recent.first_time(request.id) {
                    return;
                }
                if let Err(why) = self.limits.admit_request(now) {
                    // Over its share: told at once, nothing runs.
                    let response = Response {
                        id: request.id,
                        status: u32::from(Status::RATE_LIMITED.0),
                        body: Bytes::from(format!("{why}; try again shortly")),
                    };
                    let _ = self.session.send(Frame::Response(response));
                    return;
                }
                if request.method == ROTATE_METHOD {
                    self.on_key_move(now, request);
                    return;
                }
                self.events.push_back(LinkEvent::Serve(request));
            }
            Frame::Response(response) => match self.outstanding.answered(response.id) {
                Some(Asked::Program) => self.events.push_back(LinkEvent::Answered {
                    id: RequestId(response.id),
                    status: response.status(),
                    body: response.body,
                }),
                Some(Asked::Revocation) if response.status().is_success() => {
                    self.end(Unanswered::SessionClosed);
                    self.events.push_back(LinkEvent::Revoked { by_peer: false });
                }
                Some(Asked::Revocation) => self.events.push_back(LinkEvent::RevocationPending),
                Some(Asked::KeyMove) => {
                    let status = response.status();
                    // Too many requests, or it could not store the key now:
                    // asked again later. Anything else is its answer.
                    if status == Status::RATE_LIMITED || status.0 >= 500 {
                        return;
                    }
                    self.moving = None;
                    self.events.push_back(if status.is_success() {
                        LinkEvent::Moved
                    } else {
                        LinkEvent::MoveRefused {
                            status,
                            why: String::from_utf8_lossy(&response.body).into_owned(),
                        }
                    });
                }
                None => {}
            },
            Frame::Event(event) if !self.revoking => {
                self.events.push_back(LinkEvent::Event(event));
            }
            Frame::StateUpdate(update) if !self.revoking => {
                if let Err(why) = self.limits.admit_state_update(now, &update) {
                    if self.refusal_due(now) {
                        self.events.push_back(LinkEvent::UpdateRefused {
                            why,
                            refused: self.limits.refused(),
                        });
                    }
                    return;
                }
                self.events.push_back(LinkEvent::Updated {
                    display_name: update.display_name.map(|n| n.trim().to_owned()),
                    capabilities: update.capabilities_changed.then_some(update.capabilities),
                });
            }
            // Keepalives are the session's; a disconnect comes as Closed.
            _ => {}
        }
    }

    fn on_closed(&mut self, now: Instant, reason: DisconnectReason, detail: String) {
        if reason == DisconnectReason::Revoked {
            self.end(Unanswered::SessionClosed);
            self.events.push_back(LinkEvent::Revoked { by_peer: true });
            return;
        }
        // It went away (shutdown, restart): wait for it with a fresh
        // session, which still answers only handshakes newer than the old
        // one did.
        let mut session = Session::new(
            self.config.session.clone(),
            self.own.clone(),
            self.peer(),
            seeded(&mut self.rng),
        );
        session.connect(now);
        session.set_peer_floor(self.session.peer_floor());
        let old = std::mem::replace(&mut self.session, session);
        self.retired.add(old.stats());
        self.latency = None;
        self.set_state(NodeState::PairedOffline);
        self.fail_outstanding(Unanswered::SessionClosed);
        self.events
            .push_back(LinkEvent::PeerClosed { reason, detail });
    }
}

fn seeded(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    seed
}

#[cfg(test)]
mod tests {
    use super::Link;
    use crate::version::PROTOCOL_VERSION as VERSION;
    use crate::wire::{DATA, HANDSHAKE_1, HANDSHAKE_2};

    #[test]
    fn while_re_pairing_the_handshakes_are_the_pairings_and_the_rest_the_links() {
        for ty in [HANDSHAKE_1, HANDSHAKE_2] {
            let handshake = [VERSION, ty, 0, 0];
            assert!(!Link::takes(&handshake, true), "{ty:#x} while re-pairing");
            assert!(Link::takes(&handshake, false), "{ty:#x} otherwise");
        }
        let data = [VERSION, DATA, 0, 0];
        assert!(Link::takes(&data, true));
        assert!(Link::takes(&data, false));
        // Not a session message at all: the link refuses it itself.
        assert!(Link::takes(b"", true));
    }

    /// A manager's link to an app it just paired with gets the pairing's
    /// session, which follows the keepalive; the sessions it makes later
    /// (after the app closed, or restarted) must follow too.
    #[test]
    fn a_paired_link_keeps_its_sessions_keepalive_role_for_later_sessions() {
        use crate::identity::StaticKeypair;
        use crate::link::LinkConfig;
        use crate::session::{Keepalive, Session, SessionConfig};
        let own = StaticKeypair::from_secret([1; 32]);
        let peer = StaticKeypair::from_secret([2; 32]).public();
        let follow = SessionConfig {
            keepalive: Keepalive::Follow,
            ..SessionConfig::default()
        };
        let session = Session::new(follow, own.clone(), peer, [3; 32]);
        let link = Link::paired(LinkConfig::default(), own, session, [4; 32]);
        assert_eq!(link.config.session.keepalive, Keepalive::Follow);
    }
}
