//! The watch: the rules over each round's readings, through the hysteresis, into the log as numbered changes; and acknowledging and muting from an app.

use super::alert_log::{AlertLog, Stored};
use super::hysteresis::{Timing, Tracker, Transition};
use super::rules::{Finding, Observation, Rules};
use super::settings::AlertsConfig;
use nodepair_protocol::api::alerts::{Acknowledgement, Alert, AlertChangeKind, MAX_MUTE_SECS, Rule};
use std::collections::{BTreeMap, BTreeSet};

/// Why an app's acknowledgement or mute was not recorded.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ActError {
    /// The log holds no alert with this id.
    #[error("no alert {0} on this manager (it may have been dropped from the log)")]
    NoSuchAlert(u64),
    /// A mute longer than [`MAX_MUTE_SECS`].
    #[error("a mute lasts at most {MAX_MUTE_SECS} seconds (a week), not {0}")]
    MuteTooLong(u64),
}

/// The rules, their conditions' states and the log.
#[derive(Debug)]
pub(crate) struct Watch {
    rules: Rules,
    tracker: Tracker<(Rule, String)>,
    log: AlertLog,
    /// When each open alert was last seen holding.
    last_seen: BTreeMap<u64, u64>,
    /// When each condition was last judged (holding or clear).
    judged_at: BTreeMap<(Rule, String), u64>,
}

/// A condition not judged for this long (its mount, unit or endpoint gone
/// from the machine or the configuration, or a crash alert carried over a
/// clean restart) counts as clear.
const UNJUDGED_MS: u64 = 10 * 60_000;

impl Watch {
    /// A watch going on from `log` (read back from disk); `crashed_at` when
    /// the manager's last run did not stop cleanly and this one started
    /// then. Open alerts stay open until seen clear long enough.
    pub(crate) fn new(log: AlertLog, crashed_at: Option<u64>) -> Watch {
        let mut tracker = Tracker::default();
        for alert in log.open_alerts() {
            tracker.resume((alert.rule, alert.subject.clone()), alert.severity);
        }
        Watch {
            rules: crashed_at.map_or_else(Rules::default, Rules::after_crash),
            tracker,
            log,
            last_seen: BTreeMap::new(),
            judged_at: BTreeMap::new(),
        }
    }

    /// The log.
    pub(crate) fn log(&self) -> &AlertLog {
        &self.log
    }

    /// `alert` as it is now: its last change, with when it was last seen.
    pub(crate) fn current(&self, alert: &Alert) -> Alert {
        let mut alert = alert.clone();
        if let Some(&seen) = self.last_seen.get(&alert.id) {
            alert.last_seen_ms = alert.last_seen_ms.max(seen);
        }
        alert
    }

    /// One round: `seen` judged at `now_ms`. Returns the changes recorded.
    pub(crate) fn observe(
        &mut self,
        seen: &Observation,
        config: &AlertsConfig,
        now_ms: u64,
    ) -> Vec<Stored> {
        let findings = self.rules.evaluate(seen, config, now_ms);
        let mut out = Vec::new();
        let mut evaluated = BTreeSet::new();
        for finding in &findings {
            let key = (finding.rule, finding.subject.clone());
            evaluated.insert(key.clone());
            self.judged_at.insert(key.clone(), now_ms);
            let transition =
                self.tracker
                    .observe(&key, finding.holds, now_ms, timing(finding.rule, config));
            if finding.holds.is_some()
                && let Some(open) = self.log.open_alert(finding.rule, &finding.subject)
            {
                self.last_seen.insert(open.id, now_ms);
            }
            if let Some(stored) = self.apply(&key, transition, Some(finding), now_ms) {
                out.push(stored);
            }
        }
        // A condition whose rule was turned off, or that nothing has judged
        // for a while (a reading that failed for a moment judges nothing
        // and changes nothing), is clear.
        let judged_at = &mut self.judged_at;
        let gone: Vec<(Rule, String)> = self
            .tracker
            .keys()
            .filter(|key| !evaluated.contains(*key))
            .filter(|key| {
                let since = *judged_at.entry((*key).clone()).or_insert(now_ms);
                !enabled(key.0, config) || now_ms.saturating_sub(since) >= UNJUDGED_MS
            })
            .cloned()
            .collect();
        for key in gone {
            let transition = self
                .tracker
                .observe(&key, None, now_ms, timing(key.0, config));
            if let Some(stored) = self.apply(&key, transition, None, now_ms) {
                out.push(stored);
            }
        }
        let tracked: BTreeSet<&(Rule, String)> = self.tracker.keys().collect();
        self.judged_at.retain(|key, _| tracked.contains(key));
        out
    }

    fn apply(
        &mut self,
        key: &(Rule, String),
        transition: Transition,
        finding: Option<&Finding>,
        now_ms: u64,
    ) -> Option<Stored> {
        match transition {
            Transition::Quiet => None,
            Transition::Fire { since_ms, severity } => {
                let finding = finding?;
                let id = self.log.take_id();
                self.last_seen.insert(id, now_ms);
                Some(self.log.record(
                    AlertChangeKind::Fired,
                    Alert {
                        id,
                        rule: key.0,
                        subject: key.1.clone(),
                        severity,
                        summary: finding.summary.clone(),
                        first_seen_ms: since_ms,
                        last_seen_ms: now_ms,
                        resolved_at_ms: None,
                        readings: finding.readings.clone(),
                        acknowledged: None,
                        muted_until_ms: None,
                        muted_by: None,
                    },
                ))
            }
            Transition::Worse(severity) => {
                let mut alert = self.current(self.log.open_alert(key.0, &key.1)?);
                alert.severity = severity;
                if let Some(finding) = finding {
                    alert.summary.clone_from(&finding.summary);
                    alert.readings.clone_from(&finding.readings);
                }
                Some(self.log.record(AlertChangeKind::Severity, alert))
            }
            Transition::Resolve => {
                let mut alert = self.current(self.log.open_alert(key.0, &key.1)?);
                alert.resolved_at_ms = Some(now_ms);
                self.last_seen.remove(&alert.id);
                Some(self.log.record(AlertChangeKind::Resolved, alert))
            }
        }
    }

    /// The app called `by` has seen alert `id`.
    ///
    /// # Errors
    ///
    /// [`ActError::NoSuchAlert`].
    pub(crate) fn acknowledge(
        &mut self,
        id: u64,
        by: &str,
        now_ms: u64,
    ) -> Result<Stored, ActError> {
        let mut alert = self.current(&self.log.last_of(id).ok_or(ActError::NoSuchAlert(id))?.alert);
        alert.acknowledged = Some(Acknowledgement {
            by: by.to_owned(),
            at_ms: now_ms,
        });
        Ok(self.log.record(AlertChangeKind::Acknowledged, alert))
    }

    /// Alert `id` muted `by` an app for `for_secs` from `now_ms` (0: unmuted).
    ///
    /// # Errors
    ///
    /// [`ActError::NoSuchAlert`], [`ActError::MuteTooLong`].
    pub(crate) fn mute(
        &mut self,
        id: u64,
        for_secs: u64,
        by: &str,
        now_ms: u64,
    ) -> Result<Stored, ActError> {
        if for_secs > MAX_MUTE_SECS {
            return Err(ActError::MuteTooLong(for_secs));
        }
        let mut alert = self.current(&self.log.last_of(id).ok_or(ActError::NoSuchAlert(id))?.alert);
        alert.muted_until_ms = (for_secs > 0).then(|| now_ms + for_secs * 1000);
        alert.muted_by = (for_secs > 0).then(|| by.to_owned());
        Ok(self.log.record(AlertChangeKind::Muted, alert))
    }
}

/// How long `rule`'s condition must hold and be clear.
fn timing(rule: Rule, config: &AlertsConfig) -> Timing {
    let clear_after_ms = config.clear_after_secs * 1000;
    let fire_after_ms = match rule {
        Rule::Load => config.load.minutes * 60_000,
        // An event, not a reading: it fires at once and clears when its
        // minutes are over.
        Rule::ManagerRestarted => 0,
        // Told when it is minutes away, and over when its slot begins.
        Rule::ValidatorProposal => 0,
        _ => config.fire_after_secs * 1000,
    };
    let clear_after_ms = if matches!(rule, Rule::ManagerRestarted | Rule::ValidatorProposal) {
        0
    } else {
        clear_after_ms
    };
    Timing {
        fire_after_ms,
        clear_after_ms,
    }
}

fn enabled(rule: Rule, config: &AlertsConfig) -> bool {
    match rule {
        Rule::DiskFree => config.disk_free.enabled,
        Rule::Memory => config.memory.enabled,
        Rule::Load => config.load.enabled,
        Rule::ConsensusSync => config.consensus_sync.enabled,
        Rule::ExecutionSync => config.execution_sync.enabled,
        Rule::Peers => config.peers.enabled,
        Rule::Endpoint => config.endpoint.enabled,
        Rule::UnitDown => config.unit_down.enabled,
        Rule::UnitRestarts => config.unit_restarts.enabled,
        Rule::ManagerRestarted => config.manager_restarted.enabled,
        Rule::ValidatorMissed => config.validator_missed.enabled,
        Rule::ValidatorBalance => config.validator_balance.enabled,
        Rule::ValidatorSlashed => config.validator_slashed.enabled,
        Rule::ValidatorExited => config.validator_exited.enabled,
        Rule::ValidatorProposal => config.validator_proposal.enabled,
        // No rule of this manager's.
        Rule::Unknown => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::DiskSpace;
    use nodepair_protocol::api::alerts::{AlertChange, Severity};

    fn disk(percent_free: u64) -> Observation {
        Observation {
            disks: vec![DiskSpace {
                mount: "/var".into(),
                total: 1000,
                available: percent_free * 10,
            }],
            ..Observation::default()
        }
    }

    fn kinds(stored: &[Stored]) -> Vec<AlertChangeKind> {
        stored.iter().map(|s| s.change().kind).collect()
    }

    #[test]
    fn a_full_disk_fires_once_worsens_resolves_and_every_change_is_numbered() {
        let config = AlertsConfig::default();
        let mut watch = Watch::new(AlertLog::default(), None);
        let mut all: Vec<AlertChange> = Vec::new();
        let mut round = |watch: &mut Watch, free: u64, at_s: u64| {
            let stored = watch.observe(&disk(free), &config, at_s * 1000);
            all.extend(stored.iter().map(|s| s.change().clone()));
            kinds(&stored)
        };
        assert!(round(&mut watch, 50, 0).is_empty());
        assert!(round(&mut watch, 8, 15).is_empty(), "not yet held a minute");
        assert_eq!(round(&mut watch, 8, 75), vec![AlertChangeKind::Fired]);
        assert_eq!(round(&mut watch, 3, 90), vec![AlertChangeKind::Severity]);
        assert!(
            round(&mut watch, 50, 105).is_empty(),
            "clear, not for long enough"
        );
        assert_eq!(round(&mut watch, 50, 225), vec![AlertChangeKind::Resolved]);
        assert_eq!(all.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        let resolved = &all[2].alert;
        assert_eq!(resolved.id, all[0].alert.id);
        assert_eq!(resolved.severity, Severity::Critical);
        assert_eq!(resolved.first_seen_ms, 15_000);
        assert_eq!(resolved.last_seen_ms, 90_000);
        assert_eq!(resolved.resolved_at_ms, Some(225_000));
        assert!(resolved.summary.contains("/var"), "{}", resolved.summary);
    }

    #[test]
    fn an_alert_open_at_a_restart_stays_open_and_numbers_go_on() {
        let config = AlertsConfig::default();
        let mut watch = Watch::new(AlertLog::default(), None);
        watch.observe(&disk(8), &config, 0);
        watch.observe(&disk(8), &config, 60_000);
        let changes: Vec<AlertChange> = watch.log().changes().cloned().collect();
        assert_eq!(changes.len(), 1);
        let mut again = Watch::new(AlertLog::from_changes(changes).unwrap(), None);
        assert!(
            again.observe(&disk(8), &config, 100_000).is_empty(),
            "not fired twice"
        );
        let stored = again.observe(&disk(50), &config, 200_000);
        assert!(stored.is_empty());
        let stored = again.observe(&disk(50), &config, 320_000);
        assert_eq!(kinds(&stored), vec![AlertChangeKind::Resolved]);
        assert_eq!(stored[0].change().seq, 2);
    }

    #[test]
    fn acknowledging_and_muting_are_changes_and_an_unknown_id_is_refused() {
        let config = AlertsConfig::default();
        let mut watch = Watch::new(AlertLog::default(), None);
        watch.observe(&disk(8), &config, 0);
        let fired = watch.observe(&disk(8), &config, 60_000);
        let id = fired[0].change().alert.id;
        let acked = watch.acknowledge(id, "laptop", 61_000).unwrap();
        assert_eq!(acked.change().kind, AlertChangeKind::Acknowledged);
        assert_eq!(
            acked
                .change()
                .alert
                .acknowledged
                .as_ref()
                .map(|a| a.by.as_str()),
            Some("laptop")
        );
        let muted = watch.mute(id, 3600, "desk", 62_000).unwrap();
        assert_eq!(
            muted.change().alert.muted_until_ms,
            Some(62_000 + 3_600_000)
        );
        assert_eq!(muted.change().alert.muted_by.as_deref(), Some("desk"));
        assert!(
            muted.change().alert.acknowledged.is_some(),
            "still acknowledged"
        );
        assert!(muted.change().alert.is_muted(62_001));
        let unmuted = watch.mute(id, 0, "desk", 63_000).unwrap();
        assert_eq!(unmuted.change().alert.muted_until_ms, None);
        assert_eq!(unmuted.change().alert.muted_by, None);
        assert_eq!(
            watch.acknowledge(99, "laptop", 0),
            Err(ActError::NoSuchAlert(99))
        );
        assert_eq!(
            watch.mute(id, MAX_MUTE_SECS + 1, "desk", 0),
            Err(ActError::MuteTooLong(MAX_MUTE_SECS + 1))
        );
        assert_eq!(watch.log().last_seq(), 4);
    }

    #[test]
    fn a_mount_that_goes_away_or_a_rule_turned_off_resolves_its_alert() {
        let mut config = AlertsConfig::default();
        let mut watch = Watch::new(AlertLog::default(), None);
        let two = |free_var: u64| Observation {
            disks: vec![
                DiskSpace {
                    mount: "/var".into(),
                    total: 1000,
                    available: free_var * 10,
                },
                DiskSpace {
                    mount: "/mnt/usb".into(),
                    total: 1000,
                    available: 10,
                },
            ],
            ..Observation::default()
        };
        watch.observe(&two(50), &config, 0);
        assert_eq!(
            kinds(&watch.observe(&two(50), &config, 60_000)),
            vec![AlertChangeKind::Fired]
        );
        // The USB disk is unmounted: not judged for five minutes changes
        // nothing (a reading can fail for a while)…
        assert!(watch.observe(&disk(50), &config, 70_000).is_empty());
        assert!(watch.observe(&disk(50), &config, 360_000).is_empty());
        // …ten minutes count as clear, and it resolves once clear long enough.
        assert!(watch.observe(&disk(50), &config, 660_000).is_empty());
        let stored = watch.observe(&disk(50), &config, 780_000);
        assert_eq!(kinds(&stored), vec![AlertChangeKind::Resolved]);
        assert_eq!(stored[0].change().alert.subject, "/mnt/usb");
        // The memory rule fires, then is turned off: clear at once.
        let low = Observation {
            memory: Some((100, 1)),
            ..Observation::default()
        };
        watch.observe(&low, &config, 800_000);
        assert_eq!(
            kinds(&watch.observe(&low, &config, 860_000)),
            vec![AlertChangeKind::Fired]
        );
        config.memory.enabled = false;
        watch.observe(&low, &config, 870_000);
        assert_eq!(
            kinds(&watch.observe(&low, &config, 990_000)),
            vec![AlertChangeKind::Resolved]
        );
    }

    #[test]
    fn a_crash_alert_carried_over_a_clean_restart_resolves() {
        let config = AlertsConfig::default();
        let mut crashed = Watch::new(AlertLog::default(), Some(0));
        assert_eq!(
            kinds(&crashed.observe(&Observation::default(), &config, 0)),
            vec![AlertChangeKind::Fired]
        );
        let changes = crashed.log().changes().cloned().collect();
        // Started again cleanly ten minutes later: nothing judges the crash.
        let mut clean = Watch::new(AlertLog::from_changes(changes).unwrap(), None);
        assert!(clean.observe(&Observation::default(), &config, 600_000).is_empty());
        let stored = clean.observe(&Observation::default(), &config, 1_200_000);
        assert_eq!(kinds(&stored), vec![AlertChangeKind::Resolved]);
        assert_eq!(stored[0].change().alert.rule, Rule::ManagerRestarted);
    }

    #[test]
    fn a_crash_before_this_start_fires_at_once_and_resolves_after_its_minutes() {
        let config = AlertsConfig::default();
        let mut watch = Watch::new(AlertLog::default(), Some(1_000));
        let stored = watch.observe(&Observation::default(), &config, 1_000);
        assert_eq!(kinds(&stored), vec![AlertChangeKind::Fired]);
        assert_eq!(stored[0].change().alert.rule, Rule::ManagerRestarted);
        assert!(
            watch
                .observe(&Observation::default(), &config, 30 * 60_000)
                .is_empty()
        );
        let stored = watch.observe(&Observation::default(), &config, 61 * 60_000 + 1_000);
        assert_eq!(kinds(&stored), vec![AlertChangeKind::Resolved]);
    }
}
