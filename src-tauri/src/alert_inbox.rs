//! The alerts each manager reported, as this app has seen them: which changes are new since the last one seen (kept across restarts), which deserve a notification, and what is open now.
//!
//! A manager numbers every change to its alerts (`seq`). When a manager
//! offering `alerts` comes online the app follows its changes and lists
//! those after the last one it saw; changes pushed while that list is still
//! being read wait, so each is taken once and in order. A change already
//! seen (before a restart of the app, or twice) tells nothing again. New
//! changes caught up after an absence are told once per alert, in their
//! final state: an alert that fired and resolved meanwhile is one
//! notification, not two.

use nodepair_protocol::PublicKey;
use nodepair_protocol::api::alerts::{Alert, AlertChange, AlertChangeKind, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A desktop notification about an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertNotice {
    /// Its title: the manager and what happened.
    pub title: String,
    /// Its text: the alert's summary.
    pub body: String,
}

/// What this app knows of one manager's alerts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagerAlerts {
    /// The last change taken.
    pub last_seq: u64,
    /// Every alert as its last change left it, by id: every open one, and
    /// the newest resolved ones up to 200 in all.
    pub alerts: BTreeMap<u64, Alert>,
    /// Changes pushed while a catch-up was being read.
    #[serde(skip)]
    waiting: Vec<AlertChange>,
    /// Changes taken during a catch-up not yet told.
    #[serde(skip)]
    held: Vec<AlertChange>,
    /// Whether a catch-up is being read.
    #[serde(skip)]
    catching_up: bool,
}

/// Most alerts kept per manager: the newest, and every open one.
const KEPT: usize = 200;

/// Every manager's alerts, as seen.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AlertInbox {
    managers: BTreeMap<String, ManagerAlerts>,
}

fn key(manager: PublicKey) -> String {
    manager.to_string()
}

impl AlertInbox {
    /// The inbox as written by [`AlertInbox::to_json`], or empty when the
    /// text is not one.
    pub fn from_json(text: &str) -> AlertInbox {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// The inbox as JSON, to keep across restarts.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The last change taken from `manager` (0: none yet).
    pub fn last_seq(&self, manager: PublicKey) -> u64 {
        self.managers.get(&key(manager)).map_or(0, |m| m.last_seq)
    }

    /// A catch-up of `manager` begins: pushes wait until it ends.
    pub fn catching_up(&mut self, manager: PublicKey) {
        self.managers.entry(key(manager)).or_default().catching_up = true;
    }

    /// A page of the catch-up was read: its changes taken. Returns the
    /// notifications once the catch-up `ended` (the last page), counting
    /// the pushes that waited.
    pub fn caught_up(
        &mut self,
        manager: PublicKey,
        name: &str,
        page: Vec<AlertChange>,
        ended: bool,
        now_ms: u64,
    ) -> Vec<AlertNotice> {
        let entry = self.managers.entry(key(manager)).or_default();
        let mut fresh = take(entry, page);
        if !ended {
            entry.held.extend(fresh);
            return Vec::new();
        }
        entry.catching_up = false;
        let waiting = std::mem::take(&mut entry.waiting);
        fresh.extend(take(entry, waiting));
        let mut all = std::mem::take(&mut entry.held);
        all.extend(fresh);
        notices(name, &all, now_ms)
    }

    /// A change `manager` pushed. Returns what to tell, if anything, and
    /// whether changes before it were missed (its number is not the next
    /// one): then it waits, a catch-up has begun, and the caller lists
    /// what came between.
    pub fn pushed(
        &mut self,
        manager: PublicKey,
        name: &str,
        change: AlertChange,
        now_ms: u64,
    ) -> (Vec<AlertNotice>, bool) {
        let entry = self.managers.entry(key(manager)).or_default();
        if entry.catching_up {
            entry.waiting.push(change);
            return (Vec::new(), false);
        }
        if change.seq > entry.last_seq + 1 {
            entry.waiting.push(change);
            entry.catching_up = true;
            return (Vec::new(), true);
        }
        let fresh = take(entry, vec![change]);
        (notices(name, &fresh, now_ms), false)
    }

    /// `manager` was unpaired: its alerts are forgotten.
    pub fn forget(&mut self, manager: PublicKey) {
        self.managers.remove(&key(manager));
    }

    /// The open alerts of `manager`, worst first.
    pub fn open(&self, manager: PublicKey) -> Vec<&Alert> {
        let mut open: Vec<&Alert> = self
            .managers
            .get(&key(manager))
            .map(|m| m.alerts.values().filter(|a| a.is_open()).collect())
            .unwrap_or_default();
        open.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.id.cmp(&a.id)));
        open
    }

    /// The worst open alert of any manager, unless muted at `now_ms`.
    pub fn worst(&self, now_ms: u64) -> Option<Severity> {
        self.managers
            .values()
            .flat_map(|m| m.alerts.values())
            .filter(|a| a.is_open() && !a.is_muted(now_ms))
            .map(|a| a.severity)
            .max()
    }
}

/// Takes `changes` not taken yet (after `last_seq`, in order): their
/// alerts updated. Returns those taken.
fn take(entry: &mut ManagerAlerts, mut changes: Vec<AlertChange>) -> Vec<AlertChange> {
    changes.sort_by_key(|c| c.seq);
    let mut fresh = Vec::new();
    for change in changes {
        if change.seq <= entry.last_seq {
            continue;
        }
        entry.last_seq = change.seq;
        entry.alerts.insert(change.alert.id, change.alert.clone());
        fresh.push(change);
    }
    while entry.alerts.len() > KEPT {
        let Some(oldest_closed) = entry.alerts.values().find(|a| !a.is_open()).map(|a| a.id) else {
            break;
        };
        entry.alerts.remove(&oldest_closed);
    }
    fresh
}

/// One notification per alert among `changes` that fired or resolved, in
/// its final state; muted ones, acknowledgements and mutes are quiet.
fn notices(name: &str, changes: &[AlertChange], now_ms: u64) -> Vec<AlertNotice> {
    let mut last: BTreeMap<u64, (&AlertChange, bool)> = BTreeMap::new();
    for change in changes {
        let fired_here = change.kind == AlertChangeKind::Fired
            || last.get(&change.alert.id).is_some_and(|(_, fired)| *fired);
        last.insert(change.alert.id, (change, fired_here));
    }
    last.values()
        .filter_map(|(change, fired_here)| {
            let alert = &change.alert;
            let told = matches!(
                change.kind,
                AlertChangeKind::Fired | AlertChangeKind::Resolved | AlertChangeKind::Severity
            ) || *fired_here;
            if !told || alert.is_muted(now_ms) {
                return None;
            }
            let title = match (alert.is_open(), *fired_here) {
                (true, _) if alert.severity == Severity::Critical => format!("{name}: critical"),
                (true, _) => format!("{name}: warning"),
                (false, true) => format!("{name}: alert raised and resolved"),
                (false, false) => format!("{name}: resolved"),
            };
            Some(AlertNotice {
                title,
                body: alert.summary.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use nodepair_protocol::api::alerts::Rule;

    const M: PublicKey = PublicKey([1; 32]);

    /// An open warning about /var.
    pub(crate) fn alert(id: u64) -> Alert {
        Alert {
            id,
            rule: Rule::DiskFree,
            subject: "/var".into(),
            severity: Severity::Warning,
            summary: format!("Disk /var has 4.1 GiB free (alert {id})"),
            first_seen_ms: 1,
            last_seen_ms: 2,
            resolved_at_ms: None,
            readings: Vec::new(),
            acknowledged: None,
            muted_until_ms: None,
        }
    }

    fn change(seq: u64, id: u64, kind: AlertChangeKind) -> AlertChange {
        let mut alert = alert(id);
        alert.resolved_at_ms = (kind == AlertChangeKind::Resolved).then_some(3);
        AlertChange { seq, kind, alert }
    }

    fn titles(notices: &[AlertNotice]) -> Vec<&str> {
        notices.iter().map(|n| n.title.as_str()).collect()
    }

    #[test]
    fn a_pushed_alert_is_told_when_it_fires_and_when_it_resolves_and_not_twice() {
        let mut inbox = AlertInbox::default();
        let (fired, _) = inbox.pushed(M, "validator-1", change(1, 7, AlertChangeKind::Fired), 0);
        assert_eq!(titles(&fired), ["validator-1: warning"]);
        assert_eq!(fired[0].body, "Disk /var has 4.1 GiB free (alert 7)");
        assert_eq!(inbox.worst(0), Some(Severity::Warning));
        assert!(
            inbox
                .pushed(M, "validator-1", change(1, 7, AlertChangeKind::Fired), 0)
                .0
                .is_empty()
        );
        assert!(
            inbox
                .pushed(
                    M,
                    "validator-1",
                    change(2, 7, AlertChangeKind::Acknowledged),
                    0
                )
                .0
                .is_empty()
        );
        let (resolved, _) =
            inbox.pushed(M, "validator-1", change(3, 7, AlertChangeKind::Resolved), 0);
        assert_eq!(titles(&resolved), ["validator-1: resolved"]);
        assert_eq!(inbox.worst(0), None);
        assert!(inbox.open(M).is_empty());
    }

    #[test]
    fn an_alert_that_fired_and_resolved_while_the_app_was_closed_is_told_once() {
        let mut inbox = AlertInbox::default();
        let _ = inbox.pushed(M, "validator-1", change(1, 1, AlertChangeKind::Fired), 0);
        // Kept, then the app restarts.
        let mut inbox = AlertInbox::from_json(&inbox.to_json());
        assert_eq!(inbox.last_seq(M), 1);
        inbox.catching_up(M);
        // A push arrives while the list is read: it waits.
        assert!(
            inbox
                .pushed(M, "validator-1", change(4, 3, AlertChangeKind::Fired), 0)
                .0
                .is_empty()
        );
        let page = vec![
            change(1, 1, AlertChangeKind::Fired),
            change(2, 2, AlertChangeKind::Fired),
            change(3, 2, AlertChangeKind::Resolved),
        ];
        assert!(inbox.caught_up(M, "validator-1", page, false, 0).is_empty());
        let told = inbox.caught_up(
            M,
            "validator-1",
            vec![change(4, 3, AlertChangeKind::Fired)],
            true,
            0,
        );
        assert_eq!(
            titles(&told),
            [
                "validator-1: alert raised and resolved",
                "validator-1: warning"
            ]
        );
        assert_eq!(inbox.last_seq(M), 4);
        assert_eq!(
            inbox.open(M).iter().map(|a| a.id).collect::<Vec<_>>(),
            [3, 1]
        );
    }

    #[test]
    fn a_push_after_a_missed_one_waits_for_the_catch_up_and_nothing_is_lost() {
        let mut inbox = AlertInbox::default();
        let _ = inbox.pushed(M, "validator-1", change(1, 1, AlertChangeKind::Fired), 0);
        // 2 was lost on the way; 3 arrives.
        let (told, missed) =
            inbox.pushed(M, "validator-1", change(3, 1, AlertChangeKind::Resolved), 0);
        assert!(told.is_empty() && missed);
        assert_eq!(inbox.last_seq(M), 1, "3 waits");
        let told = inbox.caught_up(
            M,
            "validator-1",
            vec![
                change(2, 2, AlertChangeKind::Fired),
                change(3, 1, AlertChangeKind::Resolved),
            ],
            true,
            0,
        );
        assert_eq!(
            titles(&told),
            ["validator-1: resolved", "validator-1: warning"]
        );
        assert_eq!(inbox.last_seq(M), 3);
    }

    #[test]
    fn a_muted_alert_is_quiet_and_does_not_turn_the_dot() {
        let mut inbox = AlertInbox::default();
        let mut muted = change(1, 1, AlertChangeKind::Fired);
        muted.alert.muted_until_ms = Some(1_000);
        assert!(inbox.pushed(M, "validator-1", muted, 0).0.is_empty());
        assert_eq!(inbox.worst(999), None);
        assert_eq!(
            inbox.worst(1_000),
            Some(Severity::Warning),
            "the mute ran out"
        );
        inbox.forget(M);
        assert_eq!(inbox.last_seq(M), 0);
    }
}
