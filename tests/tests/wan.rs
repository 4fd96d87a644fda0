//! Pairing and coming back across a WAN: the "far" profile (100 ms round
//! trip, 1 % loss each way) over three relays in a line, the app and the
//! manager each in a network namespace of its own (see `tests/src/wan.rs`).
//! A regression in a retransmission or reconnection timer shows here as a
//! pairing or a restart that does not finish in time.
//!
//! Namespaces need root; elsewhere the test says so and stops.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use nodepair_protocol::{NodeState, Status};
use nodepair_tests::Sandbox;
use nodepair_tests::net::{eventually, online, pair, stop};
use nodepair_tests::wan::{FAR, Wan};
use std::time::{Duration, Instant};

/// Ten times the "far" goal (1 s p50) for pairing and for coming back: a
/// loaded machine stays well inside it; a timer gone wrong (a retry that
/// waits its maximum, a mesh that forms on a slow heartbeat) does not.
const IN_TIME: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_and_comes_back_after_restarts_across_a_far_network() {
    let sandbox = Sandbox::new().unwrap();
    let wan = match Wan::start(&sandbox, FAR).await {
        Ok(wan) => wan,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let home = wan.manager_home(&sandbox, "validator-1", "");
    let mut daemon = wan.run_manager(&home, &sandbox);
    let manager = daemon.public_key();
    let app_side = wan.app("laptop");
    let mut app = wan.start_app(&app_side).await;

    let started = Instant::now();
    let pairing = pair(&sandbox, &home, &app);
    let (out, _) = tokio::time::timeout(IN_TIME, pairing)
        .await
        .expect("pairing across the far network finishes in time");
    assert!(out.status.success(), "{}", nodepair_tests::stderr(&out));
    online(&app, manager, IN_TIME).await;
    eprintln!("paired and online in {:?}", started.elapsed());
    let reply = app
        .request(manager, "manager.info", Bytes::new())
        .await
        .unwrap();
    assert_eq!(reply.status, Status::OK);

    // The manager restarts: the app sees it go, then come back by itself.
    assert!(daemon.terminate().success());
    eventually(IN_TIME, "the app sees the manager go", || async {
        app.counterparties()
            .await
            .iter()
            .all(|v| v.state != NodeState::Online)
    })
    .await;
    let restarted = Instant::now();
    daemon = wan.run_manager(&home, &sandbox);
    online(&app, manager, IN_TIME).await;
    eprintln!("manager restart → online in {:?}", restarted.elapsed());

    // The app restarts: it finds the manager again by itself.
    stop(app).await;
    let restarted = Instant::now();
    app = wan.start_app(&app_side).await;
    online(&app, manager, IN_TIME).await;
    eprintln!("app restart → online in {:?}", restarted.elapsed());
    let reply = app
        .request(manager, "manager.info", Bytes::new())
        .await
        .unwrap();
    assert_eq!(reply.status, Status::OK);
    assert_eq!(app_side.stored().len(), 1, "the app keeps the manager once");

    stop(app).await;
    assert!(daemon.terminate().success());
}
