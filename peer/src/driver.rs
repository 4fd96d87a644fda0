//! The task that drives every pairing and session of one peer.
//!
//! It owns the protocol machines and is the only one to touch them: it feeds
//! them the messages the Waku subscriptions deliver and the commands the
//! program sends, wakes them at their timers, and hands what they emit to
//! the publisher task, the keystore and the program's event stream.

use crate::link::Link;
use crate::pairing_handle::{PairingFailure, PairingUpdate};
use crate::request::{Caller, Reply, RequestError, RequestHandler};
use crate::view::{CounterpartyView, EventError, PeerEvent, RenameError};
use crate::{PeerConfig, PeerStatus, Revocation};
use bytes::Bytes;
use nodepair_keystore::{Counterparty as Stored, CounterpartyState, Keystore};
use nodepair_protocol::frame::{REVOKE_METHOD, Request, Response, is_reserved_method};
use nodepair_protocol::hello::Role;
use nodepair_protocol::pairing::{Paired, Transmit};
use nodepair_protocol::peer_limits::CounterpartyLimits;
use nodepair_protocol::{
    DisconnectReason, Frame, NodeState, Pairing, PairingEvent, PublicKey, Session, SessionEvent,
    StaticKeypair, Status, session_content_topic,
};
use nodepair_waku::{Received, WakuNode};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

/// What the program asks of the driver.
pub(crate) enum Command {
    StartPairing {
        id: u64,
        pairing: Box<Pairing>,
        updates: mpsc::Sender<PairingUpdate>,
    },
    CancelPairing {
        id: u64,
        done: oneshot::Sender<()>,
    },
    ConfirmPairing {
        id: u64,
        matches: bool,
    },
    Request {
        to: PublicKey,
        method: String,
        body: Bytes,
        reply: oneshot::Sender<Result<Reply, RequestError>>,
    },
    Revoke {
        who: PublicKey,
        reply: oneshot::Sender<Revocation>,
    },
    SendEvent {
        to: PublicKey,
        stream: String,
        body: Bytes,
        reply: oneshot::Sender<Result<u64, EventError>>,
    },
    Rename {
        who: PublicKey,
        name: Option<String>,
        reply: oneshot::Sender<Result<CounterpartyView, RenameError>>,
    },
    List {
        reply: oneshot::Sender<Vec<CounterpartyView>>,
    },
    Status {
        reply: oneshot::Sender<PeerStatus>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// Where messages of a content topic go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Pairing(u64),
    Session(PublicKey),
}

struct PairingRun {
    pairing: Box<Pairing>,
    updates: mpsc::Sender<PairingUpdate>,
    /// Whether the program was told that no Waku peer is connected.
    told_offline: bool,
    /// Who it paired with and stored, while it still watches the pairing
    /// topic: taken back if the code turns out to have leaked.
    paired_with: Option<PublicKey>,
}

struct Pending {
    to: PublicKey,
    deadline: Instant,
    reply: Waiting,
    /// A program's request, and the keys epoch it went out under: sent
    /// again when newer keys are confirmed before it is answered.
    resend: Option<(Request, u64)>,
}

/// Who waits for a response.
enum Waiting {
    /// The program, for its request.
    Program(oneshot::Sender<Result<Reply, RequestError>>),
    /// Our revocation; the program may wait to hear whether it was told.
    Revocation(Option<oneshot::Sender<Revocation>>),
}

pub(crate) struct Driver {
    pub(crate) own: StaticKeypair,
    pub(crate) config: PeerConfig,
    pub(crate) keystore: Arc<dyn Keystore>,
    pub(crate) waku: WakuNode,
    pub(crate) handler: Arc<dyn RequestHandler>,
    pub(crate) events: broadcast::Sender<PeerEvent>,
    pub(crate) links: HashMap<PublicKey, Link>,
    routes: HashMap<String, Route>,
    forwarders: HashMap<String, JoinHandle<()>>,
    inbound_tx: mpsc::Sender<(String, Received)>,
    inbound_rx: mpsc::Receiver<(String, Received)>,
    outbound: Option<mpsc::Sender<Transmit>>,
    publisher: Option<JoinHandle<()>>,
    pairings: HashMap<u64, PairingRun>,
    pending: HashMap<u64, Pending>,
    next_request_id: u64,
    replies_tx: mpsc::Sender<(PublicKey, Response)>,
    replies_rx: mpsc::Receiver<(PublicKey, Response)>,
    /// Waku peers connected now (kept from the node's events).
    waku_peers: usize,
    /// Since when we may have missed messages (the network, or a light
    /// node's filter subscription, went away); cleared once caught up.
    missing_since: Option<SystemTime>,
    pairing_refused: u64,
    /// Counters of sessions that were replaced or removed.
    retired: nodepair_protocol::session::SessionStats,
}

/// How far before the moment we were cut off a catch-up starts. Waku
/// messages carry their sender's time, and a counterparty's clock may be
/// minutes slow: its messages sent after the cut look older than the cut.
const CATCH_UP_MARGIN: std::time::Duration = std::time::Duration::from_secs(600);

/// How far before we last saw a counterparty its handshakes still count
/// as new after we restart: its clock may be that much slower than ours.
/// (A clock slower still only means the handshake completes the other way
/// round: ours to it.)
const FLOOR_MARGIN: Duration = Duration::from_secs(600);

/// How long a catch-up waits for a store node to be known after a
/// reconnect: this many tries, this far apart.
const STORE_WAIT_TRIES: usize = 20;
const STORE_WAIT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Messages waiting for the publisher; more are dropped (the protocol
/// retransmits what matters).
const OUTBOUND_BUFFER: usize = 1024;
/// Messages received and not yet handled.
const INBOUND_BUFFER: usize = 1024;

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    // Without an OS random source nothing secure can run at all.
    getrandom::fill(&mut seed).expect("the operating system provides random bytes");
    seed
}

impl Driver {
    pub(crate) fn new(
        own: StaticKeypair,
        config: PeerConfig,
        keystore: Arc<dyn Keystore>,
        waku: WakuNode,
        handler: Arc<dyn RequestHandler>,
        events: broadcast::Sender<PeerEvent>,
    ) -> Self {
        let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_BUFFER);
        let (replies_tx, replies_rx) = mpsc::channel(256);
        let (outbound, queue) = mpsc::channel(OUTBOUND_BUFFER);
        let publisher = tokio::spawn(publish(waku.clone(), queue));
        Driver {
            own,
            config,
            keystore,
            waku,
            handler,
            events,
            links: HashMap::new(),
            routes: HashMap::new(),
            forwarders: HashMap::new(),
            inbound_tx,
            inbound_rx,
            outbound: Some(outbound),
            publisher: Some(publisher),
            pairings: HashMap::new(),
            pending: HashMap::new(),
            // From a random point, so a restarted program does not repeat
            // ids its counterparties still remember (`RecentRequests`).
            next_request_id: u64::from_le_bytes(
                random_seed()[..8].try_into().expect("eight bytes"),
            ) >> 1,
            replies_tx,
            replies_rx,
            waku_peers: 0,
            missing_since: None,
            pairing_refused: 0,
            retired: Default::default(),
        }
    }

    /// Adds a stored counterparty and starts connecting to it.
    pub(crate) async fn add_stored(&mut self, record: Stored, now: Instant) {
        let peer = PublicKey(record.public_key);
        let Some(topic) = session_content_topic(&self.own, &peer) else {
            tracing::warn!(peer = %peer.fingerprint(), "stored counterparty has an unusable key; skipped");
            return;
        };
        let mut session = self.fresh_session(peer, now);
        // Handshakes it made before we last saw it are not answered, even
        // before its first new one (a margin for its clock being slow).
        if let Some(seen) = record.last_seen {
            let floor = seen.saturating_sub(FLOOR_MARGIN.as_secs());
            session.set_peer_floor(floor.saturating_mul(1_000_000_000));
        }
        self.subscribe(&topic, Route::Session(peer)).await;
        let mut link = Link {
            record,
            session,
            topic,
            state: NodeState::PairedOffline,
            latency: None,
            // Just read from the keystore: nothing new to write yet.
            persisted_seen_at: Some(now),
            stream_seq: HashMap::new(),
            keys_epoch: 0,
            recent_requests: Default::default(),
            limits: CounterpartyLimits::new(self.config.limits.clone()),
            refusal_logged_at: None,
        };
        link.set_state(NodeState::Connecting);
        self.links.insert(peer, link);
    }

    /// A new session with `peer`, already trying to connect.
    fn fresh_session(&self, peer: PublicKey, now: Instant) -> Session {
        let mut session = Session::new(
            self.config.session.clone(),
            self.own.clone(),
            peer,
            random_seed(),
        );
        session.connect(now);
        session
    }

    async fn subscribe(&mut self, topic: &str, route: Route) {
        self.routes.insert(topic.to_owned(), route);
        if self.forwarders.contains_key(topic) {
            return;
        }
        let Ok(mut subscription) = self.waku.subscribe(topic).await else {
            return;
        };
        let tx = self.inbound_tx.clone();
        let name = topic.to_owned();
        let forwarder = tokio::spawn(async move {
            while let Some(received) = subscription.next().await {
                if tx.send((name.clone(), received)).await.is_err() {
                    break;
                }
            }
        });
        self.forwarders.insert(topic.to_owned(), forwarder);
    }

    /// Fetches from a store node, in the background, our topics' messages
    /// sent since we were cut off (from [`CATCH_UP_MARGIN`] before, for slow
    /// clocks; an outage longer than `store_catch_up` is covered only that
    /// far), and hands them in as if
    /// just received; the protocol drops what it already had.
    fn catch_up(&self, cut_off_at: SystemTime) {
        if self.config.store_catch_up.is_zero() || self.routes.is_empty() {
            return;
        }
        let topics: Vec<String> = self.routes.keys().cloned().collect();
        let earliest = SystemTime::now()
            .checked_sub(self.config.store_catch_up + CATCH_UP_MARGIN)
            .unwrap_or(UNIX_EPOCH);
        let from = cut_off_at
            .checked_sub(CATCH_UP_MARGIN)
            .unwrap_or(UNIX_EPOCH)
            .max(earliest);
        let since = from
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let (waku, inbound) = (self.waku.clone(), self.inbound_tx.clone());
        tokio::spawn(async move {
            // Just reconnected, the peers may not have said yet what they
            // serve (identify): wait a little for a store node to show up.
            let mut fetched = waku.store_history(&topics, since).await;
            for _ in 0..STORE_WAIT_TRIES {
                if !matches!(fetched, Err(nodepair_waku::StoreError::NoService)) {
                    break;
                }
                tokio::time::sleep(STORE_WAIT_EVERY).await;
                fetched = waku.store_history(&topics, since).await;
            }
            match fetched {
                Ok(found) => {
                    tracing::debug!(
                        messages = found.len(),
                        "fetched stored messages of our topics"
                    );
                    for received in found {
                        let topic = received.message.content_topic.clone();
                        if inbound.send((topic, received)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(nodepair_waku::StoreError::NoService) => {
                    tracing::debug!("no store node to catch up from");
                }
                Err(e) => tracing::info!(error = %e, "cannot catch up from a store node"),
            }
        });
    }

    fn unsubscribe(&mut self, topic: &str) {
        self.routes.remove(topic);
        if let Some(forwarder) = self.forwarders.remove(topic) {
            forwarder.abort();
        }
    }

    /// Runs until shutdown (or until every handle is gone).
    pub(crate) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut waku_events = self.waku.events();
        self.waku_peers = self.waku.peers().await.map_or(0, |p| p.len());
        self.flush().await;
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Shutdown { done }) => {
                        self.shutdown().await;
                        let _ = done.send(());
                        return;
                    }
                    Some(command) => self.on_command(command).await,
                    None => {
                        self.shutdown().await;
                        return;
                    }
                },
                Some((topic, received)) = self.inbound_rx.recv() => {
                    self.on_message(&topic, &received.message.payload);
                }
                Some((to, response)) = self.replies_rx.recv() => {
                    if let Some(link) = self.links.get_mut(&to) {
                        link.limits.request_done();
                    }
                    self.send_response(to, response);
                }
                event = waku_events.recv() => self.on_waku_event(event).await,
                () = sleep_until(deadline) => self.on_timeout(),
            }
            self.flush().await;
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let sessions = self.links.values().filter_map(|l| l.session.poll_timeout());
        let pairings = self
            .pairings
            .values()
            .filter_map(|p| p.pairing.poll_timeout());
        let requests = self.pending.values().map(|p| p.deadline);
        sessions.chain(pairings).chain(requests).min()
    }

    async fn on_waku_event(
        &mut self,
        event: Result<nodepair_waku::NodeEvent, broadcast::error::RecvError>,
    ) {
        let before = self.waku_peers;
        // A lagged receiver lost count: ask the node.
        if matches!(event, Err(broadcast::error::RecvError::Lagged(_)) | Ok(_)) {
            self.waku_peers = self.waku.peers().await.map_or(0, |p| p.len());
        }
        // Cut off (no Waku peer, or a light node's filter subscription
        // gone): from now on, messages may pass us by.
        let lost = matches!(
            event,
            Ok(nodepair_waku::NodeEvent::FilterServiceLost { .. })
        ) || (before > 0 && self.waku_peers == 0);
        if lost && self.missing_since.is_none() {
            self.missing_since = Some(SystemTime::now());
        }
        // Back (a relay peer again, or a light node's filter subscription
        // again): what went out meanwhile may be in a store.
        let back = match self.waku.mode() {
            nodepair_waku::Mode::Light => {
                matches!(
                    event,
                    Ok(nodepair_waku::NodeEvent::FilterServiceChanged { .. })
                )
            }
            nodepair_waku::Mode::Relay => before == 0 && self.waku_peers > 0,
        };
        if back && let Some(since) = self.missing_since.take() {
            self.catch_up(since);
        }
        if self.waku_peers > 0 {
            for run in self.pairings.values_mut() {
                if run.told_offline {
                    run.told_offline = false;
                    let _ = run
                        .updates
                        .try_send(PairingUpdate::Step(run.pairing.step()));
                }
            }
        }
    }

    async fn on_command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::StartPairing {
                id,
                pairing,
                updates,
            } => {
                let topic = pairing.pairing_topic();
                let first = if self.waku_peers == 0 {
                    PairingUpdate::ConnectingToNetwork
                } else {
                    PairingUpdate::Step(pairing.step())
                };
                let _ = updates.try_send(first.clone());
                self.pairings.insert(
                    id,
                    PairingRun {
                        pairing,
                        updates,
                        told_offline: first == PairingUpdate::ConnectingToNetwork,
                        paired_with: None,
                    },
                );
                self.subscribe(&topic, Route::Pairing(id)).await;
            }
            Command::CancelPairing { id, done } => {
                if let Some(run) = self.pairings.get_mut(&id) {
                    run.pairing.cancel();
                }
                // The abort goes out with the next flush, then the run ends.
                self.flush().await;
                let _ = done.send(());
            }
            Command::ConfirmPairing { id, matches } => {
                if let Some(run) = self.pairings.get_mut(&id) {
                    run.pairing.confirm(now, matches);
                }
            }
            Command::Request {
                to,
                method,
                body,
                reply,
            } => {
                let Some(link) = self.links.get_mut(&to).filter(|l| !l.revoke_pending()) else {
                    let _ = reply.send(Err(RequestError::NotPaired(to)));
                    return;
                };
                if is_reserved_method(&method) {
                    let _ = reply.send(Err(RequestError::Send(format!(
                        "{method:?} is reserved for the protocol"
                    ))));
                    return;
                }
                let id = self.next_request_id;
                self.next_request_id = self.next_request_id.wrapping_add(1);
                let request = Request { id, method, body };
                // Sealed now under the current keys, or queued for the next.
                let epoch = if link.session.is_online() {
                    link.keys_epoch
                } else {
                    link.keys_epoch + 1
                };
                match link.session.send(Frame::Request(request.clone())) {
                    Ok(()) => {
                        self.pending.insert(
                            id,
                            Pending {
                                to,
                                deadline: now + self.config.request_timeout,
                                reply: Waiting::Program(reply),
                                resend: Some((request, epoch)),
                            },
                        );
                    }
                    Err(e) => {
                        let _ = reply.send(Err(RequestError::Send(e.to_string())));
                    }
                }
            }
            Command::Revoke { who, reply } => self.revoke(who, Some(reply), now).await,
            Command::SendEvent {
                to,
                stream,
                body,
                reply,
            } => {
                let _ = reply.send(self.send_event(to, stream, body));
            }
            Command::Rename { who, name, reply } => {
                let _ = reply.send(self.rename(who, name).await);
            }
            Command::List { reply } => {
                let mut all: Vec<_> = self.links.values().map(Link::view).collect();
                all.sort_by(|a, b| a.name().cmp(b.name()));
                let _ = reply.send(all);
            }
            Command::Status { reply } => {
                let mut stats = self.retired.clone();
                for link in self.links.values() {
                    stats.add(link.session.stats());
                }
                let _ = reply.send(PeerStatus {
                    public_key: self.own.public(),
                    waku_peers: self.waku_peers,
                    topics: self.routes.keys().cloned().collect(),
                    session_stats: stats,
                    refused_pairing_messages: self.pairing_refused
                        + self
                            .pairings
                            .values()
                            .map(|r| r.pairing.stats().refused)
                            .sum::<u64>(),
                    pairings_under_way: self
                        .pairings
                        .values()
                        .filter(|run| run.pairing.is_under_way())
                        .count(),
                });
            }
            Command::Shutdown { .. } => unreachable!("handled by run"),
        }
    }

    fn on_message(&mut self, topic: &str, payload: &[u8]) {
        let now = Instant::now();
        tracing::trace!(
            topic,
            kind = ?nodepair_protocol::wire::kind(payload),
            len = payload.len(),
            known = self.routes.contains_key(topic),
            "received"
        );
        match self.routes.get(topic).copied() {
            Some(Route::Pairing(_)) => {
                // Every pairing on this topic: its own pairing topic, or a
                // session topic (two pairings with the same counterparty,
                // one of them ended and still answering, share one).
                for run in self.pairings.values_mut() {
                    if run.pairing.pairing_topic() == topic
                        || run.pairing.session_topic() == Some(topic)
                    {
                        run.pairing.handle_message(now, payload);
                    }
                }
            }
            Some(Route::Session(peer)) => {
                // Re-pairing someone already paired (or being unpaired)
                // shares its session topic: while that pairing is under way,
                // the handshakes are the pairing's alone, answered only once
                // this side's person confirmed, never by the old link's
                // session. A pairing that completed (and still watches its
                // code) has handed its session over: they are the link's.
                let repairing = self.pairings.values().any(|run| {
                    run.pairing.is_under_way() && run.pairing.session_topic() == Some(topic)
                });
                let handshake = matches!(
                    nodepair_protocol::wire::kind(payload),
                    Ok(nodepair_protocol::wire::Kind::Session(ty))
                        if ty == nodepair_protocol::wire::HANDSHAKE_1
                            || ty == nodepair_protocol::wire::HANDSHAKE_2
                );
                if !(repairing && handshake)
                    && let Some(link) = self.links.get_mut(&peer)
                {
                    link.session.handle_message(now, payload);
                }
                for run in self.pairings.values_mut() {
                    if run.pairing.session_topic() == Some(topic) {
                        run.pairing.handle_message(now, payload);
                    }
                }
            }
            None => {}
        }
    }

    fn on_timeout(&mut self) {
        let now = Instant::now();
        for link in self.links.values_mut() {
            if link.session.poll_timeout().is_some_and(|t| t <= now) {
                link.session.handle_timeout(now);
            }
        }
        for run in self.pairings.values_mut() {
            if run.pairing.poll_timeout().is_some_and(|t| t <= now) {
                run.pairing.handle_timeout(now);
            }
        }
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        let mut resend = Vec::new();
        for id in expired {
            let to = self.pending.get(&id).map(|p| p.to);
            if let (
                Some(to),
                Some(Pending {
                    reply: Waiting::Revocation(_),
                    ..
                }),
            ) = (to, self.pending.get(&id))
                && self.links.get(&to).is_some_and(|l| l.session.is_online())
            {
                resend.push(to);
            }
            match self.pending.remove(&id).map(|p| p.reply) {
                Some(Waiting::Program(reply)) => {
                    let _ = reply.send(Err(RequestError::Timeout(self.config.request_timeout)));
                }
                // Unanswered: sent again after the next handshake.
                Some(Waiting::Revocation(Some(reply))) => {
                    let _ = reply.send(Revocation::WillBeTold);
                }
                Some(Waiting::Revocation(None)) | None => {}
            }
        }
        // Keep asking while the session says it is up.
        for to in resend {
            self.send_revocation(to, None, now);
        }
    }

    /// New keys are confirmed with `peer`: requests still unanswered that
    /// went out under older keys go again, since a peer that restarted lost
    /// those keys and what they carried. One that did not restart acts on
    /// the first copy only (`RecentRequests`).
    fn resend_unanswered(&mut self, peer: PublicKey) {
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        let epoch = link.keys_epoch;
        for pending in self.pending.values_mut().filter(|p| p.to == peer) {
            if let Some((request, sent_under)) = &mut pending.resend
                && *sent_under < epoch
            {
                tracing::debug!(peer = %peer.fingerprint(), id = request.id, "sending an unanswered request again under new keys");
                if link.session.send(Frame::Request(request.clone())).is_ok() {
                    *sent_under = epoch;
                }
            }
        }
    }

    /// Sends a response; one too large for a frame goes as a 507 saying
    /// so, so the asker is never left waiting for its timeout.
    fn send_response(&mut self, to: PublicKey, response: Response) {
        let Some(link) = self.links.get_mut(&to) else {
            return;
        };
        let id = response.id;
        match link.session.send(Frame::Response(response)) {
            Ok(()) => {}
            Err(nodepair_protocol::session::SendError::TooLarge { len }) => {
                tracing::warn!(peer = %to.fingerprint(), id, len, "an answer was too large for one frame; sent a 507 instead");
                let refusal = Response {
                    id,
                    status: u32::from(Status::RESPONSE_TOO_LARGE.0),
                    body: Bytes::from(format!(
                        "the answer is {len} bytes, over the {}-byte frame limit; ask for less",
                        nodepair_protocol::frame::MAX_FRAME_LEN
                    )),
                };
                let _ = link.session.send(Frame::Response(refusal));
            }
            Err(e) => tracing::debug!(peer = %to.fingerprint(), id, "cannot send an answer: {e}"),
        }
    }

    fn send_frame(&mut self, to: PublicKey, frame: Frame) {
        if let Some(link) = self.links.get_mut(&to)
            && let Err(e) = link.session.send(frame)
        {
            tracing::debug!(peer = %to.fingerprint(), "cannot send a frame: {e}");
        }
    }

    /// Drains what every machine emitted: new subscriptions first (so no
    /// answer is missed), then events (so a pairing is persisted before its
    /// last message goes out), then messages to publish.
    async fn flush(&mut self) {
        self.flush_pairings().await;
        let peers: Vec<PublicKey> = self.links.keys().copied().collect();
        for peer in peers {
            self.flush_link(peer).await;
        }
    }

    async fn flush_pairings(&mut self) {
        let ids: Vec<u64> = self.pairings.keys().copied().collect();
        for id in ids {
            // Once the other side's key is known, its session topic is too.
            if let Some(topic) = self.pairings[&id]
                .pairing
                .session_topic()
                .map(str::to_owned)
                && !self.routes.contains_key(&topic)
            {
                self.subscribe(&topic, Route::Pairing(id)).await;
            }
            while let Some(event) = self
                .pairings
                .get_mut(&id)
                .and_then(|r| r.pairing.poll_event())
            {
                match event {
                    PairingEvent::Progress(step) => {
                        if let Some(run) = self.pairings.get(&id) {
                            let _ = run.updates.try_send(PairingUpdate::Step(step));
                        }
                    }
                    PairingEvent::Compare(comparison) => {
                        if let Some(run) = self.pairings.get(&id) {
                            let _ = run.updates.try_send(PairingUpdate::Compare {
                                counterparty: comparison.counterparty,
                                verification: comparison.verification,
                            });
                        }
                    }
                    PairingEvent::Paired(paired) => {
                        self.on_paired(id, *paired).await;
                    }
                    PairingEvent::Failed(error) => {
                        if let Some(run) = self.pairings.get(&id) {
                            let _ = run
                                .updates
                                .try_send(PairingUpdate::Failed(PairingFailure::Protocol(error)));
                        }
                    }
                    PairingEvent::Withdrawn(error) => self.on_withdrawn(id, error).await,
                }
            }
            if let Some(run) = self.pairings.get_mut(&id) {
                while let Some(transmit) = run.pairing.poll_transmit() {
                    if let Some(out) = &self.outbound {
                        let _ = out.try_send(transmit);
                    }
                }
            }
            // Paired or failed, it may still watch (or answer on) the
            // pairing topic for a while; it goes once it is done.
            if self
                .pairings
                .get(&id)
                .is_some_and(|run| run.pairing.is_finished())
                && let Some(run) = self.pairings.remove(&id)
            {
                self.pairing_refused += run.pairing.stats().refused;
                self.unsubscribe(&run.pairing.pairing_topic());
                if let Some(topic) = run.pairing.session_topic()
                    && matches!(self.routes.get(topic), Some(Route::Pairing(_)))
                    && !self
                        .pairings
                        .values()
                        .any(|other| other.pairing.session_topic() == Some(topic))
                {
                    self.unsubscribe(topic);
                }
            }
        }
    }

    /// A pairing that completed is taken back: someone else answered the
    /// same code within the watch after the first answer (seen here, or by
    /// the other side, which said so). The counterparty is revoked, so the
    /// other side forgets us too even if it missed the abort.
    async fn on_withdrawn(&mut self, id: u64, error: nodepair_protocol::PairingError) {
        let Some(run) = self.pairings.get(&id) else {
            return;
        };
        let updates = run.updates.clone();
        let peer = run.paired_with;
        tracing::warn!(
            "a pairing that had just completed is taken back: {error}; the counterparty is unpaired"
        );
        let _ = updates.try_send(PairingUpdate::Failed(PairingFailure::Withdrawn(error)));
        let Some(peer) = peer else {
            return;
        };
        // Told over the session if it is up (the other side forgets us
        // too); either way forgotten here at once. No tombstone: the other
        // side may never have kept us (it saw the second answer first).
        if let Some(link) = self.links.get_mut(&peer)
            && link.session.is_online()
        {
            link.session.close(
                DisconnectReason::Revoked,
                "the pairing was taken back: someone else also answered its code",
            );
            self.drain_link(peer);
        }
        self.forget(peer, false).await;
    }

    async fn on_paired(&mut self, id: u64, paired: Paired) {
        let Paired {
            counterparty,
            verification,
            session,
            session_topic,
        } = paired;
        let Some(run) = self.pairings.get(&id) else {
            return;
        };
        let updates = run.updates.clone();
        let peer = counterparty.static_key;
        if self.links.get(&peer).is_some_and(|l| !l.revoke_pending()) {
            let name = counterparty.display_name.clone();
            let _ = updates.try_send(PairingUpdate::Failed(PairingFailure::AlreadyPaired(name)));
            return;
        }
        let record = Stored {
            public_key: *peer.as_bytes(),
            node_id: *counterparty.node_id.as_bytes(),
            display_name: counterparty.display_name,
            role: match counterparty.role {
                Role::App => nodepair_keystore::Role::App,
                Role::Manager => nodepair_keystore::Role::NodeManager,
            },
            paired_at: unix_now(),
            last_seen: Some(unix_now()),
            state: CounterpartyState::Active,
            capabilities: counterparty.capabilities,
            local_name: None,
        };
        if let Err(e) = self.store(record.clone()).await {
            tracing::error!("a pairing succeeded but could not be stored: {e}");
            // Take it back: the other side gives up now rather than when
            // the code expires (how, the pairing decides by role).
            let mut session = session;
            if let Some(run) = self.pairings.get_mut(&id) {
                run.pairing.retract(&mut session);
            }
            let _ = updates.try_send(PairingUpdate::Failed(PairingFailure::Storage(e)));
            return;
        }
        if let Some(old) = self.links.remove(&peer) {
            self.retire(&old);
        }
        let link = Link {
            record,
            session,
            topic: session_topic.clone(),
            state: NodeState::Online,
            latency: None,
            persisted_seen_at: Some(Instant::now()),
            stream_seq: HashMap::new(),
            keys_epoch: 0,
            recent_requests: Default::default(),
            limits: CounterpartyLimits::new(self.config.limits.clone()),
            refusal_logged_at: None,
        };
        self.subscribe(&session_topic, Route::Session(peer)).await;
        let view = link.view();
        self.links.insert(peer, link);
        if let Some(run) = self.pairings.get_mut(&id) {
            run.paired_with = Some(peer);
        }
        let _ = updates.try_send(PairingUpdate::Paired {
            counterparty: view.clone(),
            verification,
        });
        let _ = self.events.send(PeerEvent::Changed(view));
    }

    async fn flush_link(&mut self, peer: PublicKey) {
        let now = Instant::now();
        let mut changed = false;
        let mut closed = None;
        let mut established = false;
        let mut frames = Vec::new();
        {
            let Some(link) = self.links.get_mut(&peer) else {
                return;
            };
            while let Some(event) = link.session.poll_event() {
                match event {
                    SessionEvent::Established { .. } => {
                        changed |= link.set_state(NodeState::Online);
                        link.record.last_seen = Some(unix_now());
                        link.keys_epoch += 1;
                        established = true;
                    }
                    SessionEvent::Rekeyed => {
                        changed |= link.set_state(NodeState::Online);
                        link.record.last_seen = Some(unix_now());
                        link.keys_epoch += 1;
                        // A peer that restarted may come back as a rekey.
                        established = true;
                    }
                    SessionEvent::Offline => {
                        changed |= link.set_state(NodeState::PairedOffline);
                        link.latency = None;
                    }
                    SessionEvent::RoundTrip(rtt) => {
                        link.latency = Some(rtt);
                        link.record.last_seen = Some(unix_now());
                        changed = true;
                    }
                    SessionEvent::Frame(frame) => {
                        link.record.last_seen = Some(unix_now());
                        frames.push(frame);
                    }
                    SessionEvent::Closed { reason, detail } => {
                        closed = Some((reason, detail));
                    }
                }
            }
        }
        for frame in frames {
            self.on_frame(peer, frame).await;
        }
        if let Some((reason, detail)) = closed {
            self.on_closed(peer, reason, &detail, now).await;
            return;
        }
        if established {
            self.resend_unanswered(peer);
        }
        // Revoked while it was away: now that it answers, tell it.
        if established
            && self.links.get(&peer).is_some_and(Link::revoke_pending)
            && !self.revocation_in_flight(peer)
        {
            self.send_revocation(peer, None, now);
        }
        self.drain_link(peer);
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        if changed && !link.revoke_pending() {
            let _ = self.events.send(PeerEvent::Changed(link.view()));
        }
        let due = link
            .persisted_seen_at
            .is_none_or(|at| now.duration_since(at) >= self.config.persist_last_seen_every);
        if due && link.record.last_seen.is_some() {
            link.persisted_seen_at = Some(now);
            let record = link.record.clone();
            if let Err(e) = self.store(record).await {
                tracing::warn!(peer = %peer.fingerprint(), "cannot record last-seen: {e}");
            }
        }
    }

    async fn on_frame(&mut self, from: PublicKey, frame: Frame) {
        match frame {
            Frame::Request(request) if request.method == REVOKE_METHOD => {
                // Answer, then forget: the answer is the sender's proof.
                self.send_frame(
                    from,
                    Frame::Response(Response {
                        id: request.id,
                        status: u32::from(Status::OK.0),
                        body: Bytes::new(),
                    }),
                );
                self.drain_link(from);
                self.forget(from, true).await;
            }
            Frame::Request(request) => {
                let Some(link) = self.links.get_mut(&from).filter(|l| !l.revoke_pending()) else {
                    return;
                };
                if !link.recent_requests.first_time(request.id) {
                    tracing::debug!(peer = %from.fingerprint(), id = request.id, "a request received again; acted on once");
                    return;
                }
                if let Err(why) = link.limits.admit_request(Instant::now()) {
                    // Over its share: told at once, nothing runs.
                    self.send_response(
                        from,
                        Response {
                            id: request.id,
                            status: u32::from(Status::RATE_LIMITED.0),
                            body: Bytes::from(format!("{why}; try again shortly")),
                        },
                    );
                    return;
                }
                let caller = Caller {
                    public_key: from,
                    display_name: link.view().name().to_owned(),
                };
                let handler = self.handler.clone();
                let replies = self.replies_tx.clone();
                tokio::spawn(async move {
                    let reply = handler.handle(caller, request.method, request.body).await;
                    let response = Response {
                        id: request.id,
                        status: u32::from(reply.status.0),
                        body: reply.body,
                    };
                    let _ = replies.send((from, response)).await;
                });
            }
            Frame::Response(response) => {
                let Some(pending) = self.pending.remove(&response.id) else {
                    return;
                };
                if pending.to != from {
                    self.pending.insert(response.id, pending);
                    return;
                }
                match pending.reply {
                    Waiting::Program(reply) => {
                        let _ = reply.send(Ok(Reply {
                            status: response.status(),
                            body: response.body,
                        }));
                    }
                    Waiting::Revocation(reply) => {
                        if response.status().is_success() {
                            self.forget(from, false).await;
                            if let Some(reply) = reply {
                                let _ = reply.send(Revocation::Told);
                            }
                        } else if let Some(reply) = reply {
                            let _ = reply.send(Revocation::WillBeTold);
                        }
                    }
                }
            }
            Frame::Event(event) => {
                let _ = self.events.send(PeerEvent::Stream { from, event });
            }
            Frame::StateUpdate(update) => {
                let Some(link) = self.links.get_mut(&from).filter(|l| !l.revoke_pending()) else {
                    return;
                };
                if let Err(why) = link.limits.admit_state_update(Instant::now(), &update) {
                    link.note_refused_update(&why);
                    return;
                }
                let mut changed = false;
                if let Some(name) = update.display_name {
                    let name = name.trim().to_owned();
                    changed |= link.record.display_name != name;
                    link.record.display_name = name;
                }
                if update.capabilities_changed {
                    changed |= link.record.capabilities != update.capabilities;
                    link.record.capabilities = update.capabilities;
                }
                if changed {
                    // Written with the next last-seen write (at most once
                    // a minute) and at shutdown: the keystore is not a hot
                    // path.
                    let _ = self.events.send(PeerEvent::Changed(link.view()));
                }
            }
            // Keepalives are the session's; a disconnect arrives as Closed.
            Frame::Ping { .. } | Frame::Pong { .. } | Frame::Disconnect { .. } => {}
        }
    }

    async fn on_closed(
        &mut self,
        peer: PublicKey,
        reason: DisconnectReason,
        detail: &str,
        now: Instant,
    ) {
        tracing::info!(peer = %peer.fingerprint(), detail = %nodepair_protocol::hello::printable(detail, 200), "session closed by the other side: {}", reason.describe());
        if reason == DisconnectReason::Revoked {
            self.forget(peer, true).await;
            return;
        }
        // The peer went away (shutdown, restart): wait for it with a fresh
        // session, which still answers only handshakes newer than the old
        // one did.
        let mut session = self.fresh_session(peer, now);
        if let Some(link) = self.links.get(&peer) {
            session.set_peer_floor(link.session.peer_floor());
        }
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        let old = std::mem::replace(&mut link.session, session);
        link.latency = None;
        let changed = link.set_state(NodeState::PairedOffline);
        let view = link.view();
        self.retired.add(old.stats());
        self.fail_pending_to(peer);
        if changed {
            let _ = self.events.send(PeerEvent::Changed(view));
        }
    }

    fn fail_pending_to(&mut self, peer: PublicKey) {
        let ids: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.to == peer)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            match self.pending.remove(&id).map(|p| p.reply) {
                Some(Waiting::Program(reply)) => {
                    let _ = reply.send(Err(RequestError::Send("the session closed".into())));
                }
                Some(Waiting::Revocation(Some(reply))) => {
                    let _ = reply.send(Revocation::WillBeTold);
                }
                _ => {}
            }
        }
    }

    /// Revokes `who`: a tombstone first, then the acknowledged request, now
    /// if online, else after its next handshake.
    async fn revoke(
        &mut self,
        who: PublicKey,
        reply: Option<oneshot::Sender<Revocation>>,
        now: Instant,
    ) {
        let Some(link) = self.links.get_mut(&who) else {
            if let Some(reply) = reply {
                let _ = reply.send(Revocation::NotPaired);
            }
            return;
        };
        if !link.revoke_pending() {
            link.record.state = CounterpartyState::Revoked;
            let record = link.record.clone();
            let view = link.view();
            if let Err(e) = self.store(record).await {
                tracing::error!("cannot record the revocation: {e}");
                if let Some(link) = self.links.get_mut(&who) {
                    link.record.state = CounterpartyState::Active;
                }
                if let Some(reply) = reply {
                    let _ = reply.send(Revocation::Failed(e));
                }
                return;
            }
            let _ = self.events.send(PeerEvent::Changed(view));
        }
        let online = self.links.get(&who).is_some_and(|l| l.session.is_online());
        if online && !self.revocation_in_flight(who) {
            self.send_revocation(who, reply, now);
        } else if let Some(reply) = reply {
            let _ = reply.send(Revocation::WillBeTold);
        }
    }

    fn revocation_in_flight(&self, who: PublicKey) -> bool {
        self.pending
            .values()
            .any(|p| p.to == who && matches!(p.reply, Waiting::Revocation(_)))
    }

    fn send_revocation(
        &mut self,
        who: PublicKey,
        reply: Option<oneshot::Sender<Revocation>>,
        now: Instant,
    ) {
        let id = self.next_request_id;
        self.next_request_id += 1;
        let frame = Frame::Request(Request {
            id,
            method: REVOKE_METHOD.to_owned(),
            body: Bytes::new(),
        });
        let sent = self.links.get_mut(&who).map(|l| l.session.send(frame));
        match sent {
            Some(Ok(())) => {
                self.pending.insert(
                    id,
                    Pending {
                        to: who,
                        deadline: now + self.config.request_timeout,
                        reply: Waiting::Revocation(reply),
                        // Revocations have their own resending.
                        resend: None,
                    },
                );
            }
            _ => {
                if let Some(reply) = reply {
                    let _ = reply.send(Revocation::WillBeTold);
                }
            }
        }
    }

    /// Moves what `peer`'s session has to send to the publisher.
    fn drain_link(&mut self, peer: PublicKey) {
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        while let Some(payload) = link.session.poll_transmit() {
            if let Some(out) = &self.outbound {
                let _ = out.try_send(Transmit {
                    content_topic: link.topic.clone(),
                    payload,
                });
            }
        }
    }

    /// Pushes one event of `stream` to `to`, numbered after the last one.
    fn send_event(
        &mut self,
        to: PublicKey,
        stream: String,
        body: Bytes,
    ) -> Result<u64, EventError> {
        let link = self
            .links
            .get_mut(&to)
            .filter(|l| !l.revoke_pending())
            .ok_or(EventError::NotPaired)?;
        if link.state != NodeState::Online {
            return Err(EventError::NotOnline);
        }
        let seq = link.stream_seq.get(&stream).copied().unwrap_or(0) + 1;
        link.session
            .send(Frame::Event(nodepair_protocol::frame::Event {
                stream: stream.clone(),
                seq,
                body,
            }))
            .map_err(|e| EventError::Send(e.to_string()))?;
        link.stream_seq.insert(stream, seq);
        Ok(seq)
    }

    /// Gives `who` a local name (or takes it away), stored before it shows.
    async fn rename(
        &mut self,
        who: PublicKey,
        name: Option<String>,
    ) -> Result<CounterpartyView, RenameError> {
        let name = match name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(
                nodepair_protocol::hello::check_display_name(name)
                    .map_err(RenameError::Invalid)?
                    .to_owned(),
            ),
        };
        let link = self
            .links
            .get(&who)
            .filter(|l| !l.revoke_pending())
            .ok_or(RenameError::NotPaired)?;
        let mut record = link.record.clone();
        record.local_name = name;
        self.store(record.clone())
            .await
            .map_err(RenameError::Storage)?;
        let link = self.links.get_mut(&who).ok_or(RenameError::NotPaired)?;
        link.record.local_name = record.local_name;
        let view = link.view();
        let _ = self.events.send(PeerEvent::Changed(view.clone()));
        Ok(view)
    }

    /// Forgets `peer` entirely: the link, its topic, its record.
    async fn forget(&mut self, peer: PublicKey, by_peer: bool) {
        let Some(link) = self.links.remove(&peer) else {
            return;
        };
        self.retire(&link);
        self.unsubscribe(&link.topic);
        self.fail_pending_to(peer);
        if let Err(e) = self.delete(peer).await {
            tracing::error!("cannot delete a revoked counterparty: {e}");
        }
        let _ = self.events.send(PeerEvent::Removed {
            public_key: peer,
            display_name: link.view().name().to_owned(),
            by_peer,
        });
    }

    fn retire(&mut self, link: &Link) {
        self.retired.add(link.session.stats());
    }

    async fn store(&self, record: Stored) -> Result<(), String> {
        let keystore = self.keystore.clone();
        tokio::task::spawn_blocking(move || record.save(&*keystore))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    async fn delete(&self, who: PublicKey) -> Result<(), String> {
        let keystore = self.keystore.clone();
        tokio::task::spawn_blocking(move || Stored::remove(&*keystore, who.as_bytes()))
            .await
            .map_err(|e| e.to_string())?
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Tells every online counterparty we are going, sends it, records
    /// last-seen, and stops the subscriptions.
    async fn shutdown(&mut self) {
        let peers: Vec<PublicKey> = self.links.keys().copied().collect();
        for peer in peers {
            let Some(link) = self.links.get_mut(&peer) else {
                continue;
            };
            if link.session.is_online() {
                link.session
                    .close(DisconnectReason::Shutdown, "shutting down");
            }
            let record = link.record.clone();
            self.drain_link(peer);
            if record.state == CounterpartyState::Active
                && let Err(e) = self.store(record).await
            {
                tracing::warn!("cannot record last-seen at shutdown: {e}");
            }
        }
        for run in self.pairings.values_mut() {
            run.pairing.cancel();
            while let Some(t) = run.pairing.poll_transmit() {
                if let Some(out) = &self.outbound {
                    let _ = out.try_send(t);
                }
            }
            let _ = run
                .updates
                .try_send(PairingUpdate::Failed(PairingFailure::Stopped));
        }
        // Let the publisher send what is queued, briefly.
        self.outbound = None;
        if let Some(publisher) = self.publisher.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), publisher).await;
        }
        for (_, forwarder) in self.forwarders.drain() {
            forwarder.abort();
        }
        for (_, p) in self.pending.drain() {
            match p.reply {
                Waiting::Program(reply) => {
                    let _ = reply.send(Err(RequestError::Stopped));
                }
                Waiting::Revocation(Some(reply)) => {
                    let _ = reply.send(Revocation::WillBeTold);
                }
                Waiting::Revocation(None) => {}
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// How long the publisher keeps trying a message no Waku peer takes yet
/// (right after start-up, or while the mesh forms), before dropping it.
const NO_PEER_PATIENCE: Duration = Duration::from_secs(1);

/// The publisher task: sends each message in order. A message no Waku peer
/// can take yet is tried again for a moment (a node that just started has a
/// connection before it knows its peers' topics), then dropped, as on a
/// lossy network: the protocol retransmits what matters.
async fn publish(waku: WakuNode, mut queue: mpsc::Receiver<Transmit>) {
    use nodepair_waku::node::PublishError;
    while let Some(t) = queue.recv().await {
        tracing::trace!(
            topic = %t.content_topic,
            kind = ?nodepair_protocol::wire::kind(&t.payload),
            len = t.payload.len(),
            "publishing"
        );
        let message = nodepair_waku::WakuMessage::new(t.content_topic, t.payload);
        let give_up = tokio::time::Instant::now() + NO_PEER_PATIENCE;
        loop {
            match waku.publish(message.clone()).await {
                Ok(_) => break,
                Err(PublishError::NoPeers(_)) if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(PublishError::Stopped) => return,
                Err(e) => {
                    tracing::debug!("message not published: {e}");
                    break;
                }
            }
        }
    }
}
