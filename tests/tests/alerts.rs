//! Alerts across processes: a real `nodepair-manager run` daemon watching a
//! unit through the fake unit manager, an app in this process following its
//! alerts over a local relay; acknowledgements recorded on the manager; the
//! log kept across restarts and a crash reported; what must be refused is.
//! Each rule is fired by a real condition and resolved: a unit stopped or
//! restarting again and again, a tmpfs filled, a Beacon API server falling
//! behind, answering late or with few peers, a JSON-RPC server whose head
//! stops or whose peers drop. (Memory and load are this machine's own, which
//! a shared test machine cannot drive reliably: `rules/host.rs` tests them.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_protocol::api::alerts::{
    Alert, AlertAckRequest, AlertChange, AlertChangeKind, AlertMuteRequest, AlertsAck,
    AlertsFollow, AlertsList, AlertsListRequest, AlertsMute, ChangesPage, Rule, Severity,
};
use nodepair_protocol::api::{self, Empty, Method};
use nodepair_protocol::{PublicKey, Status};
use nodepair_tests::fixtures::fake_systemctl;
use nodepair_tests::net::{App, ManagerHome, Relay, eventually, online, pair, stop};
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
    online(&app, manager, LONG).await;
    Watched {
        relay,
        home,
        daemon,
        manager,
        app,
    }
}

/// [`watched`] with a manager offering `alerts`, its alerts followed: the
/// app's events from before the follow, so no change is missed.
async fn followed(
    sandbox: &Sandbox,
    extra: &str,
) -> (
    Watched,
    tokio::sync::broadcast::Receiver<nodepair_peer::PeerEvent>,
) {
    let watched = watched(sandbox, &["info", "alerts"], extra).await;
    let events = watched.app.events();
    ask::<AlertsFollow>(&watched.app, watched.manager, &Empty {})
        .await
        .unwrap();
    (watched, events)
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
    unit(&tool, "stop", "geth.service");
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
    unit(&tool, "start", "geth.service");
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
    online(&app, manager, LONG).await;
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
    online(&app, manager, LONG).await;
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
    let (watched, mut events) = followed(&sandbox, &extra).await;
    let (app, manager) = (&watched.app, watched.manager);
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
        all_changes(app, manager).await.iter().any(|c| {
            c.seq > flapping_from && c.alert.subject == mount && c.kind == AlertChangeKind::Resolved
        })
    })
    .await;
    let during: Vec<AlertChangeKind> = all_changes(app, manager)
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
    stop(watched.app).await;
    watched.daemon.kill();
}

/// A beacon node whose head, distance and health the test sets.
#[derive(Clone, Copy, Debug)]
struct BeaconState {
    head: u64,
    behind: u64,
    answering: bool,
    /// Connected peers.
    peers: u64,
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
                Some("peers") => serde_json::json!({"data": {
                    "disconnected": "1", "connecting": "0", "connected": now.peers.to_string(), "disconnecting": "0"}}),
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
            serde_json::json!({"data": "peers"}),
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
        peers: 56,
    }));
    let server = beacon(std::sync::Arc::clone(&state)).await;
    let sandbox = Sandbox::new().unwrap();
    let extra = format!(
        "\n[ethereum]\nbeacon_url = \"{}\"\ntimeout_ms = 500\n{QUIET_HOST}",
        server.uri()
    );
    let (watched, mut events) = followed(&sandbox, &extra).await;
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
    stop(watched.app).await;
    watched.daemon.kill();
}

/// An execution client whose head block and peer count the test sets.
#[derive(Clone, Copy, Debug)]
struct ExecutionState {
    block: u64,
    /// Whether its head moves on (a block a second).
    moving: bool,
    peers: u64,
}

/// A JSON-RPC server answering as an execution client in sync, from `state`.
async fn execution(
    state: std::sync::Arc<std::sync::Mutex<ExecutionState>>,
) -> wiremock::MockServer {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(move |request: &wiremock::Request| {
            let asked: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            let now = *state.lock().unwrap();
            let result = match asked["method"].as_str().unwrap_or_default() {
                "web3_clientVersion" => {
                    serde_json::json!("Geth/v1.14.11-stable/linux-amd64/go1.22.7")
                }
                "eth_syncing" => serde_json::json!(false),
                "net_peerCount" => serde_json::json!(format!("{:#x}", now.peers)),
                "eth_blockNumber" => serde_json::json!(format!("{:#x}", now.block)),
                _ => serde_json::Value::Null,
            };
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"jsonrpc": "2.0", "id": asked["id"], "result": result}),
            )
        })
        .mount(&server)
        .await;
    server
}

/// The alert changes pushed to an app, kept as they come, so a test can
/// wait for each in whichever order the rounds make them.
struct Pushed {
    events: tokio::sync::broadcast::Receiver<nodepair_peer::PeerEvent>,
    seen: Vec<AlertChange>,
}

impl Pushed {
    /// The change of `kind` to an alert of `rule` about `subject`, pushed
    /// already or within `within`.
    async fn of(
        &mut self,
        kind: AlertChangeKind,
        rule: Rule,
        subject: &str,
        within: Duration,
    ) -> AlertChange {
        let wanted = |c: &AlertChange| {
            (c.kind, c.alert.rule, c.alert.subject.as_str()) == (kind, rule, subject)
        };
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(found) = self.seen.iter().find(|c| wanted(c)) {
                return found.clone();
            }
            // Not next_change: its 30 s are too short for a minute's stall.
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no {kind:?} {rule:?} about {subject} within {within:?}; pushed: {:?}",
                        self.seen
                            .iter()
                            .map(|c| (c.kind, c.alert.rule))
                            .collect::<Vec<_>>()
                    )
                })
                .unwrap();
            if let nodepair_peer::PeerEvent::Stream { event, .. } = event
                && event.stream == "alerts"
            {
                self.seen.push(serde_json::from_slice(&event.body).unwrap());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn few_peers_a_stalled_execution_client_and_a_unit_restarting_again_and_again_are_alerts_that_resolve()
 {
    let beacon_state = std::sync::Arc::new(std::sync::Mutex::new(BeaconState {
        head: 1000,
        behind: 0,
        answering: true,
        peers: 56,
    }));
    let execution_state = std::sync::Arc::new(std::sync::Mutex::new(ExecutionState {
        block: 21_000_000,
        moving: true,
        peers: 25,
    }));
    let beacon_server = beacon(std::sync::Arc::clone(&beacon_state)).await;
    let execution_server = execution(std::sync::Arc::clone(&execution_state)).await;
    let sandbox = Sandbox::new().unwrap();
    let tool = fake_systemctl(sandbox.path());
    let extra = format!(
        "\n[ethereum]\nbeacon_url = \"{}\"\nexecution_url = \"{}\"\ntimeout_ms = 1000\n\n[services]\nunits = [\"geth.service\"]\nsystemctl = \"{}\"\n{QUIET_HOST}\n[alerts.peers]\nconsensus_below = 10\nexecution_below = 5\n\n[alerts.execution_sync]\nstalled_minutes = 1\n\n[alerts.unit_restarts]\nmore_than = 2\nminutes = 1\n",
        beacon_server.uri(),
        execution_server.uri(),
        tool.display()
    );
    let (watched, events) = followed(&sandbox, &extra).await;
    let mut pushed = Pushed {
        events,
        seen: Vec::new(),
    };
    // The beacon head and the execution head move on, as a node's do.
    let ticking = {
        let (beacon_state, execution_state) = (
            std::sync::Arc::clone(&beacon_state),
            std::sync::Arc::clone(&execution_state),
        );
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                beacon_state.lock().unwrap().head += 1;
                let mut e = execution_state.lock().unwrap();
                if e.moving {
                    e.block += 1;
                }
            }
        })
    };
    // Peers: the beacon node down to 3 (below 10), the execution client
    // down to 2 (below 5); both back.
    beacon_state.lock().unwrap().peers = 3;
    let few = pushed
        .of(AlertChangeKind::Fired, Rule::Peers, "consensus", LONG)
        .await;
    assert_eq!(few.alert.severity, Severity::Warning);
    assert!(few.alert.summary.contains('3'), "{}", few.alert.summary);
    execution_state.lock().unwrap().peers = 2;
    pushed
        .of(AlertChangeKind::Fired, Rule::Peers, "execution", LONG)
        .await;
    beacon_state.lock().unwrap().peers = 56;
    pushed
        .of(AlertChangeKind::Resolved, Rule::Peers, "consensus", LONG)
        .await;
    execution_state.lock().unwrap().peers = 25;
    pushed
        .of(AlertChangeKind::Resolved, Rule::Peers, "execution", LONG)
        .await;

    // geth restarts three times within a minute (more than 2): an alert,
    // resolved once a minute passes without one.
    for _ in 0..3 {
        unit(&tool, "restart", "geth.service");
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    let restarting = pushed
        .of(
            AlertChangeKind::Fired,
            Rule::UnitRestarts,
            "geth.service",
            LONG,
        )
        .await;
    assert_eq!(restarting.alert.severity, Severity::Warning);

    // The execution head stops moving for a minute: an alert; moving
    // again, resolved.
    execution_state.lock().unwrap().moving = false;
    let stalled = pushed
        .of(
            AlertChangeKind::Fired,
            Rule::ExecutionSync,
            "execution",
            LONG * 4,
        )
        .await;
    assert!(
        stalled.alert.summary.contains("has not moved for 1 minute"),
        "{}",
        stalled.alert.summary
    );
    execution_state.lock().unwrap().moving = true;
    pushed
        .of(
            AlertChangeKind::Resolved,
            Rule::ExecutionSync,
            "execution",
            LONG,
        )
        .await;
    pushed
        .of(
            AlertChangeKind::Resolved,
            Rule::UnitRestarts,
            "geth.service",
            LONG * 4,
        )
        .await;
    ticking.abort();
    stop(watched.app).await;
    watched.daemon.kill();
}

/// Has the fake unit manager `action` (start, stop, restart) unit `name`.
fn unit(tool: &std::path::Path, action: &str, name: &str) {
    let status = std::process::Command::new(tool)
        .args([action, "--", name])
        .status()
        .unwrap();
    assert!(status.success());
}
