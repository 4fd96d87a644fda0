//! `validators.status`: the operator's validators as the beacon node sees them — status, balance and how it moved, liveness over the last epochs, the last attestation reward, the next proposal and sync-committee duty — each part read on its own, so one that fails hides nothing else.

use super::Method;
use super::reading::Reading;
use serde::{Deserialize, Serialize};

/// The capability's name.
pub const CAPABILITY: &str = "validators";

/// Its methods.
pub const METHODS: &[super::MethodInfo] = &[super::MethodInfo::of::<ValidatorsStatus>()];

/// Its methods' bodies, for TypeScript.
#[cfg(feature = "specta")]
#[derive(Debug, Serialize, specta::Type)]
#[specta(inline)]
pub struct Methods {
    #[serde(rename = "validators.status")]
    status: super::Call<ValidatorsStatusRequest, ValidatorsStatusResponse>,
}

/// Most validators one answer holds; the app asks again after the last
/// index while `more` is set.
pub const MAX_PAGE: usize = 100;

/// Most listed keys the beacon node does not know one answer names (the
/// rest are counted).
pub const MAX_UNKNOWN_KEYS: usize = 20;

/// Epochs in a sync-committee period.
pub const EPOCHS_PER_SYNC_PERIOD: u64 = 256;

/// Epochs the liveness count covers.
pub const LIVENESS_EPOCHS: u32 = 10;

/// `validators.status`, answered by managers offering `validators`.
#[derive(Debug)]
pub struct ValidatorsStatus;

impl Method for ValidatorsStatus {
    const NAME: &'static str = "validators.status";
    const CAPABILITY: Option<&'static str> = Some(CAPABILITY);
    type Request = ValidatorsStatusRequest;
    type Response = ValidatorsStatusResponse;
}

/// Which page: the validators after `after_index` (none: from the first),
/// at most `limit` of them (none: [`MAX_PAGE`]; 0: only the summary).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ValidatorsStatusRequest {
    /// The last index of the page before.
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub after_index: Option<u64>,
    /// How many validators at most (more than [`MAX_PAGE`] is [`MAX_PAGE`]).
    #[serde(default)]
    pub limit: Option<u32>,
}

impl ValidatorsStatusRequest {
    /// How many validators the answer holds at most.
    pub fn page_len(&self) -> usize {
        self.limit
            .map_or(MAX_PAGE, |l| usize::try_from(l).unwrap_or(MAX_PAGE).min(MAX_PAGE))
    }
}

/// The watched validators, a page of them, and how each source read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ValidatorsStatusResponse {
    /// Where the chain is, as the beacon node says.
    pub chain: Reading<ChainPosition>,
    /// All watched validators counted (not only this page's).
    pub summary: Summary,
    /// This page's validators by index, or why the beacon node's state
    /// could not be read.
    pub validators: Reading<Vec<ValidatorView>>,
    /// Whether validators after this page's last are left.
    pub more: bool,
    /// Listed validators the beacon node does not know — public keys (a
    /// deposit not yet seen) or indices in decimal — the first
    /// [`MAX_UNKNOWN_KEYS`] of them.
    pub unknown_keys: Vec<String>,
    /// How many listed validators it does not know in all.
    pub unknown_count: u32,
    /// How the liveness of the last epoch read (`/eth/v1/validator/liveness`).
    pub liveness: Reading<Epoch>,
    /// How the attestation rewards read (`not_served` by a node without
    /// the endpoint).
    pub rewards: Reading<Epoch>,
    /// How the proposer duties read.
    pub duties: Reading<Epoch>,
    /// How the sync-committee duties read (this period's and the next's).
    pub sync_duties: Reading<Epoch>,
    /// How the keymanager's key list read, when one is configured.
    pub keymanager: Option<Reading<KeyCount>>,
    /// When it was read (ms since the Unix epoch).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub read_at_ms: u64,
}

/// The head's slot and epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChainPosition {
    /// Its slot.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub slot: u64,
    /// Its epoch.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub epoch: u64,
}

/// An epoch a source was read for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Epoch {
    /// Which.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub epoch: u64,
}

/// How many keys the keymanager holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct KeyCount {
    /// Public keys it signs for.
    pub keys: u32,
}

/// Every watched validator counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Summary {
    /// Watched.
    pub count: u32,
    /// Active (attesting).
    pub active: u32,
    /// Seen not live in the last epoch whose liveness was read.
    pub missed: u32,
    /// Slashed.
    pub slashed: u32,
    /// In the sync committee now.
    pub in_sync_committee: u32,
}

/// One validator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ValidatorView {
    /// Its index.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub index: u64,
    /// Its public key (`0x` and 96 hex digits): only ever the public one.
    pub pubkey: String,
    /// Where it stands.
    pub status: ValidatorStatus,
    /// Its balance, in Gwei.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub balance_gwei: u64,
    /// How the balance moved over the last epoch read, once two were.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub change_epoch_gwei: Option<i64>,
    /// How it moved over the last day (225 epochs), once a day was read.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub change_day_gwei: Option<i64>,
    /// Of the last [`LIVENESS_EPOCHS`] epochs, in how many it was seen live
    /// and in how many it was judged.
    pub live: LiveCount,
    /// Its attestation reward (negative: a penalty) in the epoch the
    /// rewards were read for, if they were.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub reward_gwei: Option<i64>,
    /// Its next block proposal, if one is known.
    pub next_proposal: Option<Proposal>,
    /// Its sync-committee duty, this period's or else the next's, if it
    /// has one.
    pub sync_committee: Option<SyncCommittee>,
}

/// A sync-committee duty: every slot of a period of
/// [`EPOCHS_PER_SYNC_PERIOD`] epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncCommittee {
    /// The period's first epoch.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub from_epoch: u64,
    /// The first epoch after it.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub until_epoch: u64,
    /// When it begins (ms since the Unix epoch), once the chain's genesis
    /// was read.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub from_ms: Option<u64>,
    /// When it ends, likewise.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub until_ms: Option<u64>,
}

/// Liveness over recent epochs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LiveCount {
    /// Epochs it was seen live in.
    pub live: u32,
    /// Epochs judged.
    pub judged: u32,
}

/// A block proposal duty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Proposal {
    /// Its slot.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub slot: u64,
    /// When the slot begins (ms since the Unix epoch), once the chain's
    /// genesis was read.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub at_ms: Option<u64>,
}

/// A validator's status, named as the Beacon API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ValidatorStatus {
    /// Deposited, not yet in the activation queue.
    PendingInitialized,
    /// In the activation queue.
    PendingQueued,
    /// Active, attesting.
    ActiveOngoing,
    /// Active, a voluntary exit filed.
    ActiveExiting,
    /// Active, slashed and to be exited.
    ActiveSlashed,
    /// Exited without being slashed.
    ExitedUnslashed,
    /// Exited after being slashed.
    ExitedSlashed,
    /// Its funds may be withdrawn.
    WithdrawalPossible,
    /// Its funds were withdrawn.
    WithdrawalDone,
    /// A status this version does not know.
    #[serde(other)]
    Unknown,
}

impl ValidatorStatus {
    /// Whether it must attest.
    pub fn attests(self) -> bool {
        matches!(
            self,
            ValidatorStatus::ActiveOngoing
                | ValidatorStatus::ActiveExiting
                | ValidatorStatus::ActiveSlashed
        )
    }

    /// Whether it was slashed.
    pub fn slashed(self) -> bool {
        matches!(
            self,
            ValidatorStatus::ActiveSlashed | ValidatorStatus::ExitedSlashed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::reading::{ReadError, ReadErrorKind};

    fn view(index: u64) -> ValidatorView {
        ValidatorView {
            index,
            pubkey: format!("0x{}", "a".repeat(96)),
            status: ValidatorStatus::ActiveOngoing,
            balance_gwei: 32_012_345_678,
            change_epoch_gwei: Some(-14_321),
            change_day_gwei: Some(3_024_000),
            live: LiveCount {
                live: 9,
                judged: 10,
            },
            reward_gwei: Some(i64::MIN),
            next_proposal: Some(Proposal {
                slot: u64::MAX,
                at_ms: Some(u64::MAX),
            }),
            sync_committee: Some(SyncCommittee {
                from_epoch: u64::MAX,
                until_epoch: u64::MAX,
                from_ms: Some(u64::MAX),
                until_ms: Some(u64::MAX),
            }),
        }
    }

    #[test]
    fn a_full_page_of_validators_fits_a_frame_and_reads_back() {
        let answer = ValidatorsStatusResponse {
            chain: Reading::Value(ChainPosition {
                slot: 10_512_345,
                epoch: 328_510,
            }),
            summary: Summary {
                count: 100_000,
                active: 99_000,
                missed: 12,
                slashed: 1,
                in_sync_committee: 3,
            },
            validators: Reading::Value((0..MAX_PAGE as u64).map(|i| view(u64::MAX - i)).collect()),
            more: true,
            unknown_keys: (0..MAX_UNKNOWN_KEYS).map(|i| format!("0x{i:096x}")).collect(),
            unknown_count: u32::MAX,
            liveness: Reading::Value(Epoch { epoch: 328_509 }),
            rewards: Reading::Error(ReadError {
                kind: ReadErrorKind::Failed,
                message: "404 from http://127.0.0.1:5052/eth/v1/beacon/rewards/attestations/328508"
                    .into(),
            }),
            duties: Reading::Value(Epoch { epoch: 328_510 }),
            sync_duties: Reading::Value(Epoch { epoch: 328_510 }),
            keymanager: Some(Reading::Value(KeyCount { keys: 4 })),
            read_at_ms: u64::MAX,
        };
        let bytes = crate::api::encode(&answer);
        assert!(
            bytes.len() + 1024 < crate::frame::MAX_FRAME_LEN,
            "{} bytes",
            bytes.len()
        );
        let back: ValidatorsStatusResponse = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, answer);
    }

    #[test]
    fn a_request_asks_a_page_of_at_most_a_hundred_or_only_the_summary() {
        let asked: ValidatorsStatusRequest = serde_json::from_str(r#"{"after_index": 7}"#).unwrap();
        assert_eq!(asked.after_index, Some(7));
        assert_eq!(asked.page_len(), MAX_PAGE, "no limit: a whole page");
        let asked: ValidatorsStatusRequest = serde_json::from_str(r#"{"limit": 0}"#).unwrap();
        assert_eq!(asked.page_len(), 0, "the summary alone");
        let asked: ValidatorsStatusRequest = serde_json::from_str(r#"{"limit": 4000000000}"#).unwrap();
        assert_eq!(asked.page_len(), MAX_PAGE, "never more than a page");
    }

    #[test]
    fn a_status_from_a_newer_beacon_node_reads_as_unknown() {
        let read: ValidatorStatus = serde_json::from_str("\"active_consolidating\"").unwrap();
        assert_eq!(read, ValidatorStatus::Unknown);
        let read: ValidatorStatus = serde_json::from_str("\"exited_slashed\"").unwrap();
        assert_eq!(read, ValidatorStatus::ExitedSlashed);
    }
}
