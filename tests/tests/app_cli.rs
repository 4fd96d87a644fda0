//! The desktop app's binary without a window (`nodepair pair | managers |
//! unpair`) against a real `nodepair-manager run` over local relays.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_tests::net::{AppHome, ManagerHome, Relay};
use nodepair_tests::{Sandbox, stderr, stdout};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(300);

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_app_pairs_lists_and_unpairs_from_a_terminal() {
    let sandbox = Sandbox::new().unwrap();
    let r1 = Relay::start(&sandbox, &[]);
    let r2 = Relay::start(&sandbox, &[&r1.addr]);
    let manager = ManagerHome::new(sandbox.path(), "validator-1", &[&r1.addr], LONG);
    let _daemon = manager.run(&sandbox);
    let app = AppHome::new(sandbox.path(), "laptop", &[&r2.addr]);

    let mut pairing = app
        .command(&sandbox, &["pair", "--yes", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(pairing.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["type"], "code");
    let code = first["code"].as_str().unwrap().to_owned();
    assert_eq!(first["command"], format!("nodepair-manager pair {code}"));
    assert!(first["qr"].as_str().unwrap().starts_with("NODEPAIR:"));

    let out = manager.cli(&sandbox, &["pair", "--yes", &code]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = pairing.wait().unwrap();
    assert!(status.success(), "{rest:?}");
    let replies = json_lines(&rest.join("\n"));
    let paired = replies
        .iter()
        .find(|r| r["type"] == "paired")
        .expect("a paired line");
    assert_eq!(paired["manager"]["name"], "validator-1");
    let verification = paired["verification"].as_str().unwrap();
    assert!(
        stdout(&out).contains(&format!("verification: {verification}")),
        "{}",
        stdout(&out)
    );

    let out = app.cli(&sandbox, &["managers", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(listed["managers"][0]["name"], "validator-1");
    assert_eq!(
        listed["managers"][0]["state"], "offline",
        "nothing connected in this command"
    );

    // Unpair: the app connects, tells the manager, and both forget.
    let out = app.cli(&sandbox, &["unpair", "VALIDATOR-1", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reply: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(reply["told"], true, "{reply}");
    let out = manager.cli(&sandbox, &["peers", "--json"]);
    assert!(stdout(&out).contains("\"peers\":[]"), "{}", stdout(&out));
    let out = app.cli(&sandbox, &["managers"]);
    assert!(
        stdout(&out).contains("no paired managers"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_terminal_shows_the_code_its_qr_and_the_command() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let app = AppHome::new(sandbox.path(), "laptop", &[&relay.addr]);
    let mut pairing = app
        .command(&sandbox, &["pair", "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(pairing.stdout.take().unwrap());
    let mut text = String::new();
    while !text.contains("nodepair-manager pair") {
        assert!(out.read_line(&mut text).unwrap() > 0, "{text}");
    }
    let code = text
        .lines()
        .next()
        .unwrap()
        .strip_prefix("Pairing code: ")
        .unwrap()
        .to_owned();
    assert!(
        text.contains(&format!("nodepair-manager pair {code}")),
        "{text}"
    );
    assert!(
        text.contains('█') || text.contains('▀'),
        "a QR code is drawn:\n{text}"
    );
    // Ctrl-C cancels cleanly.
    std::process::Command::new("kill")
        .args(["-INT", &pairing.id().to_string()])
        .status()
        .unwrap();
    let status = pairing.wait().unwrap();
    assert_eq!(status.code(), Some(1));
}

#[test]
fn no_relay_means_exit_69_and_bad_settings_78() {
    let sandbox = Sandbox::new().unwrap();
    let dead: nodepair_waku::Multiaddr = "/ip4/127.0.0.1/tcp/9".parse().unwrap();
    let app = AppHome::new(sandbox.path(), "laptop", &[&dead]);
    let out = app.cli(&sandbox, &["pair", "--network-timeout", "1"]);
    assert_eq!(out.status.code(), Some(69), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no Waku peer could be reached"),
        "{}",
        stderr(&out)
    );

    std::fs::write(&app.config, "[network]\nbootstrapp = []\n").unwrap();
    let out = app.cli(&sandbox, &["managers"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("bootstrapp"), "{}", stderr(&out));
}
