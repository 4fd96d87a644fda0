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
    /// The manager's name when it last reported.
    #[serde(default)]
    pub name: String,
    /// The last change taken.
    pub last_seq: u64,
    /// Every alert as its last change left it, by id: the open ones (up to
    /// [`MAX_OPEN`]), and the newest resolved ones up to [`KEPT`] in all.
    pub alerts: BTreeMap<u64, Alert>,
    /// Changes pushed while a catch-up was being read.
    #[serde(skip)]
    waiting: Vec<AlertChange>,
    /// The alerts a catch-up changed, not yet told: by id, the last change
    /// and whether it fired during the catch-up.
    #[serde(skip)]
    held: BTreeMap<u64, (AlertChange, bool)>,
    /// Whether a catch-up is being read.
    #[serde(skip)]
    catching_up: bool,
    /// A first catch-up (nothing seen before, or the manager's log began
    /// again): it tells only what is open at its end, not the history.
    #[serde(skip)]
    quiet: bool,
    /// The catch-up is reading the whole log again because changes were
    /// dropped from it while away: changes up to this one were told before.
    #[serde(skip)]
    told_up_to: Option<u64>,
    /// The last change taken when the catch-up under way began.
    #[serde(skip)]
    started_at: u64,
    /// Which catch-up is the one under way: one begun later takes over, and
    /// the pages an earlier one still brings are dropped.
    #[serde(skip)]
    ticket: u64,
    /// When pushed changes were last told, within the last minute.
    #[serde(skip)]
    told_at: std::collections::VecDeque<u64>,
    /// Pushed changes not told this minute (too many).
    #[serde(skip)]
    hushed: u32,
}

/// Most alerts kept per manager: the newest, and every open one.
const KEPT: usize = 200;
/// Most open alerts kept per manager; a manager claiming more loses its oldest.
pub const MAX_OPEN: usize = 500;
/// Most pushes waiting for a catch-up; the oldest go first (the log still
/// holds them for the next catch-up).
const MAX_WAITING: usize = 1000;
/// Most notifications one catch-up shows; beyond, one says how many.
const MAX_NOTICES: usize = 3;
/// Most notifications pushed changes of one manager show in a minute;
/// beyond, one says there are more.
const PUSHED_PER_MINUTE: usize = 5;

/// Every manager's alerts, as seen.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AlertInbox {
    managers: BTreeMap<String, ManagerAlerts>,
    /// Managers unpaired since the app started: what a catch-up still under
    /// way brings of them is dropped.
    #[serde(skip)]
    forgotten: std::collections::BTreeSet<String>,
}

/// What a catch-up page says besides its changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFacts {
    /// The newest sequence number in the manager's log.
    pub last_seq: u64,
    /// Whether changes after the one asked for were dropped from the log.
    pub gap: bool,
    /// Whether it is the last page.
    pub ended: bool,
    /// Whether the page was read at all (false: the request failed, or the
    /// catch-up gave up; then it ends, taking only the pushes that follow
    /// on from what was taken without a hole).
    pub read: bool,
    /// The catch-up's ticket ([`AlertInbox::catching_up`]).
    pub ticket: u64,
}

/// What to do after a catch-up page.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AfterPage {
    /// What to tell (once the catch-up ended).
    pub notices: Vec<AlertNotice>,
    /// Whether to ask for the next page (after [`AlertInbox::last_seq`]).
    pub again: bool,
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

    /// The ticket of `manager`'s catch-up under way (or of the last one).
    pub fn ticket(&self, manager: PublicKey) -> u64 {
        self.managers.get(&key(manager)).map_or(0, |m| m.ticket)
    }

    /// The last change taken from `manager` (0: none yet).
    pub fn last_seq(&self, manager: PublicKey) -> u64 {
        self.managers.get(&key(manager)).map_or(0, |m| m.last_seq)
    }

    /// A catch-up of `manager` begins: pushes wait until it ends. With
    /// nothing seen from it before, it is a quiet one. One already under
    /// way is taken over: it goes on from where that one got to. Returns
    /// the catch-up's ticket, which its pages carry.
    pub fn catching_up(&mut self, manager: PublicKey) -> u64 {
        let k = key(manager);
        // It is paired (again): its changes are taken.
        self.forgotten.remove(&k);
        let entry = self.managers.entry(k).or_default();
        if !entry.catching_up {
            entry.started_at = entry.last_seq;
        }
        entry.catching_up = true;
        entry.quiet |= entry.last_seq == 0;
        entry.ticket += 1;
        entry.ticket
    }

    /// A page of the catch-up was read (or not: `facts.read`): its changes
    /// taken. Says what to tell once the catch-up ended (counting the
    /// pushes that waited), and whether to read on.
    ///
    /// A page whose log is older than what was seen (its newest number is
    /// lower: the manager's log began again) starts a quiet catch-up from
    /// the beginning; one saying changes were dropped reads the whole log
    /// again, so an alert resolved among the dropped ones is not left open.
    pub fn caught_up(
        &mut self,
        manager: PublicKey,
        name: &str,
        page: Vec<AlertChange>,
        facts: PageFacts,
        now_ms: u64,
    ) -> AfterPage {
        let k = key(manager);
        if self.forgotten.contains(&k) {
            return AfterPage::default();
        }
        let Some(entry) = self.managers.get_mut(&k) else {
            return AfterPage::default();
        };
        // A catch-up taken over, or ended, reads no further.
        if !entry.catching_up || facts.ticket != entry.ticket {
            return AfterPage::default();
        }
        entry.name = name.to_owned();
        let again = AfterPage {
            notices: Vec::new(),
            again: true,
        };
        if facts.read {
            if facts.last_seq < entry.last_seq {
                let quiet = true;
                restart(entry, None, quiet);
                return again;
            }
            if facts.gap && entry.told_up_to.is_none() && entry.last_seq > 0 {
                let (told, quiet) = (entry.started_at, entry.quiet);
                restart(entry, Some(told), quiet);
                return again;
            }
            let fresh = take(entry, page);
            hold(entry, fresh);
            if !facts.ended {
                return again;
            }
        }
        let mut waiting = std::mem::take(&mut entry.waiting);
        if !facts.read {
            // What follows a hole waits for the next catch-up (the next
            // push sees the hole); the log still holds it.
            waiting.sort_by_key(|c| c.seq);
            let mut next = entry.last_seq;
            waiting.retain(|c| {
                if c.seq <= next {
                    return true;
                }
                let follows = c.seq == next.saturating_add(1);
                if follows {
                    next = c.seq;
                }
                follows
            });
        }
        let fresh = take(entry, waiting);
        hold(entry, fresh);
        let held = std::mem::take(&mut entry.held);
        // A catch-up that did not finish leaves what it knew of what was
        // told to the next one.
        let (quiet, told_up_to) = if facts.read {
            (
                std::mem::take(&mut entry.quiet),
                entry.told_up_to.take().unwrap_or(0),
            )
        } else {
            (entry.quiet, entry.told_up_to.unwrap_or(0))
        };
        entry.catching_up = false;
        let told: Vec<(AlertChange, bool)> = held
            .into_values()
            .filter(|(change, _)| change.seq > told_up_to)
            .filter(|(change, _)| !quiet || change.alert.is_open())
            // A quiet catch-up tells each alert open, however it last changed.
            .map(|(change, fired)| (change, fired || quiet))
            .collect();
        AfterPage {
            notices: summed_up(name, notices(name, &told, now_ms)),
            again: false,
        }
    }

    /// A change `manager` pushed. Returns what to tell, if anything, and
    /// whether changes before it were missed (its number is not the next
    /// one): then it waits, a catch-up has begun (its ticket is
    /// [`AlertInbox::ticket`]), and the caller lists what came between.
    pub fn pushed(
        &mut self,
        manager: PublicKey,
        name: &str,
        change: AlertChange,
        now_ms: u64,
    ) -> (Vec<AlertNotice>, bool) {
        let k = key(manager);
        if self.forgotten.contains(&k) {
            return (Vec::new(), false);
        }
        let entry = self.managers.entry(k).or_default();
        entry.name = name.to_owned();
        if entry.catching_up {
            wait(entry, change);
            return (Vec::new(), false);
        }
        if change.seq > entry.last_seq.saturating_add(1) {
            wait(entry, change);
            entry.started_at = entry.last_seq;
            entry.quiet |= entry.last_seq == 0;
            entry.catching_up = true;
            entry.ticket += 1;
            return (Vec::new(), true);
        }
        let fresh: Vec<(AlertChange, bool)> = take(entry, vec![change])
            .into_iter()
            .map(|c| {
                let fired = c.kind == AlertChangeKind::Fired;
                (c, fired)
            })
            .collect();
        let told = notices(name, &fresh, now_ms);
        (limited(entry, name, told, now_ms), false)
    }

    /// Keeps only the managers in `paired` (the others were unpaired while
    /// the app was not running, or from a terminal).
    pub fn retain(&mut self, paired: &[PublicKey]) {
        let keep: std::collections::BTreeSet<String> = paired.iter().map(|k| key(*k)).collect();
        self.managers.retain(|k, _| keep.contains(k));
    }

    /// A manager moved to a new key (it rotated it): its alerts, and what
    /// was seen of them, go with it.
    pub fn moved(&mut self, from: PublicKey, to: PublicKey) {
        if let Some(alerts) = self.managers.remove(&key(from)) {
            self.managers.insert(key(to), alerts);
        }
    }

    /// `manager` was unpaired: its alerts are forgotten, and what a
    /// catch-up still under way brings of it is dropped.
    pub fn forget(&mut self, manager: PublicKey) {
        self.managers.remove(&key(manager));
        self.forgotten.insert(key(manager));
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

    /// The newest `n` resolved alerts of `manager`, newest first.
    pub fn resolved(&self, manager: PublicKey, n: usize) -> Vec<&Alert> {
        let mut closed: Vec<&Alert> = self
            .managers
            .get(&key(manager))
            .map(|m| m.alerts.values().filter(|a| !a.is_open()).collect())
            .unwrap_or_default();
        closed.sort_by(|a, b| {
            b.resolved_at_ms
                .cmp(&a.resolved_at_ms)
                .then(b.id.cmp(&a.id))
        });
        closed.truncate(n);
        closed
    }

    /// Every alert kept, open and resolved, with its manager's key and
    /// name: open ones first, worst first, then the newest.
    pub fn all(&self) -> Vec<(String, &str, &Alert)> {
        let mut all: Vec<(String, &str, &Alert)> = self
            .managers
            .iter()
            .flat_map(|(k, m)| {
                m.alerts
                    .values()
                    .map(move |a| (k.clone(), m.name.as_str(), a))
            })
            .collect();
        all.sort_by(|(_, _, a), (_, _, b)| {
            b.is_open()
                .cmp(&a.is_open())
                .then(b.severity.cmp(&a.severity))
                .then(b.last_seen_ms.cmp(&a.last_seen_ms))
        });
        all
    }

    /// The worst open alert of any manager that says something is wrong
    /// (an info alert does not), unless muted at `now_ms`.
    pub fn worst(&self, now_ms: u64) -> Option<Severity> {
        self.managers
            .values()
            .flat_map(|m| m.alerts.values())
            .filter(|a| a.is_open() && !a.is_muted(now_ms) && a.severity > Severity::Info)
            .map(|a| a.severity)
            .max()
    }
}

/// The catch-up reads the log from its beginning again: what was known is
/// replaced by what it holds. `told_up_to`: the changes already told (none
/// when the log itself began again); `quiet`: only what is open is told.
fn restart(entry: &mut ManagerAlerts, told_up_to: Option<u64>, quiet: bool) {
    entry.last_seq = 0;
    entry.alerts.clear();
    entry.held.clear();
    entry.told_up_to = told_up_to;
    entry.quiet = quiet;
}

/// `notices` of pushed changes, at most [`PUSHED_PER_MINUTE`] a minute per
/// manager; the first one beyond says there are more.
fn limited(
    entry: &mut ManagerAlerts,
    name: &str,
    notices: Vec<AlertNotice>,
    now_ms: u64,
) -> Vec<AlertNotice> {
    entry
        .told_at
        .retain(|at| now_ms.saturating_sub(*at) < 60_000);
    let mut out = Vec::new();
    for notice in notices {
        if entry.told_at.len() < PUSHED_PER_MINUTE {
            entry.told_at.push_back(now_ms);
            entry.hushed = 0;
            out.push(notice);
        } else {
            entry.hushed += 1;
            if entry.hushed == 1 {
                out.push(AlertNotice {
                    title: format!("{}: more alerts", shown(name)),
                    body: "More alerts changed in the last minute than are told one by one; open NodePair to see them".into(),
                });
            }
        }
    }
    out
}

/// `change` waits for the catch-up under way.
fn wait(entry: &mut ManagerAlerts, change: AlertChange) {
    if entry.waiting.len() >= MAX_WAITING {
        entry.waiting.remove(0);
    }
    entry.waiting.push(change);
}

/// Notes `fresh` (taken during a catch-up) for telling at its end: per
/// alert, its last change and whether it fired meanwhile.
fn hold(entry: &mut ManagerAlerts, fresh: Vec<AlertChange>) {
    for change in fresh {
        let fired = change.kind == AlertChangeKind::Fired
            || entry.held.get(&change.alert.id).is_some_and(|(_, f)| *f);
        entry.held.insert(change.alert.id, (change, fired));
    }
    while entry.held.len() > MAX_OPEN {
        entry.held.pop_first();
    }
}

/// Takes `changes` not taken yet (after `last_seq`, in order): their
/// alerts updated. Returns those taken.
fn take(entry: &mut ManagerAlerts, mut changes: Vec<AlertChange>) -> Vec<AlertChange> {
    changes.sort_by_key(|c| c.seq);
    let mut fresh = Vec::new();
    for mut change in changes {
        if change.seq <= entry.last_seq {
            continue;
        }
        // What a manager says is held at the bounds its own log keeps.
        change.alert.bound();
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
    while entry.alerts.len() > MAX_OPEN {
        entry.alerts.pop_first();
    }
    fresh
}

/// One notification per alert that fired or resolved, in its final state
/// (`changes`: each alert's last change, and whether it fired among them);
/// muted ones, acknowledgements and mutes are quiet.
fn notices(name: &str, changes: &[(AlertChange, bool)], now_ms: u64) -> Vec<AlertNotice> {
    changes
        .iter()
        .filter_map(|(change, fired_here)| {
            let alert = &change.alert;
            let told = matches!(
                change.kind,
                AlertChangeKind::Fired | AlertChangeKind::Resolved | AlertChangeKind::Severity
            ) || *fired_here;
            // Info is told when it comes; its end (a proposal's slot began)
            // is no news.
            let info_over = alert.severity == Severity::Info && !alert.is_open();
            if !told || alert.is_muted(now_ms) || info_over {
                return None;
            }
            let name = shown(name);
            let title = match (alert.is_open(), *fired_here) {
                (true, _) if alert.severity == Severity::Critical => format!("{name}: critical"),
                (true, _) if alert.severity == Severity::Info => format!("{name}: info"),
                (true, _) => format!("{name}: warning"),
                (false, true) => format!("{name}: alert raised and resolved"),
                (false, false) => format!("{name}: resolved"),
            };
            Some(AlertNotice {
                title,
                body: shown(&alert.summary),
            })
        })
        .collect()
}

/// More than [`MAX_NOTICES`] notifications at once become one that counts them.
fn summed_up(name: &str, notices: Vec<AlertNotice>) -> Vec<AlertNotice> {
    if notices.len() <= MAX_NOTICES {
        return notices;
    }
    let count = |word: &str| notices.iter().filter(|n| n.title.ends_with(word)).count();
    let (critical, warning, info) = (count(": critical"), count(": warning"), count(": info"));
    let closed = notices.len() - critical - warning - info;
    let mut parts = Vec::new();
    for (n, what) in [
        (critical, "critical"),
        (warning, "warning"),
        (info, "info"),
        (closed, "resolved"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    vec![AlertNotice {
        title: format!("{}: {} alerts changed", shown(name), notices.len()),
        body: format!("{}; open NodePair to see them", parts.join(", ")),
    }]
}

/// A summary (or a name) as a notification shows it: desktop notification daemons
/// read a little markup, so `<`, `>` and `&` are written as entities;
/// control characters go; it is cut to a readable length.
fn shown(summary: &str) -> String {
    let mut out = String::new();
    for (n, c) in summary.chars().enumerate() {
        if n == nodepair_protocol::api::alerts::MAX_SUMMARY_CHARS {
            out.push('…');
            break;
        }
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
