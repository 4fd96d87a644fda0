//! The app hears a manager's alerts: the real window, paired with a real
//! manager watching a unit through the fake unit manager, on a desktop with
//! a tray and a notification daemon (read from the window's session bus).
//! An alert raises a notification, shows on the manager's row and turns the
//! tray's dot; what fires and resolves while the app is closed is told once
//! per alert when it starts again, and nothing seen before is told twice.
//! From the window's alerts panel an alert is acknowledged, and the
//! manager's own `alerts` command shows it so; `nodepair alerts` lists
//! what the app holds, which agrees with the manager's log.

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

    // On the manager's page, in its alerts panel: acknowledged from there,
    // which the manager records and every app is told.
    window.click("[data-testid=open-manager]").await;
    let panel_alert = "[data-testid=alerts-panel] [data-testid=alert]";
    window
        .find(&format!("{panel_alert}[data-state=open]"), SOON)
        .await;
    assert!(
        window
            .text(&format!("{panel_alert} [data-testid=alert-summary]"))
            .await
            .contains("geth.service is inactive")
    );
    window
        .click(&format!("{panel_alert} [data-testid=acknowledge]"))
        .await;
    window
        .find(&format!("{panel_alert}[data-state=acknowledged]"), SOON)
        .await;
    assert!(
        window
            .text(&format!("{panel_alert} [data-testid=alert-when]"))
            .await
            .contains("acknowledged by laptop")
    );
    let on_manager = open_alerts(&manager, &sandbox);
    assert_eq!(on_manager[0]["id"].as_u64(), Some(first));
    assert_eq!(
        on_manager[0]["acknowledged"]["by"], "laptop",
        "`nodepair-manager alerts` shows it acknowledged: {on_manager:?}"
    );
    // The terminal sees the same through the running app.
    let out = app
        .command(&sandbox, &["alerts", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["running"], true);
    assert_eq!(listed["alerts"][0]["manager"], "validator-1");
    assert_eq!(listed["alerts"][0]["alert"]["acknowledged"]["by"], "laptop");
    let out = app.command(&sandbox, &["alerts"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!(
            "validator-1: #{first} CRITICAL unit_down geth.service is inactive"
        )),
        "{text}"
    );
    // The Alerts view lists it too; the list is where the next start opens.
    window.click("[data-testid=alerts-button]").await;
    window.find("[data-testid=filter-state]", SOON).await;
    assert!(
        window
            .text("[data-testid=alert-summary]")
            .await
            .starts_with("validator-1: geth.service is inactive")
    );
    window.click("[data-testid=back]").await;
    window.find(ONLINE, SOON).await;
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
    // The notification plugin shows each on a task of its own: they may
    // reach the daemon in either order.
    let mut told: Vec<String> = desktop
        .notifications()
        .into_iter()
        .filter(|n| n.summary.starts_with("validator-1: "))
        .map(|n| n.summary)
        .collect();
    told.sort();
    assert_eq!(
        told,
        ["validator-1: critical", "validator-1: resolved"],
        "once per alert"
    );
    // The app took every change the manager's log holds, in its numbering.
    let out = manager.cli(&sandbox, &["alerts", "--all", "--json"]);
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let seen: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(app.data.join("alerts-seen.json")).unwrap())
            .unwrap();
    let seen = seen["managers"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(
        seen["last_seq"], log["last_seq"],
        "the app and the manager agree"
    );
    let out = app
        .command(&sandbox, &["alerts", "--all", "--json"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let states = |alerts: &serde_json::Value, path: &str| -> Vec<(u64, bool)> {
        let mut all: Vec<(u64, bool)> = alerts
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let a = if path.is_empty() { a } else { &a[path] };
                (a["id"].as_u64().unwrap(), a["resolved_at_ms"].is_null())
            })
            .collect();
        all.sort_unstable();
        all
    };
    assert_eq!(
        states(&listed["alerts"], "alert"),
        states(&log["alerts"], ""),
        "the same alerts, open and resolved alike"
    );
    window.close().await;
    daemon.kill();
}
