//! The validators' rules: attestations missed in some of the last epochs, a balance that fell over an epoch (not by a withdrawal), slashed, an active validator exiting, a block proposal coming (info) — one alert per validator, or one for all of them when many hold at once.

use super::{Finding, Observation, Rules, ValidatorSeen, fact, finding};
use crate::alerts::settings::AlertsConfig;
use nodepair_protocol::api::alerts::{Rule, Severity};
use nodepair_protocol::api::validators::ValidatorStatus;

/// Most validators one rule raises alerts for one by one; when more hold
/// at once (a validator client down for 10 000 keys), one alert about all
/// of them stands in, so a bad epoch is one notification, not thousands.
pub(crate) const MAX_ONE_BY_ONE: usize = 5;

/// The subject of an alert about many validators.
pub(crate) const MANY: &str = "validators";

/// Gwei a validator's balance is capped at before withdrawals (0x01
/// credentials): the excess is swept out.
const SWEPT_DOWN_TO_GWEI: u64 = 32_000_000_000;
/// Rewards a validator may earn between a sweep and the next reading.
const EARNED_SINCE_SWEEP_GWEI: u64 = 100_000;

impl Rules {
    pub(super) fn validators(
        &mut self,
        seen: &Observation,
        config: &AlertsConfig,
        now_ms: u64,
        out: &mut Vec<Finding>,
    ) {
        let mut per_rule: [Vec<Finding>; 5] = Default::default();
        for v in &seen.validators {
            let subject = format!("validator {}", v.index);
            // Exiting is news only when it was seen active and not leaving.
            if v.status == ValidatorStatus::ActiveOngoing {
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
                    per_rule[0].push(finding(
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
                let holds = (change < 0 && !withdrawn(v, change)).then_some(Severity::Warning);
                per_rule[1].push(finding(
                    Rule::ValidatorBalance,
                    &subject,
                    holds,
                    format!("Validator {}'s balance fell by {} Gwei over the last epoch", v.index, -change),
                    vec![fact("change_gwei", change)],
                ));
            }
            if config.validator_slashed.enabled {
                let slashed = v.slashed || v.status.slashed();
                per_rule[2].push(finding(
                    Rule::ValidatorSlashed,
                    &subject,
                    slashed.then_some(Severity::Critical),
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
                per_rule[3].push(finding(
                    Rule::ValidatorExited,
                    &subject,
                    news.then_some(Severity::Warning),
                    format!("Validator {} is {}", v.index, status_name(v.status).replace('_', " ")),
                    vec![fact("status", status_name(v.status))],
                ));
            }
            let p = &config.validator_proposal;
            if p.enabled
                && let Some((slot, Some(at_ms))) = v.next_proposal
            {
                let soon = at_ms >= now_ms && at_ms - now_ms <= p.within_minutes * 60_000;
                per_rule[4].push(finding(
                    Rule::ValidatorProposal,
                    &subject,
                    soon.then_some(Severity::Info),
                    format!(
                        "Validator {} proposes the block of slot {slot} in {}",
                        v.index,
                        in_about(at_ms.saturating_sub(now_ms))
                    ),
                    vec![fact("slot", slot), fact("at_ms", at_ms)],
                ));
            }
        }
        for (rule, findings) in [
            Rule::ValidatorMissed,
            Rule::ValidatorBalance,
            Rule::ValidatorSlashed,
            Rule::ValidatorExited,
            Rule::ValidatorProposal,
        ]
        .into_iter()
        .zip(per_rule)
        {
            one_by_one_or_together(rule, findings, out);
        }
    }
}

/// `findings` of one rule as they are, or — when more than
/// [`MAX_ONE_BY_ONE`] hold — each cleared and one alert about all of them
/// holding at the worst severity. The alert about all is judged (clear)
/// whenever any validator was, so it resolves when they recover.
fn one_by_one_or_together(rule: Rule, mut findings: Vec<Finding>, out: &mut Vec<Finding>) {
    if findings.is_empty() {
        return;
    }
    let holding: Vec<&Finding> = findings.iter().filter(|f| f.holds.is_some()).collect();
    let together = holding.len() > MAX_ONE_BY_ONE;
    let worst = holding.iter().filter_map(|f| f.holds).max();
    let named: Vec<&str> = holding
        .iter()
        .take(MAX_ONE_BY_ONE)
        .map(|f| f.subject.trim_start_matches("validator "))
        .collect();
    let summary = format!(
        "{} validators {}: {}{}",
        holding.len(),
        together_what(rule),
        named.join(", "),
        if holding.len() > named.len() {
            format!(" and {} more", holding.len() - named.len())
        } else {
            String::new()
        }
    );
    let count = holding.len();
    if together {
        for f in &mut findings {
            f.holds = None;
        }
    }
    out.append(&mut findings);
    out.push(finding(
        rule,
        MANY,
        if together { worst } else { None },
        summary,
        vec![fact("validators", count)],
    ));
}

fn together_what(rule: Rule) -> &'static str {
    match rule {
        Rule::ValidatorMissed => "are missing attestations",
        Rule::ValidatorBalance => "lost balance over the last epoch",
        Rule::ValidatorSlashed => "were slashed",
        Rule::ValidatorExited => "are exiting or exited",
        Rule::ValidatorProposal => "propose blocks soon",
        _ => "hold",
    }
}

/// Whether a fall of `change` brought the balance down to the 32 ETH a
/// withdrawal sweep leaves (plus what it earned since): a withdrawal, not
/// a loss.
fn withdrawn(v: &ValidatorSeen, change: i64) -> bool {
    let fell = change.unsigned_abs();
    v.balance_gwei >= SWEPT_DOWN_TO_GWEI
        && v.balance_gwei - SWEPT_DOWN_TO_GWEI <= EARNED_SINCE_SWEEP_GWEI
        && fell > v.balance_gwei - SWEPT_DOWN_TO_GWEI
        && fell > EARNED_SINCE_SWEEP_GWEI
}

/// "7 minutes", "40 seconds".
fn in_about(ms: u64) -> String {
    let secs = ms / 1000;
    if secs < 90 {
        format!("{secs} seconds")
    } else {
        super::minutes(secs.div_ceil(60))
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
    use super::{MANY, MAX_ONE_BY_ONE};
    use nodepair_protocol::api::validators::ValidatorStatus;

    const GWEI: u64 = 32_000_000_000;

    fn one(index: u64, status: ValidatorStatus, live: &[bool], change: Option<i64>) -> ValidatorSeen {
        ValidatorSeen {
            index,
            status,
            live: live.to_vec(),
            change_epoch_gwei: change,
            balance_gwei: GWEI + 1_000_000,
            slashed: status.slashed(),
            next_proposal: None,
        }
    }

    fn seen(status: ValidatorStatus, live: &[bool], change: Option<i64>) -> Observation {
        Observation {
            validators: vec![one(1_234_568, status, live, change)],
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
        assert_eq!(holds(&f, Rule::ValidatorMissed, MANY), None, "one is told one by one");
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveOngoing, &[false, false, false], None), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorMissed, v), Some(Severity::Critical));
        assert!(!f.iter().any(|f| f.rule == Rule::ValidatorBalance), "no change read: nothing judged");
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveOngoing, &[false], None), &config(), 0);
        assert!(!f.iter().any(|f| f.rule == Rule::ValidatorMissed), "one epoch judged is not enough");
    }

    #[test]
    fn a_withdrawal_sweep_is_no_loss_but_a_penalty_at_32_eth_is() {
        let mut rules = Rules::default();
        let v = "validator 1234568";
        let mut swept = seen(ValidatorStatus::ActiveOngoing, &[], Some(-41_234_567));
        swept.validators[0].balance_gwei = GWEI + 9_000;
        let f = rules.evaluate(&swept, &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorBalance, v), None, "swept down to 32 ETH");
        let mut penalised = seen(ValidatorStatus::ActiveOngoing, &[], Some(-9_000));
        penalised.validators[0].balance_gwei = GWEI + 1_000;
        let f = rules.evaluate(&penalised, &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorBalance, v), Some(Severity::Warning));
    }

    #[test]
    fn slashed_is_critical_and_an_active_validator_exiting_is_news_but_one_never_seen_active_is_not() {
        let mut rules = Rules::default();
        let v = "validator 1234568";
        let f = rules.evaluate(&seen(ValidatorStatus::ExitedUnslashed, &[], None), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorExited, v), None, "exited before this run");
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveExiting, &[], None), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorExited, v), None, "already exiting when first seen");
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveOngoing, &[], None), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorExited, v), None);
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveExiting, &[], None), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorExited, v), Some(Severity::Warning));
        let f = rules.evaluate(&seen(ValidatorStatus::ActiveSlashed, &[], None), &config(), 0);
        assert_eq!(holds(&f, Rule::ValidatorSlashed, v), Some(Severity::Critical));
        assert!(f.iter().any(|f| f.summary == "Validator 1234568 was slashed"));
        let mut withdrawn = seen(ValidatorStatus::WithdrawalPossible, &[], None);
        withdrawn.validators[0].slashed = true;
        let f = rules.evaluate(&withdrawn, &config(), 0);
        assert_eq!(
            holds(&f, Rule::ValidatorSlashed, v),
            Some(Severity::Critical),
            "slashed by the state's flag, whatever the status"
        );
    }

    #[test]
    fn a_proposal_within_the_minutes_is_info_and_clears_once_its_slot_began() {
        let mut rules = Rules::default();
        let v = "validator 1234568";
        let at = 1_700_000_000_000;
        let mut coming = seen(ValidatorStatus::ActiveOngoing, &[], None);
        coming.validators[0].next_proposal = Some((10_512_390, Some(at)));
        let f = rules.evaluate(&coming, &config(), at - 11 * 60_000);
        assert_eq!(holds(&f, Rule::ValidatorProposal, v), None, "11 minutes out: not yet");
        let f = rules.evaluate(&coming, &config(), at - 7 * 60_000);
        assert_eq!(holds(&f, Rule::ValidatorProposal, v), Some(Severity::Info));
        let said = f.iter().find(|f| f.rule == Rule::ValidatorProposal && f.subject == v).unwrap();
        assert_eq!(said.summary, "Validator 1234568 proposes the block of slot 10512390 in 7 minutes");
        let f = rules.evaluate(&coming, &config(), at + 1);
        assert_eq!(holds(&f, Rule::ValidatorProposal, v), None, "its slot began");
        coming.validators[0].next_proposal = Some((10_512_390, None));
        let f = rules.evaluate(&coming, &config(), at - 60_000);
        assert!(!f.iter().any(|f| f.rule == Rule::ValidatorProposal), "no genesis: no time, nothing judged");
    }

    #[test]
    fn many_validators_missing_at_once_are_one_alert_naming_a_few() {
        let mut rules = Rules::default();
        let all_down = Observation {
            validators: (0..10_000)
                .map(|i| one(1_000_000 + i, ValidatorStatus::ActiveOngoing, &[false, false, false], None))
                .collect(),
            ..Observation::default()
        };
        let f = rules.evaluate(&all_down, &config(), 0);
        let holding: Vec<&Finding> = f.iter().filter(|f| f.holds.is_some()).collect();
        assert_eq!(holding.len(), 1, "one alert, not 10 000");
        assert_eq!(holding[0].subject, MANY);
        assert_eq!(holding[0].holds, Some(Severity::Critical));
        assert_eq!(
            holding[0].summary,
            "10000 validators are missing attestations: 1000000, 1000001, 1000002, 1000003, 1000004 and 9995 more"
        );
        let few = Observation {
            validators: all_down.validators[..MAX_ONE_BY_ONE].to_vec(),
            ..Observation::default()
        };
        let f = rules.evaluate(&few, &config(), 0);
        assert_eq!(f.iter().filter(|f| f.holds.is_some()).count(), MAX_ONE_BY_ONE);
        assert_eq!(holds(&f, Rule::ValidatorMissed, MANY), None, "the alert about all clears");
    }
}
