//! Our requests still waiting for an answer: ids, deadlines, re-sending.

use crate::frame::{REVOKE_METHOD, Request};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::time::Instant;

/// The id of a request we sent, unique on its link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// What is waiting for an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Asked {
    /// A program's request.
    Program,
    /// Our revocation.
    Revocation,
    /// Our announcement of a new key.
    KeyMove,
}

struct Waiting {
    request: Request,
    asked: Asked,
    deadline: Instant,
    /// The keys epoch it last went out under.
    sent_under: u64,
}

/// Requests in flight on one link.
pub(crate) struct Outstanding {
    next_id: u64,
    waiting: BTreeMap<u64, Waiting>,
}

impl Outstanding {
    /// Ids start at `first`, drawn at random so a restarted program does
    /// not repeat ids its counterparty still remembers (`RecentRequests`).
    pub(crate) fn new(first: u64) -> Self {
        Outstanding {
            next_id: first,
            waiting: BTreeMap::new(),
        }
    }

    /// A new request of ours, waiting until `deadline`; `sent_under` is the
    /// keys epoch it goes out under.
    pub(crate) fn open(
        &mut self,
        method: String,
        body: Bytes,
        asked: Asked,
        deadline: Instant,
        sent_under: u64,
    ) -> Request {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let request = Request { id, method, body };
        self.waiting.insert(
            id,
            Waiting {
                request: request.clone(),
                asked,
                deadline,
                sent_under,
            },
        );
        request
    }

    /// The answer to `id` came: what asked it, if anyone still waits.
    pub(crate) fn answered(&mut self, id: u64) -> Option<Asked> {
        self.waiting.remove(&id).map(|w| w.asked)
    }

    /// Gives up on `id` (it could not be sent).
    pub(crate) fn abandon(&mut self, id: u64) {
        self.waiting.remove(&id);
    }

    /// Those whose deadline passed, in id order; they wait no more.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<(RequestId, Asked)> {
        let due: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        due.into_iter()
            .filter_map(|id| self.waiting.remove(&id).map(|w| (RequestId(id), w.asked)))
            .collect()
    }

    /// Every one, in id order; none waits any more.
    pub(crate) fn drain(&mut self) -> Vec<(RequestId, Asked)> {
        std::mem::take(&mut self.waiting)
            .into_iter()
            .map(|(id, w)| (RequestId(id), w.asked))
            .collect()
    }

    /// The programs' requests sent under keys older than `epoch`, marked as
    /// sent under it: the caller sends them again. (Revocations have their
    /// own re-sending.)
    pub(crate) fn older_than(&mut self, epoch: u64) -> Vec<Request> {
        self.waiting
            .values_mut()
            .filter(|w| w.asked == Asked::Program && w.sent_under < epoch)
            .map(|w| {
                w.sent_under = epoch;
                w.request.clone()
            })
            .collect()
    }

    /// Whether our revocation is waiting for its answer.
    pub(crate) fn revocation_in_flight(&self) -> bool {
        self.waiting
            .values()
            .any(|w| w.request.method == REVOKE_METHOD)
    }

    /// Whether our key move is waiting for its answer.
    pub(crate) fn key_move_in_flight(&self) -> bool {
        self.waiting.values().any(|w| w.asked == Asked::KeyMove)
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.waiting.values().map(|w| w.deadline).min()
    }

    /// How many wait.
    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::disallowed_methods)]
    use super::*;
    use std::time::Duration;

    #[test]
    fn ids_follow_each_other_and_wrap() {
        let now = Instant::now();
        let mut o = Outstanding::new(u64::MAX);
        let a = o.open("a".into(), Bytes::new(), Asked::Program, now, 0);
        let b = o.open("b".into(), Bytes::new(), Asked::Program, now, 0);
        assert_eq!((a.id, b.id), (u64::MAX, 0));
    }

    #[test]
    fn only_requests_under_older_keys_go_again_and_only_once_per_epoch() {
        let now = Instant::now();
        let later = now + Duration::from_secs(10);
        let mut o = Outstanding::new(7);
        o.open("old".into(), Bytes::new(), Asked::Program, later, 1);
        o.open("queued".into(), Bytes::new(), Asked::Program, later, 2);
        o.open(
            REVOKE_METHOD.into(),
            Bytes::new(),
            Asked::Revocation,
            later,
            1,
        );
        let again: Vec<String> = o.older_than(2).into_iter().map(|r| r.method).collect();
        assert_eq!(again, ["old"]);
        assert!(o.older_than(2).is_empty(), "once per epoch");
        assert_eq!(o.older_than(3).len(), 2);
        assert!(o.revocation_in_flight());
    }

    #[test]
    fn expiry_takes_only_what_is_due() {
        let now = Instant::now();
        let mut o = Outstanding::new(0);
        o.open("soon".into(), Bytes::new(), Asked::Program, now, 0);
        o.open(
            "later".into(),
            Bytes::new(),
            Asked::Program,
            now + Duration::from_secs(1),
            0,
        );
        assert_eq!(o.expire(now), [(RequestId(0), Asked::Program)]);
        assert_eq!(o.len(), 1);
        assert_eq!(o.next_deadline(), Some(now + Duration::from_secs(1)));
        assert_eq!(o.answered(1), Some(Asked::Program));
        assert_eq!(o.answered(1), None, "answered once");
    }
}
