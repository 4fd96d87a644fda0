//! Our key rotation (a new static key, each counterparty told and moved, then the old key retired), and counterparties moving to keys of their own.
//!
//! Rotating (this side, R): the next key is stored beside the current one
//! before anything is sent. Each counterparty is told over its session
//! (`Link::move_to`); once it answers, its record says it knows the next
//! key (stored first), and its link is made again under that key on the
//! pair's new topic. When every counterparty has moved, or the grace period
//! has passed, the next key becomes the static key and the old one is
//! forgotten. A crash anywhere in between leaves the keystore saying which
//! counterparties moved, and the rotation goes on from there at the next
//! start.
//!
//! Moved (the counterparty, C): an announcement that checks is stored as
//! the key it moves to (`moving_to`) before it is answered, and a second
//! link under the new key waits beside the old one. When a session comes up
//! under the new key, a record under the new key is written, the old one
//! deleted, and the old link dropped: the old key opens nothing from then
//! on. A crash between the two writes is finished at the next start.

use super::Driver;
use crate::counterparty::Counterparty;
use crate::request::RequestError;
use crate::view::{CounterpartyView, PeerEvent, RotateError, RotationView};
use nodepair_keystore::{Counterparty as Stored, CounterpartyState};
use nodepair_protocol::{PublicKey, StaticKeypair};

impl Driver {
    /// Our key `record`'s counterparty knows: the next one once it moved.
    pub(super) fn own_for(&self, record: &Stored) -> StaticKeypair {
        match (&self.next, record.our_key) {
            (Some(next), Some(known)) if *next.public().as_bytes() == known => next.clone(),
            _ => self.own.clone(),
        }
    }

    /// Starts with the stored counterparties: finishes a key move a crash
    /// interrupted, waits for those moving to a new key under it too, and
    /// goes on with our own rotation if one was under way.
    pub(crate) async fn load(&mut self, stored: Vec<Stored>) {
        let keys: Vec<[u8; 32]> = stored.iter().map(|r| r.public_key).collect();
        for record in stored {
            let old = PublicKey(record.public_key);
            match record.moving_to {
                // Its record under the new key was written, this one not
                // yet deleted: the move is done.
                Some(new) if keys.contains(&new) => {
                    if let Err(e) = self.storage.delete(old).await {
                        tracing::warn!(peer = %old.fingerprint(), "cannot delete the record of a key that moved: {e}");
                    }
                }
                Some(new) if record.state == CounterpartyState::Active => {
                    self.add_stored(record.clone()).await;
                    self.add_link(moved_record(&record, new), Some(old)).await;
                }
                _ => self.add_stored(record).await,
            }
        }
        // Those not moved to our next key were told again as their links
        // were made (`add_link`).
        if self.next.is_some() {
            self.finish_rotation_if_done().await;
        }
    }

    /// Begins a rotation: the next key stored, every counterparty told.
    pub(super) async fn rotate(&mut self) -> Result<RotationView, RotateError> {
        if let Some(view) = self.rotation_view() {
            return Err(RotateError::UnderWay(Box::new(view)));
        }
        let (identity, now_unix) = (self.identity.clone(), self.config.clock.unix_secs());
        let rotating = self
            .storage
            .run(move |keystore| {
                identity
                    .begin_rotation(keystore, now_unix)
                    .map_err(|e| e.to_string())
            })
            .await
            .map_err(RotateError::Storage)?;
        let next = StaticKeypair::from_secret(
            **rotating
                .next_static_secret
                .as_ref()
                .expect("a rotation has a next key"),
        );
        crate::crash_point::here("rotation-stored");
        self.identity = rotating;
        self.next = Some(next.clone());
        self.publish_keys();
        crate::event_log::rotation_started(&self.own.public(), &next.public());
        let now = self.now();
        for counterparty in self.counterparties.values_mut() {
            if counterparty.replaces.is_none() && !counterparty.link.is_revoking() {
                let _ = counterparty.link.move_to(now, &next);
            }
        }
        // Nobody to tell: done at once. (The announcements go out with the
        // loop's next flush.)
        self.finish_rotation_if_done().await;
        Ok(self
            .rotation_view()
            .unwrap_or_else(|| self.finished_view(&next)))
    }

    /// Where our rotation stands.
    pub(super) fn rotation_view(&self) -> Option<RotationView> {
        let next = self.next.as_ref()?;
        let started_at = self.identity.rotation_started_at.unwrap_or_default();
        let mut counterparties: Vec<(CounterpartyView, bool)> = self
            .counterparties
            .values()
            .filter(|c| c.replaces.is_none() && !c.link.is_revoking())
            .map(|c| {
                (
                    c.view(),
                    c.record.our_key == Some(*next.public().as_bytes()),
                )
            })
            .collect();
        counterparties.sort_by(|a, b| a.0.name().cmp(b.0.name()));
        Some(RotationView {
            old_key: self.own.public(),
            new_key: next.public(),
            started_at,
            grace_ends_at: started_at.saturating_add(self.config.rotation_grace.as_secs()),
            counterparties,
            finished: false,
        })
    }

    /// A rotation that is over: everyone on `next`, the old key gone.
    fn finished_view(&self, next: &StaticKeypair) -> RotationView {
        let now = self.config.clock.unix_secs();
        RotationView {
            old_key: next.public(),
            new_key: next.public(),
            started_at: now,
            grace_ends_at: now,
            counterparties: Vec::new(),
            finished: true,
        }
    }

    /// Tells the handles our keys: the current one, and the one pairings
    /// use.
    fn publish_keys(&self) {
        let mut keys = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.public = self.own.public();
        keys.pairing.keypair = self.next.clone().unwrap_or_else(|| self.own.clone());
    }

    /// `peer` stored our next key: its record says so (written first), and
    /// its link is made again under that key.
    pub(super) async fn on_moved(&mut self, peer: PublicKey) {
        let Some(next) = self.next.clone() else {
            return;
        };
        let Some(counterparty) = self.counterparties.get(&peer) else {
            return;
        };
        let mut record = counterparty.record.clone();
        record.our_key = Some(*next.public().as_bytes());
        if let Err(e) = self.storage.save(record.clone()).await {
            // It keeps our old key until we ask again (at its next
            // session): no record may say less than it knows.
            tracing::error!(peer = %peer.fingerprint(), "cannot record that a counterparty moved to our new key: {e}");
            if let Some(counterparty) = self.counterparties.get_mut(&peer) {
                let _ = counterparty.link.move_to(self.config.clock.now(), &next);
            }
            return;
        }
        let view = self.relink(peer, record, None).await;
        crate::event_log::moved_to_ours(&view);
        self.finish_rotation_if_done().await;
    }

    /// Replaces `peer`'s link by one for `record` under the key of ours it
    /// knows; what waited on the old one is told it closed. `replaces` as
    /// for [`Driver::add_link`].
    async fn relink(
        &mut self,
        peer: PublicKey,
        record: Stored,
        replaces: Option<PublicKey>,
    ) -> CounterpartyView {
        self.drop_link(peer, "the session moved to a new key; ask again");
        let key = PublicKey(record.public_key);
        let fallback = CounterpartyView::at_rest(&record);
        self.add_link(record, replaces).await;
        let view = self
            .counterparties
            .get(&key)
            .map_or(fallback, Counterparty::view);
        let _ = self.events.send(PeerEvent::Changed(view.clone()));
        view
    }

    /// Drops the links waiting under keys `old`'s counterparty announced
    /// (it is being unpaired, or one of them replaced it).
    pub(super) fn drop_pending_for(&mut self, old: PublicKey, except: Option<PublicKey>) {
        let pending: Vec<PublicKey> = self
            .counterparties
            .iter()
            .filter(|(k, c)| c.replaces == Some(old) && Some(**k) != except)
            .map(|(k, _)| *k)
            .collect();
        for key in pending {
            self.drop_link(key, "the counterparty is not paired under that key");
        }
    }

    /// Drops `peer`'s link and topic (not its record); what waited on it is
    /// told `why`.
    fn drop_link(&mut self, peer: PublicKey, why: &str) {
        let Some(mut old) = self.counterparties.remove(&peer) else {
            return;
        };
        self.retired.add(&old.link.stats());
        self.subscriptions.unsubscribe(&old.topic);
        for (_, waiting) in old.waiting.drain() {
            let _ = waiting.send(Err(RequestError::Send(why.to_owned())));
        }
    }

    /// Retires the old key once every counterparty moved, or once the
    /// grace period is over (those that did not move then are cut off: they
    /// must be paired again).
    pub(super) async fn finish_rotation_if_done(&mut self) {
        let Some(next) = self.next.clone() else {
            return;
        };
        let ours = *next.public().as_bytes();
        let waiting: Vec<PublicKey> = self
            .counterparties
            .iter()
            .filter(|(_, c)| c.replaces.is_none() && c.record.our_key != Some(ours))
            .map(|(k, _)| *k)
            .collect();
        let pending = waiting
            .iter()
            .filter(|k| !self.counterparties[*k].link.is_revoking())
            .count();
        // A pairing under the old key would be left with a key we no
        // longer hold: the old key stays until it is done.
        if self.pairings.values().any(|run| run.pairing.is_under_way()) {
            return;
        }
        let started = self.identity.rotation_started_at.unwrap_or_default();
        let now = self.config.clock.unix_secs();
        if !nodepair_protocol::key_move::retire_due(
            pending,
            started,
            now,
            self.config.rotation_grace,
        ) {
            return;
        }
        crate::crash_point::here("rotation-retiring");
        let identity = self.identity.clone();
        let done = match self
            .storage
            .run(move |keystore| {
                identity
                    .finish_rotation(keystore)
                    .map_err(|e| e.to_string())
            })
            .await
        {
            Ok(done) => done,
            Err(e) => {
                tracing::error!("cannot retire the old key; the rotation stays under way: {e}");
                return;
            }
        };
        self.identity = done;
        self.own = next;
        self.next = None;
        self.publish_keys();
        // Those still on the old key: their links go under the new one,
        // which they do not know.
        for peer in &waiting {
            let Some(counterparty) = self.counterparties.get(peer) else {
                continue;
            };
            let record = counterparty.record.clone();
            if !counterparty.link.is_revoking() {
                crate::event_log::not_moved(&counterparty.view());
            }
            self.relink(*peer, record, None).await;
        }
        crate::event_log::rotation_finished(&self.own.public(), pending);
    }

    /// `peer` announced its new key `new` with a proof that checks: stored
    /// first, then answered; a link under the new key waits beside.
    pub(super) async fn on_move_announced(&mut self, peer: PublicKey, id: u64, new: PublicKey) {
        let Some(counterparty) = self.counterparties.get(&peer) else {
            return;
        };
        if counterparty.link.is_revoking() || counterparty.replaces.is_some() {
            return;
        }
        if self
            .counterparties
            .get(&new)
            .is_some_and(|other| other.replaces != Some(peer))
        {
            tracing::warn!(peer = %peer.fingerprint(), new = %new.fingerprint(), "a counterparty announced a key another counterparty has; not answered");
            return;
        }
        if counterparty.record.moving_to != Some(*new.as_bytes()) {
            let mut record = counterparty.record.clone();
            record.moving_to = Some(*new.as_bytes());
            if let Err(e) = self.storage.save(record.clone()).await {
                tracing::error!(peer = %peer.fingerprint(), "cannot store a counterparty's new key: {e}");
                if let Some(counterparty) = self.counterparties.get_mut(&peer) {
                    counterparty
                        .link
                        .defer_move(id, "the new key could not be stored; ask again later");
                }
                return;
            }
            // Only the newest announcement waits: an earlier one's link goes.
            self.drop_pending_for(peer, None);
            if let Some(counterparty) = self.counterparties.get_mut(&peer) {
                counterparty.record.moving_to = record.moving_to;
            }
        }
        let Some(counterparty) = self.counterparties.get_mut(&peer) else {
            return;
        };
        counterparty.link.confirm_move(id);
        let record = moved_record(&counterparty.record, *new.as_bytes());
        crate::event_log::announced_move(&counterparty.view(), &new);
        if !self.counterparties.contains_key(&new) {
            self.add_link(record, Some(peer)).await;
        }
    }

    /// The link under a counterparty's new key is up: the record under
    /// the new key is written, the old one deleted, the old link dropped.
    pub(super) async fn promote(&mut self, new: PublicKey) {
        let Some(counterparty) = self.counterparties.get(&new) else {
            return;
        };
        let Some(old) = counterparty.replaces else {
            return;
        };
        // It replaces its old record as that one is now (a name, a grant
        // changed meanwhile go with it); one being unpaired, or gone, is
        // replaced by nothing.
        let Some(previous) = self
            .counterparties
            .get(&old)
            .filter(|c| !c.link.is_revoking())
        else {
            self.drop_link(new, "the counterparty is not paired any more");
            return;
        };
        let record = Stored {
            last_seen: counterparty.record.last_seen.max(previous.record.last_seen),
            ..moved_record(&previous.record, counterparty.record.public_key)
        };
        if let Err(e) = self.storage.save(record.clone()).await {
            tracing::error!(peer = %old.fingerprint(), "cannot store a counterparty under its new key; tried again at its next session: {e}");
            return;
        }
        if let Err(e) = self.storage.delete(old).await {
            // Finished at the next start: the record under the new key
            // says where it moved.
            tracing::warn!(peer = %old.fingerprint(), "cannot delete the record of a key that moved: {e}");
        }
        self.drop_link(old, "the counterparty moved to a new key; ask again");
        self.drop_pending_for(old, Some(new));
        let Some(counterparty) = self.counterparties.get_mut(&new) else {
            return;
        };
        counterparty.record = record;
        counterparty.replaces = None;
        // What it may use, as its record says now.
        Self::announce_to(&self.config, counterparty, self.config.clock.now());
        let view = counterparty.view();
        self.follow_line(old, new).await;
        crate::event_log::moved_here(&view, &old);
        let _ = self.events.send(PeerEvent::Moved {
            from: old,
            to: view.clone(),
        });
        let _ = self.events.send(PeerEvent::Changed(view));
    }
}

impl Driver {
    /// Apps introduced under a line that started from `old` now start from
    /// `new` (the first app of their line moved to a new key): cut-offs
    /// between them go on working. One that cannot be written now keeps
    /// the old key until the next move.
    async fn follow_line(&mut self, old: PublicKey, new: PublicKey) {
        let children: Vec<PublicKey> = self
            .counterparties
            .iter()
            .filter(|(_, c)| c.record.introduced_by == Some(*old.as_bytes()))
            .map(|(k, _)| *k)
            .collect();
        for child in children {
            let Some(c) = self.counterparties.get(&child) else {
                continue;
            };
            let mut record = c.record.clone();
            record.introduced_by = Some(*new.as_bytes());
            if let Err(e) = self.storage.save(record.clone()).await {
                tracing::warn!(peer = %child.fingerprint(), "cannot record that its line's first app moved: {e}");
                continue;
            }
            if let Some(c) = self.counterparties.get_mut(&child) {
                c.record = record;
            }
        }
    }
}

/// `record` as it reads once its counterparty moved to `new`.
fn moved_record(record: &Stored, new: [u8; 32]) -> Stored {
    Stored {
        public_key: new,
        moving_to: None,
        ..record.clone()
    }
}

/// Only the keystore's identity is written by rotations: for tests of the
/// records' shape.
#[cfg(test)]
mod tests {
    use super::moved_record;
    use nodepair_keystore::{Counterparty as Stored, CounterpartyState, Role};

    #[test]
    fn a_moved_record_keeps_everything_but_its_key() {
        let record = Stored {
            public_key: [1; 32],
            node_id: [2; 16],
            display_name: "validator-1".into(),
            role: Role::NodeManager,
            paired_at: 1_790_000_000,
            last_seen: Some(1_790_000_100),
            state: CounterpartyState::Active,
            capabilities: vec!["info".into()],
            local_name: Some("cellar".into()),
            grants: Some(vec!["host".into()]),
            our_key: None,
            moving_to: Some([3; 32]),
            introduced_by: Some([4; 32]),
            cut_offs: vec!["laptop".into()],
        };
        let moved = moved_record(&record, [3; 32]);
        assert_eq!(moved.public_key, [3; 32]);
        assert_eq!(moved.moving_to, None);
        assert_eq!(
            (moved.local_name, moved.grants, moved.node_id),
            (record.local_name, record.grants, record.node_id)
        );
        assert_eq!(
            (moved.introduced_by, moved.cut_offs),
            (record.introduced_by, record.cut_offs),
            "a moved app stays in its line, and cut-offs still wait"
        );
    }
}
