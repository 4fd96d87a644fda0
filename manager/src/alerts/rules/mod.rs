//! The rules, as functions of what the manager read and when: which conditions hold now, how bad, and the readings behind each.
//!
//! What a round read ([`Observation`]) and what the rules found
//! ([`Finding`]) are here, with [`Rules::evaluate`], which asks each
//! family: the host's disks, memory and load (`host`), the Ethereum clients
//! (`clients`), the listed units (`units`), the watched validators
//! (`validators`), and the crash of the last run.

use super::settings::AlertsConfig;
use nodepair_protocol::api::alerts::{Fact, Rule, Severity};
use std::collections::{BTreeMap, VecDeque};

mod clients;
mod host;
mod units;
mod validators;

/// What the manager read in one round, in the terms the rules need.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Observation {
    /// Each mount's space.
    pub(crate) disks: Vec<DiskSpace>,
    /// Total and available memory, in bytes, if read.
    pub(crate) memory: Option<(u64, u64)>,
    /// The one-minute load and the number of CPUs, if read.
    pub(crate) load: Option<(f64, u32)>,
    /// The consensus client, if an endpoint is configured.
    pub(crate) consensus: Option<Client>,
    /// The execution client, if an endpoint is configured.
    pub(crate) execution: Option<Client>,
    /// The listed units.
    pub(crate) units: Vec<Unit>,
    /// The watched validators, if the `validators` capability read them.
    pub(crate) validators: Vec<ValidatorSeen>,
}

/// One watched validator, as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ValidatorSeen {
    /// Its index.
    pub(crate) index: u64,
    /// Where it stands.
    pub(crate) status: nodepair_protocol::api::validators::ValidatorStatus,
    /// Whether it was seen live in each of the last epochs judged, oldest
    /// first (at most 16).
    pub(crate) live: Vec<bool>,
    /// How its balance moved over the last epoch, once two were read.
    pub(crate) change_epoch_gwei: Option<i64>,
    /// Its balance now, in Gwei.
    pub(crate) balance_gwei: u64,
    /// Whether the state marks it slashed (whatever its status).
    pub(crate) slashed: bool,
    /// Its next block proposal: the slot, and when it begins (ms since the
    /// Unix epoch) if the chain's genesis is known.
    pub(crate) next_proposal: Option<(u64, Option<u64>)>,
}

/// One mount's space, in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DiskSpace {
    /// Where it is mounted.
    pub(crate) mount: String,
    /// Its size.
    pub(crate) total: u64,
    /// What is free for use.
    pub(crate) available: u64,
}

/// One Ethereum client as read through its endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Client {
    /// The endpoint, as configured (no credentials).
    pub(crate) endpoint: String,
    /// Why nothing came back, when none of its readings did.
    pub(crate) unreachable: Option<String>,
    /// Its head: slot (consensus) or block (execution), if read.
    pub(crate) head: Option<u64>,
    /// How far behind it says it is, if read (0 when in sync).
    pub(crate) behind: Option<u64>,
    /// Its connected peers, if read.
    pub(crate) peers: Option<u64>,
}

/// One listed unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unit {
    /// `geth.service`, or a container's name.
    pub(crate) name: String,
    /// systemd's `ActiveState`, `SubState`.
    pub(crate) active_state: String,
    /// systemd's `SubState`.
    pub(crate) sub_state: String,
    /// When its state last changed (ms since the epoch; systemd's
    /// `StateChangeTimestamp`, a container's start), if known.
    pub(crate) state_since_ms: Option<u64>,
    /// A container's health, when its image has a healthcheck.
    pub(crate) health: Option<String>,
    /// Why a container's state could not be read (its engine unreachable,
    /// or its answer unreadable): a container nobody can see is judged
    /// down, not left out.
    pub(crate) unreadable: Option<String>,
}

/// One condition, evaluated: a rule about a subject, holding with a
/// severity or clear, and what to say if it fires.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Finding {
    /// The rule.
    pub(crate) rule: Rule,
    /// What it is about.
    pub(crate) subject: String,
    /// Holding, how badly; `None`: clear.
    pub(crate) holds: Option<Severity>,
    /// One sentence describing what was read.
    pub(crate) summary: String,
    /// The readings behind it.
    pub(crate) readings: Vec<Fact>,
}

/// What the rules remember between rounds: heads and when they last moved,
/// when each unit started.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    consensus_head: Option<(u64, u64)>,
    execution_head: Option<(u64, u64)>,
    starts: BTreeMap<String, UnitStarts>,
    /// Validators seen attesting in this run (an exit then is news).
    seen_active: std::collections::BTreeSet<u64>,
    /// When the manager started after not stopping cleanly.
    crashed_at: Option<u64>,
}

#[derive(Debug, Default)]
struct UnitStarts {
    last_since: Option<u64>,
    at: VecDeque<u64>,
}

const GIB: f64 = (1u64 << 30) as f64;

fn fact(name: &str, value: impl ToString) -> Fact {
    Fact {
        name: name.to_owned(),
        value: value.to_string(),
    }
}

fn finding(
    rule: Rule,
    subject: &str,
    holds: Option<Severity>,
    summary: String,
    readings: Vec<Fact>,
) -> Finding {
    Finding {
        rule,
        subject: subject.to_owned(),
        holds,
        summary,
        readings,
    }
}

impl Rules {
    /// Rules for a manager that started at `now_ms` after a run that did
    /// not stop cleanly.
    pub(crate) fn after_crash(now_ms: u64) -> Rules {
        Rules {
            crashed_at: Some(now_ms),
            ..Rules::default()
        }
    }

    /// Every enabled rule over `seen` at `now_ms`: one finding per rule and
    /// subject it could judge (a reading that is missing judges nothing).
    pub(crate) fn evaluate(
        &mut self,
        seen: &Observation,
        config: &AlertsConfig,
        now_ms: u64,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        host::disks(seen, config, &mut out);
        host::memory(seen, config, &mut out);
        host::load(seen, config, &mut out);
        for (subject, client) in [
            ("consensus", seen.consensus.as_ref()),
            ("execution", seen.execution.as_ref()),
        ] {
            if let Some(client) = client {
                self.client(subject, client, config, now_ms, &mut out);
            }
        }
        self.units(seen, config, now_ms, &mut out);
        self.validators(seen, config, now_ms, &mut out);
        if config.manager_restarted.enabled
            && let Some(at) = self.crashed_at
        {
            let open_ms = config.manager_restarted.minutes * 60_000;
            let holds = (now_ms.saturating_sub(at) < open_ms).then_some(Severity::Warning);
            out.push(finding(
                Rule::ManagerRestarted,
                "",
                holds,
                "The manager started again after it had stopped without shutting down".into(),
                vec![fact("started_ms", at)],
            ));
            if holds.is_none() {
                self.crashed_at = None;
            }
        }
        out
    }
}

/// "1 minute", "5 minutes".
fn minutes(n: u64) -> String {
    if n == 1 {
        "1 minute".to_owned()
    } else {
        format!("{n} minutes")
    }
}

#[cfg(test)]
pub(super) mod test_support {
    use super::{AlertsConfig, Finding, Rule, Severity};

    pub(in crate::alerts) fn config() -> AlertsConfig {
        AlertsConfig::default()
    }

    pub(in crate::alerts) fn holds(findings: &[Finding], rule: Rule, subject: &str) -> Option<Severity> {
        findings
            .iter()
            .find(|f| f.rule == rule && f.subject == subject)
            .unwrap_or_else(|| panic!("no finding for {rule:?} {subject}: {findings:?}"))
            .holds
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{config, holds};
    use super::*;

    #[test]
    fn a_crash_before_this_start_holds_for_its_minutes_then_clears() {
        let mut rules = Rules::after_crash(0);
        let f = rules.evaluate(&Observation::default(), &config(), 1000);
        assert_eq!(
            holds(&f, Rule::ManagerRestarted, ""),
            Some(Severity::Warning)
        );
        let f = rules.evaluate(&Observation::default(), &config(), 60 * 60_000);
        assert_eq!(holds(&f, Rule::ManagerRestarted, ""), None);
        assert!(
            rules
                .evaluate(&Observation::default(), &config(), 61 * 60_000)
                .is_empty()
        );
        let mut off = config();
        off.manager_restarted.enabled = false;
        assert!(
            Rules::after_crash(0)
                .evaluate(&Observation::default(), &off, 1)
                .is_empty()
        );
    }
}
