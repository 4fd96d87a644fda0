//! Cutting off a lost computer: a manager unpairing an app of the asker's line, and an app's cut-offs waiting for managers that were away.

use super::Driver;
use crate::counterparty::Counterparty;
use crate::view::CutOffError;
use bytes::Bytes;
use nodepair_keystore::Role as StoredRole;
use nodepair_protocol::cut_off::{self, CUT_OFF_METHOD, CutOff, CutOffDone, Member};
use nodepair_protocol::hello::printable;
use nodepair_protocol::{PublicKey, Status};
use std::time::Instant;
use tokio::sync::oneshot;

impl Driver {
    /// An app asks us (a manager) to cut off another computer of its line.
    /// Answers the request `id` on `asker`'s link; the app cut off, whose
    /// link now has the revocation to send.
    pub(super) async fn on_cut_off(
        &mut self,
        asker: PublicKey,
        id: u64,
        body: Bytes,
    ) -> Option<PublicKey> {
        let (status, answer, target) = match self.cut_off_here(asker, &body).await {
            Ok((done, target)) => (
                Status::OK,
                serde_json::to_vec(&done).expect("an answer serializes"),
                Some(target),
            ),
            Err((status, why)) => (status, why.into_bytes(), None),
        };
        if let Some(c) = self.counterparties.get_mut(&asker) {
            let _ = c.link.respond(id, status, Bytes::from(answer));
        }
        target
    }

    async fn cut_off_here(
        &mut self,
        asker: PublicKey,
        body: &[u8],
    ) -> Result<(CutOffDone, PublicKey), (Status, String)> {
        let request: CutOff = serde_json::from_slice(body).map_err(|e| {
            (
                Status::BAD_REQUEST,
                format!("the cut-off is malformed ({e}); nothing changed"),
            )
        })?;
        let Some(by) = self.standing_for(asker) else {
            return Err((Status::FORBIDDEN, "not paired".into()));
        };
        if by.link.is_revoking() {
            return Err((Status::FORBIDDEN, "this app is being unpaired".into()));
        }
        let asking = member(by);
        let asker_name = printable(&by.record.display_name, 64);
        let members: Vec<Member<'_>> = self
            .counterparties
            .values()
            .filter(|c| {
                c.record.role == StoredRole::App && c.replaces.is_none() && !c.link.is_revoking()
            })
            .map(member)
            .collect();
        let target = cut_off::find(&asking, &members, &request.who).map_err(|e| {
            let status = match e {
                cut_off::CutOffError::NotFound(_) => Status::NOT_FOUND,
                _ => Status::BAD_REQUEST,
            };
            (status, format!("{e}; nothing changed"))
        })?;
        drop(members);
        let name = self
            .counterparties
            .get(&target)
            .map(|c| c.record.display_name.clone())
            .unwrap_or_default();
        // Told now if online (its answer comes later), else at its next
        // handshake; only a failure to record it is known at once.
        let (reply, mut told) = oneshot::channel();
        self.revoke(target, reply, self.now()).await;
        if let Ok(crate::Revocation::Failed(e)) = told.try_recv() {
            return Err((
                Status::INTERNAL,
                format!("the manager could not record the cut-off ({e}); try again"),
            ));
        }
        tracing::warn!(target: crate::event_log::TARGET, key = %target.fingerprint(), by = %asker.fingerprint(), "the app {asker_name} cut off the app {} (key {}) of its line: unpaired", printable(&name, 64), target.fingerprint());
        Ok((
            CutOffDone {
                public_key: target.to_string(),
                display_name: name,
            },
            target,
        ))
    }

    /// Keeps a cut-off for `manager` until it answers (it is asked each
    /// time its session comes up).
    pub(super) async fn queue_cut_off(
        &mut self,
        manager: PublicKey,
        who: String,
    ) -> Result<(), CutOffError> {
        let Some(c) = self.counterparties.get(&manager) else {
            return Err(CutOffError::NotPaired);
        };
        if c.record.cut_offs.contains(&who) {
            return Ok(());
        }
        let mut record = c.record.clone();
        record.cut_offs.push(who);
        self.storage
            .save(record.clone())
            .await
            .map_err(CutOffError::Storage)?;
        if let Some(c) = self.counterparties.get_mut(&manager) {
            c.record = record;
            // Online after all (it came up meanwhile): asked now.
            if c.link.is_online() {
                Self::send_cut_offs(self.config.clock.now(), c);
            }
        }
        Ok(())
    }

    /// Asks `counterparty` (a manager whose session just came up) for every
    /// cut-off it has not answered.
    pub(super) fn send_cut_offs(now: Instant, counterparty: &mut Counterparty) {
        let waiting: Vec<String> = counterparty.cut_offs_sent.values().cloned().collect();
        for who in counterparty.record.cut_offs.clone() {
            if waiting.contains(&who) {
                continue;
            }
            let body = serde_json::to_vec(&CutOff { who: who.clone() }).expect("serializes");
            if let Ok(id) =
                counterparty
                    .link
                    .request_protocol(now, CUT_OFF_METHOD, Bytes::from(body))
            {
                counterparty.cut_offs_sent.insert(id, who);
            }
        }
    }

    /// A manager answered a cut-off it had waiting: done unless it could not
    /// act now (then asked again at the next session).
    pub(super) async fn cut_off_answered(
        &mut self,
        manager: PublicKey,
        who: String,
        status: Status,
        body: &[u8],
    ) {
        if status == Status::RATE_LIMITED || status.0 >= 500 {
            return;
        }
        let Some(c) = self.counterparties.get(&manager) else {
            return;
        };
        let said = printable(&String::from_utf8_lossy(body), 200);
        let manager_name = printable(c.view().name(), 64);
        if status == Status::OK {
            tracing::warn!(target: crate::event_log::TARGET, key = %manager.fingerprint(), "{manager_name} cut off {}, as asked while it was away", printable(&who, 64));
        } else {
            tracing::warn!(target: crate::event_log::TARGET, key = %manager.fingerprint(), status = status.0, "{manager_name} did not cut off {}: {said}", printable(&who, 64));
        }
        let mut record = c.record.clone();
        record.cut_offs.retain(|w| *w != who);
        if let Err(e) = self.storage.save(record.clone()).await {
            tracing::error!("cannot record that a cut-off was answered: {e}");
            return;
        }
        if let Some(c) = self.counterparties.get_mut(&manager) {
            c.record = record;
        }
    }
}

/// `c` as the protocol's rule sees it.
fn member(c: &Counterparty) -> Member<'_> {
    Member {
        public_key: PublicKey(c.record.public_key),
        display_name: c.record.display_name.as_str(),
        root: PublicKey(c.record.introduced_by.unwrap_or(c.record.public_key)),
    }
}
