//! The clients against a local HTTP server answering with the bodies the
//! Beacon API and execution API specifications give (`tests/fixtures/ethereum/`,
//! sources in its SOURCES.md), including errors, syncing and a hang.

use super::{Ethereum, shown};
use nodepair_protocol::api::ethereum::{BeaconHealth, ExecutionSyncing};
use nodepair_protocol::api::reading::{ReadErrorKind, Reading};
use std::time::Duration;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/ethereum/",
            $name
        ))
    };
}

fn json(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_owned(), "application/json")
}

async fn beacon(syncing: &str, health: u16) -> MockServer {
    let server = MockServer::start().await;
    for (p, body) in [
        ("/eth/v1/node/version", fixture!("beacon/version.json")),
        ("/eth/v1/node/syncing", syncing),
        (
            "/eth/v1/node/peer_count",
            fixture!("beacon/peer_count.json"),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(json(body))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/eth/v1/node/health"))
        .respond_with(ResponseTemplate::new(health))
        .mount(&server)
        .await;
    server
}

async fn execution(syncing: &str) -> MockServer {
    let server = MockServer::start().await;
    for (m, body) in [
        (
            "web3_clientVersion",
            fixture!("execution/web3_clientVersion.json"),
        ),
        ("eth_syncing", syncing),
        ("net_peerCount", fixture!("execution/net_peerCount.json")),
        ("eth_blockNumber", fixture!("execution/eth_blockNumber.json")),
    ] {
        Mock::given(method("POST"))
            .and(body_partial_json(
                serde_json::json!({"jsonrpc": "2.0", "method": m}),
            ))
            .respond_with(json(body))
            .mount(&server)
            .await;
    }
    server
}

fn url(server: &MockServer) -> reqwest::Url {
    server.uri().parse().unwrap()
}

fn clients(
    beacon: Option<&MockServer>,
    execution: Option<&MockServer>,
    timeout: Duration,
) -> Ethereum {
    Ethereum::new(
        beacon.map(url).as_ref(),
        execution.map(url).as_ref(),
        timeout,
    )
    .unwrap()
}

fn error_kind<T: std::fmt::Debug>(r: &Reading<T>) -> ReadErrorKind {
    match r {
        Reading::Error(e) => e.kind,
        Reading::Value(v) => panic!("expected an error, got {v:?}"),
    }
}

#[tokio::test]
async fn a_synced_node_reads_as_the_specification_answers() {
    let b = beacon(fixture!("beacon/syncing_synced.json"), 200).await;
    let e = execution(fixture!("execution/eth_syncing_false.json")).await;
    let status = clients(Some(&b), Some(&e), Duration::from_secs(2))
        .status()
        .await;

    let c = &status.consensus;
    assert!(
        c.version.value().is_some_and(|v| !v.is_empty()),
        "{:?}",
        c.version
    );
    let syncing = c.syncing.value().expect("syncing");
    assert!(!syncing.is_syncing);
    assert_eq!(syncing.sync_distance, 0);
    assert_eq!(c.health, Reading::Value(BeaconHealth::Ready));
    let peers = c.peers.value().expect("peers");
    assert!(peers.connected > 0, "{peers:?}");

    let x = &status.execution;
    assert!(
        x.version.value().is_some_and(|v| !v.is_empty()),
        "{:?}",
        x.version
    );
    assert_eq!(x.syncing, Reading::Value(ExecutionSyncing::Synced));
    assert!(x.peers.value().is_some(), "{:?}", x.peers);
    assert_eq!(x.head, Some(Reading::Value(0x4b7)), "eth_blockNumber");
    assert!(status.read_at_ms > 0);
}

#[tokio::test]
async fn a_syncing_node_reports_its_progress() {
    let b = beacon(fixture!("beacon/syncing_syncing.json"), 206).await;
    let e = execution(fixture!("execution/eth_syncing_progress.json")).await;
    let status = clients(Some(&b), Some(&e), Duration::from_secs(2))
        .status()
        .await;
    let syncing = status.consensus.syncing.value().expect("syncing");
    assert!(
        syncing.is_syncing && syncing.sync_distance > 0,
        "{syncing:?}"
    );
    assert_eq!(
        status.consensus.health,
        Reading::Value(BeaconHealth::Syncing)
    );
    let Some(ExecutionSyncing::Syncing {
        starting_block,
        current_block,
        highest_block,
    }) = status.execution.syncing.value().copied()
    else {
        panic!("{:?}", status.execution.syncing)
    };
    assert!(starting_block <= current_block && current_block <= highest_block);
}

#[tokio::test]
async fn errors_are_reported_as_errors_never_as_zeros() {
    // The beacon node answers 500 with the API's error body; the execution
    // client answers a JSON-RPC error.
    let b = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_raw(fixture!("beacon/error_500.json"), "application/json"),
        )
        .mount(&b)
        .await;
    let e = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(fixture!("execution/error.json")))
        .mount(&e)
        .await;
    let status = clients(Some(&b), Some(&e), Duration::from_secs(2))
        .status()
        .await;
    assert_eq!(error_kind(&status.consensus.version), ReadErrorKind::Failed);
    let Reading::Error(err) = &status.consensus.syncing else {
        panic!()
    };
    assert!(err.message.contains("500"), "{}", err.message);
    assert_eq!(error_kind(&status.consensus.health), ReadErrorKind::Invalid);
    assert_eq!(error_kind(&status.execution.peers), ReadErrorKind::Failed);
    let Reading::Error(err) = &status.execution.version else {
        panic!()
    };
    assert!(err.message.contains("JSON-RPC error"), "{}", err.message);
}

#[tokio::test]
async fn a_hang_is_a_timeout_and_a_closed_port_is_unreachable() {
    let b = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json(fixture!("beacon/version.json")).set_delay(Duration::from_secs(5)))
        .mount(&b)
        .await;
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere: reqwest::Url = format!("http://127.0.0.1:{port}").parse().unwrap();
    let clients =
        Ethereum::new(Some(&url(&b)), Some(&nowhere), Duration::from_millis(300)).unwrap();
    let started = std::time::Instant::now();
    let status = clients.status().await;
    assert_eq!(
        error_kind(&status.consensus.version),
        ReadErrorKind::Timeout
    );
    assert_eq!(error_kind(&status.consensus.health), ReadErrorKind::Timeout);
    assert_eq!(
        error_kind(&status.execution.syncing),
        ReadErrorKind::Unreachable
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "requests ran concurrently, bounded"
    );
}

#[tokio::test]
async fn answers_that_break_the_api_are_invalid() {
    let b = beacon(
        r#"{"data":{"head_slot":"twelve","sync_distance":"0","is_syncing":false}}"#,
        418,
    )
    .await;
    let e = execution(r#"{"jsonrpc":"2.0","id":1,"result":{"startingBlock":"12"}}"#).await;
    let status = clients(Some(&b), Some(&e), Duration::from_secs(2))
        .status()
        .await;
    let Reading::Error(err) = &status.consensus.syncing else {
        panic!()
    };
    assert_eq!(err.kind, ReadErrorKind::Invalid);
    assert!(err.message.contains("head_slot"), "{}", err.message);
    assert_eq!(error_kind(&status.consensus.health), ReadErrorKind::Invalid);
    assert_eq!(
        error_kind(&status.execution.syncing),
        ReadErrorKind::Invalid
    );
}

#[tokio::test]
async fn credentials_in_a_url_are_never_shown() {
    let b = beacon(fixture!("beacon/syncing_synced.json"), 200).await;
    let mut with_password = url(&b);
    with_password.set_username("operator").unwrap();
    with_password.set_password(Some("s3cret")).unwrap();
    let status = Ethereum::new(Some(&with_password), None, Duration::from_secs(2))
        .unwrap()
        .status()
        .await;
    let shown = serde_json::to_string(&status).unwrap();
    assert!(
        !shown.contains("s3cret") && !shown.contains("operator"),
        "{shown}"
    );
}

#[tokio::test]
async fn api_keys_in_paths_and_queries_are_never_shown() {
    // Infura-style keys in the path, Etherscan-style in the query: shown to
    // apps neither in the endpoint nor in any error, whether the server
    // answers, answers an error, or is not there at all.
    let b = beacon(fixture!("beacon/syncing_synced.json"), 200).await;
    let mut with_key = url(&b);
    with_key.set_path("/v3/0123456789abcdef0123456789abcdef/");
    with_key.set_query(Some("apikey=SECRETQUERYKEY"));
    let down: reqwest::Url =
        "http://127.0.0.1:9/v3/0123456789abcdef0123456789abcdef?apikey=SECRETQUERYKEY"
            .parse()
            .unwrap();
    for (beacon_url, execution_url) in [(&with_key, &down), (&down, &with_key)] {
        let status = Ethereum::new(
            Some(beacon_url),
            Some(execution_url),
            Duration::from_secs(2),
        )
        .unwrap()
        .status()
        .await;
        let shown = serde_json::to_string(&status).unwrap();
        assert!(
            !shown.contains("0123456789abcdef") && !shown.contains("SECRETQUERYKEY"),
            "{shown}"
        );
        assert!(
            shown.contains("/…"),
            "the endpoint says there is more: {shown}"
        );
    }
    assert_eq!(
        shown(&"https://mainnet.infura.io/".parse().unwrap()),
        "https://mainnet.infura.io/"
    );
    assert_eq!(
        shown(
            &"https://u:p@mainnet.infura.io:8443/v3/k?x=1"
                .parse()
                .unwrap()
        ),
        "https://mainnet.infura.io:8443/…"
    );
}
