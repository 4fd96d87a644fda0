//! Adding a computer: the session between the new computer and the one introducing it (kept in memory only), the handoff, and a manager admitting an introduced app.

use super::{Driver, random_seed};
use crate::pairing_handle::PairingUpdate;
use crate::request::{Reply, RequestError};
use crate::subscriptions::Route;
use crate::view::{CounterpartyView, PeerEvent};
use bytes::Bytes;
use nodepair_keystore::{Counterparty as Stored, CounterpartyState, Role as StoredRole};
use nodepair_protocol::hello::printable;
use nodepair_protocol::introduction::{
    self, HANDOFF_METHOD, Handoff, Introduce, Introduced, IntroductionError,
};
use nodepair_protocol::link::{LinkEvent, RequestId};
use nodepair_protocol::pairing::{Counterparty as Met, Paired};
use nodepair_protocol::{Link, PublicKey, StaticKeypair, Status, grants};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How long the session between the two computers may last: time for the
/// introducing side to ask every manager (at once, each within the request
/// timeout) and to hand them over, retries included.
const LIFETIME: Duration = Duration::from_secs(300);

/// At most this many handoff parts wait for the code's watch to end.
const MAX_HELD: usize = 4;

/// The new computer keeps the session this long after it took the handoff,
/// so a lost answer can be asked for again and answered.
const AFTER_HANDOFF: Duration = Duration::from_secs(30);

/// The session with the other computer while a computer is added.
pub(crate) struct Introduction {
    link: Link,
    topic: String,
    /// The other computer, as it introduced itself.
    computer: Met,
    /// Our key this session is under.
    ours: StaticKeypair,
    updates: mpsc::Sender<PairingUpdate>,
    /// Our requests waiting for answers (the handoff).
    waiting: HashMap<RequestId, oneshot::Sender<Result<Reply, RequestError>>>,
    /// Ended after this.
    until: Instant,
    /// The new computer: the managers it took, once it did.
    joined: Option<usize>,
    /// Whether we are the new computer (only it takes a handoff).
    joining: bool,
    /// Whether the code's watch for a second answer is over: before, the
    /// introducing side asks no manager and the new one takes nothing.
    ready: bool,
    /// Handoff parts that came before we were ready, answered once we are
    /// (an honest introducer sends one and waits for its answer).
    held: Vec<(u64, Bytes)>,
    /// The parts of the handoff taken so far.
    intake: introduction::HandoffIntake,
    /// The string both people compared.
    verification: String,
}

impl Introduction {
    /// Refuses the handoff for good (`why`) and tells this side's person
    /// (`said`).
    fn refuse(&mut self, why: IntroductionError, said: String) {
        self.intake.refuse(why);
        let _ = self
            .updates
            .try_send(PairingUpdate::Failed(crate::PairingFailure::Introduction(
                said,
            )));
    }
}

impl Driver {
    /// An introduction's pairing is done: its session is kept here, not
    /// stored; the program is told once the code's watch is over.
    pub(super) async fn on_met(&mut self, id: u64, paired: Paired) {
        let Paired {
            counterparty,
            verification,
            session,
            session_topic,
        } = paired;
        let Some(run) = self.pairings.get_mut(&id) else {
            return;
        };
        let peer = counterparty.static_key;
        let (updates, ours) = (run.updates.clone(), run.ours.clone());
        let joining = run.introduction == Some(true);
        if self.counterparties.contains_key(&peer) || self.introductions.contains_key(&peer) {
            let _ = updates.try_send(PairingUpdate::Failed(crate::PairingFailure::AlreadyPaired(
                printable(&counterparty.display_name, 64),
            )));
            return;
        }
        if let Some(run) = self.pairings.get_mut(&id) {
            run.paired_with = Some(peer);
        }
        let link = Link::paired(self.config.link(), ours.clone(), session, random_seed());
        self.subscriptions
            .subscribe(&session_topic, Route::Introduction(peer))
            .await;
        if joining {
            tracing::info!(target: crate::event_log::TARGET, key = %peer.fingerprint(), "met {}, which is adding this computer to its managers; verification string confirmed on both", printable(&counterparty.display_name, 64));
        } else {
            tracing::info!(target: crate::event_log::TARGET, key = %peer.fingerprint(), "met the new computer {}; verification string confirmed on both", printable(&counterparty.display_name, 64));
        }
        self.introductions.insert(
            peer,
            Introduction {
                link,
                topic: session_topic,
                computer: counterparty,
                ours,
                updates,
                waiting: HashMap::new(),
                until: self.now() + LIFETIME,
                joined: None,
                joining,
                ready: false,
                held: Vec::new(),
                intake: introduction::HandoffIntake::default(),
                verification,
            },
        );
    }

    /// The code's watch is over without a second answer: the program is
    /// told the computers met, and a handoff that came early is taken.
    pub(super) async fn introduction_ready(&mut self, peer: PublicKey) {
        let Some(intro) = self.introductions.get_mut(&peer) else {
            return;
        };
        intro.ready = true;
        let _ = intro.updates.try_send(PairingUpdate::Met {
            computer: intro.computer.clone(),
            verification: intro.verification.clone(),
        });
        let held = std::mem::take(&mut intro.held);
        for (id, body) in held {
            let (status, answer) = self.on_handoff(peer, &body).await;
            if let Some(intro) = self.introductions.get_mut(&peer) {
                let _ = intro.link.respond(id, status, Bytes::from(answer));
            }
        }
        self.flush_introduction(peer).await;
    }

    /// The introducing side's request to the new computer (the handoff).
    /// `false` if there is no such session.
    pub(super) fn introduction_request(
        &mut self,
        to: PublicKey,
        (method, protocol): (&str, bool),
        body: Bytes,
        reply: oneshot::Sender<Result<Reply, RequestError>>,
        now: Instant,
    ) -> Result<(), oneshot::Sender<Result<Reply, RequestError>>> {
        let Some(intro) = self.introductions.get_mut(&to) else {
            return Err(reply);
        };
        let sent = if protocol {
            intro.link.request_protocol(now, method, body)
        } else {
            intro.link.request(now, method.to_owned(), body)
        };
        match sent {
            Ok(id) => {
                intro.waiting.insert(id, reply);
            }
            Err(e) => {
                let _ = reply.send(Err(RequestError::Send(e.to_string())));
            }
        }
        Ok(())
    }

    /// Publishes what an introduction's link sends and acts on what it
    /// says.
    pub(super) async fn flush_introduction(&mut self, peer: PublicKey) {
        loop {
            let mut handoffs = Vec::new();
            let mut closed = false;
            {
                let Some(intro) = self.introductions.get_mut(&peer) else {
                    return;
                };
                loop {
                    while let Some(payload) = intro.link.poll_transmit() {
                        self.publisher.send(&intro.topic, payload);
                    }
                    let Some(event) = intro.link.poll_event() else {
                        break;
                    };
                    match event {
                        LinkEvent::Serve(request)
                            if request.method == HANDOFF_METHOD && intro.joining =>
                        {
                            if intro.ready {
                                handoffs.push((request.id, request.body));
                            } else if intro.held.len() < MAX_HELD {
                                intro.held.push((request.id, request.body));
                            } else {
                                let _ = intro.link.respond(
                                    request.id,
                                    Status::RATE_LIMITED,
                                    Bytes::from_static(
                                        b"too many handoff parts before the code's watch ended",
                                    ),
                                );
                            }
                        }
                        LinkEvent::Serve(request) => {
                            let _ = intro.link.respond(
                                request.id,
                                Status::FORBIDDEN,
                                Bytes::from_static(
                                    b"this session only carries the managers of an introduction",
                                ),
                            );
                        }
                        LinkEvent::Answered { id, status, body } => {
                            if let Some(waiting) = intro.waiting.remove(&id) {
                                let _ = waiting.send(Ok(Reply { status, body }));
                            }
                        }
                        LinkEvent::Unanswered { id, why } => {
                            if let Some(waiting) = intro.waiting.remove(&id) {
                                let _ = waiting.send(Err(super::counterparties::unanswered(
                                    why,
                                    self.config.request_timeout,
                                )));
                            }
                        }
                        LinkEvent::Revoked { .. } | LinkEvent::PeerClosed { .. } => {
                            closed = true;
                        }
                        _ => {}
                    }
                }
            }
            if closed {
                self.fail_unjoined(
                    peer,
                    "the other computer ended the introduction before any manager was handed over",
                );
                self.end_introduction(peer);
                return;
            }
            if handoffs.is_empty() {
                return;
            }
            for (id, body) in handoffs {
                let (status, body) = self.on_handoff(peer, &body).await;
                if let Some(intro) = self.introductions.get_mut(&peer) {
                    let _ = intro.link.respond(id, status, Bytes::from(body));
                }
            }
        }
    }

    /// The new computer is handed the managers that admitted it, in one
    /// part or several: all are stored once the last came, or none.
    async fn on_handoff(&mut self, peer: PublicKey, body: &[u8]) -> (Status, String) {
        let Some(intro) = self.introductions.get_mut(&peer) else {
            return (Status::INTERNAL, "the introduction ended".into());
        };
        if let Some(count) = intro.joined {
            return (
                Status::OK,
                introduction::HandoffAnswer::Stored(count).body(),
            );
        }
        let handoff: Handoff = match serde_json::from_slice(body) {
            Ok(h) => h,
            Err(e) => {
                let why = format!("the handoff is malformed ({e}); nothing was stored");
                intro.refuse(
                    IntroductionError::Malformed("the handoff's body"),
                    format!("the other computer's handoff was refused: {why}"),
                );
                return (Status::BAD_REQUEST, why);
            }
        };
        // Never ourselves, nor the computer handing over (the protocol
        // refuses low-order keys too).
        let mut not_managers = vec![self.own.public(), intro.computer.static_key];
        not_managers.extend(self.next.as_ref().map(StaticKeypair::public));
        let managers = match intro.intake.take(&handoff, &not_managers) {
            Ok(Some(all)) => all,
            Ok(None) => {
                return (
                    Status::OK,
                    introduction::HandoffAnswer::Held(intro.intake.held()).body(),
                );
            }
            Err(e) => {
                let _ = intro.updates.try_send(PairingUpdate::Failed(
                    crate::PairingFailure::Introduction(format!(
                        "the other computer's handoff was refused: {e}; nothing was stored"
                    )),
                ));
                return (Status::BAD_REQUEST, format!("{e}; nothing was stored"));
            }
        };
        let now_unix = self.config.clock.unix_secs();
        let our_key = self
            .next
            .as_ref()
            .filter(|next| next.public() == intro.ours.public())
            .map(|next| *next.public().as_bytes());
        // Managers we are paired with already are reached as they are.
        let already: Vec<CounterpartyView> = managers
            .iter()
            .filter_map(|m| self.counterparties.get(&m.public_key).map(|c| c.view()))
            .collect();
        let records: Vec<Stored> = managers
            .into_iter()
            .filter(|m| !self.counterparties.contains_key(&m.public_key))
            .map(|m| Stored {
                public_key: *m.public_key.as_bytes(),
                node_id: *m.node_id.as_bytes(),
                display_name: m.display_name,
                role: StoredRole::NodeManager,
                paired_at: now_unix,
                last_seen: None,
                state: CounterpartyState::Active,
                capabilities: m.capabilities,
                local_name: None,
                grants: None,
                our_key,
                moving_to: None,
                introduced_by: None,
                cut_offs: Vec::new(),
            })
            .collect();
        for (n, record) in records.iter().enumerate() {
            if let Err(e) = self.storage.save(record.clone()).await {
                tracing::error!("the managers handed over could not be stored: {e}");
                for written in &records[..n] {
                    let _ = self.storage.delete(PublicKey(written.public_key)).await;
                }
                if let Some(intro) = self.introductions.get_mut(&peer) {
                    intro.refuse(
                        IntroductionError::Malformed("not stored"),
                        format!(
                            "the managers handed over could not be stored ({e}); nothing was kept"
                        ),
                    );
                }
                return (
                    Status::INTERNAL,
                    format!(
                        "the new computer could not store its managers ({e}); nothing was kept"
                    ),
                );
            }
        }
        let count = records.len();
        let mut views = already;
        for record in records {
            let key = PublicKey(record.public_key);
            self.add_stored(record).await;
            if let Some(c) = self.counterparties.get(&key) {
                let view = c.view();
                tracing::info!(target: crate::event_log::TARGET, key = %key.fingerprint(), node_id = %view.node_id, "paired with the manager {} through an introduction", view.name());
                let _ = self.events.send(PeerEvent::Changed(view.clone()));
                views.push(view);
            }
        }
        let Some(intro) = self.introductions.get_mut(&peer) else {
            return (
                Status::OK,
                introduction::HandoffAnswer::Stored(count).body(),
            );
        };
        intro.joined = Some(count);
        intro.until = self.config.clock.now() + AFTER_HANDOFF;
        let _ = intro.updates.try_send(PairingUpdate::Joined {
            via: printable(&intro.computer.display_name, 64),
            managers: views,
        });
        (
            Status::OK,
            introduction::HandoffAnswer::Stored(count).body(),
        )
    }

    /// Adding a computer cancelled after both confirmed, while the code is
    /// still watched: nothing was introduced yet, and nothing will be. The
    /// session ends (the other computer is told) and the run says
    /// cancelled.
    pub(super) fn cancel_unready_introduction(&mut self, id: u64) {
        let Some(run) = self.pairings.get_mut(&id) else {
            return;
        };
        let Some(peer) = run.paired_with.filter(|_| run.introduction.is_some()) else {
            return;
        };
        if self.introductions.get(&peer).is_none_or(|i| i.ready) {
            return;
        }
        run.paired_with = None;
        run.tell(PairingUpdate::Failed(crate::PairingFailure::Protocol(
            nodepair_protocol::PairingError::Cancelled,
        )));
        tracing::info!("adding a computer was cancelled before anything was introduced");
        self.end_introduction(peer);
    }

    /// Ends the session with the other computer (it is told if online).
    pub(super) fn end_introduction(&mut self, peer: PublicKey) {
        let Some(mut intro) = self.introductions.remove(&peer) else {
            return;
        };
        intro.link.shutdown();
        while let Some(payload) = intro.link.poll_transmit() {
            self.publisher.send(&intro.topic, payload);
        }
        for (_, waiting) in intro.waiting.drain() {
            let _ = waiting.send(Err(RequestError::Send("the session closed".into())));
        }
        if matches!(
            self.subscriptions.route(&intro.topic),
            Some(Route::Introduction(_))
        ) {
            self.subscriptions.unsubscribe(&intro.topic);
        }
    }

    /// Introductions' timers: their links', and their ends.
    pub(super) fn introductions_timeout(&mut self, now: Instant) {
        let mut over = Vec::new();
        for (peer, intro) in &mut self.introductions {
            if intro.until <= now {
                over.push(*peer);
            } else if intro.link.poll_timeout().is_some_and(|t| t <= now) {
                intro.link.handle_timeout(now);
            }
        }
        for peer in over {
            self.fail_unjoined(
                peer,
                "the other computer did not hand over any manager in time",
            );
            self.end_introduction(peer);
        }
    }

    /// Tells the program following either side, if the new computer has
    /// not taken a handoff, that the introduction ended (`why`). (The
    /// introducing side no longer listens once it asks the managers.)
    fn fail_unjoined(&self, peer: PublicKey, why: &str) {
        if let Some(intro) = self.introductions.get(&peer)
            && intro.joined.is_none()
        {
            let _ =
                intro
                    .updates
                    .try_send(PairingUpdate::Failed(crate::PairingFailure::Introduction(
                        why.to_owned(),
                    )));
        }
    }

    /// The earliest of the introductions' timers.
    pub(super) fn introductions_deadline(&self) -> Option<Instant> {
        self.introductions
            .values()
            .flat_map(|i| [i.link.poll_timeout(), Some(i.until)])
            .flatten()
            .min()
    }

    pub(super) fn introductions_busy(&self) -> Vec<PublicKey> {
        self.introductions
            .iter()
            .filter(|(_, i)| i.link.has_output())
            .map(|(k, _)| *k)
            .collect()
    }

    pub(super) fn introduction_message(&mut self, peer: PublicKey, now: Instant, payload: &[u8]) {
        if let Some(intro) = self.introductions.get_mut(&peer) {
            intro.link.handle_message(now, payload);
        }
    }

    /// A manager: an app asks to admit the same person's other computer.
    /// Answers the request `id` on `introducer`'s link.
    pub(super) async fn on_introduce(
        &mut self,
        introducer: PublicKey,
        id: u64,
        body: Bytes,
        granted: Option<Vec<String>>,
    ) {
        let (status, answer) = match self.admit(introducer, &body, granted).await {
            Ok(introduced) => (
                Status::OK,
                serde_json::to_vec(&introduced).expect("an answer serializes"),
            ),
            Err((status, why)) => (status, why.into_bytes()),
        };
        if let Some(c) = self.counterparties.get_mut(&introducer) {
            let _ = c.link.respond(id, status, Bytes::from(answer));
        }
    }

    async fn admit(
        &mut self,
        introducer: PublicKey,
        body: &[u8],
        granted: Option<Vec<String>>,
    ) -> Result<Introduced, (Status, String)> {
        let refused = |e: IntroductionError| {
            let status = match e {
                IntroductionError::NotAccepted | IntroductionError::BeyondIntroducer(_) => {
                    Status::FORBIDDEN
                }
                _ => Status::BAD_REQUEST,
            };
            (status, format!("{e}; nothing was stored"))
        };
        let request: Introduce = serde_json::from_slice(body).map_err(|e| {
            (
                Status::BAD_REQUEST,
                format!("the introduction is malformed ({e}); nothing was stored"),
            )
        })?;
        let Some(by) = self.standing_for(introducer) else {
            return Err((Status::FORBIDDEN, "not paired".into()));
        };
        let by_record = by.record.clone();
        let root = by_record.introduced_by.unwrap_or(by_record.public_key);
        let offered = self.config.capabilities.clone();
        let admitted = introduction::admit(
            self.config.accept_introductions,
            &offered,
            granted.as_deref(),
            &request,
            |key| {
                self.counterparties.contains_key(key)
                    || *key == self.own.public()
                    || self.next.as_ref().is_some_and(|n| n.public() == *key)
                    || nodepair_protocol::session_content_topic(&self.own, key).is_none()
            },
        );
        let introduced = |record: &Stored, our: PublicKey| Introduced {
            public_key: our.to_string(),
            node_id: uuid::Uuid::from_bytes(self.identity.node_id).to_string(),
            display_name: nodepair_protocol::hello::fit_display_name(&self.config.display_name),
            capabilities: grants::granted(&offered, record.grants.as_deref()),
        };
        let admitted = match admitted {
            Ok(a) => a,
            // Asked again (its first answer was lost, or the handoff
            // failed): the same answer, nothing written.
            Err(IntroductionError::AlreadyPaired) => {
                let key = introduction_key(&request).map_err(refused)?;
                let again = self
                    .counterparties
                    .get(&key)
                    .filter(|c| c.record.introduced_by == Some(root) && !c.link.is_revoking())
                    .map(|c| c.record.clone());
                return match again {
                    Some(record) => Ok(introduced(&record, self.own_for_key(&record))),
                    None => Err(refused(IntroductionError::AlreadyPaired)),
                };
            }
            Err(e @ IntroductionError::NotAccepted) => {
                tracing::debug!(by = %introducer.fingerprint(), "refused an introduction: {e}");
                return Err(refused(e));
            }
            Err(e) => {
                tracing::warn!(target: crate::event_log::TARGET, by = %introducer.fingerprint(), "refused an introduction by the app {}: {e}", printable(&by_record.display_name, 64));
                return Err(refused(e));
            }
        };
        let line = self
            .counterparties
            .values()
            .filter(|c| c.record.introduced_by == Some(root))
            .count();
        if line >= introduction::MAX_LINE {
            tracing::warn!(target: crate::event_log::TARGET, by = %introducer.fingerprint(), "refused an introduction by the app {}: its line has {line} computers here already", printable(&by_record.display_name, 64));
            return Err((
                Status::FORBIDDEN,
                format!(
                    "this manager has {line} computers introduced in this line already, the most it takes; its operator pairs more (`nodepair-manager pair`); nothing was stored"
                ),
            ));
        }
        let now_unix = self.config.clock.unix_secs();
        let record = Stored {
            public_key: *admitted.public_key.as_bytes(),
            node_id: *admitted.node_id.as_bytes(),
            display_name: admitted.display_name,
            role: StoredRole::App,
            paired_at: now_unix,
            last_seen: None,
            state: CounterpartyState::Active,
            capabilities: Vec::new(),
            local_name: None,
            grants: admitted.grants,
            // Introduced during our rotation: it is told our next key.
            our_key: self.next.as_ref().map(|next| *next.public().as_bytes()),
            moving_to: None,
            introduced_by: Some(root),
            cut_offs: Vec::new(),
        };
        if let Err(e) = self.storage.save(record.clone()).await {
            tracing::error!("an introduced app could not be stored: {e}");
            return Err((
                Status::INTERNAL,
                format!("the manager could not store the new computer ({e}); nothing was kept"),
            ));
        }
        let answer = introduced(&record, self.own_for_key(&record));
        let what = match &record.grants {
            None => "everything offered".to_owned(),
            Some(g) if g.is_empty() => "nothing but manager.info".to_owned(),
            Some(g) => g.join(", "),
        };
        tracing::info!(target: crate::event_log::TARGET, key = %admitted.public_key.fingerprint(), by = %introducer.fingerprint(), "the app {} introduced the app {} (key {}), granted {what}", printable(&by_record.display_name, 64), printable(&record.display_name, 64), admitted.public_key.fingerprint());
        self.add_stored(record).await;
        if let Some(c) = self.counterparties.get(&admitted.public_key) {
            let _ = self.events.send(PeerEvent::Changed(c.view()));
        }
        Ok(answer)
    }

    /// The counterparty whose record `peer`'s link stands for: a link under
    /// a key its app moves to stands for the record under the old key.
    pub(super) fn standing_for(
        &self,
        peer: PublicKey,
    ) -> Option<&crate::counterparty::Counterparty> {
        let link = self.counterparties.get(&peer)?;
        Some(
            link.replaces
                .and_then(|old| self.counterparties.get(&old))
                .unwrap_or(link),
        )
    }

    /// Our public key `record`'s counterparty knows.
    fn own_for_key(&self, record: &Stored) -> PublicKey {
        self.own_for(record).public()
    }
}

fn introduction_key(request: &Introduce) -> Result<PublicKey, IntroductionError> {
    request
        .public_key
        .parse()
        .map_err(|_| IntroductionError::Malformed("public key"))
}
