//! Validators across processes: a real `nodepair-manager run` daemon reading
//! a beacon node and a keymanager (local servers answering with the specs'
//! bodies, tests/fixtures/ethereum/validators), an app in this process
//! asking `validators.status` over a local relay; what must be refused is.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_protocol::Status;
use nodepair_protocol::api::reading::{ReadErrorKind, Reading};
use nodepair_protocol::api::validators::{
    ValidatorStatus, ValidatorsStatus, ValidatorsStatusRequest, ValidatorsStatusResponse,
};
use nodepair_protocol::api::{self, Method};
use nodepair_tests::fixtures::fixture;
use nodepair_tests::net::{App, ManagerHome, Relay, online, pair, stop};
use nodepair_tests::{Sandbox, stderr};
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
    let home = ManagerHome::with_config(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        LONG * 4,
        &["info", "validators"],
        &extra,
    );
    let daemon = home.run(&sandbox);
    let manager = daemon.public_key();
    let app = App::new("laptop", &[&relay.addr]).start().await;
    let (out, _) = pair(&sandbox, &home, &app).await;
    assert!(out.status.success(), "{}", stderr(&out));
    online(&app, manager, LONG).await;
    let ask = || async {
        let reply = app
            .request(
                manager,
                ValidatorsStatus::NAME,
                api::encode(&ValidatorsStatusRequest { after_index: None }),
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
    assert_eq!(proposal.at_ms, (1_606_824_023 + 10_512_350 * 12) * 1000);
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
    let out = bad.cli(&sandbox, &["run"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("chmod 600") && !stderr(&out).contains("api-token-0x5e3c"),
        "{}",
        stderr(&out)
    );
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
    let home = ManagerHome::with_config(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        LONG * 4,
        &["info", "validators", "alerts"],
        &extra,
    );
    let daemon = home.run(&sandbox);
    let manager = daemon.public_key();
    let app = App::new("laptop", &[&relay.addr]).start().await;
    let (out, _) = pair(&sandbox, &home, &app).await;
    assert!(out.status.success(), "{}", stderr(&out));
    online(&app, manager, LONG).await;
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
