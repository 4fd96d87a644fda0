//! Paired counterparties: their links' events, requests, revocation, names, last-seen.

use super::{Driver, random_seed};
use crate::Revocation;
use crate::counterparty::Counterparty;
use crate::request::{Caller, Reply, RequestError};
use crate::subscriptions::Route;
use crate::view::{CounterpartyView, EventError, GrantChangeError, PeerEvent, RenameError};
use bytes::Bytes;
use nodepair_keystore::{Counterparty as Stored, CounterpartyState};
use nodepair_protocol::frame::ByteString;
use nodepair_protocol::link::{EventRefused, LinkEvent, RequestRefused, Revoking, Unanswered};
use nodepair_protocol::session::SendError;
use nodepair_protocol::{Link, PublicKey, session_content_topic};
use std::time::Instant;
use tokio::sync::oneshot;

impl Driver {
    /// Adds a stored counterparty and starts connecting to it.
    pub(crate) async fn add_stored(&mut self, record: Stored) {
        self.add_link(record, None).await;
    }

    /// Adds a link to `record`'s counterparty under the key of ours it
    /// knows; `replaces`: it is the new key of that (old) one, not shown
    /// until a session is up under it.
    pub(super) async fn add_link(&mut self, record: Stored, replaces: Option<PublicKey>) {
        let peer = PublicKey(record.public_key);
        let own = self.own_for(&record);
        let Some(topic) = session_content_topic(&own, &peer) else {
            tracing::warn!(peer = %peer.fingerprint(), "stored counterparty has an unusable key; skipped");
            return;
        };
        let now = self.now();
        let mut config = self.config.link();
        // Ours is the other role than the counterparty's.
        let role = match record.role {
            nodepair_keystore::Role::App => nodepair_protocol::Role::Manager,
            nodepair_keystore::Role::NodeManager => nodepair_protocol::Role::App,
        };
        config.session.keepalive = nodepair_protocol::Keepalive::for_role(role);
        let link = Link::connect(
            config,
            own,
            peer,
            random_seed(),
            now,
            record.last_seen,
            record.state == CounterpartyState::Revoked,
        );
        self.subscriptions
            .subscribe(&topic, Route::Session(peer))
            .await;
        // Just read from the keystore: nothing new to write yet.
        let mut counterparty = Counterparty::new(record, link, topic, now);
        counterparty.replaces = replaces;
        self.links_made += 1;
        counterparty.generation = self.links_made;
        // Not yet told of our rotation (a link made again after a key
        // move, or at start): told now.
        if let Some(next) = &self.next
            && replaces.is_none()
            && !counterparty.link.is_revoking()
            && counterparty.record.our_key != Some(*next.public().as_bytes())
        {
            let _ = counterparty.link.move_to(now, next);
        }
        self.counterparties.insert(peer, counterparty);
    }

    /// Publishes what `peer`'s link sends, then acts on what it says.
    pub(super) async fn flush_counterparty(&mut self, peer: PublicKey) {
        // Key moves write the keystore and replace links: done once the
        // link's events are read; what acting on them queued (an answer, a
        // new link's handshake) goes out at once after.
        let mut work = vec![peer];
        while let Some(peer) = work.pop() {
            let mut moves = Vec::new();
            self.flush_link(peer, &mut moves).await;
            if moves.is_empty() {
                continue;
            }
            for event in moves {
                match event {
                    Move::Moved => self.on_moved(peer).await,
                    Move::Announced { id, new_key } => {
                        self.on_move_announced(peer, id, new_key).await;
                        work.push(new_key);
                    }
                    Move::Promote => self.promote(peer).await,
                    Move::Introduce { id, body, grants } => {
                        self.on_introduce(peer, id, body, grants).await;
                    }
                    Move::CutOff { id, body } => {
                        if let Some(target) = self.on_cut_off(peer, id, body).await {
                            work.push(target);
                        }
                    }
                    Move::CutOffAnswered { who, status, body } => {
                        self.cut_off_answered(peer, who, status, &body).await;
                    }
                }
            }
            work.push(peer);
        }
    }

    async fn flush_link(&mut self, peer: PublicKey, moves: &mut Vec<Move>) {
        let now = self.now();
        let mut changed = false;
        // A link under a key its counterparty moves to serves under that
        // counterparty's record as it is now (its grant, whether it is
        // being unpaired), not as it was when the move was announced.
        let replaced = self
            .counterparties
            .get(&peer)
            .and_then(|c| c.replaces)
            .map(|old| {
                self.counterparties
                    .get(&old)
                    .filter(|c| !c.link.is_revoking())
                    .map(|c| c.record.grants.clone())
            });
        let keys_before = self.counterparties.get(&peer).map(|c| c.link.keys_epoch());
        loop {
            let Some(counterparty) = self.counterparties.get_mut(&peer) else {
                return;
            };
            // Out before acting: a revocation's answer leaves before the
            // counterparty is forgotten.
            while let Some(payload) = counterparty.link.poll_transmit() {
                self.publisher.send(&counterparty.topic, payload);
            }
            let Some(event) = counterparty.link.poll_event() else {
                break;
            };
            match event {
                LinkEvent::State(state) => {
                    changed = true;
                    let mut view = counterparty.view();
                    view.state = state;
                    crate::event_log::state(&view, counterparty.was_online);
                    let online = state == nodepair_protocol::NodeState::Online;
                    if online && !counterparty.was_online {
                        Self::announce_to(&self.config, counterparty, now);
                        Self::send_cut_offs(now, counterparty);
                    }
                    if online && counterparty.replaces.is_some() {
                        moves.push(Move::Promote);
                    }
                    counterparty.was_online = online;
                }
                LinkEvent::RoundTrip(_) => changed = true,
                LinkEvent::Heard => {
                    counterparty.record.last_seen = Some(self.config.clock.unix_secs())
                }
                LinkEvent::Serve(request) => {
                    let grants = match &replaced {
                        None => counterparty.record.grants.clone(),
                        Some(Some(grants)) => grants.clone(),
                        // Its old key is being unpaired: nothing is served.
                        Some(None) => {
                            let _ = counterparty.link.respond(
                                request.id,
                                nodepair_protocol::Status::FORBIDDEN,
                                Bytes::from_static(b"this counterparty is being unpaired"),
                            );
                            continue;
                        }
                    };
                    // Admitting or cutting off another app writes the
                    // keystore and makes or ends links: the driver's, not a
                    // handler's.
                    if counterparty.record.role == nodepair_keystore::Role::App {
                        let (id, body) = (request.id, request.body.clone());
                        match request.method.as_str() {
                            nodepair_protocol::cut_off::CUT_OFF_METHOD => {
                                moves.push(Move::CutOff { id, body });
                                continue;
                            }
                            nodepair_protocol::introduction::INTRODUCE_METHOD => {
                                moves.push(Move::Introduce { id, body, grants });
                                continue;
                            }
                            _ => {}
                        }
                    }
                    let caller = Caller {
                        public_key: peer,
                        display_name: counterparty.view().name().to_owned(),
                        grants,
                    };
                    let (handler, replies) = (self.handler.clone(), self.replies_tx.clone());
                    let link = counterparty.generation;
                    tokio::spawn(async move {
                        let reply = handler.handle(caller, request.method, request.body).await;
                        let _ = replies.send((peer, link, request.id, reply)).await;
                    });
                }
                LinkEvent::Answered { id, status, body } => {
                    if let Some(waiting) = counterparty.waiting.remove(&id) {
                        let _ = waiting.send(Ok(Reply { status, body }));
                    } else if let Some(who) = counterparty.cut_offs_sent.remove(&id) {
                        moves.push(Move::CutOffAnswered { who, status, body });
                    }
                }
                LinkEvent::Unanswered { id, why } => {
                    // Asked again at the next session.
                    counterparty.cut_offs_sent.remove(&id);
                    if let Some(waiting) = counterparty.waiting.remove(&id) {
                        let _ = waiting.send(Err(unanswered(why, self.config.request_timeout)));
                    }
                }
                LinkEvent::Event(event) => {
                    let _ = self.events.send(PeerEvent::Stream { from: peer, event });
                }
                LinkEvent::Updated {
                    display_name,
                    capabilities,
                } => {
                    // Written with the next last-seen write (at most once a
                    // minute) and at shutdown: the keystore is not a hot
                    // path.
                    let record = &mut counterparty.record;
                    if let Some(name) = display_name {
                        changed |= record.display_name != name;
                        record.display_name = name;
                    }
                    if let Some(capabilities) = capabilities {
                        changed |= record.capabilities != capabilities;
                        record.capabilities = capabilities;
                    }
                }
                LinkEvent::UpdateRefused { why, refused } => {
                    tracing::warn!(peer = %peer.fingerprint(), refused, "{why}");
                }
                LinkEvent::RevocationPending => {
                    counterparty.revocation_told(&Revocation::WillBeTold);
                }
                LinkEvent::Moved => moves.push(Move::Moved),
                LinkEvent::MoveRefused { status, why } => {
                    tracing::warn!(target: crate::event_log::TARGET, peer = %peer.fingerprint(), status = status.0, why = %nodepair_protocol::hello::printable(&why, 200), "{} refused our new key; it stays on the old one until the rotation's grace period ends", counterparty.view().name());
                }
                LinkEvent::MoveAnnounced { id, new_key } => {
                    moves.push(Move::Announced { id, new_key });
                }
                LinkEvent::MoveRefusedHere { why } => {
                    tracing::warn!(peer = %peer.fingerprint(), "refused a key move: {why}");
                }
                LinkEvent::Revoked { by_peer } => {
                    // Told once forgotten here too.
                    let waiting = std::mem::take(&mut counterparty.revocation);
                    self.forget(peer, by_peer).await;
                    for waiting in waiting {
                        let _ = waiting.send(Revocation::Told);
                    }
                    return;
                }
                LinkEvent::PeerClosed { reason, detail } => {
                    tracing::info!(peer = %peer.fingerprint(), detail = %nodepair_protocol::hello::printable(&detail, 200), "session closed by the other side: {}", reason.describe());
                }
            }
        }
        let Some(counterparty) = self.counterparties.get_mut(&peer) else {
            return;
        };
        // New keys while online: a counterparty that restarted is back.
        changed |= keys_before != Some(counterparty.link.keys_epoch());
        // A link under a key a counterparty moves to shows once it replaced
        // the old one.
        if changed && !counterparty.link.is_revoking() && counterparty.replaces.is_none() {
            let _ = self.events.send(PeerEvent::Changed(counterparty.view()));
        }
        // A link under a key not yet taken writes nothing: the record under
        // the new key is written when it replaces the old one.
        if counterparty.replaces.is_none()
            && let Some(record) =
                counterparty.last_seen_due(now, self.config.persist_last_seen_every)
        {
            self.storage.save_later(record);
        }
    }

    pub(super) fn request(
        &mut self,
        to: PublicKey,
        (method, protocol): (String, bool),
        body: Bytes,
        reply: oneshot::Sender<Result<Reply, RequestError>>,
        now: Instant,
    ) {
        let Some(counterparty) = self.counterparties.get_mut(&to) else {
            let _ = reply.send(Err(RequestError::NotPaired(to)));
            return;
        };
        let sent = if protocol {
            counterparty.link.request_protocol(now, &method, body)
        } else {
            counterparty.link.request(now, method, body)
        };
        match sent {
            Ok(id) => {
                counterparty.waiting.insert(id, reply);
            }
            Err(RequestRefused::NotPaired) => {
                let _ = reply.send(Err(RequestError::NotPaired(to)));
            }
            Err(e) => {
                let _ = reply.send(Err(RequestError::Send(e.to_string())));
            }
        }
    }

    /// Answers a request a handler served, on the link that served it.
    pub(super) fn respond(&mut self, to: PublicKey, link: u64, id: u64, reply: Reply) {
        let Some(counterparty) = self
            .counterparties
            .get_mut(&to)
            .filter(|c| c.generation == link)
        else {
            return;
        };
        match counterparty.link.respond(id, reply.status, reply.body) {
            Ok(()) => {}
            Err(SendError::TooLarge { len }) => {
                tracing::warn!(peer = %to.fingerprint(), id, len, "an answer was too large for one frame; sent a 507 instead");
            }
            Err(e) => tracing::debug!(peer = %to.fingerprint(), id, "cannot send an answer: {e}"),
        }
    }

    /// Pushes one event of `stream` to `to`, numbered after the last one.
    pub(super) fn send_event(
        &mut self,
        to: PublicKey,
        stream: ByteString,
        body: Bytes,
    ) -> Result<u64, EventError> {
        let counterparty = self
            .counterparties
            .get_mut(&to)
            .ok_or(EventError::NotPaired)?;
        // A grant narrowed since the stream began ends it.
        if !nodepair_protocol::grants::allows_stream(counterparty.record.grants.as_deref(), &stream)
        {
            return Err(EventError::NotGranted);
        }
        counterparty
            .link
            .send_event(stream, body)
            .map_err(event_error)
    }

    /// Revokes `who`: a tombstone first, then the acknowledged request, now
    /// if online, else after its next handshake.
    pub(super) async fn revoke(
        &mut self,
        who: PublicKey,
        reply: oneshot::Sender<Revocation>,
        now: Instant,
    ) {
        let Some(counterparty) = self.counterparties.get_mut(&who) else {
            let _ = reply.send(Revocation::NotPaired);
            return;
        };
        if !counterparty.link.is_revoking() {
            // A key it announced opens nothing now.
            self.drop_pending_for(who, None);
            let Some(counterparty) = self.counterparties.get_mut(&who) else {
                let _ = reply.send(Revocation::NotPaired);
                return;
            };
            let mut record = counterparty.record.clone();
            record.state = CounterpartyState::Revoked;
            if let Err(e) = self.storage.save(record.clone()).await {
                tracing::error!("cannot record the revocation: {e}");
                let _ = reply.send(Revocation::Failed(e));
                return;
            }
            let Some(counterparty) = self.counterparties.get_mut(&who) else {
                let _ = reply.send(Revocation::NotPaired);
                return;
            };
            counterparty.record = record;
        }
        let Some(counterparty) = self.counterparties.get_mut(&who) else {
            return;
        };
        let was_revoking = counterparty.link.is_revoking();
        match counterparty.link.revoke(now) {
            Revoking::Sent => counterparty.revocation.push(reply),
            Revoking::WillBeTold => {
                let _ = reply.send(Revocation::WillBeTold);
            }
        }
        if !was_revoking {
            let _ = self.events.send(PeerEvent::Changed(counterparty.view()));
        }
    }

    /// Gives `who` a local name (or takes it away), stored before it shows.
    pub(super) async fn rename(
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
        self.change_record(who, |record| record.local_name = name)
            .await
            .map_err(|e| e.map_or(RenameError::NotPaired, RenameError::Storage))?;
        let view = self.counterparties[&who].view();
        let _ = self.events.send(PeerEvent::Changed(view.clone()));
        Ok(view)
    }

    /// Applies `change` to `who`'s record, stored before it applies here;
    /// `Err(None)` when `who` is not paired (or being unpaired),
    /// `Err(Some(why))` when the keystore refused (nothing changed).
    async fn change_record(
        &mut self,
        who: PublicKey,
        change: impl FnOnce(&mut Stored),
    ) -> Result<(), Option<String>> {
        let counterparty = self
            .counterparties
            .get(&who)
            .filter(|c| !c.link.is_revoking())
            .ok_or(None)?;
        let mut record = counterparty.record.clone();
        change(&mut record);
        self.storage.save(record.clone()).await.map_err(Some)?;
        let counterparty = self.counterparties.get_mut(&who).ok_or(None)?;
        // Only what `change` touched: a last-seen time may have moved on.
        let last_seen = counterparty.record.last_seen.max(record.last_seen);
        counterparty.record = Stored {
            last_seen,
            ..record
        };
        Ok(())
    }

    /// A manager tells an app, as each session comes up and when its grant
    /// changes, its name and what it may use: a grant or a configuration
    /// changed while the app was away reaches it that way.
    pub(super) fn announce_to(
        config: &crate::PeerConfig,
        counterparty: &mut Counterparty,
        now: Instant,
    ) {
        if counterparty.record.role != nodepair_keystore::Role::App {
            return;
        }
        let granted = nodepair_protocol::grants::granted(
            &config.capabilities,
            counterparty.record.grants.as_deref(),
        );
        let name = nodepair_protocol::hello::fit_display_name(&config.display_name);
        if let Err(e) = counterparty.link.announce(now, Some(name), Some(granted)) {
            tracing::debug!(peer = %counterparty.link.peer().fingerprint(), "cannot announce: {e}");
        }
    }

    /// Sends `to` a state update of our own making.
    pub(super) async fn announce(
        &mut self,
        to: PublicKey,
        display_name: Option<String>,
        capabilities: Option<Vec<String>>,
    ) -> Result<(), EventError> {
        let counterparty = self
            .counterparties
            .get_mut(&to)
            .ok_or(EventError::NotPaired)?;
        counterparty
            .link
            .announce(self.config.clock.now(), display_name, capabilities)
            .map_err(event_error)?;
        self.flush_counterparty(to).await;
        Ok(())
    }

    /// Changes what `who` may use, stored before it applies; an online
    /// counterparty is told at once.
    pub(super) async fn grant(
        &mut self,
        who: PublicKey,
        grants: Option<Vec<String>>,
    ) -> Result<CounterpartyView, GrantChangeError> {
        self.change_record(who, |record| record.grants = grants)
            .await
            .map_err(|e| e.map_or(GrantChangeError::NotPaired, GrantChangeError::Storage))?;
        let Some(counterparty) = self.counterparties.get_mut(&who) else {
            return Err(GrantChangeError::NotPaired);
        };
        if counterparty.link.is_online() {
            Self::announce_to(&self.config, counterparty, self.config.clock.now());
        }
        let view = counterparty.view();
        crate::event_log::granted(&view);
        let _ = self.events.send(PeerEvent::Changed(view.clone()));
        self.flush_counterparty(who).await;
        Ok(view)
    }

    /// Forgets `peer` entirely: the link, its topic, its record, and any
    /// link waiting under a key it announced.
    pub(super) async fn forget(&mut self, peer: PublicKey, by_peer: bool) {
        self.drop_pending_for(peer, None);
        let Some(mut counterparty) = self.counterparties.remove(&peer) else {
            return;
        };
        self.retired.add(&counterparty.link.stats());
        self.subscriptions.unsubscribe(&counterparty.topic);
        for (_, waiting) in counterparty.waiting.drain() {
            let _ = waiting.send(Err(RequestError::Send("the session closed".into())));
        }
        counterparty.revocation_told(&Revocation::WillBeTold);
        if let Err(e) = self.storage.delete(peer).await {
            tracing::error!("cannot delete a revoked counterparty: {e}");
        }
        let view = counterparty.view();
        crate::event_log::removed(&view, by_peer);
        let _ = self.events.send(PeerEvent::Removed {
            public_key: peer,
            display_name: view.name().to_owned(),
            by_peer,
        });
    }
}

/// What a link's refusal to send means to the program.
/// What the program is told of a request of its that went unanswered.
pub(super) fn unanswered(why: Unanswered, timeout: std::time::Duration) -> RequestError {
    match why {
        Unanswered::TimedOut => RequestError::Timeout(timeout),
        Unanswered::SessionClosed => RequestError::Send("the session closed".into()),
        Unanswered::Stopped => RequestError::Stopped,
    }
}

fn event_error(refused: EventRefused) -> EventError {
    match refused {
        EventRefused::NotPaired => EventError::NotPaired,
        EventRefused::NotOnline => EventError::NotOnline,
        e => EventError::Send(e.to_string()),
    }
}

/// What a link's key-move events ask of the driver, once the link is read.
enum Move {
    /// The counterparty stored our next key.
    Moved,
    /// The counterparty announced a key of its own.
    Announced { id: u64, new_key: PublicKey },
    /// The link under a counterparty's new key is up.
    Promote,
    /// An app asks us (a manager) to admit its person's other computer.
    Introduce {
        id: u64,
        body: Bytes,
        grants: Option<Vec<String>>,
    },
    /// An app asks us (a manager) to cut off another computer of its line.
    CutOff { id: u64, body: Bytes },
    /// A manager answered a cut-off we kept for it.
    CutOffAnswered {
        who: String,
        status: nodepair_protocol::Status,
        body: Bytes,
    },
}
