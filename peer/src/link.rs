//! One paired counterparty while the runtime runs: its record, session and state.

use crate::view::CounterpartyView;
use nodepair_keystore::{Counterparty as Stored, CounterpartyState};
use nodepair_protocol::peer_limits::{CounterpartyLimits, UpdateRefused};
use nodepair_protocol::recent_requests::RecentRequests;
use nodepair_protocol::{NodeState, PublicKey, Session};
use std::time::{Duration, Instant};

pub(crate) struct Link {
    /// As stored; `last_seen` here may be newer than the keystore's.
    pub(crate) record: Stored,
    pub(crate) session: Session,
    /// The per-pair session content topic.
    pub(crate) topic: String,
    pub(crate) state: NodeState,
    pub(crate) latency: Option<Duration>,
    /// When `last_seen` was last written to the keystore.
    pub(crate) persisted_seen_at: Option<Instant>,
    /// The last sequence number sent on each of our event streams to it.
    pub(crate) stream_seq: std::collections::HashMap<String, u64>,
    /// How many times session keys were confirmed with it (a request sent
    /// under older keys is sent again under the new ones).
    pub(crate) keys_epoch: u64,
    /// Its request ids we acted on lately.
    pub(crate) recent_requests: RecentRequests,
    /// What it may ask of us: requests at once and per second, state
    /// updates.
    pub(crate) limits: CounterpartyLimits,
    /// When a refused state update was last logged (at most once a minute).
    pub(crate) refusal_logged_at: Option<Instant>,
}

impl Link {
    /// A state update from it was refused or dropped: logged at most once
    /// a minute, whatever it sends.
    pub(crate) fn note_refused_update(&mut self, why: &UpdateRefused) {
        let now = Instant::now();
        if self
            .refusal_logged_at
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(60))
        {
            self.refusal_logged_at = Some(now);
            tracing::warn!(
                peer = %PublicKey(self.record.public_key).fingerprint(),
                refused = self.limits.refused(),
                "{why}"
            );
        }
    }

    /// Revoked here while it was away: we only connect to tell it.
    pub(crate) fn revoke_pending(&self) -> bool {
        self.record.state == CounterpartyState::Revoked
    }

    pub(crate) fn view(&self) -> CounterpartyView {
        let state = if self.revoke_pending() {
            NodeState::Revoked
        } else {
            self.state
        };
        let mut view = CounterpartyView::from_stored(&self.record, state);
        view.latency = self.latency;
        view
    }

    /// Moves to `next` if the life cycle allows it (an offline peer that
    /// comes back passes through `Connecting`); returns whether it changed.
    pub(crate) fn set_state(&mut self, next: NodeState) -> bool {
        if self.state == next {
            return false;
        }
        if self.state.can_become(next) {
            self.state = next;
            return true;
        }
        if self.state.can_become(NodeState::Connecting) && NodeState::Connecting.can_become(next) {
            self.state = next;
            return true;
        }
        false
    }
}
