//! The outside world a manager reads, stood in for: an Ethereum node (a local
//! HTTP server answering with the specifications' bodies in
//! `tests/fixtures/ethereum/`), a unit manager (`tests/fixtures/fake-systemctl`)
//! and a journal (`tests/fixtures/fake-journalctl`).

use std::path::{Path, PathBuf};
use std::time::Duration;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The text of `tests/fixtures/ethereum/<name>`.
///
/// # Panics
///
/// When the file is missing.
pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ethereum")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A 200 JSON response.
fn json(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/json")
}

/// A beacon node that is syncing and an execution client whose peer count
/// never comes (it hangs past the manager's timeout).
///
/// # Panics
///
/// Never: mocks only mount.
pub async fn node() -> (MockServer, MockServer) {
    let beacon = MockServer::start().await;
    for (p, f) in [
        ("/eth/v1/node/version", "beacon/version.json"),
        ("/eth/v1/node/syncing", "beacon/syncing_syncing.json"),
        ("/eth/v1/node/peer_count", "beacon/peer_count.json"),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(json(fixture(f)))
            .mount(&beacon)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/eth/v1/node/health"))
        .respond_with(ResponseTemplate::new(206))
        .mount(&beacon)
        .await;
    let execution = MockServer::start().await;
    for (m, f) in [
        ("web3_clientVersion", "execution/web3_clientVersion.json"),
        ("eth_syncing", "execution/eth_syncing_progress.json"),
        ("eth_blockNumber", "execution/eth_blockNumber.json"),
    ] {
        Mock::given(method("POST"))
            .and(body_partial_json(serde_json::json!({"method": m})))
            .respond_with(json(fixture(f)))
            .mount(&execution)
            .await;
    }
    Mock::given(method("POST"))
        .and(body_partial_json(
            serde_json::json!({"method": "net_peerCount"}),
        ))
        .respond_with(
            json(fixture("execution/net_peerCount.json")).set_delay(Duration::from_secs(3)),
        )
        .mount(&execution)
        .await;
    (beacon, execution)
}

/// `fake-systemctl` (tests/fixtures) copied into `dir`, with two units
/// running; returns its path. This machine runs no systemd, so the manager's
/// systemctl layer is driven through this stand-in, named as such.
///
/// # Panics
///
/// When the files cannot be written or the script does not run.
pub fn fake_systemctl(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let tool_dir = dir.join("fake-unit-manager");
    std::fs::create_dir_all(tool_dir.join("state")).expect("the fake unit manager is set up");
    let tool = tool_dir.join("fake-systemctl");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fake-systemctl"),
        &tool,
    )
    .expect("the fake unit manager is set up");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755))
        .expect("the fake unit manager is set up");
    for unit in ["geth.service", "lighthouse.service"] {
        let status = std::process::Command::new(&tool)
            .args(["start", "--", unit])
            .status()
            .expect("the fake unit manager is set up");
        assert!(status.success());
    }
    std::fs::remove_file(tool_dir.join("state/calls.log"))
        .expect("the fake unit manager is set up");
    tool
}

/// `fake-journalctl` (tests/fixtures) copied into `dir`; a unit's journal is
/// the file `journal/<unit>` beside it. Returns the script's path.
///
/// # Panics
///
/// When the files cannot be written.
pub fn fake_journalctl(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let tool_dir = dir.join("fake-journal");
    std::fs::create_dir_all(tool_dir.join("journal")).expect("the fake journal is set up");
    let tool = tool_dir.join("fake-journalctl");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fake-journalctl"),
        &tool,
    )
    .expect("the fake journal is copied");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755))
        .expect("the fake journal is executable");
    tool
}
