//! What the manager knows of its validators after each round of reading, and the pages of `validators.status` it answers from it: a function of the rounds' readings and the time, tested without IO.

use super::beacon_bodies::Validator;
use super::history::{EPOCHS_PER_DAY, History};
use nodepair_protocol::api::reading::{ReadErrorKind, Reading};
use nodepair_protocol::api::validators::{
    ChainPosition, EPOCHS_PER_SYNC_PERIOD, Epoch, KeyCount, LIVENESS_EPOCHS, LiveCount,
    MAX_UNKNOWN_KEYS, Proposal, Summary, SyncCommittee, ValidatorView, ValidatorsStatusRequest,
    ValidatorsStatusResponse,
};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Milliseconds in a slot (12 s on every network NodePair knows).
pub(crate) const SLOT_MS: u64 = 12_000;
/// Slots in an epoch.
pub(crate) const SLOTS_PER_EPOCH: u64 = 32;
/// How far ahead of the clock a head may be before it is not believed.
const AHEAD_SLOTS: u64 = 2 * SLOTS_PER_EPOCH;

/// A reading of something per epoch: the epoch asked, and what came.
pub(crate) type PerEpoch<T> = Option<(u64, Reading<Vec<T>>)>;

/// The sync-committee members read in an epoch: of its period, and of
/// the next.
pub(crate) type SyncRead = (u64, Reading<Vec<(u64, ())>>, Reading<Vec<(u64, ())>>);

/// One round's readings.
#[derive(Debug)]
pub(crate) struct Round {
    /// The head, as the beacon node says.
    pub(crate) chain: Reading<ChainPosition>,
    /// When the chain began (ms since the Unix epoch), if read.
    pub(crate) genesis_ms: Option<u64>,
    /// The watched validators as the head state holds them.
    pub(crate) validators: Reading<Vec<Validator>>,
    /// Every validator asked for: indices in decimal and public keys
    /// (from `[validators]` and the keymanager), each once.
    pub(crate) listed: Vec<String>,
    /// Liveness in an epoch, if asked this round.
    pub(crate) liveness: PerEpoch<(u64, bool)>,
    /// Attestation rewards in an epoch, if asked this round.
    pub(crate) rewards: PerEpoch<(u64, i64)>,
    /// Proposer duties of an epoch, if asked this round.
    pub(crate) proposers: PerEpoch<(u64, u64)>,
    /// Sync-committee members of the epoch's period and of the next, if
    /// asked this round.
    pub(crate) sync: Option<SyncRead>,
    /// The keymanager's keys, when one is configured.
    pub(crate) keymanager: Option<Reading<Vec<String>>>,
    /// When the round was read.
    pub(crate) now_ms: u64,
}

/// The head as read, unless it is further ahead of the clock than a node
/// in sync can be (then it is not believed: its epochs would push the real
/// ones out of the history).
pub(crate) fn checked_head(
    head: Reading<ChainPosition>,
    genesis_ms: Option<u64>,
    now_ms: u64,
) -> Reading<ChainPosition> {
    match (head, genesis_ms) {
        (Reading::Value(c), Some(genesis)) => {
            let clock_slot = now_ms.saturating_sub(genesis) / SLOT_MS;
            if c.slot > clock_slot.saturating_add(AHEAD_SLOTS) {
                Reading::error(
                    ReadErrorKind::Invalid,
                    format!(
                        "the beacon node's head, slot {}, is ahead of the clock (slot {clock_slot} now)",
                        c.slot
                    ),
                )
            } else {
                Reading::Value(c)
            }
        }
        (head, _) => head,
    }
}

/// What the rounds so far say.
#[derive(Debug)]
pub(crate) struct Watch {
    history: History,
    chain: Reading<ChainPosition>,
    /// The newest epoch the head was read in.
    last_epoch: Option<u64>,
    genesis_ms: Option<u64>,
    validators: Reading<Vec<Validator>>,
    unknown: Vec<String>,
    liveness: Reading<Epoch>,
    rewards: Reading<Epoch>,
    reward_by_index: BTreeMap<u64, i64>,
    duties: Reading<Epoch>,
    /// Each watched validator's next proposal slot.
    proposals: BTreeSet<(u64, u64)>,
    sync_duties: Reading<Epoch>,
    /// Each watched validator's sync-committee period, by its first epoch.
    sync_committees: BTreeMap<u64, u64>,
    keymanager: Option<Reading<KeyCount>>,
    read_at_ms: u64,
}

fn not_yet<T>(what: &str) -> Reading<T> {
    Reading::error(
        ReadErrorKind::NotConfigured,
        format!("{what} not read yet"),
    )
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            history: History::default(),
            chain: not_yet("the head"),
            last_epoch: None,
            genesis_ms: None,
            validators: not_yet("the validators"),
            unknown: Vec::new(),
            liveness: not_yet("liveness"),
            rewards: not_yet("attestation rewards"),
            reward_by_index: BTreeMap::new(),
            duties: not_yet("proposer duties"),
            proposals: BTreeSet::new(),
            sync_duties: not_yet("sync-committee duties"),
            sync_committees: BTreeMap::new(),
            keymanager: None,
            read_at_ms: 0,
        }
    }
}

impl Watch {
    /// Takes a round's readings. What a round did not ask keeps its last
    /// reading; what failed says so, and the values it had go.
    pub(crate) fn record(&mut self, mut round: Round) {
        if let Reading::Value(v) = &mut round.validators {
            v.sort_by_key(|v| v.index);
            v.dedup_by_key(|v| v.index);
        }
        self.read_at_ms = round.now_ms;
        self.chain = round.chain;
        self.genesis_ms = round.genesis_ms.or(self.genesis_ms);
        let epoch = match &self.chain {
            Reading::Value(c) => Some(c.epoch),
            Reading::Error(_) => None,
        };
        self.last_epoch = epoch.or(self.last_epoch);
        if let Reading::Value(validators) = &round.validators {
            if let Some(epoch) = epoch {
                for v in validators {
                    self.history.balance(v.index, epoch, v.balance_gwei);
                }
            }
            let watched: HashSet<u64> = validators.iter().map(|v| v.index).collect();
            self.history.retain(&watched);
            self.reward_by_index.retain(|index, _| watched.contains(index));
            self.proposals.retain(|(index, _)| watched.contains(index));
            self.sync_committees.retain(|index, _| watched.contains(index));
            let known: HashSet<String> = validators
                .iter()
                .flat_map(|v| [v.index.to_string(), v.pubkey.clone()])
                .collect();
            self.unknown = round
                .listed
                .into_iter()
                .filter(|id| !known.contains(id))
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
        let watched: HashSet<u64> = self.watched_indices();
        let head = self.head_slot();
        // A proposal whose slot the head passed is done, whatever else read
        // (and before new duties are weighed against what is kept).
        if let Some(head) = head {
            self.proposals.retain(|(_, slot)| *slot > head);
        }
        if let Some((epoch, read)) = round.proposers {
            self.duties = match read {
                Reading::Value(duties) => {
                    // Every proposal still to come is kept: when the next
                    // one's slot passes, the one after it is known.
                    for (index, slot) in duties {
                        if watched.contains(&index) && head.is_none_or(|h| slot > h) {
                            self.proposals.insert((index, slot));
                        }
                    }
                    Reading::Value(Epoch { epoch })
                }
                Reading::Error(e) => Reading::Error(e),
            };
        }
        if let Some((epoch, now, next)) = round.sync {
            let period = epoch - epoch % EPOCHS_PER_SYNC_PERIOD;
            let mut failed = None;
            // This period's membership wins over the next's.
            for (start, read) in [(period + EPOCHS_PER_SYNC_PERIOD, next), (period, now)] {
                match read {
                    Reading::Value(members) => {
                        self.sync_committees.retain(|_, from| *from != start);
                        for (index, ()) in members {
                            if watched.contains(&index) {
                                self.sync_committees.insert(index, start);
                            }
                        }
                    }
                    Reading::Error(e) => failed = Some(e),
                }
            }
            self.sync_duties = match failed {
                Some(e) => Reading::Error(e),
                None => Reading::Value(Epoch { epoch }),
            };
        }
        if let Some(epoch) = epoch {
            self.sync_committees
                .retain(|_, from| from.saturating_add(EPOCHS_PER_SYNC_PERIOD) > epoch);
        }
        if let Some(read) = round.keymanager {
            self.keymanager = Some(match read {
                Reading::Value(keys) => Reading::Value(KeyCount {
                    keys: count(keys.len()),
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

    fn watched_indices(&self) -> HashSet<u64> {
        match &self.validators {
            Reading::Value(v) => v.iter().map(|v| v.index).collect(),
            Reading::Error(_) => HashSet::new(),
        }
    }

    /// `index`'s earliest proposal still to come.
    fn next_proposal(&self, index: u64) -> Option<u64> {
        self.proposals
            .range((index, 0)..=(index, u64::MAX))
            .next()
            .map(|&(_, slot)| slot)
    }

    /// When `slot` begins, once the genesis was read.
    fn slot_ms(&self, slot: u64) -> Option<u64> {
        self.genesis_ms
            .map(|g| g.saturating_add(slot.saturating_mul(SLOT_MS)))
    }

    /// The page of `validators.status` the request asks — by index, after
    /// its `after_index`, at most its `page_len` — with the summary of all.
    pub(crate) fn page(&self, request: &ValidatorsStatusRequest) -> ValidatorsStatusResponse {
        let current = self.last_epoch.unwrap_or(0);
        // Missed: not live in the last epoch whose liveness was read.
        let judged = match &self.liveness {
            Reading::Value(e) => Some(e.epoch),
            Reading::Error(_) => None,
        };
        let (validators, more, summary) = match &self.validators {
            Reading::Value(all) => {
                // The reader keeps them by index, each once.
                let summary = Summary {
                    count: count(all.len()),
                    active: count(all.iter().filter(|v| v.status.attests()).count()),
                    missed: count(
                        all.iter()
                            .filter(|v| {
                                judged.is_some_and(|e| {
                                    self.history.missed(v.index, 1, e.saturating_add(1)) > 0
                                })
                            })
                            .count(),
                    ),
                    slashed: count(
                        all.iter()
                            .filter(|v| v.slashed || v.status.slashed())
                            .count(),
                    ),
                    in_sync_committee: count(
                        self.sync_committees
                            .values()
                            .filter(|from| **from <= current)
                            .count(),
                    ),
                };
                let from = match request.after_index {
                    Some(a) => all.partition_point(|v| v.index <= a),
                    None => 0,
                };
                let rest = &all[from..];
                let n = request.page_len().min(rest.len());
                let page: Vec<ValidatorView> =
                    rest[..n].iter().map(|v| self.view(v, current)).collect();
                (Reading::Value(page), rest.len() > n, summary)
            }
            Reading::Error(e) => (Reading::Error(e.clone()), false, Summary::default()),
        };
        ValidatorsStatusResponse {
            chain: self.chain.clone(),
            summary,
            validators,
            more,
            unknown_keys: self.unknown.iter().take(MAX_UNKNOWN_KEYS).cloned().collect(),
            unknown_count: count(self.unknown.len()),
            liveness: self.liveness.clone(),
            rewards: self.rewards.clone(),
            duties: self.duties.clone(),
            sync_duties: self.sync_duties.clone(),
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
                    balance_gwei: v.balance_gwei,
                    slashed: v.slashed,
                    next_proposal: self
                        .next_proposal(v.index)
                        .map(|slot| (slot, self.slot_ms(slot))),
                })
                .collect(),
        )
    }

    fn view(&self, v: &Validator, current: u64) -> ValidatorView {
        let (live, judged) = self
            .history
            .live_in(v.index, u64::from(LIVENESS_EPOCHS), current);
        let epoch_ms = |epoch: u64| self.slot_ms(epoch.saturating_mul(SLOTS_PER_EPOCH));
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
            next_proposal: self.next_proposal(v.index).map(|slot| Proposal {
                slot,
                at_ms: self.slot_ms(slot),
            }),
            sync_committee: self.sync_committees.get(&v.index).map(|&from| {
                let until = from.saturating_add(EPOCHS_PER_SYNC_PERIOD);
                SyncCommittee {
                    from_epoch: from,
                    until_epoch: until,
                    from_ms: epoch_ms(from),
                    until_ms: epoch_ms(until),
                }
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
            listed: Vec::new(),
            liveness: None,
            rewards: None,
            proposers: None,
            sync: None,
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
        next.listed = vec![key(1_234_567), key(9), "1234570".into(), "77".into()];
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
        // This epoch's (one already past the head) and the next's.
        next.proposers = Some((
            328_501,
            Reading::Value(vec![
                (1_234_568, 328_501 * 32 - 1),
                (1_234_567, 328_501 * 32 + 7),
                (42, 328_501 * 32 + 8),
                (1_234_568, 328_502 * 32 + 3),
            ]),
        ));
        // Epoch 328_501 is in the period from 328_448; the next from 328_704.
        next.sync = Some((
            328_501,
            Reading::Value(vec![(1_234_568, ()), (43, ())]),
            Reading::Value(vec![(1_234_569, ()), (1_234_568, ())]),
        ));
        watch.record(next);
        let page = watch.page(&ValidatorsStatusRequest::default());
        assert_eq!(
            page.summary,
            Summary {
                count: 4,
                active: 3,
                missed: 2,
                slashed: 1,
                in_sync_committee: 1,
            }
        );
        assert_eq!(
            page.unknown_keys,
            [key(9), "77".to_owned()],
            "a listed key and index the node does not know"
        );
        assert_eq!(page.unknown_count, 2);
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
        assert_eq!(proposal.at_ms, Some(GENESIS_MS + proposal.slot * SLOT_MS));
        assert_eq!(
            views[1].next_proposal.map(|p| p.slot),
            Some(328_502 * 32 + 3),
            "the next epoch's, not one the head passed"
        );
        let now = views[1].sync_committee.unwrap();
        assert_eq!((now.from_epoch, now.until_epoch), (328_448, 328_704), "this period's wins");
        assert_eq!(now.until_ms, Some(GENESIS_MS + 328_704 * 32 * SLOT_MS));
        assert_eq!(views[2].sync_committee.unwrap().from_epoch, 328_704, "the next period's");
        assert!(views[0].sync_committee.is_none());
        // The head passes the proposal's slot: it is done, though no duties
        // were read this round.
        let mut later = round(328_501, set(1));
        later.chain = Reading::Value(ChainPosition { slot: 328_501 * 32 + 8, epoch: 328_501 });
        watch.record(later);
        let page = watch.page(&ValidatorsStatusRequest::default());
        let Reading::Value(views) = &page.validators else {
            panic!("validators")
        };
        assert!(views[0].next_proposal.is_none(), "a past proposal is not a next duty");
        let summary_only = watch.page(&ValidatorsStatusRequest { after_index: None, limit: Some(0) });
        assert!(matches!(&summary_only.validators, Reading::Value(v) if v.is_empty()));
        assert!(summary_only.more);
        assert_eq!(summary_only.summary.count, 4);
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
            let page = watch.page(&ValidatorsStatusRequest {
                after_index: after,
                limit: None,
            });
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
        let page = watch.page(&ValidatorsStatusRequest::default());
        assert!(matches!(&page.validators, Reading::Error(e) if e.kind == ReadErrorKind::Timeout));
        assert_eq!(page.summary, Summary::default());
    }

    #[test]
    fn a_proposal_is_shown_every_round_while_its_slot_is_ahead() {
        // The head moves an epoch a round; each epoch's duties name this
        // validator in its last slot and the next epoch's.
        let mut watch = Watch::default();
        let p = 1_203_413;
        for epoch in 494_088..494_100u64 {
            let head = epoch * 32 + 16;
            let mut r = round(epoch, vec![validator(p, ValidatorStatus::ActiveOngoing, GWEI)]);
            r.chain = Reading::Value(ChainPosition { slot: head, epoch });
            r.proposers = Some((
                epoch,
                Reading::Value(vec![(p, epoch * 32 + 31), (p, (epoch + 1) * 32 + 31)]),
            ));
            watch.record(r);
            let page = watch.page(&ValidatorsStatusRequest::default());
            let Reading::Value(v) = &page.validators else {
                panic!("validators")
            };
            assert_eq!(
                v[0].next_proposal.map(|p| p.slot),
                Some(epoch * 32 + 31),
                "a past one kept from the round before hides nothing"
            );
        }
        // Its slot passes before the next epoch's duties are read: the
        // next epoch's, read with it, is the next.
        let mut r = round(494_099, vec![validator(p, ValidatorStatus::ActiveOngoing, GWEI)]);
        r.chain = Reading::Value(ChainPosition { slot: 494_099 * 32 + 31, epoch: 494_099 });
        watch.record(r);
        let page = watch.page(&ValidatorsStatusRequest::default());
        let Reading::Value(v) = &page.validators else {
            panic!("validators")
        };
        assert_eq!(v[0].next_proposal.map(|p| p.slot), Some(494_100 * 32 + 31));
    }

    #[test]
    fn a_head_ahead_of_the_clock_is_not_believed_and_unknown_keys_are_counted_not_all_sent() {
        let now = GENESIS_MS + 1000 * SLOTS_PER_EPOCH * SLOT_MS;
        let head = |slot| Reading::Value(ChainPosition { slot, epoch: slot / SLOTS_PER_EPOCH });
        assert!(matches!(checked_head(head(32_000), Some(GENESIS_MS), now), Reading::Value(_)));
        assert!(matches!(
            checked_head(head(u64::MAX / 2), Some(GENESIS_MS), now),
            Reading::Error(e) if e.kind == ReadErrorKind::Invalid && e.message.contains("ahead of the clock")
        ));
        assert!(matches!(checked_head(head(u64::MAX), None, now), Reading::Value(_)), "no genesis: nothing to judge by");
        let mut watch = Watch::default();
        let mut r = round(10, vec![validator(1, ValidatorStatus::ActiveOngoing, GWEI)]);
        r.listed = (0..10_000u64).map(key).collect();
        watch.record(r);
        let page = watch.page(&ValidatorsStatusRequest::default());
        assert_eq!(page.unknown_count, 9_999, "key(1) is known");
        assert_eq!(page.unknown_keys.len(), MAX_UNKNOWN_KEYS);
        assert!(nodepair_protocol::api::encode(&page).len() < 8 * 1024);
    }
}
