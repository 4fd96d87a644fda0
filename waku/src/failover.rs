//! Which service node a light node asks next: one that failed waits, longer each time it fails again, but a node is never left with none.
//!
//! A light node depends on service nodes for everything (light push out,
//! filter pushes in, store queries). When one does not answer it is passed
//! over for a while so the next request goes elsewhere; but when it is the
//! only service node there is, passing over it means publishing nothing and
//! hearing nothing. So the wait starts short (1 s) and doubles per failure
//! in a row up to 30 s, an answer forgets the failures, and
//! [`Failover::order`] still offers a waiting node last rather than none.
//! Sans-IO: time is an argument.

use libp2p::PeerId;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// The wait after a first failure.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait, reached after six failures in a row.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug)]
struct Failed {
    until: Instant,
    in_a_row: u32,
}

/// The service nodes that failed lately, and until when each waits.
#[derive(Debug, Default)]
pub struct Failover {
    failed: HashMap<PeerId, Failed>,
}

impl Failover {
    /// `peer` did not answer, or dropped us: it waits, twice as long as the
    /// last time if it failed then too.
    pub fn failed(&mut self, peer: PeerId, now: Instant) {
        let in_a_row = self.failed.get(&peer).map_or(1, |f| f.in_a_row + 1);
        let wait = FIRST_WAIT
            .saturating_mul(1 << (in_a_row - 1).min(16))
            .min(MAX_WAIT);
        self.failed.insert(
            peer,
            Failed {
                until: now + wait,
                in_a_row,
            },
        );
    }

    /// `peer` answered: its failures are forgotten.
    pub fn answered(&mut self, peer: &PeerId) {
        self.failed.remove(peer);
    }

    /// Whether `peer` is waiting after a failure at `now`.
    pub fn waiting(&self, peer: &PeerId, now: Instant) -> bool {
        self.failed.get(peer).is_some_and(|f| f.until > now)
    }

    /// `candidates` (in the caller's order of preference) with those that
    /// are not waiting first, then the waiting ones, soonest ready first:
    /// a request goes to a node that may answer before one that just did
    /// not, and to that one rather than nowhere.
    pub fn order(&self, candidates: Vec<PeerId>, now: Instant) -> Vec<PeerId> {
        let (mut waiting, mut ready): (Vec<PeerId>, Vec<PeerId>) = candidates
            .into_iter()
            .partition(|peer| self.waiting(peer, now));
        waiting.sort_by_key(|peer| self.failed.get(peer).map(|f| f.until));
        ready.append(&mut waiting);
        ready
    }

    /// Forgets failures long past (a node that failed once an hour ago
    /// starts again from the short wait); call now and then.
    pub fn expire(&mut self, now: Instant) {
        self.failed
            .retain(|_, f| now.saturating_duration_since(f.until) < MAX_WAIT * 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(n: usize) -> Vec<PeerId> {
        (0..n).map(|_| PeerId::random()).collect()
    }

    #[test]
    fn the_only_node_waits_a_second_then_twice_as_long_up_to_thirty() {
        let t0 = Instant::now();
        let [a] = peers(1).try_into().unwrap();
        let mut f = Failover::default();
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..8 {
            f.failed(a, now);
            let mut wait = Duration::ZERO;
            while f.waiting(&a, now + wait) {
                wait += Duration::from_millis(250);
            }
            waits.push(wait.as_secs_f64());
            now += wait;
        }
        assert_eq!(waits, [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]);
        // Still offered while it waits: better than publishing nowhere.
        f.failed(a, now);
        assert_eq!(f.order(vec![a], now), [a]);
        // An answer forgets the failures: the next one waits a second again.
        f.answered(&a);
        assert!(!f.waiting(&a, now));
        f.failed(a, now);
        assert!(!f.waiting(&a, now + FIRST_WAIT));
    }

    #[test]
    fn a_node_that_failed_goes_after_the_others_and_the_callers_order_holds() {
        let now = Instant::now();
        let [a, b, c, d] = peers(4).try_into().unwrap();
        let mut f = Failover::default();
        f.failed(a, now);
        f.failed(c, now);
        f.failed(c, now); // waits longer than a
        assert_eq!(f.order(vec![a, b, c, d], now), [b, d, a, c]);
        // Once a's wait is over it is back in its place.
        let later = now + Duration::from_millis(1500);
        assert_eq!(f.order(vec![a, b, c, d], later), [a, b, d, c]);
    }

    #[test]
    fn old_failures_are_forgotten() {
        let now = Instant::now();
        let [a] = peers(1).try_into().unwrap();
        let mut f = Failover::default();
        for _ in 0..6 {
            f.failed(a, now);
        }
        f.expire(now + MAX_WAIT);
        assert!(
            f.waiting(&a, now + Duration::from_secs(29)),
            "kept while it waits"
        );
        f.expire(now + MAX_WAIT * 4);
        f.failed(a, now + MAX_WAIT * 4);
        assert!(
            !f.waiting(&a, now + MAX_WAIT * 4 + FIRST_WAIT),
            "starts again from the short wait"
        );
    }
}
