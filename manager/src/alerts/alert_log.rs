//! The log of alert changes, numbered: bounded, yet always holding the last change of every open alert, so replaying it gives every alert's state.

use nodepair_protocol::api::alerts::{
    Alert, AlertChange, AlertChangeKind, ChangesPage, MAX_PAGE, MAX_PAGE_BYTES, Rule,
};
use std::collections::{BTreeMap, VecDeque};

/// Most changes kept; beyond it the oldest go, except the last change of
/// an alert still open.
pub(crate) const MAX_CHANGES: usize = 5000;

/// The log, in memory; [`super::alert_file`] keeps it on disk.
#[derive(Debug, Default)]
pub(crate) struct AlertLog {
    changes: VecDeque<AlertChange>,
    /// The sequence number the next change gets.
    next_seq: u64,
    /// The id the next alert gets.
    next_id: u64,
    /// Open alerts by rule and subject: their id.
    open: BTreeMap<(Rule, String), u64>,
    /// The newest sequence number dropped from the log (0: none).
    dropped_up_to: u64,
}

/// What the log did with a change, for whoever keeps it on disk.
#[derive(Debug, PartialEq)]
pub(crate) enum Stored {
    /// Appended: write it at the end.
    Appended(AlertChange),
    /// Appended, and old changes were dropped: write the log again.
    Compacted(AlertChange),
}

impl Stored {
    /// The change.
    pub(crate) fn change(&self) -> &AlertChange {
        match self {
            Stored::Appended(c) | Stored::Compacted(c) => c,
        }
    }
}

impl AlertLog {
    /// The log holding `changes` (as read back from disk, oldest first).
    ///
    /// # Errors
    ///
    /// When their sequence numbers do not rise.
    pub(crate) fn from_changes(changes: Vec<AlertChange>) -> Result<AlertLog, String> {
        let mut log = AlertLog {
            next_seq: 1,
            next_id: 1,
            ..AlertLog::default()
        };
        for change in changes {
            if change.seq < log.next_seq {
                return Err(format!(
                    "change {} comes after change {}",
                    change.seq,
                    log.next_seq - 1
                ));
            }
            // Numbers are given one after another: a hole is what the
            // bound dropped.
            if change.seq > log.next_seq {
                log.dropped_up_to = change.seq - 1;
            }
            log.next_seq = change.seq + 1;
            log.next_id = log.next_id.max(change.alert.id + 1);
            log.index(&change);
            log.changes.push_back(change);
        }
        Ok(log)
    }

    fn index(&mut self, change: &AlertChange) {
        let key = (change.alert.rule, change.alert.subject.clone());
        if change.alert.is_open() {
            self.open.insert(key, change.alert.id);
        } else if self.open.get(&key) == Some(&change.alert.id) {
            self.open.remove(&key);
        }
    }

    /// The next alert id, taken.
    pub(crate) fn take_id(&mut self) -> u64 {
        let id = self.next_id.max(1);
        self.next_id = id + 1;
        id
    }

    /// Records that `alert` changed by `kind` (what it says cut to the
    /// protocol's bounds, so any page of changes fits in a frame).
    pub(crate) fn record(&mut self, kind: AlertChangeKind, mut alert: Alert) -> Stored {
        alert.bound();
        let seq = self.next_seq.max(1);
        self.next_seq = seq + 1;
        self.next_id = self.next_id.max(alert.id + 1);
        let change = AlertChange { seq, kind, alert };
        self.index(&change);
        self.changes.push_back(change.clone());
        if self.changes.len() > MAX_CHANGES {
            self.compact();
            Stored::Compacted(change)
        } else {
            Stored::Appended(change)
        }
    }

    /// Drops the oldest changes down to three quarters of the bound, keeping
    /// each open alert's last change.
    fn compact(&mut self) {
        let keep_last: std::collections::BTreeSet<u64> = self
            .open
            .values()
            .filter_map(|id| self.last_of(*id).map(|c| c.seq))
            .collect();
        let target = MAX_CHANGES * 3 / 4;
        let mut excess = self.changes.len().saturating_sub(target);
        let mut kept = VecDeque::with_capacity(self.changes.len());
        for change in self.changes.drain(..) {
            if excess > 0 && !keep_last.contains(&change.seq) {
                excess -= 1;
                self.dropped_up_to = self.dropped_up_to.max(change.seq);
            } else {
                kept.push_back(change);
            }
        }
        self.changes = kept;
    }

    /// The last change of alert `id`, if the log holds one.
    pub(crate) fn last_of(&self, id: u64) -> Option<&AlertChange> {
        self.changes.iter().rev().find(|c| c.alert.id == id)
    }

    /// The open alert for `rule` and `subject`, as it is now.
    pub(crate) fn open_alert(&self, rule: Rule, subject: &str) -> Option<&Alert> {
        let id = self.open.get(&(rule, subject.to_owned()))?;
        self.last_of(*id).map(|c| &c.alert)
    }

    /// Every open alert, as it is now.
    pub(crate) fn open_alerts(&self) -> impl Iterator<Item = &Alert> {
        self.open
            .values()
            .filter_map(|id| self.last_of(*id).map(|c| &c.alert))
    }

    /// The changes after `after_seq`: at most [`MAX_PAGE`], and at most
    /// [`MAX_PAGE_BYTES`] of them (at least one).
    pub(crate) fn page(&self, after_seq: u64) -> ChangesPage {
        let mut after = self.changes.iter().filter(|c| c.seq > after_seq).peekable();
        let mut changes: Vec<AlertChange> = Vec::new();
        let mut bytes = 0;
        while let Some(next) = after.peek() {
            let size = serde_json::to_vec(next).map_or(0, |b| b.len());
            if changes.len() == MAX_PAGE || (!changes.is_empty() && bytes + size > MAX_PAGE_BYTES) {
                break;
            }
            bytes += size;
            changes.extend(after.next().cloned());
        }
        ChangesPage {
            more: after.next().is_some(),
            last_seq: self.last_seq(),
            gap: after_seq < self.dropped_up_to,
            changes,
        }
    }

    /// The newest sequence number (0 when nothing was ever recorded).
    pub(crate) fn last_seq(&self) -> u64 {
        self.next_seq.saturating_sub(1)
    }

    /// Every change held, oldest first.
    pub(crate) fn changes(&self) -> impl Iterator<Item = &AlertChange> {
        self.changes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodepair_protocol::api::alerts::Severity;

    fn alert(id: u64, subject: &str, open: bool) -> Alert {
        Alert {
            id,
            rule: Rule::DiskFree,
            subject: subject.into(),
            severity: Severity::Warning,
            summary: String::new(),
            first_seen_ms: 0,
            last_seen_ms: 0,
            resolved_at_ms: (!open).then_some(1),
            readings: Vec::new(),
            acknowledged: None,
            muted_until_ms: None,
            muted_by: None,
        }
    }

    #[test]
    fn changes_are_numbered_and_paged_after_the_last_seen() {
        let mut log = AlertLog::default();
        for n in 0..100 {
            let id = log.take_id();
            log.record(AlertChangeKind::Fired, alert(id, &format!("/m{n}"), true));
        }
        assert_eq!(log.last_seq(), 100);
        let first = log.page(0);
        assert_eq!(first.changes.len(), MAX_PAGE);
        assert_eq!(first.changes[0].seq, 1);
        assert!(first.more && !first.gap);
        let last = log.page(90);
        assert_eq!(
            last.changes.iter().map(|c| c.seq).collect::<Vec<_>>(),
            (91..=100).collect::<Vec<_>>()
        );
        assert!(!last.more);
        assert!(log.page(100).changes.is_empty());
    }

    #[test]
    fn alerts_that_say_a_lot_are_cut_and_paged_so_every_answer_fits_a_frame() {
        let mut log = AlertLog::default();
        for _ in 0..100 {
            let id = log.take_id();
            let mut long = alert(id, &"\u{1}/".repeat(5_000), true);
            long.summary = "\"".repeat(5_000);
            log.record(AlertChangeKind::Fired, long);
        }
        let mut after_seq = 0;
        let mut seen = 0;
        loop {
            let page = log.page(after_seq);
            let body = serde_json::to_vec(&page).unwrap();
            assert!(
                body.len() < nodepair_protocol::frame::MAX_FRAME_LEN - 1024,
                "{} bytes",
                body.len()
            );
            assert!(!page.changes.is_empty() && page.changes.len() < MAX_PAGE);
            seen += page.changes.len();
            after_seq = page.changes.last().unwrap().seq;
            if !page.more {
                break;
            }
        }
        assert_eq!(seen, 100, "nothing lost to the paging");
    }

    #[test]
    fn the_bound_drops_old_changes_but_never_an_open_alerts_last() {
        let mut log = AlertLog::default();
        let kept = log.take_id();
        log.record(AlertChangeKind::Fired, alert(kept, "/data", true));
        let mut compacted = 0;
        for n in 0..(MAX_CHANGES * 2) {
            let id = log.take_id();
            log.record(AlertChangeKind::Fired, alert(id, &format!("/t{n}"), true));
            if let Stored::Compacted(_) =
                log.record(AlertChangeKind::Resolved, alert(id, &format!("/t{n}"), false))
            {
                compacted += 1;
            }
        }
        assert!(compacted > 0);
        assert!(log.changes().count() <= MAX_CHANGES);
        assert_eq!(
            log.open_alerts().map(|a| a.id).collect::<Vec<_>>(),
            vec![kept]
        );
        let page = log.page(0);
        assert!(page.gap, "changes after 0 were dropped");
        assert_eq!(
            page.changes[0].alert.id, kept,
            "the open alert's last change is kept"
        );
        let again = AlertLog::from_changes(log.changes().cloned().collect()).unwrap();
        assert!(again.page(0).gap, "read back, the holes still show");
        assert!(!again.page(again.last_seq() - 1).gap);
        assert_eq!(again.last_seq(), log.last_seq());
    }

    #[test]
    fn a_log_read_back_goes_on_numbering_where_it_stopped() {
        let mut log = AlertLog::default();
        let id = log.take_id();
        log.record(AlertChangeKind::Fired, alert(id, "/var", true));
        let id2 = log.take_id();
        log.record(AlertChangeKind::Fired, alert(id2, "/home", true));
        log.record(AlertChangeKind::Resolved, alert(id2, "/home", false));
        let again = AlertLog::from_changes(log.changes().cloned().collect()).unwrap();
        assert_eq!(again.last_seq(), 3);
        assert_eq!(
            again.open_alert(Rule::DiskFree, "/var").map(|a| a.id),
            Some(id)
        );
        assert!(again.open_alert(Rule::DiskFree, "/home").is_none());
        let mut again = again;
        assert_eq!(again.take_id(), 3);
        let mut shuffled: Vec<AlertChange> = log.changes().cloned().collect();
        shuffled.swap(0, 2);
        assert!(AlertLog::from_changes(shuffled).is_err());
    }
}
