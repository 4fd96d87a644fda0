//! One manager and many apps (in this process, sharing a few Waku light
//! nodes, written into both keystores as if paired): every app is back online
//! after the manager restarts, and nobody is lost, doubled or half-written.
//! `NODEPAIR_LOAD_APPS` changes how many (200 by default).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use nodepair_protocol::{NodeState, Status};
use nodepair_tests::net::{ManagerHome, Relay};
use nodepair_tests::{Sandbox, load, stderr, stdout};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const WITHIN: Duration = Duration::from_secs(240);

fn apps() -> usize {
    std::env::var("NODEPAIR_LOAD_APPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_app_is_back_online_after_the_manager_restarts() {
    let count = apps();
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = ManagerHome::new(sandbox.path(), "load-manager", &[&relay.addr], WITHIN);
    let fleet = load::provision(&sandbox, &home, count, &relay.addr);
    let daemon = home.run(&sandbox);
    assert_eq!(daemon.ready["paired"], count, "{}", daemon.ready);
    let running = load::start(&fleet, 25).await;

    let first = running
        .until_all(fleet.manager, NodeState::Online, WITHIN)
        .await
        .unwrap_or_else(|n| panic!("only {n} of {count} apps online"));
    eprintln!("{count} apps online {first:?} after they started");

    // The manager goes; every app hears its goodbye.
    let stopping = Instant::now();
    assert!(daemon.terminate().success());
    eprintln!("the manager stopped {:?} after SIGTERM", stopping.elapsed());
    running
        .until_none(fleet.manager, NodeState::Online, Duration::from_secs(60))
        .await
        .unwrap_or_else(|n| panic!("only {n} of {count} apps saw the manager go"));

    // It comes back, and so do they all.
    let daemon = home.run(&sandbox);
    let again = running
        .until_all(fleet.manager, NodeState::Online, WITHIN)
        .await
        .unwrap_or_else(|n| panic!("only {n} of {count} apps back online"));
    eprintln!("{count} apps back online {again:?} after the manager restarted");

    // Each answers: the first and the last app ask it something.
    for peer in [&running.peers[0], &running.peers[count - 1]] {
        let reply = peer
            .request(fleet.manager, "manager.info", Bytes::new())
            .await
            .unwrap();
        assert_eq!(reply.status, Status::OK);
    }

    // Nobody lost, doubled or half-written, on either side.
    let out = home.cli(&sandbox, &["peers", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reply: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let peers = reply["peers"].as_array().unwrap();
    assert_eq!(peers.len(), count);
    let keys: HashSet<&str> = peers
        .iter()
        .map(|p| p["public_key"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(keys.len(), count, "every app once");
    let online = peers.iter().filter(|p| p["state"] == "online").count();
    assert_eq!(online, count, "the manager sees every app online");
    for app in &fleet.apps {
        let stored = app.stored();
        assert_eq!(stored.len(), 1, "{} keeps one manager", app.name);
        assert_eq!(stored[0].public_key, *fleet.manager.as_bytes());
    }
    running.stop().await;
    assert!(daemon.terminate().success());
}
