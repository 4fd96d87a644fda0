//! The listed units' and containers' rules: not active (or a container unhealthy), or started again and again.

use super::{Finding, Observation, Rules, fact, finding, minutes};
use crate::alerts::settings::AlertsConfig;
use nodepair_protocol::api::alerts::{Rule, Severity};

impl Rules {
    pub(super) fn units(
        &mut self,
        seen: &Observation,
        config: &AlertsConfig,
        now_ms: u64,
        out: &mut Vec<Finding>,
    ) {
        let window_ms = config.unit_restarts.minutes * 60_000;
        for unit in &seen.units {
            if config.unit_down.enabled {
                let unhealthy = unit.health.as_deref() == Some("unhealthy");
                let down = unhealthy
                    || unit.unreadable.is_some()
                    || !matches!(
                        unit.active_state.as_str(),
                        "active" | "reloading" | "activating"
                    );
                let mut facts = vec![
                    fact("active_state", &unit.active_state),
                    fact("sub_state", &unit.sub_state),
                ];
                if let Some(health) = &unit.health {
                    facts.push(fact("health", health));
                }
                out.push(finding(
                    Rule::UnitDown,
                    &unit.name,
                    down.then_some(Severity::Critical),
                    if let Some(why) = &unit.unreadable {
                        format!("{}'s state cannot be read: {why}", unit.name)
                    } else if unhealthy {
                        format!(
                            "{} is {} ({}) but unhealthy",
                            unit.name, unit.active_state, unit.sub_state
                        )
                    } else {
                        format!(
                            "{} is {} ({})",
                            unit.name, unit.active_state, unit.sub_state
                        )
                    },
                    facts,
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

#[cfg(test)]
mod tests {
    use super::super::test_support::{config, holds};
    use super::super::*;

    #[test]
    fn a_unit_not_active_is_down_and_one_that_keeps_starting_is_restarting() {
        let mut rules = Rules::default();
        let unit = |state: &str, since: Option<u64>| Observation {
            units: vec![Unit {
                name: "geth.service".into(),
                active_state: state.into(),
                sub_state: "running".into(),
                state_since_ms: since,
                health: None,
                unreadable: None,
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
    fn a_running_container_that_is_unhealthy_is_down() {
        let mut rules = Rules::default();
        let container = |health: Option<&str>| Observation {
            units: vec![Unit {
                name: "geth".into(),
                active_state: "active".into(),
                sub_state: "running".into(),
                state_since_ms: Some(1),
                health: health.map(str::to_owned),
                unreadable: None,
            }],
            ..Observation::default()
        };
        let f = rules.evaluate(&container(Some("healthy")), &config(), 0);
        assert_eq!(holds(&f, Rule::UnitDown, "geth"), None);
        let f = rules.evaluate(&container(Some("unhealthy")), &config(), 1000);
        assert_eq!(holds(&f, Rule::UnitDown, "geth"), Some(Severity::Critical));
        let said = f.iter().find(|f| f.rule == Rule::UnitDown).unwrap();
        assert_eq!(said.summary, "geth is active (running) but unhealthy");
    }

    #[test]
    fn a_container_whose_engine_is_gone_is_down_and_says_why() {
        let mut rules = Rules::default();
        let seen = Observation {
            units: vec![Unit {
                name: "geth".into(),
                active_state: String::new(),
                sub_state: String::new(),
                state_since_ms: None,
                health: None,
                unreadable: Some("the container engine is unreachable: /var/run/docker.sock does not exist".into()),
            }],
            ..Observation::default()
        };
        let f = rules.evaluate(&seen, &config(), 0);
        assert_eq!(holds(&f, Rule::UnitDown, "geth"), Some(Severity::Critical));
        let said = f.iter().find(|f| f.rule == Rule::UnitDown).unwrap();
        assert!(said.summary.starts_with("geth's state cannot be read: the container engine is unreachable"), "{}", said.summary);
    }
}
