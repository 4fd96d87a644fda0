//! The Ethereum clients' rules: behind the chain or not moving, too few peers, the endpoint not answering.

use super::{Client, Finding, Rules, fact, finding, minutes};
use crate::alerts::settings::AlertsConfig;
use nodepair_protocol::api::alerts::{Rule, Severity};

impl Rules {
    pub(super) fn client(
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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{config, holds};
    use super::super::*;

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
}
