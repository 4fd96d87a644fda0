//! One log line per event an operator reads in the journal: a pairing, a session up or down, a grant changed, a key moved, a revocation, and (at most once a minute) traffic refused.

use crate::view::CounterpartyView;
use nodepair_protocol::hello::Role;
use nodepair_protocol::session::SessionStats;
use nodepair_protocol::{NodeState, PublicKey};
use std::time::{Duration, Instant};

/// The target of these lines: the programs' default filters let it through
/// at info level, beside `audit`.
pub const TARGET: &str = "events";

/// At most one line about refused traffic this often: a flood is one line
/// a minute, not one per message.
pub(crate) const DROPS_EVERY: Duration = Duration::from_secs(60);

/// How often the driver sums its links' counts to see whether a line is
/// due (only when it wakes anyway).
pub(crate) const DROPS_CHECKED_EVERY: Duration = Duration::from_secs(5);

fn role(view: &CounterpartyView) -> &'static str {
    match view.role {
        Role::App => "app",
        Role::Manager => "manager",
    }
}

/// A pairing completed and was stored.
pub(crate) fn paired(view: &CounterpartyView) {
    tracing::info!(target: TARGET, key = %view.public_key.fingerprint(), node_id = %view.node_id, "paired with the {} {}; its session is up", role(view), view.name());
}

/// A counterparty's session came up, or went down after being up.
pub(crate) fn state(view: &CounterpartyView, was_online: bool) {
    match view.state {
        NodeState::Online if !was_online => {
            tracing::info!(target: TARGET, key = %view.public_key.fingerprint(), "the {} {} is online", role(view), view.name());
        }
        NodeState::PairedOffline | NodeState::Connecting if was_online => {
            tracing::info!(target: TARGET, key = %view.public_key.fingerprint(), "the {} {} went offline", role(view), view.name());
        }
        _ => {}
    }
}

/// What a counterparty may use changed here.
pub(crate) fn granted(view: &CounterpartyView) {
    let what = match &view.grants {
        None => "everything offered".to_owned(),
        Some(names) if names.is_empty() => "nothing but manager.info".to_owned(),
        Some(names) => names.join(", "),
    };
    tracing::info!(target: TARGET, key = %view.public_key.fingerprint(), "the {} {} is now granted {what}", role(view), view.name());
}

/// Our key rotation began.
pub(crate) fn rotation_started(old: &PublicKey, new: &PublicKey) {
    tracing::info!(target: TARGET, old = %old.fingerprint(), new = %new.fingerprint(), "key rotation started: every counterparty is told our new key");
}

/// A counterparty stored our new key; its sessions are under it now.
pub(crate) fn moved_to_ours(view: &CounterpartyView) {
    tracing::info!(target: TARGET, key = %view.public_key.fingerprint(), "the {} {} moved to our new key", role(view), view.name());
}

/// The grace period ended before this counterparty moved: it is cut off.
pub(crate) fn not_moved(view: &CounterpartyView) {
    tracing::warn!(target: TARGET, key = %view.public_key.fingerprint(), "the {} {} did not move to our new key before the grace period ended; pair it again", role(view), view.name());
}

/// Our old key is retired.
pub(crate) fn rotation_finished(new: &PublicKey, left_behind: usize) {
    if left_behind == 0 {
        tracing::info!(target: TARGET, key = %new.fingerprint(), "key rotation finished: every counterparty moved, the old key is retired");
    } else {
        tracing::warn!(target: TARGET, key = %new.fingerprint(), left_behind, "key rotation finished at the end of its grace period, the old key is retired; those that did not move must be paired again");
    }
}

/// A counterparty announced a key of its own, and it was stored.
pub(crate) fn announced_move(view: &CounterpartyView, new: &PublicKey) {
    tracing::info!(target: TARGET, key = %view.public_key.fingerprint(), new = %new.fingerprint(), "the {} {} announced a new key; it is used once a session under it is up", role(view), view.name());
}

/// A counterparty's session is up under its new key: its old key is gone.
pub(crate) fn moved_here(view: &CounterpartyView, old: &PublicKey) {
    tracing::info!(target: TARGET, key = %view.public_key.fingerprint(), old = %old.fingerprint(), "the {} {} now uses its new key; its old key opens nothing any more", role(view), view.name());
}

/// A counterparty was forgotten: revoked here, or by itself.
pub(crate) fn removed(view: &CounterpartyView, by_peer: bool) {
    let how = if by_peer {
        "it unpaired this side"
    } else {
        "revoked here"
    };
    tracing::info!(target: TARGET, key = %view.public_key.fingerprint(), "forgot the {} {}: {how}", role(view), view.name());
}

/// Counts refused traffic and says when it is time for a line about it.
#[derive(Debug, Default)]
pub(crate) struct DropReport {
    reported: u64,
    last_line: Option<Instant>,
}

impl DropReport {
    /// Messages refused: anything a stranger, a forger or a replayer can
    /// make us drop (not our own echoes, not completed handshakes).
    pub(crate) fn refused(stats: &SessionStats, pairing_refused: u64) -> u64 {
        stats.malformed
            + stats.auth_failures
            + stats.replays
            + stats.stale
            + stats.unknown_keys
            + stats.bad_frames
            + pairing_refused
    }

    /// Whether a line is due at `now`; if so, how many were refused since
    /// the last one. None while nothing new was refused, or within
    /// [`DROPS_EVERY`] of the last line.
    pub(crate) fn due(&mut self, now: Instant, refused: u64) -> Option<u64> {
        if refused <= self.reported
            || self
                .last_line
                .is_some_and(|at| now.saturating_duration_since(at) < DROPS_EVERY)
        {
            return None;
        }
        let new = refused - self.reported;
        self.reported = refused;
        self.last_line = Some(now);
        Some(new)
    }

    /// The line, when one is due; `stopping`: the last chance, whatever
    /// the minute says.
    pub(crate) fn log(&mut self, now: Instant, refused: u64, stopping: bool) {
        if stopping {
            self.last_line = None;
        }
        if let Some(new) = self.due(now, refused) {
            tracing::info!(target: TARGET, refused = new, "refused {new} messages since the last report: forged, replayed, malformed or under keys no longer held (`status` has the counts by kind)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_traffic_is_one_line_a_minute_at_most_and_none_when_quiet() {
        let start = Instant::now();
        let mut report = DropReport::default();
        assert_eq!(report.due(start, 0), None, "nothing refused: no line");
        assert_eq!(report.due(start, 5), Some(5));
        // A flood within the minute: no more lines.
        for second in 1..60 {
            assert_eq!(
                report.due(start + Duration::from_secs(second), 5 + second * 1000),
                None
            );
        }
        // The next minute: one line with what came in between.
        assert_eq!(
            report.due(start + Duration::from_secs(60), 60_005),
            Some(60_000)
        );
        // Quiet after: nothing, however long.
        assert_eq!(report.due(start + Duration::from_secs(3600), 60_005), None);
    }

    #[test]
    fn what_counts_as_refused() {
        let stats = SessionStats {
            malformed: 1,
            auth_failures: 2,
            replays: 3,
            stale: 4,
            echoes: 100,
            unknown_keys: 5,
            wake_ups: 100,
            bad_frames: 6,
            handshakes: 100,
        };
        assert_eq!(DropReport::refused(&stats, 7), 28);
    }
}
