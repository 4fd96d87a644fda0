//! The app keeps watch from the tray, on a desktop that has one (a tray host
//! and a notification daemon on the window's session bus, read as a panel
//! reads them): closing the window leaves the app running and the manager
//! sees it online; a manager going offline raises a notification and turns
//! the tray's dot; the tray's menu opens the window again; a second launch
//! shows the first instead of starting; starting at login writes the XDG
//! autostart entry and removes it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_tests::net::{AppHome, ManagerHome, Relay, eventually};
use nodepair_tests::window::Window;
use nodepair_tests::{Sandbox, binary, stderr, stdout};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(30);
const ONLINE: &str = "[data-testid=manager][data-state=online]";

/// How many `nodepair` processes run with `config`.
fn instances(config: &std::path::Path) -> usize {
    let out = std::process::Command::new("pgrep")
        .args(["-f", &format!("nodepair --config {}", config.display())])
        .output()
        .unwrap();
    stdout(&out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_keeps_watch_from_the_tray() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let manager = ManagerHome::new(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        Duration::from_secs(120),
    );
    let daemon = manager.run(&sandbox);
    let app = AppHome::new(sandbox.path(), "laptop", &[&relay.addr]);
    let (window, desktop) = Window::open_with_desktop(&sandbox, &app.config).await;
    window.find("[data-testid=no-managers]", SOON).await;

    // A tray icon, and a menu that says there is nothing to watch yet.
    desktop.tray_item(SOON).await;
    eventually(SOON, "the tray says nothing is paired", || async {
        desktop.tray_menu().await.first().map(|i| i.label.clone())
            == Some("No managers paired".into())
    })
    .await;

    // Paired (through the running app), the tray lists the manager online.
    let mut pairing = app
        .command(&sandbox, &["pair", "--yes", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(pairing.stdout.take().unwrap());
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    let code: serde_json::Value = serde_json::from_str(&line).unwrap();
    let out = manager.cli(&sandbox, &["pair", "--yes", code["code"].as_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(pairing.wait().unwrap().success());
    window.find(ONLINE, SOON).await;
    eventually(SOON, "the tray lists the manager online", || async {
        let labels: Vec<String> = desktop
            .tray_menu()
            .await
            .into_iter()
            .map(|i| i.label)
            .collect();
        labels.first().map(String::as_str) == Some("The manager is online")
            && labels.iter().any(|l| l == "validator-1 — online")
    })
    .await;
    let labels: Vec<String> = desktop
        .tray_menu()
        .await
        .into_iter()
        .map(|i| i.label)
        .collect();
    for wanted in ["Open NodePair", "Pair a manager…", "Quit NodePair"] {
        assert!(labels.iter().any(|l| l == wanted), "{wanted} in {labels:?}");
    }
    let online_icon = desktop.tray_icon().await;

    // Closing the window hides it; the app runs on, and says so once.
    window.request_close().await;
    eventually(SOON, "the window is hidden", || async { !window.shown() }).await;
    assert_eq!(instances(&app.config), 1, "the app still runs");
    eventually(SOON, "a notification says NodePair still runs", || async {
        desktop
            .notifications()
            .iter()
            .any(|n| n.summary == "NodePair is still running")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let peers = manager.cli(&sandbox, &["peers", "--json"]);
    let peers: serde_json::Value = serde_json::from_slice(&peers.stdout).unwrap();
    assert_eq!(
        peers["peers"][0]["state"], "online",
        "the manager still sees the app: {peers}"
    );

    // The manager goes offline: a notification, and the tray's dot turns.
    assert!(daemon.terminate().success());
    eventually(
        SOON,
        "a notification says the manager went offline",
        || async {
            desktop
                .notifications()
                .iter()
                .any(|n| n.summary == "validator-1 went offline")
        },
    )
    .await;
    eventually(SOON, "the tray says the manager is not online", || async {
        desktop.tray_menu().await.first().map(|i| i.label.clone())
            == Some("The manager is not online".into())
    })
    .await;
    assert_ne!(desktop.tray_icon().await, online_icon, "the dot changed");

    // The tray's menu opens the window again.
    desktop.click_tray("Open NodePair").await;
    eventually(SOON, "the window is shown again", || async {
        window.shown()
    })
    .await;
    window
        .find("[data-testid=manager][data-state=offline]", SOON)
        .await;

    // A second launch shows the first and ends: one process.
    window.request_close().await;
    eventually(SOON, "the window is hidden", || async { !window.shown() }).await;
    let second = sandbox
        .command(&binary("nodepair"))
        .arg("--config")
        .arg(&app.config)
        .env("DISPLAY", window.display())
        .env("DBUS_SESSION_BUS_ADDRESS", window.bus())
        .output()
        .unwrap();
    assert!(second.status.success(), "{}", stderr(&second));
    eventually(SOON, "the first window is shown", || async {
        window.shown()
    })
    .await;
    assert_eq!(instances(&app.config), 1, "one process");

    // Start at login: on writes the XDG autostart entry, off removes it.
    let entry = sandbox.path().join("config/autostart/nodepair.desktop");
    window.click("[data-testid=settings-button]").await;
    window.click("[data-testid=start-at-login]").await;
    eventually(SOON, "the autostart entry is written", || async {
        entry.is_file()
    })
    .await;
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(
        text.contains("--hidden") && text.contains(&app.config.display().to_string()),
        "{text}"
    );
    window.click("[data-testid=start-at-login]").await;
    eventually(SOON, "the autostart entry is removed", || async {
        !entry.exists()
    })
    .await;

    // Quit from the tray ends the app.
    desktop.click_tray("Quit NodePair").await;
    eventually(SOON, "the app quit", || async {
        instances(&app.config) == 0
    })
    .await;
    window.close().await;
}
