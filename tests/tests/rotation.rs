//! Key rotation with the real manager: a manager moves three apps (one
//! offline meanwhile) to a new key, an app moves three managers (one
//! stopped meanwhile), a crash of the rotating manager at each step loses
//! nothing, and announcements that must not be taken are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use nodepair_peer::Peer;
use nodepair_protocol::frame::{Frame, Request};
use nodepair_protocol::key_move::ROTATE_METHOD;
use nodepair_protocol::{PublicKey, StaticKeypair, Status};
use nodepair_tests::hostile::{RawSession, handshake_from};
use nodepair_tests::net::{App, Daemon, ManagerHome, Relay, SHARD, eventually, online, pair, stop};
use nodepair_tests::{Sandbox, json_of, stderr, stdout};
use nodepair_waku::WakuNode;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(120);

/// The key `manager` is known by in `app`, and whether it is online: the
/// one counterparty `app` has, since nothing is paired twice.
async fn known_as(app: &Peer) -> (PublicKey, bool) {
    let all = app.counterparties().await;
    assert_eq!(all.len(), 1, "one manager, never paired again: {all:?}");
    (
        all[0].public_key,
        all[0].state == nodepair_protocol::NodeState::Online,
    )
}

async fn asks(app: &Peer, manager: PublicKey) -> Status {
    app.request(manager, "manager.info", Bytes::new())
        .await
        .map_or(Status::INTERNAL, |r| r.status)
}

/// A Waku node of the test's, on the relay.
async fn node(relay: &Relay) -> WakuNode {
    let mut config = nodepair_waku::Config::new(SHARD);
    config.bootstrap = vec![relay.addr.clone()];
    let node = WakuNode::start(config).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while node.peers().await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no relay");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node
}

fn status_json(sandbox: &Sandbox, home: &ManagerHome) -> serde_json::Value {
    json_of(&home.cli(sandbox, &["status", "--json"]))["status"].clone()
}

fn key_of(value: &serde_json::Value) -> PublicKey {
    value.as_str().unwrap().parse().unwrap()
}

/// Three apps paired with one manager daemon.
async fn three_apps(sandbox: &Sandbox, relay: &Relay, home: &ManagerHome) -> Vec<(App, Peer)> {
    let mut apps = Vec::new();
    for name in ["owner", "teammate", "spare"] {
        let side = App::new(name, &[&relay.addr]);
        let peer = side.start().await;
        let (out, _) = pair(sandbox, home, &peer).await;
        assert!(out.status.success(), "{}", stderr(&out));
        apps.push((side, peer));
    }
    apps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_moves_three_apps_to_its_new_key_one_of_them_offline_and_its_old_key_opens_nothing()
 {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = ManagerHome::new(sandbox.path(), "validator-1", &[&relay.addr], LONG);
    let daemon = home.run(&sandbox);
    let old = daemon.public_key();
    let old_secret = StaticKeypair::from_secret(*home.identity().static_secret);
    assert_eq!(old_secret.public(), old);
    let mut apps = three_apps(&sandbox, &relay, &home).await;
    let paired_at: Vec<u64> = home_peers(&sandbox, &home)
        .iter()
        .map(|p| p["paired_at"].as_u64().unwrap())
        .collect();

    // The spare laptop is closed during the rotation.
    let (spare_side, spare) = apps.pop().unwrap();
    stop(spare).await;
    let out = home.cli(&sandbox, &["rotate-key", "--wait", "60", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = &lines.last().unwrap()["rotation"];
    assert_eq!(
        last["moved"],
        serde_json::json!(["owner", "teammate"]),
        "{lines:?}"
    );
    assert_eq!(last["waiting"], serde_json::json!(["spare"]));
    assert_eq!(last["finished"], false);
    let new = key_of(&last["new_key"]);
    assert_ne!(new, old);
    for (_, app) in &apps {
        eventually(
            LONG,
            "the app reaches the manager under its new key",
            || async { known_as(app).await == (new, true) },
        )
        .await;
        assert_eq!(asks(app, new).await, Status::OK);
    }
    // Until the spare moved, the daemon still has both keys.
    let status = status_json(&sandbox, &home);
    assert_eq!(key_of(&status["public_key"]), old);
    assert_eq!(status["rotation"]["waiting"], serde_json::json!(["spare"]));

    // The spare comes back: the old key opens a session only to move it.
    let spare = spare_side.start().await;
    eventually(LONG, "the spare moves too", || async {
        known_as(&spare).await == (new, true)
    })
    .await;
    eventually(
        LONG,
        "the rotation ends and the old key is retired",
        || async {
            let status = status_json(&sandbox, &home);
            status["rotation"].is_null() && key_of(&status["public_key"]) == new
        },
    )
    .await;
    assert_eq!(home.identity().next_static_secret, None);
    let after: Vec<u64> = home_peers(&sandbox, &home)
        .iter()
        .map(|p| p["paired_at"].as_u64().unwrap())
        .collect();
    assert_eq!(after, paired_at, "nothing was paired again");

    // Someone holding the old key: a handshake under it on the pair's topic
    // now is dropped by the app and counted; on the old topic nobody
    // listens any more.
    let (_, owner) = &apps[0];
    let before = owner.status().await.unwrap().session_stats.auth_failures;
    let attacker = node(&relay).await;
    let new_topic = nodepair_protocol::session_content_topic(&apps[0].0.keypair(), &new).unwrap();
    handshake_from(&attacker, &old_secret, owner.public_key(), &new_topic).await;
    let old_topic =
        nodepair_protocol::session_content_topic(&old_secret, &owner.public_key()).unwrap();
    handshake_from(&attacker, &old_secret, owner.public_key(), &old_topic).await;
    eventually(
        Duration::from_secs(20),
        "the old key's handshake is counted",
        || async { owner.status().await.unwrap().session_stats.auth_failures > before },
    )
    .await;
    assert_eq!(known_as(owner).await, (new, true));
    // And the manager restarted keeps only the new key.
    drop(daemon);
    let daemon = home.run(&sandbox);
    assert_eq!(daemon.public_key(), new);
    for app in [&apps[0].1, &apps[1].1, &spare] {
        online(app, new, LONG).await;
    }
}

/// `peers --json` of `home`, by name.
fn home_peers(sandbox: &Sandbox, home: &ManagerHome) -> Vec<serde_json::Value> {
    json_of(&home.cli(sandbox, &["peers", "--json"]))["peers"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_moves_three_managers_to_its_new_key_one_of_them_stopped_meanwhile() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let side = App::new("laptop", &[&relay.addr]);
    let app = side.start().await;
    let old = side.keypair();
    let mut homes = Vec::new();
    let mut daemons: Vec<Option<Daemon>> = Vec::new();
    for name in ["validator-1", "validator-2", "archive"] {
        let home = ManagerHome::new(sandbox.path(), name, &[&relay.addr], LONG);
        daemons.push(Some(home.run(&sandbox)));
        let (out, _) = pair(&sandbox, &home, &app).await;
        assert!(out.status.success(), "{}", stderr(&out));
        homes.push(home);
    }
    // The archive node is down for maintenance.
    assert!(daemons[2].take().unwrap().terminate().success());

    let started = app.rotate_key().await.unwrap();
    assert_eq!(started.counterparties.len(), 3);
    let new = started.new_key;
    assert_eq!(
        side.keypair().public(),
        old.public(),
        "the old key stays until all moved"
    );
    assert!(
        side.identity().next_static_secret.is_some(),
        "the new key is stored first"
    );
    for home in &homes[..2] {
        eventually(
            LONG,
            "a running manager stores the app's new key",
            || async { app_key_in(&sandbox, home) == Some(new) },
        )
        .await;
    }
    let view = app.rotation().await.expect("still under way");
    let moved: Vec<bool> = view.counterparties.iter().map(|(_, m)| *m).collect();
    assert_eq!(moved.iter().filter(|m| **m).count(), 2, "{view:?}");
    for home in &homes[..2] {
        let manager = manager_key(&sandbox, home);
        online(&app, manager, LONG).await;
        assert_eq!(asks(&app, manager).await, Status::OK);
    }

    // The archive node comes back and is moved; then the old key is gone.
    daemons[2] = Some(homes[2].run(&sandbox));
    eventually(LONG, "the third manager moves", || async {
        app_key_in(&sandbox, &homes[2]) == Some(new)
    })
    .await;
    eventually(LONG, "the rotation ends", || async {
        app.rotation().await.is_none() && app.public_key() == new
    })
    .await;
    assert_eq!(side.keypair().public(), new);
    assert_eq!(side.identity().next_static_secret, None);
    let archive = manager_key(&sandbox, &homes[2]);
    online(&app, archive, LONG).await;
    assert_eq!(asks(&app, archive).await, Status::OK);

    // The old key, tried on a manager, is dropped and counted there.
    let before = dropped_auth(&sandbox, &homes[0]);
    let attacker = node(&relay).await;
    let manager = manager_key(&sandbox, &homes[0]);
    let topic = nodepair_protocol::session_content_topic(&side.keypair(), &manager).unwrap();
    handshake_from(&attacker, &old, manager, &topic).await;
    eventually(Duration::from_secs(20), "the manager counts it", || async {
        dropped_auth(&sandbox, &homes[0]) > before
    })
    .await;
    for home in &homes {
        let peers = home_peers(&sandbox, home);
        assert_eq!(peers.len(), 1, "nothing paired again: {peers:?}");
    }
}

/// The key `home`'s manager knows its one app by.
fn app_key_in(sandbox: &Sandbox, home: &ManagerHome) -> Option<PublicKey> {
    home_peers(sandbox, home)
        .first()
        .map(|p| key_of(&p["public_key"]))
}

fn manager_key(sandbox: &Sandbox, home: &ManagerHome) -> PublicKey {
    key_of(&status_json(sandbox, home)["public_key"])
}

fn dropped_auth(sandbox: &Sandbox, home: &ManagerHome) -> u64 {
    status_json(sandbox, home)["dropped"]["auth_failures"]
        .as_u64()
        .unwrap()
}

/// Starts the daemon with `NODEPAIR_CRASH_AT=point`, rotates, and waits
/// for the crash.
async fn crash_at(sandbox: &Sandbox, home: &ManagerHome, point: &str) {
    let daemon = home.run_with_env(sandbox, &[("NODEPAIR_CRASH_AT", point)]);
    let out = home.cli(sandbox, &["rotate-key", "--wait", "30"]);
    assert!(
        !out.status.success(),
        "the daemon died under it: {}",
        stdout(&out)
    );
    let pid = daemon.pid();
    eventually(Duration::from_secs(30), "the daemon crashed", || async {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    })
    .await;
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_crashing_at_each_step_of_a_rotation_loses_no_key_and_every_app_still_reaches_it()
{
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = ManagerHome::new(sandbox.path(), "validator-1", &[&relay.addr], LONG);
    let daemon = home.run(&sandbox);
    let first = daemon.public_key();
    let mut apps = three_apps(&sandbox, &relay, &home).await;
    drop(daemon);

    // 1. Dead right after the new key is stored, before anyone is told:
    //    the next start tells them.
    crash_at(&sandbox, &home, "rotation-stored").await;
    let stored = home.identity();
    assert_eq!(
        StaticKeypair::from_secret(*stored.static_secret).public(),
        first
    );
    let second = StaticKeypair::from_secret(*stored.next_static_secret.clone().unwrap()).public();
    let daemon = home.run(&sandbox);
    for (_, app) in &apps {
        eventually(LONG, "every app moves after the restart", || async {
            known_as(app).await == (second, true)
        })
        .await;
    }
    eventually(LONG, "the rotation ends", || async {
        home.identity().next_static_secret.is_none()
    })
    .await;

    // 2. Killed (-9) after some moved: one app is away; two move, then the
    //    daemon dies. The third is moved after the restart.
    let (spare_side, spare) = apps.pop().unwrap();
    stop(spare).await;
    let out = home.cli(&sandbox, &["rotate-key", "--wait", "60", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let third = StaticKeypair::from_secret(*home.identity().next_static_secret.unwrap()).public();
    for (_, app) in &apps {
        eventually(LONG, "the apps online move", || async {
            known_as(app).await == (third, true)
        })
        .await;
    }
    daemon.kill();
    let daemon = home.run(&sandbox);
    for (_, app) in &apps {
        online(app, third, LONG).await;
        assert_eq!(asks(app, third).await, Status::OK);
    }
    let spare = spare_side.start().await;
    eventually(LONG, "the spare moves after the crash", || async {
        known_as(&spare).await == (third, true)
    })
    .await;
    eventually(LONG, "the rotation ends", || async {
        home.identity().next_static_secret.is_none()
    })
    .await;
    apps.push((spare_side, spare));
    drop(daemon);

    // 3. Dead when every app moved, just before the old key is retired:
    //    the next start retires it, and everyone is still on the new key.
    crash_at(&sandbox, &home, "rotation-retiring").await;
    let stored = home.identity();
    let fourth = StaticKeypair::from_secret(*stored.next_static_secret.clone().unwrap()).public();
    assert_eq!(
        StaticKeypair::from_secret(*stored.static_secret).public(),
        third
    );
    let _daemon = home.run(&sandbox);
    eventually(LONG, "the restart retires the old key", || async {
        home.identity().next_static_secret.is_none()
    })
    .await;
    assert_eq!(
        StaticKeypair::from_secret(*home.identity().static_secret).public(),
        fourth
    );
    for (_, app) in &apps {
        eventually(
            LONG,
            "every app reaches it under the newest key",
            || async { known_as(app).await == (fourth, true) },
        )
        .await;
        assert_eq!(asks(app, fourth).await, Status::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_without_proof_replayed_or_for_another_key_are_refused_and_nothing_is_stored()
{
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = ManagerHome::new(sandbox.path(), "validator-1", &[&relay.addr], LONG);
    let daemon = home.run(&sandbox);
    let manager = daemon.public_key();
    let side = App::new("laptop", &[&relay.addr]);
    let app = side.start().await;
    let (out, _) = pair(&sandbox, &home, &app).await;
    assert!(out.status.success(), "{}", stderr(&out));
    stop(app).await;
    let own = side.keypair();
    let next = StaticKeypair::from_secret([0x5a; 32]);
    let mut raw = RawSession::open(side.waku().await, own.clone(), manager).await;

    let mut answers = Vec::new();
    let ask = async |raw: &mut RawSession, id: u64, body: Vec<u8>| {
        raw.send(Frame::Request(Request {
            id,
            method: ROTATE_METHOD.into(),
            body: Bytes::from(body),
        }));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(Instant::now() < deadline, "no answer to {id}");
            for event in raw.pump(Duration::from_millis(200)).await {
                if let nodepair_protocol::session::SessionEvent::Frame(Frame::Response(r)) = event
                    && r.id == id
                {
                    return (r.status(), String::from_utf8_lossy(&r.body).into_owned());
                }
            }
        }
    };
    // Without proof: the new key with zeros for a proof.
    let mut forged = nodepair_protocol::key_move::announce(&own.public(), &next, &manager).unwrap();
    let len = forged.len();
    forged[len - 32..].fill(0);
    answers.push(ask(&mut raw, 1, forged).await);
    // Made for another counterparty (the proof names the manager it is for).
    let elsewhere = StaticKeypair::from_secret([0x33; 32]).public();
    answers.push(
        ask(
            &mut raw,
            2,
            nodepair_protocol::key_move::announce(&own.public(), &next, &elsewhere).unwrap(),
        )
        .await,
    );
    // Replayed from an older session under another key of ours (the
    // proof names the key it replaces).
    let older = StaticKeypair::from_secret([0x44; 32]).public();
    answers.push(
        ask(
            &mut raw,
            3,
            nodepair_protocol::key_move::announce(&older, &next, &manager).unwrap(),
        )
        .await,
    );
    // Not an announcement at all.
    answers.push(ask(&mut raw, 4, b"\xff\xffnot one".to_vec()).await);
    for (status, why) in &answers {
        assert_eq!(*status, Status::BAD_REQUEST, "{why}");
        assert!(why.contains("nothing was stored"), "{why}");
    }
    assert!(answers[0].1.contains("proof"), "{}", answers[0].1);
    assert!(answers[3].1.contains("malformed"), "{}", answers[3].1);
    let peers = home_peers(&sandbox, &home);
    assert_eq!(peers.len(), 1);
    assert_eq!(
        key_of(&peers[0]["public_key"]),
        own.public(),
        "nothing stored"
    );
    let stored = home.stored();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].moving_to, None, "no key to move to was kept");
    assert!(
        home.cli(&sandbox, &["peers", "--json"]).status.success(),
        "the manager still answers"
    );
    // A real announcement over the same session is taken.
    let (status, _) = ask(
        &mut raw,
        5,
        nodepair_protocol::key_move::announce(&own.public(), &next, &manager).unwrap(),
    )
    .await;
    assert_eq!(status, Status::OK);
    assert_eq!(home.stored()[0].moving_to, Some(*next.public().as_bytes()));

    // The operator unpairs the app before it moved (its key was copied,
    // say; the app is away and is told when it is back): the key it
    // announced opens nothing.
    drop(raw);
    let out = home.cli(&sandbox, &["revoke", "laptop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let thief = RawSession::try_open(
        node(&relay).await,
        next.clone(),
        manager,
        Duration::from_secs(15),
    )
    .await;
    assert!(
        thief.is_none(),
        "the announced key opened a session after the unpairing"
    );
    let stored = home.stored();
    assert_eq!(
        stored.len(),
        1,
        "only the tombstone of the old key: {stored:?}"
    );
    assert_eq!(stored[0].public_key, *own.public().as_bytes());
    assert_eq!(
        stored[0].state,
        nodepair_keystore::CounterpartyState::Revoked
    );
    drop(daemon);
}
