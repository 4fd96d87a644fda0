//! Validators across processes: a real `nodepair-manager run` daemon reading
//! a beacon node and a keymanager (local servers answering with the specs'
//! bodies, tests/fixtures/ethereum/validators), an app in this process
//! asking `validators.status` over a local relay; what must be refused is.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_peer::Peer;
use nodepair_protocol::Status;
use nodepair_protocol::api::reading::{ReadErrorKind, Reading};
use nodepair_protocol::api::validators::{
    ValidatorStatus, ValidatorsStatus, ValidatorsStatusRequest, ValidatorsStatusResponse,
};
use nodepair_protocol::api::{self, Method};
use nodepair_tests::fixtures::fixture;
use nodepair_tests::net::{App, AppHome, Daemon, ManagerHome, Relay, online, pair, stop};
use nodepair_tests::{Sandbox, json_of, stderr};
use std::time::Duration;
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LONG: Duration = Duration::from_secs(30);

fn json(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(fixture(&format!("validators/{name}")), "application/json")
}

/// A beacon node with four validators (one slashed, one queued), which
/// does not serve attestation rewards; a keymanager holding their keys.
async fn node() -> (MockServer, MockServer) {
    let beacon = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/eth/v1/node/syncing"))
        .respond_with(json("syncing.json"))
        .mount(&beacon)
        .await;
    state_and_genesis(&beacon).await;
    Mock::given(method("POST"))
        .and(path_regex("^/eth/v1/validator/liveness/[0-9]+$"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [
            {"index": "1234567", "is_live": true}, {"index": "1234568", "is_live": false},
            {"index": "1234569", "is_live": false}]})),
        )
        .mount(&beacon)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/eth/v1/beacon/rewards/attestations/[0-9]+$"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            serde_json::json!({"code": 404, "message": "Epoch not known or required data not available"}),
        ))
        .mount(&beacon)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/eth/v1/validator/duties/proposer/[0-9]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "dependent_root": "0xcf8e0d4e9587369b2301d0790347320302cc0943d5a1884560367e8208d920f2",
            "execution_optimistic": false,
            "data": [{"pubkey": "0x8658465092af60922914b0291c1b7a5a273fd7ec4790e9af68dbda671dd49d80e828d789df28eea5819f22116c0b42ed",
                      "validator_index": "1234567", "slot": "10512350"}]})))
        .mount(&beacon)
        .await;
    let keymanager = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/eth/v1/keystores"))
        .and(header("authorization", "Bearer api-token-0x5e3c"))
        .respond_with(json("keystores.json"))
        .mount(&keymanager)
        .await;
    (beacon, keymanager)
}

/// The chain's genesis and the four validators of the fixtures.
async fn state_and_genesis(beacon: &MockServer) {
    for (m, p, body) in [
        ("GET", "/eth/v1/beacon/genesis", "genesis.json"),
        (
            "POST",
            "/eth/v1/beacon/states/head/validators",
            "validators.json",
        ),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(json(body))
            .mount(beacon)
            .await;
    }
}

/// validator-1 running with `capabilities` and `extra` in its manager.toml,
/// paired with an app in this process, online.
async fn paired(
    sandbox: &Sandbox,
    relay: &Relay,
    capabilities: &[&str],
    extra: &str,
) -> (ManagerHome, Daemon, Peer) {
    let home = ManagerHome::with_config(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        LONG * 4,
        capabilities,
        extra,
    );
    let daemon = home.run(sandbox);
    let app = App::new("laptop", &[&relay.addr]).start().await;
    let (out, _) = pair(sandbox, &home, &app).await;
    assert!(out.status.success(), "{}", stderr(&out));
    online(&app, daemon.public_key(), LONG).await;
    (home, daemon, app)
}

fn token_file(dir: &std::path::Path, mode: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let file = dir.join(format!("api-token-{mode:o}.txt"));
    std::fs::write(&file, "api-token-0x5e3c\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_read_from_the_beacon_node_and_keymanager_reach_the_app_and_bad_settings_stop_the_start()
 {
    let (beacon, keymanager) = node().await;
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let extra = format!(
        "\n[ethereum]\nbeacon_url = \"{}\"\ntimeout_ms = 1000\n\n[validators]\nkeymanager_url = \"{}\"\ntoken_file = \"{}\"\n",
        beacon.uri(),
        keymanager.uri(),
        token_file(sandbox.path(), 0o600).display()
    );
    let (_home, daemon, app) = paired(&sandbox, &relay, &["info", "validators"], &extra).await;
    let manager = daemon.public_key();
    let ask = || async {
        let reply = app
            .request(
                manager,
                ValidatorsStatus::NAME,
                api::encode(&ValidatorsStatusRequest::default()),
            )
            .await
            .unwrap();
        assert_eq!(reply.status, Status::OK);
        api::decode_response::<ValidatorsStatus>(&reply.body).unwrap()
    };
    // The first round comes at once; its answer once it is read.
    let deadline = tokio::time::Instant::now() + LONG;
    let answer: ValidatorsStatusResponse = loop {
        let read = ask().await;
        if matches!(&read.validators, Reading::Value(v) if !v.is_empty()) {
            break read;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not read in time: {read:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let Reading::Value(views) = &answer.validators else {
        panic!("{answer:?}")
    };
    let statuses: Vec<(u64, ValidatorStatus)> = views.iter().map(|v| (v.index, v.status)).collect();
    assert_eq!(
        statuses,
        [
            (1_234_567, ValidatorStatus::ActiveOngoing),
            (1_234_568, ValidatorStatus::ActiveOngoing),
            (1_234_569, ValidatorStatus::ActiveSlashed),
            (1_234_570, ValidatorStatus::PendingQueued),
        ]
    );
    assert_eq!(views[0].balance_gwei, 32_012_345_678);
    assert_eq!(
        (
            answer.summary.count,
            answer.summary.active,
            answer.summary.slashed
        ),
        (4, 3, 1)
    );
    assert_eq!(
        answer.summary.missed, 2,
        "1234568 and 1234569 not seen live"
    );
    assert!(
        matches!(&answer.rewards, Reading::Error(e) if e.kind == ReadErrorKind::NotServed),
        "{:?}",
        answer.rewards
    );
    assert!(
        matches!(&answer.keymanager, Some(Reading::Value(k)) if k.keys == 4),
        "{:?}",
        answer.keymanager
    );
    let proposal = views[0].next_proposal.expect("a proposal duty");
    assert_eq!(proposal.slot, 10_512_350);
    assert_eq!(
        proposal.at_ms,
        Some((1_606_824_023 + 10_512_350 * 12) * 1000)
    );
    assert!(views[1].next_proposal.is_none());
    stop(app).await;
    daemon.kill();

    // A token file its group or others can read, or no beacon node to
    // read: the manager does not start (exit 78), saying why.
    let exposed = format!(
        "\n[ethereum]\nbeacon_url = \"{}\"\n\n[validators]\nkeymanager_url = \"{}\"\ntoken_file = \"{}\"\n",
        beacon.uri(),
        keymanager.uri(),
        token_file(sandbox.path(), 0o644).display()
    );
    let bad = ManagerHome::with_config(
        sandbox.path(),
        "validator-2",
        &[&relay.addr],
        LONG,
        &["info", "validators"],
        &exposed,
    );
    for command in ["run", "config"] {
        let out = bad.cli(&sandbox, &[command]);
        assert_eq!(out.status.code(), Some(78), "{command}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("chmod 600") && !stderr(&out).contains("api-token-0x5e3c"),
            "{command}: {}",
            stderr(&out)
        );
    }
    let blind = ManagerHome::with_config(
        sandbox.path(),
        "validator-3",
        &[&relay.addr],
        LONG,
        &["info", "validators"],
        "\n[validators]\nindices = [1]\n",
    );
    let out = blind.cli(&sandbox, &["config"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("set [ethereum] beacon_url"),
        "{}",
        stderr(&out)
    );
}

/// The first of the 10 000 validators listed.
const FIRST: u64 = 1_000_000;

/// A beacon node holding every validator it is asked for, whose liveness
/// answers are cut off mid-JSON, whose proposer duties never come in time,
/// which serves no attestation rewards, and which puts validator 1000005
/// in the sync committee.
async fn broken_node() -> MockServer {
    let beacon = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/eth/v1/node/syncing"))
        .respond_with(json("syncing.json"))
        .mount(&beacon)
        .await;
    Mock::given(method("GET"))
        .and(path("/eth/v1/beacon/genesis"))
        .respond_with(json("genesis.json"))
        .mount(&beacon)
        .await;
    Mock::given(method("POST"))
        .and(path("/eth/v1/beacon/states/head/validators"))
        .respond_with(|request: &wiremock::Request| {
            let asked: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            let data: Vec<serde_json::Value> = asked["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| {
                    let index: u64 = id.as_str().unwrap().parse().unwrap();
                    serde_json::json!({"index": index.to_string(), "balance": (32_000_000_000 + index).to_string(),
                        "status": "active_ongoing", "validator": {"pubkey": format!("0x{index:096x}"), "slashed": false}})
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"execution_optimistic": false, "finalized": false, "data": data}))
        })
        .mount(&beacon)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/eth/v1/validator/liveness/[0-9]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "{\"data\": [{\"index\": \"1000000\", \"is_li",
            "application/json",
        ))
        .mount(&beacon)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/eth/v1/validator/duties/proposer/[0-9]+$"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(20)))
        .mount(&beacon)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/eth/v1/beacon/rewards/attestations/[0-9]+$"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(serde_json::json!({"code": 404, "message": "NOT_FOUND: rewards"})),
        )
        .mount(&beacon)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/eth/v1/validator/duties/sync/[0-9]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"execution_optimistic": false, "data": [
            {"pubkey": format!("0x{:096x}", FIRST + 5), "validator_index": (FIRST + 5).to_string(), "validator_sync_committee_indices": ["17"]}]})))
        .mount(&beacon)
        .await;
    beacon
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_validators_come_in_pages_within_a_frame_and_a_broken_or_hanging_source_is_its_own_reading()
 {
    let beacon = broken_node().await;
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let indices: Vec<String> = (FIRST..FIRST + 10_000).map(|i| i.to_string()).collect();
    let extra = format!(
        "\n[ethereum]\nbeacon_url = \"{}\"\ntimeout_ms = 1000\n\n[validators]\nindices = [{}]\n",
        beacon.uri(),
        indices.join(", ")
    );
    let (home, daemon, app) = paired(&sandbox, &relay, &["info", "validators"], &extra).await;
    let manager = daemon.public_key();
    let ask = |after_index| {
        let app = &app;
        async move {
            let reply = loop {
                let reply = app
                    .request(
                        manager,
                        ValidatorsStatus::NAME,
                        api::encode(&ValidatorsStatusRequest {
                            after_index,
                            limit: None,
                        }),
                    )
                    .await
                    .unwrap();
                // Paging faster than the manager's 20 requests a second:
                // asked again, as the app's pages would be.
                if reply.status != Status::RATE_LIMITED {
                    break reply;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            };
            assert_eq!(reply.status, Status::OK);
            assert!(
                reply.body.len() < nodepair_protocol::frame::MAX_FRAME_LEN - 1024,
                "{} bytes",
                reply.body.len()
            );
            api::decode_response::<ValidatorsStatus>(&reply.body).unwrap()
        }
    };
    // Read once every epoch source was asked (the duties take the whole
    // timeout).
    let deadline = tokio::time::Instant::now() + LONG;
    let first = loop {
        let read = ask(None).await;
        if matches!(&read.validators, Reading::Value(v) if !v.is_empty())
            && matches!(&read.duties, Reading::Error(_))
        {
            break read;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not read in time: {:?}",
            read.summary
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(first.summary.count, 10_000);
    assert!(first.more);
    assert!(
        matches!(&first.liveness, Reading::Error(e) if e.kind == ReadErrorKind::Invalid),
        "cut-off JSON: {:?}",
        first.liveness
    );
    assert!(
        matches!(&first.duties, Reading::Error(e) if e.kind == ReadErrorKind::Timeout),
        "a hanging endpoint: {:?}",
        first.duties
    );
    assert!(
        matches!(&first.rewards, Reading::Error(e) if e.kind == ReadErrorKind::NotServed),
        "{:?}",
        first.rewards
    );
    let Reading::Value(views) = &first.validators else {
        panic!("validators")
    };
    assert!(
        views.iter().all(|v| v.live.judged == 0),
        "no liveness read: none judged, not zero seen"
    );
    let sync = views[5]
        .sync_committee
        .expect("1000005 is in the sync committee");
    assert_eq!(sync.until_epoch - sync.from_epoch, 256);
    assert_eq!(first.summary.in_sync_committee, 1);
    // Every validator once, in order, a page at a time.
    let mut seen: Vec<u64> = Vec::new();
    let mut after = None;
    loop {
        let page = ask(after).await;
        let Reading::Value(views) = &page.validators else {
            panic!("validators")
        };
        assert!(views.len() <= 100);
        seen.extend(views.iter().map(|v| v.index));
        after = views.last().map(|v| v.index);
        if !page.more {
            break;
        }
    }
    assert_eq!(seen, (FIRST..FIRST + 10_000).collect::<Vec<_>>());
    // The same from a terminal: the last page.
    let terminal = AppHome::new(sandbox.path(), "desk", &[&relay.addr]);
    terminal.pair_with(&sandbox, &home);
    let out = terminal.cli(
        &sandbox,
        &[
            "ask",
            "validator-1",
            "validators.status",
            &format!("{{\"after_index\": {}}}", FIRST + 9_949),
            "--timeout",
            "60",
        ],
    );
    let answer = json_of(&out);
    let last = answer["validators"]["value"].as_array().expect("a page");
    assert_eq!(last.len(), 50, "{answer}");
    assert_eq!(last[49]["index"], FIRST + 9_999);
    assert_eq!(answer["more"], false);
    stop(app).await;
    daemon.kill();
}

/// A beacon node whose head moves an epoch each time it is asked (so a
/// round of the manager is an epoch), with validator 1234568 seen live or
/// not as the test says.
async fn moving_node(missing: std::sync::Arc<std::sync::atomic::AtomicBool>) -> MockServer {
    use std::sync::atomic::{AtomicU64, Ordering};
    let beacon = MockServer::start().await;
    let slot = std::sync::Arc::new(AtomicU64::new(10_512_000));
    Mock::given(method("GET"))
        .and(path("/eth/v1/node/syncing"))
        .respond_with(move |_: &wiremock::Request| {
            let now = slot.fetch_add(32, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": {
                "head_slot": now.to_string(), "sync_distance": "0", "is_syncing": false,
                "is_optimistic": false, "el_offline": false}}))
        })
        .mount(&beacon)
        .await;
    state_and_genesis(&beacon).await;
    Mock::given(method("POST"))
        .and(path_regex("^/eth/v1/validator/liveness/[0-9]+$"))
        .respond_with(move |_: &wiremock::Request| {
            let live = !missing.load(std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [
                {"index": "1234567", "is_live": true}, {"index": "1234568", "is_live": live}]}))
        })
        .mount(&beacon)
        .await;
    beacon
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_missing_attestations_for_epochs_is_an_alert_that_resolves_when_it_attests_again()
 {
    use nodepair_protocol::api::alerts::{AlertChangeKind, AlertsFollow};
    let missing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let beacon = moving_node(std::sync::Arc::clone(&missing)).await;
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let extra = format!(
        "\n[ethereum]\nbeacon_url = \"{}\"\ntimeout_ms = 1000\n\n[validators]\nindices = [1234567, 1234568]\n\n[alerts]\nevery_secs = 5\nfire_after_secs = 0\nclear_after_secs = 5\n\n[alerts.disk_free]\nenabled = false\n\n[alerts.memory]\nenabled = false\n\n[alerts.load]\nenabled = false\n\n[alerts.validator_balance]\nenabled = false\n",
        beacon.uri()
    );
    let (_home, daemon, app) =
        paired(&sandbox, &relay, &["info", "validators", "alerts"], &extra).await;
    let manager = daemon.public_key();
    let mut events = app.events();
    let followed = app
        .request(manager, AlertsFollow::NAME, api::encode(&api::Empty {}))
        .await
        .unwrap();
    assert_eq!(followed.status, Status::OK);
    let fired = missed_alert(&mut events, AlertChangeKind::Fired).await;
    assert_eq!(fired.alert.subject, "validator 1234568");
    assert!(
        fired.alert.summary.contains("missed its attestation"),
        "{}",
        fired.alert.summary
    );
    missing.store(false, std::sync::atomic::Ordering::SeqCst);
    let resolved = missed_alert(&mut events, AlertChangeKind::Resolved).await;
    assert_eq!(resolved.alert.id, fired.alert.id);
    stop(app).await;
    daemon.kill();
}

/// The next change of `kind` to a `validator_missed` alert pushed to `events`.
async fn missed_alert(
    events: &mut tokio::sync::broadcast::Receiver<nodepair_peer::PeerEvent>,
    kind: nodepair_protocol::api::alerts::AlertChangeKind,
) -> nodepair_protocol::api::alerts::AlertChange {
    use nodepair_protocol::api::alerts::{AlertChange, Rule};
    // A round an epoch, 12 s apart: three epochs take under a minute.
    tokio::time::timeout(LONG * 4, async {
        loop {
            if let nodepair_peer::PeerEvent::Stream { event, .. } = events.recv().await.unwrap()
                && event.stream == "alerts"
            {
                let change: AlertChange = serde_json::from_slice(&event.body).unwrap();
                if change.kind == kind && change.alert.rule == Rule::ValidatorMissed {
                    return change;
                }
            }
        }
    })
    .await
    .expect("the validator's alert in time")
}
