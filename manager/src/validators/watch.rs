//! What the manager knows of its validators after each round of reading, and the pages of `validators.status` it answers from it: a function of the rounds' readings and the time, tested without IO.

use super::beacon_bodies::Validator;
use super::history::{EPOCHS_PER_DAY, History};
use nodepair_protocol::api::reading::Reading;
use nodepair_protocol::api::validators::{
    ChainPosition, Epoch, KeyCount, LIVENESS_EPOCHS, LiveCount, MAX_PAGE, Proposal, Summary,
    ValidatorView, ValidatorsStatusResponse,
};
use std::collections::BTreeMap;

/// Milliseconds in a slot (12 s on every network NodePair knows).
pub(crate) const SLOT_MS: u64 = 12_000;
/// Slots in an epoch.
pub(crate) const SLOTS_PER_EPOCH: u64 = 32;

/// A reading of something per epoch: the epoch asked, and what came.
pub(crate) type PerEpoch<T> = Option<(u64, Reading<Vec<T>>)>;

/// One round's readings.
#[derive(Debug)]
pub(crate) struct Round {
    /// The head, as the beacon node says.
    pub(crate) chain: Reading<ChainPosition>,
    /// When the chain began (ms since the Unix epoch), if read.
    pub(crate) genesis_ms: Option<u64>,
    /// The watched validators as the head state holds them.
    pub(crate) validators: Reading<Vec<Validator>>,
    /// Every public key listed (in `[validators]` and by the keymanager).
    pub(crate) listed_keys: Vec<String>,
    /// Liveness in an epoch, if asked this round.
    pub(crate) liveness: PerEpoch<(u64, bool)>,
    /// Attestation rewards in an epoch, if asked this round.
    pub(crate) rewards: PerEpoch<(u64, i64)>,
    /// Proposer duties of an epoch, if asked this round.
    pub(crate) proposers: PerEpoch<(u64, u64)>,
    /// The keymanager's keys, when one is configured.
    pub(crate) keymanager: Option<Reading<Vec<String>>>,
    /// When the round was read.
    pub(crate) now_ms: u64,
}

/// What the rounds so far say.
#[derive(Debug)]
pub(crate) struct Watch {
    history: History,
    chain: Reading<ChainPosition>,
    genesis_ms: Option<u64>,
    validators: Reading<Vec<Validator>>,
    unknown_keys: Vec<String>,
    liveness: Reading<Epoch>,
    rewards: Reading<Epoch>,
    reward_by_index: BTreeMap<u64, i64>,
    duties: Reading<Epoch>,
    /// Each watched validator's next proposal slot.
    proposals: BTreeMap<u64, u64>,
    keymanager: Option<Reading<KeyCount>>,
    read_at_ms: u64,
}

fn not_yet<T>(what: &str) -> Reading<T> {
    Reading::error(
        nodepair_protocol::api::reading::ReadErrorKind::NotConfigured,
        format!("{what} not read yet"),
    )
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            history: History::default(),
            chain: not_yet("the head"),
            genesis_ms: None,
            validators: not_yet("the validators"),
            unknown_keys: Vec::new(),
            liveness: not_yet("liveness"),
            rewards: not_yet("attestation rewards"),
            reward_by_index: BTreeMap::new(),
            duties: not_yet("proposer duties"),
            proposals: BTreeMap::new(),
            keymanager: None,
            read_at_ms: 0,
        }
    }
}

impl Watch {
    /// Takes a round's readings. What a round did not ask keeps its last
    /// reading; what failed says so, and the values it had go.
    pub(crate) fn record(&mut self, round: Round) {
        self.read_at_ms = round.now_ms;
        self.chain = round.chain;
        self.genesis_ms = round.genesis_ms.or(self.genesis_ms);
        let epoch = match &self.chain {
            Reading::Value(c) => Some(c.epoch),
            Reading::Error(_) => None,
        };
        if let (Some(epoch), Reading::Value(validators)) = (epoch, &round.validators) {
            for v in validators {
                self.history.balance(v.index, epoch, v.balance_gwei);
            }
            let watched: Vec<u64> = validators.iter().map(|v| v.index).collect();
            self.history.retain(&watched);
            self.unknown_keys = round
                .listed_keys
                .iter()
                .filter(|k| !validators.iter().any(|v| &v.pubkey == *k))
                .cloned()
                .collect();
        }
        self.validators = round.validators;
        if let Some((epoch, read)) = round.liveness {
            self.liveness = match read {
                Reading::Value(seen) => {
                    for (index, live) in seen {
                        self.history.liveness(index, epoch, live);
                    }
                    Reading::Value(Epoch { epoch })
                }
                Reading::Error(e) => Reading::Error(e),
            };
        }
        if let Some((epoch, read)) = round.rewards {
            self.reward_by_index.clear();
            self.rewards = match read {
                Reading::Value(rewards) => {
                    self.reward_by_index.extend(rewards);
                    Reading::Value(Epoch { epoch })
                }
                Reading::Error(e) => Reading::Error(e),
            };
        }
        if let Some((epoch, read)) = round.proposers {
            self.duties = match read {
                Reading::Value(duties) => {
                    let watched = self.watched_indices();
                    // Past slots go; the earliest coming one stays per validator.
                    let head = self.head_slot().unwrap_or(0);
                    self.proposals.retain(|_, slot| *slot >= head);
                    for (index, slot) in duties {
                        if slot >= head && watched.contains(&index) {
                            let next = self.proposals.entry(index).or_insert(slot);
                            *next = (*next).min(slot);
                        }
                    }
                    Reading::Value(Epoch { epoch })
                }
                Reading::Error(e) => Reading::Error(e),
            };
        }
        if let Some(read) = round.keymanager {
            self.keymanager = Some(match read {
                Reading::Value(keys) => Reading::Value(KeyCount {
                    keys: u32::try_from(keys.len()).unwrap_or(u32::MAX),
                }),
                Reading::Error(e) => Reading::Error(e),
            });
        }
    }

    fn head_slot(&self) -> Option<u64> {
        match &self.chain {
            Reading::Value(c) => Some(c.slot),
            Reading::Error(_) => None,
        }
    }

    fn watched_indices(&self) -> Vec<u64> {
        match &self.validators {
            Reading::Value(v) => v.iter().map(|v| v.index).collect(),
            Reading::Error(_) => Vec::new(),
        }
    }

    /// The page of `validators.status` after `after_index`, at most
    /// [`MAX_PAGE`] by index, with the summary of all.
    pub(crate) fn page(&self, after_index: Option<u64>) -> ValidatorsStatusResponse {
        let current = match &self.chain {
            Reading::Value(c) => c.epoch,
            Reading::Error(_) => 0,
        };
        let (validators, more, summary) = match &self.validators {
            Reading::Value(all) => {
                let mut sorted: Vec<&Validator> = all.iter().collect();
                sorted.sort_by_key(|v| v.index);
                let summary = Summary {
                    count: count(sorted.len()),
                    active: count(sorted.iter().filter(|v| v.status.attests()).count()),
                    missed: count(
                        sorted
                            .iter()
                            .filter(|v| self.history.missed(v.index, 1, current) > 0)
                            .count(),
                    ),
                    slashed: count(
                        sorted
                            .iter()
                            .filter(|v| v.slashed || v.status.slashed())
                            .count(),
                    ),
                };
                let mut after = sorted
                    .into_iter()
                    .filter(|v| after_index.is_none_or(|a| v.index > a))
                    .peekable();
                let page: Vec<ValidatorView> = after
                    .by_ref()
                    .take(MAX_PAGE)
                    .map(|v| self.view(v, current))
                    .collect();
                let more = after.peek().is_some();
                (Reading::Value(page), more, summary)
            }
            Reading::Error(e) => (Reading::Error(e.clone()), false, Summary::default()),
        };
        ValidatorsStatusResponse {
            chain: self.chain.clone(),
            summary,
            validators,
            more,
            unknown_keys: self.unknown_keys.clone(),
            liveness: self.liveness.clone(),
            rewards: self.rewards.clone(),
            duties: self.duties.clone(),
            keymanager: self.keymanager.clone(),
            read_at_ms: self.read_at_ms,
        }
    }

    /// The validators as the alert rules see them, or none when the last
    /// round could not read them (then they judge nothing).
    pub(crate) fn seen(&self) -> Option<Vec<crate::alerts::rules::ValidatorSeen>> {
        let Reading::Value(all) = &self.validators else {
            return None;
        };
        let current = match &self.chain {
            Reading::Value(c) => c.epoch,
            Reading::Error(_) => return None,
        };
        Some(
            all.iter()
                .map(|v| crate::alerts::rules::ValidatorSeen {
                    index: v.index,
                    status: v.status,
                    live: self.history.recent(v.index, 16, current),
                    change_epoch_gwei: self.history.change(v.index, 1),
                })
                .collect(),
        )
    }

    fn view(&self, v: &Validator, current: u64) -> ValidatorView {
        let (live, judged) = self
            .history
            .live_in(v.index, u64::from(LIVENESS_EPOCHS), current);
        ValidatorView {
            index: v.index,
            pubkey: v.pubkey.clone(),
            status: v.status,
            balance_gwei: v.balance_gwei,
            change_epoch_gwei: self.history.change(v.index, 1),
            change_day_gwei: self.history.change(v.index, EPOCHS_PER_DAY),
            live: LiveCount {
                live: count(usize::try_from(live).unwrap_or(usize::MAX)),
                judged: count(usize::try_from(judged).unwrap_or(usize::MAX)),
            },
            reward_gwei: self.reward_by_index.get(&v.index).copied(),
            next_proposal: self.proposals.get(&v.index).map(|&slot| Proposal {
                slot,
                at_ms: self
                    .genesis_ms
                    .map_or(0, |g| g.saturating_add(slot.saturating_mul(SLOT_MS))),
            }),
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodepair_protocol::api::reading::ReadErrorKind;
    use nodepair_protocol::api::validators::ValidatorStatus;

    const GENESIS_MS: u64 = 1_606_824_023_000;
    const GWEI: u64 = 32_000_000_000;

    fn key(n: u64) -> String {
        format!("0x{n:096x}")
    }

    fn validator(index: u64, status: ValidatorStatus, balance: u64) -> Validator {
        Validator {
            index,
            pubkey: key(index),
            status,
            balance_gwei: balance,
            slashed: status.slashed(),
        }
    }

    fn round(epoch: u64, validators: Vec<Validator>) -> Round {
        Round {
            chain: Reading::Value(ChainPosition {
                slot: epoch * SLOTS_PER_EPOCH,
                epoch,
            }),
            genesis_ms: Some(GENESIS_MS),
            validators: Reading::Value(validators),
            listed_keys: Vec::new(),
            liveness: None,
            rewards: None,
            proposers: None,
            keymanager: None,
            now_ms: GENESIS_MS + epoch * SLOTS_PER_EPOCH * SLOT_MS,
        }
    }

    #[test]
    fn four_validators_in_mixed_states_with_changes_liveness_rewards_and_a_proposal() {
        let mut watch = Watch::default();
        let set = |epoch: u64| {
            vec![
                validator(
                    1_234_567,
                    ValidatorStatus::ActiveOngoing,
                    GWEI + epoch * 10_000,
                ),
                validator(
                    1_234_568,
                    ValidatorStatus::ActiveOngoing,
                    GWEI - epoch * 3_000,
                ),
                validator(1_234_569, ValidatorStatus::ActiveSlashed, GWEI / 2),
                validator(1_234_570, ValidatorStatus::PendingQueued, GWEI),
            ]
        };
        watch.record(round(328_500, set(0)));
        let mut next = round(328_501, set(1));
        next.listed_keys = vec![key(1_234_567), key(9)];
        next.liveness = Some((
            328_500,
            Reading::Value(vec![
                (1_234_567, true),
                (1_234_568, false),
                (1_234_569, false),
            ]),
        ));
        next.rewards = Some((
            328_499,
            Reading::error(ReadErrorKind::NotServed, "POST …: 404 Not Found"),
        ));
        next.proposers = Some((
            328_501,
            Reading::Value(vec![(1_234_567, 328_501 * 32 + 7), (42, 328_501 * 32 + 8)]),
        ));
        watch.record(next);
        let page = watch.page(None);
        assert_eq!(
            page.summary,
            Summary {
                count: 4,
                active: 3,
                missed: 2,
                slashed: 1
            }
        );
        assert_eq!(
            page.unknown_keys,
            [key(9)],
            "a listed key the node does not know"
        );
        assert!(matches!(&page.rewards, Reading::Error(e) if e.kind == ReadErrorKind::NotServed));
        let Reading::Value(views) = &page.validators else {
            panic!("validators")
        };
        assert_eq!(views[0].change_epoch_gwei, Some(10_000));
        assert_eq!(
            views[1].change_epoch_gwei,
            Some(-3_000),
            "an epoch that lost"
        );
        assert_eq!(
            views[0].change_day_gwei, None,
            "not a day of readings: none, not zero"
        );
        assert_eq!(views[1].live, LiveCount { live: 0, judged: 1 });
        assert_eq!(
            views[3].live,
            LiveCount { live: 0, judged: 0 },
            "pending: never judged"
        );
        let proposal = views[0].next_proposal.unwrap();
        assert_eq!(proposal.slot, 328_501 * 32 + 7);
        assert_eq!(proposal.at_ms, GENESIS_MS + proposal.slot * SLOT_MS);
        assert!(
            views[1].next_proposal.is_none(),
            "another's duty is not ours"
        );
    }

    #[test]
    fn ten_thousand_validators_come_in_pages_and_a_failed_read_says_why() {
        let mut watch = Watch::default();
        let many: Vec<Validator> = (0..10_000u64)
            .rev()
            .map(|i| validator(1_000_000 + i, ValidatorStatus::ActiveOngoing, GWEI))
            .collect();
        watch.record(round(10, many));
        let mut after = None;
        let mut seen = 0;
        loop {
            let page = watch.page(after);
            let bytes = nodepair_protocol::api::encode(&page);
            assert!(bytes.len() < nodepair_protocol::frame::MAX_FRAME_LEN - 1024);
            let Reading::Value(views) = &page.validators else {
                panic!("validators")
            };
            seen += views.len();
            after = views.last().map(|v| v.index);
            if !page.more {
                break;
            }
        }
        assert_eq!(seen, 10_000);
        let mut down = round(11, Vec::new());
        down.validators = Reading::error(ReadErrorKind::Timeout, "POST …: did not answer in time");
        watch.record(down);
        let page = watch.page(None);
        assert!(matches!(&page.validators, Reading::Error(e) if e.kind == ReadErrorKind::Timeout));
        assert_eq!(page.summary, Summary::default());
    }
}
