//! One paired counterparty at run time: its record, its link, and who waits on it.

use crate::Revocation;
use crate::request::{Reply, RequestError};
use crate::view::CounterpartyView;
use nodepair_keystore::Counterparty as Stored;
use nodepair_protocol::Link;
use nodepair_protocol::link::RequestId;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

pub(crate) struct Counterparty {
    /// As stored; `last_seen` here may be newer than the keystore's.
    pub(crate) record: Stored,
    /// The protocol's side of it: session, requests, revocation, state.
    pub(crate) link: Link,
    /// The per-pair session content topic.
    pub(crate) topic: String,
    /// When `last_seen` was last written to the keystore.
    pub(crate) persisted_seen_at: Option<Instant>,
    /// The program's requests waiting for their answers.
    pub(crate) waiting: HashMap<RequestId, oneshot::Sender<Result<Reply, RequestError>>>,
    /// Programs waiting to hear whether our revocation was told.
    pub(crate) revocation: Vec<oneshot::Sender<Revocation>>,
    /// Whether its session was last reported up (the event log's
    /// "online" and "went offline" lines).
    pub(crate) was_online: bool,
    /// A link under the key this counterparty announced it moves to: it
    /// replaces the one under `replaces` (its old key) once a session is up
    /// under the new one. Not shown until then.
    pub(crate) replaces: Option<nodepair_protocol::PublicKey>,
    /// Cut-offs sent to it (a manager), by request, until answered.
    pub(crate) cut_offs_sent: HashMap<RequestId, String>,
    /// Which link this is of the driver's (answers go to the link that
    /// served them, not to one made since).
    pub(crate) generation: u64,
}

impl Counterparty {
    pub(crate) fn new(record: Stored, link: Link, topic: String, now: Instant) -> Self {
        let was_online = link.state() == nodepair_protocol::NodeState::Online;
        Counterparty {
            record,
            link,
            topic,
            persisted_seen_at: Some(now),
            was_online,
            waiting: HashMap::new(),
            revocation: Vec::new(),
            replaces: None,
            cut_offs_sent: HashMap::new(),
            generation: 0,
        }
    }

    pub(crate) fn view(&self) -> CounterpartyView {
        let mut view = CounterpartyView::from_stored(&self.record, self.link.state());
        view.latency = self.link.latency();
        view.key_changes = self.link.keys_epoch();
        view
    }

    /// The record to write when its last-seen time changed and was last
    /// written at least `every` ago.
    pub(crate) fn last_seen_due(&mut self, now: Instant, every: Duration) -> Option<Stored> {
        let due = self
            .persisted_seen_at
            .is_none_or(|at| now.duration_since(at) >= every);
        if !due || self.record.last_seen.is_none() {
            return None;
        }
        self.persisted_seen_at = Some(now);
        Some(self.record.clone())
    }

    /// Tells those waiting on our revocation how it went.
    pub(crate) fn revocation_told(&mut self, how: &Revocation) {
        for waiting in self.revocation.drain(..) {
            let _ = waiting.send(how.clone());
        }
    }
}
