//! The app hears a manager's alerts: the real window, paired with a real
//! manager watching a unit through the fake unit manager, on a desktop with
//! a tray and a notification daemon (read from the window's session bus).
//! An alert raises a notification, shows on the manager's row and turns the
//! tray's dot; what fires and resolves while the app is closed is told once
//! per alert when it starts again, and nothing seen before is told twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_tests::fixtures::fake_systemctl;
use nodepair_tests::net::{AppHome, ManagerHome, Relay, eventually};
use nodepair_tests::window::Window;
use nodepair_tests::{Sandbox, stderr};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(30);
const ONLINE: &str = "[data-testid=manager][data-state=online]";

fn unit(tool: &std::path::Path, action: &str) {
    let status = std::process::Command::new(tool)
        .args([action, "--", "geth.service"])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The manager's open alerts, as `nodepair-manager alerts --json` lists them.
fn open_alerts(manager: &ManagerHome, sandbox: &Sandbox) -> Vec<serde_json::Value> {
    let out = manager.cli(sandbox, &["alerts", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    listed["alerts"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_the_app_and_what_happened_while_it_was_closed_is_told_once() {
    let sandbox = Sandbox::new().unwrap();
    let tool = fake_systemctl(sandbox.path());
    let relay = Relay::start(&sandbox, &[]);
    let extra = format!(
        "\n[services]\nunits = [\"geth.service\"]\nsystemctl = \"{}\"\n\n[alerts]\nevery_secs = 5\nfire_after_secs = 0\nclear_after_secs = 5\n\n[alerts.disk_free]\nenabled = false\n\n[alerts.memory]\nenabled = false\n\n[alerts.load]\nenabled = false\n",
        tool.display()
    );
    let manager = ManagerHome::with_config(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        Duration::from_secs(120),
        &["info", "alerts"],
        &extra,
    );
    let daemon = manager.run(&sandbox);
    let app = AppHome::new(sandbox.path(), "laptop", &[&relay.addr]);
    let (window, desktop) = Window::open_with_desktop(&sandbox, &app.config).await;
    window.find("[data-testid=no-managers]", SOON).await;
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
    desktop.tray_item(SOON).await;
    let calm_icon = desktop.tray_icon().await;

    // The unit stops: a notification, the row, the tray.
    unit(&tool, "stop");
    window
        .find("[data-testid=worst-alert][data-severity=critical]", SOON)
        .await;
    let shown = window.text("[data-testid=worst-alert]").await;
    assert!(
        shown.contains("Critical: geth.service is inactive"),
        "the row shows the alert: {shown:?}"
    );
    eventually(SOON, "a notification tells the alert", || async {
        desktop.notifications().iter().any(|n| {
            n.summary == "validator-1: critical" && n.body.contains("geth.service is inactive")
        })
    })
    .await;
    eventually(SOON, "the tray says an alert is open", || async {
        desktop.tray_menu().await.first().map(|i| i.label.clone())
            == Some("The manager is online · 1 alert open".into())
    })
    .await;
    assert_ne!(desktop.tray_icon().await, calm_icon, "the dot turned");
    let first = open_alerts(&manager, &sandbox)[0]["id"].as_u64().unwrap();
    window.close().await;

    // While the app is closed the unit comes back (the alert resolves) and
    // stops again (a new alert).
    unit(&tool, "start");
    eventually(SOON, "the manager resolves the first alert", || async {
        open_alerts(&manager, &sandbox).is_empty()
    })
    .await;
    unit(&tool, "stop");
    eventually(SOON, "the manager raises a second alert", || async {
        open_alerts(&manager, &sandbox)
            .iter()
            .any(|a| a["id"].as_u64() != Some(first))
    })
    .await;

    // Started again: one notification per alert, none for what it had seen.
    let (window, desktop) = Window::open_with_desktop(&sandbox, &app.config).await;
    window
        .find(
            "[data-testid=worst-alert][data-severity=critical]",
            SOON * 2,
        )
        .await;
    eventually(SOON, "both alerts are told", || async {
        desktop
            .notifications()
            .iter()
            .filter(|n| n.summary.starts_with("validator-1: "))
            .count()
            >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let told: Vec<String> = desktop
        .notifications()
        .into_iter()
        .filter(|n| n.summary.starts_with("validator-1: "))
        .map(|n| n.summary)
        .collect();
    assert_eq!(
        told,
        ["validator-1: resolved", "validator-1: critical"],
        "once per alert"
    );
    window.close().await;
    daemon.kill();
}
