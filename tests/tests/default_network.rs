//! With no network settings at all, the manager and the app are on The Waku
//! Network (the `waku-network` preset, as js-waku is by default) and say so;
//! run where nothing is reachable, so no test ever reaches the internet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_tests::net::{MANAGER_PASSPHRASE, ManagerHome};
use nodepair_tests::{Sandbox, binary, json_of, stdout};
use std::os::unix::fs::PermissionsExt;

#[test]
fn a_manager_and_an_app_without_network_settings_are_on_the_waku_network() {
    let sandbox = Sandbox::new().unwrap();
    // A manager configured for everything but the network.
    let home = sandbox.path().join("validator-1");
    std::fs::create_dir_all(&home).unwrap();
    let passphrase = home.join("passphrase");
    std::fs::write(&passphrase, format!("{MANAGER_PASSPHRASE}\n")).unwrap();
    std::fs::set_permissions(&passphrase, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = home.join("manager.toml");
    let state = home.join("state");
    std::fs::write(
        &config,
        format!(
            "display_name = \"validator-1\"\nstate_dir = \"{}\"\n\n[keystore]\nbackend = \"vault\"\npassphrase_file = \"{}\"\n",
            state.display(),
            passphrase.display()
        ),
    )
    .unwrap();
    let manager = ManagerHome { config, state };
    let daemon = manager.run_offline(&sandbox);
    let status = json_of(&manager.cli(&sandbox, &["status", "--json"]))["status"].clone();
    assert_eq!(status["daemon_running"], true, "{status}");
    let network = &status["network"];
    assert_eq!(network["preset"], "waku-network", "{status}");
    assert_eq!(network["mode"], "light", "no RLN, so light there: {status}");
    assert_eq!(
        (network["cluster"].as_u64(), network["shard"].as_u64()),
        (Some(1), Some(0))
    );
    assert!(
        network["enrtree"][0]
            .as_str()
            .unwrap()
            .starts_with("enrtree://"),
        "found through The Waku Network's DNS lists: {status}"
    );
    assert_eq!(
        status["waku_peers"].as_array().map(Vec::len),
        Some(0),
        "nothing reachable here"
    );
    let text = stdout(&manager.cli(&sandbox, &["status"]));
    assert!(
        text.contains("network:   waku-network (light node, cluster 1, shard 0)"),
        "{text}"
    );
    drop(daemon);

    // An app without any settings file: its status says the same network.
    let app = sandbox
        .command(&binary("nodepair"))
        .args(["status", "--json"])
        .env("NODEPAIR_VAULT_PASSPHRASE", "app passphrase")
        .output()
        .unwrap();
    let status = json_of(&app)["status"].clone();
    assert_eq!(status["running"], false, "{status}");
    let settings = &status["network"]["settings"];
    assert_eq!(
        (
            settings["preset"].as_str(),
            settings["mode"].as_str(),
            settings["cluster"].as_u64()
        ),
        (Some("waku-network"), Some("light"), Some(1)),
        "{status}"
    );
}

/// The window of an app with no network settings, on a machine where
/// nothing is reachable (no DNS: The Waku Network's lists cannot be read):
/// after 20 s its network panel says no peer is reachable, what to check,
/// and that it is on The Waku Network; `nodepair status` says the same
/// through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_without_network_settings_says_no_peer_is_reachable_and_what_to_check() {
    use nodepair_tests::window::{Theme, Window};
    use std::time::Duration;
    let sandbox = Sandbox::new().unwrap();
    let home = sandbox.path().join("laptop");
    std::fs::create_dir_all(&home).unwrap();
    let passphrase = home.join("passphrase");
    std::fs::write(&passphrase, "app passphrase\n").unwrap();
    std::fs::set_permissions(&passphrase, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = home.join("app.toml");
    std::fs::write(
        &config,
        format!(
            "display_name = \"laptop\"\ndata_dir = \"{}\"\n\n[keystore]\nbackend = \"vault\"\npassphrase_file = \"{}\"\n",
            home.join("data").display(),
            passphrase.display()
        ),
    )
    .unwrap();
    let Some(window) = Window::open_without_dns(&sandbox, &config, Theme::Light).await else {
        eprintln!("skipped: a machine without DNS needs root (unshare --mount)");
        return;
    };
    window
        .find("[data-testid=no-managers]", Duration::from_secs(30))
        .await;
    window.click("[data-testid=settings-button]").await;
    window
        .find(
            "[data-testid=network-state][data-level=none]",
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(
        window.text("[data-testid=network-state]").await,
        "No Waku peer reachable"
    );
    assert_eq!(
        window.text("[data-testid=network-summary]").await,
        "The Waku Network · light node · cluster 1, shard 0"
    );
    let hints = window.text("[data-testid=network-hints]").await;
    assert!(
        hints.contains("Check that this computer is online"),
        "{hints}"
    );
    assert!(window.has("[data-testid=network-settings-link]").await);

    let out = sandbox
        .command(&binary("nodepair"))
        .arg("--config")
        .arg(&config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let status = json_of(&out)["status"].clone();
    assert_eq!(
        status["running"], true,
        "through the window's app: {status}"
    );
    assert_eq!(
        status["network"]["settings"]["preset"], "waku-network",
        "{status}"
    );
    assert_eq!(
        status["network"]["peers"].as_array().map(Vec::len),
        Some(0),
        "{status}"
    );
    window.close().await;
}
