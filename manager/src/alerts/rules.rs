//! The rules, as functions of what the manager read and when: which conditions hold now, how bad, and the readings behind each.

use super::settings::AlertsConfig;
use nodepair_protocol::api::alerts::{Fact, Rule, Severity};
use std::collections::{BTreeMap, VecDeque};

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
    /// `geth.service`.
    pub(crate) name: String,
    /// systemd's `ActiveState`, `SubState`.
    pub(crate) active_state: String,
    /// systemd's `SubState`.
    pub(crate) sub_state: String,
    /// When its state last changed (ms since the epoch; systemd's
    /// `StateChangeTimestamp`), if known.
    pub(crate) state_since_ms: Option<u64>,
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
        if config.disk_free.enabled {
            disks(seen, config, &mut out);
        }
        if config.memory.enabled
            && let Some((total, available)) = seen.memory
            && total > 0
        {
            let percent = available as f64 * 100.0 / total as f64;
            let m = &config.memory;
            let holds = if percent < m.critical_below_percent {
                Some(Severity::Critical)
            } else if percent < m.warn_below_percent {
                Some(Severity::Warning)
            } else {
                None
            };
            out.push(finding(
                Rule::Memory,
                "",
                holds,
                format!(
                    "{:.1} GiB of {:.1} GiB memory available ({percent:.1} %)",
                    available as f64 / GIB,
                    total as f64 / GIB
                ),
                vec![
                    fact("available_percent", format!("{percent:.1}")),
                    fact("available_bytes", available),
                ],
            ));
        }
        if config.load.enabled
            && let Some((load, cpus)) = seen.load
            && cpus > 0
        {
            let per_cpu = load / f64::from(cpus);
            let holds = (per_cpu > config.load.warn_above_per_cpu).then_some(Severity::Warning);
            out.push(finding(
                Rule::Load,
                "",
                holds,
                format!("Load {load:.2} on {cpus} CPUs ({per_cpu:.2} per CPU)"),
                vec![
                    fact("load1", format!("{load:.2}")),
                    fact("per_cpu", format!("{per_cpu:.2}")),
                ],
            ));
        }
        for (subject, client) in [
            ("consensus", seen.consensus.as_ref()),
            ("execution", seen.execution.as_ref()),
        ] {
            if let Some(client) = client {
                self.client(subject, client, config, now_ms, &mut out);
            }
        }
        self.units(seen, config, now_ms, &mut out);
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

    fn client(
        &mut self,
        subject: &str,
        client: &Client,
        config: &AlertsConfig,
        now_ms: u64,
        out: &mut Vec<Finding>,
    ) {
        let consensus = subject == "consensus";
        let name = if consensus { "consensus" } else { "execution" };
        if config.endpoint.enabled {
            let holds = client.unreachable.as_ref().map(|_| Severity::Critical);
            let summary = match &client.unreachable {
                Some(why) => format!(
                    "The {name} client at {} does not answer: {why}",
                    client.endpoint
                ),
                None => format!("The {name} client at {} answers", client.endpoint),
            };
            let mut readings = vec![fact("endpoint", &client.endpoint)];
            if let Some(why) = &client.unreachable {
                readings.push(fact("error", why));
            }
            out.push(finding(Rule::Endpoint, subject, holds, summary, readings));
        }
        let (sync_on, warn, critical, stalled_minutes, unit) = if consensus {
            let c = &config.consensus_sync;
            (
                c.enabled,
                c.warn_behind_slots,
                c.critical_behind_slots,
                c.stalled_minutes,
                "slots",
            )
        } else {
            let e = &config.execution_sync;
            (
                e.enabled,
                e.warn_behind_blocks,
                e.critical_behind_blocks,
                e.stalled_minutes,
                "blocks",
            )
        };
        let rule = if consensus {
            Rule::ConsensusSync
        } else {
            Rule::ExecutionSync
        };
        let last = if consensus {
            &mut self.consensus_head
        } else {
            &mut self.execution_head
        };
        // When the head last moved.
        if let Some(head) = client.head {
            match *last {
                Some((seen, _)) if seen == head => {}
                _ => *last = Some((head, now_ms)),
            }
        }
        if sync_on && (client.head.is_some() || client.behind.is_some()) {
            let behind = client.behind.unwrap_or(0);
            let still_for = last.map(|(_, since)| now_ms.saturating_sub(since));
            let stalled = still_for.is_some_and(|ms| ms >= stalled_minutes * 60_000);
            let holds = if stalled || behind > critical {
                Some(Severity::Critical)
            } else if behind > warn {
                Some(Severity::Warning)
            } else {
                None
            };
            let mut readings = vec![fact(&format!("behind_{unit}"), behind)];
            if let Some(head) = client.head {
                readings.push(fact("head", head));
            }
            let summary = if stalled {
                format!(
                    "The {name} client's head has not moved for {} ({behind} {unit} behind)",
                    minutes(still_for.unwrap_or(0) / 60_000)
                )
            } else {
                format!("The {name} client is {behind} {unit} behind")
            };
            out.push(finding(rule, subject, holds, summary, readings));
        }
        if config.peers.enabled
            && let Some(peers) = client.peers
        {
            let below = if consensus {
                config.peers.consensus_below
            } else {
                config.peers.execution_below
            };
            let holds = if peers == 0 {
                Some(Severity::Critical)
            } else if peers < below {
                Some(Severity::Warning)
            } else {
                None
            };
            out.push(finding(
                Rule::Peers,
                subject,
                holds,
                format!("The {name} client has {peers} peers"),
                vec![fact("peers", peers), fact("below", below)],
            ));
        }
    }

    fn units(
        &mut self,
        seen: &Observation,
        config: &AlertsConfig,
        now_ms: u64,
        out: &mut Vec<Finding>,
    ) {
        let window_ms = config.unit_restarts.minutes * 60_000;
        for unit in &seen.units {
            if config.unit_down.enabled {
                let down = !matches!(
                    unit.active_state.as_str(),
                    "active" | "reloading" | "activating"
                );
                out.push(finding(
                    Rule::UnitDown,
                    &unit.name,
                    down.then_some(Severity::Critical),
                    format!(
                        "{} is {} ({})",
                        unit.name, unit.active_state, unit.sub_state
                    ),
                    vec![
                        fact("active_state", &unit.active_state),
                        fact("sub_state", &unit.sub_state),
                    ],
                ));
            }
            // A start: active again, since a time not seen before.
            let starts = self.starts.entry(unit.name.clone()).or_default();
            if let Some(since) = unit.state_since_ms
                && unit.active_state == "active"
                && starts.last_since.is_some_and(|last| last != since)
            {
                starts.at.push_back(now_ms);
            }
            if unit.state_since_ms.is_some() {
                starts.last_since = unit.state_since_ms;
            }
            while starts
                .at
                .front()
                .is_some_and(|&t| now_ms.saturating_sub(t) > window_ms)
            {
                starts.at.pop_front();
            }
            if config.unit_restarts.enabled {
                let count = starts.at.len();
                let holds =
                    (count > config.unit_restarts.more_than as usize).then_some(Severity::Warning);
                out.push(finding(
                    Rule::UnitRestarts,
                    &unit.name,
                    holds,
                    format!(
                        "{} started {count} times in the last {}",
                        unit.name,
                        minutes(config.unit_restarts.minutes)
                    ),
                    vec![fact("starts", count)],
                ));
            }
        }
        self.starts
            .retain(|name, _| seen.units.iter().any(|u| &u.name == name));
    }
}

fn disks(seen: &Observation, config: &AlertsConfig, out: &mut Vec<Finding>) {
    let d = &config.disk_free;
    for disk in &seen.disks {
        if disk.total == 0 || d.ignore.iter().any(|m| m == &disk.mount) {
            continue;
        }
        let percent = disk.available as f64 * 100.0 / disk.total as f64;
        let gib = disk.available as f64 / GIB;
        let holds = if percent < d.critical_below_percent {
            Some(Severity::Critical)
        } else if percent < d.warn_below_percent || gib < d.warn_below_gib {
            Some(Severity::Warning)
        } else {
            None
        };
        out.push(finding(
            Rule::DiskFree,
            &disk.mount,
            holds,
            format!(
                "Disk {} has {} free ({percent:.1} %)",
                disk.mount,
                size(disk.available)
            ),
            vec![
                fact("free_percent", format!("{percent:.1}")),
                fact("free_bytes", disk.available),
                fact("total_bytes", disk.total),
            ],
        ));
    }
}

/// `bytes` for people: `4.1 GiB`, `512 MiB`.
fn size(bytes: u64) -> String {
    let mib = bytes as f64 / (1u64 << 20) as f64;
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
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
mod tests {
    use super::*;

    fn config() -> AlertsConfig {
        AlertsConfig::default()
    }

    fn holds(findings: &[Finding], rule: Rule, subject: &str) -> Option<Severity> {
        findings
            .iter()
            .find(|f| f.rule == rule && f.subject == subject)
            .unwrap_or_else(|| panic!("no finding for {rule:?} {subject}: {findings:?}"))
            .holds
    }

    #[test]
    fn disk_free_warns_below_the_share_or_the_size_and_is_critical_below_half() {
        let mut rules = Rules::default();
        let seen = |available: u64| Observation {
            disks: vec![
                DiskSpace {
                    mount: "/var".into(),
                    total: 100 << 30,
                    available,
                },
                DiskSpace {
                    mount: "/boot".into(),
                    total: 1 << 30,
                    available: 0,
                },
            ],
            ..Observation::default()
        };
        let mut c = config();
        c.disk_free.ignore = vec!["/boot".into()];
        let f = rules.evaluate(&seen(50 << 30), &c, 0);
        assert_eq!(holds(&f, Rule::DiskFree, "/var"), None);
        assert!(f.iter().all(|f| f.subject != "/boot"), "ignored");
        let f = rules.evaluate(&seen(9 << 30), &c, 0);
        assert_eq!(holds(&f, Rule::DiskFree, "/var"), Some(Severity::Warning));
        assert!(
            f[0].summary.contains("9.0 GiB free (9.0 %)"),
            "{}",
            f[0].summary
        );
        let f = rules.evaluate(&seen(4 << 30), &c, 0);
        assert_eq!(holds(&f, Rule::DiskFree, "/var"), Some(Severity::Critical));
        c.disk_free.warn_below_gib = 60.0;
        let f = rules.evaluate(&seen(50 << 30), &c, 0);
        assert_eq!(holds(&f, Rule::DiskFree, "/var"), Some(Severity::Warning));
    }

    #[test]
    fn memory_and_load_judge_shares_and_missing_readings_judge_nothing() {
        let mut rules = Rules::default();
        let mut seen = Observation {
            memory: Some((16 << 30, 1 << 30)),
            load: Some((9.0, 4)),
            ..Observation::default()
        };
        let f = rules.evaluate(&seen, &config(), 0);
        assert_eq!(holds(&f, Rule::Memory, ""), Some(Severity::Warning));
        assert_eq!(holds(&f, Rule::Load, ""), Some(Severity::Warning));
        seen.load = Some((7.9, 4));
        seen.memory = Some((16 << 30, 256 << 20));
        let f = rules.evaluate(&seen, &config(), 0);
        assert_eq!(holds(&f, Rule::Load, ""), None);
        assert_eq!(holds(&f, Rule::Memory, ""), Some(Severity::Critical));
        assert!(
            rules
                .evaluate(&Observation::default(), &config(), 0)
                .is_empty()
        );
    }

    #[test]
    fn a_client_behind_warns_far_behind_or_stalled_is_critical_and_unreachable_is_its_own() {
        let mut rules = Rules::default();
        let client = |head: u64, behind: u64| Client {
            endpoint: "http://127.0.0.1:5052".into(),
            head: Some(head),
            behind: Some(behind),
            peers: Some(50),
            ..Client::default()
        };
        let seen = |c: Client| Observation {
            consensus: Some(c),
            ..Observation::default()
        };
        let f = rules.evaluate(&seen(client(100, 0)), &config(), 0);
        assert_eq!(holds(&f, Rule::ConsensusSync, "consensus"), None);
        assert_eq!(holds(&f, Rule::Endpoint, "consensus"), None);
        assert_eq!(holds(&f, Rule::Peers, "consensus"), None);
        let f = rules.evaluate(&seen(client(110, 40)), &config(), 12_000);
        assert_eq!(
            holds(&f, Rule::ConsensusSync, "consensus"),
            Some(Severity::Warning)
        );
        let f = rules.evaluate(&seen(client(120, 400)), &config(), 24_000);
        assert_eq!(
            holds(&f, Rule::ConsensusSync, "consensus"),
            Some(Severity::Critical)
        );
        // The head stops at 120 while the node says it is in sync.
        let f = rules.evaluate(&seen(client(120, 0)), &config(), 24_000 + 4 * 60_000);
        assert_eq!(holds(&f, Rule::ConsensusSync, "consensus"), None);
        let f = rules.evaluate(&seen(client(120, 0)), &config(), 24_000 + 5 * 60_000);
        assert_eq!(
            holds(&f, Rule::ConsensusSync, "consensus"),
            Some(Severity::Critical)
        );
        assert!(
            f.iter()
                .any(|f| f.summary.contains("has not moved for 5 minutes")),
            "{f:?}"
        );
        let down = Client {
            endpoint: "http://127.0.0.1:5052".into(),
            unreachable: Some("connection refused".into()),
            ..Client::default()
        };
        let f = rules.evaluate(&seen(down), &config(), 25 * 60_000);
        assert_eq!(
            holds(&f, Rule::Endpoint, "consensus"),
            Some(Severity::Critical)
        );
        assert!(
            f.iter()
                .all(|f| f.rule != Rule::ConsensusSync && f.rule != Rule::Peers),
            "no readings, no judgement: {f:?}"
        );
    }

    #[test]
    fn an_execution_client_in_sync_whose_head_block_stops_is_stalled() {
        let mut rules = Rules::default();
        let seen = |head: u64| Observation {
            execution: Some(Client {
                endpoint: "http://127.0.0.1:8545".into(),
                head: Some(head),
                behind: Some(0),
                peers: Some(20),
                ..Client::default()
            }),
            ..Observation::default()
        };
        let f = rules.evaluate(&seen(1207), &config(), 0);
        assert_eq!(holds(&f, Rule::ExecutionSync, "execution"), None);
        let f = rules.evaluate(&seen(1208), &config(), 12_000);
        assert_eq!(holds(&f, Rule::ExecutionSync, "execution"), None);
        let f = rules.evaluate(&seen(1208), &config(), 12_000 + 5 * 60_000);
        assert_eq!(
            holds(&f, Rule::ExecutionSync, "execution"),
            Some(Severity::Critical)
        );
        assert!(
            f.iter()
                .any(|f| f.summary == "The execution client's head has not moved for 5 minutes (0 blocks behind)"),
            "{f:?}"
        );
    }

    #[test]
    fn peers_below_the_number_warn_and_none_is_critical_per_client() {
        let mut rules = Rules::default();
        let seen = Observation {
            consensus: Some(Client {
                peers: Some(3),
                ..Client::default()
            }),
            execution: Some(Client {
                peers: Some(0),
                ..Client::default()
            }),
            ..Observation::default()
        };
        let f = rules.evaluate(&seen, &config(), 0);
        assert_eq!(holds(&f, Rule::Peers, "consensus"), Some(Severity::Warning));
        assert_eq!(
            holds(&f, Rule::Peers, "execution"),
            Some(Severity::Critical)
        );
    }

    #[test]
    fn a_unit_not_active_is_down_and_one_that_keeps_starting_is_restarting() {
        let mut rules = Rules::default();
        let unit = |state: &str, since: Option<u64>| Observation {
            units: vec![Unit {
                name: "geth.service".into(),
                active_state: state.into(),
                sub_state: "running".into(),
                state_since_ms: since,
            }],
            ..Observation::default()
        };
        let f = rules.evaluate(&unit("active", Some(1)), &config(), 0);
        assert_eq!(holds(&f, Rule::UnitDown, "geth.service"), None);
        let f = rules.evaluate(&unit("failed", Some(1)), &config(), 1000);
        assert_eq!(
            holds(&f, Rule::UnitDown, "geth.service"),
            Some(Severity::Critical)
        );
        // Four starts within fifteen minutes: more than three.
        let mut last = Vec::new();
        for n in 2..=5u64 {
            last = rules.evaluate(&unit("active", Some(n)), &config(), n * 60_000);
        }
        assert_eq!(
            holds(&last, Rule::UnitRestarts, "geth.service"),
            Some(Severity::Warning)
        );
        // Sixteen minutes of quiet later, the starts have aged out.
        let f = rules.evaluate(&unit("active", Some(5)), &config(), 21 * 60_000);
        assert_eq!(holds(&f, Rule::UnitRestarts, "geth.service"), None);
    }

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
