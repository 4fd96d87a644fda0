//! The task that drives every pairing and link of one peer.
//!
//! It owns the protocol's machines and is the only one to touch them: it
//! feeds them the messages the subscriptions bring in and the commands the
//! program sends, wakes them at their timers, and hands what they emit to
//! the publisher, the keystore and the program's event stream. What to do
//! is the machines' to decide; this only carries it out.
//!
//! - `mod.rs`: the loop, the commands, status and shutdown.
//! - [`pairings`]: pairings under way, and what a finished one becomes.
//! - [`counterparties`]: paired counterparties: their links' events,
//!   requests, revocation, names, last-seen.
//! - [`cut_offs`]: cutting off a lost computer, on a manager and on the
//!   app that asks.
//! - [`introductions`]: adding a computer: the session between the two
//!   computers, the handoff, and a manager admitting an introduced app.
//! - [`key_moves`]: our key rotation, and counterparties moving to keys of
//!   their own.

mod counterparties;
mod cut_offs;
mod introductions;
mod key_moves;
mod pairings;

use crate::catch_up::{self, CatchUp};
use crate::counterparty::Counterparty;
use crate::pairing_handle::{PairingFailure, PairingUpdate};
use crate::publisher::Publisher;
use crate::request::{Reply, RequestError, RequestHandler};
use crate::storage::Storage;
use crate::subscriptions::{Route, Subscriptions};
use crate::view::{
    CounterpartyView, EventError, GrantChangeError, PeerEvent, RenameError, RotateError,
    RotationView,
};
use crate::{OwnKeys, PeerConfig, PeerStatus, Revocation};
use bytes::Bytes;
use nodepair_keystore::{Identity, Keystore};
use nodepair_protocol::frame::ByteString;
use nodepair_protocol::session::SessionStats;

use nodepair_protocol::{Link, Pairing, PublicKey, StaticKeypair};
use nodepair_waku::WakuNode;
use pairings::PairingRun;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{broadcast, mpsc, oneshot};

/// What the program asks of the driver.
pub(crate) enum Command {
    StartPairing {
        id: u64,
        pairing: Box<Pairing>,
        /// What the counterparty will be granted (`None`: everything).
        grants: Option<Vec<String>>,
        /// Our key it pairs under.
        ours: StaticKeypair,
        updates: mpsc::Sender<PairingUpdate>,
    },
    /// Adding a computer, on either side: a pairing whose session is kept
    /// only for the handoff.
    StartIntroduction {
        id: u64,
        pairing: Box<Pairing>,
        ours: StaticKeypair,
        /// We are the new computer (else the one introducing it).
        joining: bool,
        updates: mpsc::Sender<PairingUpdate>,
    },
    /// Keep a cut-off for a manager until it answers.
    QueueCutOff {
        manager: PublicKey,
        who: String,
        reply: oneshot::Sender<Result<(), crate::view::CutOffError>>,
    },
    /// The introducing side is done with the new computer's session.
    EndIntroduction {
        peer: PublicKey,
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
        /// One of the protocol's own requests a program drives (adding a
        /// computer).
        protocol: bool,
        reply: oneshot::Sender<Result<Reply, RequestError>>,
    },
    Revoke {
        who: PublicKey,
        reply: oneshot::Sender<Revocation>,
    },
    SendEvent {
        to: PublicKey,
        stream: ByteString,
        body: Bytes,
        reply: oneshot::Sender<Result<u64, EventError>>,
    },
    Rename {
        who: PublicKey,
        name: Option<String>,
        reply: oneshot::Sender<Result<CounterpartyView, RenameError>>,
    },
    Announce {
        to: PublicKey,
        display_name: Option<String>,
        capabilities: Option<Vec<String>>,
        reply: oneshot::Sender<Result<(), EventError>>,
    },
    Rotate {
        reply: oneshot::Sender<Result<RotationView, RotateError>>,
    },
    Rotation {
        reply: oneshot::Sender<Option<RotationView>>,
    },
    Grant {
        who: PublicKey,
        grants: Option<Vec<String>>,
        reply: oneshot::Sender<Result<CounterpartyView, GrantChangeError>>,
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

/// Answers of served requests, on their way back to the links.
const REPLIES_BUFFER: usize = 256;

pub(crate) struct Driver {
    /// Our current static key.
    own: StaticKeypair,
    /// During a rotation: the key counterparties move to.
    next: Option<StaticKeypair>,
    /// As stored; rotations write it.
    identity: Identity,
    /// What the handles read of our keys.
    keys: Arc<std::sync::RwLock<OwnKeys>>,
    config: PeerConfig,
    storage: Storage,
    waku: WakuNode,
    handler: Arc<dyn RequestHandler>,
    events: broadcast::Sender<PeerEvent>,
    counterparties: HashMap<PublicKey, Counterparty>,
    pairings: HashMap<u64, PairingRun>,
    /// Sessions with a computer being added (never stored).
    introductions: HashMap<PublicKey, introductions::Introduction>,
    subscriptions: Subscriptions,
    publisher: Publisher,
    replies_tx: mpsc::Sender<(PublicKey, u64, u64, Reply)>,
    replies_rx: mpsc::Receiver<(PublicKey, u64, u64, Reply)>,
    /// Numbers each link made, so an answer served for one that was
    /// replaced since (a key move) is not given to the new one.
    links_made: u64,
    reach: CatchUp,
    /// Pairing messages refused by pairings that ended.
    pairing_refused: u64,
    /// Counters of links that were replaced or removed.
    retired: SessionStats,
    /// When refused traffic was last summed, and what was said of it.
    drops_checked_at: Option<Instant>,
    drops: crate::event_log::DropReport,
    /// When a rotation's grace period was last looked at.
    grace_checked_at: Option<Instant>,
}

/// 32 bytes from the operating system, for the machines' seeds.
pub(crate) fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    // Without an OS random source nothing secure can run at all.
    getrandom::fill(&mut seed).expect("the operating system provides random bytes");
    seed
}

impl Driver {
    pub(crate) fn new(
        identity: Identity,
        keys: Arc<std::sync::RwLock<OwnKeys>>,
        config: PeerConfig,
        keystore: Arc<dyn Keystore>,
        waku: WakuNode,
        handler: Arc<dyn RequestHandler>,
        events: broadcast::Sender<PeerEvent>,
    ) -> Self {
        let (replies_tx, replies_rx) = mpsc::channel(REPLIES_BUFFER);
        Driver {
            own: StaticKeypair::from_secret(*identity.static_secret),
            next: identity
                .next_static_secret
                .as_ref()
                .map(|next| StaticKeypair::from_secret(**next)),
            identity,
            keys,
            config,
            storage: Storage::start(keystore),
            subscriptions: Subscriptions::new(waku.clone()),
            publisher: Publisher::start(waku.clone()),
            waku,
            handler,
            events,
            counterparties: HashMap::new(),
            pairings: HashMap::new(),
            introductions: HashMap::new(),
            replies_tx,
            replies_rx,
            links_made: 0,
            reach: CatchUp::default(),
            pairing_refused: 0,
            retired: SessionStats::default(),
            drops_checked_at: None,
            drops: crate::event_log::DropReport::default(),
            grace_checked_at: None,
        }
    }

    fn now(&self) -> Instant {
        self.config.clock.now()
    }

    /// Runs until shutdown (or until every handle is gone).
    pub(crate) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut waku_events = self.waku.events();
        self.reach.waku_peers = self.waku.peers().await.map_or(0, |p| p.len());
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
                Some((topic, received)) = self.subscriptions.inbound.recv() => {
                    self.on_message(&topic, &received.message.payload);
                }
                Some((to, link, id, reply)) = self.replies_rx.recv() => self.respond(to, link, id, reply),
                event = waku_events.recv() => {
                    let back = self.reach.on_event(&self.waku, event).await;
                    if let Some(cut_off_at) = back {
                        catch_up::fetch(
                            self.waku.clone(),
                            self.subscriptions.sender(),
                            self.subscriptions.topics(),
                            cut_off_at,
                            self.config.store_catch_up,
                            &self.config.clock,
                        );
                    }
                    if self.reach.waku_peers > 0 {
                        self.network_is_back();
                    }
                }
                () = sleep_until(deadline) => self.on_timeout(),
            }
            self.flush().await;
            self.report_drops(false);
            if self.next.is_some() && self.grace_check_due() {
                self.finish_rotation_if_done().await;
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let links = self
            .counterparties
            .values()
            .filter_map(|c| c.link.poll_timeout());
        let pairings = self
            .pairings
            .values()
            .filter_map(|p| p.pairing.poll_timeout());
        links
            .chain(pairings)
            .chain(self.introductions_deadline())
            .min()
    }

    async fn on_command(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::StartPairing {
                id,
                pairing,
                grants,
                ours,
                updates,
            } => {
                self.start_pairing(id, pairing, (grants, ours, None), updates)
                    .await
            }
            Command::StartIntroduction {
                id,
                pairing,
                ours,
                joining,
                updates,
            } => {
                self.start_pairing(id, pairing, (None, ours, Some(joining)), updates)
                    .await
            }
            Command::EndIntroduction { peer } => self.end_introduction(peer),
            Command::QueueCutOff {
                manager,
                who,
                reply,
            } => {
                let _ = reply.send(self.queue_cut_off(manager, who).await);
            }
            Command::CancelPairing { id, done } => {
                if let Some(run) = self.pairings.get_mut(&id) {
                    run.pairing.cancel();
                }
                self.cancel_unready_introduction(id);
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
                protocol,
                reply,
            } => {
                if let Err(reply) =
                    self.introduction_request(to, (&method, protocol), body.clone(), reply, now)
                {
                    self.request(to, (method, protocol), body, reply, now);
                }
            }
            Command::Revoke { who, reply } => self.revoke(who, reply, now).await,
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
            Command::Announce {
                to,
                display_name,
                capabilities,
                reply,
            } => {
                let _ = reply.send(self.announce(to, display_name, capabilities).await);
            }
            Command::Rotate { reply } => {
                let _ = reply.send(self.rotate().await);
            }
            Command::Rotation { reply } => {
                let _ = reply.send(self.rotation_view());
            }
            Command::Grant { who, grants, reply } => {
                let _ = reply.send(self.grant(who, grants).await);
            }
            Command::List { reply } => {
                let mut all: Vec<_> = self
                    .counterparties
                    .values()
                    .filter(|c| c.replaces.is_none())
                    .map(Counterparty::view)
                    .collect();
                all.sort_by(|a, b| a.name().cmp(b.name()));
                let _ = reply.send(all);
            }
            Command::Status { reply } => {
                let _ = reply.send(self.status());
            }
            Command::Shutdown { .. } => unreachable!("handled by run"),
        }
    }

    /// Says how much traffic was refused, at most once a minute (and when
    /// `stopping`); the links' counts are summed every few seconds, and only
    /// when the loop woke anyway, not per message.
    fn report_drops(&mut self, stopping: bool) {
        let now = self.now();
        if !stopping
            && self.drops_checked_at.is_some_and(|at| {
                now.saturating_duration_since(at) < crate::event_log::DROPS_CHECKED_EVERY
            })
        {
            return;
        }
        self.drops_checked_at = Some(now);
        let (stats, refused_pairing) = self.counts();
        let refused = crate::event_log::DropReport::refused(&stats, refused_pairing);
        self.drops.log(now, refused, stopping);
    }

    /// Whether to look again whether a rotation's grace period is over
    /// (once a minute, when the loop woke anyway).
    fn grace_check_due(&mut self) -> bool {
        let now = self.now();
        let due = self.grace_checked_at.is_none_or(|at| {
            now.saturating_duration_since(at) >= std::time::Duration::from_secs(60)
        });
        if due {
            self.grace_checked_at = Some(now);
        }
        due
    }

    /// The sessions' counts summed over every link, and the pairing
    /// messages refused: what `status` shows and drop reports sum, without
    /// the rest of a status.
    fn counts(&self) -> (SessionStats, u64) {
        let mut stats = self.retired.clone();
        for counterparty in self.counterparties.values() {
            stats.add(&counterparty.link.stats());
        }
        let refused = self.pairing_refused
            + self
                .pairings
                .values()
                .map(|r| r.pairing.stats().refused)
                .sum::<u64>();
        (stats, refused)
    }

    fn status(&self) -> PeerStatus {
        let (session_stats, refused_pairing_messages) = self.counts();
        PeerStatus {
            public_key: self.own.public(),
            waku_peers: self.reach.waku_peers,
            topics: self.subscriptions.topics(),
            session_stats,
            refused_pairing_messages,
            pairings_under_way: self
                .pairings
                .values()
                .filter(|run| run.pairing.is_under_way())
                .count(),
        }
    }

    fn on_message(&mut self, topic: &str, payload: &[u8]) {
        let now = self.now();
        tracing::trace!(
            topic,
            kind = ?nodepair_protocol::wire::kind(payload),
            len = payload.len(),
            known = self.subscriptions.route(topic).is_some(),
            "received"
        );
        match self.subscriptions.route(topic) {
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
            Some(Route::Introduction(peer)) => self.introduction_message(peer, now, payload),
            Some(Route::Session(peer)) => {
                // Re-pairing someone already paired (or being unpaired)
                // shares its session topic; which messages are then whose
                // is the protocol's rule (`Link::takes`). A pairing that
                // completed (and still watches its code) has handed its
                // session over: it is no longer under way.
                let repairing = self.pairings.values().any(|run| {
                    run.pairing.is_under_way() && run.pairing.session_topic() == Some(topic)
                });
                if Link::takes(payload, repairing)
                    && let Some(counterparty) = self.counterparties.get_mut(&peer)
                {
                    counterparty.link.handle_message(now, payload);
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
        let now = self.now();
        self.introductions_timeout(now);
        for counterparty in self.counterparties.values_mut() {
            if counterparty.link.poll_timeout().is_some_and(|t| t <= now) {
                counterparty.link.handle_timeout(now);
            }
        }
        for run in self.pairings.values_mut() {
            if run.pairing.poll_timeout().is_some_and(|t| t <= now) {
                run.pairing.handle_timeout(now);
            }
        }
    }

    /// Drains what every machine emitted: pairings first (a pairing is
    /// persisted before its last message goes out), then the links.
    async fn flush(&mut self) {
        self.flush_pairings().await;
        // Most links have nothing to say after one event (a manager may have
        // a thousand): those only get their last-seen time written if due.
        let now = self.now();
        let mut busy = Vec::new();
        for (peer, counterparty) in &mut self.counterparties {
            if counterparty.link.has_output() {
                busy.push(*peer);
            } else if counterparty.replaces.is_none()
                && let Some(record) =
                    counterparty.last_seen_due(now, self.config.persist_last_seen_every)
            {
                self.storage.save_later(record);
            }
        }
        for peer in busy {
            self.flush_counterparty(peer).await;
        }
        for peer in self.introductions_busy() {
            self.flush_introduction(peer).await;
        }
    }

    /// Tells every online counterparty we are going, sends it, records
    /// last-seen, and stops the subscriptions.
    async fn shutdown(&mut self) {
        self.report_drops(true);
        // Goodbyes first, so whoever waits hears at once that we stopped.
        let peers: Vec<PublicKey> = self.counterparties.keys().copied().collect();
        for peer in peers {
            if let Some(counterparty) = self.counterparties.get_mut(&peer) {
                counterparty.link.shutdown();
            }
            self.flush_counterparty(peer).await;
        }
        let introductions: Vec<PublicKey> = self.introductions.keys().copied().collect();
        for peer in introductions {
            self.end_introduction(peer);
        }
        // Then every last-seen time, in one write.
        for counterparty in self.counterparties.values() {
            if !counterparty.link.is_revoking() && counterparty.replaces.is_none() {
                self.storage.save_later(counterparty.record.clone());
            }
        }
        for run in self.pairings.values_mut() {
            run.pairing.cancel();
            while let Some(t) = run.pairing.poll_transmit() {
                self.publisher.queue_transmit(t);
            }
            let _ = run
                .updates
                .try_send(PairingUpdate::Failed(PairingFailure::Stopped));
        }
        // Let the publisher send what is queued, briefly.
        self.publisher.stop().await;
        self.subscriptions.stop();
        self.storage.flush().await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
