//! The validators' rules: attestations missed in some of the last epochs, a balance that fell over an epoch, slashed, an active validator exiting.

use super::{Finding, Observation, Rules, fact, finding};
use crate::alerts::settings::AlertsConfig;
use nodepair_protocol::api::alerts::{Rule, Severity};
use nodepair_protocol::api::validators::ValidatorStatus;

impl Rules {
    pub(super) fn validators(&mut self, seen: &Observation, config: &AlertsConfig, out: &mut Vec<Finding>) {
        for v in &seen.validators {
            let subject = format!("validator {}", v.index);
            if v.status.attests() {
                self.seen_active.insert(v.index);
            }
            let m = &config.validator_missed;
            if m.enabled && v.status.attests() {
                let last: Vec<bool> = v
                    .live
                    .iter()
                    .rev()
                    .take(m.of_last as usize)
                    .copied()
                    .collect();
                // Judged only once enough epochs were.
                if last.len() == m.of_last as usize {
                    let missed = last.iter().filter(|live| !**live).count();
                    let holds = if missed == last.len() {
                        Some(Severity::Critical)
                    } else if missed >= m.missed as usize {
                        Some(Severity::Warning)
                    } else {
                        None
                    };
                    out.push(finding(
                        Rule::ValidatorMissed,
                        &subject,
                        holds,
                        format!(
                            "Validator {} missed its attestation in {missed} of the last {} epochs",
                            v.index, m.of_last
                        ),
                        vec![fact("missed", missed), fact("of_last", m.of_last)],
                    ));
                }
            }
            if config.validator_balance.enabled
                && let Some(change) = v.change_epoch_gwei
            {
                out.push(finding(
                    Rule::ValidatorBalance,
                    &subject,
                    (change < 0).then_some(Severity::Warning),
                    format!("Validator {}'s balance fell by {} Gwei over the last epoch", v.index, -change),
                    vec![fact("change_gwei", change)],
                ));
            }
            if config.validator_slashed.enabled {
                out.push(finding(
                    Rule::ValidatorSlashed,
                    &subject,
                    v.status.slashed().then_some(Severity::Critical),
                    format!("Validator {} was slashed", v.index),
                    vec![fact("status", status_name(v.status))],
                ));
            }
            if config.validator_exited.enabled {
                let leaving = matches!(
                    v.status,
                    ValidatorStatus::ActiveExiting
                        | ValidatorStatus::ExitedUnslashed
                        | ValidatorStatus::ExitedSlashed
                );
                let news = leaving && self.seen_active.contains(&v.index);
                out.push(finding(
                    Rule::ValidatorExited,
                    &subject,
                    news.then_some(Severity::Warning),
                    format!("Validator {} is {}", v.index, status_name(v.status).replace('_', " ")),
                    vec![fact("status", status_name(v.status))],
                ));
            }
        }
    }
}

fn status_name(status: ValidatorStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{config, holds};
    use super::super::*;
    use nodepair_protocol::api::validators::ValidatorStatus;

    fn seen(status: ValidatorStatus, live: &[bool], change: Option<i64>) -> Observation {
        Observation {
            validators: vec![ValidatorSeen {
                index: 1_234_568,
                status,
                live: live.to_vec(),
                change_epoch_gwei: change,
            }],
            ..Observation::default()
        }
    }

    #[test]
    fn a_validator_missing_two_of_three_epochs_warns_and_all_three_is_critical() {
        let mut rules = Rules::default();
        let v = "validator 1234568";
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveOngoing, &[true, false, true], Some(12_000)), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorMissed, v), None);
        assert_eq!(holds(&f, Rule::ValidatorBalance, v), None);
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveOngoing, &[true, false, false], Some(-4_000)), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorMissed, v), Some(Severity::Warning));
        assert_eq!(holds(&f, Rule::ValidatorBalance, v), Some(Severity::Warning));
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveOngoing, &[false, false, false], None), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorMissed, v), Some(Severity::Critical));
        assert!(!f.iter().any(|f| f.rule == Rule::ValidatorBalance), "no change read: nothing judged");
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveOngoing, &[false], None), &config(), 0);
        assert!(!f.iter().any(|f| f.rule == Rule::ValidatorMissed), "one epoch judged is not enough");
    }

    #[test]
    fn slashed_is_critical_and_an_active_validator_exiting_is_news_but_one_never_seen_active_is_not() {
        let mut rules = Rules::default();
        let v = "validator 1234568";
        let f = rules.evaluate(&seen(ValidatorStatus::ExitedUnslashed, &[], None), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorExited, v), None, "exited before this run");
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveOngoing, &[], None), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorExited, v), None);
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveExiting, &[], None), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorExited, v), Some(Severity::Warning));
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveSlashed, &[], None), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorSlashed, v), Some(Severity::Critical));
        assert!(f.iter().any(|f| f.summary == "Validator 1234568 was slashed"));
    }
}
