//! A beacon node on mainnet's clock with eight validators of one operator, for pictures of the validators panel: its head starts fourteen epochs behind the clock and catches up an epoch every 12 s (a manager's round), so the manager has ten epochs of liveness, balances and rewards within minutes; then it follows the clock.

use crate::fixtures::fixture;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Mainnet's genesis, seconds since the Unix epoch (`validators/genesis.json`).
pub(crate) const GENESIS: u64 = 1_606_824_023;
/// The operator's validators: index and status.
pub const VALIDATORS: [(u64, &str); 8] = [
    (1_203_411, "active_ongoing"),
    (1_203_412, "active_ongoing"),
    (1_203_413, "active_ongoing"),
    (1_203_414, "active_ongoing"),
    (1_288_090, "active_ongoing"),
    (1_288_091, "active_exiting"),
    (1_288_092, "active_ongoing"),
    (1_954_607, "pending_queued"),
];
/// The one that misses every third epoch (its machine reboots a lot).
const MISSER: u64 = 1_288_090;
/// The one with a block to propose in the last slot of every epoch.
const PROPOSER: u64 = 1_203_413;
/// The one in this period's sync committee.
const SYNCING: u64 = 1_203_412;

/// Mainnet's slot now.
pub(crate) fn clock_slot() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    now.saturating_sub(GENESIS) / 12
}

/// A made-up public key for `index`: 48 bytes that look random.
fn pubkey(index: u64) -> String {
    let mut x = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut hex = String::from("0x");
    for _ in 0..6 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        hex.push_str(&format!("{x:016x}"));
    }
    hex
}

fn missed(epoch: u64) -> bool {
    epoch.is_multiple_of(3)
}

/// `index`'s balance at `epoch`: its own start, about 14 200 Gwei an epoch
/// earned, 9 800 lost in each epoch it missed.
fn balance(index: u64, epoch: u64, first: u64) -> u64 {
    let start = 32_000_000_000 + (index % 97) * 193_411;
    let epochs = epoch.saturating_sub(first);
    if index == MISSER {
        let lost = (first..epoch).filter(|e| missed(*e)).count() as u64;
        start + (epochs - lost) * 14_200 - lost * 9_800
    } else if index == 1_954_607 {
        32_000_000_000
    } else {
        start + epochs * 14_200
    }
}

fn asked_indices(request: &Request) -> Vec<u64> {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let ids = body.get("ids").unwrap_or(&body);
    ids.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

fn epoch_in(request: &Request) -> u64 {
    request
        .url
        .path()
        .rsplit('/')
        .next()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0)
}

/// The beacon node, serving `/eth/v1/node/syncing`, the genesis, the head
/// state's validators, liveness, attestation rewards, proposer and
/// sync-committee duties.
///
/// # Panics
///
/// Never: mocks only mount.
pub async fn staking_node() -> MockServer {
    let beacon = MockServer::start().await;
    let first_slot = clock_slot() - 14 * 32;
    let first_epoch = first_slot / 32;
    let started = std::time::Instant::now();
    let head = move || (first_slot + 32 * (started.elapsed().as_secs() / 12)).min(clock_slot());
    Mock::given(method("GET"))
        .and(path("/eth/v1/node/syncing"))
        .respond_with(move |_: &Request| {
            ResponseTemplate::new(200).set_body_json(json!({"data": {
                "head_slot": head().to_string(), "sync_distance": "0", "is_syncing": false,
                "is_optimistic": false, "el_offline": false}}))
        })
        .mount(&beacon)
        .await;
    Mock::given(method("GET"))
        .and(path("/eth/v1/beacon/genesis"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("validators/genesis.json"), "application/json"),
        )
        .mount(&beacon)
        .await;
    Mock::given(method("POST"))
        .and(path("/eth/v1/beacon/states/head/validators"))
        .respond_with(move |request: &Request| {
            let epoch = head() / 32;
            let data: Vec<Value> = asked_indices(request)
                .into_iter()
                .filter_map(|i| VALIDATORS.iter().find(|(v, _)| *v == i))
                .map(|&(index, status)| {
                    json!({"index": index.to_string(), "balance": balance(index, epoch, first_epoch).to_string(),
                        "status": status, "validator": {"pubkey": pubkey(index), "slashed": false,
                        "effective_balance": "32000000000"}})
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"execution_optimistic": false, "finalized": false, "data": data}))
        })
        .mount(&beacon)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/eth/v1/validator/liveness/[0-9]+$"))
        .respond_with(|request: &Request| {
            let epoch = epoch_in(request);
            let data: Vec<Value> = asked_indices(request)
                .into_iter()
                .filter(|i| {
                    VALIDATORS
                        .iter()
                        .any(|(v, s)| v == i && s.starts_with("active"))
                })
                .map(
                    |i| json!({"index": i.to_string(), "is_live": !(i == MISSER && missed(epoch))}),
                )
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"data": data}))
        })
        .mount(&beacon)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/eth/v1/beacon/rewards/attestations/[0-9]+$"))
        .respond_with(|request: &Request| {
            let epoch = epoch_in(request);
            let total: Vec<Value> = asked_indices(request)
                .into_iter()
                .filter(|i| VALIDATORS.iter().any(|(v, s)| v == i && s.starts_with("active")))
                .map(|i| {
                    let (head, target, source) = if i == MISSER && missed(epoch) {
                        ("0", "-5812", "-3127")
                    } else {
                        ("3109", "5812", "3127")
                    };
                    json!({"validator_index": i.to_string(), "head": head, "target": target, "source": source, "inactivity": "0"})
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"execution_optimistic": false, "finalized": true, "data": {
                "ideal_rewards": [{"effective_balance": "32000000000", "head": "3109", "target": "5812", "source": "3127", "inclusion_delay": "", "inactivity": "0"}],
                "total_rewards": total}}))
        })
        .mount(&beacon)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/eth/v1/validator/duties/proposer/[0-9]+$"))
        .respond_with(|request: &Request| {
            let epoch = epoch_in(request);
            ResponseTemplate::new(200).set_body_json(json!({
                "dependent_root": "0x5c3e2b8f6f0a4a0d1f3a9f1e2d7c6b5a4938271605f4e3d2c1b0a99887766554",
                "execution_optimistic": false,
                "data": [{"pubkey": pubkey(PROPOSER), "validator_index": PROPOSER.to_string(), "slot": (epoch * 32 + 31).to_string()}]}))
        })
        .mount(&beacon)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/eth/v1/validator/duties/sync/[0-9]+$"))
        .respond_with(move |request: &Request| {
            let this_period = epoch_in(request) / 256 == first_epoch / 256;
            let data: Vec<Value> = if this_period && asked_indices(request).contains(&SYNCING) {
                vec![json!({"pubkey": pubkey(SYNCING), "validator_index": SYNCING.to_string(), "validator_sync_committee_indices": ["41", "297"]})]
            } else {
                Vec::new()
            };
            ResponseTemplate::new(200).set_body_json(json!({"execution_optimistic": false, "data": data}))
        })
        .mount(&beacon)
        .await;
    beacon
}
