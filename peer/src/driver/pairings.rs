//! Pairings under way, and what a finished one becomes.

use super::{Driver, random_seed};
use crate::counterparty::Counterparty;
use crate::pairing_handle::{PairingFailure, PairingUpdate};
use crate::subscriptions::Route;
use crate::view::PeerEvent;
use nodepair_keystore::{Counterparty as Stored, CounterpartyState};
use nodepair_protocol::hello::Role;
use nodepair_protocol::pairing::Paired;
use nodepair_protocol::{Link, Pairing, PairingError, PairingEvent, PublicKey, StaticKeypair};
use tokio::sync::mpsc;

pub(super) struct PairingRun {
    pub(super) pairing: Box<Pairing>,
    pub(super) updates: mpsc::Sender<PairingUpdate>,
    /// Whether the program was told that no Waku peer is connected.
    told_offline: bool,
    /// Who it paired with and stored, while it still watches the pairing
    /// topic: taken back if the code turns out to have leaked.
    pub(super) paired_with: Option<PublicKey>,
    /// What the counterparty is granted once paired (`None`: everything).
    grants: Option<Vec<String>>,
    /// Our key it pairs under.
    pub(super) ours: StaticKeypair,
    /// Adding a computer (`Some(joining)`: whether we are the new
    /// computer): its session is kept only for the handoff, never stored.
    pub(super) introduction: Option<bool>,
}

impl PairingRun {
    pub(super) fn tell(&self, update: PairingUpdate) {
        let _ = self.updates.try_send(update);
    }
}

impl Driver {
    pub(super) async fn start_pairing(
        &mut self,
        id: u64,
        pairing: Box<Pairing>,
        (grants, ours, introduction): (Option<Vec<String>>, StaticKeypair, Option<bool>),
        updates: mpsc::Sender<PairingUpdate>,
    ) {
        let topic = pairing.pairing_topic();
        let offline = self.reach.waku_peers == 0;
        let first = if offline {
            PairingUpdate::ConnectingToNetwork
        } else {
            PairingUpdate::Step(pairing.step())
        };
        let run = PairingRun {
            pairing,
            updates,
            told_offline: offline,
            paired_with: None,
            grants,
            ours,
            introduction,
        };
        run.tell(first);
        self.pairings.insert(id, run);
        self.subscriptions
            .subscribe(&topic, Route::Pairing(id))
            .await;
    }

    /// A Waku peer is connected: pairings that said they wait for the
    /// network say where they are again.
    pub(super) fn network_is_back(&mut self) {
        for run in self.pairings.values_mut() {
            if run.told_offline {
                run.told_offline = false;
                run.tell(PairingUpdate::Step(run.pairing.step()));
            }
        }
    }

    pub(super) async fn flush_pairings(&mut self) {
        let ids: Vec<u64> = self.pairings.keys().copied().collect();
        for id in ids {
            // Once the other side's key is known, its session topic is too.
            if let Some(topic) = self.pairings[&id]
                .pairing
                .session_topic()
                .map(str::to_owned)
                && self.subscriptions.route(&topic).is_none()
            {
                self.subscriptions
                    .subscribe(&topic, Route::Pairing(id))
                    .await;
            }
            while let Some(event) = self
                .pairings
                .get_mut(&id)
                .and_then(|r| r.pairing.poll_event())
            {
                let Some(run) = self.pairings.get(&id) else {
                    break;
                };
                match event {
                    PairingEvent::Progress(step) => run.tell(PairingUpdate::Step(step)),
                    PairingEvent::Compare(comparison) => run.tell(PairingUpdate::Compare {
                        counterparty: comparison.counterparty,
                        verification: comparison.verification,
                    }),
                    PairingEvent::Failed(error) => {
                        run.tell(PairingUpdate::Failed(PairingFailure::Protocol(error)));
                    }
                    PairingEvent::Paired(paired) if run.introduction.is_some() => {
                        self.on_met(id, *paired).await;
                    }
                    PairingEvent::Paired(paired) => self.on_paired(id, *paired).await,
                    PairingEvent::Withdrawn(error) => self.on_withdrawn(id, error).await,
                }
            }
            if let Some(run) = self.pairings.get_mut(&id) {
                while let Some(transmit) = run.pairing.poll_transmit() {
                    self.publisher.queue_transmit(transmit);
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
                // No second answer came while the code was watched: the
                // computers may go on.
                if run.introduction.is_some()
                    && let Some(peer) = run.paired_with
                {
                    self.introduction_ready(peer).await;
                }
                self.subscriptions.unsubscribe(&run.pairing.pairing_topic());
                if let Some(topic) = run.pairing.session_topic()
                    && matches!(self.subscriptions.route(topic), Some(Route::Pairing(_)))
                    && !self
                        .pairings
                        .values()
                        .any(|other| other.pairing.session_topic() == Some(topic))
                {
                    self.subscriptions.unsubscribe(topic);
                }
            }
        }
    }

    /// A pairing that completed is taken back: someone else answered the
    /// same code within the watch after the first answer (seen here, or by
    /// the other side, which said so). The counterparty is told if online
    /// and forgotten here at once. No tombstone: the other side may never
    /// have kept us (it saw the second answer first).
    async fn on_withdrawn(&mut self, id: u64, error: PairingError) {
        let Some(run) = self.pairings.get(&id) else {
            return;
        };
        let peer = run.paired_with;
        if run.introduction.is_some() {
            tracing::warn!("adding a computer is taken back: {error}; nothing was introduced");
        } else {
            tracing::warn!(
                "a pairing that had just completed is taken back: {error}; the counterparty is unpaired"
            );
        }
        run.tell(PairingUpdate::Failed(PairingFailure::Withdrawn(error)));
        let Some(peer) = peer else {
            return;
        };
        if run.introduction.is_some() {
            self.end_introduction(peer);
            return;
        }
        if let Some(counterparty) = self.counterparties.get_mut(&peer) {
            counterparty
                .link
                .withdraw("the pairing was taken back: someone else also answered its code");
            self.flush_counterparty(peer).await;
        }
        self.forget(peer, false).await;
    }

    async fn on_paired(&mut self, id: u64, paired: Paired) {
        let Paired {
            counterparty,
            verification,
            mut session,
            session_topic,
        } = paired;
        let Some(run) = self.pairings.get(&id) else {
            return;
        };
        let (updates, grants, ours) = (run.updates.clone(), run.grants.clone(), run.ours.clone());
        let peer = counterparty.static_key;
        if self
            .counterparties
            .get(&peer)
            .is_some_and(|c| !c.link.is_revoking())
        {
            let name = counterparty.display_name.clone();
            let _ = updates.try_send(PairingUpdate::Failed(PairingFailure::AlreadyPaired(name)));
            return;
        }
        let now_unix = self.config.clock.unix_secs();
        let record = Stored {
            public_key: *peer.as_bytes(),
            node_id: *counterparty.node_id.as_bytes(),
            display_name: counterparty.display_name,
            role: match counterparty.role {
                Role::App => nodepair_keystore::Role::App,
                Role::Manager => nodepair_keystore::Role::NodeManager,
            },
            paired_at: now_unix,
            last_seen: Some(now_unix),
            state: CounterpartyState::Active,
            capabilities: counterparty.capabilities,
            local_name: None,
            grants,
            // Paired under the key a rotation moves to: it has moved.
            our_key: self
                .next
                .as_ref()
                .filter(|next| next.public() == ours.public())
                .map(|next| *next.public().as_bytes()),
            moving_to: None,
            introduced_by: None,
            cut_offs: Vec::new(),
        };
        if let Err(e) = self.storage.save(record.clone()).await {
            tracing::error!("a pairing succeeded but could not be stored: {e}");
            // Take it back: the other side gives up now rather than when
            // the code expires (how, the pairing decides by role).
            if let Some(run) = self.pairings.get_mut(&id) {
                run.pairing.retract(&mut session);
            }
            let _ = updates.try_send(PairingUpdate::Failed(PairingFailure::Storage(e)));
            return;
        }
        if let Some(old) = self.counterparties.remove(&peer) {
            self.retired.add(&old.link.stats());
        }
        let mut link = Link::paired(self.config.link(), ours, session, random_seed());
        // Paired under our old key while a rotation is under way: told at
        // once.
        if let Some(next) = &self.next
            && record.our_key.is_none()
            && let Err(e) = link.move_to(self.now(), next)
        {
            tracing::warn!(peer = %peer.fingerprint(), "cannot announce our new key: {e}");
        }
        let counterparty = Counterparty::new(record, link, session_topic.clone(), self.now());
        self.subscriptions
            .subscribe(&session_topic, Route::Session(peer))
            .await;
        let view = counterparty.view();
        crate::event_log::paired(&view);
        self.counterparties.insert(peer, counterparty);
        if let Some(run) = self.pairings.get_mut(&id) {
            run.paired_with = Some(peer);
        }
        let _ = updates.try_send(PairingUpdate::Paired {
            counterparty: view.clone(),
            verification,
        });
        let _ = self.events.send(PeerEvent::Changed(view));
    }
}
