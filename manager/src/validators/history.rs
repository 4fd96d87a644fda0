//! What each validator did, epoch by epoch — its balance when read, whether it was seen live — and what follows from it: balance changes over an epoch or a day, liveness over the last epochs, attestations missed.

use std::collections::BTreeMap;

/// Epochs in a day on mainnet (32 slots of 12 s).
pub(crate) const EPOCHS_PER_DAY: u64 = 225;
/// Epochs kept per validator: a day, and the one before it.
const KEPT_EPOCHS: u64 = EPOCHS_PER_DAY + 1;

/// Every watched validator's recent epochs.
#[derive(Debug, Default)]
pub(crate) struct History {
    by_index: BTreeMap<u64, Track>,
}

#[derive(Debug, Default)]
struct Track {
    /// Balance in Gwei, by the epoch it was read in.
    balances: BTreeMap<u64, u64>,
    /// Seen live or not, by epoch.
    live: BTreeMap<u64, bool>,
}

impl Track {
    /// Forgets the epochs older than a day before `newest`, the epoch just
    /// read (a head ahead of the clock, whose epochs would push the real
    /// ones out, never gets here: see `watch::checked_head`).
    fn trim(&mut self, newest: u64) {
        let oldest = newest.saturating_sub(KEPT_EPOCHS - 1);
        self.balances.retain(|epoch, _| *epoch >= oldest);
        self.live.retain(|epoch, _| *epoch >= oldest);
    }
}

impl History {
    /// `index` had `gwei` when read in `epoch` (the last reading of an
    /// epoch counts).
    pub(crate) fn balance(&mut self, index: u64, epoch: u64, gwei: u64) {
        let track = self.by_index.entry(index).or_default();
        track.balances.insert(epoch, gwei);
        track.trim(epoch);
    }

    /// `index` was seen live in `epoch`, or not.
    pub(crate) fn liveness(&mut self, index: u64, epoch: u64, live: bool) {
        let track = self.by_index.entry(index).or_default();
        track.live.insert(epoch, live);
        track.trim(epoch);
    }

    /// Forgets every validator not in `watched`.
    pub(crate) fn retain(&mut self, watched: &std::collections::HashSet<u64>) {
        self.by_index.retain(|index, _| watched.contains(index));
    }

    /// How `index`'s balance changed over the last `epochs`: its newest
    /// balance less the one read `epochs` before it (or the newest read
    /// before that). None until a balance that old was read: never a zero
    /// that was not seen.
    pub(crate) fn change(&self, index: u64, epochs: u64) -> Option<i64> {
        let balances = &self.by_index.get(&index)?.balances;
        let (&newest_epoch, &newest) = balances.last_key_value()?;
        let then = newest_epoch.checked_sub(epochs)?;
        let (_, &before) = balances.range(..=then).next_back()?;
        Some(i64::try_from(newest).ok()? - i64::try_from(before).ok()?)
    }

    /// Of the `last` epochs before `current` (not counting `current`, whose
    /// attestations may still come), in how many `index` was seen live, and
    /// in how many it was judged at all.
    pub(crate) fn live_in(&self, index: u64, last: u64, current: u64) -> (u64, u64) {
        let Some(track) = self.by_index.get(&index) else {
            return (0, 0);
        };
        let from = current.saturating_sub(last);
        track
            .live
            .range(from..current)
            .fold((0, 0), |(live, judged), (_, &is_live)| {
                (live + u64::from(is_live), judged + 1)
            })
    }

    /// Whether `index` was seen live in each of the `last` epochs before
    /// `current` that were judged, oldest first.
    pub(crate) fn recent(&self, index: u64, last: u64, current: u64) -> Vec<bool> {
        self.by_index.get(&index).map_or_else(Vec::new, |track| {
            track
                .live
                .range(current.saturating_sub(last)..current)
                .map(|(_, live)| *live)
                .collect()
        })
    }

    /// Of the `last` epochs before `current`, in how many `index` was seen
    /// not live: attestations missed.
    pub(crate) fn missed(&self, index: u64, last: u64, current: u64) -> u64 {
        let (live, judged) = self.live_in(index, last, current);
        judged - live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GWEI: u64 = 32_000_000_000;

    #[test]
    fn a_balance_change_needs_a_balance_that_old_and_is_signed() {
        let mut h = History::default();
        h.balance(7, 100, GWEI);
        assert_eq!(h.change(7, 1), None, "one reading is no change");
        h.balance(7, 101, GWEI + 14_000);
        assert_eq!(h.change(7, 1), Some(14_000));
        h.balance(7, 102, GWEI + 10_000);
        assert_eq!(h.change(7, 1), Some(-4_000), "an epoch that lost");
        assert_eq!(h.change(7, 2), Some(10_000));
        assert_eq!(
            h.change(7, EPOCHS_PER_DAY),
            None,
            "not a day of readings yet"
        );
        // An epoch not read: the newest reading before it stands in.
        h.balance(7, 110, GWEI + 20_000);
        assert_eq!(h.change(7, 5), Some(10_000), "from epoch 102's");
        assert_eq!(h.change(8, 1), None, "a validator never read");
    }

    #[test]
    fn liveness_counts_the_epochs_before_the_current_one_and_history_stays_bounded() {
        let mut h = History::default();
        for epoch in 0..400 {
            // Missed every tenth epoch.
            h.liveness(1, epoch, epoch % 10 != 0);
            h.balance(1, epoch, GWEI + epoch);
        }
        assert_eq!(h.live_in(1, 10, 400), (9, 10));
        assert_eq!(h.missed(1, 10, 400), 1);
        assert_eq!(h.missed(1, 3, 400), 0, "epochs 397, 398, 399");
        assert_eq!(h.live_in(2, 10, 400), (0, 0), "never judged");
        let track = &h.by_index[&1];
        assert_eq!(track.live.len() as u64, KEPT_EPOCHS);
        assert_eq!(track.balances.len() as u64, KEPT_EPOCHS);
        assert_eq!(h.change(1, EPOCHS_PER_DAY), Some(EPOCHS_PER_DAY as i64));
        h.retain(&std::collections::HashSet::new());
        assert_eq!(h.live_in(1, 10, 400), (0, 0), "unwatched, forgotten");
    }
}
