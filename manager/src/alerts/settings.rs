//! The `[alerts]` section of manager.toml: how often the rules run, how long a condition must hold, and each rule's switch and thresholds.

use serde::{Deserialize, Serialize};

/// The `[alerts]` section. Every rule is on with the defaults below once
/// the `alerts` capability is; a rule's table turns it off
/// (`enabled = false`) or moves its thresholds. An unknown rule or key is
/// refused, so a typo is never silently ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AlertsConfig {
    /// Seconds between two evaluations of the rules (5 to 600).
    pub(crate) every_secs: u64,
    /// Seconds a condition must hold before its alert fires (0 to 3600).
    pub(crate) fire_after_secs: u64,
    /// Seconds it must be clear, without a break, before the alert
    /// resolves (0 to 3600).
    pub(crate) clear_after_secs: u64,
    /// Free space on each mount.
    pub(crate) disk_free: DiskFree,
    /// Available memory.
    pub(crate) memory: Memory,
    /// Load per CPU.
    pub(crate) load: Load,
    /// The consensus client's sync.
    pub(crate) consensus_sync: ConsensusSync,
    /// The execution client's sync.
    pub(crate) execution_sync: ExecutionSync,
    /// Each client's peers.
    pub(crate) peers: Peers,
    /// Each configured Ethereum endpoint answering.
    pub(crate) endpoint: Switch,
    /// Each listed unit active.
    pub(crate) unit_down: Switch,
    /// Each listed unit not restarting again and again.
    pub(crate) unit_restarts: UnitRestarts,
    /// The manager itself started again after it had not stopped cleanly.
    pub(crate) manager_restarted: ManagerRestarted,
    /// Each watched validator attesting (the `validators` capability).
    pub(crate) validator_missed: ValidatorMissed,
    /// Each watched validator's balance not falling.
    pub(crate) validator_balance: Switch,
    /// Each watched validator not slashed.
    pub(crate) validator_slashed: Switch,
    /// Each watched validator that was active not exiting.
    pub(crate) validator_exited: Switch,
    /// Each watched validator's block proposal coming (info).
    pub(crate) validator_proposal: ValidatorProposal,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            every_secs: 15,
            fire_after_secs: 60,
            clear_after_secs: 120,
            disk_free: DiskFree::default(),
            memory: Memory::default(),
            load: Load::default(),
            consensus_sync: ConsensusSync::default(),
            execution_sync: ExecutionSync::default(),
            peers: Peers::default(),
            endpoint: Switch::default(),
            unit_down: Switch::default(),
            unit_restarts: UnitRestarts::default(),
            manager_restarted: ManagerRestarted::default(),
            validator_missed: ValidatorMissed::default(),
            validator_balance: Switch::default(),
            validator_slashed: Switch::default(),
            validator_exited: Switch::default(),
            validator_proposal: ValidatorProposal::default(),
        }
    }
}

/// A rule with nothing to tune.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Switch {
    /// Whether it runs.
    pub(crate) enabled: bool,
}

impl Default for Switch {
    fn default() -> Self {
        Switch { enabled: true }
    }
}

/// `[alerts.disk_free]`: a mount's free space below a share of it, or
/// below a size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DiskFree {
    /// Whether it runs.
    pub(crate) enabled: bool,
    /// A warning below this share free, in percent.
    pub(crate) warn_below_percent: f64,
    /// Critical below this share free.
    pub(crate) critical_below_percent: f64,
    /// A warning below this much free, in GiB, whatever the share (0: off).
    pub(crate) warn_below_gib: f64,
    /// Mounts not watched (`/boot`).
    pub(crate) ignore: Vec<String>,
    /// Paths whose file system is watched as well, whatever it is (a
    /// tmpfs, a network mount the host view leaves out): absolute paths.
    pub(crate) paths: Vec<String>,
}

impl Default for DiskFree {
    fn default() -> Self {
        DiskFree {
            enabled: true,
            warn_below_percent: 10.0,
            critical_below_percent: 5.0,
            warn_below_gib: 0.0,
            ignore: Vec::new(),
            paths: Vec::new(),
        }
    }
}

/// `[alerts.memory]`: available memory below a share of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Memory {
    /// Whether it runs.
    pub(crate) enabled: bool,
    /// A warning below this share available, in percent.
    pub(crate) warn_below_percent: f64,
    /// Critical below this share.
    pub(crate) critical_below_percent: f64,
}

impl Default for Memory {
    fn default() -> Self {
        Memory {
            enabled: true,
            warn_below_percent: 10.0,
            critical_below_percent: 3.0,
        }
    }
}

/// `[alerts.load]`: the one-minute load per CPU above a level for minutes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Load {
    /// Whether it runs.
    pub(crate) enabled: bool,
    /// A warning above this load per CPU…
    pub(crate) warn_above_per_cpu: f64,
    /// …held this many minutes (1 to 1440).
    pub(crate) minutes: u64,
}

impl Default for Load {
    fn default() -> Self {
        Load {
            enabled: true,
            warn_above_per_cpu: 2.0,
            minutes: 10,
        }
    }
}

/// `[alerts.consensus_sync]`: the beacon node behind its head by slots, or
/// its head slot not moving.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ConsensusSync {
    /// Whether it runs.
    pub(crate) enabled: bool,
    /// A warning when more than this many slots behind.
    pub(crate) warn_behind_slots: u64,
    /// Critical when more than this many.
    pub(crate) critical_behind_slots: u64,
    /// Critical when its head slot has not moved for this many minutes
    /// (1 to 1440).
    pub(crate) stalled_minutes: u64,
}

impl Default for ConsensusSync {
    fn default() -> Self {
        ConsensusSync {
            enabled: true,
            warn_behind_slots: 32,
            critical_behind_slots: 320,
            stalled_minutes: 5,
        }
    }
}

/// `[alerts.execution_sync]`: the execution client behind the highest block
/// it knows of, or its head block not moving.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ExecutionSync {
    /// Whether it runs.
    pub(crate) enabled: bool,
    /// A warning when more than this many blocks behind.
    pub(crate) warn_behind_blocks: u64,
    /// Critical when more than this many.
    pub(crate) critical_behind_blocks: u64,
    /// Critical when its head block has not moved for this many minutes
    /// (1 to 1440).
    pub(crate) stalled_minutes: u64,
}

impl Default for ExecutionSync {
    fn default() -> Self {
        ExecutionSync {
            enabled: true,
            warn_behind_blocks: 64,
            critical_behind_blocks: 640,
            stalled_minutes: 5,
        }
    }
}

/// `[alerts.peers]`: each client's connected peers below a number; none at
/// all is critical.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Peers {
    /// Whether it runs.
    pub(crate) enabled: bool,
    /// A warning below this many for the consensus client.
    pub(crate) consensus_below: u64,
    /// A warning below this many for the execution client.
    pub(crate) execution_below: u64,
}

impl Default for Peers {
    fn default() -> Self {
        Peers {
            enabled: true,
            consensus_below: 10,
            execution_below: 5,
        }
    }
}

/// `[alerts.validator_missed]`: a validator not seen live in `missed` of
/// the last `of_last` epochs judged; critical when in all of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ValidatorMissed {
    /// Whether it runs.
    pub(crate) enabled: bool,
    /// Epochs missed that make it hold.
    pub(crate) missed: u32,
    /// Of how many of the last epochs judged (at most 16).
    pub(crate) of_last: u32,
}

impl Default for ValidatorMissed {
    fn default() -> Self {
        ValidatorMissed {
            enabled: true,
            missed: 2,
            of_last: 3,
        }
    }
}

/// `[alerts.validator_proposal]`: a watched validator proposes a block
/// within `within_minutes` (info: nothing is wrong, someone may want the
/// node up then).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ValidatorProposal {
    /// Whether it runs.
    pub(crate) enabled: bool,
    /// How long before the slot it holds (1 to 1440).
    pub(crate) within_minutes: u64,
}

impl Default for ValidatorProposal {
    fn default() -> Self {
        ValidatorProposal {
            enabled: true,
            within_minutes: 10,
        }
    }
}

/// `[alerts.unit_restarts]`: a unit that started more than a number of
/// times within minutes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct UnitRestarts {
    /// Whether it runs.
    pub(crate) enabled: bool,
    /// A warning after more than this many starts…
    pub(crate) more_than: u32,
    /// …within this many minutes (1 to 1440).
    pub(crate) minutes: u64,
}

impl Default for UnitRestarts {
    fn default() -> Self {
        UnitRestarts {
            enabled: true,
            more_than: 3,
            minutes: 15,
        }
    }
}

/// `[alerts.manager_restarted]`: the manager did not stop cleanly last time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ManagerRestarted {
    /// Whether it runs.
    pub(crate) enabled: bool,
    /// How long the alert stays open, in minutes (1 to 10080).
    pub(crate) minutes: u64,
}

impl Default for ManagerRestarted {
    fn default() -> Self {
        ManagerRestarted {
            enabled: true,
            minutes: 60,
        }
    }
}

impl AlertsConfig {
    /// The first setting out of its range, as a sentence naming it.
    pub(crate) fn check(&self) -> Result<(), String> {
        let range = |name: &str, value: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(format!("[alerts] {name} must be between {lo} and {hi}"))
            }
        };
        let percent = |name: &str, value: f64| {
            if (0.0..=100.0).contains(&value) {
                Ok(())
            } else {
                Err(format!("[alerts.{name} must be between 0 and 100"))
            }
        };
        range("every_secs", self.every_secs, 5, 600)?;
        range("fire_after_secs", self.fire_after_secs, 0, 3600)?;
        range("clear_after_secs", self.clear_after_secs, 0, 3600)?;
        let d = &self.disk_free;
        percent("disk_free] warn_below_percent", d.warn_below_percent)?;
        percent(
            "disk_free] critical_below_percent",
            d.critical_below_percent,
        )?;
        if d.critical_below_percent > d.warn_below_percent {
            return Err(
                "[alerts.disk_free] critical_below_percent must not be above warn_below_percent"
                    .into(),
            );
        }
        if !(d.warn_below_gib >= 0.0 && d.warn_below_gib.is_finite()) {
            return Err("[alerts.disk_free] warn_below_gib must be 0 or more".into());
        }
        if let Some(p) = d.paths.iter().find(|p| !p.starts_with('/')) {
            return Err(format!(
                "[alerts.disk_free] paths lists {p:?}, which is not an absolute path"
            ));
        }
        let m = &self.memory;
        percent("memory] warn_below_percent", m.warn_below_percent)?;
        percent("memory] critical_below_percent", m.critical_below_percent)?;
        if m.critical_below_percent > m.warn_below_percent {
            return Err(
                "[alerts.memory] critical_below_percent must not be above warn_below_percent"
                    .into(),
            );
        }
        if !(self.load.warn_above_per_cpu > 0.0 && self.load.warn_above_per_cpu <= 1000.0) {
            return Err("[alerts.load] warn_above_per_cpu must be above 0 and at most 1000".into());
        }
        let minutes = |name: &str, value: u64, hi: u64| {
            if (1..=hi).contains(&value) {
                Ok(())
            } else {
                Err(format!("[alerts.{name} must be between 1 and {hi}"))
            }
        };
        minutes("load] minutes", self.load.minutes, 1440)?;
        let c = &self.consensus_sync;
        if c.critical_behind_slots < c.warn_behind_slots {
            return Err(
                "[alerts.consensus_sync] critical_behind_slots must not be below warn_behind_slots"
                    .into(),
            );
        }
        minutes("consensus_sync] stalled_minutes", c.stalled_minutes, 1440)?;
        let e = &self.execution_sync;
        if e.critical_behind_blocks < e.warn_behind_blocks {
            return Err(
                "[alerts.execution_sync] critical_behind_blocks must not be below warn_behind_blocks"
                    .into(),
            );
        }
        minutes("execution_sync] stalled_minutes", e.stalled_minutes, 1440)?;
        minutes("unit_restarts] minutes", self.unit_restarts.minutes, 1440)?;
        let m = &self.validator_missed;
        if !(1..=16).contains(&m.of_last) || !(1..=m.of_last).contains(&m.missed) {
            return Err(
                "[alerts.validator_missed] needs 1 <= missed <= of_last <= 16".into(),
            );
        }
        minutes(
            "validator_proposal] within_minutes",
            self.validator_proposal.within_minutes,
            1440,
        )?;
        minutes(
            "manager_restarted] minutes",
            self.manager_restarted.minutes,
            10_080,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AlertsConfig, String> {
        let config: AlertsConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    #[test]
    fn the_defaults_pass_their_own_checks_and_a_table_moves_one_rule() {
        assert_eq!(parse("").unwrap(), AlertsConfig::default());
        let c = parse("[disk_free]\nwarn_below_percent = 20\n[load]\nenabled = false\n").unwrap();
        assert_eq!(c.disk_free.warn_below_percent, 20.0);
        assert_eq!(c.disk_free.critical_below_percent, 5.0);
        assert!(!c.load.enabled);
        assert!(c.memory.enabled);
    }

    #[test]
    fn an_unknown_rule_or_key_and_a_bad_value_are_named() {
        let e = parse("[dsk_free]\nenabled = false\n").unwrap_err();
        assert!(e.contains("dsk_free") && e.contains("disk_free"), "{e}");
        let e = parse("[memory]\nwarn_below = 5\n").unwrap_err();
        assert!(e.contains("warn_below"), "{e}");
        let e = parse("[disk_free]\nwarn_below_percent = 120\n").unwrap_err();
        assert_eq!(
            e,
            "[alerts.disk_free] warn_below_percent must be between 0 and 100"
        );
        let e = parse("every_secs = 1\n").unwrap_err();
        assert_eq!(e, "[alerts] every_secs must be between 5 and 600");
        let e = parse("[consensus_sync]\nwarn_behind_slots = 50\ncritical_behind_slots = 10\n")
            .unwrap_err();
        assert!(e.contains("critical_behind_slots"), "{e}");
        let e = parse("[disk_free]\npaths = [\"data\"]\n").unwrap_err();
        assert!(e.contains("\"data\", which is not an absolute path"), "{e}");
        let e = parse("[load]\nminutes = 0\n").unwrap_err();
        assert_eq!(e, "[alerts.load] minutes must be between 1 and 1440");
    }
}
