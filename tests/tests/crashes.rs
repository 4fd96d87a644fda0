//! Crashes at every step, on the real binaries: the manager killed with
//! SIGKILL at each step of a pairing and of a session handshake, and an app
//! stopped mid-request. After a restart both sides agree (paired on both or
//! on neither), nobody is kept twice, and what the user sees says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use nodepair_peer::{PairingUpdate, Peer};
use nodepair_protocol::pairing::PairingStep;
use nodepair_protocol::{NodeState, PublicKey, Status};
use nodepair_tests::net::{App, Daemon, ManagerHome, Relay, eventually, pair, stop};
use nodepair_tests::{Sandbox, stderr};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime};

const LONG: Duration = Duration::from_secs(60);

/// Where in a pairing the manager dies.
#[derive(Clone, Copy, Debug)]
enum PairingStepKilled {
    /// The code was typed and the manager's HELLO is out; no answer yet.
    HelloOut,
    /// The app got the HELLO and answered; the session handshake is under way.
    AppAnswered,
    /// The manager authenticated the handshake and wrote the app to its
    /// vault; its first session message may or may not have left.
    Stored,
}

/// Starts `nodepair-manager pair <code>` and returns once it says it waits
/// for the app, with the rest of its progress still to read.
fn pair_cli(
    sandbox: &Sandbox,
    home: &ManagerHome,
    code: &str,
) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut cli = home
        .command(sandbox, &["pair", "--yes", code])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut progress = BufReader::new(cli.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("waiting for the app") {
        line.clear();
        assert!(
            progress.read_line(&mut line).unwrap() > 0,
            "pair ended early"
        );
    }
    (cli, progress)
}

fn modified(path: &Path) -> (SystemTime, u64) {
    let meta = std::fs::metadata(path).unwrap();
    (meta.modified().unwrap(), meta.len())
}

async fn state(app: &Peer, manager: PublicKey) -> Option<NodeState> {
    app.counterparties()
        .await
        .iter()
        .find(|v| v.public_key == manager)
        .map(|v| v.state)
}

async fn online_and_answering(app: &Peer, manager: PublicKey, what: &str) {
    eventually(LONG, what, || async {
        state(app, manager).await == Some(NodeState::Online)
    })
    .await;
    // The first request is answered: one sent under keys the manager lost
    // in its crash goes again under the new ones.
    let reply = match app.request(manager, "manager.info", Bytes::new()).await {
        Ok(reply) => reply,
        Err(e) => {
            let seen = app.status().await.map(|s| s.session_stats);
            panic!(
                "{what}: the first request after it is not answered: {e}; the app's sessions saw {seen:?}"
            )
        }
    };
    assert_eq!(reply.status, Status::OK);
}

fn manager_keeps(sandbox: &Sandbox, home: &ManagerHome) -> Vec<String> {
    let out = home.cli(sandbox, &["peers", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    reply["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_killed_at_any_step_of_pairing_leaves_both_sides_agreeing() {
    for step in [
        PairingStepKilled::HelloOut,
        PairingStepKilled::AppAnswered,
        PairingStepKilled::Stored,
    ] {
        killed_during_pairing(step).await;
    }
}

async fn killed_during_pairing(step: PairingStepKilled) {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = ManagerHome::new(sandbox.path(), "validator-1", &[&relay.addr], LONG * 10);
    let daemon = home.run(&sandbox);
    let manager = daemon.public_key();
    let vault = home.state.join("vault");
    let before = std::fs::read(&vault).unwrap();
    let app_side = App::new("laptop", &[&relay.addr]);
    let app = app_side.start().await;

    let mut offer = app.offer_pairing().await.unwrap();
    let code = offer.code.to_display_string();
    let (root, cli_home) = (sandbox.path().to_owned(), home.clone());
    let (cli_tx, cli_rx) = std::sync::mpsc::channel();
    let watcher = std::thread::spawn(move || {
        let (mut cli, mut progress) = pair_cli(&Sandbox::at(&root), &cli_home, &code);
        cli_tx.send(()).unwrap();
        let mut said = String::new();
        let _ = std::io::Read::read_to_string(&mut progress, &mut said);
        (cli.wait().unwrap(), said)
    });
    tokio::task::spawn_blocking(move || cli_rx.recv().unwrap())
        .await
        .unwrap();

    match step {
        PairingStepKilled::HelloOut => {}
        PairingStepKilled::AppAnswered => loop {
            match tokio::time::timeout(LONG, offer.next()).await.unwrap() {
                // The person at the app confirms; the handshake follows.
                Some(PairingUpdate::Compare { .. }) => offer.confirm(true).await,
                Some(PairingUpdate::Step(PairingStep::Verifying)) => break,
                Some(PairingUpdate::Paired { .. }) => {
                    panic!("paired before the test could see the app answer")
                }
                Some(_) => {}
                None => panic!("the pairing ended early"),
            }
        },
        PairingStepKilled::Stored => {
            let was = modified(&vault);
            let deadline = Instant::now() + LONG;
            while modified(&vault) == was {
                assert!(
                    Instant::now() < deadline,
                    "the manager never stored the app"
                );
                // The person at the app confirms when asked. (The app pairs
                // only after the manager stored it, so nothing else of
                // interest is read here.)
                if let Ok(Some(PairingUpdate::Compare { .. })) =
                    tokio::time::timeout(Duration::from_micros(200), offer.next()).await
                {
                    offer.confirm(true).await;
                }
            }
        }
    }
    daemon.kill();
    let (status, said) = tokio::task::spawn_blocking(move || watcher.join().unwrap())
        .await
        .unwrap();

    // Back up: the manager keeps the app or it does not; either way the two
    // sides end up agreeing.
    let daemon = home.run(&sandbox);
    let kept = daemon.ready["paired"].as_u64().unwrap();
    eprintln!("{step:?}: after the kill the manager keeps {kept} app(s); pair said: {said}");
    match kept {
        0 => {
            assert!(!status.success(), "pair did not succeed: {said}");
            assert!(!said.trim().is_empty(), "the operator is told why");
            assert_eq!(
                std::fs::read(&vault).unwrap(),
                before,
                "the vault is unchanged"
            );
            // The restarted manager never heard of this code: the app is
            // still waiting until its user gives up. Nothing is kept.
            assert!(
                !matches!(
                    tokio::time::timeout(Duration::from_secs(3), offer.next()).await,
                    Ok(Some(PairingUpdate::Paired { .. }))
                ),
                "the app cannot pair with a manager that forgot the code"
            );
            offer.cancel().await;
            assert!(app_side.stored().is_empty(), "the app kept nothing");
            // A new code works at once.
            let (out, _) = pair(&sandbox, &home, &app).await;
            assert!(out.status.success(), "{}", stderr(&out));
        }
        1 => {
            // The manager kept it: the app's pairing finishes, whether the
            // manager's first message left before it died or the restarted
            // manager's handshake completes it.
            let (view, _) = tokio::time::timeout(LONG, offer.finish(|_, _| true))
                .await
                .expect("the app finishes within a minute")
                .expect("the app pairs with the manager that kept it");
            assert_eq!(view.public_key, manager);
        }
        n => panic!("the manager keeps {n} apps after one pairing"),
    }
    online_and_answering(&app, manager, "online after the crash").await;
    assert_eq!(app_side.stored().len(), 1, "the app keeps the manager once");
    assert_eq!(
        manager_keeps(&sandbox, &home),
        ["laptop"],
        "the manager keeps the app once"
    );
    stop(app).await;
    assert!(daemon.terminate().success());
}

/// The manager restarts with the app in its vault and opens a session at
/// once; it is killed at points through that handshake (right as it is
/// ready, then a few milliseconds later each time, past the app's answer and
/// the manager's first message under the new keys), and once more when the
/// session is up. Each time it comes back, the app is online again and is
/// answered, and each side keeps the other once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_killed_at_any_point_of_a_session_handshake_comes_back() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = ManagerHome::new(sandbox.path(), "validator-1", &[&relay.addr], LONG * 10);
    let mut daemon = home.run(&sandbox);
    let manager = daemon.public_key();
    let app_side = App::new("laptop", &[&relay.addr]);
    let app = app_side.start().await;
    let (out, _) = pair(&sandbox, &home, &app).await;
    assert!(out.status.success(), "{}", stderr(&out));
    online_and_answering(&app, manager, "online after pairing").await;

    // Killed when established, then at growing delays into its start-up
    // handshake.
    let mut delays = vec![None];
    delays.extend([0u64, 1, 2, 5, 10, 20, 50, 100].map(Some));
    for delay in delays {
        if let Some(ms) = delay {
            daemon.kill();
            daemon = home.run(&sandbox);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        daemon.kill();
        let killed = Instant::now();
        daemon = restarted(&home, &sandbox);
        online_and_answering(&app, manager, "online after the manager came back").await;
        eprintln!(
            "killed {}: answering again {:?} after the kill",
            delay.map_or("when established".into(), |ms| format!(
                "{ms} ms into its handshake"
            )),
            killed.elapsed()
        );
        assert_eq!(app_side.stored().len(), 1, "the app keeps the manager once");
        assert_eq!(
            manager_keeps(&sandbox, &home),
            ["laptop"],
            "the manager keeps the app once"
        );
    }
    stop(app).await;
    assert!(daemon.terminate().success());
}

/// Starts the daemon again, and checks it still has its one app.
fn restarted(home: &ManagerHome, sandbox: &Sandbox) -> Daemon {
    let daemon = home.run(sandbox);
    assert_eq!(daemon.ready["paired"], 1, "{}", daemon.ready);
    daemon
}

/// An app that stops while its request is on the way (its Waku node goes
/// first, so nothing more leaves, as in a crash) is told the request ended,
/// not left waiting. Started again, it is back online, asks again and is
/// answered; the manager kept it once throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_restarted_mid_request_is_answered_once_it_is_back() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = ManagerHome::new(sandbox.path(), "validator-1", &[&relay.addr], LONG * 10);
    let daemon = home.run(&sandbox);
    let manager = daemon.public_key();
    let app_side = App::new("laptop", &[&relay.addr]);
    let mut app = app_side.start().await;
    let (out, _) = pair(&sandbox, &home, &app).await;
    assert!(out.status.success(), "{}", stderr(&out));
    online_and_answering(&app, manager, "online after pairing").await;

    for ms in [0u64, 1, 2, 5, 10] {
        let asking = app.clone();
        let request =
            tokio::spawn(async move { asking.request(manager, "host.health", Bytes::new()).await });
        tokio::time::sleep(Duration::from_millis(ms)).await;
        app.waku().shutdown().await;
        app.shutdown().await;
        let ended = tokio::time::timeout(Duration::from_secs(10), request)
            .await
            .expect("the request ends with the app, it is not left waiting")
            .unwrap();
        eprintln!("stopped {ms} ms into a request: {ended:?}");

        app = app_side.start().await;
        online_and_answering(&app, manager, "online after the app restarted").await;
        let reply = app
            .request(manager, "host.health", Bytes::new())
            .await
            .unwrap();
        assert_eq!(reply.status, Status::OK);
        assert_eq!(app_side.stored().len(), 1, "the app keeps the manager once");
        assert_eq!(
            manager_keeps(&sandbox, &home),
            ["laptop"],
            "the manager keeps the app once"
        );
    }
    stop(app).await;
    assert!(daemon.terminate().success());
}
