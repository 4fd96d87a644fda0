//! Alerts across processes: a real `nodepair-manager run` daemon watching a
//! unit through the fake unit manager, an app in this process following its
//! alerts over a local relay; acknowledgements recorded on the manager; the
//! log kept across restarts and a crash reported; what must be refused is.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_protocol::api::alerts::{
    Alert, AlertAckRequest, AlertChange, AlertChangeKind, AlertMuteRequest, AlertsAck,
    AlertsFollow, AlertsList, AlertsListRequest, AlertsMute, ChangesPage, Rule, Severity,
};
use nodepair_protocol::api::{self, Empty, Method};
use nodepair_protocol::{NodeState, PublicKey, Status};
use nodepair_tests::fixtures::fake_systemctl;
use nodepair_tests::net::{App, ManagerHome, Relay, eventually, pair, stop};
use nodepair_tests::{Sandbox, stderr};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(30);

/// Rules that judge this machine's own disks, memory and load are off:
/// what they find here is not the test's to decide.
const QUIET_HOST: &str = "\n[alerts]\nevery_secs = 5\nfire_after_secs = 0\nclear_after_secs = 5\n\n[alerts.disk_free]\nenabled = false\n\n[alerts.memory]\nenabled = false\n\n[alerts.load]\nenabled = false\n";

/// What each test watches: a relay, a manager daemon offering
/// `capabilities` with `extra` appended to its configuration, and an app in
/// this process paired with it and seeing it online.
struct Watched {
    relay: Relay,
    home: ManagerHome,
    daemon: nodepair_tests::net::Daemon,
    manager: PublicKey,
    app: nodepair_peer::Peer,
}

async fn watched(sandbox: &Sandbox, capabilities: &[&str], extra: &str) -> Watched {
    let relay = Relay::start(sandbox, &[]);
    let home = ManagerHome::with_config(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        LONG * 4,
        capabilities,
        extra,
    );
    let daemon = home.run(sandbox);
    let manager = daemon.public_key();
    let app = App::new("laptop", &[&relay.addr]).start().await;
    let (out, _) = pair(sandbox, &home, &app).await;
    assert!(out.status.success(), "{}", stderr(&out));
    online(&app, manager).await;
    Watched {
        relay,
        home,
        daemon,
        manager,
        app,
    }
}

async fn online(app: &nodepair_peer::Peer, manager: PublicKey) {
    eventually(LONG, "the manager is online", || async {
        app.counterparties()
            .await
            .iter()
            .any(|v| v.public_key == manager && v.state == NodeState::Online)
    })
    .await;
}

async fn ask<M: Method>(
    app: &nodepair_peer::Peer,
    manager: PublicKey,
    request: &M::Request,
) -> Result<M::Response, (Status, String)> {
    let reply = app
        .request(manager, M::NAME, api::encode(request))
        .await
        .unwrap();
    if reply.status == Status::OK {
        Ok(api::decode_response::<M>(&reply.body).unwrap())
    } else {
        Err((
            reply.status,
            String::from_utf8_lossy(&reply.body).into_owned(),
        ))
    }
}

/// The next alert change pushed to `events`.
async fn next_change(
    events: &mut tokio::sync::broadcast::Receiver<nodepair_peer::PeerEvent>,
) -> AlertChange {
    loop {
        let event = tokio::time::timeout(LONG, events.recv())
            .await
            .expect("an alert change within 30 s")
            .unwrap();
        if let nodepair_peer::PeerEvent::Stream { event, .. } = event
            && event.stream == "alerts"
        {
            return serde_json::from_slice(&event.body).unwrap();
        }
    }
}

/// Every change the manager's log holds, paged.
async fn all_changes(app: &nodepair_peer::Peer, manager: PublicKey) -> Vec<AlertChange> {
    let mut after_seq = 0;
    let mut all = Vec::new();
    loop {
        let page: ChangesPage = ask::<AlertsList>(app, manager, &AlertsListRequest { after_seq })
            .await
            .unwrap();
        after_seq = page.changes.last().map_or(after_seq, |c| c.seq);
        all.extend(page.changes);
        if !page.more {
            return all;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_unit_is_an_alert_pushed_acknowledged_resolved_and_kept_across_restarts() {
    let sandbox = Sandbox::new().unwrap();
    let tool = fake_systemctl(sandbox.path());
    let extra = format!(
        "\n[services]\nunits = [\"geth.service\"]\nsystemctl = \"{}\"\n{QUIET_HOST}",
        tool.display()
    );
    let Watched {
        relay: _relay,
        home,
        daemon,
        manager,
        app,
    } = watched(&sandbox, &["info", "alerts"], &extra).await;

    let mut events = app.events();
    let followed = ask::<AlertsFollow>(&app, manager, &Empty {}).await.unwrap();
    assert_eq!((followed.stream.as_str(), followed.last_seq), ("alerts", 0));

    // The unit stops: an alert, pushed.
    let stopped = std::process::Command::new(&tool)
        .args(["stop", "--", "geth.service"])
        .status()
        .unwrap();
    assert!(stopped.success());
    let fired = next_change(&mut events).await;
    assert_eq!(fired.seq, 1);
    assert_eq!(fired.kind, AlertChangeKind::Fired);
    let alert: &Alert = &fired.alert;
    assert_eq!(
        (alert.rule, alert.subject.as_str(), alert.severity),
        (Rule::UnitDown, "geth.service", Severity::Critical)
    );
    assert!(
        alert.summary.contains("geth.service is inactive"),
        "{}",
        alert.summary
    );
    assert!(
        alert
            .readings
            .iter()
            .any(|f| f.name == "active_state" && f.value == "inactive")
    );

    // Acknowledged from the app: recorded on the manager, pushed back.
    let acked = ask::<AlertsAck>(&app, manager, &AlertAckRequest { id: alert.id })
        .await
        .unwrap();
    assert_eq!(
        acked.acknowledged.as_ref().map(|a| a.by.as_str()),
        Some("laptop")
    );
    let change = next_change(&mut events).await;
    assert_eq!(
        (change.seq, change.kind),
        (2, AlertChangeKind::Acknowledged)
    );
    // The operator sees it acknowledged, with the daemon running.
    let listed = home.cli(&sandbox, &["alerts", "--json"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed["alerts"][0]["id"], alert.id, "{listed}");
    assert_eq!(
        listed["alerts"][0]["acknowledged"]["by"], "laptop",
        "{listed}"
    );
    let text = home.cli(&sandbox, &["alerts"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("CRITICAL unit_down geth.service is inactive")
            && text.contains("acknowledged by laptop"),
        "{text}"
    );

    // What is refused, with its own status.
    let refused = ask::<AlertsAck>(&app, manager, &AlertAckRequest { id: 999 }).await;
    let (status, why) = refused.unwrap_err();
    assert_eq!(status, Status(404));
    assert!(why.contains("no alert 999"), "{why}");
    let refused = ask::<AlertsMute>(
        &app,
        manager,
        &AlertMuteRequest {
            id: alert.id,
            for_secs: 30 * 24 * 3600,
        },
    )
    .await;
    assert_eq!(refused.unwrap_err().0, Status::BAD_REQUEST);
    let bad = app
        .request(manager, AlertsAck::NAME, br#"{"id":"one"}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(bad.status, Status::BAD_REQUEST);

    // The unit is back: resolved once clear for 5 s.
    let started = std::process::Command::new(&tool)
        .args(["start", "--", "geth.service"])
        .status()
        .unwrap();
    assert!(started.success());
    let resolved = next_change(&mut events).await;
    assert_eq!(
        (resolved.seq, resolved.kind),
        (3, AlertChangeKind::Resolved)
    );
    assert_eq!(resolved.alert.id, alert.id);
    assert!(resolved.alert.resolved_at_ms.is_some());
    assert!(resolved.alert.acknowledged.is_some(), "still acknowledged");
    let open = home.cli(&sandbox, &["alerts"]);
    assert_eq!(
        String::from_utf8_lossy(&open.stdout).trim(),
        "no open alerts"
    );
    let all = home.cli(&sandbox, &["alerts", "--all"]);
    assert!(
        String::from_utf8_lossy(&all.stdout).contains(", resolved "),
        "{}",
        String::from_utf8_lossy(&all.stdout)
    );

    // A clean restart keeps the log and reports nothing.
    let log = daemon.stop_and_read_log();
    assert!(log.contains("alerts follow started"), "{log}");
    assert!(
        log.contains("alert acknowledged") && log.contains(&format!("id={}", alert.id)),
        "who acknowledged what is in the audit log: {log}"
    );
    let daemon = home.run(&sandbox);
    online(&app, manager).await;
    let kept = all_changes(&app, manager).await;
    assert_eq!(
        kept.iter().map(|c| (c.seq, c.kind)).collect::<Vec<_>>(),
        [
            (1, AlertChangeKind::Fired),
            (2, AlertChangeKind::Acknowledged),
            (3, AlertChangeKind::Resolved)
        ]
    );
    assert!(
        home.state.join("alerts.jsonl").is_file(),
        "the log is in the state directory"
    );

    // Killed, then started: the crash is reported, numbered after the rest.
    daemon.kill();
    let daemon = home.run(&sandbox);
    online(&app, manager).await;
    eventually(LONG, "the crash is in the log", || async {
        all_changes(&app, manager).await.len() == 4
    })
    .await;
    let crashed = all_changes(&app, manager).await;
    assert_eq!(crashed[3].seq, 4);
    assert_eq!(crashed[3].alert.rule, Rule::ManagerRestarted);
    assert_ne!(crashed[3].alert.id, alert.id, "a new alert");
    stop(app).await;
    daemon.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_refused_by_a_manager_that_does_not_offer_them_and_a_bad_rule_stops_the_start() {
    let sandbox = Sandbox::new().unwrap();
    let Watched {
        relay,
        home: _,
        daemon,
        manager,
        app,
    } = watched(&sandbox, &["info"], "").await;
    let (status, why) = ask::<AlertsAck>(&app, manager, &AlertAckRequest { id: 1 })
        .await
        .unwrap_err();
    assert_eq!(status, Status::CAPABILITY_DISABLED);
    assert!(why.contains("alerts"), "{why}");
    stop(app).await;
    daemon.kill();

    // A rule NodePair does not know, or a value out of range: exit 78,
    // naming it, before anything starts.
    for (table, says) in [
        ("\n[alerts.dsk_free]\nenabled = false\n", "dsk_free"),
        (
            "\n[alerts.disk_free]\nwarn_below_percent = 150\n",
            "[alerts.disk_free] warn_below_percent must be between 0 and 100",
        ),
    ] {
        let bad = ManagerHome::with_config(
            sandbox.path(),
            "validator-2",
            &[&relay.addr],
            LONG,
            &["info", "alerts"],
            table,
        );
        let out = bad.cli(&sandbox, &["config"]);
        assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
}

/// A tmpfs mounted for a test, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// A `mib` MiB tmpfs at `dir`; `None` without root.
    fn mount(dir: &std::path::Path, mib: u32) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Tmpfs(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filling_disk_is_one_alert_even_while_it_flaps_and_resolves_once_emptied() {
    let sandbox = Sandbox::new().unwrap();
    let disk = sandbox.path().join("small-disk");
    let Some(_tmpfs) = Tmpfs::mount(&disk, 10) else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let mount = disk.display().to_string();
    let extra = format!(
        "\n[alerts]\nevery_secs = 5\nfire_after_secs = 10\nclear_after_secs = 15\n\n[alerts.disk_free]\npaths = [\"{mount}\"]\n\n[alerts.memory]\nenabled = false\n\n[alerts.load]\nenabled = false\n"
    );
    let Watched {
        relay: _relay,
        home: _,
        daemon,
        manager,
        app,
    } = watched(&sandbox, &["info", "alerts"], &extra).await;
    let mut events = app.events();
    ask::<AlertsFollow>(&app, manager, &Empty {}).await.unwrap();
    // Only this disk's alerts: the machine's own mounts are its own.
    let mut next_here = async || loop {
        let change = next_change(&mut events).await;
        if change.alert.subject == mount {
            return change;
        }
    };

    // 9.3 MiB of 10: 7 % free, below the 10 % warning.
    let fill = disk.join("fill");
    let fill_up = || std::fs::write(&fill, vec![7u8; 9_750_000]).unwrap();
    let empty = || {
        let _ = std::fs::remove_file(&fill);
    };
    fill_up();
    let fired = next_here().await;
    assert_eq!(fired.kind, AlertChangeKind::Fired);
    assert_eq!(
        (fired.alert.rule, fired.alert.severity),
        (Rule::DiskFree, Severity::Warning)
    );
    assert!(
        fired.alert.summary.contains(&format!("Disk {mount} has")),
        "{}",
        fired.alert.summary
    );
    empty();
    let resolved = next_here().await;
    assert_eq!(resolved.kind, AlertChangeKind::Resolved);
    assert_eq!(resolved.alert.id, fired.alert.id);

    // Across the threshold and back every second for a minute, then empty.
    let flapping_from = resolved.seq;
    for second in 0..60 {
        if second % 2 == 0 {
            fill_up();
        } else {
            empty();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    empty();
    eventually(LONG, "the flapping disk's alert resolves", || async {
        all_changes(&app, manager).await.iter().any(|c| {
            c.seq > flapping_from && c.alert.subject == mount && c.kind == AlertChangeKind::Resolved
        })
    })
    .await;
    let during: Vec<AlertChangeKind> = all_changes(&app, manager)
        .await
        .into_iter()
        .filter(|c| c.seq > flapping_from && c.alert.subject == mount)
        .map(|c| c.kind)
        .collect();
    assert_eq!(
        during,
        [AlertChangeKind::Fired, AlertChangeKind::Resolved],
        "one alert for a minute of flapping"
    );
    stop(app).await;
    daemon.kill();
}

/// A beacon node whose head, distance and health the test sets.
#[derive(Clone, Copy, Debug)]
struct BeaconState {
    head: u64,
    behind: u64,
    answering: bool,
}

/// A Beacon Node API server answering with the specifications' bodies
/// from `state`; while `answering` is false it answers too late.
async fn beacon(state: std::sync::Arc<std::sync::Mutex<BeaconState>>) -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let reply = move |body: serde_json::Value| {
        let state = std::sync::Arc::clone(&state);
        move |_: &wiremock::Request| {
            let now = *state.lock().unwrap();
            let body = match body["data"].as_str() {
                Some("syncing") => serde_json::json!({"data": {
                    "head_slot": now.head.to_string(), "sync_distance": now.behind.to_string(),
                    "is_syncing": now.behind > 0, "is_optimistic": false, "el_offline": false}}),
                _ => body.clone(),
            };
            let reply = ResponseTemplate::new(200).set_body_json(body);
            if now.answering {
                reply
            } else {
                reply.set_delay(Duration::from_secs(3))
            }
        }
    };
    for (p, body) in [
        (
            "/eth/v1/node/version",
            serde_json::json!({"data": {"version": "Lighthouse/v4.5.0"}}),
        ),
        (
            "/eth/v1/node/syncing",
            serde_json::json!({"data": "syncing"}),
        ),
        (
            "/eth/v1/node/peer_count",
            serde_json::json!({"data": {"disconnected": "1", "connecting": "2", "connected": "56", "disconnecting": "0"}}),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(reply(body))
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beacon_node_falling_behind_and_one_not_answering_are_alerts_that_resolve() {
    let state = std::sync::Arc::new(std::sync::Mutex::new(BeaconState {
        head: 1000,
        behind: 0,
        answering: true,
    }));
    let server = beacon(std::sync::Arc::clone(&state)).await;
    let sandbox = Sandbox::new().unwrap();
    let extra = format!(
        "\n[ethereum]\nbeacon_url = \"{}\"\ntimeout_ms = 500\n{QUIET_HOST}",
        server.uri()
    );
    let Watched {
        relay: _relay,
        home: _,
        daemon,
        manager,
        app,
    } = watched(&sandbox, &["info", "alerts"], &extra).await;
    let mut events = app.events();
    ask::<AlertsFollow>(&app, manager, &Empty {}).await.unwrap();
    // The head moves on a slot a second, as a node's does.
    let ticking = {
        let state = std::sync::Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                state.lock().unwrap().head += 1;
            }
        })
    };

    // 100 slots behind: a warning (more than 32, not more than 320).
    state.lock().unwrap().behind = 100;
    let behind = next_change(&mut events).await;
    assert_eq!(
        (
            behind.kind,
            behind.alert.rule,
            behind.alert.subject.as_str()
        ),
        (AlertChangeKind::Fired, Rule::ConsensusSync, "consensus")
    );
    assert_eq!(behind.alert.severity, Severity::Warning);
    assert!(
        behind.alert.summary.contains("100 slots behind"),
        "{}",
        behind.alert.summary
    );
    // Far behind: critical, the same alert.
    state.lock().unwrap().behind = 1000;
    let worse = next_change(&mut events).await;
    assert_eq!(
        (worse.kind, worse.alert.id, worse.alert.severity),
        (
            AlertChangeKind::Severity,
            behind.alert.id,
            Severity::Critical
        )
    );
    // Caught up.
    state.lock().unwrap().behind = 0;
    let caught_up = next_change(&mut events).await;
    assert_eq!(
        (caught_up.kind, caught_up.alert.id),
        (AlertChangeKind::Resolved, behind.alert.id)
    );

    // It stops answering in time: the endpoint's alert, critical.
    state.lock().unwrap().answering = false;
    let down = next_change(&mut events).await;
    assert_eq!(
        (down.kind, down.alert.rule, down.alert.severity),
        (AlertChangeKind::Fired, Rule::Endpoint, Severity::Critical)
    );
    assert!(
        down.alert.summary.contains("does not answer"),
        "{}",
        down.alert.summary
    );
    state.lock().unwrap().answering = true;
    let back = next_change(&mut events).await;
    assert_eq!(
        (back.kind, back.alert.id),
        (AlertChangeKind::Resolved, down.alert.id)
    );
    ticking.abort();
    stop(app).await;
    daemon.kill();
}
