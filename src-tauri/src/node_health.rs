//! A node's health in one line (synced / behind N / down), read from a manager's `eth.status`, for the managers list.

use nodepair_protocol::api::ethereum::{EthStatusResponse, ExecutionSyncing};
use nodepair_protocol::api::reading::Reading;
use serde::Serialize;

/// Slots behind the head still counted as in sync (a block or two in flight).
pub const SYNCED_SLOTS: u64 = 2;

/// How a node stands, worst last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum HealthLevel {
    /// Both clients answer and follow the chain.
    Synced,
    /// A client answers but is syncing or behind.
    Behind,
    /// A client does not answer, or says it cannot work.
    Down,
}

/// The line a managers row shows about its node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, specta::Type)]
pub struct NodeHealth {
    /// How it stands.
    pub level: HealthLevel,
    /// For people: "Synced at slot 9,000,000", "Behind 120 slots",
    /// "Down: consensus client not answering".
    pub line: String,
}

/// The one line `status` makes, or none when the manager watches no client.
pub fn node_health(status: &EthStatusResponse) -> Option<NodeHealth> {
    let consensus = &status.consensus;
    let execution = &status.execution;
    if consensus.endpoint.is_none() && execution.endpoint.is_none() {
        return None;
    }
    let mut down = Vec::new();
    let mut behind = Vec::new();
    let mut synced_at = None;
    if consensus.endpoint.is_some() {
        match &consensus.syncing {
            Reading::Error(_) => down.push("consensus client not answering".to_owned()),
            Reading::Value(s) if s.el_offline == Some(true) => {
                down.push("consensus client cannot reach its execution client".to_owned());
            }
            Reading::Value(s) if s.is_syncing || s.sync_distance > SYNCED_SLOTS => {
                let slots = if s.sync_distance == 1 {
                    "slot"
                } else {
                    "slots"
                };
                behind.push(format!("behind {} {slots}", grouped(s.sync_distance)));
            }
            Reading::Value(s) => synced_at = Some(format!("slot {}", grouped(s.head_slot))),
        }
    }
    if execution.endpoint.is_some() {
        match &execution.syncing {
            Reading::Error(_) => down.push("execution client not answering".to_owned()),
            Reading::Value(ExecutionSyncing::Syncing {
                current_block,
                highest_block,
                ..
            }) => behind.push(format!(
                "execution {} blocks behind",
                grouped(highest_block.saturating_sub(*current_block))
            )),
            Reading::Value(ExecutionSyncing::Synced) => {
                if synced_at.is_none()
                    && let Some(Reading::Value(block)) = &execution.head
                {
                    synced_at = Some(format!("block {}", grouped(*block)));
                }
            }
        }
    }
    Some(if !down.is_empty() {
        NodeHealth {
            level: HealthLevel::Down,
            line: capitalised(&format!("down: {}", down.join(", "))),
        }
    } else if !behind.is_empty() {
        NodeHealth {
            level: HealthLevel::Behind,
            line: capitalised(&behind.join(", ")),
        }
    } else {
        NodeHealth {
            level: HealthLevel::Synced,
            line: match synced_at {
                Some(at) => format!("Synced at {at}"),
                None => "Synced".to_owned(),
            },
        }
    })
}

/// `9000000` → `9,000,000`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodepair_protocol::api::ethereum::{BeaconSyncing, ConsensusStatus, ExecutionStatus};
    use nodepair_protocol::api::reading::{ReadError, ReadErrorKind};

    fn failed() -> ReadError {
        ReadError {
            kind: ReadErrorKind::Unreachable,
            message: "connection refused".into(),
        }
    }

    fn beacon(distance: u64, syncing: bool) -> Reading<BeaconSyncing> {
        Reading::Value(BeaconSyncing {
            head_slot: 9_000_000,
            sync_distance: distance,
            is_syncing: syncing,
            is_optimistic: Some(false),
            el_offline: Some(false),
        })
    }

    fn status(
        consensus: Option<Reading<BeaconSyncing>>,
        execution: Option<Reading<ExecutionSyncing>>,
    ) -> EthStatusResponse {
        let unread = || Reading::Error(failed());
        EthStatusResponse {
            consensus: ConsensusStatus {
                endpoint: consensus.as_ref().map(|_| "http://127.0.0.1:5052".into()),
                version: unread(),
                syncing: consensus.unwrap_or_else(|| Reading::Error(failed())),
                peers: Reading::Error(failed()),
                health: Reading::Error(failed()),
            },
            execution: ExecutionStatus {
                endpoint: execution.as_ref().map(|_| "http://127.0.0.1:8545".into()),
                version: unread(),
                syncing: execution.unwrap_or(Reading::Value(ExecutionSyncing::Synced)),
                peers: Reading::Value(5),
                head: Some(Reading::Value(21_000_000)),
            },
            read_at_ms: 0,
        }
    }

    fn line(s: &EthStatusResponse) -> (HealthLevel, String) {
        let h = node_health(s).expect("a line");
        (h.level, h.line)
    }

    #[test]
    fn a_node_reads_synced_behind_or_down_in_one_line() {
        assert_eq!(
            line(&status(
                Some(beacon(0, false)),
                Some(Reading::Value(ExecutionSyncing::Synced))
            )),
            (HealthLevel::Synced, "Synced at slot 9,000,000".into())
        );
        assert_eq!(
            line(&status(Some(beacon(SYNCED_SLOTS, false)), None)),
            (HealthLevel::Synced, "Synced at slot 9,000,000".into()),
            "a slot or two in flight is in sync"
        );
        assert_eq!(
            line(&status(
                None,
                Some(Reading::Value(ExecutionSyncing::Synced))
            )),
            (HealthLevel::Synced, "Synced at block 21,000,000".into())
        );
        assert_eq!(
            line(&status(Some(beacon(1200, true)), None)),
            (HealthLevel::Behind, "Behind 1,200 slots".into())
        );
        let execution_syncing = Reading::Value(ExecutionSyncing::Syncing {
            starting_block: 0,
            current_block: 900,
            highest_block: 1000,
        });
        assert_eq!(
            line(&status(
                Some(beacon(0, false)),
                Some(execution_syncing.clone())
            )),
            (HealthLevel::Behind, "Execution 100 blocks behind".into())
        );
        assert_eq!(
            line(&status(
                Some(Reading::Error(failed())),
                Some(execution_syncing)
            )),
            (
                HealthLevel::Down,
                "Down: consensus client not answering".into()
            ),
            "down outranks behind"
        );
        assert_eq!(
            line(&status(
                Some(Reading::Error(failed())),
                Some(Reading::Error(failed()))
            )),
            (
                HealthLevel::Down,
                "Down: consensus client not answering, execution client not answering".into()
            )
        );
        let mut offline = status(Some(beacon(0, false)), None);
        if let Reading::Value(s) = &mut offline.consensus.syncing {
            s.el_offline = Some(true);
        }
        assert_eq!(line(&offline).0, HealthLevel::Down);
    }

    #[test]
    fn a_manager_watching_no_client_has_no_line() {
        assert_eq!(node_health(&status(None, None)), None);
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(12_345_678), "12,345,678");
    }
}
