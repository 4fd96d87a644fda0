//! The request ids a side answered lately, so a request re-sent under new keys runs once.

use std::collections::{HashSet, VecDeque};

/// How many request ids a side remembers per counterparty.
pub const REMEMBERED: usize = 1024;

/// The last [`REMEMBERED`] request ids received from one counterparty.
///
/// A sender re-sends its unanswered requests once new session keys are
/// confirmed (its peer may have restarted and lost the old keys, and with
/// them the request). When the peer had not lost them, the request arrives
/// twice; [`first_time`](Self::first_time) says which copy to act on. Ids
/// start at a random point in each process, so a sender that restarted does
/// not repeat ids still remembered here.
#[derive(Clone, Debug, Default)]
pub struct RecentRequests {
    seen: HashSet<u64>,
    order: VecDeque<u64>,
}

impl RecentRequests {
    /// Records `id`; true if it was not among the last [`REMEMBERED`].
    pub fn first_time(&mut self, id: u64) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }

    /// How many ids are remembered now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_id_is_not_the_first_time() {
        let mut recent = RecentRequests::default();
        assert!(recent.first_time(7));
        assert!(recent.first_time(8));
        assert!(!recent.first_time(7));
        assert!(!recent.first_time(8));
        assert_eq!(recent.len(), 2);
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_is_forgotten_first() {
        let mut recent = RecentRequests::default();
        for id in 0..(REMEMBERED as u64 * 3) {
            assert!(recent.first_time(id));
        }
        assert_eq!(recent.len(), REMEMBERED);
        assert_eq!(recent.seen.len(), REMEMBERED);
        let oldest_kept = REMEMBERED as u64 * 2;
        assert!(!recent.first_time(oldest_kept), "still remembered");
        assert!(recent.first_time(oldest_kept - 1), "forgotten");
    }
}
